#!/usr/bin/env bash
# The one demo command. Builds the dev preset, then runs on loopback: the simulated estate (when
# tools/simestate/estate.demo.yml exists), every exporter that has a packaging/demo/<name>.yml, Alertmanager and
# Prometheus (scraping all of them, with the rules in alerts/*.rules.yml). Every 15 s it prints the alerts
# that are firing. Ctrl-C (or SIGTERM) stops everything it started; its state lives in a temporary directory
# that is removed on exit.
#
# usage: scripts/demo.sh [--check SECONDS] [--no-build]
#   --check SECONDS   run that long, then stop; exit 0 only if every process stayed up and no target was down
#                     (same as DEMO_DURATION=SECONDS)
#   --no-build        use the existing build/dev binaries
#
# Ports (127.0.0.1 only; the demo uses 19090-19199 by default), each overridable from the environment:
#   ESTATE_DEMO_PROMETHEUS_PORT=19090   ESTATE_DEMO_ALERTMANAGER_PORT=19093
#   ESTATE_DEMO_SIMESTATE_PORT=19099    (the simulated estate's control API)
#   ESTATE_DEMO_EXPORTER_PORT=19100     (hardware; storage-mapping 19101, compliance 19102, service-registry
#                                        19103, any other after them; an exporter that was not built keeps its
#                                        port unused)
# Other settings: DEMO_STATUS_INTERVAL=15 (seconds between alert listings), DEMO_KEEP=1 (keep the state dir),
# ESTATE_DEMO_BUILD_DIR (where the binaries are, default build/dev; the e2e test "demo_check" points it at its
# own build tree).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

duration="${DEMO_DURATION:-0}"
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --check) duration="${2:?--check needs a number of seconds}"; shift 2 ;;
    --check=*) duration="${1#--check=}"; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$duration" in ''|*[!0-9]*) echo "demo: the duration must be a whole number of seconds" >&2; exit 2 ;; esac

prometheus_port="${ESTATE_DEMO_PROMETHEUS_PORT:-19090}"
alertmanager_port="${ESTATE_DEMO_ALERTMANAGER_PORT:-19093}"
simestate_port="${ESTATE_DEMO_SIMESTATE_PORT:-19099}"
exporter_port="${ESTATE_DEMO_EXPORTER_PORT:-19100}"
status_interval="${DEMO_STATUS_INTERVAL:-15}"
bin="${ESTATE_DEMO_BUILD_DIR:-$root/build/dev}"
host=127.0.0.1

log() { echo "demo: $*"; }
die() { echo "demo: error: $*" >&2; exit 1; }

# ---- build --------------------------------------------------------------------------------------------------
bash scripts/install-deps.sh
for tool in prometheus promtool prometheus-alertmanager amtool curl python3 setsid; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
done
if [ "$build" -eq 1 ]; then
  [ -z "${ESTATE_DEMO_BUILD_DIR:-}" ] || die "ESTATE_DEMO_BUILD_DIR needs --no-build"
  log "building the dev preset (build/dev)"
  cmake --preset dev >/dev/null
  cmake --build --preset dev -j"$(nproc)"
fi

# ---- process bookkeeping ------------------------------------------------------------------------------------
state="$(mktemp -d "${TMPDIR:-/tmp}/estate-demo.XXXXXX")"
names=()   # what each process is, for messages
pids=()    # each is also its process group (setsid), so its children are stopped with it
stopping=0

stop_all() {
  local i pid deadline
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + 10))
  for i in "${!pids[@]}"; do
    pid="${pids[$i]}"
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "${names[$i]} did not stop within 10 s; killing it"
    fi
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

