#!/usr/bin/env bash
# Run by scripts/demo.sh once the compliance exporter answers: monitoring01 reports the way InSpec's automate
# reporter does (reporter.automate.url = http://EXPORTER/data-collector/v0/, with a token).
# usage: compliance.after.sh STATE_DIR SOURCE_DIR EXPORTER_ADDRESS
set -euo pipefail
state="$1" address="$3"
token="$(grep -v '^[[:space:]]*\(#\|$\)' "$state/compliance/tokens" | head -n 1)"
code="$(curl -sS --noproxy '*' --max-time 10 -o "$state/compliance/push.answer" -w '%{http_code}' \
  -H 'Content-Type: application/json' -H "x-data-collector-token: $token" -H 'x-data-collector-auth: version=1.0' \
  --data-binary "@$state/compliance/push.json" "http://$address/data-collector/v0/")"
case "$code" in
  2??) echo "monitoring01 pushed its report to http://$address/data-collector/v0/ (HTTP $code)" ;;
  *) echo "the push to http://$address/data-collector/v0/ answered HTTP $code: $(cat "$state/compliance/push.answer")"
     exit 1 ;;
esac
