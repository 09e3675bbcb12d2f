#!/bin/sh
# Boots a Debian 12 kernel in QEMU (TCG) on each machine configuration and captures, inside
# the guest, the /proc, /sys and /dev entries vmcheck's probes read, into
# tests/sysroots/<name>.tar.xz (layout: README). Usage:
#   tests/sysroots/capture.sh [-o OUTDIR] [NAME...]      (default: every machine, OUTDIR=here)
# Needs: qemu-system-x86, busybox-static, kmod, cpio, zstd, e2fsprogs, xz-utils.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
VMQ_LIB_DIR=$here/../qemu
# shellcheck source=tests/qemu/lib.sh
. "$VMQ_LIB_DIR/lib.sh"

outdir=$here
if [ "${1:-}" = -o ]; then
  outdir=$(cd "$2" && pwd)
  shift 2
fi
all="intel-iommu intel-iommu-pt intel-iommu-off amd-iommu no-iommu vfio-bound kvm-svm kvm-nocpu
  kvm-unloaded hugepages amd-cpu-dmar boot-shared usb"
# shellcheck disable=SC2086
[ $# -gt 0 ] || set -- $all

kdir=$(vmq_kernel_dir)
kver=$(cat "$kdir/release")
work=$(mktemp -d /tmp/vmcap.XXXXXX)
# VMCAP_KEEP=1 keeps the work directory (console logs, disks) for debugging.
[ -n "${VMCAP_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT INT TERM
started=$(date +%s)

# Modules in every guest (loaded or not, as each machine says).
modules="virtio_pci virtio_blk ext4 e1000e bochs kvm kvm_amd kvm_intel vfio-pci vhost_net tun
  xhci_pci"
vmq_initramfs_new "$work/base"
cp "$here/guest-init.sh" "$work/base/init"
chmod 755 "$work/base/init"
# shellcheck disable=SC2086
vmq_initramfs_add_modules "$work/base" "$kdir" "$kver" $modules

# Shared topology: VGA at 00:02.0 (boot_vga), two identical e1000e on their own root ports,
# the virtio-blk root disk on a third, and a PCIe-to-PCI bridge on a fourth with two
# conventional PCI devices behind it (they share the bridge's IOMMU group). With
# disk_bus=pb1 the root disk sits behind that bridge too, sharing their group.
topology() {
  if [ "${disk_bus:-rp3}" = pb1 ]; then
    disk="-device virtio-blk-pci,bus=pb1,addr=03.0,drive=disk0"
  else
    disk="-device virtio-blk-pci,bus=rp3,drive=disk0"
  fi
  # shellcheck disable=SC2086
  printf '%s\n' \
    -device VGA,bus=pcie.0,addr=02.0 \
    -device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=03.0 \
    -device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,addr=04.0 \
    -device pcie-root-port,id=rp3,bus=pcie.0,chassis=3,addr=05.0 \
    -device pcie-root-port,id=rp4,bus=pcie.0,chassis=4,addr=06.0 \
    -device e1000e,bus=rp1,mac=52:54:00:00:01:01 \
    -device e1000e,bus=rp2,mac=52:54:00:00:02:01 \
    -drive "if=none,id=disk0,format=raw,file=$1" \
    -device pcie-pci-bridge,id=pb1,bus=rp4 \
    $disk \
    -chardev null,id=pciser \
    -device pci-serial,bus=pb1,addr=01.0,chardev=pciser \
    -audiodev none,id=snd0 \
    -device ich9-intel-hda,bus=pb1,addr=02.0 \
    -device hda-duplex,audiodev=snd0
}

intel_cpu=Skylake-Client-v4
capture_one() {
  name=$1
  machine=q35 cpu=$intel_cpu iommu="" extra="" desc="" load="e1000e bochs" try="" bind=""
  huge="" kvm_gid="" mem=1024 disk_bus=rp3 usb=""
  case $name in
    intel-iommu)
      machine=q35,kernel-irqchip=split iommu=intel extra="intel_iommu=on"
      desc="Intel VT-d (QEMU intel-iommu, interrupt remapping), IOMMU on: DMA-translated groups." ;;
    intel-iommu-pt)
      machine=q35,kernel-irqchip=split iommu=intel extra="intel_iommu=on iommu=pt"
      desc="Intel VT-d on in pass-through mode (iommu=pt): groups of type identity." ;;
    intel-iommu-off)
      machine=q35,kernel-irqchip=split iommu=intel extra="intel_iommu=off"
      desc="DMAR table present but the kernel's IOMMU disabled with intel_iommu=off: no groups." ;;
    amd-iommu)
      machine=q35,kernel-irqchip=split iommu=amd cpu=max
      desc="AMD-Vi (QEMU amd-iommu at 00:01.0, IVRS table), AMD CPU with svm; default (on)." ;;
    no-iommu)
      desc="q35 without any virtual IOMMU: no DMAR/IVRS, no groups." ;;
    vfio-bound)
      machine=q35,kernel-irqchip=split iommu=intel extra="intel_iommu=on" bind=0000:02:00.0
      desc="As intel-iommu, with the second e1000e (0000:02:00.0) bound to vfio-pci by driver_override: /dev/vfio/<group>." ;;
    kvm-svm)
      cpu=max load="e1000e bochs kvm_amd vhost_net tun" kvm_gid=105
      desc="AMD CPU with svm (-cpu max), kvm and kvm_amd loaded: /dev/kvm (0660 root:105 as Debian's udev rule sets it; gid 105 stands for group kvm), nested=1, vhost-net and tun loaded." ;;
    kvm-nocpu)
      cpu=qemu64,-svm try=kvm_amd
      desc="CPU without svm or vmx; modprobe kvm_amd was tried and failed (reason in dev/kmsg); no /dev/kvm." ;;
    kvm-unloaded)
      cpu=max
      desc="AMD CPU with svm, kvm modules installed but not loaded: no /dev/kvm." ;;
    hugepages)
      extra="hugepages=64" huge=1
      desc="No IOMMU, 1 GiB RAM, hugepages=64 (2 MiB) on the command line, hugetlbfs at /dev/hugepages." ;;
    amd-cpu-dmar)
      machine=q35,kernel-irqchip=split iommu=intel cpu=max
      desc="AMD CPU (-cpu max) on a board with an Intel VT-d DMAR table (QEMU intel-iommu), no intel_iommu=on: the Debian kernel leaves the Intel IOMMU off; the table, not the CPU, says what enables it." ;;
    boot-shared)
      machine=q35,kernel-irqchip=split iommu=intel extra="intel_iommu=on" disk_bus=pb1
      desc="As intel-iommu, but the virtio-blk root disk sits behind the PCIe-to-PCI bridge (05:03.0), in one IOMMU group with the serial card and the HD audio: passing the audio through would take the boot disk." ;;
    usb)
      load="e1000e bochs xhci_pci" usb=3
      desc="No IOMMU; a qemu-xhci controller at 00:07.0 with two identical USB tablets (0627:0001, as QEMU makes them) and a Wacom tablet (056a:0000): /sys/bus/usb/devices with root hubs, devices and interfaces." ;;
    *) echo "capture: unknown machine '$name' (known: $all)" >&2; return 1 ;;
  esac
  w=$work/$name
  mkdir -p "$w"
  cp -a "$work/base" "$w/stage"
  cat >"$w/stage/etc/vmcap.conf" <<EOF
