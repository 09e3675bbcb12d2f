#!/bin/sh
# shellcheck shell=sh
# /init of the capture guests (busybox sh). Stage 1 runs from the initramfs and switches to
# the ext4 root on /dev/vda1; stage 2 (the same file on the disk) prepares the machine as
# /etc/vmcap.conf says, copies what vmcheck's probes read into a tmpfs staging tree and
# sends it as a gzip tarball over ttyS1. Written by tests/sysroots/capture.sh.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
umask 022
# shellcheck source=tests/qemu/guest.sh
. /lib/vmq-guest.sh
# Written per machine by capture.sh: ROOT_MODULES LOAD_MODULES TRY_MODULES BIND_VFIO
# HUGETLBFS KVM_GID ROUTE_NIC USB_DEVICES.
# shellcheck source=/dev/null
. /etc/vmcap.conf

log() { echo "vmcap: $*" >/dev/console; }

vmq_mount_basics

if [ -f /etc/initramfs-stage ]; then
  for m in $ROOT_MODULES; do modprobe "$m" || log "modprobe $m failed"; done
  i=0
  while [ ! -b /dev/vda1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  if mount -t ext4 -o rw,relatime /dev/vda1 /newroot; then
    umount /run
    mount --move /dev /newroot/dev
    umount /sys /proc
    exec switch_root /newroot /init
  fi
  log "cannot mount /dev/vda1: staying in the initramfs"
fi

for m in $LOAD_MODULES; do modprobe "$m" || log "modprobe $m failed"; done
# Expected to fail (kvm-nocpu): the kernel logs why.
for m in $TRY_MODULES; do modprobe "$m" && log "modprobe $m unexpectedly worked"; done
if [ -n "$HUGETLBFS" ]; then
  mkdir -p /dev/hugepages
  mount -t hugetlbfs -o rw,relatime,pagesize=2M hugetlbfs /dev/hugepages
fi
if [ -n "$BIND_VFIO" ]; then
  modprobe vfio-pci
  for bdf in $BIND_VFIO; do
    echo vfio-pci >"/sys/bus/pci/devices/$bdf/driver_override"
    [ -e "/sys/bus/pci/devices/$bdf/driver" ] && echo "$bdf" >"/sys/bus/pci/devices/$bdf/driver/unbind"
    echo "$bdf" >/sys/bus/pci/drivers_probe
  done
fi
# USB enumerates after the controller's driver loads: wait for the devices QEMU attached.
usb_count() { # devices (not root hubs "usbN", not interfaces "1-1:1.0")
  n=0
  for u in /sys/bus/usb/devices/*-*; do
    case ${u##*/} in *:*) ;; *) [ -e "$u" ] && n=$((n + 1)) ;; esac
  done
  echo "$n"
}
if [ -n "$USB_DEVICES" ]; then
  i=0
  while [ "$(usb_count)" -lt "$USB_DEVICES" ] && [ $i -lt 200 ]; do
    sleep 0.1
    i=$((i + 1))
  done
fi
# Debian 12's udev rule (50-udev-default.rules: KERNEL=="kvm", GROUP="kvm", MODE="0660");
# there is no udev here, so apply it as udev would, with the kvm group's id from the config.
if [ -c /dev/kvm ] && [ -n "$KVM_GID" ]; then
  chgrp "$KVM_GID" /dev/kvm
  chmod 0660 /dev/kvm
