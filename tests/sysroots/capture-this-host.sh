#!/bin/sh
# Captures the parts of THIS machine's runtime tree that the kvm probe reads, in the sysroot
# layout of capture.sh (runtime/, config/, dev.nodes, README), as tests/sysroots/NAME.tar.xz.
# Used once for "pvm-host": the Debian 12 build machine whose KVM is paravirtualised
# (kvm_pvm, no vmx/svm flag) — a real host where KVM works without CPU flags.
# Usage: tests/sysroots/capture-this-host.sh NAME   (as root)
set -eu
name=${1:?usage: capture-this-host.sh NAME}
out=$(cd "$(dirname "$0")" && pwd)/$name.tar.xz
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
rt=$stage/runtime
mkdir -p "$rt/proc/sys/kernel" "$rt/dev" "$stage/config/etc"
for f in cpuinfo cmdline version meminfo modules; do
  [ -r "/proc/$f" ] && cat "/proc/$f" > "$rt/proc/$f"
done
for f in osrelease hostname; do cat "/proc/sys/kernel/$f" > "$rt/proc/sys/kernel/$f"; done
for m in /sys/module/kvm*; do
  [ -d "$m" ] || continue
  d=$rt$m
  mkdir -p "$d"
  [ -r "$m/initstate" ] && cat "$m/initstate" > "$d/initstate"
  if [ -d "$m/parameters" ]; then
    mkdir -p "$d/parameters"
    for p in "$m"/parameters/*; do cat "$p" > "$d/parameters/${p##*/}" 2>/dev/null || true; done
  fi
done
: > "$stage/dev.nodes"
# The kernel log in /dev/kmsg record format, read without blocking.
dd if=/dev/kmsg iflag=nonblock bs=8192 2>/dev/null > "$rt/dev/kmsg" || true
for n in /dev/kvm /dev/vhost-net /dev/net/tun /dev/kmsg; do
  [ -e "$n" ] || continue
  mkdir -p "$rt$(dirname "$n")"
  [ "$n" = /dev/kmsg ] || : > "$rt$n"
  chmod "$(stat -c %a "$n")" "$rt$n"
  chown "$(stat -c %u:%g "$n")" "$rt$n"
  printf '%s c %s %04o %s %s\n' "$n" "$(stat -c '%Hr:%Lr' "$n")" "0$(stat -c '%a' "$n")" \
    "$(stat -c '%u' "$n")" "$(stat -c '%g' "$n")" >> "$stage/dev.nodes"
done
mv "$stage/dev.nodes" "$rt/dev.nodes"
cp /etc/os-release "$stage/config/etc/os-release"
cat > "$stage/README" <<EOT
Captured from a real machine by tests/sysroots/capture-this-host.sh on $(date -u +%Y-%m-%d).
kernel release: $(uname -r)
CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-).
KVM is provided by the paravirtualised backend kvm_pvm; /proc/cpuinfo has no vmx/svm flag.
EOT
tar -C "$stage" --numeric-owner -cJf "$out" runtime config README
echo "$out"
