#!/bin/sh
# vmprep's one entry point for people and CI (run as root on Debian 12).
#   ./build.sh vmcheck [ARGS...]   install what is missing, build, run vmcheck on this host
#   ./build.sh test                install what is missing, build, run the whole test suite
#   ./build.sh iso                 install what is missing, build, make build/iso/vmprep-live.iso
#   ./build.sh deb [DIR]           install what is missing, build the Debian package in DIR
#                                  (default build-deb; configured with prefix /usr)
set -eu
cd "$(dirname "$0")"

# Debian packages the build needs, and the ones the tests need on top.
BUILD_DEPS="build-essential cmake ninja-build pkg-config ccache libcdk5-dev libncurses-dev
  libkmod-dev libpci-dev pci.ids libmount-dev libblkid-dev zlib1g-dev libzstd-dev liblzma-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev libgtest-dev libgmock-dev scdoc nettle-dev
  libxml2-dev"
# The live ISO (iso/build-iso.sh): GRUB for BIOS and UEFI, the ISO tools, the live userland.
ISO_DEPS="grub-pc-bin grub-efi-amd64-bin grub-common xorriso mtools dosfstools busybox-static
  kmod cpio zstd pci.ids file"
TEST_DEPS="kmod shellcheck clang-format python3 tmux xz-utils pciutils bsdutils qemu-system-x86
  busybox-static zstd cpio e2fsprogs debootstrap jq systemd patch python3-yaml
  man-db bash-completion zsh fish prometheus python3-prometheus-client python3-jsonschema
  ansible-core dpkg-dev file cockpit-ws cockpit-bridge cockpit-system chromium chromium-driver
  python3-selenium $ISO_DEPS ovmf fdisk"

install_missing() {
  missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "build.sh: missing Debian packages:$missing; run as root or install them" >&2
    exit 3
  fi
  echo "build.sh: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing >&2 ||
    { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends $missing >&2; }
}

build() {
  jobs=$(nproc 2>/dev/null || echo 2)
  if [ ! -f build/build.ninja ]; then
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  fi
  cmake --build build -j "$jobs" >&2
}

# The Debian package: its own tree configured for /usr (paths are baked into the units and
# scripts), only the targets the package holds, then CPack (dpkg-shlibdeps for Depends).
build_deb() {
  dir=$1
  jobs=$(nproc 2>/dev/null || echo 2)
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
      -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >&2
  fi
  cmake --build "$dir" -j "$jobs" --target vmcheck vmsetup man >&2
  (cd "$dir" && cpack -G DEB >&2)
  ls "$dir"/vmprep_*.deb
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  vmcheck)
    # shellcheck disable=SC2086
    install_missing $BUILD_DEPS
    build
    exec build/vmcheck "$@"
    ;;
  test)
    # shellcheck disable=SC2086
    install_missing $BUILD_DEPS $TEST_DEPS
    build
    cd build
    exec ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" --timeout 1800
    ;;
  iso)
    # shellcheck disable=SC2086
    install_missing $BUILD_DEPS $ISO_DEPS
    build
    mkdir -p build/iso
    exec sh iso/build-iso.sh build build/iso/vmprep-live.iso
    ;;
  deb)
    # shellcheck disable=SC2086
    install_missing $BUILD_DEPS dpkg-dev file
    build_deb "${1:-build-deb}"
    ;;
  *)
    echo "usage: ./build.sh vmcheck [ARGS...] | ./build.sh test | ./build.sh iso | ./build.sh deb [DIR]" >&2
    exit 2
    ;;
esac
