#!/bin/sh
# "A && B || bad" is meant throughout: bad runs when either test fails.
# shellcheck disable=SC2015
# Checks captured sysroot tarballs (no QEMU): layout, symlinks that resolve inside the tree,
# the dev.nodes manifest, the kmsg record format, expected/pci.txt against the tree, the
# config root's module indexes, and per machine the facts the capture is for.
# Usage: tests/sysroots/check_captures.sh [-d DIR] [NAME...]   (default: capture.sh's machines)
#        tests/sysroots/check_captures.sh --self-test [-d DIR]  (broken copies must fail)
# Exit status 0 only when every tarball passes. Needs GNU tar, xz, coreutils.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=$here
self_test=""
while [ $# -gt 0 ]; do
  case $1 in
    -d) dir=$2; shift 2 ;;
    --self-test) self_test=1; shift ;;
    *) break ;;
  esac
done
max_bytes=1048576
tmp=$(mktemp -d /tmp/check_captures.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

errors=0
bad() {
  echo "  FAIL $cur: $*"
  errors=$((errors + 1))
}
need_file() { [ -f "$R/$1" ] && [ -s "$R/$1" ] || bad "missing or empty $1"; }
need_dir() { [ -d "$R/$1" ] && [ ! -L "$R/$1" ] || bad "missing directory $1"; }
need_grep() { grep -Eq -- "$2" "$R/$1" 2>/dev/null || bad "$1 lacks /$2/"; }
need_nogrep() { ! grep -Eq -- "$2" "$R/$1" 2>/dev/null || bad "$1 has /$2/"; }
count() { find "$R/$1" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
group_of() { basename "$(readlink "$R/runtime/sys/bus/pci/devices/$1/iommu_group" 2>/dev/null)"; }
driver_of() { basename "$(readlink "$R/runtime/sys/bus/pci/devices/$1/driver" 2>/dev/null)"; }
has_node() { grep -Eq "^$1( |$)" "$R/runtime/dev.nodes"; }

# check_tree ROOT NAME: all checks on an extracted capture; returns the number of failures.
check_tree() {
  R=$1 cur=$2
  errors=0
  for f in README expected/pci.txt runtime/dev/kmsg; do need_file "$f"; done
  [ -f "$R/runtime/dev.nodes" ] || bad "missing runtime/dev.nodes"
  for d in runtime/proc runtime/sys runtime/dev runtime/proc/self config/usr/lib/modules; do
    need_dir "$d"
  done
  for f in cpuinfo cmdline modules meminfo version sys/kernel/osrelease self/mountinfo; do
    need_file "runtime/proc/$f"
  done
  rel=$(cat "$R/runtime/proc/sys/kernel/osrelease" 2>/dev/null)
  [ -n "$rel" ] || rel=missing
  grep -q "^kernel release: $rel " "$R/README" 2>/dev/null || bad "README does not name release $rel"
  for f in modules.dep.bin modules.alias.bin modules.builtin.bin modules.dep; do
    need_file "config/usr/lib/modules/$rel/$f"
  done
  [ "$(readlink "$R/config/lib")" = usr/lib ] || bad "config/lib is not a symlink to usr/lib"
  find "$R/config" -name '*.ko*' | grep -q . && bad "config/ holds kernel modules"

  # Only regular files, directories and symlinks; device nodes are described in dev.nodes.
  odd=$(find "$R" ! -type f ! -type d ! -type l | head -n 3)
  [ -z "$odd" ] && : || bad "special files in the tree: $odd"
  # Every symlink resolves to an existing path inside runtime/ (or config/).
  find "$R/runtime" "$R/config" -type l >"$tmp/links"
  while read -r l; do
    t=$(readlink -e "$l") || { bad "dangling symlink ${l#"$R"/} -> $(readlink "$l")"; continue; }
    case $t in
      "$R"/runtime/* | "$R"/config/*) ;;
      *) bad "symlink ${l#"$R"/} leaves the tree: $t" ;;
    esac
  done <"$tmp/links"

  # dev.nodes: "path type major:minor mode uid gid", each with an empty stand-in file.
  while read -r path type num mode uid gid extra; do
    echo "$path $type $num $mode $uid $gid" | grep -Eq '^/dev/[^ ]+ [cb] [0-9]+:[0-9]+ [0-7]{4} [0-9]+ [0-9]+$' &&
      [ -z "$extra" ] || { bad "bad dev.nodes line: $path $type $num $mode $uid $gid $extra"; continue; }
    f=$R/runtime$path
    [ -f "$f" ] || { bad "no stand-in file for $path"; continue; }
    [ "$path" = /dev/kmsg ] || [ ! -s "$f" ] || bad "stand-in for $path is not empty"
    [ "$(stat -c %a "$f")" = "$(echo "$mode" | sed 's/^0*//')" ] || bad "$path mode differs from dev.nodes"
    if [ "$(id -u)" = 0 ]; then
      [ "$(stat -c '%u %g' "$f")" = "$uid $gid" ] || bad "$path owner differs from dev.nodes"
    fi
  done <"$R/runtime/dev.nodes"
  has_node '/dev/kmsg c 1:11' || bad "dev.nodes lacks /dev/kmsg"

  # Kernel log: /dev/kmsg records "prio,seq,usec,flags;text", continuation lines " KEY=value".
  bad_rec=$(grep -Evn '^([0-9]+,[0-9]+,[0-9]+,[^;]*;| [A-Z_]+=)' "$R/runtime/dev/kmsg" | head -n 1)
  [ -z "$bad_rec" ] || bad "dev/kmsg line not in record format: $bad_rec"
  need_grep runtime/dev/kmsg '^[0-9]+,0,0,[^;]*;Linux version '

  # PCI: every device a link to a directory with real attributes; pci.txt matches the tree.
  [ "$(count runtime/sys/bus/pci/devices)" -gt 0 ] || bad "no PCI devices"
  : >"$tmp/pci"
  for l in "$R"/runtime/sys/bus/pci/devices/*; do
    b=${l##*/}
    [ -L "$l" ] || { bad "sys/bus/pci/devices/$b is not a symlink"; continue; }
    for a in vendor device class config resource; do
      [ -s "$l/$a" ] || bad "$b has no $a"
    done
    sz=$(wc -c <"$l/config" 2>/dev/null || echo 0)
    [ "$sz" -ge 64 ] || bad "$b config is $sz bytes"
    v=$(cat "$l/vendor" 2>/dev/null) d=$(cat "$l/device" 2>/dev/null) c=$(cat "$l/class" 2>/dev/null)
    echo "$b ${v#0x}:${d#0x} ${c#0x}" >>"$tmp/pci"
  done
  grep -Evq '^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] [0-9a-f]{4}:[0-9a-f]{4} [0-9a-f]{6}$' "$R/expected/pci.txt" 2>/dev/null &&
    bad "expected/pci.txt has malformed lines"
  cmp -s "$tmp/pci" "$R/expected/pci.txt" || bad "expected/pci.txt does not match sys/bus/pci/devices"
  # libpci (lspci) reads the captured tree as it would the live /sys.
  if command -v lspci >/dev/null; then
    lspci -n -D -A linux-sysfs -O "sysfs.path=$R/runtime/sys/bus/pci" 2>/dev/null |
      sed -n 's/^\([^ ]*\) \([0-9a-f]\{4\}\): \([0-9a-f:]\{9\}\).*/\1 \3 \2/p' >"$tmp/lspci"
    cut -c1-27 "$tmp/pci" | cmp -s - "$tmp/lspci" || bad "lspci -A linux-sysfs on the tree disagrees with pci.txt"
  else
    bad "lspci not found (apt-get install pciutils)"
  fi
  grep -q '^1$' "$R"/runtime/sys/bus/pci/devices/*/boot_vga 2>/dev/null || bad "no boot_vga=1 device"

  groups=$(count runtime/sys/kernel/iommu_groups)
  cmdline=$(cat "$R/runtime/proc/cmdline" 2>/dev/null)
  case $cur in
    intel-iommu | intel-iommu-pt | vfio-bound)
      need_file runtime/sys/firmware/acpi/tables/DMAR
      [ -L "$R/runtime/sys/class/iommu/dmar0" ] || bad "no sys/class/iommu/dmar0"
      need_file runtime/sys/class/iommu/dmar0/intel-iommu/cap
      [ "$groups" -gt 5 ] || bad "only $groups IOMMU groups"
      case " $cmdline " in *" intel_iommu=on "*) ;; *) bad "cmdline lacks intel_iommu=on" ;; esac
      [ -n "$(group_of 0000:04:00.0)" ] && [ "$(group_of 0000:05:01.0)" = "$(group_of 0000:04:00.0)" ] &&
        [ "$(group_of 0000:05:02.0)" = "$(group_of 0000:04:00.0)" ] ||
        bad "devices behind the PCI bridge do not share the bridge's group"
      [ "$(group_of 0000:01:00.0)" != "$(group_of 0000:02:00.0)" ] || bad "the two NICs share a group"
      need_grep runtime/proc/cpuinfo 'GenuineIntel' ;;
  esac
  case $cur in
    intel-iommu | vfio-bound) need_grep "runtime/sys/kernel/iommu_groups/$(group_of 0000:01:00.0)/type" '^DMA' ;;
    intel-iommu-pt)
      case " $cmdline " in *" iommu=pt "*) ;; *) bad "cmdline lacks iommu=pt" ;; esac
      need_grep "runtime/sys/kernel/iommu_groups/$(group_of 0000:01:00.0)/type" '^identity$' ;;
    intel-iommu-off)
      need_file runtime/sys/firmware/acpi/tables/DMAR
      [ "$groups" = 0 ] || bad "$groups IOMMU groups with intel_iommu=off"
      need_grep runtime/dev/kmsg 'DMAR: IOMMU disabled' ;;
    amd-iommu)
      need_file runtime/sys/firmware/acpi/tables/IVRS
      [ -L "$R/runtime/sys/class/iommu/ivhd0" ] || bad "no sys/class/iommu/ivhd0"
      need_grep runtime/sys/bus/pci/devices/0000:00:01.0/vendor '^0x1022$'
      [ "$groups" -gt 5 ] || bad "only $groups IOMMU groups"
      need_grep runtime/proc/cpuinfo '^flags.* svm( |$)'
      need_grep runtime/proc/cpuinfo 'AuthenticAMD'
      need_grep "runtime/sys/kernel/iommu_groups/$(group_of 0000:01:00.0)/type" '^DMA' ;;
    no-iommu | hugepages | kvm-* | usb)
      [ ! -e "$R/runtime/sys/firmware/acpi/tables/DMAR" ] && [ ! -e "$R/runtime/sys/firmware/acpi/tables/IVRS" ] ||
        bad "IOMMU ACPI table on a machine without IOMMU"
      [ "$groups" = 0 ] || bad "$groups IOMMU groups without IOMMU" ;;
  esac
  case $cur in
    vfio-bound)
      [ "$(driver_of 0000:02:00.0)" = vfio-pci ] || bad "0000:02:00.0 not bound to vfio-pci"
      [ "$(driver_of 0000:01:00.0)" = e1000e ] || bad "0000:01:00.0 not bound to e1000e"
      need_grep runtime/sys/bus/pci/devices/0000:02:00.0/driver_override '^vfio-pci$'
      has_node "/dev/vfio/$(group_of 0000:02:00.0) c" || bad "dev.nodes lacks /dev/vfio/<group>"
      has_node '/dev/vfio/vfio c 10:196' || bad "dev.nodes lacks /dev/vfio/vfio" ;;
    kvm-svm)
      has_node '/dev/kvm c 10:232 0660 0 105' || bad "dev.nodes lacks /dev/kvm 0660 0 105"
      need_grep runtime/sys/module/kvm_amd/parameters/nested '^(1|Y)$'
      need_grep runtime/proc/modules '^kvm_amd '
      has_node '/dev/vhost-net c' || bad "dev.nodes lacks /dev/vhost-net"
      has_node '/dev/net/tun c' || bad "dev.nodes lacks /dev/net/tun" ;;
    kvm-nocpu)
      has_node /dev/kvm && bad "/dev/kvm present"
      need_nogrep runtime/proc/cpuinfo '^flags.* (svm|vmx)( |$)'
      need_nogrep runtime/proc/modules '^kvm_amd '
      need_grep runtime/dev/kmsg ";kvm: no hardware support for 'kvm_amd'" ;;
    kvm-unloaded)
      has_node /dev/kvm && bad "/dev/kvm present"
      need_grep runtime/proc/cpuinfo '^flags.* svm( |$)'
      need_nogrep runtime/proc/modules '^kvm'
      need_file "config/usr/lib/modules/$rel/modules.dep"
      need_grep "config/usr/lib/modules/$rel/modules.dep" 'kvm-amd.ko' ;;
    hugepages)
      need_grep runtime/proc/sys/vm/nr_hugepages '^64$'
      need_grep runtime/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages '^64$'
      need_grep runtime/proc/self/mountinfo ' /dev/hugepages .* - hugetlbfs '
      case " $cmdline " in *" hugepages=64 "*) ;; *) bad "cmdline lacks hugepages=64" ;; esac ;;
    usb)
      need_grep runtime/proc/modules '^xhci_pci '
      for u in 1-1:0627:0001:2 1-2:0627:0001:3 1-3:056a:0000:4 usb1:1d6b:0002:1; do
        d=runtime/sys/bus/usb/devices/${u%%:*} rest=${u#*:}
        [ -L "$R/$d" ] || { bad "no $d"; continue; }
        need_grep "$d/idVendor" "^${rest%%:*}\$"
        rest=${rest#*:}
        need_grep "$d/idProduct" "^${rest%%:*}\$"
        need_grep "$d/devnum" "^${rest#*:}\$"
      done
      [ -L "$R/runtime/sys/bus/usb/devices/1-1:1.0" ] || bad "no interface 1-1:1.0" ;;
  esac
  return "$errors"
}

# check_tarball FILE: extracts FILE and checks it; prints one line; returns 0 when it passes.
check_tarball() {
  f=$1
  n=$(basename "$f" .tar.xz)
  [ -f "$f" ] || { echo "FAIL $n: $f missing"; return 1; }
  x=$tmp/x-$n
  rm -rf "$x"
  mkdir -p "$x"
  size=$(wc -c <"$f")
  if ! tar -xJf "$f" -C "$x" --same-permissions 2>"$tmp/tar.err"; then
    echo "FAIL $n: cannot extract: $(head -n 3 "$tmp/tar.err")"
    return 1
  fi
  extra=""
  for e in "$x"/* "$x"/.[!.]*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    case ${e##*/} in README | runtime | config | expected) ;; *) extra="$extra ${e##*/}" ;; esac
  done
  fails=0
  [ -z "$extra" ] || { echo "  FAIL $n: unexpected top-level entries: $extra"; fails=1; }
  [ "$size" -le "$max_bytes" ] || { echo "  FAIL $n: $size bytes (limit $max_bytes)"; fails=1; }
  check_tree "$x" "$n" || fails=1
  chmod -R u+rwX "$x"
  rm -rf "$x"
  if [ "$fails" = 0 ]; then echo "ok   $n ($size bytes)"; else echo "FAIL $n"; fi
  return "$fails"
}

