#!/bin/sh
# Runs the configured vmcheck-boot wrapper with the real vmcheck binary on this machine into
# a scratch state directory: reports are stored and rotated, the summary line is printed,
# expected.json mismatches are flagged (and matches are not), a vmcheck that cannot run fails.
# Usage: tests/e2e/vmcheck-boot-test.sh WRAPPER VMCHECK
set -eu
wrapper=$1
vmcheck=$2
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export VMCHECK="$vmcheck" VMPREP_STATE_DIR="$state" VMPREP_KEEP_REPORTS=3

i=0
while [ $i -lt 5 ]; do
  VMPREP_KEEP_REPORTS=3 sh "$wrapper" >"$state/out.$i" || { cat "$state/out.$i" >&2; fail "run $i failed"; }
  i=$((i + 1))
done
cat "$state/out.4"
grep -Eq '^vmcheck: (ok|warn|fail) \([0-9]+ pass, [0-9]+ note, [0-9]+ warn, [0-9]+ fail, [0-9]+ skip\); report ' \
  "$state/out.4" || fail "no summary line"
set -- "$state"/reports/vmcheck-*.json
[ $# = 3 ] || fail "want the newest 3 reports kept, found $#"
last=$(sed -n 's/.*; report \(.*\)$/\1/p' "$state/out.4")
[ "$last" = "$3" ] || fail "the newest report ($last) was not kept as the last one ($3)"
for r in "$@"; do jq -e '.schema == "vmprep.report/1"' "$r" >/dev/null || fail "$r is not a report"; done

passid=$(jq -r '[.findings[] | select(.severity == "pass") | .id][0] // empty' "$last")
badid=$(jq -r '[.findings[] | select(.severity != "pass") | .id][0] // empty' "$last")
jq -n --arg p "$passid" --arg b "$badid" \
  '{schema: "vmprep.expected/1", transaction: "t-test", pass: ([$p, $b, "no.such-finding"] | map(select(. != "")))}' \
  >"$state/expected.json"
sh "$wrapper" >"$state/out.cmp" || fail "compare run failed"
cat "$state/out.cmp"
grep -q '^vmcheck: state differs from transaction t-test: no.such-finding is missing, expected pass$' \
  "$state/out.cmp" || fail "missing finding not flagged"
if [ -n "$badid" ]; then
  grep -q "^vmcheck: state differs from transaction t-test: $badid is [a-z]*, expected pass\$" \
    "$state/out.cmp" || fail "$badid not flagged"
fi
if [ -n "$passid" ] && grep -q "differs .*: $passid is" "$state/out.cmp"; then
  fail "$passid passes but was flagged"
fi
if [ -n "$passid" ]; then
  jq -n --arg p "$passid" '{schema: "vmprep.expected/1", transaction: "t-ok", pass: [$p]}' >"$state/expected.json"
  sh "$wrapper" >"$state/out.ok" || fail "matching run failed"
  grep -q '^vmcheck: state matches transaction t-ok$' "$state/out.ok" || fail "no match line"
  # What vmsetup writes: no single transaction (expectations accumulate across them).
  jq -n --arg p "$passid" '{schema: "vmprep.expected/1", transaction: null, pass: [$p]}' >"$state/expected.json"
  sh "$wrapper" >"$state/out.null" || fail "matching run (transaction null) failed"
  grep -q '^vmcheck: state matches the applied vmsetup transactions$' "$state/out.null" ||
    fail "no match line for the accumulated expectations"
fi

if VMCHECK=/bin/false sh "$wrapper" >"$state/out.false"; then fail "a vmcheck that cannot run must fail the unit"; fi
grep -q 'could not run' "$state/out.false" || fail "no could-not-run line"
echo "PASS: vmcheck-boot"
