#!/usr/bin/env bash
# The one test command (README, .ci/run): installs dependencies, builds the dev and asan presets and runs
# their tests, builds the release preset, and runs every fuzz harness briefly. Its last line is the summary CI
# reads: "N passed, N failed". Exits non-zero on any failure.
#
#   dev build:     every test except label bench; e2e tests (real Prometheus/Alertmanager) one at a time
#   asan build:    label unit only (see CMakePresets.json)
#   release build: builds (one step), beside the dev e2e tests
#   fuzz build:    each harness for ESTATE_FUZZ_SECONDS (default 30), two at a time; one test per harness
#
# Benchmarks are not part of this run: `ctest --preset dev -L bench` after this script has built dev.
# Environment: ESTATE_TEST_JOBS (parallel ctest jobs, default nproc), ESTATE_SKIP_ASAN=1 (no asan build),
# ESTATE_SKIP_FUZZ=1 (no fuzz build), ESTATE_FUZZ_SECONDS (per harness, default 30).
set -uo pipefail

cd "$(dirname "$0")/.."
jobs="${ESTATE_TEST_JOBS:-$(nproc)}"
passed=0
failed=0
step_failures=()
log_dir="$(mktemp -d "${TMPDIR:-/tmp}/estate-test.XXXXXX")"
trap 'rm -rf "$log_dir"' EXIT

summary() {
  echo
  echo "test.sh: ${SECONDS} s in all"
  if [ ${#step_failures[@]} -gt 0 ]; then
    echo "test.sh: failed steps: ${step_failures[*]}"
  fi
  echo "${passed} passed, ${failed} failed"
}

# Runs ctest with the given arguments, shows its output, and adds its counts to the totals.
# "No tests were found" counts as nothing; a ctest that fails without a summary line counts as one failure.
run_ctest() {
  local name="$1"; shift
  local out="$log_dir/$name.log"
  echo "==> [${SECONDS} s] ctest $*"
  ctest "$@" 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]}
  local line f total
  line="$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -n1)"
  if [ -n "$line" ]; then
    f="$(sed -E 's/.*passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")"
    total="$(sed -E 's/.*passed, ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")"
    passed=$((passed + total - f))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then   # ctest failed in a way its counts do not show
      failed=$((failed + 1)); step_failures+=("ctest-$name(exit $rc)")
    fi
  elif [ "$rc" -ne 0 ] || ! grep -q 'No tests were found' "$out"; then
    failed=$((failed + 1)); step_failures+=("ctest-$name(exit $rc, no summary)")
  fi
}

# Runs a build step; a failure counts as one failed test and skips that preset's tests.
step() {
  local name="$1"; shift
  echo "==> [${SECONDS} s] $*"
  if ! "$@"; then
    step_failures+=("$name")
    failed=$((failed + 1))
    return 1
  fi
}

if ! step install-deps bash scripts/install-deps.sh; then
  summary
  exit 1
fi

# The release build runs beside the dev e2e tests, which mostly wait (on Prometheus, Alertmanager, timeouts)
# and poll with deadlines, so a busy machine slows them but does not fail them. Niced, its output in a log
# that is shown when it fails.
release_pid=""
start_release_build() {
  { cmake --preset release && nice -n 10 cmake --build --preset release -j"$jobs"; } >"$log_dir/release.log" 2>&1 &
  release_pid=$!
}
finish_release_build() {
  [ -n "$release_pid" ] || start_release_build
  echo "==> [${SECONDS} s] waiting for cmake --preset release && cmake --build --preset release (log: tail)"
  if wait "$release_pid"; then
    tail -n 3 "$log_dir/release.log"
  else
    cat "$log_dir/release.log"
    step_failures+=("build-release")
    failed=$((failed + 1))
  fi
}

if step configure-dev cmake --preset dev && step build-dev cmake --build --preset dev -j"$jobs"; then
  run_ctest dev-parallel --preset dev -j"$jobs" -LE 'e2e|bench' --timeout 300
  start_release_build
  run_ctest dev-e2e --preset dev -j1 -L e2e -LE bench --timeout 300
fi
finish_release_build

if [ "${ESTATE_SKIP_ASAN:-0}" != "1" ]; then
  if step configure-asan cmake --preset asan && step build-asan cmake --build --preset asan -j"$jobs"; then
    run_ctest asan --preset asan -j"$jobs" --timeout 600
  fi
fi

# Each harness over a copy of its corpus for a bounded time (scripts/fuzz.sh, docs/fuzzing.md): a crash, leak,
# sanitizer report or timeout fails that harness's test.
if [ "${ESTATE_SKIP_FUZZ:-0}" != "1" ]; then
  if step configure-fuzz cmake --preset fuzz && step build-fuzz cmake --build --preset fuzz -j"$jobs"; then
    echo "==> [${SECONDS} s] scripts/fuzz.sh ${ESTATE_FUZZ_SECONDS:-30}"
    ESTATE_FUZZ_NO_BUILD=1 ESTATE_FUZZ_JOBS="$jobs" bash scripts/fuzz.sh "${ESTATE_FUZZ_SECONDS:-30}" \
      2>&1 | tee "$log_dir/fuzz.log"
    fuzz_rows=0
    while read -r name execs rate crashes seconds; do
      fuzz_rows=$((fuzz_rows + 1))
      if [ "$crashes" = "0" ]; then
        passed=$((passed + 1))
      else
        failed=$((failed + 1)); step_failures+=("fuzz-$name")
      fi
    done < <(awk 'seen && NF == 5 && $4 ~ /^[0-9]+$/ {print} $1 == "harness" {seen = 1}' "$log_dir/fuzz.log")
    if [ "$fuzz_rows" -eq 0 ]; then failed=$((failed + 1)); step_failures+=("fuzz(no results)"); fi
  fi
fi

summary
[ "$failed" -eq 0 ] && [ ${#step_failures[@]} -eq 0 ]
