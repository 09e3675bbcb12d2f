#!/bin/sh
# Boot test of the early vfio-pci binding with an initramfs made by the real generator.
# Usage: tests/e2e/boot-hook.sh initramfs-tools|dracut positive|negative
#
# A minbase Debian chroot (make-chroot.sh) holds initramfs-tools and dracut; the fetched
# Debian kernel's modules are linked into it, our hook plus a config naming 0000:01:00.0 is
# installed, and the real update-initramfs or dracut builds the image. QEMU boots it on q35
# with an emulated VT-d and two identical e1000e NICs on their own root ports (01:00.0 and
# 02:00.0). positive: config names 8086:10d3, so 01:00.0 must end on vfio-pci and 02:00.0 on
# e1000e. negative: config expects another vendor:device, so nothing binds and the kernel
# log says why.
set -eu
tool=$1
case_=$2
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cache=${VMPREP_CACHE:-/var/cache/vmprep-tests}
export VMQ_LIB_DIR="$src/tests/qemu"
# shellcheck source=../qemu/lib.sh
. "$src/tests/qemu/lib.sh"
# shellcheck source=lib-e2e.sh
. "$here/lib-e2e.sh"

kdir=$(sh "$src/tests/qemu/fetch-kernel.sh")
kver=$(cat "$kdir/release")
base=$(sh "$here/make-chroot.sh")

work=$(mktemp -d "$cache/e2e-$tool-$case_.XXXXXX")
keep=${VMPREP_KEEP:-}
cleanup() { [ -n "$keep" ] || rm -rf "$work"; }
trap cleanup EXIT
# Hard links keep the copy instant; every file the test writes is removed first, never
# rewritten in place, so the cached chroot stays pristine.
root=$work/root
cp -al "$base" "$root" 2>/dev/null || cp -a "$base" "$root"
mkdir -p "$root/usr/lib/modules" "$root/boot"
cp -al "$kdir/lib/modules/$kver" "$root/usr/lib/modules/$kver" 2>/dev/null ||
  cp -a "$kdir/lib/modules/$kver" "$root/usr/lib/modules/$kver"
cp "$kdir/config" "$root/boot/config-$kver"

put() { # put SRC DST MODE: a fresh file in the chroot (never writes through a hard link)
  rm -f "$root$2"
  mkdir -p "$(dirname "$root$2")"
  cp "$1" "$root$2"
  chmod "$3" "$root$2"
}
put "$src/initramfs-hooks/vfio-bind.sh" /usr/lib/vmprep/vfio-bind.sh 644
case $case_ in
  positive) want=8086:10d3 ;;
  negative) want=10de:1b80 ;;
  *) fail "unknown case $case_" ;;
esac
printf '# written by boot-hook.sh\n0000:01:00.0 %s\n' "$want" >"$work/vfio-bind.conf"
put "$work/vfio-bind.conf" /etc/vmprep/vfio-bind.conf 644

initrd=$work/initrd.img
t0=$(date +%s)
case $tool in
  initramfs-tools)
    put "$src/initramfs-hooks/initramfs-tools/hooks/vmprep-vfio" \
      /usr/share/initramfs-tools/hooks/vmprep-vfio 755
    put "$src/initramfs-hooks/initramfs-tools/scripts/init-top/00vmprep-vfio" \
      /usr/share/initramfs-tools/scripts/init-top/00vmprep-vfio 755
    {
      echo '#!/bin/sh'
      # shellcheck disable=SC2016 # written into the script as is
      echo 'case $1 in prereqs) exit 0 ;; esac'
      cat "$here/guest-verdict.sh"
    } >"$work/verdict"
    put "$work/verdict" /etc/initramfs-tools/scripts/init-premount/vmprep-e2e 755
    # Only the modules this guest needs (MODULES=most would copy hundreds for nothing).
    printf 'MODULES=list\n' >"$work/conf"
    put "$work/conf" /etc/initramfs-tools/conf.d/vmprep-e2e.conf 644
    printf 'e1000e\n' >"$work/modules"
    put "$work/modules" /etc/initramfs-tools/modules 644
    chroot "$root" update-initramfs -c -k "$kver" >"$work/build.log" 2>&1 ||
      { cat "$work/build.log" >&2; fail "update-initramfs failed"; }
    cp "$root/boot/initrd.img-$kver" "$initrd"
    ;;
  dracut)
    d=/usr/lib/dracut/modules.d
    put "$src/initramfs-hooks/dracut/90vmprep-vfio/module-setup.sh" "$d/90vmprep-vfio/module-setup.sh" 755
    put "$src/initramfs-hooks/dracut/90vmprep-vfio/vmprep-vfio.sh" "$d/90vmprep-vfio/vmprep-vfio.sh" 755
    put "$here/dracut-e2e/module-setup.sh" "$d/99vmprep-e2e/module-setup.sh" 755
    put "$here/dracut-e2e/e2e-cmdline.sh" "$d/99vmprep-e2e/e2e-cmdline.sh" 755
    put "$here/guest-verdict.sh" "$d/99vmprep-e2e/guest-verdict.sh" 755
    chroot "$root" dracut --force --no-hostonly --kver "$kver" \
      --modules "base udev-rules vmprep-vfio vmprep-e2e" --add-drivers e1000e \
      /boot/initrd.img-dracut >"$work/build.log" 2>&1 ||
      { cat "$work/build.log" >&2; fail "dracut failed"; }
    cp "$root/boot/initrd.img-dracut" "$initrd"
    ;;
  *) fail "unknown tool $tool" ;;
esac
t1=$(date +%s)
echo "built initramfs with $tool in $((t1 - t0))s ($(wc -c <"$initrd") bytes)"

# The hook's files must be in the image the generator produced.
listing=$work/listing
case $tool in
  initramfs-tools) chroot "$root" lsinitramfs "/boot/initrd.img-$kver" >"$listing" ;;
  dracut) chroot "$root" lsinitrd /boot/initrd.img-dracut >"$listing" ;;
esac
for f in usr/lib/vmprep/vfio-bind.sh etc/vmprep/vfio-bind.conf vfio-pci.ko vfio_iommu_type1.ko \
  /vfio.ko vfio_virqfd.ko; do
  grep -q -- "$f" "$listing" || fail "$f missing from the $tool image"
done

e2e_boot_and_check "$work" "$kdir/vmlinuz" "$initrd" "$case_" "$tool"
