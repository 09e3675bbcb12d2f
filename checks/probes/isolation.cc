/// isolation: can each device meant for passthrough go to a VM on its own?
/// VFIO hands over whole IOMMU groups: every endpoint in the device's group goes to the VM
/// with it. A group that also holds the boot disk's controller, the console GPU or the NIC of
/// the default route means the host loses that device — the classic black screen or dead
/// network after a passthrough tutorial. Reads /sys/bus/pci/devices (through pci_scan),
/// /sys/kernel/iommu_groups, /proc/self/mountinfo, /sys/dev/block, /proc/net/route,
/// /sys/class/net, /proc/cmdline and modprobe.d for vfio-pci ids.
#include "checks/probes/isolation.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "system/facts.h"
#include "system/host_needs.h"
#include "system/kernel_params.h"
#include "system/vfio_config.h"

namespace vmprep {

std::vector<PassthroughTarget> ChoosePassthroughTargets(const Host& host, const PciScan& scan,
                                                        const ProbeContext& context,
                                                        std::vector<Finding>* bad_devices) {
  std::vector<PassthroughTarget> targets;
  for (const auto& text : context.devices) {
    auto a = PciAddress::Parse(text);
    if (!a) {
      Finding& f = AddFinding(*bad_devices, "isolation", "device", Severity::kFail,
                              fmt::format("--device {}: not a PCI address", text));
      f.hint = "Give the address as lspci -D prints it, e.g. 0000:01:00.0.";
      f.evidence.push_back({"(argument)", a.error().message});
      continue;
    }
    targets.push_back({*a, "named with --device", false});
  }
  if (!targets.empty()) return targets;

  const VfioConfig& config = context.Facts(host).Vfio();
  for (const auto& [addr, d] : scan.extra) {
    const PciDevice& p = d.device;
    std::string why;
    if (p.driver == "vfio-pci")
      why = "bound to vfio-pci";
    else if (d.driver_override == "vfio-pci")
      why = "driver_override is vfio-pci";
    else if (auto src = config.BindSource(addr.ToString()))
      why = "bound by address in " + *src;
    else if (auto src = config.IdSource(p.vendor_id.value_or(0), p.device_id.value_or(0)))
      why = "vfio-pci ids in " + *src;
    if (!why.empty()) targets.push_back({addr, why, false});
  }
  if (!targets.empty()) return targets;

  for (const auto& [addr, d] : scan.extra) {
    if (d.device.IsDisplay() && !d.device.boot_vga.value_or(false)) {
      targets.push_back({addr, "a GPU that is not the console (candidate)", true});
    }
  }
  return targets;
}

std::string_view IsolationProbe::Name() const { return "isolation"; }

std::string_view IsolationProbe::Description() const {
  return "IOMMU group of each passthrough device holds nothing the host needs";
}

std::vector<Finding> IsolationProbe::Run(const Host& host, const ProbeContext& context) const {
  std::vector<Finding> out;
  const SystemFacts& facts = context.Facts(host);
  const auto& scan = facts.Pci();
  if (!scan) {
    Finding& f =
        AddFinding(out, "isolation", "scan", Severity::kSkip, "cannot list the PCI devices");
    f.evidence.push_back({"/sys/bus/pci/devices", scan.error().message});
    return out;
  }
  std::vector<Finding> bad;
  auto targets = ChoosePassthroughTargets(host, *scan, context, &bad);
  out.insert(out.end(), bad.begin(), bad.end());
  if (targets.empty()) {
    if (!bad.empty()) return out;
    Finding& f = AddFinding(
        out, "isolation", "none", Severity::kNote,
        "no device is configured for passthrough and no GPU besides the console was found");
    f.hint = "Name the device to check with --device ADDRESS (see `vmcheck groups`).";
    f.evidence.push_back(
        {"/sys/bus/pci/devices", fmt::format("{} devices, none bound to or configured for vfio-pci",
                                             scan->topology.device_count())});
    return out;
  }
  FoundNeeds needs = FindHostNeeds(host, *scan, facts.Mounts());
  const KernelParams& params = facts.Params();
  // Names from pci.ids only now that a device is to be judged: loading them costs more than
  // the rest of the check.
  Topology topology = scan->topology;
  facts.Names().NameAll(&topology);
  const bool acs_override = params.cmdline.Has("pcie_acs_override");

  for (const auto& t : targets) {
    IsolationVerdict v = JudgeIsolation(topology, t.address, needs.needs);
    Finding& f = AddFinding(out, "isolation", t.address.ToString(), Severity::kSkip, v.Summary());
    f.hint = IsolationHint(v);
    const PciDevice* dev = topology.Find(t.address);
    f.evidence.push_back({fmt::format("/sys/bus/pci/devices/{}", t.address.ToString()),
                          dev ? fmt::format("{}; {}", dev->Label(), t.why) : t.why});
    if (v.group >= 0) {
      std::string members;
      for (const auto& m : v.members) {
        members +=
            fmt::format("{}{} ({}{})", members.empty() ? "" : ", ", m.device.address.ToString(),
                        MemberRoleName(m.role), m.why.empty() ? "" : ": " + m.why);
      }
      f.evidence.push_back({fmt::format("/sys/kernel/iommu_groups/{}/devices", v.group),
                            members.empty() ? "no other member" : members});
    }
    for (const auto& e : needs.evidence) {
      if (std::any_of(v.members.begin(), v.members.end(), [&](const GroupMember& m) {
            return m.role == MemberRole::kHostNeeded &&
                   e.value.find(m.device.address.ToString()) != std::string::npos;
          })) {
        f.evidence.push_back(e);
      }
    }
    for (const auto& other : v.functions_in_other_groups) {
      f.evidence.push_back(
          {"/sys/kernel/iommu_groups", fmt::format("{} (same card) is in group {}: pass it too",
                                                   other.address.ToString(), other.iommu_group)});
    }
    switch (v.isolation) {
      case Isolation::kIsolated:
        f.severity = Severity::kPass;
        if (acs_override) {
          f.severity = Severity::kWarn;
          f.summary += ", but only because pcie_acs_override splits the groups";
          f.hint =
              "The hardware does not isolate this group; devices can still reach each other by "
              "peer-to-peer DMA. Prefer a slot whose group is isolated without the override.";
          f.evidence.push_back(params.AsEvidence());
        }
        break;
      case Isolation::kSharesWithOtherDevices:
        f.severity = Severity::kWarn;
        break;
      case Isolation::kSharesWithHostDevice:
        f.severity = t.candidate ? Severity::kWarn : Severity::kFail;
        break;
      case Isolation::kNoGroup:
        f.severity = Severity::kSkip;
        break;
      case Isolation::kNotFound:
        f.severity = Severity::kFail;
        break;
    }
    if (v.target_needed_by_host) {
      f.severity = t.candidate ? Severity::kWarn : Severity::kFail;
      f.summary = fmt::format("{} is needed by the host itself: {}", t.address.ToString(),
                              *v.target_needed_by_host);
      f.hint = fmt::format(
          "Do not give {} to a VM: the host would lose its {}. Choose another "
          "device, or move what the host needs to another controller first.",
          t.address.ToString(), *v.target_needed_by_host);
    }
    if (t.candidate && f.severity != Severity::kSkip) f.summary = "candidate: " + f.summary;
  }
  return out;
}

}  // namespace vmprep
