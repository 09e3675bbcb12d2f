#!/bin/bash
# A transaction applied with `vmsetup apply` waits for its reboot: the wizard says so on its
# welcome screen; its history screen lists it and undoes it after the same review as an
# apply (every file's diff, then the commands); afterwards the files are byte for byte as
# before and the history says "undone".
# Usage: undo-test.sh VMSETUP   (screens in $WIZARD_SCREENS/undo)
. "$(dirname "$0")/lib.sh"
wz_init undo "$1"
wz_machine intel-iommu
before=$(wz_tree "$WZ/config")
roots=(--runtime-root "$WZ/runtime" --config-root "$WZ/config")
"$VMSETUP" apply --yes --json --no-regenerate --enable iommu,vhost_net "${roots[@]}" \
  >"$WZ/apply.json" 2>"$WZ/apply.err" || wz_fail "vmsetup apply failed: $(cat "$WZ/apply.err")"
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["transaction"])' "$WZ/apply.json")
mapfile -t files < <(python3 -c 'import json,sys; [print(f) for f in json.load(open(sys.argv[1]))["files"]]' "$WZ/apply.json")
[ ${#files[@]} -ge 2 ] || wz_fail "the apply wrote ${#files[@]} files"
[ "$before" != "$(wz_tree "$WZ/config")" ] || wz_fail "the apply changed nothing"

wz_start -- wizard
wz_wait "Welcome (step 1 of 7)" "!! Transaction $id" "waits for a reboot" "< Undo it >" "< History >"
wz_save welcome-pending
# Tab to the buttons: Continue, Undo it, History.
wz_keys Tab Right Right Enter
wz_wait "History" "$id" "applied" "< Undo >" "Commands (run again by an undo):"
wz_save history
wz_keys Enter
n=${#files[@]}
for ((i = 0; i < n; i++)); do
  wz_wait "Review undo of $id" "File $((i + 1)) of $n: " "Nothing has been written yet"
  wz_save "review-$((i + 1))"
  wz_keys Enter
done
wz_wait "Summary: $n file(s)" "The same as: vmsetup undo $id" "< Undo >"
wz_save review-summary
[ "$before" != "$(wz_tree "$WZ/config")" ] || wz_fail "the review undid something"
wz_keys Enter
wz_wait "Undo $id" "restored ${files[0]}" "done: /usr/sbin/update-grub" "< Next >"
wz_save undo
wz_keys Enter
wz_wait "Undone" "Undid transaction $id." "Restored: "
wz_save finished
wz_keys Enter
wz_wait "[exit 0]"

diff <(echo "$before") <(wz_tree "$WZ/config") >"$WZ/tree.diff" ||
  wz_fail "the files are not as before the transaction: $(cat "$WZ/tree.diff")"
state=$("$VMSETUP" history --json "${roots[@]}" | python3 -c 'import json,sys; print(" ".join(t["state"] for t in json.load(sys.stdin)))')
[ "$state" = undone ] || wz_fail "history says: $state"
echo "undo: transaction $id undone from the history screen; screens in $WZ_SCREENS"
