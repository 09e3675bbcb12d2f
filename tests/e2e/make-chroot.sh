#!/bin/sh
# Build (once) a minimal Debian chroot that holds the real initramfs-tools and dracut, so the
# boot tests run the real generators without installing dracut on the host (it would replace
# the host's initramfs-tools). dracut-core and initramfs-tools can live side by side.
# Usage: tests/e2e/make-chroot.sh [hooks|installed]   -> prints the chroot directory.
#   hooks      (default) initramfs-tools and dracut side by side, for the hook boot tests
#   installed  what an installed Debian system boots with: initramfs-tools and GRUB's
#              update-grub (no boot loader is written anywhere), for the live ISO's tests
# Cached under $VMPREP_CACHE (default /var/cache/vmprep-tests), keyed by suite, mirror,
# package list and this script, so a warm run does nothing.
set -eu
cache=${VMPREP_CACHE:-/var/cache/vmprep-tests}
suite=bookworm
case ${1:-hooks} in
  hooks) packages=initramfs-tools,dracut-core,busybox,zstd ;;
  installed) packages=initramfs-tools,busybox,zstd,grub2-common,grub-pc-bin ;;
  *) echo "make-chroot: unknown variant '$1' (hooks or installed)" >&2; exit 2 ;;
esac
# Use the Debian mirror apt on this machine is configured with.
mirror=${VMPREP_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -n -e 's/^URIs: *\(http[^ ]*\/debian\)\/*$/\1/p' -e 's/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*\/debian\)\/* .*/\2/p' |
    head -n 1)
fi
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
key=$( { echo "$suite $mirror $packages"; cat "$0"; } | sha256sum | cut -c1-16)
dir=$cache/chroot-$key
if [ ! -f "$dir/.vmprep-complete" ]; then
  command -v debootstrap >/dev/null || { echo "make-chroot: debootstrap missing (apt-get install debootstrap)" >&2; exit 1; }
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/chroot-build.XXXXXX")
  chmod 755 "$tmp"
  log=$cache/chroot-$key.log
  if ! debootstrap --variant=minbase --include="$packages" "$suite" "$tmp" "$mirror" >"$log" 2>&1; then
    echo "make-chroot: debootstrap failed, see $log" >&2
    tail -n 20 "$log" >&2
    rm -rf "$tmp"
    exit 1
  fi
  # Leave nothing from the build mounted or cached inside.
  rm -rf "$tmp/var/cache/apt/archives"/*.deb
  touch "$tmp/.vmprep-complete"
  rm -rf "$dir"
  mv "$tmp" "$dir"
fi
echo "$dir"
