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
index. The verdicts are read from ttyS1, where the kernel never writes: after the report, the
menu's shell sends the report as printed (/run/vmprep/report.txt, which must equal what the
console showed) and a fresh `vmcheck --json` there; the host checks the verdicts in both and
that the JSON parses. The three default-entry boots also list the IOMMU groups (named from
pci.ids, none without an IOMMU). The menu offers the wizard exactly when this build's vmsetup
has `vmsetup wizard`. Every boot ends with power off from the menu (QEMU must exit with 0).
"""

import json
import os
import re
import subprocess
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


def wizard_expected(iso):
    """Whether the menu must offer the wizard: the ISO's vmsetup is this build's, and it offers
    the wizard when `vmsetup wizard --help` prints that subcommand's own usage."""
    build = os.environ.get("VMPREP_BUILD_DIR") or os.path.dirname(os.path.dirname(iso))
    vmsetup = os.path.join(build, "vmsetup")
    if not os.path.exists(vmsetup):
        raise isovm.Failure(f"no {vmsetup} (set VMPREP_BUILD_DIR to the build the ISO came from)")
    r = subprocess.run([vmsetup, "wizard", "--help"], capture_output=True, text=True)
    return r.returncode == 0 and re.search(r"^Usage: vmsetup wizard", r.stdout, re.MULTILINE)


def check_report(name, case, report, where):
    """The report's kernel command line and verdicts are what the case wants."""
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
    for finding, want in case["verdicts"].items():
        got, summary = isovm.finding_line(report, finding)
        if got != want:
            raise isovm.Failure(f"{name}: {finding} is {got} ({summary}) {where}, want {want}")
        if (finding, want) in SUMMARIES and summary != SUMMARIES[(finding, want)]:
            raise isovm.Failure(f"{name}: {finding} says {summary!r}")


def tour_groups(name, case, guest):
    """Menu item g: the IOMMU groups listing, named from pci.ids."""
    mark = len(guest.seen)
    guest.send("g\n")
    guest.expect(PROMPT, 60, "the menu after the groups listing")
    listing = guest.consumed_since(mark)
    groups = re.findall(r"^IOMMU group (\d+)", listing, re.MULTILINE)
    if case["iommu"] == "none":
        if groups:
            raise isovm.Failure(f"{name}: groups listed without an IOMMU:\n{listing}")
    # Four devices on the bare q35 (host bridge, LPC/SATA/SMBus share one group; the AMD
    # IOMMU is a PCI device too): at least two groups, each line named by pci.ids.
    elif len(groups) < 2 or "Intel Corporation" not in listing:
        raise isovm.Failure(f"{name}: expected IOMMU groups named from pci.ids:\n{listing}")


def send_over_ttys1(guest):
    """Menu item x: a shell that sends the report as the console showed it and a fresh
    `vmcheck --json` over ttyS1, where the kernel never writes; then back to the menu."""
    guest.send("x\n")
    guest.expect(r"vmprep-live# (\x1b\[6n)?$", 60, "the shell prompt")
    # The marker is computed by the shell, so the echo of the typed line cannot match it.
    # Firmware (OVMF) writes on every serial port before the kernel starts: the data goes
    # between markers.
    guest.send("{ echo ==REPORT==; cat /run/vmprep/report.txt; echo ==JSON==; vmcheck --json; "
               "s=$?; echo ==END==; } >/dev/ttyS1; echo \"sent: $((40 + 2)) status $s\"\n")
    # 0-2: the report's verdict; 3 would mean vmcheck could not run.
    guest.expect(r"sent: 42 status [0-2]$", 60, "the shell's marker after vmcheck --json")
    guest.send("exit\n")
    guest.expect(PROMPT, 60, "the menu after the shell")


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
        console_report = isovm.report_text(guest.seen)
        mark = len(guest.seen)
        guest.expect(PROMPT, 60, "the menu")
        menu = guest.consumed_since(mark)
        offers_wizard = bool(re.search(r"^  w\) Wizard", menu, re.MULTILINE))
        if offers_wizard != bool(case["wizard"]):
            raise isovm.Failure(f"{name}: the menu {'offers' if offers_wizard else 'lacks'} the "
                                f"wizard, but this build's vmsetup "
                                f"{'lacks' if offers_wizard else 'has'} it:\n{menu}")
        if case["tour"]:
            tour_groups(name, case, guest)
        send_over_ttys1(guest)
        guest.power_off(name)
    finally:
        guest.close()

    m = re.search(r"^==REPORT==\n(.*)^==JSON==\n(.*)^==END==$", guest.serial1_text(),
                  re.MULTILINE | re.DOTALL)
    if not m:
        raise isovm.Failure(f"{name}: no report and JSON between markers on ttyS1")
    report = isovm.report_text(m.group(1))
    check_report(name, case, report, "on ttyS1")
    if report != console_report:
        raise isovm.Failure(f"{name}: the console showed another report than the one on ttyS1")
    try:
        doc = json.loads(m.group(2))
    except ValueError as e:
        raise isovm.Failure(f"{name}: vmcheck --json sent over ttyS1 does not parse: {e}")
    if doc.get("schema") != "vmprep.report/1":
        raise isovm.Failure(f"{name}: JSON schema is {doc.get('schema')!r}")
    severities = {f["id"]: f["severity"] for f in doc["findings"]}
    for finding, want in case["verdicts"].items():
        if severities.get(finding) != want:
            raise isovm.Failure(f"{name}: JSON says {finding} is {severities.get(finding)}, "
                                f"want {want}")
    if not doc["host"]["live"] or doc["host"]["config_root"] != "/":
        raise isovm.Failure(f"{name}: JSON host block is not the live system: {doc['host']}")
    print(f"{name}: report after {t_report:.1f} s; on ttyS1: "
          + ", ".join(f"{k} {v}" for k, v in case["verdicts"].items())
          + "; vmcheck --json parses and agrees" + ("; groups listed" if case["tour"] else ""))
    return t_report


def main(iso, work):
    cases = os.environ.get("VMPREP_ISO_CASES", "").split() or list(CASES)
    wizard = wizard_expected(iso)
    for case in CASES.values():
        case["wizard"] = wizard
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
