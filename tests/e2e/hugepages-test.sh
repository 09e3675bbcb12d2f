#!/bin/sh
# vmprep-hugepages against a tree shaped like /sys/kernel/mm/hugepages: reads the count from
# the config, writes it, refuses bad configs and unknown sizes, releases on stop.
# Usage: tests/e2e/hugepages-test.sh SCRIPT
set -eu
script=$1
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
for s in 2048kB 1048576kB; do
  mkdir -p "$t/sys/kernel/mm/hugepages/hugepages-$s"
  echo 0 >"$t/sys/kernel/mm/hugepages/hugepages-$s/nr_hugepages"
done
mkdir -p "$t/conf"
printf '# 8 GiB for the Windows VM\n4096\n' >"$t/conf/2048kB"
printf 'lots\n' >"$t/conf/1048576kB"
export VMPREP_SYSFS="$t/sys" VMPREP_HUGEPAGES_DIR="$t/conf"
nr=$t/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
sh "$script" 2048kB start | grep -q 'reserved 4096 2048kB pages' || fail "start"
[ "$(cat "$nr")" = 4096 ] || fail "nr_hugepages not written"
sh "$script" 2048kB stop >/dev/null || fail "stop"
[ "$(cat "$nr")" = 0 ] || fail "stop did not release"
if sh "$script" 1048576kB start >"$t/out"; then fail "bad count accepted"; fi
grep -q "must hold a page count, has 'lots'" "$t/out" || fail "bad count message"
[ "$(cat "$t/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages")" = 0 ] || fail "bad count written"
if sh "$script" 16384kB start >"$t/out"; then fail "unknown size accepted"; fi
grep -q 'this kernel has no 16384kB hugepages' "$t/out" || fail "unknown size message"
echo "PASS: vmprep-hugepages"