fi
# A routed NIC so /proc/net/route names one (documentation addresses, no peer: no traffic).
for n in /sys/class/net/*; do
  [ "$(basename "$(readlink "$n/device" 2>/dev/null)")" = "$ROUTE_NIC" ] || continue
  ifc=$(basename "$n")
  ip link set "$ifc" up
  ip addr add 192.0.2.10/24 dev "$ifc"
  ip route add default via 192.0.2.1 dev "$ifc"
done
ip link set lo up
sleep 1

C=/run/cap
S=$C/runtime
mkdir -p "$S" "$C/expected"

own() { # own SRC DST: mode, uid and gid of SRC onto DST
  # shellcheck disable=SC2046
  set -- "$2" $(stat -L -c '%a %u %g' "$1")
  # Forks are slow under TCG: new files are already 644 root:root (umask 022, uid 0).
  [ "$2" = 644 ] || chmod "$2" "$1"
  [ "$3:$4" = 0:0 ] || chown "$3:$4" "$1"
}
mkd() { [ -d "$1" ] || mkdir -p "$1"; }
cpf() { # cpf FILE...: regular files by content (cat), empty when unreadable
  for f in "$@"; do
    [ -f "$f" ] || continue
    mkd "$S${f%/*}"
    cat "$f" >"$S$f" 2>/dev/null || : >"$S$f"
    own "$f" "$S$f"
  done
}
cpe() { # cpe FILE...: write-only entries (bind, unbind, new_id) as empty files
  for f in "$@"; do
    [ -e "$f" ] || continue
    mkd "$S${f%/*}"
    : >"$S$f"
    own "$f" "$S$f"
  done
}
cpl() { # cpl LINK...: symlinks with their target text as the kernel shows it
  for l in "$@"; do
    [ -L "$l" ] || continue
    mkd "$S${l%/*}"
    ln -sfn "$(readlink "$l")" "$S$l"
  done
}
cpld() { # cpld LINK...: symlinks plus an (empty) directory where they lead
  for l in "$@"; do
    [ -L "$l" ] || continue
    cpl "$l"
    t=$(readlink -f "$l") && mkdir -p "$S$t"
  done
}
cpdev() { # cpdev LINK ATTRS: a bus's device link, its directory (left in $d), the attributes
  cpl "$1"
  d=$(readlink -f "$1")
  mkdir -p "$S$d"
  for a in $2; do cpf "$d/$a"; done
}
cpr() { # cpr DIR...: every regular file and symlink below DIR, links not followed
  for d in "$@"; do
    [ -d "$d" ] || continue
    mkdir -p "$S$d"
    find "$d" -type d | while read -r x; do mkdir -p "$S$x"; done
    find "$d" -type l | while read -r x; do cpl "$x"; done
    find "$d" -type f | while read -r x; do cpf "$x"; done
  done
}

# /proc
cpf /proc/cpuinfo /proc/cmdline /proc/modules /proc/meminfo /proc/version /proc/stat /proc/uptime \
  /proc/sys/kernel/osrelease /proc/sys/vm/nr_hugepages /proc/config.gz
mkdir -p "$S/proc/self/net"
cat /proc/self/mountinfo >"$S/proc/self/mountinfo"
own /proc/self/mountinfo "$S/proc/self/mountinfo"
cat /proc/net/route >"$S/proc/self/net/route"
own /proc/net/route "$S/proc/self/net/route"
if [ -f /proc/net/ipv6_route ]; then
  cat /proc/net/ipv6_route >"$S/proc/self/net/ipv6_route"
  own /proc/net/ipv6_route "$S/proc/self/net/ipv6_route"
fi
ln -s self/net "$S/proc/net"

# /sys/module
for m in /sys/module/*; do
  mkdir -p "$S$m"
  cpf "$m/initstate" "$m/refcnt"
  [ -d "$m/parameters" ] && mkdir -p "$S$m/parameters" && cpf "$m"/parameters/*
done

# PCI devices
pci_attrs="vendor device subsystem_vendor subsystem_device class revision boot_vga enable irq
  numa_node local_cpus driver_override modalias config resource"
for l in /sys/bus/pci/devices/*; do
  cpdev "$l" "$pci_attrs"
  cpl "$d/driver" "$d/iommu_group" "$d/iommu"
done
cpf /sys/bus/pci/drivers_autoprobe /sys/bus/pci/resource_alignment
cpe /sys/bus/pci/drivers_probe /sys/bus/pci/rescan
for drv in /sys/bus/pci/drivers/*; do
  mkdir -p "$S$drv"
  for e in "$drv"/*; do
    if [ -L "$e" ]; then cpl "$e"; else
      case ${e##*/} in bind | unbind | new_id | remove_id) cpe "$e" ;; esac
    fi
  done
done
cpr /sys/bus/pci/slots

