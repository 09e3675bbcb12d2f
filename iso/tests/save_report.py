#!/usr/bin/env python3
"""iso.save-report: the ISO, written to a USB stick with dd, boots from it and saves its report
to a FAT disk and to the stick's own FAT partition; the host reads both back.

Usage: save_report.py ISO [WORK_DIR]

The ISO is copied to a disk image (what `dd` writes to a stick) and attached as a USB stick
on xHCI, first in SeaBIOS's boot order; a FAT image labelled REPORTS is a second (virtio)
disk. Through the menu on the serial console: "Save the report" lists the writable FAT file
systems; the test picks REPORTS, then again the stick's partition labelled VMPREP, then
powers off. On the host (mtools): each holds vmprep/<date>-<time>/report.txt and
report.json; the text is exactly the report the console showed, the JSON is vmcheck's
vmprep.report/1 with the same findings and severities, and both copies are identical.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import isovm  # noqa: E402

PROMPT = r"Choice: $"


def fat_partition_offset(image):
    """Byte offset of the MBR partition of type 0x0c (FAT32 LBA) in the hybrid image: the
    partition build-iso.sh appends for reports."""
    with open(image, "rb") as f:
        mbr = f.read(512)
    for i in range(4):
        entry = mbr[446 + 16 * i:446 + 16 * (i + 1)]
        if entry[4] == 0x0C:
            return struct.unpack_from("<I", entry, 8)[0] * 512
    raise isovm.Failure(f"{image} has no FAT (0x0c) partition in its MBR")


def read_saved(image, offset, out):
    """The one vmprep/<stamp>/ folder on the FAT file system: {name: bytes}."""
    shutil.rmtree(out, ignore_errors=True)
    spec = f"{image}@@{offset}" if offset else image
    r = subprocess.run(["mcopy", "-s", "-n", "-i", spec, "::/vmprep", out], capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise isovm.Failure(f"no vmprep folder on {spec}: {r.stderr.strip()}")
    folders = os.listdir(out)
    if len(folders) != 1 or not re.fullmatch(r"\d{8}-\d{6}", folders[0]):
        raise isovm.Failure(f"expected one vmprep/<date>-<time> folder on {spec}, found {folders}")
    folder = os.path.join(out, folders[0])
    names = sorted(os.listdir(folder))
    if names != ["report.json", "report.txt"]:
        raise isovm.Failure(f"{spec}: vmprep/{folders[0]} holds {names}")
    return {n: open(os.path.join(folder, n), "rb").read() for n in names}


def save_to(guest, label):
    """Menu item s, then the entry of the FAT file system labelled `label`."""
    mark = len(guest.seen)
    guest.send("s\n")
    guest.expect(r"Save to which \(1-\d+, empty to go back\)\? $", 90, "the list of FAT file systems")
    listing = guest.consumed_since(mark)
    entries = re.findall(r"^  (\d+)\) (\S+) \(vfat, label (\S+?)[,)]", listing, re.MULTILINE)
    chosen = [n for n, _, lab in entries if lab == label]
    if len(chosen) != 1:
        raise isovm.Failure(f"the save menu does not list one FAT file system labelled {label}:\n"
                            f"{listing}")
    guest.send(chosen[0] + "\n")
    m = guest.expect(r"^Saved report\.txt, report\.json to (\S+) .* in (vmprep/\S+) \(unmounted",
                     90, f"the save to {label}")
    guest.expect(PROMPT, 30, "the menu after saving")
    return listing, m.group(1)


def boot_and_save(iso, work):
    """One boot from the stick: returns (stick image, reports image, the console's report)."""
    stick = os.path.join(work, "stick.img")
    shutil.copyfile(iso, stick)  # what `dd if=vmprep.iso of=/dev/sdX` writes
    reports = os.path.join(work, "reports.img")
    if os.path.exists(reports):
        os.remove(reports)
    subprocess.run(["mkfs.fat", "-C", "-n", "REPORTS", reports, "8192"], check=True,
                   capture_output=True)
    out = os.path.join(work, "run")
    args = (isovm.machine_args("intel", "bios", out) + isovm.usb_stick_args(stick) +
            ["-drive", f"file={reports},if=none,id=rep,format=raw",
             "-device", "virtio-blk-pci,drive=rep,bus=pcie.0,addr=0x5"])
    guest = isovm.Guest(out, args).start()
    try:
        guest.expect(isovm.REPORT_END, 240, "the end of the report")
        print(f"booted from the USB stick: report after {guest.elapsed():.1f} s")
        console_report = isovm.report_text(guest.seen)
        guest.expect(PROMPT, 60, "the menu")
        listing, dev_reports = save_to(guest, "REPORTS")
        _, dev_stick = save_to(guest, "VMPREP")
        print(f"saved to {dev_reports} (REPORTS) and {dev_stick} (the stick's VMPREP partition)")
        if not re.search(r"^  \d+\) " + re.escape(dev_stick) + r" \(vfat, label VMPREP, removable,",
                         listing, re.MULTILINE):
            raise isovm.Failure(f"the stick's partition is not listed as removable:\n{listing}")
        guest.power_off("the stick boot")
    finally:
        guest.close()
    return stick, reports, console_report


def main(iso, work):
    stick, reports, console_report = isovm.retry_boot("stick boot",
                                                      lambda: boot_and_save(iso, work))
    saved = read_saved(reports, 0, os.path.join(work, "from-reports"))
    on_stick = read_saved(stick, fat_partition_offset(stick), os.path.join(work, "from-stick"))
    if saved != on_stick:
        raise isovm.Failure("the report saved on the stick differs from the one on REPORTS")
    text = saved["report.txt"].decode()
    if text.strip("\n") != console_report:
        raise isovm.Failure("report.txt is not the report the console showed:\n"
                            f"--- saved\n{text}\n--- console\n{console_report}")
    doc = json.loads(saved["report.json"])
    if doc.get("schema") != "vmprep.report/1":
        raise isovm.Failure(f"report.json has schema {doc.get('schema')!r}")
    lines = re.findall(r"^  (PASS|NOTE|WARN|FAIL|SKIP)  (.*)  \((\S+)\)$", text, re.MULTILINE)
    from_text = {i: (s.lower(), summary) for s, summary, i in lines}
    from_json = {f["id"]: (f["severity"], f["summary"]) for f in doc["findings"]}
    if not from_text or from_text != from_json:
        raise isovm.Failure(f"report.txt and report.json disagree:\n{from_text}\n{from_json}")
    if from_json.get("iommu.kernel", ("",))[0] != "pass":
        raise isovm.Failure(f"the saved report does not say the IOMMU is on: {from_json}")
    print(f"PASS: report.txt ({len(text)} bytes) and report.json ({len(lines)} findings) read "
          "back from REPORTS and from the stick, identical, matching the console")


if __name__ == "__main__":
    isovm.run_test(main)