if [ -n "$self_test" ]; then
  # Break copies of one good capture in ways a bad capture script would, and require that
  # each is rejected.
  src=$dir/intel-iommu.tar.xz
  if [ ! -f "$src" ]; then
    for src in "$dir"/*.tar.xz; do break; done
  fi
  [ -f "$src" ] || { echo "self-test: no tarball in $dir"; exit 1; }
  check_tarball "$src" >/dev/null || { echo "self-test: $src itself fails"; exit 1; }
  passed=0 failed=0
  for case_ in no-pci-txt dangling-link dev-node pci-mismatch no-config kmsg-format stray-top; do
    b=$tmp/broken
    rm -rf "$b"
    mkdir -p "$b"
    tar -xJf "$src" -C "$b" --same-permissions
    case $case_ in
      no-pci-txt) rm "$b/expected/pci.txt" ;;
      dangling-link) rm -r "$b"/runtime/sys/kernel/iommu_groups/1 ;;
      dev-node) mkfifo "$b/runtime/dev/kmsg.fifo" ;;
      pci-mismatch) sed -i '1d' "$b/expected/pci.txt" ;;
      no-config) rm -r "$b/config/usr/lib/modules" ;;
      kmsg-format) sed -i '3s/^[0-9]*,/x/' "$b/runtime/dev/kmsg" ;;
      stray-top) mkdir "$b/sys" ;;
    esac
    out=$tmp/self/$(basename "$src")
    mkdir -p "${out%/*}"
    tar -C "$b" -cf - . | xz -0 >"$out"
    chmod -R u+rwX "$b"
    if check_tarball "$out" >"$tmp/self.log"; then
      echo "self-test FAIL: broken capture ($case_) was accepted"
      failed=$((failed + 1))
    else
      echo "self-test ok: $case_ rejected ($(grep -m1 'FAIL .*:' "$tmp/self.log" | sed 's/^ *//'))"
      passed=$((passed + 1))
    fi
  done
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
  exit
fi

# The machines capture.sh makes (keep in step with its list). Each must be present. Other
# tarballs here (e.g. pvm-host from capture-this-host.sh, a partial capture of a real host)
# have another layout and are named as not checked.
machines="intel-iommu intel-iommu-pt intel-iommu-off amd-iommu no-iommu vfio-bound kvm-svm
  kvm-nocpu kvm-unloaded hugepages amd-cpu-dmar boot-shared usb"
if [ $# -eq 0 ]; then
  # shellcheck disable=SC2086
  set -- $machines
  for f in "$dir"/*.tar.xz; do
    [ -f "$f" ] || continue
    n=$(basename "$f" .tar.xz) known=""
    for m in "$@"; do [ "$m" = "$n" ] && known=1; done
    [ -n "$known" ] || echo "not checked (not made by capture.sh): $n"
  done
fi
passed=0 failed=0
for n in "$@"; do
  if check_tarball "$dir/$n.tar.xz"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
