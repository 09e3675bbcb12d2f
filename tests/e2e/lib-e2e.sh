# shellcheck shell=sh
# Shared by the e2e boot tests: boot an initramfs on the two-NIC VT-d machine and check what
# the guest printed. Needs tests/qemu/lib.sh sourced first.

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# e2e_boot_and_check WORK KERNEL INITRD CASE LABEL
# Boots KERNEL with INITRD on q35 + intel-iommu with two e1000e (0000:01:00.0 and
# 0000:02:00.0 on their own root ports). CASE positive: the config named 01:00.0 with its real
# id; negative: with a different id; iommu-off: real id but booted with intel_iommu=off.
# Reads the verdict (guest-verdict.sh) from ttyS1, never from the console. Exits non-zero
# with FAIL: on any mismatch.
e2e_boot_and_check() {
  work=$1 kernel=$2 initrd=$3 case_=$4 label=$5
  t1=$(date +%s)
  out=$work/out-$case_
  iommu=intel_iommu=on
  [ "$case_" != iommu-off ] || iommu=intel_iommu=off
  rc=0
  VMQ_MACHINE=q35,kernel-irqchip=split vmq_run "$out" "${VMPREP_BOOT_TIMEOUT:-240}" \
    "$kernel" "$initrd" \
    "console=ttyS0 $iommu loglevel=7 panic=-1 root=vmprep-e2e rd.shell=0 rd.emergency=poweroff" \
    -device intel-iommu,intremap=on,caching-mode=on \
    -device pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0,addr=0x3 \
    -device pcie-root-port,id=rp2,chassis=2,slot=2,bus=pcie.0,addr=0x4 \
    -device e1000e,bus=rp1,addr=0x0 \
    -device e1000e,bus=rp2,addr=0x0 || rc=$?
  t2=$(date +%s)
  echo "booted in $((t2 - t1))s (qemu status $rc)"
  # The guest sends its verdict on ttyS1, where the kernel never writes; console.log is
  # only for people (a kernel line can land in the middle of a marker there).
  tr -d '\r' <"$out/serial1.out" >"$work/serial1-$case_.txt"
  tr -d '\r' <"$out/console.log" >"$work/console-$case_.txt"
  # The verdict block: device lines, then the kernel log (dmesg), complete only when the
  # end marker arrived.
  verdict=$work/verdict-$case_.txt
  log=$work/kernel-$case_.txt
  sed -n '/^VMPREP-E2E begin$/,/^VMPREP-E2E done$/p' "$work/serial1-$case_.txt" >"$verdict"
  sed -n '/^VMPREP-E2E kernel log$/,/^VMPREP-E2E done$/p' "$verdict" | sed '1d;$d' >"$log"
  echo "--- guest lines of interest"
  grep -E '^VMPREP-E2E' "$verdict" || true
  grep -E 'vmprep-vfio:|DMAR: IOMMU enabled|Kernel panic' "$log" || true
  echo "---"
  [ "$rc" = 0 ] || { tail -n 40 "$work/console-$case_.txt" >&2; fail "qemu did not power off cleanly (status $rc)"; }
  grep -q '^VMPREP-E2E done$' "$verdict" ||
    { tail -n 40 "$work/console-$case_.txt" >&2; fail "guest never sent its complete verdict on ttyS1"; }
  grep -q '^VMPREP-E2E kernel log$' "$verdict" || fail "the verdict holds no kernel log"
  if [ "$case_" != iommu-off ]; then
    grep -q 'DMAR: IOMMU enabled' "$log" || fail "guest IOMMU not enabled"
  fi
  d1=$(sed -n 's/^VMPREP-E2E device 0000:01:00.0 driver=\(.*\)$/\1/p' "$verdict")
  d2=$(sed -n 's/^VMPREP-E2E device 0000:02:00.0 driver=\(.*\)$/\1/p' "$verdict")
  case $case_ in
    positive)
      [ "$d1" = vfio-pci ] || fail "0000:01:00.0 is on '$d1', want vfio-pci"
      [ "$d2" = e1000e ] || fail "0000:02:00.0 is on '$d2', want e1000e (the host keeps the twin)"
      grep -q 'vmprep-vfio: 0000:01:00.0: 8086:10d3 matches' "$log" || fail "no match line in the kernel log"
      grep -q 'vmprep-vfio: 0000:01:00.0: driver_override=vfio-pci' "$log" || fail "no driver_override line"
      grep -q 'vmprep-vfio: 0000:01:00.0: bound to vfio-pci' "$log" || fail "no bound line"
      if grep 'vmprep-vfio:' "$log" | grep -q '0000:02:00.0'; then fail "the hook touched 0000:02:00.0"; fi
      # The hook must run before udev loads host drivers, so it never has to unbind one.
      if grep -q 'vmprep-vfio: .*unbound from' "$log"; then fail "the hook ran after a host driver took the device"; fi
      ;;
    iommu-off)
      [ "$d1" = e1000e ] || fail "0000:01:00.0 is on '$d1', want e1000e (no IOMMU, no binding)"
      [ "$d2" = e1000e ] || fail "0000:02:00.0 is on '$d2', want e1000e"
      grep -q 'vmprep-vfio: IOMMU is off' "$log" || fail "kernel log does not say the IOMMU is off"
      if grep -q 'vmprep-vfio: .*driver_override=vfio-pci' "$log"; then fail "an override was set"; fi
      ;;
    negative)
      [ "$d1" = e1000e ] || fail "0000:01:00.0 is on '$d1', want e1000e (mismatched id must not bind)"
      [ "$d2" = e1000e ] || fail "0000:02:00.0 is on '$d2', want e1000e"
      grep -q 'vmprep-vfio: 0000:01:00.0: holds 8086:10d3, expected 10de:1b80; not binding' "$log" ||
        fail "kernel log does not say why nothing was bound"
      if grep -q 'vmprep-vfio: .*driver_override=vfio-pci' "$log"; then fail "an override was set"; fi
      ;;
  esac
  echo "PASS: $label $case_"
}
