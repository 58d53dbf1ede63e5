#!/usr/bin/env bash
# A real OpenSCAP scan for the compliance demo and tests/compliance_e2e: `oscap xccdf eval` of our own SCAP
# content (tests/scap, profile xccdf_org.estate_profile_demo) against a directory standing in for the host
# build-runner01 (OSCAP_PROBE_ROOT=SCAN_DIR: its etc/hostname names the target, its etc/estate-scap/sshd_config
# is what the OVAL checks read), giving one rule each of pass, fail, notapplicable, error and notchecked. The
# XCCDF 1.2 results go to OUT_DIR/build-runner01.xml and the scanner's own HTML report next to them
# (build-runner01.html, which the exporter's report page links to). Without oscap (Debian package
# openscap-scanner) it says so and exits 0: the rest of the demo does not need it.
# usage: oscap_scan.sh SCAN_DIR OUT_DIR
set -euo pipefail
scan="$1" out="$2"
source="$(cd "$(dirname "$0")/../.." && pwd)"
content="$source/tests/scap/estate-xccdf.xml"
host=build-runner01
if ! command -v oscap >/dev/null; then
  echo "oscap is not installed (openscap-scanner): no OpenSCAP results in this run"
  exit 0
fi
[ -f "$content" ] || { echo "oscap_scan: $content is missing" >&2; exit 1; }
mkdir -p "$scan/etc/estate-scap" "$out"
echo "$host" >"$scan/etc/hostname"
printf 'Port 22\nPermitRootLogin no\nCiphers aes128-ctr\n' >"$scan/etc/estate-scap/sshd_config"
# Written under temporary names and renamed, so the exporter never reads a file half-way.
rc=0
OSCAP_PROBE_ROOT="$scan" oscap xccdf eval --profile xccdf_org.estate_profile_demo \
  --results "$out/.$host.xml.tmp" --report "$out/.$host.html.tmp" "$content" >"$scan/oscap.log" 2>&1 || rc=$?
# 0: every rule passed, 2: at least one failed; anything else is the scanner's own failure.
if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
  cat "$scan/oscap.log" >&2
  echo "oscap_scan: oscap xccdf eval exited with $rc" >&2
  exit 1
fi
mv "$out/.$host.html.tmp" "$out/$host.html"
mv "$out/.$host.xml.tmp" "$out/$host.xml"
echo "oscap $(oscap --version | head -n 1 | grep -o '[0-9][0-9.]*' | head -n 1) scanned $host with tests/scap:" \
  "$(grep -o '<rule-result[^>]*>' "$out/$host.xml" | wc -l) rules, results in $out/$host.xml"
