/// vfio.access: may the user (vmcheck --user NAME, else whoever runs vmcheck) open the VFIO
/// container /dev/vfio/vfio and the group node /dev/vfio/N of every passthrough device?
/// QEMU run by that user opens them; root always may. Judged from each node's mode and
/// ownership (/etc/group for the user's groups) and vmprep's udev rule (system/device_access.h)
/// for nodes that udev has not changed yet or that appear only when a device binds. Part of
/// the vfio check (checks/probes/vfio.cc).
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "checks/probes/vfio_internal.h"
#include "core/text.h"
#include "system/device_access.h"
#include "system/fixer_ids.h"

namespace vmprep::vfio_internal {
namespace {

struct NodeVerdicts {
  std::vector<std::string> denied;     // present, and the user may not open it
  std::vector<std::string> predicted;  // not there yet, and will not be the user's
  std::vector<std::string> pending;    // vmprep's rule gives it to the user once udev runs
  std::vector<Evidence> evidence;
};

// `listed`: the user as /etc/group lists them now, which for the user running vmcheck may
// differ from the groups of this login (joined since: pending until they log in again).
void JudgeNode(const Host& host, const Identity& who, const Identity& listed,
               const DeviceAccessRules& rules, const std::string& path, AccessNode kind,
               NodeVerdicts& v) {
  const bool rule = RulesGrant(host, rules, kind, listed);
  auto st = host.Stat(Root::kRuntime, path);
  if (!st) {
    // Made when vfio loads (the container, 0666) or when a device of the group binds to
    // vfio-pci (root's 0600 unless a udev rule says otherwise).
    const bool will_open = who.uid == 0 || kind == AccessNode::kVfioContainer || rule;
    v.evidence.push_back({path, st.error().errno_value == ENOENT ? std::string("does not exist yet")
                                                                 : st.error().message});
    if (!will_open) v.predicted.push_back(path);
    return;
  }
  v.evidence.push_back({path, DescribeNode(host, *st)});
  if (MayReadWrite(who, *st)) return;
  (rule || MayReadWrite(listed, *st) ? v.pending : v.denied).push_back(path);
}

// The hint and fixer for nodes the user may not open.
void SetAccessFix(const Host& host, const Identity& who, Finding& f) {
  auto group = AccessGroup(host);
  if (!group || !LookupIdentity(host, who.name)) {
    f.hint = fmt::format(
        "Give the nodes to a group {} is in with a udev rule in {} "
        "(`SUBSYSTEM==\"vfio\", GROUP=\"kvm\", MODE=\"0660\"`), then run `udevadm trigger "
        "--subsystem-match=vfio`.",
        who.name, kDeviceAccessRules);
    return;
  }
  f.hint = fmt::format(
      "Run `vmsetup apply --enable access={0}`: it adds {0} to group {1} and writes {2} "
      "(`SUBSYSTEM==\"vfio\", GROUP=\"{1}\", MODE=\"0660\"`); then `udevadm trigger "
      "--subsystem-match=vfio` and log in again.",
      who.name, *group, kDeviceAccessRules);
  f.SetFix(kFixDeviceAccess, {"--enable", "access=" + who.name});
}

}  // namespace

void AccessFinding(const VfioState& s, const PciScan& scan, const Identity& who,
                   std::vector<Finding>& out) {
  if (s.targets.empty()) return;
  std::set<int> groups;
  for (const auto& t : s.targets) {
    auto it = scan.extra.find(t.address);
    if (it != scan.extra.end() && it->second.device.iommu_group >= 0)
      groups.insert(it->second.device.iommu_group);
  }
  const DeviceAccessRules rules = ReadDeviceAccessRules(s.host);
  const Identity listed = LookupIdentity(s.host, who.name).value_or(who);
  NodeVerdicts v;
  JudgeNode(s.host, who, listed, rules, "/dev/vfio/vfio", AccessNode::kVfioContainer, v);
  for (int g : groups) {
    JudgeNode(s.host, who, listed, rules, fmt::format("/dev/vfio/{}", g), AccessNode::kVfioGroup,
              v);
  }
  Finding* f;
  if (!v.denied.empty()) {
    f = &Make(out, "access", Severity::kFail,
              fmt::format("{} may not open {} read-write", who.name, Join(v.denied, ", ")));
    SetAccessFix(s.host, who, *f);
  } else if (!v.predicted.empty()) {
    f = &Make(out, "access", Severity::kWarn,
              fmt::format("{} will not be able to open {}: the kernel makes it root's (0600) "
                          "when the device binds to vfio-pci",
                          who.name, Join(v.predicted, ", ")));
    SetAccessFix(s.host, who, *f);
  } else if (!v.pending.empty()) {
    f = &Make(out, "access", Severity::kWarn, "");
    f->SetPending(
        fmt::format("{} may not open {} yet: a group {} joined since logging in, or the udev "
                    "rule in {}, gives it to them",
                    who.name, Join(v.pending, ", "), who.name, kDeviceAccessRules),
        "Run `udevadm trigger --subsystem-match=vfio --subsystem-match=misc` (or reboot) so "
        "udev applies the rule, and log in again.");
  } else {
    f = &Make(
        out, "access", Severity::kPass,
        fmt::format("{} may open the VFIO container and the passthrough groups' nodes", who.name));
  }
  f->evidence = std::move(v.evidence);
}

}  // namespace vmprep::vfio_internal
