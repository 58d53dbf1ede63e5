#!/usr/bin/env bash
# Builds the estate-exporters container image (all four exporters, non-root, read-only-root friendly):
#   bash packaging/container/build.sh [extra podman build args...]
# = podman build -f packaging/container/Containerfile -t estate-exporters:latest .
#
# Base images: the Containerfile builds on docker.io/library/debian:12 and runs on debian:12-slim. When those are
# neither present locally nor pullable (a machine without registry access), this script makes a local equivalent
# from Debian's own packages -- `debootstrap --variant=minbase bookworm` from the apt mirror this machine already
# uses, imported as localhost/debian-minbase:12 -- and builds on that instead (it says so). The debootstrap tarball
# is cached in ${XDG_CACHE_HOME:-~/.cache}/estate-exporters/.
#
# Environment:
#   ESTATE_IMAGE        image name to tag (default estate-exporters:latest)
#   ESTATE_BASE_IMAGE   runtime base (default docker.io/library/debian:12-slim)
#   ESTATE_BUILD_IMAGE  build base   (default docker.io/library/debian:12)
#   ESTATE_LOCAL_BASE=1 skip the registry and use (or make) localhost/debian-minbase:12 straight away
#   ESTATE_JOBS         parallel compile jobs inside the build (default 2)
#   PODMAN              container tool (default podman; only podman is tested)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
podman=${PODMAN:-podman}
image=${ESTATE_IMAGE:-estate-exporters:latest}
base=${ESTATE_BASE_IMAGE:-docker.io/library/debian:12-slim}
build_base=${ESTATE_BUILD_IMAGE:-docker.io/library/debian:12}
local_base=localhost/debian-minbase:12
jobs=${ESTATE_JOBS:-2}
cache_dir=${XDG_CACHE_HOME:-$HOME/.cache}/estate-exporters
say() { echo "build-image: $*" >&2; }

command -v "$podman" >/dev/null || { say "$podman not found (apt-get install podman)"; exit 1; }

have_image() { "$podman" image inspect "$1" >/dev/null 2>&1; }
# An image is usable if it is here already or a pull succeeds (quickly: no registry access fails fast or times out).
usable() {
  have_image "$1" && return 0
  say "pulling $1"
  timeout 120 "$podman" pull -q "$1" >/dev/null 2>&1
}

# Makes localhost/debian-minbase:12 from Debian's own packages: debootstrap minbase, like debian:12-slim trimmed of
# docs, man pages and apt lists, with the mirror and the security/updates suites this machine uses.
make_local_base() {
  if have_image "$local_base"; then say "using the local base $local_base (made earlier by this script)"; return; fi
  local tarball="$cache_dir/debian-minbase-bookworm.tar.gz"
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null || { say "debootstrap not found (apt-get install debootstrap)"; exit 1; }
    [ "$(id -u)" -eq 0 ] || { say "making the local base with debootstrap needs root"; exit 1; }
    local mirror sec
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    sec=$(awk '/^URIs:/ && /security/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$sec" ] || sec=http://deb.debian.org/debian-security
    local dir; dir=$(mktemp -d /tmp/estate-minbase.XXXXXX)
    say "making $local_base: debootstrap --variant=minbase bookworm from $mirror (a few minutes; log $dir.log)"
    if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$dir.log" 2>&1; then
      say "debootstrap failed, see $dir.log"; exit 1
    fi
    # What debian:12-slim has too: the updates and security suites, no docs/man/locales, no apt lists.
    rm -f "$dir/etc/apt/sources.list"
    cat > "$dir/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $sec
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    cat > "$dir/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/archives/*.deb "$dir"/var/cache/apt/*.bin \
      "$dir"/var/cache/debconf/*-old "$dir"/var/log/* "$dir"/tmp/* "$dir"/usr/share/man/* "$dir"/usr/share/info/*
    find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    find "$dir/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
    : > "$dir/etc/resolv.conf"; : > "$dir/etc/hostname"
    mkdir -p "$cache_dir"
    tar -C "$dir" --numeric-owner -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$dir" "$dir.log"
  else
    say "reusing the debootstrap tarball $tarball"
  fi
  "$podman" import -q --change 'CMD ["bash"]' "$tarball" "$local_base" >/dev/null
  say "imported $local_base ($(du -h "$tarball" | cut -f1) compressed)"
}

if [ "${ESTATE_LOCAL_BASE:-0}" != 1 ] && usable "$build_base" && usable "$base"; then
  say "base images: $build_base (build), $base (runtime)"
else
  say "NOTE: $build_base / $base are not available here (no registry access?);"
  say "      building on $local_base, a debootstrap --variant=minbase of Debian 12 (bookworm) from this machine's mirror"
  make_local_base
  base=$local_base; build_base=$local_base
fi

# RUN steps need the OCI runtime to start a container. Where it cannot (crun on a host with cgroups v1 and v2 mixed:
# "cgroups in hybrid mode not supported"; podman's default ulimits above the hard limits without
# CAP_SYS_RESOURCE), buildah's chroot isolation runs them without a runtime: same result, less isolation.
isolation=()
if ! err=$("$podman" run --rm --network=host "$build_base" true 2>&1); then
  say "NOTE: podman cannot start a container here ($(echo "$err" | tail -n1));"
  say "      building with --isolation=chroot (RUN steps in a chroot; see packaging/container/README.md)"
  isolation=(--isolation=chroot)
fi

# The image has no .git (see .containerignore), so --version says "revision: unknown"; the label carries it.
revision=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
start=$(date +%s)
# --network=host: apt-get inside the build reaches the mirror the way the host does (no bridge/NAT needed).
"$podman" build --network=host "${isolation[@]}" -f "$here/Containerfile" -t "$image" \
  --build-arg "BASE_IMAGE=$base" --build-arg "BUILD_IMAGE=$build_base" --build-arg "JOBS=$jobs" \
  --build-arg "REVISION=$revision" \
  "$@" "$root"
secs=$(( $(date +%s) - start ))
size=$("$podman" image inspect --format '{{.Size}}' "$image")
say "built $image in ${secs} s on $base; size $size bytes ($(( size / 1000000 )) MB)"
if [ ${#isolation[@]} -eq 0 ]; then
  say "try: $podman run --rm $image estate-hardware-exporter --version"
else
  say "try: $podman run --rm --runtime runc --ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=8192:8192 \\"
  say "       $image estate-hardware-exporter --version   (this host's podman needs such options, see the README)"
fi
