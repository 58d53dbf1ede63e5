#!/usr/bin/env bash
# Install test of the Debian packages (packaging/debian/README.md), on a fresh minimal Debian 12 root made by
# debootstrap (--variant=minbase bookworm, as /work/shared/tools/fresh-machine.sh makes it), in a chroot:
# no systemd as PID 1 is needed, and none is used.
#
#   1. apt-get install ./*.deb (the packages of scripts/build-debs.sh) and their dependencies from the mirror;
#   2. checks the system users, state directories, conffiles and the private shim;
#   3. per exporter: --config.check on its installed config as its system user, then starts it as that user
#      with the unit's own ExecStart line and /etc/default file (listening on 127.0.0.1, a free port), GETs
#      /metrics and /-/healthy, sends SIGHUP (reload) and checks the reload succeeded, stops it with SIGTERM;
#   4. systemd-analyze verify and security --offline on the installed units (systemd is installed in the root
#      for its tools; it does not run);
#   5. boots the root with systemd-nspawn (systemd as PID 1 of a container, its own network): the enabled units
#      start as installed, hardened; checks from inside that they run as their users, answer, reload, connect
#      out and write their state directories (skipped without systemd-nspawn, which it installs if it can);
#   6. apt-get purge of our packages (and autoremove of their dependencies), then lists every file left that
#      was not there before: none may be ours (named *estate*).
#
# Not part of scripts/test.sh or .ci/run: it needs root, mounts and the Debian mirror, and takes a few minutes.
# Usage: bash scripts/package-test.sh [DEB_DIR]     (default build/deb/packages; as root)
# Environment: ESTATE_PKGTEST_WORK (default /tmp/estate-package-test), ESTATE_PKGTEST_CACHE (the root tarball,
# default /tmp/fresh-root.tgz, the one fresh-machine.sh caches; made when missing).
# Last lines: "N passed, N failed" and "package-test: PASS|FAIL (N s)".
set -uo pipefail
cd "$(dirname "$0")/.."
debs=$(cd "${1:-build/deb/packages}" 2>/dev/null && pwd) || { echo "package-test: no ${1:-build/deb/packages}; run scripts/build-debs.sh" >&2; exit 2; }
ls "$debs"/*.deb >/dev/null 2>&1 || { echo "package-test: no .deb in $debs" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "package-test: run as root (debootstrap, chroot, mounts)" >&2; exit 2; }
work=${ESTATE_PKGTEST_WORK:-/tmp/estate-package-test}
cache=${ESTATE_PKGTEST_CACHE:-/tmp/fresh-root.tgz}
root="$work/root"
start=$SECONDS
passed=0
failed=0

exporters=(hardware storage-mapping compliance service-registry)
say() { echo "==> [$((SECONDS - start)) s] $*"; }
ok() { passed=$((passed + 1)); echo "  ok   $*"; }
bad() { failed=$((failed + 1)); echo "  FAIL $*"; }
wait_for() {  # wait_for SECONDS command...: polls the command every 0.1 s until it succeeds or the time is up
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.1; done
}
check() {  # check "description" command...
  local what=$1; shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
in_root() {  # runs a shell command in the root, with a clean environment
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive bash -c "$1"
}
cleanup() {
  for pidfile in "$root"/tmp/estate-*.pid; do
    [ -e "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
  done
  for m in dev/pts dev proc sys; do mountpoint -q "$root/$m" && umount -l "$root/$m"; done
}
trap cleanup EXIT
finish() {
  echo
  echo "$passed passed, $failed failed"
  if [ "$failed" -eq 0 ]; then echo "package-test: PASS ($((SECONDS - start)) s)"; exit 0; fi
  echo "package-test: FAIL ($((SECONDS - start)) s; work dir $work)"
  exit 1
}

# --- 0. a fresh root -------------------------------------------------------------------------------------------
say "fresh Debian 12 root in $root"
cleanup 2>/dev/null
rm -rf "$work"; mkdir -p "$root"
if [ ! -s "$cache" ]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
  [ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  say "debootstrap --variant=minbase bookworm (cached as $cache)"
  debootstrap --variant=minbase bookworm "$work/boot" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { echo "package-test: debootstrap failed, see $work/debootstrap.log"; exit 2; }
  tar -C "$work/boot" -czf "$cache.part.$$" . && mv "$cache.part.$$" "$cache" && rm -rf "$work/boot"
fi
tar -C "$root" -xzf "$cache"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"; mount --bind /dev "$root/dev"; mount --bind /dev/pts "$root/dev/pts"
mount -t sysfs sys "$root/sys"

# Tools for the test itself (not for the packages): curl for the GETs, systemd for systemd-analyze. Installed
# before the snapshot, so what purge leaves behind is measured against a root that already has them.
say "apt-get install curl systemd (test tools)"
in_root 'apt-get update -qq && apt-get install -y -qq --no-install-recommends curl ca-certificates systemd >/dev/null' \
  >"$work/tools.log" 2>&1 || { echo "package-test: could not install the test tools, see $work/tools.log"; exit 2; }
snapshot() {  # every path in the root but the pseudo and scratch file systems
  (cd "$root" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run -o -path ./tmp \) -prune \
    -o -print | sort)
}
snapshot >"$work/before.txt"

# --- 1. install ------------------------------------------------------------------------------------------------
mkdir -p "$root/tmp/debs"; cp "$debs"/*.deb "$root/tmp/debs/"
pkgs=$(for d in "$debs"/*.deb; do dpkg-deb -f "$d" Package; done | tr '\n' ' ')
say "apt-get install ./*.deb ($pkgs)"
t0=$SECONDS
if in_root 'cd /tmp/debs && apt-get install -y -q --no-install-recommends ./*.deb' >"$work/install.log" 2>&1; then
  ok "apt-get install of $(echo $pkgs | wc -w) packages ($((SECONDS - t0)) s)"
else
  bad "apt-get install (log $work/install.log)"; tail -20 "$work/install.log"; finish
fi
grep -iE '^(W|E):|warning' "$work/install.log" | sed 's/^/  apt: /'

# --- 2. what the packages set up -------------------------------------------------------------------------------
say "users, state directories, conffiles, shim"
for name in "${exporters[@]}"; do
  pkg=estate-$name-exporter user=estate-$name
  check "$user is a system user with no login shell" \
    in_root "u=\$(getent passwd $user) && [ \$(id -u $user) -lt 1000 ] && case \$u in *nologin|*false) true;; *) false;; esac"
  check "/var/lib/$user belongs to $user, mode 750" \
    in_root "[ \"\$(stat -c '%U:%G %a' /var/lib/$user)\" = '$user:$user 750' ]"
  check "$pkg conffiles: /etc/default/$pkg and /etc/estate/$name.yml" \
    in_root "c=\$(dpkg-query -W -f='\${Conffiles}' $pkg); echo \"\$c\" | grep -q ' /etc/default/$pkg ' && echo \"\$c\" | grep -q ' /etc/estate/$name.yml '"
  check "/etc/default/$pkg says ARGS=\"\"" in_root "grep -qx 'ARGS=\"\"' /etc/default/$pkg"
  check "$pkg finds the shim in /usr/lib/estate-exporters" \
    in_root "l=\$(ldd /usr/bin/$pkg) && echo \"\$l\" | grep -Eq '^\s*libssl\.so => /usr/bin/\.\./lib/estate-exporters/libssl\.so ' && echo \"\$l\" | grep -Eq '^\s*libcrypto\.so => /usr/bin/\.\./lib/estate-exporters/libcrypto\.so ' && ! echo \"\$l\" | grep -q 'not found'"
done
check "no shim in the system library path" in_root '! ldconfig -p | grep -q estate-exporters'
check "assets: 4 rule files, 4 dashboards, README" \
  in_root '[ $(ls /usr/share/estate-exporters/alerts/*.rules.yml | wc -l) = 4 ] && [ $(ls /usr/share/estate-exporters/dashboards/*.json | wc -l) = 4 ] && [ -s /usr/share/estate-exporters/README.md ]'

# --- 3. run each exporter as its user --------------------------------------------------------------------------
port_of() {  # the port an exporter logged ("msg=listening ... ports=N"), waiting up to 10 s
  local log=$1 i
  for i in $(seq 1 100); do
    local p; p=$(grep -o 'msg=listening.*ports=[0-9]*' "$log" 2>/dev/null | grep -o 'ports=[0-9]*' | cut -d= -f2)
    [ -n "$p" ] && { echo "$p"; return 0; }
    sleep 0.1
  done
  return 1
}
for name in "${exporters[@]}"; do
  pkg=estate-$name-exporter user=estate-$name
  say "$pkg"
  as_user="setpriv --reuid=$user --regid=$user --init-groups --no-new-privs"
  check "$pkg --config.check on /etc/estate/$name.yml (as $user)" \
    in_root "cd / && $as_user /usr/bin/$pkg --config.check --config.file=/etc/estate/$name.yml >/tmp/$pkg.check 2>&1"
  sed 's/^/    /' "$root/tmp/$pkg.check"
  # The unit's ExecStart, with ARGS from /etc/default/$pkg plus a listen address on a free loopback port (the
  # machine may run other exporters on the default ports; the chroot shares its network).
  exec_start=$(sed -n 's/^ExecStart=//p' "$root/lib/systemd/system/$pkg.service")
  log="/tmp/$pkg.log"
  in_root ". /etc/default/$pkg; ARGS=\"\$ARGS --web.listen-address=127.0.0.1:0\"; cd /; $as_user $exec_start >$log 2>&1 & echo \$! >/tmp/$pkg.pid"
  if port=$(port_of "$root$log"); then
    ok "$pkg started as $user, listening on 127.0.0.1:$port"
  else
    bad "$pkg did not start:"; sed 's/^/    /' "$root$log"; continue
  fi
  check "$pkg runs as $user" in_root "[ \"\$(stat -c %U:%G /proc/\$(cat /tmp/$pkg.pid))\" = $user:$user ]"
  check "GET /metrics: estate_* and process_* series" \
    in_root "curl -fsS http://127.0.0.1:$port/metrics >/tmp/$pkg.metrics && grep -q '^estate_' /tmp/$pkg.metrics && grep -q '^process_start_time_seconds' /tmp/$pkg.metrics"
  echo "    $(grep -c '^[a-z]' "$root/tmp/$pkg.metrics" 2>/dev/null) samples, e.g. $(grep -m1 '^estate_[a-z]*_build_info' "$root/tmp/$pkg.metrics" 2>/dev/null)"
  check "GET /-/healthy" in_root "curl -fsS http://127.0.0.1:$port/-/healthy >/dev/null"
  in_root "kill -HUP \$(cat /tmp/$pkg.pid)"
  wait_for 10 grep -q 'msg="configuration loaded" trigger=SIGHUP' "$root$log"
  check "SIGHUP reloads (logged, config_last_reload_successful 1, still running)" \
    in_root "grep -q 'msg=\"configuration loaded\" trigger=SIGHUP' $log && kill -0 \$(cat /tmp/$pkg.pid) && curl -fsS http://127.0.0.1:$port/metrics | grep -q '_config_last_reload_successful 1'"
  in_root "kill -TERM \$(cat /tmp/$pkg.pid)"
  wait_for 10 in_root "! kill -0 \$(cat /tmp/$pkg.pid) 2>/dev/null"
  check "SIGTERM stops it within 10 s" in_root "! kill -0 \$(cat /tmp/$pkg.pid) 2>/dev/null"
  rm -f "$root/tmp/$pkg.pid"
  # The one warning a shipped config may cause: the service registry without a servicenow: section.
  check "nothing in its log above level info (but the registry's 'servicenow: not configured')" \
    bash -c "! grep -E 'level=(warn|error)' '$root$log' | grep -vq 'servicenow: not configured'"
  grep -E 'level=(warn|error)' "$root$log" | sed 's/^/    /'
done

# --- 3b. TLS through the private OpenSSL shim -------------------------------------------------------------------
# civetweb loads OpenSSL at the first handshake by the 1.1 names the shim in /usr/lib/estate-exporters provides:
# an HTTPS scrape works only if the packages put it where the binaries look.
say "TLS (--web.config.file) through the shim"
if command -v openssl >/dev/null; then
  mkdir -p "$root/etc/estate/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$root/etc/estate/tls/test.key" -out "$root/etc/estate/tls/test.crt" >/dev/null 2>&1
  printf 'tls_server_config:\n  cert_file: /etc/estate/tls/test.crt\n  key_file: /etc/estate/tls/test.key\n' \
    >"$root/etc/estate/tls/web.yml"
  chgrp -R --reference="$root/var/lib/estate-hardware" "$root/etc/estate/tls"; chmod 0640 "$root/etc/estate/tls/test.key"
  pkg=estate-hardware-exporter log=/tmp/tls.log
  in_root "cd / && setpriv --reuid=estate-hardware --regid=estate-hardware --init-groups --no-new-privs /usr/bin/$pkg --web.config.file=/etc/estate/tls/web.yml --web.listen-address=127.0.0.1:0 >$log 2>&1 & echo \$! >/tmp/estate-tls.pid"
  if port=$(port_of "$root$log"); then
    check "GET https://127.0.0.1:$port/metrics (TLS through the shim)" \
      in_root "curl -fsS --cacert /etc/estate/tls/test.crt https://127.0.0.1:$port/metrics | grep -q '^estate_hardware_build_info'"
  else
    bad "$pkg with TLS did not start:"; sed 's/^/    /' "$root$log"
  fi
  in_root "kill -TERM \$(cat /tmp/estate-tls.pid)"
  wait_for 10 in_root "! kill -0 \$(cat /tmp/estate-tls.pid) 2>/dev/null"; rm -f "$root/tmp/estate-tls.pid"
  rm -rf "$root/etc/estate/tls"  # not the package's: gone before the purge check
else
  echo "  skipped: no openssl on this machine to make a test certificate"
fi

# --- 4. the installed units ------------------------------------------------------------------------------------
say "systemd-analyze verify / security --offline on the installed units"
for name in "${exporters[@]}"; do
  pkg=estate-$name-exporter
  check "systemd-analyze verify $pkg.service" \
    in_root "systemd-analyze verify /lib/systemd/system/$pkg.service >/tmp/$pkg.verify 2>&1"
  sed 's/^/    /' "$root/tmp/$pkg.verify"
  score=$(in_root "systemd-analyze security --offline=yes /lib/systemd/system/$pkg.service 2>/dev/null" \
    | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
  check "systemd-analyze security $pkg.service: ${score:-?} (at most 2.0)" \
    awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'
done

# --- 5. under systemd: boot the root with systemd-nspawn -----------------------------------------------------
# The hardening is only real under systemd: boot the root (systemd as PID 1 of a container with its own network,
# so the default ports are free), let the enabled units start as installed, and check from inside that they run
# as their users, answer, reload, connect out, and write to their state directories. Skipped without
# systemd-nspawn (ESTATE_PKGTEST_NSPAWN=0 skips it too).
if [ "${ESTATE_PKGTEST_NSPAWN:-1}" != 0 ] && ! command -v systemd-nspawn >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd-container >/dev/null 2>&1
fi
if [ "${ESTATE_PKGTEST_NSPAWN:-1}" != 0 ] && command -v systemd-nspawn >/dev/null; then
  say "boot the root under systemd (systemd-nspawn -b --private-network)"
  cat >"$root/usr/local/bin/estate-selftest" <<'SELFTEST'
#!/bin/bash
# Runs inside the booted root (systemd as PID 1), on the units as the packages installed them.
exec >/selftest.txt 2>&1
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
wait_for() { local deadline=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.1; done; }
reloads() { journalctl -u "$1" --no-pager -o cat | grep -c 'msg="configuration loaded" trigger=SIGHUP'; }
exporters="hardware:9840 storage-mapping:9841 compliance:9842 service-registry:9843"
all_up() {  # every unit active and answering /-/healthy (not is-system-running: "starting" until this unit ends)
  for n in $exporters; do
    systemctl -q is-active estate-${n%%:*}-exporter && curl -fs -o /dev/null http://127.0.0.1:${n##*:}/-/healthy || return 1
  done
}
wait_for 30 all_up
for n in $exporters; do
  name=${n%%:*}; port=${n##*:}; u=estate-$name-exporter
  check "$u enabled and active" bash -c "systemctl -q is-enabled $u && systemctl -q is-active $u"
  pid=$(systemctl show -p MainPID --value $u)
  check "$u runs as estate-$name" test "$(stat -c %U /proc/$pid 2>/dev/null)" = estate-$name
  check "$u: GET :$port/metrics" bash -c "get() { curl -fsS http://127.0.0.1:$port\$1; }; get /metrics 2>/dev/null | grep -q '^estate_[a-z]*_build_info'"
  before=$(reloads $u); systemctl reload $u
  wait_for 10 bash -c "[ \$(journalctl -u $u --no-pager -o cat | grep -c 'msg=\"configuration loaded\" trigger=SIGHUP') -gt $before ]"
  check "$u: systemctl reload (same pid, reload successful)" bash -c "[ \$(systemctl show -p MainPID --value $u) = $pid ] && curl -fsS http://127.0.0.1:$port/metrics 2>/dev/null | grep -q '_config_last_reload_successful 1'"
done
# Outbound TCP from the sandbox, by name (getaddrinfo without netlink): a "BMC" that is the storage exporter
# answers 404, so the connection was made.
cp /etc/estate/hardware.yml /tmp/hardware.yml.orig
printf 'auths: {t: {username: u, password_file: /etc/estate/t.pass}}\ntargets: [{name: loop, address: "http://localhost:9841", protocol: redfish, auth: t, sessions: false}]\n' >/etc/estate/hardware.yml
install -m 0640 -g estate-hardware /dev/null /etc/estate/t.pass; echo secret >/etc/estate/t.pass
systemctl reload estate-hardware-exporter
check "hardware: connects out from the sandbox (the loop 'BMC' answered 404)" \
  wait_for 15 bash -c "curl -fsS http://127.0.0.1:9840/metrics 2>/dev/null | grep -q 'estate_upstream_requests_total{code=\"404\",source=\"loop\"}'"
# Writes in the state directory: a pushed compliance report is spooled there.
cp /etc/estate/compliance.yml /tmp/compliance.yml.orig
printf 'push: {enabled: true, tokens_file: /etc/estate/compliance-tokens, spool_dir: /var/lib/estate-compliance/spool}\n' >/etc/estate/compliance.yml
install -m 0640 -g estate-compliance /dev/null /etc/estate/compliance-tokens; echo tok123 >/etc/estate/compliance-tokens
before=$(reloads estate-compliance-exporter); systemctl reload estate-compliance-exporter
wait_for 10 bash -c "[ \$(journalctl -u estate-compliance-exporter --no-pager -o cat | grep -c 'msg=\"configuration loaded\" trigger=SIGHUP') -gt $before ]"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
body='{"platform":{"name":"debian","release":"12","target_id":"web01"},"profiles":[{"name":"p","version":"1.0.0","sha256":"abc","status":"loaded","controls":[{"id":"c-1","impact":0.9,"title":"t","desc":"d","tags":{},"refs":[],"results":[{"status":"failed","code_desc":"x","start_time":"'$now'","run_time":0.01,"message":"m"}]}]}],"statistics":{"duration":0.5},"version":"4.18.5","type":"inspec_report","node_name":"web01","node_uuid":"u-web01","report_uuid":"r-web01","end_time":"'$now'"}'
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'x-data-collector-token: tok123' -H 'x-data-collector-auth: version=1.0' \
  -H 'Content-Type: application/json' --data "$body" http://127.0.0.1:9842/data-collector/v0/)
check "compliance: push accepted ($code) and spooled in /var/lib/estate-compliance/spool" \
  bash -c "[ $code = 200 ] && ls /var/lib/estate-compliance/spool/web01_*.json >/dev/null"
# ... and the registry's first-seen times.
cp /etc/estate/service-registry.yml /tmp/service-registry.yml.orig
printf 'vms:\n  - {name: web-app01, hypervisor: hv1, project: p1, id: "1"}\n' >/etc/estate/inventory.yml
printf 'inventory: {files: [/etc/estate/inventory.yml]}\nreport: {state_file: /var/lib/estate-service-registry/first-seen.json}\n' >/etc/estate/service-registry.yml
systemctl reload estate-service-registry-exporter
wait_for 15 test -s /var/lib/estate-service-registry/first-seen.json
check "service-registry: first-seen.json written in /var/lib/estate-service-registry" \
  grep -q web /var/lib/estate-service-registry/first-seen.json
for u in hardware storage-mapping compliance service-registry; do
  journalctl -u estate-$u-exporter --no-pager -o cat | grep -iE 'level=error|SIGSYS|seccomp|not permitted|denied' | sed "s/^/  log $u: /"
done
check "no unit failed" bash -c "[ -z \"\$(systemctl list-units --failed --plain --no-legend)\" ]"
systemctl list-units --failed --plain --no-legend
# Put the shipped configs back; remove what the test added.
for f in hardware compliance service-registry; do mv /tmp/$f.yml.orig /etc/estate/$f.yml; done
rm -f /etc/estate/t.pass /etc/estate/compliance-tokens /etc/estate/inventory.yml
echo SELFTEST-DONE
systemctl poweroff 2>/dev/null  # (it asks logind over D-Bus first; there is none)
SELFTEST
  chmod 755 "$root/usr/local/bin/estate-selftest"
  printf '[Unit]\nAfter=multi-user.target\n[Service]\nType=oneshot\nExecStart=/usr/local/bin/estate-selftest\n[Install]\nWantedBy=multi-user.target\n' \
    >"$root/etc/systemd/system/estate-selftest.service"
  ln -sf /etc/systemd/system/estate-selftest.service "$root/etc/systemd/system/multi-user.target.wants/estate-selftest.service"
  cleanup  # nspawn mounts what it needs itself
  t0=$SECONDS
  timeout 180 systemd-nspawn -q -D "$root" -b --private-network --register=no --keep-unit >"$work/nspawn.log" 2>&1
  if grep -q SELFTEST-DONE "$root/selftest.txt" 2>/dev/null; then
    ok "booted under systemd and ran the self-test ($((SECONDS - t0)) s)"
  else
    bad "the self-test under systemd did not finish (log $work/nspawn.log)"; tail -20 "$work/nspawn.log"
  fi
  while read -r line; do
    case $line in
      "ok   "*) ok "[systemd] ${line#ok   }" ;;
      "FAIL "*) bad "[systemd] ${line#FAIL }" ;;
      SELFTEST-DONE) ;;
      *) echo "    $line" ;;
    esac
  done <"$root/selftest.txt"
  rm -f "$root/selftest.txt" "$root/usr/local/bin/estate-selftest" "$root/etc/systemd/system/estate-selftest.service" \
    "$root/etc/systemd/system/multi-user.target.wants/estate-selftest.service"
  mount -t proc proc "$root/proc"; mount --bind /dev "$root/dev"; mount --bind /dev/pts "$root/dev/pts"
  mount -t sysfs sys "$root/sys"
else
  echo "==> skipped: the units under systemd (no systemd-nspawn)"
fi

# --- 6. purge --------------------------------------------------------------------------------------------------
say "apt-get purge $pkgs"
if in_root "apt-get purge -y -q $pkgs && apt-get autoremove --purge -y -q" >"$work/purge.log" 2>&1; then
  ok "apt-get purge and autoremove"
else
  bad "apt-get purge (log $work/purge.log)"; tail -20 "$work/purge.log"
fi
check "no package of ours left installed" in_root "! dpkg -l 'estate-*' 2>/dev/null | grep -q '^[ir]'"
snapshot >"$work/after.txt"
# New paths, less apt's and dpkg's own bookkeeping, caches and logs.
comm -13 "$work/before.txt" "$work/after.txt" \
  | grep -vE '^\./var/(lib/dpkg|lib/apt|cache|log)(/|$)' >"$work/left.txt"
echo "  paths left after purge that were not there before ($(wc -l <"$work/left.txt")):"
sed 's/^/    /' "$work/left.txt"
check "no file of ours left (no path with 'estate' in it)" bash -c "! grep -qi estate '$work/left.txt'"
for name in "${exporters[@]}"; do
  # Debian's recommendation for system users: leave them (a recycled id must not inherit files left behind).
  echo "  left on purge as Debian recommends: $(in_root "getent passwd estate-$name" || echo "no user estate-$name")"
done

finish
