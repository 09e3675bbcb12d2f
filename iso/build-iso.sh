#!/bin/sh
# Builds the vmprep live ISO: a hybrid image that boots under BIOS and UEFI, from a CD or from
# a USB stick written with dd, made only from Debian packages and this build's
# `cmake --install` output (the same vmcheck and vmsetup the tests run).
#
# Usage: iso/build-iso.sh BUILD_DIR OUTPUT.iso
#
# Contents: Debian's current kernel (linux-image-amd64, fetched by tests/qemu/fetch-kernel.sh
# and cached in $VMPREP_CACHE, default /var/cache/vmprep-tests), one initramfs that is the
# whole live system (busybox-static, the installed vmprep files, the shared libraries they
# link, the kernel modules the probes and the disks need, pci.ids), and GRUB for BIOS and
# UEFI with only the modules its menu uses. When written to a stick, the image has a small
# FAT partition labelled VMPREP where the menu can save reports.
# Needs: grub-pc-bin grub-efi-amd64-bin xorriso mtools dosfstools busybox-static kmod cpio
# zstd pci.ids (./build.sh iso installs them).
set -eu
[ $# -eq 2 ] || { echo "usage: iso/build-iso.sh BUILD_DIR OUTPUT.iso" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$(cd "$1" && pwd)
out=$2
die() { echo "build-iso: $*" >&2; exit 1; }
for tool in grub-mkrescue xorriso mformat mkfs.fat cpio zstd depmod modprobe; do
  command -v "$tool" >/dev/null || die "$tool missing (apt-get install grub-common xorriso mtools dosfstools cpio zstd kmod)"
done
[ -d /usr/lib/grub/i386-pc ] || die "no /usr/lib/grub/i386-pc (apt-get install grub-pc-bin)"
[ -d /usr/lib/grub/x86_64-efi ] || die "no /usr/lib/grub/x86_64-efi (apt-get install grub-efi-amd64-bin)"
busybox=/bin/busybox
case $(file -b "$busybox" 2>/dev/null) in
  *statically*|*static-pie*) ;;
  *) die "$busybox is not the static busybox (apt-get install busybox-static)" ;;
esac
[ -f /usr/share/misc/pci.ids ] || die "no /usr/share/misc/pci.ids (apt-get install pci.ids)"

