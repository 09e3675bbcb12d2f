#!/bin/sh
# mkinitcpio front end test (mkinitcpio is not packaged in Debian).
# 1. Sources install/vmprep-vfio the way mkinitcpio does, with add_* functions that record
#    each call, runs build() for a 6.1 and a 6.8 kernel, and compares the exact call lists.
# 2. Builds an image from the recorded 6.1 calls (modules from the fetched Debian kernel,
#    files from this tree, busybox as mkinitcpio's base hook provides it, the run hook under
#    /hooks as add_runscript puts it) whose /init sources /hooks/vmprep-vfio and calls
#    run_hook as mkinitcpio's init does, boots it on the two-NIC VT-d machine and checks that
#    0000:01:00.0 ends on vfio-pci and its twin on e1000e; booted again with
#    intel_iommu=off, nothing binds and the log says the IOMMU is off.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cache=${VMPREP_CACHE:-/var/cache/vmprep-tests}
export VMQ_LIB_DIR="$src/tests/qemu"
# shellcheck source=../qemu/lib.sh
. "$src/tests/qemu/lib.sh"
# shellcheck source=lib-e2e.sh
. "$here/lib-e2e.sh"

mkdir -p "$cache"
work=$(mktemp -d "$cache/e2e-mkinitcpio.XXXXXX")
cleanup() { [ -n "${VMPREP_KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

printf '# written by mkinitcpio-hook.sh\n0000:01:00.0 8086:10d3\n' >"$work/vfio-bind.conf"

# record KERNELVERSION CONF OUT: run build() with recording add_* functions.
record() {
  (
    # shellcheck disable=SC2034,SC2317 # used by the sourced install file
    calls=$3
    : >"$calls"
    add_module() { echo "module $*" >>"$calls"; }
    add_binary() { echo "binary $*" >>"$calls"; }
    add_file() { echo "file $*" >>"$calls"; }
    add_runscript() { echo "runscript" >>"$calls"; }
    # shellcheck disable=SC2034 # read by build()
    KERNELVERSION=$1
    # shellcheck disable=SC2034 # read by build()
    VMPREP_VFIO_CONF=$2
    # shellcheck source=../../initramfs-hooks/mkinitcpio/install/vmprep-vfio
    . "$src/initramfs-hooks/mkinitcpio/install/vmprep-vfio"
    build
  )
}

record 6.1.0-56-amd64 "$work/vfio-bind.conf" "$work/calls-6.1"
cat >"$work/want-6.1" <<WANT
module vfio
module vfio_pci
module vfio_iommu_type1
module vfio_virqfd
binary modprobe
file /usr/lib/vmprep/vfio-bind.sh /usr/lib/vmprep/vfio-bind.sh
file $work/vfio-bind.conf /etc/vmprep/vfio-bind.conf
runscript
WANT
diff -u "$work/want-6.1" "$work/calls-6.1" || fail "build() for 6.1 recorded other calls"

record 6.8.0-1-amd64 "$work/absent.conf" "$work/calls-6.8"
cat >"$work/want-6.8" <<'WANT'
module vfio
module vfio_pci
module vfio_iommu_type1
binary modprobe
file /usr/lib/vmprep/vfio-bind.sh /usr/lib/vmprep/vfio-bind.sh
runscript
WANT
diff -u "$work/want-6.8" "$work/calls-6.8" || fail "build() for 6.8 recorded other calls"
echo "build(): recorded calls as expected for 6.1 (with vfio_virqfd) and 6.8 (without)"

kdir=$(sh "$src/tests/qemu/fetch-kernel.sh")
kver=$(cat "$kdir/release")
stage=$work/stage
vmq_initramfs_new "$stage"
mods=
while read -r kind a b; do
  case $kind in
    module) mods="$mods $a" ;;
    binary) [ -e "$stage/bin/$a" ] || fail "busybox has no $a applet" ;;
    file)
      case $a in
        /usr/lib/vmprep/vfio-bind.sh) from=$src/initramfs-hooks/vfio-bind.sh ;;
        *) from=$a ;;
      esac
      mkdir -p "$(dirname "$stage$b")"
      cp "$from" "$stage$b"
      ;;
    runscript)
      mkdir -p "$stage/hooks"
      cp "$src/initramfs-hooks/mkinitcpio/hooks/vmprep-vfio" "$stage/hooks/vmprep-vfio"
      ;;
  esac
done <"$work/calls-6.1"
# e1000e stands in for what autodetect would add; the verdict loads it after the hook.
# shellcheck disable=SC2086 # word list
vmq_initramfs_add_modules "$stage" "$kdir" "$kver" $mods e1000e
{
  echo '#!/bin/sh'
  echo '. /lib/vmq-guest.sh'
  echo 'vmq_mount_basics'
  echo '. /hooks/vmprep-vfio'
  echo 'run_hook'
  cat "$here/guest-verdict.sh"
} >"$stage/init"
chmod 755 "$stage/init"
vmq_initramfs_pack "$stage" "$work/initrd.img"
e2e_boot_and_check "$work" "$kdir/vmlinuz" "$work/initrd.img" positive mkinitcpio
e2e_boot_and_check "$work" "$kdir/vmlinuz" "$work/initrd.img" iommu-off mkinitcpio
