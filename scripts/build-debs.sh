#!/usr/bin/env bash
# Builds the Debian packages (one per exporter, estate-exporters-common, estate-exporters-assets) from this
# checkout: installs what the build needs with apt (as root), configures the release preset into build/deb
# with ESTATE_PACKAGE_DEB=ON, no tests and Debian's hardening flags (dpkg-buildflags), builds the exporters,
# runs cpack, and runs lintian on the result. The .debs end up in build/deb/packages/.
# See packaging/debian/README.md.
#
# Usage: bash scripts/build-debs.sh            (as root on Debian 12, or as a user once the packages are there)
# Environment: ESTATE_DEB_BUILD_DIR (default build/deb), ESTATE_DEB_JOBS (default nproc),
#              ESTATE_DEB_LINTIAN=0 (skip lintian).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${ESTATE_DEB_BUILD_DIR:-build/deb}
jobs=${ESTATE_DEB_JOBS:-$(nproc)}
start=$SECONDS

# What the build needs (the build and library lines of scripts/install-deps.sh, without the test tools) plus
# the Debian tooling. Kept apart from install-deps.sh so that the test path does not grow.
packages=(
  build-essential cmake pkg-config ca-certificates
  prometheus-cpp-dev libcivetweb-dev libcurl4-openssl-dev libssl-dev zlib1g-dev libcrypt-dev
  libpugixml-dev nlohmann-json3-dev libyaml-cpp-dev libbz2-dev
  dpkg-dev file gzip
)
[ "${ESTATE_DEB_LINTIAN:-1}" = 0 ] || packages+=(lintian)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "build-debs: missing packages: ${missing[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "build-debs: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's hardening flags (PIE, fortify, stack protector, RELRO, BIND_NOW), without -g: the packages are
# stripped and there is no -dbgsym package. CMake reads CFLAGS/CXXFLAGS/LDFLAGS at the first configure.
eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all DEB_CFLAGS_MAINT_STRIP=-g DEB_CXXFLAGS_MAINT_STRIP=-g \
  dpkg-buildflags --export=sh)"
export CFLAGS="$CPPFLAGS $CFLAGS" CXXFLAGS="$CPPFLAGS $CXXFLAGS"

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
echo "==> [$((SECONDS - start)) s] configure $build"
cmake --preset release -B "$build" "${launcher[@]}" \
  -DESTATE_BUILD_TESTS=OFF -DESTATE_WERROR=OFF -DESTATE_PACKAGE_DEB=ON -DCMAKE_INSTALL_PREFIX=/usr \
  -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >/dev/null
echo "==> [$((SECONDS - start)) s] build"
cmake --build "$build" -j"$jobs" --target estate_deb_targets
echo "==> [$((SECONDS - start)) s] cpack"
rm -rf "$build/packages"
(cd "$build" && cpack -G DEB -B "$PWD/packages" >cpack.log 2>&1) || { cat "$build/cpack.log"; exit 1; }
rm -rf "$build/packages/_CPack_Packages"
ls -l "$build"/packages/*.deb

if [ "${ESTATE_DEB_LINTIAN:-1}" != 0 ]; then
  echo "==> [$((SECONDS - start)) s] lintian"
  # Errors fail the build. The packages' own overrides (packaging/debian/lintian/) are listed (O:), with the
  # reasons in packaging/debian/README.md.
  lintian --fail-on error --show-overrides "$build"/packages/*.deb | tee "$build/lintian.log"
  echo "lintian: $(grep -c '^E:' "$build/lintian.log" || true) errors, $(grep -c '^W:' "$build/lintian.log" || true) warnings, $(grep -c '^O:' "$build/lintian.log" || true) overridden"
fi
echo "build-debs: done in $((SECONDS - start)) s; packages in $build/packages"
