#!/usr/bin/env bash
# Runs the libFuzzer harnesses of the fuzz preset (docs/fuzzing.md) and prints, per harness, the executions,
# the rate, the crashes and the time, as a table.
#
#   scripts/fuzz.sh [seconds] [harness...]     default: 60 seconds each, every harness, one after the other
#
# Builds the fuzz preset first (skip with ESTATE_FUZZ_NO_BUILD=1). Each harness runs in a temporary copy of its
# corpus (fuzz/corpus/<name>) and regressions, so the repository stays clean; new crash inputs are copied to
# fuzz/artifacts/<name>/ (not committed: minimise and move them to fuzz/regressions/<name>/ with the fix).
# Environment:
#   ESTATE_FUZZ_JOBS=N      harnesses run at once (default 1: one core)
#   ESTATE_FUZZ_ARGS="..."  extra libFuzzer flags (e.g. -dict=..., -max_len=...)
#   ESTATE_FUZZ_KEEP=DIR    keep each run's grown corpus in DIR/<name> (e.g. to merge it back: docs/fuzzing.md)
# Exit status: 0 when every harness ran without a crash, 1 otherwise.
set -uo pipefail

cd "$(dirname "$0")/.."
root="$PWD"
seconds="${1:-60}"
shift || true
bin_dir="$root/build/fuzz/fuzz"
all=()
while read -r name; do all+=("$name"); done < <(sed -n 's/^ *\([a-z_]*\):estate_.*/\1/p' fuzz/CMakeLists.txt)
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=("${all[@]}")

if [ "${ESTATE_FUZZ_NO_BUILD:-0}" != "1" ]; then
  cmake --preset fuzz >/dev/null && cmake --build --preset fuzz -j"$(nproc)" || exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/estate-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Speed over report detail where it costs much and tells little (see docs/fuzzing.md); a caller's settings win.
export ASAN_OPTIONS="${ASAN_OPTIONS:-max_malloc_fill_size=0:malloc_context_size=8:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

run_one() {
  local name="$1"
  local exe="$bin_dir/fuzz_$name"
  local dir="$work/$name"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -r fuzz/corpus/"$name"/. "$dir/corpus/" 2>/dev/null
  [ -d fuzz/regressions/"$name" ] && cp -r fuzz/regressions/"$name"/. "$dir/corpus/"
  local dict=()
  [ -f fuzz/dict/"$name".dict ] && dict=(-dict="$root/fuzz/dict/$name.dict")
  local start=$SECONDS
  # shellcheck disable=SC2086
  (cd "$dir" && "$exe" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "${dict[@]}" ${ESTATE_FUZZ_ARGS:-} corpus >"$dir/log" 2>&1)
  local rc=$?
  local elapsed=$((SECONDS - start))
  local execs rate crashes
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -n1)"
  crashes="$(find "$dir/artifacts" -type f | wc -l)"
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi  # died without an artifact
  if [ "$crashes" -gt 0 ]; then
    mkdir -p "fuzz/artifacts/$name"
    cp "$dir"/artifacts/* "fuzz/artifacts/$name/" 2>/dev/null
    cp "$dir/log" "fuzz/artifacts/$name/log.txt"
    grep -m5 -E 'ERROR|SUMMARY|runtime error|deadly signal' "$dir/log" >&2
  fi
  if [ -n "${ESTATE_FUZZ_KEEP:-}" ]; then mkdir -p "$ESTATE_FUZZ_KEEP/$name" && cp -r "$dir/corpus/." "$ESTATE_FUZZ_KEEP/$name/"; fi
  printf '%s %s %s %s %s\n' "$name" "${execs:-0}" "${rate:-0}" "$crashes" "$elapsed" >"$dir/result"
}

max_jobs="${ESTATE_FUZZ_JOBS:-1}"
for name in "${harnesses[@]}"; do
  if [ ! -x "$bin_dir/fuzz_$name" ]; then echo "fuzz.sh: no harness $name (have: ${all[*]})" >&2; exit 2; fi
  while [ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]; do wait -n; done
  echo "fuzz.sh: $name for ${seconds}s" >&2
  run_one "$name" &
done
wait

failed=0
printf '%-16s %14s %10s %8s %8s\n' harness execs exec/s crashes seconds
for name in "${harnesses[@]}"; do
  read -r n execs rate crashes elapsed <"$work/$name/result"
  printf '%-16s %14s %10s %8s %8s\n' "$n" "$execs" "$rate" "$crashes" "$elapsed"
  [ "$crashes" -eq 0 ] || failed=1
done
exit "$failed"
