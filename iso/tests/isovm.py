"""Boots the live ISO in QEMU (TCG) and talks to its serial console like a person would.

ttyS0 is the console: QEMU connects it to this process's pipes, so a test waits for a prompt
and types an answer; every byte is also written to OUT/console.log. ttyS1 is the data channel
(OUT/serial1.out): the kernel never writes there, so what the guest sends on it cannot be
interleaved with kernel lines. Used by the iso.* boot tests and by measure.py.
"""

import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

# The report's last line, complete (the console may have shown only part of it so far).
REPORT_END = r"^vmcheck exited with status \d+ \(0 all pass, 1 warnings, 2 failures\)$"
# A panic from the kernel's early check that the timer interrupt arrives through the
# interrupt-remapped IO-APIC: under TCG on a host whose CPU is taken by other work, QEMU can
# deliver no tick within the check's delay loop. It is the emulator's, not the ISO's (no
# user space has run yet); a boot test that sees it boots once more (see retry_boot).
TIMER_PANIC = "timer doesn't work through Interrupt-remapped IO-APIC"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"


class Failure(Exception):
    """A check failed; the message says what was expected and what was seen."""


def machine_args(iommu, firmware, out_dir):
    """QEMU arguments for a q35 machine with the given vIOMMU and firmware.

    iommu: "intel" (VT-d, Intel CPU model), "amd" (AMD-Vi, AMD CPU with svm; the machine's
    SMBIOS names the processor maker as a real AMD board does, since q35 emulates an Intel
    chipset whatever the CPU) or "none" (no vIOMMU). firmware: "bios" (SeaBIOS) or "uefi"
    (OVMF with a fresh copy of its variable store).
    """
    args = ["-machine", "q35,kernel-irqchip=split"]
    if iommu == "intel":
        args += ["-cpu", "Skylake-Client-v4",
                 "-device", "intel-iommu,intremap=on,caching-mode=on"]
    elif iommu == "amd":
        args += ["-cpu", "max", "-smbios", "type=4,manufacturer=Advanced Micro Devices,, Inc.",
                 "-device", "amd-iommu,intremap=on"]
    elif iommu == "none":
        args += ["-cpu", "Skylake-Client-v4"]
    else:
        raise ValueError(iommu)
    if firmware == "uefi":
        for f in (OVMF_CODE, OVMF_VARS):
            if not os.path.exists(f):
                raise Failure(f"{f} missing (apt-get install ovmf)")
        vars_copy = os.path.join(out_dir, "OVMF_VARS.fd")
        shutil.copyfile(OVMF_VARS, vars_copy)
        args += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                 "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}"]
    elif firmware != "bios":
        raise ValueError(firmware)
    return args


def cdrom_args(iso):
    """The ISO as a CD in the q35 AHCI controller, first in the firmware's boot order (before
    any disk the test attaches: an installed system's disk has no boot loader)."""
    return ["-drive", f"if=none,id=cd,media=cdrom,readonly=on,format=raw,file={iso}",
            "-device", "ide-cd,drive=cd,bus=ide.0,bootindex=0"]


def usb_stick_args(image):
    """A disk image (the ISO written with dd) as a USB stick on an xHCI controller, first in
    the boot order; removable, as sticks report themselves."""
    return ["-device", "qemu-xhci,id=xhci", "-drive", f"if=none,id=stick,format=raw,file={image}",
            "-device", "usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0"]


class Guest:
    """One QEMU run: start(), expect()/send() on the console, wait() for power-off."""

    def __init__(self, out_dir, args, mem=1024, smp=2):
        self.out_dir = out_dir
        os.makedirs(out_dir, exist_ok=True)
        self.serial1 = os.path.join(out_dir, "serial1.out")
        self.console_path = os.path.join(out_dir, "console.log")
        self.cmd = ["qemu-system-x86_64", "-accel", "tcg", "-m", str(mem), "-smp", str(smp),
                    "-nodefaults", "-no-reboot", "-display", "none", "-monitor", "none",
                    "-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con",
                    "-serial", f"file:{self.serial1}"] + list(args)
        self.proc = None
        self.buffer = ""  # console text not yet consumed by expect()
        self.seen = ""  # everything the console printed
        self.t0 = None
        self.log = None

    def start(self):
        with open(os.path.join(self.out_dir, "qemu.cmd"), "w") as f:
            f.write(" ".join(self.cmd) + "\n")
        self.log = open(self.console_path, "w", encoding="utf-8", errors="replace")
        self.qemu_log = open(os.path.join(self.out_dir, "qemu.log"), "w")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.qemu_log)
        os.set_blocking(self.proc.stdout.fileno(), False)
        return self

    def elapsed(self):
        return time.monotonic() - self.t0

    def cpu_seconds(self):
        """CPU time QEMU has used so far (all its threads, user + system): on a host whose
        other work takes CPU away, this grows at the idle pace while the wall clock does not."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _read(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return True
        data = self.proc.stdout.read()
        if not data:  # QEMU closed the console: it exited
            return False
        text = data.decode("utf-8", errors="replace").replace("\r", "")
        self.log.write(text)
        self.log.flush()
        self.buffer += text
        self.seen += text
        return True

    def _check_panic(self, what):
        if "Kernel panic - not syncing" in self.seen:
            # The panic message and its trace come in a burst: read what is left of it.
            for _ in range(10):
                if "---[ end Kernel panic" in self.seen or self.proc.poll() is not None:
                    break
                self._read(1.0)
            raise Failure(f"the guest kernel panicked before the console showed {what}; its "
                          f"last lines:\n{self.tail()}")

    def expect(self, pattern, timeout, what=None):
        """Waits until the console prints `pattern` (a regex); consumes the text up to the end
        of the match and returns the match. Raises Failure on timeout, power-off or a kernel
        panic."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            m = regex.search(self.buffer)
            if m:
                self.buffer = self.buffer[m.end():]
                return m
            self._check_panic(what or repr(pattern))
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"after {timeout:.0f} s the console has not shown "
                              f"{what or pattern!r}; its last lines:\n{self.tail()}")
            if not self._read(min(left, 1.0)):
                raise Failure(f"QEMU exited (status {self.proc.wait()}) before the console "
                              f"showed {what or pattern!r}; its last lines:\n{self.tail()}")

    def consumed_since(self, mark):
        """The console text printed after position `mark` (a len(self.seen) taken earlier)."""
        return self.seen[mark:]

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def wait(self, timeout):
        """Waits for QEMU to exit (the guest powered off); returns its status."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            self._check_panic("power-off")
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise Failure(f"QEMU still running after {timeout:.0f} s; last console lines:\n"
                              f"{self.tail()}")
            self._read(min(left, 0.5))
        while self._read(0):
            if self.proc.stdout.closed:
                break
            try:
                if not self.proc.stdout.peek():
                    break
            except (ValueError, OSError):
                break
        return self.proc.returncode

    def power_off(self, what="the guest"):
        """Chooses "Power off" at the menu's prompt; QEMU must then exit with status 0."""
        self.send("p\n")
        status = self.wait(60)
        if status != 0:
            raise Failure(f"{what}: QEMU exited with status {status} after power off")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        self.kill()
        if self.log:
            self.log.close()
            self.qemu_log.close()

    def tail(self, lines=30):
        return "\n".join(self.seen.splitlines()[-lines:])

    def serial1_text(self):
        with open(self.serial1, "rb") as f:
            return f.read().decode("utf-8", errors="replace").replace("\r", "")