cleanup() {
  local rc=$?
  [ "$stopping" -eq 1 ] && return
  stopping=1
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    log "stopping ${names[*]}"
    stop_all
  fi
  if [ "${DEMO_KEEP:-0}" = "1" ]; then
    log "kept the state directory $state"
  else
    rm -rf "$state"
  fi
  log "stopped"
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 0' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }

# start NAME LOGFILE COMMAND...: runs it in its own session (and process group), output to LOGFILE.
start() {
  local name="$1" logfile="$2"; shift 2
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  names+=("$name")
  pids+=("$!")
}

show_log() {
  echo "----- last lines of $1 -----" >&2
  tail -n 30 "$1" >&2 || true
  echo "-----" >&2
}

# wait_http NAME URL LOGFILE: polls until the URL answers 2xx, for up to 30 s, while the last started process lives.
wait_http() {
  local name="$1" url="$2" logfile="$3" pid="${pids[-1]}" deadline=$((SECONDS + 30))
  until curl -fsS --noproxy '*' -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then show_log "$logfile"; die "$name exited during startup"; fi
    if [ $SECONDS -ge $deadline ]; then show_log "$logfile"; die "$name not ready at $url after 30 s"; fi
    sleep 0.2
  done
}

check_port() {
  port_in_use "$1" && die "port $1 ($2) is in use; set $3 to another port"
  return 0
}
check_port "$prometheus_port" prometheus ESTATE_DEMO_PROMETHEUS_PORT
check_port "$alertmanager_port" alertmanager ESTATE_DEMO_ALERTMANAGER_PORT

# ---- the simulated estate -----------------------------------------------------------------------------------
simestate_config="$root/tools/simestate/estate.demo.yml"
ports_file="$state/simestate-ports.json"
echo '{}' >"$ports_file.none"
if [ -f "$simestate_config" ]; then
  [ -x "$bin/tools/simestate/estate-simestate" ] || die "$bin/tools/simestate/estate-simestate is missing"
  check_port "$simestate_port" simestate ESTATE_DEMO_SIMESTATE_PORT
  log "starting the simulated estate ($simestate_config)"
  start simestate "$state/simestate.log" "$bin/tools/simestate/estate-simestate" \
    --config.file="$simestate_config" --ports.file="$ports_file" --control.port="$simestate_port"
  deadline=$((SECONDS + 30))
  until [ -s "$ports_file" ]; do
    kill -0 "${pids[-1]}" 2>/dev/null || { show_log "$state/simestate.log"; die "simestate exited during startup"; }
    [ $SECONDS -lt $deadline ] || { show_log "$state/simestate.log"; die "simestate wrote no ports file in 30 s"; }
    sleep 0.2
  done
else
  log "no tools/simestate/estate.demo.yml: running without the simulated estate"
  ports_file="$ports_file.none"
fi

# ---- exporters ----------------------------------------------------------------------------------------------
# packaging/demo/<name>.yml is the exporter's config, with placeholders (see packaging/demo/README.md):
# {{simestate:<upstream>}} -> 127.0.0.1:<port of that simulated upstream>, {{state_dir}}, {{source_dir}},
# {{exporter_address}} -> the exporter's own 127.0.0.1:<port>.
render() {
  python3 - "$1" "$2" "$ports_file" "$state" "$root" "$3" <<'PY'
import json, re, sys
src, dst, ports_path, state_dir, source_dir, exporter_address = sys.argv[1:7]
ports = json.load(open(ports_path))
text = open(src).read()
def sub(m):
    key = m.group(1).strip()
    if key == "state_dir": return state_dir
    if key == "source_dir": return source_dir
    if key == "exporter_address": return exporter_address
    if key.startswith("simestate:"):
        name = key[len("simestate:"):]
        if name not in ports:
            sys.exit(f"{src}: no simulated upstream named {name!r} (have: {', '.join(sorted(ports)) or 'none'})")
        return f"127.0.0.1:{ports[name]}"
    sys.exit(f"{src}: unknown placeholder {{{{{key}}}}}")
open(dst, "w").write(re.sub(r"\{\{([^}]*)\}\}", sub, text))
PY
}

# run_hook NAME WHEN: runs packaging/demo/<name>.<when>.sh (when it exists) with the state directory, the
# repository and the exporter's address as arguments; "before" runs ahead of the exporter (e.g. to write the
# files it reads), "after" once it answers (e.g. to push data to it). A failing hook stops the demo.
run_hook() {
  local hook="packaging/demo/$1.$2.sh"
  [ -f "$hook" ] || return 0
  bash "$hook" "$state" "$root" "$host:$port" >"$state/$1.$2.log" 2>&1 \
    || { show_log "$state/$1.$2.log"; die "$hook failed"; }
  sed 's/^/  /' "$state/$1.$2.log"
}

# Exporters in a fixed order, so that each keeps its port whichever others were built: the first four, then
# any other exporter with a demo config, in name order.
exporter_names=(hardware storage-mapping compliance service-registry)
for dir in exporters/*/; do
  name="$(basename "$dir")"
  [[ " ${exporter_names[*]} " == *" $name "* ]] || exporter_names+=("$name")
done
scrape_configs=""
exporter_urls=()
port=$((exporter_port - 1))
for name in "${exporter_names[@]}"; do
  port=$((port + 1))
  demo_config="packaging/demo/$name.yml"
  [ -d "exporters/$name" ] && [ -f "$demo_config" ] || continue
  binary="$bin/exporters/$name/estate-$name-exporter"
  if [ ! -x "$binary" ]; then
    log "skipping $name: $binary was not built"
    continue
  fi
  check_port "$port" "$name exporter" ESTATE_DEMO_EXPORTER_PORT
  render "$demo_config" "$state/$name.yml" "$host:$port" || die "cannot render $demo_config"
  run_hook "$name" before
  log "starting the $name exporter on $host:$port"
  start "$name" "$state/$name.log" "$binary" --config.file="$state/$name.yml" --web.listen-address="$host:$port"
  wait_http "$name exporter" "http://$host:$port/metrics" "$state/$name.log"
  run_hook "$name" after
  # packaging/demo/<name>.scrape.yml replaces the default job (e.g. for /probe); @ADDRESS@ is the exporter.
  if [ -f "packaging/demo/$name.scrape.yml" ]; then
    scrape_configs+="$(sed "s/@ADDRESS@/$host:$port/g" "packaging/demo/$name.scrape.yml")"$'\n'
  else
    scrape_configs+="  - job_name: $name"$'\n'"    static_configs:"$'\n'"      - targets: [\"$host:$port\"]"$'\n'
  fi
  exporter_urls+=("$name exporter:  http://$host:$port/  (metrics: http://$host:$port/metrics)")
done

# ---- Alertmanager -------------------------------------------------------------------------------------------
amtool check-config packaging/demo/alertmanager.yml >"$state/amtool-check.log" 2>&1 \
  || { cat "$state/amtool-check.log" >&2; die "packaging/demo/alertmanager.yml is invalid"; }
log "starting Alertmanager on $host:$alertmanager_port"
start alertmanager "$state/alertmanager.log" prometheus-alertmanager \
  --web.listen-address="$host:$alertmanager_port" --cluster.listen-address= \
  --storage.path="$state/alertmanager" --config.file="$root/packaging/demo/alertmanager.yml"
wait_http Alertmanager "http://$host:$alertmanager_port/-/ready" "$state/alertmanager.log"

# ---- Prometheus ---------------------------------------------------------------------------------------------
rule_files=""
shopt -s nullglob
# The shipped rules wait 2-30 minutes (`for:`) before an alert fires, so that a blip does not page anyone. A demo
# should show its faults sooner: it loads a copy of each rules file with every `for:` capped at
# ESTATE_DEMO_MAX_FOR (default 30s). Set ESTATE_DEMO_MAX_FOR=off to load the shipped files unchanged.
max_for="${ESTATE_DEMO_MAX_FOR:-30s}"
mkdir -p "$state/rules"
for f in "$root"/alerts/*.rules.yml; do
  if [ "$max_for" = off ]; then
    rule_files+="  - \"$f\""$'\n'
  else
    sed -E "s/^([[:space:]]+for:[[:space:]]*).*/\1$max_for/" "$f" > "$state/rules/$(basename "$f")"
    rule_files+="  - \"$state/rules/$(basename "$f")\""$'\n'
  fi
done
[ "$max_for" = off ] || log "alert rules loaded with every 'for:' shortened to $max_for for the demo (ESTATE_DEMO_MAX_FOR=off keeps them)"
shopt -u nullglob
[ -n "$rule_files" ] || rule_files="  []"$'\n'
PROMETHEUS_ADDRESS="$host:$prometheus_port" ALERTMANAGER_ADDRESS="$host:$alertmanager_port" \
RULE_FILES="$rule_files" EXPORTER_SCRAPE_CONFIGS="$scrape_configs" \
python3 - "$root/packaging/demo/prometheus.yml.in" "$state/prometheus.yml" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read()
# A placeholder alone on its line takes the whole line (the lists end with their own newline).
for key in ("RULE_FILES", "EXPORTER_SCRAPE_CONFIGS"):
    text = text.replace(f"@{key}@\n", os.environ[key])
for key in ("PROMETHEUS_ADDRESS", "ALERTMANAGER_ADDRESS"):
    text = text.replace(f"@{key}@", os.environ[key])
left = re.findall(r"@[A-Z_]+@", text)
if left:
    sys.exit(f"{sys.argv[1]}: unknown placeholders {left}")
open(sys.argv[2], "w").write(text)
PY
promtool check config "$state/prometheus.yml" >"$state/promtool-check.log" 2>&1 \
  || { cat "$state/promtool-check.log" >&2; die "the generated prometheus.yml (or a rule file) is invalid"; }
log "starting Prometheus on $host:$prometheus_port ($(grep -c '^  - "' <<<"$rule_files" || true) rule files)"
start prometheus "$state/prometheus.log" prometheus \
  --web.listen-address="$host:$prometheus_port" --storage.tsdb.path="$state/prometheus" \
  --config.file="$state/prometheus.yml" --web.enable-lifecycle --rules.alert.resend-delay=10s
wait_http Prometheus "http://$host:$prometheus_port/-/ready" "$state/prometheus.log"

# ---- running ------------------------------------------------------------------------------------------------
cat <<EOF

  Prometheus:    http://$host:$prometheus_port/   (targets: /targets, alerts: /alerts)
  Alertmanager:  http://$host:$alertmanager_port/
EOF
for u in "${exporter_urls[@]}"; do echo "  $u"; done
[ "$ports_file" = "$state/simestate-ports.json" ] && echo "  Simulated estate: control API http://$host:$simestate_port/, upstream ports in $ports_file"
echo "  Logs and data: $state (removed on exit)"
if [ "$duration" -gt 0 ]; then
  echo "  Running for $duration s (check mode)."
else
  echo "  Press Ctrl-C to stop."
fi
echo

print_alerts() {
  curl -fsS --noproxy '*' --max-time 5 \
    "http://$host:$alertmanager_port/api/v2/alerts?active=true&silenced=false&inhibited=false" 2>/dev/null \
    | python3 -c '
import json, sys, time
alerts = json.load(sys.stdin)
stamp = time.strftime("%H:%M:%S")
if not alerts:
    print(f"[{stamp}] no alerts firing")
    sys.exit()
print(f"[{stamp}] {len(alerts)} alert(s) firing:")
for a in sorted(alerts, key=lambda a: (a["labels"].get("alertname", ""), sorted(a["labels"].items()))):
    labels = dict(a["labels"])
    name = labels.pop("alertname", "?")
    severity = labels.pop("severity", "-")
    text = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
    summary = a.get("annotations", {}).get("summary", "")
    # Alerts routed to a receiver of their own (the service registry daily report) say which.
    routed = ", ".join(r["name"] for r in a.get("receivers", []) if r.get("name") != "demo")
    print(f"  {severity:<8} {name}  {{{text}}}" + (f"  {summary}" if summary else "")
          + (f"  -> {routed}" if routed else ""))
' || echo "[$(date +%H:%M:%S)] cannot read alerts from Alertmanager"
}

# Returns non-zero (and says which) if a started process has exited.
all_running() {
  local i ok=0
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      log "${names[$i]} has exited"
      show_log "$state/${names[$i]}.log"
      ok=1
    fi
  done
  return $ok
}

started=$SECONDS
next_status=$SECONDS
failed=0
while :; do
  if ! all_running; then failed=1; break; fi
  if [ $SECONDS -ge $next_status ]; then
    print_alerts
    next_status=$((SECONDS + status_interval))
  fi
  if [ "$duration" -gt 0 ] && [ $((SECONDS - started)) -ge "$duration" ]; then break; fi
  sleep 1 & wait $!   # wait, unlike a foreground sleep, lets the INT/TERM trap run at once
done

# Every scrape target must be up (our exporters answer even when an upstream fails). A target not scraped
# yet is "unknown"; give those up to one more scrape interval or so.
target_health() {
  curl -fsS --noproxy '*' --max-time 5 "http://$host:$prometheus_port/api/v1/targets?state=active" \
    | python3 -c '
import json, sys
targets = json.load(sys.stdin)["data"]["activeTargets"]
bad = ["%s/%s=%s" % (t["labels"].get("job", "?"), t["labels"].get("instance", "?"), t["health"])
       for t in targets if t["health"] != "up"]
print(len(targets), " ".join(bad) if targets else "(no targets discovered yet)")'
}
if [ "$duration" -gt 0 ] && [ "$failed" -eq 0 ]; then
  deadline=$((SECONDS + 20))
  while :; do
    health="$(target_health)" || health="? cannot read the targets from Prometheus"
    bad="${health#* }"
    if [ -z "$bad" ] || [ $SECONDS -ge $deadline ] || ! all_running; then break; fi
    sleep 1 & wait $!
  done
  if [ -n "$bad" ]; then log "targets not up: $bad"; failed=1; fi
  all_running || failed=1
  log "check: ${#pids[@]} processes ran for $duration s; ${health%% *} targets, all up: $([ -z "$bad" ] && echo yes || echo no)"
fi

# Stop here rather than in the EXIT trap, so the check below sees that nothing is left.
stopping=1
trap - INT TERM EXIT
log "stopping ${names[*]}"
stop_all
for pid in "${pids[@]}"; do
  if kill -0 -- "-$pid" 2>/dev/null; then log "process group $pid is still alive"; failed=1; fi
done
if [ "${DEMO_KEEP:-0}" = "1" ]; then log "kept the state directory $state"; else rm -rf "$state"; fi
if [ "$failed" -ne 0 ]; then log "FAILED"; exit 1; fi
log "stopped cleanly"
exit 0
