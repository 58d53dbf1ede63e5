#!/usr/bin/env bash
# Installs, with apt-get, every Debian 12 package that estate-exporters needs to build, test and run its demo.
# Idempotent: packages already present are not touched, and apt-get runs only when something is missing.
# Run as root (or with sudo). Usage: scripts/install-deps.sh [--demo-only]
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config git ca-certificates
  # libraries (Debian 12 only; see README "Dependencies")
  prometheus-cpp-dev libcivetweb-dev libcurl4-openssl-dev libssl-dev zlib1g-dev libcrypt-dev
  libpugixml-dev nlohmann-json3-dev libyaml-cpp-dev
  libbz2-dev  # bzip2-compressed ARF (compliance exporter)
  # tests
  googletest libgtest-dev libgmock-dev curl openssl python3 python3-yaml
  # real end-to-end tests and the demo
  prometheus prometheus-alertmanager
  openscap-scanner ssg-debian  # a real oscap xccdf eval (compliance tests and demo)
  # headless browser for page tests
  chromium
  # fuzzing: the fuzz preset (clang, libFuzzer, ASan+UBSan; docs/fuzzing.md)
  clang-14 libclang-rt-14-dev
)
# kubectl (Debian's kubectl 1.20, kustomize v2.0.3) renders packaging/kubernetes in tests/k8s. Only where no
# kubectl is installed yet: kubernetes-client ships /usr/bin/kubectl too, and dpkg refuses to overwrite
# another package's (e.g. a newer kubectl from the Kubernetes apt repository, which the test uses instead).
if ! command -v kubectl >/dev/null 2>&1; then
  packages+=(kubernetes-client)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Debian's prometheus packages try to start their services; on a machine without an init system that only
# warns, and the demo runs its own instances on other ports anyway. A policy-rc.d stops them from starting.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; made_policy=1
fi
trap '[ $made_policy -eq 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
