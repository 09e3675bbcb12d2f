#!/bin/bash
# The boot-shared capture: the root disk's controller (05:03.0) shares IOMMU group 9 with a
# serial card and an audio device. All three are shown but cannot be chosen; choosing the
# serial card is refused with the selection rule's reason, and nothing is chosen or written.
# Usage: refuse-test.sh VMSETUP   (screens in $WIZARD_SCREENS/refuse)
. "$(dirname "$0")/lib.sh"
wz_init refuse "$1"
wz_machine boot-shared
before=$(wz_tree "$WZ/config")

wz_start -- wizard
wz_wait "Welcome (step 1 of 7)"
wz_keys Enter
wz_wait "Scan (step 2 of 7)" "[PASS] IOMMU"
wz_keys Enter
wz_wait "Devices (step 3 of 7)" "[-] 01:00.0" "[ ] 02:00.0" "[-] 05:01.0"
wz_save devices
# 00:02.0, 00:1f.2, 00:1f.3, 01:00.0, 02:00.0, then 05:01.0.
wz_keys Down Down Down Down Down
wz_wait "0000:05:01.0 Serial controller" \
  "Cannot be chosen: 0000:05:01.0 shares IOMMU group 9 with 0000:05:03.0" \
  "controller of the root file system"
wz_save serial-card
# Tab to the pane below, its end: the other members of the group. Tab Tab: back to the list.
wz_keys Tab End
wz_wait "IOMMU group 9 also holds: 04:00.0 PCI bridge, 05:02.0 Audio device"
wz_save serial-card-group
wz_keys Tab Tab
wz_keys Space
wz_wait "Refused: 05:01.0 cannot be chosen" "0000:05:01.0 shares IOMMU group 9 with 0000:05:03.0" \
  "< OK >"
wz_save refused
wz_keys Enter
wz_wait "0 chosen: none" "[-] 05:01.0"
wz_absent "[x]"
wz_save after-refusal
# The rest of the group, further down the list: shown, not selectable, with the reason.
wz_keys Down
wz_wait "[-] 05:02.0" "Cannot be chosen: 0000:05:02.0 shares IOMMU group 9 with 0000:05:03.0"
wz_keys Down
wz_wait "[-] 05:03.0" "Cannot be chosen: 0000:05:03.0 is controller of the root file system"
wz_save boot-disk
wz_keys q
wz_wait "[exit 0]"
[ "$before" = "$(wz_tree "$WZ/config")" ] || wz_fail "the config tree changed"
echo "refuse: the boot disk's group is refused; screens in $WZ_SCREENS"
