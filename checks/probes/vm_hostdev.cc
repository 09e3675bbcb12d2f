/// vm.hostdev and vm.firmware: the PCI devices a domain takes from the host. Each must exist,
/// be free for vfio (bound to vfio-pci, or managed='yes' so libvirt detaches it), bring its
/// whole IOMMU group along (vfio refuses a group with a member still on a host driver), and
/// never be a device the host needs. A GPU guest needs UEFI firmware that exists.
#include <fmt/format.h>

#include <algorithm>

#include "checks/probes/vm.h"
#include "system/facts.h"
#include "system/host_needs.h"
#include "system/qemu_install.h"

namespace vmprep {
namespace {

std::optional<PciAddress> HostAddress(const DomainHostdev& h) {
  const DomainPciAddress& a = h.address;
  if (a.domain > 0xfffff || a.bus > 0xff || a.slot > 0x1f || a.function > 7) return std::nullopt;
  return PciAddress{a.domain, static_cast<std::uint8_t>(a.bus), static_cast<std::uint8_t>(a.slot),
                    static_cast<std::uint8_t>(a.function)};
}

std::vector<PciAddress> AssignedAddresses(const Domain& d) {
  std::vector<PciAddress> out;
  for (const auto& h : d.hostdevs)
    if (auto a = HostAddress(h)) out.push_back(*a);
  return out;
}

bool OnHostDriver(const PciDevice& d) {
  return !d.driver.empty() && d.driver != "vfio-pci" && d.driver != "pci-stub";
}

std::string SnippetHint(const PciAddress& a) {
  return fmt::format(
      "`vmsetup vm-snippet --device {}` prints the <hostdev> elements of every function of its "
      "group to add with `virsh edit`.",
      a.ToString());
}

// The members of the group that the domain leaves on the host.
void JudgeGroup(const VmSubject& vm, const DomainHostdev& h, const IsolationVerdict& v,
                const std::vector<PciAddress>& assigned, VmVerdict& out) {
  auto is_assigned = [&](const PciAddress& a) {
    return std::find(assigned.begin(), assigned.end(), a) != assigned.end();
  };
  for (const auto& m : v.members) {
    if (m.role != MemberRole::kOtherEndpoint && m.role != MemberRole::kSameDevice) continue;
    if (is_assigned(m.device.address)) continue;
    out.evidence.push_back({fmt::format("/sys/bus/pci/devices/{}", m.device.address.ToString()),
                            fmt::format("IOMMU group {}, driver {}", v.group,
                                        m.device.driver.empty() ? "none" : m.device.driver)});
    if (OnHostDriver(m.device)) {
      out.Raise(
          Severity::kFail,
          fmt::format("IOMMU group {} of {} is not viable: {} stays on {} and is not in the "
                      "domain",
                      v.group, v.target.ToString(), m.device.address.ToString(), m.device.driver),
          fmt::format("Add {} to the domain as well ({}), or bind it to vfio-pci.",
                      m.device.address.ToString(), vm.Where(h.line)));
    } else {
      out.Raise(Severity::kNote,
                fmt::format("{} shares IOMMU group {} with {}, which the domain leaves unused",
                            v.target.ToString(), v.group, m.device.address.ToString()),
                fmt::format("Pass {} too: no other VM or host driver can use it while this "
                            "one runs.",
                            m.device.address.ToString()));
    }
  }
  for (const auto& fn : v.functions_in_other_groups) {
    if (is_assigned(fn.address) || fn.IsPciBridge()) continue;
    out.Raise(Severity::kNote,
              fmt::format("{} is another function of the same card, not in the domain",
                          fn.address.ToString()),
              fmt::format("Pass {} with it (a GPU's audio or USB-C function goes with the GPU).",
                          fn.address.ToString()));
  }
}

void JudgeDriver(const VmSubject& vm, const DomainHostdev& h, const PciDevice& dev,
                 VmVerdict& out) {
  const std::string a = dev.address.ToString();
  if (dev.driver == "vfio-pci") return;
  if (h.managed) {
    out.evidence.push_back({vm.Where(h.line), fmt::format("managed='yes': libvirt binds {} to "
                                                          "vfio-pci when the domain starts",
                                                          a)});
    return;
  }
  out.Raise(Severity::kFail,
            fmt::format(
                "{} is {} and the domain does not let libvirt detach it (managed='no')", a,
                dev.driver.empty() ? "bound to no driver" : fmt::format("bound to {}", dev.driver)),
            fmt::format("Bind it to vfio-pci at boot (`vmsetup plan --device {}`), or set "
                        "managed='yes' on the <hostdev> at {}.",
                        a, vm.Where(h.line)));
}

void JudgeOne(const VmSubject& vm, const DomainHostdev& h, const PciScan& scan,
              const FoundNeeds& needs, std::vector<Finding>& out) {
  VmVerdict verdict;
  auto address = HostAddress(h);
  if (!address) {
    const auto& a = h.address;
    verdict.Raise(Severity::kFail,
                  fmt::format("<hostdev> source address {:x}:{:x}:{:x}.{:x} is not a PCI address",
                              a.domain, a.bus, a.slot, a.function),
                  fmt::format("Correct the <address> at {}.", vm.Where(h.line)));
    verdict.Emit(vm, out, "hostdev", "", "invalid");
    return;
  }
  const std::string item = address->ToString();
  verdict.evidence.push_back(
      {vm.Where(h.line), fmt::format("<hostdev> {}{}", item, h.managed ? " managed='yes'" : "")});
  const PciDevice* dev = scan.topology.Find(*address);
  if (dev == nullptr) {
    verdict.Raise(Severity::kFail, fmt::format("no PCI device {} exists on this host", item),
                  fmt::format("Correct the <address> at {} (`vmcheck groups` lists the devices; "
                              "addresses change when cards move).",
                              vm.Where(h.line)));
    verdict.Emit(vm, out, "hostdev", "", item);
    return;
  }
  IsolationVerdict v = JudgeIsolation(scan.topology, *address, needs.needs);
  verdict.evidence.push_back({fmt::format("/sys/bus/pci/devices/{}", item),
                              fmt::format("{}; IOMMU group {}; driver {}", dev->Label(), v.group,
                                          dev->driver.empty() ? "none" : dev->driver)});
  if (v.target_needed_by_host) {
    verdict.Raise(Severity::kFail,
                  fmt::format("{} is a device this host needs: {}", item, *v.target_needed_by_host),
                  fmt::format("Remove this <hostdev> ({}) or pass another device: the host would "
                              "lose it when the domain starts.",
                              vm.Where(h.line)));
  } else if (v.isolation == Isolation::kNoGroup ||
             v.isolation == Isolation::kSharesWithHostDevice) {
    verdict.Raise(Severity::kFail, v.Summary(), IsolationHint(v));
  } else {
    JudgeGroup(vm, h, v, AssignedAddresses(vm.domain), verdict);
  }
  if (!v.target_needed_by_host) JudgeDriver(vm, h, *dev, verdict);
  if (verdict.severity != Severity::kPass && verdict.severity != Severity::kFail)
    verdict.hints.push_back(SnippetHint(*address));
  verdict.Emit(
      vm, out, "hostdev",
      fmt::format("{} can be passed through (IOMMU group {}, {})", item, v.group,
                  dev->driver == "vfio-pci" ? "bound to vfio-pci" : "libvirt detaches it at start"),
      item);
}

}  // namespace

void JudgeHostdevs(const VmSubject& vm, std::vector<Finding>& out) {
  if (vm.domain.hostdevs.empty()) return;
  const auto& scan = vm.facts.Pci();
  if (!scan) {
    Finding& f = vm.Add(out, "hostdev", Severity::kSkip,
                        "the PCI devices of this host cannot be listed", "scan");
    f.evidence.push_back({"/sys/bus/pci/devices", scan.error().ToString()});
    return;
  }
  Topology named = scan->topology;
  vm.facts.Names().NameAll(&named);
  PciScan view{named, scan->extra, {}};
  FoundNeeds needs = FindHostNeeds(vm.host, *scan, vm.facts.Mounts());
  for (const auto& h : vm.domain.hostdevs) JudgeOne(vm, h, view, needs, out);
}

void JudgeFirmware(const VmSubject& vm, std::vector<Finding>& out) {
  const auto& scan = vm.facts.Pci();
  if (!scan) return;
  std::string gpu;
  for (const auto& a : AssignedAddresses(vm.domain)) {
    const PciDevice* d = scan->topology.Find(a);
    if (d != nullptr && d->IsDisplay()) gpu = a.ToString();
  }
  if (gpu.empty()) return;
  const DomainOs& os = vm.domain.os;
  VmVerdict v;
  std::vector<std::string> ovmf = InstalledOvmf(vm.host);
  std::string installed = ovmf.empty() ? "none is installed (apt install ovmf)"
                                       : fmt::format("installed: {}", Join(ovmf, ", "));
  v.evidence.push_back({vm.Where(os.line), fmt::format("firmware='{}', loader '{}', nvram '{}'",
                                                       os.firmware, os.loader, os.nvram)});
  if (!os.loader.empty()) {
    if (!vm.host.Exists(Root::kConfig, os.loader))
      v.Raise(Severity::kFail, fmt::format("the firmware {} does not exist", os.loader),
              fmt::format("Point <loader> at {} to an OVMF image of this host ({}).",
                          vm.Where(os.line), installed));
  } else if (os.firmware == "efi") {
    if (ovmf.empty())
      v.Raise(Severity::kFail, "the domain asks for UEFI firmware, but no OVMF is installed",
              "Install it: `apt install ovmf` (Debian/Ubuntu), `dnf install edk2-ovmf` (Fedora).");
  } else {
    v.Raise(Severity::kWarn,
            fmt::format("the GPU {} is passed to a BIOS (SeaBIOS) guest: most GPUs need UEFI", gpu),
            fmt::format("Create the domain with UEFI firmware: <os firmware='efi'> ({}); an "
                        "installed guest needs reinstalling or converting to UEFI boot.",
                        installed));
  }
  if (!os.nvram_template.empty() && !vm.host.Exists(Root::kConfig, os.nvram_template))
    v.Raise(Severity::kFail, fmt::format("the NVRAM template {} does not exist", os.nvram_template),
            "Point <nvram template=...> at the OVMF_VARS image beside the OVMF code you use.");
  v.Emit(vm, out, "firmware",
         fmt::format("UEFI firmware for the GPU {} is in place ({})", gpu,
                     os.loader.empty() ? "chosen by libvirt" : os.loader));
}

}  // namespace vmprep