export VMQ_LIB_DIR="$src/tests/qemu"
# shellcheck source=../tests/qemu/lib.sh
. "$src/tests/qemu/lib.sh"
kdir=$(sh "$src/tests/qemu/fetch-kernel.sh")
kver=$(cat "$kdir/release")
version=$(sed -n 's/^project(vmprep VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")

work=$(mktemp -d "${TMPDIR:-/tmp}/vmprep-iso.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

# 1. A merged-/usr tree, as on Debian 12.
mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib/x86_64-linux-gnu" "$root/usr/lib64" \
  "$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/tmp" "$root/root" "$root/etc" \
  "$root/boot" "$root/var/lib" "$root/mnt"
for d in bin sbin lib lib64; do ln -s "usr/$d" "$root/$d"; done

# 2. vmprep as `cmake --install` puts it, stripped; the live helper is its own component.
DESTDIR=$root cmake --install "$build" --prefix /usr --strip >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; die "cmake --install failed"; }
DESTDIR=$root cmake --install "$build" --prefix /usr --strip --component live >>"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; die "cmake --install --component live failed"; }
for f in usr/bin/vmcheck usr/sbin/vmsetup usr/sbin/vmprep-live; do
  [ -x "$root/$f" ] || die "cmake --install did not install /$f"
done

# 3. busybox-static and its applets, where nothing installed above has the name.
cp "$busybox" "$root/usr/bin/busybox"
for applet in $("$busybox" --list-full); do
  name=${applet##*/}
  case $applet in
    sbin/* | usr/sbin/*) dir=usr/sbin ;;
    *) dir=usr/bin ;;
  esac
  [ "$name" = busybox ] && continue
  [ -e "$root/usr/bin/$name" ] || [ -e "$root/usr/sbin/$name" ] || ln -s /usr/bin/busybox "$root/$dir/$name"
done

# 4. The shared libraries the installed programs need (libkmod is opened with dlopen).
elfs=$(find "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib" -type f -perm -u+x | while read -r f; do
  case $(file -b "$f") in *ELF*dynamic*) echo "$f" ;; esac
done)
kmod=/usr/lib/x86_64-linux-gnu/libkmod.so.2
[ -f "$kmod" ] || die "no $kmod (apt-get install libkmod2)"
libs=$({ echo "$kmod"; for f in $elfs $kmod; do ldd "$f"; done; } |
  sed -n -e 's/.* => \(\/[^ ]*\) .*/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) .*/\1/p' \
    -e 's/^\(\/[^ ]*\)$/\1/p' | sort -u)
for lib in $libs; do
  case $lib in
    /lib64/*) dest=$root/usr/lib64/${lib##*/} ;;
    *) dest=$root/usr/lib/x86_64-linux-gnu/${lib##*/} ;;
  esac
  cp -L "$lib" "$dest"
done
# ncurses programs (the wizard) need terminal descriptions for the console and serial lines.
if echo "$libs" | grep -q 'libncurses\|libtinfo'; then
  for t in l/linux v/vt100 v/vt102 v/vt220 x/xterm x/xterm-256color d/dumb; do
    [ -f "/lib/terminfo/$t" ] || [ -f "/usr/share/terminfo/$t" ] || continue
    mkdir -p "$root/usr/share/terminfo/${t%%/*}"
    cp -L "/lib/terminfo/$t" "$root/usr/share/terminfo/$t" 2>/dev/null ||
      cp -L "/usr/share/terminfo/$t" "$root/usr/share/terminfo/$t"
  done
fi
# Every program must find every library: run each against the tree.
for f in $elfs; do
  rel=${f#"$root"}
  chroot "$root" /usr/lib64/ld-linux-x86-64.so.2 --list "$rel" >"$work/ldd.out" 2>&1 ||
    { cat "$work/ldd.out" >&2; die "$rel cannot be loaded in the live tree"; }
  if grep -q 'not found' "$work/ldd.out"; then cat "$work/ldd.out" >&2; die "$rel: a library is missing"; fi
done

# 5. Kernel modules: what the probes ask about (kvm, vfio, vhost_net), what finds and mounts
# disks (SATA, NVMe, virtio, SCSI, USB storage, SD cards; ext4, xfs, btrfs, FAT), USB
# keyboards, and QEMU's fw_cfg (options for virtual machines). Dependencies come along.
modules="kvm kvm_intel kvm_amd vfio vfio_pci vfio_iommu_type1 vhost_net tun
  ahci ata_piix nvme virtio_pci virtio_blk virtio_scsi sd_mod sr_mod mptsas megaraid_sas
  xhci_pci ehci_pci ohci_pci uhci_hcd usb_storage uas sdhci_pci mmc_block
  usbhid hid_generic ext4 crc32c_generic xfs btrfs vfat nls_cp437 nls_ascii nls_utf8 nls_iso8859_1
  qemu_fw_cfg"
if modprobe -d "$kdir" -S "$kver" --show-depends vfio_virqfd >/dev/null 2>&1; then
  modules="$modules vfio_virqfd"
fi
# shellcheck disable=SC2086 # word list
vmq_initramfs_add_modules "$root" "$kdir" "$kver" $modules >"$work/modules.log" 2>&1 ||
  { cat "$work/modules.log" >&2; die "copying kernel modules failed"; }
cp "$kdir/config" "$root/boot/config-$kver"

# 6. pci.ids for vmcheck groups, the live scripts, and who we are.
mkdir -p "$root/usr/share/misc"
cp /usr/share/misc/pci.ids "$root/usr/share/misc/pci.ids"
(cd "$here/rootfs" && find . -type f) | while read -r f; do
  mkdir -p "$(dirname "$root/$f")"
  cp "$here/rootfs/$f" "$root/$f"
done
echo "$version" >"$root/etc/vmprep-version"
cat >"$root/etc/os-release" <<OS
PRETTY_NAME="vmprep live $version"
NAME="vmprep live"
ID=vmprep-live
VERSION_ID=$version
OS
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nkvm:x:104:\n' >"$root/etc/group"
echo vmprep-live >"$root/etc/hostname"

# 7. The initramfs. zstd at its highest level: 10% larger than xz -9, but the kernel unpacks
# it several times faster, which under emulation saves seconds (iso/README.md).
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
  zstd -q --ultra -22 -T0 >"$work/initrd.img"

# 8. The ISO: GRUB for BIOS and UEFI with the modules grub.cfg uses, and a FAT partition for
# reports appended after the ISO 9660 image (partition 4 of the GPT when written to a stick).
mkdir -p "$work/iso/boot/grub"
cp "$kdir/vmlinuz" "$work/iso/boot/vmlinuz"
cp "$work/initrd.img" "$work/iso/boot/initrd.img"
sed -e "s/@VERSION@/$version/g" -e "s/@TIMEOUT@/${VMPREP_ISO_TIMEOUT:-2}/" "$here/grub.cfg" \
  >"$work/iso/boot/grub/grub.cfg"
mkfs.fat -C -n VMPREP "$work/data.img" 4096 >/dev/null
printf 'vmprep live: reports saved from the menu go to vmprep/<date>-<time>/ here.\r\n' \
  >"$work/README.TXT"
mcopy -i "$work/data.img" "$work/README.TXT" ::README.TXT
rm -f "$out"
grub-mkrescue -o "$out" --compress=xz --fonts= --locales= --themes= \
  --product-name=vmprep --product-version="$version" \
  --install-modules="linux normal iso9660 part_msdos part_gpt fat search search_fs_file
    search_label configfile echo test regexp smbios setpci serial terminal terminfo sleep
    reboot halt gzio xzio all_video" \
  "$work/iso" -- -volid VMPREP_LIVE -append_partition 3 0x0c "$work/data.img" \
  >"$work/grub-mkrescue.log" 2>&1 || { cat "$work/grub-mkrescue.log" >&2; die "grub-mkrescue failed"; }
echo "build-iso: $out ($(wc -c <"$out") bytes; kernel $kver; initramfs $(wc -c <"$work/initrd.img") bytes)"
