#!/usr/bin/env python3
"""Grow the captured intel-iommu sysroot into a synthetic one with N more PCI devices.

Starts from an extracted copy of tests/sysroots/intel-iommu.tar.xz (a q35 guest with Intel
vIOMMU, captured from Debian 12's kernel) and adds N endpoint functions in the same shape the
kernel gave the captured ones: every generated device is a copy of a captured device's
attribute files (config bytes included), with the kernel's relative symlinks (driver,
iommu_group, iommu, bus/pci/devices, drivers/<drv>/<bdf>, iommu_groups/<n>/devices/<bdf>,
dmar0/devices/<bdf>, class/net/<if>) recomputed for the new location.

Topology, repeated until N endpoints exist (cycle of five units, each behind its own
generated QEMU PCIe root port, a copy of 0000:00:03.0):
  A8, A2, A1, A4  a multi-function e1000e (copy of 0000:02:00.0) with 8/2/1/4 functions on
                  the root port's secondary bus; its functions share one IOMMU group, as
                  functions without ACS do; each e1000e has its net/ethN as captured
  B62             a pcie-pci-bridge (copy of 0000:04:00.0) with 31 slots x 2 functions of
                  conventional PCI devices (16550 serial 0000:05:01.0 / ICH9 HDA 0000:05:02.0
                  copies, by slot) behind it; the bridge and all of them share one group
Root ports are multi-function (slot.0-7) on bus 00, as libvirt places them. A quarter of the
devices (or whatever domain 0000 cannot hold: it has 250 free bus numbers) go to PCI domain
10000 (as Intel VMD creates), to exercise 5-digit domains. Group numbers continue after the
capture's with a gap after every fifth group, as hot-unplug leaves them.

The only bytes changed in copied config space are those the topology dictates: bridge bus
numbers (0x18-0x1a) and the multi-function bit of the header type (0x0e).

Usage: make-sysroot.py [-n N] [--capture TARBALL] [--force] OUTDIR
Writes OUTDIR/runtime, OUTDIR/config, OUTDIR/expected/{pci,iommu_groups}.txt (the capture's
lists plus the generated devices) and OUTDIR/README.
"""

import argparse
import os
import shutil
import sys
import tarfile
from pathlib import Path

SYS = "runtime/sys"
# Captured devices used as templates (paths under runtime/sys/devices).
ROOT_PORT = "pci0000:00/0000:00:03.0"
E1000E = "pci0000:00/0000:00:04.0/0000:02:00.0"
PCI_BRIDGE = "pci0000:00/0000:00:06.0/0000:04:00.0"
SERIAL = "pci0000:00/0000:00:06.0/0000:04:00.0/0000:05:01.0"
HDA = "pci0000:00/0000:00:06.0/0000:04:00.0/0000:05:02.0"
GROUP_TEMPLATE = "kernel/iommu_groups/8"
PCIEHP_SLOT_TEMPLATE = "bus/pci/slots/0-3"
SHPC_SLOT_TEMPLATE = "bus/pci/slots/1"

UNITS = [("A", 8), ("A", 2), ("A", 1), ("A", 4), ("B", 62)]
BRIDGE_SLOTS = range(1, 32)  # slot 0 behind a pcie-pci-bridge is the SHPC's, as captured


def kernel_link(link: Path, target: Path) -> None:
    """Symlink as sysfs writes it: up to the common ancestor of the link's directory and the
    target's parent, then down (so a link to an ancestor still names it, ../../../0000:02:00.0)."""
    rel = os.path.relpath(target.parent, link.parent)
    text = target.name if rel == "." else f"{rel}/{target.name}"
    link.symlink_to(text)


class Template:
    """One captured device directory: plain attribute files and which links it has."""

    def __init__(self, root: Path, rel: str):
        self.dir = root / SYS / "devices" / rel
        self.files = {}
        self.links = set()
        for entry in sorted(self.dir.iterdir()):
            if entry.is_symlink():
                self.links.add(entry.name)
            elif entry.is_file():
                self.files[entry.name] = (entry.read_bytes(), entry.stat().st_mode & 0o7777)
        self.driver = (os.readlink(self.dir / "driver").rsplit("/", 1)[1]
                       if "driver" in self.links else None)
        self.net = sorted((self.dir / "net").iterdir()) if (self.dir / "net").is_dir() else []