ROOT_MODULES="virtio_pci virtio_blk crc32c_generic ext4"
LOAD_MODULES="$load"
TRY_MODULES="$try"
BIND_VFIO="$bind"
HUGETLBFS="$huge"
KVM_GID="$kvm_gid"
ROUTE_NIC=0000:01:00.0
USB_DEVICES="$usb"
EOF
  vmq_make_disk "$w/disk.img" "$w/stage" || return 1
  touch "$w/stage/etc/initramfs-stage"
  vmq_initramfs_pack "$w/stage" "$w/initrd.zst" || return 1
  rm -rf "$w/stage"

  set --
  case $iommu in
    intel) set -- -device intel-iommu,intremap=on,caching-mode=on ;;
    amd) set -- -device amd-iommu,intremap=on ;;
  esac
  # The vIOMMU must be created before the devices it translates.
  for a in $(topology "$w/disk.img"); do set -- "$@" "$a"; done
  if [ -n "$usb" ]; then
    set -- "$@" -device qemu-xhci,id=xhci,bus=pcie.0,addr=07.0 \
      -device usb-tablet,bus=xhci.0 -device usb-tablet,bus=xhci.0 \
      -device usb-wacom-tablet,bus=xhci.0
  fi
  append="console=ttyS0,115200 root=/dev/vda1 rw panic=-1${extra:+ $extra}"
  t0=$(date +%s)
  rc=0
  VMQ_MACHINE=$machine VMQ_CPU=$cpu VMQ_MEM=$mem \
    vmq_run "$w/run" 240 "$kdir/vmlinuz" "$w/initrd.zst" "$append" "$@" || rc=$?
  t1=$(date +%s)
  if [ "$rc" != 0 ] || ! vmq_serial_extract "$w/run/serial1.out" capture "$w/capture.tar.gz"; then
    echo "capture: $name failed (qemu status $rc); console log tail:" >&2
    tail -n 30 "$w/run/console.log" >&2
    cat "$w/run/qemu.log" >&2
    return 1
  fi

  tree=$w/tree
  mkdir -p "$tree"
  tar -xzf "$w/capture.tar.gz" -C "$tree" --numeric-owner --same-owner --same-permissions ||
    return 1
  # Config root: the module indexes of the same kernel (merged-/usr layout as on Debian 12)
  # and its config file. modules.symbols* are left out: only depmod/modprobe's symbol
  # lookups use them.
  m=$tree/config/usr/lib/modules/$kver
  mkdir -p "$m" "$tree/config/boot"
  for f in "$kdir/lib/modules/$kver"/modules.*; do
    case ${f##*/} in modules.symbols*) continue ;; esac
    cp "$f" "$m/"
  done
  ln -s usr/lib "$tree/config/lib"
  cp "$kdir/config" "$tree/config/boot/config-$kver"
  {
    echo "vmprep sysroot capture: $name"
    echo
    echo "$desc"
    echo
    echo "kernel release: $kver (Debian package linux-image-$kver)"
    echo "captured: $(date -u +%Y-%m-%dT%H:%M:%SZ) in $((t1 - t0)) s of TCG boot"
    echo "qemu: $(qemu-system-x86_64 --version | head -n 1)"
    echo "command line (paths are the capture script's temporary files):"
    sed "s|$work|WORK|g" "$w/run/qemu.cmd"
    echo
    echo "layout: runtime/ = runtime root (/proc, /sys, /dev as the guest showed them; device"
    echo "nodes are empty files, listed in runtime/dev.nodes as 'path type major:minor mode uid"
    echo "gid'; runtime/dev/kmsg is the kernel log in /dev/kmsg record format), config/ = config"
    echo "root (module indexes, boot/config-<release>), expected/ = values read in the guest"
    echo "(pci.txt: 'BDF vendor:device class'; iommu_groups.txt: 'group BDF')."
    echo "made by tests/sysroots/capture.sh"
  } >"$tree/README"
  epoch=$(date +%s)
  tar -C "$tree" --sort=name --numeric-owner --mtime="@$epoch" -cf - README runtime config expected |
    xz -9e -T1 >"$outdir/$name.tar.xz.tmp" || return 1
  mv "$outdir/$name.tar.xz.tmp" "$outdir/$name.tar.xz"
  [ -n "${VMCAP_KEEP:-}" ] || rm -rf "$w"
  echo "capture: $name.tar.xz $(wc -c <"$outdir/$name.tar.xz") bytes, boot $((t1 - t0)) s"
}

failed=""
for name in "$@"; do
  capture_one "$name" || failed="$failed $name"
done
echo "capture: done in $(($(date +%s) - started)) s"
sh "$here/check_captures.sh" -d "$outdir" "$@" || failed="$failed (check)"
if [ -n "$failed" ]; then
  echo "capture: FAILED:$failed" >&2
  exit 1
fi
