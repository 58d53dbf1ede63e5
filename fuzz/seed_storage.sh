#!/usr/bin/env bash
# Writes the storage harnesses' seed corpora (keystone, nova, cinder, pure) from the simulated estate: runs
# estate-simestate with tools/simestate/estate.demo.yml (the demo storage model) and saves what it answers.
#   fuzz/seed_storage.sh [build-dir]      default build/dev (needs the target estate-simestate)
set -euo pipefail
cd "$(dirname "$0")/.."
sim="${1:-build/dev}/tools/simestate/estate-simestate"
work="$(mktemp -d)"
"$sim" --config.file=tools/simestate/estate.demo.yml --ports.file="$work/ports.json" --log.level=error &
pid=$!
trap 'kill $pid; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/ports.json" ] && break; sleep 0.1; done
port() { python3 -c "import json,sys; print(json.load(open('$work/ports.json'))['$1'])"; }
os="http://127.0.0.1:$(port cloud-demo)"
out=fuzz/corpus
mkdir -p $out/keystone $out/nova $out/cinder $out/pure

auth='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"monitor","domain":{"name":"Default"},
"password":"demo-openstack-password"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}'
curl -sS -D "$work/h" -o $out/keystone/token_password.json -H 'Content-Type: application/json' -d "$auth" \
  "$os/identity/v3/auth/tokens"
token="$(sed -n 's/^X-Subject-Token: *//ip' "$work/h" | tr -d '\r')"
appcred='{"auth":{"identity":{"methods":["application_credential"],"application_credential":{
"id":"estate-monitor-appcred","secret":"demo-appcred-secret"}}}}'
curl -sS -o $out/keystone/token_appcred.json -H 'Content-Type: application/json' -d "$appcred" \
  "$os/identity/v3/auth/tokens"
curl -sS -o $out/keystone/projects.json -H "X-Auth-Token: $token" "$os/identity/v3/projects"
get() { curl -sS -H "X-Auth-Token: $token" -H "OpenStack-API-Version: $2" "$os$1"; }
get "/compute/v2.1/servers/detail?all_tenants=1&limit=4" "compute 2.1" > $out/nova/servers_page1.json
get "/compute/v2.1/servers/detail?all_tenants=1&limit=3&marker=345b52d1-3dc1-45bf-8987-80e8bf872c77" "compute 2.96" > $out/nova/servers_page2_2.96.json
get "/compute/v2.1/servers/detail?all_tenants=1&limit=1000&marker=zzzz" "compute 2.1" > $out/nova/servers_bad_marker.json
get "/volume/v3/volumes/detail?all_tenants=1&limit=4" "volume 3.0" > $out/cinder/volumes_page1.json
get "/volume/v3/volumes/detail?all_tenants=1&limit=3&marker=0828583a-c6de-46f6-82cb-b362ebbc1d63" "volume 3.70" > $out/cinder/volumes_page2_3.70.json

for array in pure-a pure-b; do
  p="http://127.0.0.1:$(port $array)"
  curl -sS -o $out/pure/${array}_api_version.json "$p/api/api_version"
  session="$(curl -sS -D - -o /dev/null -X POST -H "api-token: demo-$array-api-token" "$p/api/2.15/login" |
    sed -n 's/^x-auth-token: *//ip' | tr -d '\r')"
  for what in volumes connections volumes/tags arrays; do
    curl -sS -o "$out/pure/${array}_${what//\//_}.json" -H "x-auth-token: $session" "$p/api/2.15/$what?limit=5"
  done
done
ls -l $out/keystone $out/nova $out/cinder $out/pure