class Generator:
    def __init__(self, out: Path):
        self.out = out
        self.sys = out / SYS
        self.t_rp = Template(out, ROOT_PORT)
        self.t_eth = Template(out, E1000E)
        self.t_br = Template(out, PCI_BRIDGE)
        self.t_ser = Template(out, SERIAL)
        self.t_hda = Template(out, HDA)
        groups = [int(p.name) for p in (self.sys / "kernel/iommu_groups").iterdir()]
        self.next_group = max(groups) + 1
        self.groups_made = 0
        self.ifindex = 1 + max(int((p / "ifindex").read_text())
                               for p in (self.sys / "class/net").iterdir())
        self.eth = 1 + max(int(p.name[3:]) for p in (self.sys / "class/net").iterdir()
                           if p.name.startswith("eth"))
        self.slot_suffix = 5  # pciehp names 0, 0-2 .. 0-4 are taken in the capture
        self.shpc_suffix = 2
        self.pci_lines = []
        self.group_lines = []
        self.endpoints = 0

    # --- pieces -------------------------------------------------------------------------

    def new_group(self) -> int:
        n = self.next_group
        self.groups_made += 1
        self.next_group += 2 if self.groups_made % 5 == 0 else 1
        g = self.sys / "kernel/iommu_groups" / str(n)
        (g / "devices").mkdir(parents=True)
        for name in ("type", "reserved_regions"):
            src = self.sys / GROUP_TEMPLATE / name
            shutil.copy2(src, g / name)
        return n

    def device(self, t: Template, parent: Path, bdf: str, group: int,
               bus_numbers=None, multifunction=False) -> Path:
        d = parent / bdf
        d.mkdir()
        for name, (data, mode) in t.files.items():
            if name == "config":
                data = bytearray(data)
                if bus_numbers is not None:
                    data[0x18:0x1B] = bytes(bus_numbers)
                if multifunction:
                    data[0x0E] |= 0x80
                data = bytes(data)
            (d / name).write_bytes(data)
            os.chmod(d / name, mode)
        devices = self.sys / "devices"
        if "iommu" in t.links:
            kernel_link(d / "iommu", devices / "virtual/iommu/dmar0")
            kernel_link(devices / "virtual/iommu/dmar0/devices" / bdf, d)
        gdir = self.sys / "kernel/iommu_groups" / str(group)
        kernel_link(d / "iommu_group", gdir)
        kernel_link(gdir / "devices" / bdf, d)
        if t.driver:
            drv = self.sys / "bus/pci/drivers" / t.driver
            kernel_link(d / "driver", drv)
            kernel_link(drv / bdf, d)
        kernel_link(self.sys / "bus/pci/devices" / bdf, d)
        for net in t.net:  # e1000e: one interface, named and numbered as the kernel would
            name = f"eth{self.eth}"
            self.eth += 1
            nd = d / "net" / name
            nd.mkdir(parents=True)
            for f in net.iterdir():
                if f.is_symlink():
                    continue
                data = f.read_bytes()
                if f.name == "ifindex":
                    data = f"{self.ifindex}\n".encode()
                    self.ifindex += 1
                elif f.name == "address":
                    n = self.ifindex
                    data = f"52:54:00:{n >> 16 & 0xff:02x}:{n >> 8 & 0xff:02x}:{n & 0xff:02x}\n".encode()
                (nd / f.name).write_bytes(data)
                os.chmod(nd / f.name, f.stat().st_mode & 0o7777)
            kernel_link(nd / "device", d)
            kernel_link(self.sys / "class/net" / name, nd)
        vendor = t.files["vendor"][0].decode().strip()[2:]
        dev = t.files["device"][0].decode().strip()[2:]
        cls = t.files["class"][0].decode().strip()[2:]
        self.pci_lines.append(f"{bdf} {vendor}:{dev} {cls}")
        self.group_lines.append(f"{group} {bdf}")
        return d

    def slot(self, template: str, name: str, address: str) -> None:
        s = self.sys / "bus/pci/slots" / name
        shutil.copytree(self.sys / template, s, symlinks=True)
        (s / "address").write_text(address + "\n")

    # --- units --------------------------------------------------------------------------

    def unit(self, dom: str, host: Path, rp_bdf: str, bus: int, kind: str, count: int) -> None:
        """A root port at rp_bdf with secondary bus `bus`, and `count` endpoints behind it."""
        last = bus + 1 if kind == "B" else bus
        rp = self.device(self.t_rp, host, rp_bdf, self.new_group(), bus_numbers=(0, bus, last),
                         multifunction=True)
        self.slot(PCIEHP_SLOT_TEMPLATE, f"0-{self.slot_suffix}", f"{dom}:{bus:02x}:00")
        self.slot_suffix += 1
        if kind == "A":
            group = self.new_group()
            for fn in range(count):
                self.device(self.t_eth, rp, f"{dom}:{bus:02x}:00.{fn}", group,
                            multifunction=count > 1)
        else:
            group = self.new_group()
            br = self.device(self.t_br, rp, f"{dom}:{bus:02x}:00.0", group,
                             bus_numbers=(bus, bus + 1, bus + 1))
            made = 0
            for s in BRIDGE_SLOTS:
                self.slot(SHPC_SLOT_TEMPLATE, f"{s}-{self.shpc_suffix}", f"{dom}:{bus + 1:02x}:{s:02x}")
                for fn in range(2):
                    if made == count:
                        break
                    t = self.t_ser if s % 2 else self.t_hda
                    self.device(t, br, f"{dom}:{bus + 1:02x}:{s:02x}.{fn}", group, multifunction=True)
                    made += 1
            self.shpc_suffix += 1
        self.endpoints += count


