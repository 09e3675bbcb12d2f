#!/usr/bin/env python3
"""Measures the live ISO: its size, and how long it takes from QEMU's start (TCG) to the report
on the serial console, for each firmware and boot medium. Prints figures; asserts nothing.

Usage: measure.py ISO [RUNS] [WORK_DIR]

For each boot: when GRUB's menu appeared, when the report was complete on the console, and
(read from the guest afterwards) how many seconds after the kernel started that was, and how
much CPU time QEMU had used by then (on a host busy with other work the wall clock stretches;
the CPU time much less). Then the guest is powered off from the menu.
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import isovm  # noqa: E402


def boot(iso, work, firmware, medium):
    out = tempfile.mkdtemp(dir=work)
    args = isovm.machine_args("intel", firmware, out)
    if medium == "cd":
        args += isovm.cdrom_args(iso)
    else:
        stick = os.path.join(out, "stick.img")
        shutil.copyfile(iso, stick)
        args += isovm.usb_stick_args(stick)
    guest = isovm.Guest(out, args).start()
    try:
        guest.expect(r"check this machine", 120, "GRUB's menu")
        t_grub = guest.elapsed()
        guest.expect(isovm.REPORT_END, 240, "the end of the report")
        t_report = guest.elapsed()
        cpu = guest.cpu_seconds()
        guest.expect(r"Choice: $", 60, "the menu")
        guest.send("x\n")
        guest.expect(r"vmprep-live# ", 60, "the shell")
        guest.send("echo \"uptime at report: $(cat /run/vmprep/report.uptime) s\"\n")
        m = guest.expect(r"uptime at report: ([0-9.]+) s", 60)
        kernel = float(m.group(1))
        guest.send("poweroff\n")
        guest.wait(60)
    finally:
        guest.close()
    shutil.rmtree(out, ignore_errors=True)
    return t_grub, t_report, kernel, cpu


def iso_file_sizes(iso):
    """Sizes of /boot/vmlinuz and /boot/initrd.img inside the ISO (xorriso)."""
    out = subprocess.run(["xorriso", "-indev", iso, "-find", "/boot", "-maxdepth", "1",
                          "-type", "f", "-exec", "lsdl", "--"], capture_output=True,
                         text=True).stdout
    sizes = {}
    for line in out.splitlines():
        m = re.match(r"^-\S+\s+\S+\s+\S+\s+\S+\s+(\d+)\s.*'/boot/(\S+)'$", line)
        if m:
            sizes[m.group(2)] = int(m.group(1))
    return sizes


def main():
    iso = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    work = sys.argv[3] if len(sys.argv) > 3 else tempfile.mkdtemp()
    os.makedirs(work, exist_ok=True)
    sizes = iso_file_sizes(iso)
    mib = 2 ** 20
    print(f"ISO: {os.path.getsize(iso) / mib:.1f} MiB ({os.path.getsize(iso)} bytes); kernel "
          f"{sizes.get('vmlinuz', 0) / mib:.1f} MiB, initramfs {sizes.get('initrd.img', 0) / mib:.1f} MiB")
    print(f"host: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; TCG, 2 vCPUs, 1 GiB")
    for firmware, medium in (("bios", "cd"), ("uefi", "cd"), ("bios", "usb")):
        rows = [isovm.retry_boot(f"{firmware} {medium}", lambda: boot(iso, work, firmware, medium))
                for _ in range(runs)]
        grub = statistics.median(r[0] for r in rows)
        report = [r[1] for r in rows]
        kernel = statistics.median(r[2] for r in rows)
        started = statistics.median(r[1] - r[2] for r in rows)
        cpu = statistics.median(r[3] for r in rows)
        print(f"{'SeaBIOS' if firmware == 'bios' else 'OVMF':7} {medium.upper():3}: report after "
              f"{statistics.median(report):4.1f} s median (min {min(report):.1f}, max "
              f"{max(report):.1f}, {runs} boots); GRUB menu at {grub:.1f} s, kernel started at "
              f"{started:.1f} s, report {kernel:.1f} s after that; QEMU used {cpu:.1f} s of CPU")
    print(f"host load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
