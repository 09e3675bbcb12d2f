#!/bin/sh
# iso.build: builds the ISO from this build tree (the fixture the boot tests use) and checks
# its layout: El Torito boot images for BIOS and UEFI, a hybrid MBR/GPT that firmware boots
# from a stick, the FAT partition for reports, GRUB's menu with the three entries. Booting it
# (iso.boot.*, iso.fix-installed, iso.save-report) proves the contents.
# Usage: iso/tests/build-test.sh BUILD_DIR OUTPUT.iso
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$1 iso=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir -p "$(dirname "$iso")"
sh "$here/../build-iso.sh" "$build" "$iso"
report=$(xorriso -indev "$iso" -report_el_torito plain -report_system_area plain 2>&1)
echo "$report" | grep -q 'El Torito boot img :   1  BIOS' || fail "no BIOS El Torito image:
$report"
echo "$report" | grep -q 'El Torito boot img :   2  UEFI' || fail "no UEFI El Torito image:
$report"
echo "$report" | grep -q 'System area summary: MBR protective-msdos-label grub2-mbr' ||
  fail "no hybrid MBR for booting from a stick"
echo "$report" | grep -Eq 'MBR partition *: *3 *0x[0-9a-f]+ *0x0c ' || fail "no FAT partition for reports:
$report"
cfg_file=$(mktemp)
trap 'rm -f "$cfg_file"' EXIT
rm -f "$cfg_file"
xorriso -osirrox on -indev "$iso" -extract /boot/grub/grub.cfg "$cfg_file" >/dev/null 2>&1 ||
  fail "no /boot/grub/grub.cfg in the ISO"
cfg=$(cat "$cfg_file")
for entry in 'check this machine' 'IOMMU off, to compare' 'serial console only'; do
  echo "$cfg" | grep -q "menuentry \"vmprep [0-9.]*: $entry" || fail "grub.cfg has no '$entry' entry"
done
echo "PASS: $(wc -c <"$iso") bytes, BIOS and UEFI boot images, hybrid MBR, FAT partition, three menu entries"