class Domain:
    def __init__(self, gen: Generator, dom: int, slots, first_bus: int):
        self.gen = gen
        self.name = f"{dom:04x}"
        self.host = gen.sys / "devices" / f"pci{self.name}:00"
        self.host.mkdir(exist_ok=True)
        self.ports = [(s, f) for s in slots for f in range(8)]
        self.bus = first_bus

    def fill(self, want: int, cycle: list) -> int:
        """Add units until `want` endpoints or the domain is full; returns endpoints added."""
        added = 0
        while added < want and self.ports:
            kind, size = cycle[0]
            need = 2 if kind == "B" else 1
            if self.bus + need - 1 > 255:
                break
            cycle.append(cycle.pop(0))
            size = min(size, want - added)
            s, f = self.ports.pop(0)
            self.gen.unit(self.name, self.host, f"{self.name}:00:{s:02x}.{f}", self.bus, kind, size)
            self.bus += need
            added += size
        return added


def main() -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("-n", "--devices", type=int, default=4096, help="endpoints to add (4096)")
    ap.add_argument("--capture", type=Path, default=here.parent / "sysroots/intel-iommu.tar.xz")
    ap.add_argument("--force", action="store_true", help="replace OUTDIR if it exists")
    args = ap.parse_args()
    out = args.outdir
    if out.exists():
        if not args.force:
            print(f"make-sysroot: {out} exists (use --force)", file=sys.stderr)
            return 2
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with tarfile.open(args.capture) as tar:
        if hasattr(tarfile, "fully_trusted_filter"):
            tar.extractall(out, filter="fully_trusted")  # our own capture; keeps modes
        else:
            tar.extractall(out)

    gen = Generator(out)
    n = args.devices
    in_vmd = n // 4 if n >= 2 else 0
    cycle = list(UNITS)
    # Bus 00 of domain 0000 holds the capture's devices at 00, 02-06 and 1f; buses 00-05 used.
    dom0 = Domain(gen, 0x0000, range(0x07, 0x1F), 6)
    left = n - dom0.fill(n - in_vmd, cycle)
    dom = 0x10000
    while left > 0:
        d = Domain(gen, dom, range(0x00, 0x20), 1)
        got = d.fill(left, cycle)
        if got == 0:
            print("make-sysroot: ran out of bus numbers", file=sys.stderr)
            return 1
        left -= got
        dom += 1

    with open(out / "expected/pci.txt", "a") as f:
        f.writelines(line + "\n" for line in gen.pci_lines)
    with open(out / "expected/iommu_groups.txt", "a") as f:
        f.writelines(line + "\n" for line in gen.group_lines)
    with open(out / "README", "a") as f:
        f.write(f"\nSYNTHETIC: tests/bench/make-sysroot.py added {gen.endpoints} endpoint "
                f"functions ({len(gen.pci_lines)} PCI functions with their root ports and "
                f"bridges) to this capture; see that script for the shape.\n")
    total = sum(1 for _ in (out / SYS / "bus/pci/devices").iterdir())
    print(f"{out}: {gen.endpoints} endpoints, {len(gen.pci_lines)} functions added, "
          f"{total} PCI functions in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