def run_to_power_off(out_dir, args, timeout, what):
    """Boots a guest that powers itself off (boot options, a test init); returns the closed
    Guest for its serial output. Raises Failure unless QEMU exits with status 0 in time."""
    guest = Guest(out_dir, args).start()
    try:
        status = guest.wait(timeout)
    finally:
        guest.close()
    print(f"{what}: QEMU exited with status {status} after {guest.elapsed():.0f} s")
    if status != 0:
        raise Failure(f"{what} did not power off cleanly (QEMU status {status}):\n{guest.tail()}")
    return guest


def report_text(console):
    """The last complete report on the console: from its header to vmcheck's status line."""
    headers = list(re.finditer(r"^vmprep live \S+ on \S+; kernel command line:$", console,
                               re.MULTILINE))
    m = headers and re.search(REPORT_END, console[headers[-1].start():], re.MULTILINE)
    if not m:
        raise Failure("no complete report (header to 'vmcheck exited with status') on the console")
    return console[headers[-1].start():headers[-1].start() + m.end()]


def finding_line(report, finding_id):
    """The line of `report` that states finding `finding_id`: (severity, summary)."""
    m = re.search(r"^  (PASS|NOTE|WARN|FAIL|SKIP)  (.*)  \(" + re.escape(finding_id) + r"\)$",
                  report, re.MULTILINE)
    if not m:
        raise Failure(f"the report has no line for {finding_id}:\n{report}")
    return m.group(1).lower(), m.group(2)


def retry_boot(what, boot):
    """Runs boot() (one QEMU run and its checks); if it failed because the guest kernel hit
    TIMER_PANIC, says so and runs it once more. Every other failure, and a second panic, is a
    failure."""
    try:
        return boot()
    except Failure as e:
        if TIMER_PANIC not in str(e):
            raise
        print(f"note: {what}: the guest kernel panicked in its early timer check ({TIMER_PANIC}),"
              " which QEMU's TCG causes when the host starves it of CPU; booting once more",
              file=sys.stderr)
    return boot()


def run_test(main):
    """Runs main(iso, work) for a test script invoked as `SCRIPT ISO [WORK_DIR]`. Without
    WORK_DIR the work happens in a new folder of $VMPREP_CACHE (default
    /var/cache/vmprep-tests), removed afterwards (pass or fail) unless VMPREP_KEEP is set.
    A Failure is printed as "FAIL: ..." and exits 1."""
    if len(sys.argv) not in (2, 3):
        print(f"usage: {sys.argv[0]} ISO [WORK_DIR]", file=sys.stderr)
        sys.exit(2)
    iso = os.path.abspath(sys.argv[1])
    if not os.path.exists(iso):
        print(f"FAIL: no ISO at {iso} (iso.build makes it)", file=sys.stderr)
        sys.exit(1)
    temporary = len(sys.argv) == 2
    if temporary:
        cache = os.environ.get("VMPREP_CACHE", "/var/cache/vmprep-tests")
        os.makedirs(cache, exist_ok=True)
        work = tempfile.mkdtemp(prefix="iso-" + os.path.basename(sys.argv[0])[:-3] + ".",
                                dir=cache)
    else:
        work = os.path.abspath(sys.argv[2])
        os.makedirs(work, exist_ok=True)
    status = 0
    try:
        main(iso, work)
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        status = 1
    if temporary and os.environ.get("VMPREP_KEEP"):
        print(f"work folder kept: {work}", file=sys.stderr)
    elif temporary:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(status)
