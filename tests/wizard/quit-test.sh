#!/bin/bash
# `vmsetup` without a command on a terminal opens the wizard; on a serial-console terminal
# (TERM=vt100) without colour (NO_COLOR), through a resize, up to the review of a real plan;
# q there quits, and not one file, directory or mode of the machine has changed. The machine
# holds an expected state (as an earlier transaction leaves it) that it no longer meets: the
# welcome screen says so first.
# Usage: quit-test.sh VMSETUP   (screens in $WIZARD_SCREENS/quit)
. "$(dirname "$0")/lib.sh"
wz_init quit "$1"
wz_machine intel-iommu
mkdir -p "$WZ/config/var/lib/vmprep"
printf '{"schema": "vmprep.expected/1", "transaction": null, "pass": ["iommu.kernel", "vhost_net.module"]}\n' \
  >"$WZ/config/var/lib/vmprep/expected.json"
before=$(wz_tree "$WZ/config"; wz_tree "$WZ/runtime")

wz_start TERM=vt100 NO_COLOR=1 --
wz_wait "Welcome (step 1 of 7)" "!! vmcheck finds this machine differs from what the last" \
  "vhost_net.module is warn, expected pass" "< Continue >" "< History >"
wz_absent "iommu.kernel is"
wz_save welcome-drift
wz_keys Enter
wz_wait "Scan (step 2 of 7)" "[FAIL] KVM" "[PASS] IOMMU"
wz_keys Enter
wz_wait "Devices (step 3 of 7)" "[ ] 02:00.0"
# Larger, then back to 80x24: the page is laid out again each time, key line at the bottom.
tmux -S "$WZ_SOCK" resize-window -x 100 -y 30
wz_wait "Devices (step 3 of 7)" "[ ] 02:00.0"
[ "$(wz_screen | sed -n 30p)" = " Space choose  Enter next  Esc back  Tab pane  F1/? help  q quit" ] ||
  wz_fail "after a resize to 100x30 the key line is not on line 30"
wz_save resized-100x30
tmux -S "$WZ_SOCK" resize-window -x 80 -y 24
wz_wait "Devices (step 3 of 7)" "[ ] 02:00.0"
[ "$(wz_screen | sed -n 24p)" = " Space choose  Enter next  Esc back  Tab pane  F1/? help  q quit" ] ||
  wz_fail "after a resize back to 80x24 the key line is not on line 24"
wz_save resized-80x24
wz_keys Down Down Down Down Space
wz_wait "[x] 02:00.0"
wz_keys Enter
wz_wait "Options (step 4 of 7)" "[x] vhost_net at boot"
wz_keys Enter
wz_wait "Review (step 5 of 7)" "File 1 of" "Nothing has been written yet"
wz_save review
wz_keys q
wz_wait "[exit 0]"
wz_save after-quit

after=$(wz_tree "$WZ/config"; wz_tree "$WZ/runtime")
[ "$before" = "$after" ] || wz_fail "the machine changed: $(diff <(echo "$before") <(echo "$after"))"
[ -e "$WZ/config/var/lib/vmprep/transactions" ] && wz_fail "a transaction was recorded"
echo "quit: nothing changed; screens in $WZ_SCREENS"
