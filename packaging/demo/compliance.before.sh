#!/usr/bin/env bash
# Run by scripts/demo.sh before it starts the compliance exporter: writes what the exporter reads.
#   - the InSpec reports of the demo's hosts (tools/compliance-demo/make_reports.py), one of them cut off half-way;
#   - the results of a real `oscap xccdf eval` of our own SCAP content (tests/scap), when oscap is installed;
#   - the automate envelope that compliance.after.sh pushes, and the tokens file (mode 0600).
# usage: compliance.before.sh STATE_DIR SOURCE_DIR EXPORTER_ADDRESS
set -euo pipefail
state="$1" source="$2"
dir="$state/compliance"
mkdir -p "$dir/reports" "$dir/spool"
install -m 0600 "$source/packaging/demo/compliance.tokens" "$dir/tokens"
python3 "$source/tools/compliance-demo/make_reports.py" --out "$dir/reports" --push-out "$dir/push.json" >/dev/null
echo "wrote $(ls "$dir/reports" | wc -l) InSpec reports into $dir/reports"
bash "$source/tools/compliance-demo/oscap_scan.sh" "$dir/scan" "$dir/reports/oscap"
