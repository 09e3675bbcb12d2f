#!/bin/sh
# Makes a disk image holding a small installed Debian 12 system, for the live ISO's "fix an
# installed system" test: GPT with an ESP (FAT, mounted on /boot/efi), /boot (ext4) and /
# (ext4), all by UUID in its /etc/fstab; initramfs-tools and GRUB's update-grub (no boot
# loader is written: the test boots its kernel directly); its own kernel, a release other
# than the ISO's (linux-image-6.12-amd64 unless VMPREP_INSTALLED_KERNEL names another
# metapackage), with an initramfs its own update-initramfs made.
#
# Usage: iso/tests/make-installed.sh OUT_DIR
# Writes OUT_DIR/disk.img, OUT_DIR/tree/{root,boot,esp} (the pristine file systems, to compare
# with after the fix) and OUT_DIR/installed.env (UUIDs, kernel release, partition offsets).
# The system is the cached debootstrap chroot (tests/e2e/make-chroot.sh installed), copied
# with hard links: every file this script writes is removed first, never written in place.
set -eu
[ $# -eq 1 ] || { echo "usage: make-installed.sh OUT_DIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=$1
die() { echo "make-installed: $*" >&2; exit 1; }
for tool in sfdisk mke2fs mkfs.fat mmd; do
  command -v "$tool" >/dev/null || die "$tool missing (apt-get install fdisk e2fsprogs dosfstools mtools)"
done

base=$(sh "$src/tests/e2e/make-chroot.sh" installed)
kdir=$(sh "$src/tests/qemu/fetch-kernel.sh" "${VMPREP_INSTALLED_KERNEL:-linux-image-6.12-amd64}")
kver=$(cat "$kdir/release")

rm -rf "$out"
mkdir -p "$out/tree"
root=$out/tree/root
cp -al "$base" "$root"
put() { # put SRC DST MODE: a fresh file in the system (never writes through a hard link)
  rm -f "$root$2"
  mkdir -p "$(dirname "$root$2")"
  cp "$1" "$root$2"
  chmod "$3" "$root$2"
}
text() { # text DST MODE: stdin as a fresh file
  cat >"$out/put.tmp"
  put "$out/put.tmp" "$1" "$2"
  rm -f "$out/put.tmp"
}

# Its kernel, as the linux-image package installs it.
mkdir -p "$root/usr/lib/modules"
cp -al "$kdir/lib/modules/$kver" "$root/usr/lib/modules/$kver"
put "$kdir/vmlinuz" "/boot/vmlinuz-$kver" 644
put "$kdir/config" "/boot/config-$kver" 644

root_uuid=$(cat /proc/sys/kernel/random/uuid)
boot_uuid=$(cat /proc/sys/kernel/random/uuid)
esp_serial=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n' | tr a-f A-F)
esp_uuid=$(echo "$esp_serial" | sed 's/^\(....\)\(....\)$/\1-\2/')
text /etc/fstab 644 <<FSTAB
# /etc/fstab: static file system information (written by make-installed.sh).
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
UUID=$root_uuid /               ext4    errors=remount-ro 0       1
# /boot was on /dev/vda2 during installation
UUID=$boot_uuid /boot           ext4    defaults        0       2
# /boot/efi was on /dev/vda1 during installation
UUID=$esp_uuid  /boot/efi       vfat    umask=0077      0       1
FSTAB
echo installed | text /etc/hostname 644
# grub-pc's postinst installs Debian's default /etc/default/grub; grub-install makes
# /boot/grub. Neither runs here: no boot loader is written to the image.
[ -f "$root/usr/share/grub/default/grub" ] || die "no /usr/share/grub/default/grub in the chroot"
put "$root/usr/share/grub/default/grub" /etc/default/grub 644
mkdir -p "$root/boot/grub" "$root/boot/efi"
# A small initramfs: the modules to reach / on virtio (MODULES=most would copy hundreds and
# take minutes to regenerate under emulation).
echo MODULES=list | text /etc/initramfs-tools/conf.d/vmprep-test.conf 644
printf 'virtio_pci\nvirtio_blk\ncrc32c_generic\next4\n' | text /etc/initramfs-tools/modules 644
# The test boots the system with init= this script: it says on ttyS1 which driver holds each
# e1000e (guest-verdict.sh, as the hook boot tests use it) and powers off.
{
  echo '#!/bin/sh'
  echo '# Test-only init (make-installed.sh): the verdict of guest-verdict.sh, then power off.'
  echo 'mount -t proc proc /proc 2>/dev/null'
  echo 'mount -t sysfs sysfs /sys 2>/dev/null'
  echo 'mount -t devtmpfs devtmpfs /dev 2>/dev/null'
  echo '# The verdict ends with sleep while the power-off it asked for stops the disk: read'
  echo '# it into the page cache now, so that it starts without the disk.'
  echo 'cat /usr/bin/sleep >/dev/null'
  sed 1d "$src/tests/e2e/guest-verdict.sh"
} | text /usr/local/sbin/vmprep-e2e-init 755

# Its first initramfs, made by its own update-initramfs (as the kernel package would).
rm -rf "$root/var/lib/initramfs-tools/$kver"
chroot "$root" update-initramfs -c -k "$kver" >"$out/update-initramfs.log" 2>&1 ||
  { cat "$out/update-initramfs.log" >&2; die "update-initramfs failed"; }
[ -f "$root/boot/initrd.img-$kver" ] || die "update-initramfs made no /boot/initrd.img-$kver"

# Three file systems: /boot and the ESP leave the root tree (their mount points stay).
mv "$root/boot" "$out/tree/boot"
mkdir -m 755 "$root/boot"
mkdir -p "$out/tree/esp/EFI/debian"
printf 'The installed system keeps its EFI boot loader here.\r\n' >"$out/tree/esp/EFI/debian/README.TXT"

esp_mib=64 boot_mib=192
root_mib=$(( $(du -sm "$root" | cut -f1) * 13 / 10 + 256 ))
esp_start=2048
boot_start=$((esp_start + esp_mib * 2048))
root_start=$((boot_start + boot_mib * 2048))
end=$((root_start + root_mib * 2048))
img=$out/disk.img
truncate -s $(( (end + 2048) * 512 )) "$img"
sfdisk -q "$img" >"$out/sfdisk.log" 2>&1 <<TABLE || { cat "$out/sfdisk.log" >&2; die "sfdisk failed"; }
label: gpt
start=$esp_start, size=$((esp_mib * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system partition"
start=$boot_start, size=$((boot_mib * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="boot"
start=$root_start, size=$((root_mib * 2048)), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="root"
TABLE
mkfs.fat -F 32 -s 1 -n EFI -i "$esp_serial" --offset "$esp_start" "$img" $((esp_mib * 1024)) >/dev/null ||
  die "mkfs.fat failed"
MTOOLS_SKIP_CHECK=1 mcopy -s -i "$img@@$((esp_start * 512))" "$out/tree/esp/EFI" ::/ || die "mcopy failed"
mke2fs -q -F -t ext4 -L boot -U "$boot_uuid" -d "$out/tree/boot" -E offset=$((boot_start * 512)) \
  "$img" $((boot_mib * 1024))k || die "mke2fs /boot failed"
mke2fs -q -F -t ext4 -L root -U "$root_uuid" -d "$root" -E offset=$((root_start * 512)) \
  "$img" $((root_mib * 1024))k || die "mke2fs / failed"

cat >"$out/installed.env" <<ENV
KVER=$kver
ROOT_UUID=$root_uuid
BOOT_UUID=$boot_uuid
ESP_UUID=$esp_uuid
ESP_OFFSET=$((esp_start * 512))
BOOT_OFFSET=$((boot_start * 512))
ROOT_OFFSET=$((root_start * 512))
ENV
echo "make-installed: $img ($((end * 512 / 1048576)) MiB; kernel $kver; / $root_uuid)"
