#!/bin/bash
# vmcheck benchmark: wall time (hyperfine) and peak RSS (GNU time) of vmcheck on this host
# beside `virt-host-validate qemu`, and on synthetic sysroots of growing size made by
# make-sysroot.py from the intel-iommu capture. Reports figures and a verdict per target; a
# missed target does not fail it. Exit status 1 only when something could not be measured.
#
# Usage: tests/bench/bench.sh [-r RUNS] [-n "256 1024 4096"] [-w WORKDIR] [-k] [VMCHECK]
#   VMCHECK   the binary to measure (default: build/vmcheck of this repo); nothing is built
#   -r RUNS   timed runs per case after 3 warm-up runs (default 15)
#   -n SIZES  endpoint counts for the synthetic sysroots (default "256 1024 4096"; the
#             unchanged capture is always measured too, as size 0)
#   -w DIR    where the sysroots go (default: a new directory under /dev/shm, since the real
#             /sys lives in memory; /tmp if /dev/shm is missing). Removed at the end unless -k.
# Needs: hyperfine, time (GNU /usr/bin/time), python3, lspci (pciutils), virt-host-validate
# (libvirt-clients): all Debian packages.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
runs=15
sizes="256 1024 4096"
work=""
keep=""
while getopts r:n:w:k opt; do
  case $opt in
    r) runs=$OPTARG ;;
    n) sizes=$OPTARG ;;
    w) work=$OPTARG ;;
    k) keep=1 ;;
    *) sed -n '6,14p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
vmcheck=${1:-$repo/build/vmcheck}

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$vmcheck" ] || die "no vmcheck binary at $vmcheck (build it first: ninja -C build)"
vmcheck=$(cd "$(dirname "$vmcheck")" && pwd)/$(basename "$vmcheck")
for tool in hyperfine python3 lspci; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install hyperfine python3 pciutils)"
done
[ -x /usr/bin/time ] || die "GNU time is missing (apt-get install time)"
vhv=$(command -v virt-host-validate) || die "virt-host-validate is missing (apt-get install libvirt-clients)"

if [ -z "$work" ]; then
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then base=/dev/shm; else base=/tmp; fi
  work=$(mktemp -d "$base/vmprep-bench.XXXXXX") || die "cannot create a work directory"
else
  mkdir -p "$work" || die "cannot create $work"