# USB: every entry of /sys/bus/usb/devices (root hubs, devices, interfaces) and the
# attributes that identify a device, as libvirt matches a <hostdev type='usb'>.
usb_attrs="idVendor idProduct bcdDevice busnum devnum devpath speed product manufacturer serial
  bDeviceClass bNumInterfaces bInterfaceClass bInterfaceNumber modalias uevent"
for l in /sys/bus/usb/devices/*; do
  cpdev "$l" "$usb_attrs"
  cpld "$d/driver"
done

# IOMMU
cpr /sys/kernel/iommu_groups
for l in /sys/class/iommu/*; do
  [ -L "$l" ] || continue  # no IOMMU: the glob stays unexpanded
  cpl "$l"
  d=$(readlink -f "$l")
  mkdir -p "$S$d"
  cpr "$d/devices" "$d/intel-iommu" "$d/amd-iommu"
done
[ -d /sys/class/iommu ] && mkdir -p "$S/sys/class/iommu"
# Every top-level ACPI table, byte-exact: the list itself tells "no DMAR/IVRS" apart from
# "tables not readable".
[ -d /sys/firmware/acpi/tables ] && mkdir -p "$S/sys/firmware/acpi/tables"
for t in /sys/firmware/acpi/tables/*; do [ -f "$t" ] && cpf "$t"; done

# Memory and huge pages
cpr /sys/kernel/mm/hugepages
cpf /sys/devices/system/node/online /sys/devices/system/node/possible
for n in /sys/devices/system/node/node*; do
  cpr "$n/hugepages"
  cpf "$n/meminfo"
done

# Network, block, DRM
for l in /sys/class/net/*; do
  cpl "$l"
  d=$(readlink -f "$l")
  cpf "$d/address" "$d/type" "$d/ifindex" "$d/operstate"
  cpld "$d/device"
done
for l in /sys/block/* /sys/dev/block/*; do
  cpl "$l"
  d=$(readlink -f "$l")
  cpf "$d/dev" "$d/size" "$d/ro" "$d/removable" "$d/partition" "$d/start"
  cpld "$d/device"
done
[ -d /sys/class/drm ] && mkdir -p "$S/sys/class/drm" && cpf /sys/class/drm/version
for l in /sys/class/drm/*; do
  [ -L "$l" ] || continue
  cpl "$l"
  d=$(readlink -f "$l")
  cpf "$d/dev" "$d/status" "$d/enabled"
  cpld "$d/device"
done
[ -d /sys/firmware/efi ] && mkdir -p "$S/sys/firmware/efi"

# Device nodes: empty files with the node's mode and owner, listed in dev.nodes.
: >"$S/dev.nodes"
for n in /dev/kvm /dev/vfio/* /dev/vhost-net /dev/net/tun /dev/kmsg; do
  if [ -c "$n" ]; then t=c; elif [ -b "$n" ]; then t=b; else continue; fi
  # shellcheck disable=SC2046
  set -- $(stat -c '%t %T %a %u %g' "$n")
  printf '%s %s %d:%d %04d %s %s\n' "$n" "$t" "0x$1" "0x$2" "$3" "$4" "$5" >>"$S/dev.nodes"
  cpe "$n"
done
for n in /dev/hugepages /dev/vfio; do [ -d "$n" ] && mkdir -p "$S$n"; done

# Expected values for comparisons made outside the guest.
for l in /sys/bus/pci/devices/*; do
  v=$(cat "$l/vendor") d=$(cat "$l/device") c=$(cat "$l/class")
  echo "${l##*/} ${v#0x}:${d#0x} ${c#0x}"
done >"$C/expected/pci.txt"
for g in /sys/kernel/iommu_groups/*; do
  for l in "$g"/devices/*; do [ -e "$l" ] && echo "${g##*/} ${l##*/}"; done
done >"$C/expected/iommu_groups.txt"

# The kernel log last, in /dev/kmsg record format: every record up to now.
cat /dev/kmsg >"$S/dev/kmsg" &
kp=$!
sleep 1
kill "$kp"
wait "$kp" 2>/dev/null
own /dev/kmsg "$S/dev/kmsg"

tar -C "$C" -czf /run/capture.tar.gz runtime expected
vmq_send capture /run/capture.tar.gz
log "capture sent"
vmq_poweroff
