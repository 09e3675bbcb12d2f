#!/bin/bash
# The whole wizard on the intel-iommu capture with a Debian config tree: every screen, what
# each shows, help on an item, one step back, the apply with its post-actions; then the files
# on disk must equal what `vmsetup plan` gives for the same choices (its diffs applied with
# patch to an untouched copy of the tree).
# Usage: walk-test.sh VMSETUP   (screens in $WIZARD_SCREENS/walk)
. "$(dirname "$0")/lib.sh"
wz_init walk "$1"
wz_machine intel-iommu

# What vmsetup plan says for the choices made below, on a copy nobody else touches.
device=0000:02:00.0
enable=iommu-pt,vhost_net
cp -a "$WZ/config" "$WZ/planned"
"$VMSETUP" plan --json --device "$device" --enable "$enable" --runtime-root "$WZ/runtime" \
  --config-root "$WZ/planned" >"$WZ/plan.json" || wz_fail "vmsetup plan failed"
mapfile -t paths < <(python3 -c 'import json,sys; [print(e["path"]) for e in json.load(open(sys.argv[1]))["edits"]]' "$WZ/plan.json")
mapfile -t actions < <(python3 -c 'import json,sys; [print(" ".join(a["argv"])) for a in json.load(open(sys.argv[1]))["actions"]]' "$WZ/plan.json")
[ ${#paths[@]} -ge 3 ] || wz_fail "the plan has only ${#paths[@]} edits: $(cat "$WZ/plan.json")"
python3 -c 'import json,sys; [print(e["diff"], end="") for e in json.load(open(sys.argv[1]))["edits"]]' \
  "$WZ/plan.json" | patch -s -d "$WZ/planned" -p1 --no-backup-if-mismatch || wz_fail "patch failed"

wz_start -- wizard
wz_wait "Welcome (step 1 of 7)" "Nothing is written before you choose Apply" "< Start >"
wz_save welcome
wz_keys Enter
wz_wait "Scan (step 2 of 7)" "[FAIL] KVM" "[PASS] IOMMU" "[PASS] Interrupt remapping" \
  "IOMMU groups" "Pending changes      none" "KVM cannot be used" "kvm.cpu"
wz_save scan
wz_keys Enter
wz_wait "Devices (step 3 of 7)" "[ ] 00:02.0" "console" "[-] 01:00.0" "[ ] 02:00.0" "[-] 03:00.0" \
  "0 chosen: none"
wz_save devices
# The default-route NIC and its identical twin, told apart by address.
wz_keys Down Down Down
wz_wait "Cannot be chosen: 0000:01:00.0 is network controller of the default route"
wz_keys Down
wz_wait "0000:02:00.0 Ethernet controller" "Identical card(s) at 0000:01:00.0"
wz_keys '?'
wz_wait "Help: " "[x] chosen, [ ] can be chosen, [-] cannot"
wz_save help
wz_keys Escape
wz_wait "0 chosen: none" "Space choose"
wz_keys Space
wz_wait "[x] 02:00.0" "1 chosen: 02:00.0"
wz_save device-chosen
wz_keys Enter
wz_wait "Options (step 4 of 7)" "[ ] IOMMU on at boot" "[x] vhost_net at boot" "Touches: /etc/default/grub"
wz_save options
# One step back: the choice is still there; then forward again.
wz_keys Escape
wz_wait "Devices (step 3 of 7)" "[x] 02:00.0" "1 chosen: 02:00.0"
wz_save back-to-devices
wz_keys Enter
wz_wait "Options (step 4 of 7)"
wz_keys Down Space
wz_wait "[x] IOMMU on at boot" "[x] iommu=pt" "Trade-off" "as \`vmsetup plan --enable iommu-pt\`"
wz_save options-chosen
wz_keys Enter
n=${#paths[@]}
for ((i = 0; i < n; i++)); do
  wz_wait "Review (step 5 of 7)" "File $((i + 1)) of $n: ${paths[i]}." "Nothing has been written yet"
  [ $i -eq 0 ] && wz_wait '+GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"'
  wz_save "review-$((i + 1))"
  [ -e "$WZ/config/var/lib/vmprep/transactions" ] && wz_fail "something was written before Apply"
  wz_keys Enter
done
wz_wait "Summary: $n file(s), ${#actions[@]} command(s)" "< Apply >"

wz_wait "The same as: vmsetup apply --device $device --enable $enable"
wz_save review-summary
wz_keys Enter
wz_wait "Apply (step 6 of 7)" "Recorded transaction" "< Next >"
for a in "${actions[@]}"; do wz_wait "done: ${a%% *}"; done
wz_wait "stand-in update-grub ran"
wz_save apply
wz_keys Enter
wz_wait "Done (step 7 of 7)" "Applied transaction" "vmsetup undo" "Reboot now" "vmcheck-boot.service"
wz_save finished
wz_keys Enter
wz_wait "[exit 0]"

# The files: the wizard's tree equals the planned one; one transaction, applied.
diff <(wz_tree "$WZ/planned") <(wz_tree "$WZ/config") >"$WZ/tree.diff" ||
  wz_fail "the files differ from what vmsetup plan gives: $(cat "$WZ/tree.diff")"
states=$("$VMSETUP" history --json --runtime-root "$WZ/runtime" --config-root "$WZ/config" |
  python3 -c 'import json,sys; print(" ".join(t["state"] for t in json.load(sys.stdin)))')
[ "$states" = applied ] || wz_fail "expected one applied transaction, history says: $states"
echo "walk: $n files and ${#actions[@]} post-actions as vmsetup plan gives; screens in $WZ_SCREENS"