fi
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() { [ -n "$keep" ] || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
results=$work/results.tsv
: >"$results"
failed=0

# measure NAME DEVICES CMD...: hyperfine wall times (median, min) and GNU time's peak RSS
# (median of 3 runs) appended to results.tsv. Non-zero exits are expected (vmcheck reports
# failures through its status), so only a run that could not start counts as a failure.
measure() {
  local name=$1 devices=$2
  shift 2
  local words="" w
  for w in "$@"; do words+="'${w//\'/\'\\\'\'}' "; done
  echo "  $name" >&2
  if ! hyperfine -N -i --warmup 3 --runs "$runs" --style none \
      --export-json "$work/hf.json" "$words" >/dev/null 2>"$work/hf.err"; then
    echo "bench: hyperfine failed for $name:" >&2
    cat "$work/hf.err" >&2
    failed=1
    return
  fi
  local rss=() i out
  for i in 1 2 3; do
    /usr/bin/time -o "$work/rss" -f 'RSS %M' "$@" >/dev/null 2>&1
    out=$(tail -n 1 "$work/rss" 2>/dev/null)
    case $out in
      "RSS "*) rss+=("${out#RSS }") ;;
      *) echo "bench: GNU time gave no RSS for $name: $out" >&2; failed=1; return ;;
    esac
    : "$i"
  done
  python3 - "$work/hf.json" "$name" "$devices" "${rss[@]}" >>"$results" <<'EOF'
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"][0]
rss = sorted(int(x) for x in sys.argv[4:])
print(sys.argv[2], sys.argv[3], r["median"], r["min"], rss[len(rss) // 2], sep="\t")
EOF
}

echo "bench: vmcheck $vmcheck, $runs runs per case, sysroots in $work" >&2

# Synthetic sysroots, each checked before it is timed: lspci must see every function.
declare -A functions
for n in 0 $sizes; do
  dir=$work/sysroot-$n
  python3 "$here/make-sysroot.py" -n "$n" "$dir" >&2 || die "make-sysroot.py -n $n failed"
  want=$(wc -l <"$dir/expected/pci.txt")
  seen=$(lspci -nn -A linux-sysfs -O "sysfs.path=$dir/runtime/sys/bus/pci" | wc -l)
  [ "$seen" = "$want" ] || die "lspci sees $seen PCI functions in $dir, expected/pci.txt has $want"
  listed=$("$vmcheck" groups --root "$dir/runtime" | grep -c '^  ')
  if [ "$listed" != "$want" ]; then
    echo "bench: vmcheck groups lists $listed of $want functions at N=$n" >&2
    failed=1
  fi
  functions[$n]=$want
done

echo "bench: measuring" >&2
measure "host: vmcheck" "$(find /sys/bus/pci/devices/ -mindepth 1 -maxdepth 1 | wc -l)" "$vmcheck"
measure "host: vmcheck --json" - "$vmcheck" --json
measure "host: virt-host-validate qemu" - "$vhv" qemu
measure "host: vmcheck groups" - "$vmcheck" groups
for n in 0 $sizes; do
  dir=$work/sysroot-$n
  measure "sysroot N=$n: vmcheck" "${functions[$n]}" \
    "$vmcheck" --runtime-root "$dir/runtime" --config-root "$dir/config"
  measure "sysroot N=$n: vmcheck --json" "${functions[$n]}" \
    "$vmcheck" --json --runtime-root "$dir/runtime" --config-root "$dir/config"
  measure "sysroot N=$n: vmcheck groups" "${functions[$n]}" "$vmcheck" groups --root "$dir/runtime"
done

python3 - "$results" <<'EOF'
import sys

rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
by = {r[0]: r for r in rows}
print()
print(f"{'case':38} {'PCI fns':>7} {'median':>10} {'min':>10} {'peak RSS':>10} {'per fn':>9}")
for name, dev, med, mn, rss in rows:
    med, mn = float(med) * 1e3, float(mn) * 1e3
    per = f"{med * 1e3 / int(dev):7.1f}us" if dev != "-" and name.startswith("sysroot") else ""
    print(f"{name:38} {dev:>7} {med:8.2f}ms {mn:8.2f}ms {int(rss) / 1024:7.1f}MiB {per:>9}")
print()

verdicts = []
ok = lambda met: "met" if met else "MISSED"
vm, vh = by.get("host: vmcheck"), by.get("host: virt-host-validate qemu")
if vm and vh:
    a, b = float(vm[2]) * 1e3, float(vh[2]) * 1e3
    verdicts.append(f"host: vmcheck {a:.1f} ms vs virt-host-validate {b:.1f} ms = {a / b:.2f} "
                    f"(target <= 0.5): {ok(a / b <= 0.5)}")
    # Other work on a shared machine inflates medians; the fastest runs show the floor.
    am, bm = float(vm[3]) * 1e3, float(vh[3]) * 1e3
    print(f"host, fastest runs: vmcheck {am:.1f} ms vs virt-host-validate {bm:.1f} ms = "
          f"{am / bm:.2f}")
    j = float(by["host: vmcheck --json"][2]) * 1e3
    verdicts.append(f"host: vmcheck --json {j:.1f} ms vs virt-host-validate {b:.1f} ms = "
                    f"{j / b:.2f} (target <= 0.5): {ok(j / b <= 0.5)}")

for what in ("vmcheck", "vmcheck --json", "vmcheck groups"):
    pts = sorted((int(r[1]), float(r[2])) for n, r in by.items()
                 if n.startswith("sysroot") and n.split(": ", 1)[1] == what)
    if len(pts) < 3:
        continue
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x in xs)
    icpt = my - slope * mx
    worst = max(abs(y - (icpt + slope * x)) / y for x, y in pts)
    print(f"{what}: least-squares fit time = {icpt * 1e3:.2f} ms + {slope * 1e6:.1f} us x PCI "
          f"functions (largest deviation of a point from the line: {worst * 100:.0f}%)")
    (x1, y1), (x2, y2), (x0, y0) = pts[-2], pts[-1], pts[0]
    fr, tr = x2 / x1, y2 / y1
    mr = (y2 - y0) / (y1 - y0) if y1 > y0 else float("inf")
    mfr = (x2 - x0) / (x1 - x0)
    print(f"  time({x2})/time({x1}) = {tr:.2f} for {fr:.2f}x the functions; above the base "
          f"capture ({x0} fns, {y0 * 1e3:.1f} ms): {mr:.2f} for {mfr:.2f}x")
    # Linear: the added time grows no faster than the added devices, within 25%.
    verdicts.append(f"growth {what}: {y1 * 1e3:.0f} ms at {x1} fns, {y2 * 1e3:.0f} ms at {x2} "
                    f"fns, ratio over base {mr:.2f} vs {mfr:.2f} for linear (target within 25%): "
                    f"{ok(mr <= 1.25 * mfr)}")
print()
for v in verdicts:
    print(v)
EOF
[ -s "$results" ] || failed=1
if [ "$failed" != 0 ]; then
  echo "bench: some figures could not be measured or verified (see above)" >&2
  exit 1
fi
exit 0
