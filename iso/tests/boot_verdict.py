#!/usr/bin/env python3
"""iso.boot-verdict: the ISO boots to vmcheck's report on three machines, from each menu entry,
and its menu works.

Usage: boot_verdict.py ISO [WORK_DIR]   (VMPREP_ISO_CASES="intel-bios ..." runs some cases)

Each case boots the ISO from a CD under TCG and reads the serial console as a person would:
  intel-bios       q35 + intel-iommu, Intel CPU model, SeaBIOS, default entry: the report says
                   the IOMMU is on (intel_iommu=on)
  amd-uefi         q35 + amd-iommu, AMD CPU with svm, OVMF, default entry: on, with no
                   intel_iommu/amd_iommu option (AMD-Vi is on by default)
  none-bios        q35 without a vIOMMU, SeaBIOS, default entry: no firmware table
  intel-bios-off   as intel-bios, "IOMMU off" entry chosen in GRUB: off (intel_iommu=off)
  amd-bios-serial  as amd-uefi under SeaBIOS, "serial console only" entry: on, console on
                   ttyS0 alone
On AMD, kvm_amd loads (TCG offers svm) and /dev/kvm works; no report may lack the module
index. After the three default-entry boots the menu is used: the IOMMU groups listing (groups named
from pci.ids, or none without an IOMMU), a shell in which `vmcheck --json` is sent over ttyS1
(the host parses it and checks it says what the text said), and power off (QEMU must exit
with status 0). The other two power off from the menu right away.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import isovm  # noqa: E402

ON = {"iommu.firmware": "pass", "iommu.kernel": "pass", "iommu.cmdline": "pass"}
# TCG offers svm with -cpu max: kvm_amd loads from the ISO and /dev/kvm works (nested).
KVM = {"kvm.device": "pass", "kvm.module": "pass"}
CONSOLES = ["console=tty0", "console=ttyS0,115200n8"]
CASES = {
    # entry: GRUB menu entry (0 check, 1 IOMMU off, 2 serial); words: must be on the kernel
    # command line; absent: word prefixes that must not be; tour: use the menu.
    "intel-bios": dict(iommu="intel", firmware="bios", entry=0, tour=True, verdicts=ON,
                       words=["intel_iommu=on"] + CONSOLES, absent=["amd_iommu"]),
    "amd-uefi": dict(iommu="amd", firmware="uefi", entry=0, tour=True, verdicts={**ON, **KVM},
                     words=CONSOLES, absent=["intel_iommu", "amd_iommu"]),
    "none-bios": dict(iommu="none", firmware="bios", entry=0, tour=True,
                      verdicts={"iommu.firmware": "fail", "iommu.kernel": "skip"},
                      words=["intel_iommu=on"] + CONSOLES, absent=["amd_iommu"]),
    "intel-bios-off": dict(iommu="intel", firmware="bios", entry=1, tour=False,
                           verdicts={"iommu.firmware": "pass", "iommu.kernel": "fail"},
                           words=["intel_iommu=off"] + CONSOLES, absent=["amd_iommu"]),
    "amd-bios-serial": dict(iommu="amd", firmware="bios", entry=2, tour=False,
                            verdicts={**ON, **KVM},
                            words=["console=ttyS0,115200n8"],
                            absent=["console=tty0", "intel_iommu", "amd_iommu"]),
}
SUMMARIES = {
    ("iommu.kernel", "pass"): "the IOMMU is on and translating DMA",
    ("iommu.kernel", "fail"): "the firmware has an IOMMU but the running kernel does not use it",
    ("iommu.firmware", "fail"): "the firmware reports no IOMMU (no DMAR or IVRS ACPI table)",
}
PROMPT = r"Choice: $"


def run_case(name, iso, work):
    case = CASES[name]
    out = os.path.join(work, name)
    os.makedirs(out, exist_ok=True)
    guest = isovm.Guest(out, isovm.machine_args(case["iommu"], case["firmware"], out) +
                        isovm.cdrom_args(iso))
    guest.start()
    try:
        if case["entry"]:
            # GRUB's menu is on the serial line too: move down to the entry, then Enter.
            guest.expect(r"check this machine", 120, "GRUB's menu")
            guest.send("\x1b[B" * case["entry"] + "\r")
        guest.expect(isovm.REPORT_END, 240, "the end of the report")
        t_report = guest.elapsed()
        report = isovm.report_text(guest.seen)
        cmdline = re.search(r"kernel command line:\n  (.*)$", report, re.MULTILINE).group(1)
        words = cmdline.split()
        for word in case["words"]:
            if word not in words:
                raise isovm.Failure(f"{name}: the kernel command line lacks {word}: {cmdline}")
        for prefix in case["absent"]:
            if any(w.startswith(prefix) for w in words):
                raise isovm.Failure(f"{name}: the kernel command line has {prefix}: {cmdline}")
        # The module index of the ISO's kernel is there (libkmod, opened with dlopen, found it).
        if "no module index" in report:
            raise isovm.Failure(f"{name}: vmcheck found no module index on the ISO:\n{report}")
        verdicts = case["verdicts"]
        for finding, want in verdicts.items():
            got, summary = isovm.finding_line(report, finding)
            if got != want:
                raise isovm.Failure(f"{name}: {finding} is {got} ({summary}), want {want}")
            if (finding, want) in SUMMARIES and summary != SUMMARIES[(finding, want)]:
                raise isovm.Failure(f"{name}: {finding} says {summary!r}")
        print(f"{name}: report printed {t_report:.1f} s after QEMU started; "
              + ", ".join(f"{k} {v}" for k, v in verdicts.items()))
        if not case["tour"]:
            guest.expect(PROMPT, 60, "the menu")
            guest.send("p\n")
            status = guest.wait(60)
            if status != 0:
                raise isovm.Failure(f"{name}: QEMU exited with status {status} after power off")
            return t_report

        guest.expect(PROMPT, 60, "the menu")
        mark = len(guest.seen)
        guest.send("g\n")
        guest.expect(PROMPT, 60, "the menu after the groups listing")
        listing = guest.consumed_since(mark)
        groups = re.findall(r"^IOMMU group (\d+)", listing, re.MULTILINE)
        if case["iommu"] == "none":
            if groups:
                raise isovm.Failure(f"{name}: groups listed without an IOMMU:\n{listing}")
        else:
            # Four devices on the bare q35 (host bridge, LPC/SATA/SMBus share one group; the
            # AMD IOMMU is a PCI device too): at least two groups, each line named by pci.ids.
            if len(groups) < 2:
                raise isovm.Failure(f"{name}: expected IOMMU groups in the listing:\n{listing}")
            if "Intel Corporation" not in listing:
                raise isovm.Failure(f"{name}: device names (pci.ids) missing:\n{listing}")

        guest.send("x\n")
        guest.expect(r"vmprep-live# (\x1b\[6n)?$", 60, "the shell prompt")
        # The marker is computed by the shell, so the echo of the typed line cannot match it.
        # Firmware (OVMF) writes on every serial port before the kernel starts: the JSON
        # goes between markers.
        guest.send("{ echo ==JSON==; vmcheck --json; s=$?; echo ==END==; } >/dev/ttyS1; "
                   "echo \"json sent: $((40 + 2)) status $s\"\n")
        # 0-2: the report's verdict; 3 would mean vmcheck could not run.
        guest.expect(r"json sent: 42 status [0-2]$", 60, "the shell's marker after vmcheck --json")
        guest.send("exit\n")
        guest.expect(PROMPT, 60, "the menu after the shell")
        guest.send("p\n")
        status = guest.wait(60)
        if status != 0:
            raise isovm.Failure(f"{name}: QEMU exited with status {status} after power off")
    finally:
        guest.close()

    m = re.search(r"^==JSON==\n(.*)^==END==$", guest.serial1_text(), re.MULTILINE | re.DOTALL)
    if not m:
        raise isovm.Failure(f"{name}: no JSON between markers on ttyS1")
    try:
        doc = json.loads(m.group(1))
    except ValueError as e:
        raise isovm.Failure(f"{name}: vmcheck --json sent over ttyS1 does not parse: {e}")
    if doc.get("schema") != "vmprep.report/1":
        raise isovm.Failure(f"{name}: JSON schema is {doc.get('schema')!r}")
    severities = {f["id"]: f["severity"] for f in doc["findings"]}
    for finding, want in verdicts.items():
        if severities.get(finding) != want:
            raise isovm.Failure(f"{name}: JSON says {finding} is {severities.get(finding)}, "
                                f"want {want}")
    if not doc["host"]["live"] or doc["host"]["config_root"] != "/":
        raise isovm.Failure(f"{name}: JSON host block is not the live system: {doc['host']}")
    print(f"{name}: menu (groups, shell, power off) works; vmcheck --json parses and agrees")
    return t_report


def main(iso, work):
    cases = os.environ.get("VMPREP_ISO_CASES", "").split() or list(CASES)
    failed = []
    for name in cases:
        try:
            isovm.retry_boot(name, lambda: run_case(name, iso, work))
        except isovm.Failure as e:
            print(f"FAIL: {e}", file=sys.stderr)
            failed.append(name)
    if failed:
        raise isovm.Failure("failed: " + ", ".join(failed))
    print("PASS: " + ", ".join(cases))


if __name__ == "__main__":
    isovm.run_test(main)
