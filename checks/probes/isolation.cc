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

#include "core/text.h"
#include "system/facts.h"
#include "system/fixer_ids.h"
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

namespace {

// Whether a device is on vfio-pci, or will be (configured by id or address, or overridden).
bool OnOrForVfio(const ScannedDevice& d, const VfioConfig& config) {
  return d.device.driver == "vfio-pci" || d.driver_override == "vfio-pci" ||
         config.BindSource(d.device.address.ToString()) ||
         config.IdSource(d.device.vendor_id.value_or(0), d.device.device_id.value_or(0));
}

// The group members that keep the group from a VM right now: endpoints (not the target's own
// functions, which go with it) bound to a host driver and not configured for vfio-pci.
std::vector<const GroupMember*> Blockers(const IsolationVerdict& v, const PciScan& scan,
                                         const VfioConfig& config) {
  std::vector<const GroupMember*> out;
  for (const GroupMember& m : v.members) {
    if (m.role != MemberRole::kOtherEndpoint && m.role != MemberRole::kSameDevice) continue;
    auto it = scan.extra.find(m.device.address);
    if (it == scan.extra.end() || it->second.device.driver.empty()) continue;
    if (!OnOrForVfio(it->second, config)) out.push_back(&m);
  }
  return out;
}

void AddGroupEvidence(const IsolationVerdict& v, const FoundNeeds& needs, Finding& f) {
  if (v.group >= 0) {
    std::vector<std::string> members;
    for (const auto& m : v.members) {
      members.push_back(fmt::format("{} ({}{})", m.device.address.ToString(),
                                    MemberRoleName(m.role), m.why.empty() ? "" : ": " + m.why));
    }
    f.evidence.push_back({fmt::format("/sys/kernel/iommu_groups/{}/devices", v.group),
                          members.empty() ? "no other member" : Join(members, ", ")});
  }
  for (const auto& e : needs.evidence) {
    bool relevant =
        v.target_needed_by_host && e.value.find(v.target.ToString()) != std::string::npos;
    for (const auto& m : v.members) {
      relevant = relevant || (m.role == MemberRole::kHostNeeded &&
                              e.value.find(m.device.address.ToString()) != std::string::npos);
    }
    if (relevant) f.evidence.push_back(e);
  }
  for (const auto& other : v.functions_in_other_groups) {
    f.evidence.push_back(
        {"/sys/kernel/iommu_groups", fmt::format("{} (same card) is in group {}: pass it too",
                                                 other.address.ToString(), other.iommu_group)});
  }
}

// The verdict for a target the host itself needs: its console GPU (allowed, with what that
// costs), or its boot disk controller or default-route NIC.
void TargetNeededByHost(const PassthroughTarget& t, const HostNeed& need, Finding& f) {
  const std::string who = t.address.ToString();
  if (need.kind == NeedKind::kConsole) {
    f.severity = Severity::kWarn;
    f.summary = fmt::format(
        "{} is the console GPU: passing it through leaves the host without "
        "its screen (single-GPU passthrough)",
        who);
    f.hint =
        "Possible, but plan for it: keep a way in (SSH or a serial console), and use VM "
        "start/stop hooks that stop the display manager, unbind the framebuffer console "
        "and efifb, and give the GPU back when the VM stops. A second GPU for the host "
        "avoids all of this.";
    return;
  }
  f.severity = t.candidate ? Severity::kWarn : Severity::kFail;
  f.summary = fmt::format("{} is needed by the host itself: {}", who, need.reason);
  f.hint = fmt::format(
      "Do not give {} to a VM: the host would lose its {}. Choose another device, or move "
      "what the host needs to another controller first.",
      who, need.reason);
}

void Judge(const PassthroughTarget& t, const IsolationVerdict& v, const HostNeeds& host_needs,
           const PciScan& scan, const VfioConfig& config, bool acs_override, Finding& f) {
  const std::string who = t.address.ToString();
  auto it = scan.extra.find(t.address);
  const bool on_vfio = it != scan.extra.end() && it->second.device.driver == "vfio-pci";
  const bool configured = it != scan.extra.end() && OnOrForVfio(it->second, config);
  switch (v.isolation) {
    case Isolation::kIsolated:
      f.severity = Severity::kPass;
      if (on_vfio) f.hint = "";  // nothing to do: it is on vfio-pci and alone
      if (acs_override) {
        f.severity = Severity::kWarn;
        f.summary += ", but only because pcie_acs_override splits the groups";
        f.hint =
            "The hardware does not isolate this group; devices can still reach each other by "
            "peer-to-peer DMA. Prefer a slot whose group is isolated without the override.";
      }
      break;
    case Isolation::kSharesWithOtherDevices: {
      auto blockers = Blockers(v, scan, config);
      if (configured && !blockers.empty()) {
        std::vector<std::string> names;
        for (const auto* b : blockers)
          names.push_back(
              fmt::format("{} (on {})", b->device.address.ToString(), b->device.driver));
        f.severity = Severity::kFail;
        f.summary = fmt::format(
            "IOMMU group {} of {} is not viable: {} stays on a host driver, "
            "so VFIO refuses the group",
            v.group, who, Join(names, ", "));
        f.hint = fmt::format(
            "Give the whole group to vfio-pci: `vmsetup plan --device {}` "
            "includes every endpoint of it.",
            who);
        f.SetFix(kFixVfioBind, {"--device", who});
      } else {
        f.severity = blockers.empty() ? Severity::kPass : Severity::kWarn;
        if (blockers.empty()) {
          f.summary = fmt::format(
              "{} shares IOMMU group {} only with endpoints that are on "
              "vfio-pci or have no driver: the group can go to a VM",
              who, v.group);
          f.hint = "";
        }
      }
      break;
    }
    case Isolation::kSharesWithHostDevice: {
      // Only the console GPU in the group: allowed, like choosing the console GPU itself.
      bool console_only = true;
      for (const auto* m : v.WithRole(MemberRole::kHostNeeded)) {
        const HostNeed* need = host_needs.Find(m->device.address);
        console_only = console_only && need && need->kind == NeedKind::kConsole;
      }
      f.severity = t.candidate || console_only ? Severity::kWarn : Severity::kFail;
      break;
    }
    case Isolation::kNoGroup:
      f.severity = Severity::kSkip;
      break;
    case Isolation::kNotFound:
      f.severity = Severity::kFail;
      break;
  }
  if (v.target_needed_by_host) {
    if (const HostNeed* need = host_needs.Find(t.address)) TargetNeededByHost(t, *need, f);
  }
}

}  // namespace

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
  const bool acs_override = facts.Params().cmdline.Has("pcie_acs_override");
  // Names from pci.ids only now that a device is to be judged: loading them costs more than
  // the rest of the check.
  Topology topology = scan->topology;
  facts.Names().NameAll(&topology);
  for (const auto& t : targets) {
    IsolationVerdict v = JudgeIsolation(topology, t.address, needs.needs);
    Finding& f = AddFinding(out, "isolation", t.address.ToString(), Severity::kSkip, v.Summary());
    f.hint = IsolationHint(v);
    const PciDevice* dev = topology.Find(t.address);
    f.evidence.push_back({fmt::format("/sys/bus/pci/devices/{}", t.address.ToString()),
                          dev ? fmt::format("{}; {}", dev->Label(), t.why) : t.why});
    AddGroupEvidence(v, needs, f);
    if (acs_override) f.evidence.push_back(facts.Params().AsEvidence());
    Judge(t, v, needs.needs, *scan, facts.Vfio(), acs_override, f);
    if (t.candidate && f.severity != Severity::kSkip) f.summary = "candidate: " + f.summary;
  }
  return out;
}

}  // namespace vmprep
