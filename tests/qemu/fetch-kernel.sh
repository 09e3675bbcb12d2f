#!/bin/sh
# Fetch the current Debian 12 kernel image package from apt and unpack it for QEMU tests.
# Usage: tests/qemu/fetch-kernel.sh [METAPACKAGE]
# METAPACKAGE defaults to linux-image-amd64 (the kernel Debian 12 ships); another one, such
# as linux-image-6.12-amd64, gives a second kernel release (the live ISO's tests give the
# installed system a kernel other than the ISO's).
# Prints the directory that holds vmlinuz, lib/modules/<release>/ (with modules.dep) and a
# file "release" naming the kernel release. Cached under $VMPREP_CACHE (default
# /var/cache/vmprep-tests) so repeated runs and CI reruns on the same machine do no work.
set -eu
cache=${VMPREP_CACHE:-/var/cache/vmprep-tests}
meta=${1:-linux-image-amd64}
case $meta in
  linux-image-*) ;;
  *) echo "fetch-kernel: '$meta' is not a linux-image metapackage" >&2; exit 2 ;;
esac
mkdir -p "$cache"
# The metapackage names the kernel Debian currently ships; fall back to the newest listed.
find_pkg() {
  apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1
}
pkg=$(find_pkg)
# A fresh machine may have no package lists yet.
if [ -z "$pkg" ]; then
  apt-get update -q >&2 || true
  pkg=$(find_pkg)
fi
if [ -z "$pkg" ] && [ "$meta" = linux-image-amd64 ]; then
  pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | cut -d' ' -f1 | sort -V | tail -n 1)
fi
[ -n "$pkg" ] || { echo "fetch-kernel: no linux-image package found; run apt-get update" >&2; exit 1; }
release=${pkg#linux-image-}
dir=$cache/kernel-$release
if [ ! -f "$dir/release" ]; then
  tmp=$(mktemp -d "$cache/fetch.XXXXXX")
  chmod 755 "$tmp"
  (cd "$tmp" && apt-get download -q "$pkg" >/dev/null)
  dpkg -x "$tmp"/"$pkg"_*.deb "$tmp/root"
  depmod -b "$tmp/root" "$release"
  mkdir -p "$tmp/out/lib"
  cp "$tmp/root/boot/vmlinuz-$release" "$tmp/out/vmlinuz"
  cp "$tmp/root/boot/config-$release" "$tmp/out/config"
  if [ -d "$tmp/root/usr/lib/modules" ]; then mv "$tmp/root/usr/lib/modules" "$tmp/out/lib/modules"; else mv "$tmp/root/lib/modules" "$tmp/out/lib/modules"; fi
  echo "$release" > "$tmp/out/release"
  rm -rf "$dir"
  mv "$tmp/out" "$dir"
  rm -rf "$tmp"
fi
echo "$dir"
