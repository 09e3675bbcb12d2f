/// Which devices go to vfio-pci (see vfio_selection.h).
#include "system/vfio_selection.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/text.h"
#include "system/host_needs.h"
#include "system/mounts.h"

namespace vmprep {
namespace {

std::string DevicePath(const PciAddress& address) {
  return "/sys/bus/pci/devices/" + address.ToString();
}

bool Allowed(const std::vector<PciAddress>& allow, const PciAddress& address) {
  return std::find(allow.begin(), allow.end(), address) != allow.end();
}

// What giving away a device the host needs costs, for the refusal and for the warning that
// an override prints first.
std::string Consequence(const HostNeed& need) {
  switch (need.kind) {
    case NeedKind::kStorage:
      return "this host could no longer reach its boot disk: it would not boot (or would hang "
             "at boot) once vfio-pci takes the controller";
    case NeedKind::kNetwork:
      return "this host would lose its network connection (and any remote session over it) "
             "once vfio-pci takes the controller at boot";
    case NeedKind::kConsole:
      return "this host loses its console: the screen stays dark from early boot, so you need "
             "another way in (SSH, a serial console or a second GPU); a single-GPU setup also "
             "needs VM start/stop hooks that stop the display manager, unbind the framebuffer "
             "console and efifb, and give the GPU back when the VM stops";
    case NeedKind::kPlatform:
    case NeedKind::kPresumed:
      break;
  }
  return "this host would lose a device it uses";
}

// The members of `device`'s IOMMU group (its own slot's functions without a group).
std::vector<const PciDevice*> GroupOf(const Topology& topology, const PciDevice& device,
                                      std::vector<std::string>* notes) {
  if (device.iommu_group >= 0) return topology.GroupMembers(device.iommu_group);
  std::vector<const PciDevice*> members;
  for (const auto& [address, d] : topology.devices())
    if (address.SameSlot(device.address)) members.push_back(&d);
  notes->push_back(fmt::format(
      "{} has no IOMMU group (the IOMMU is off): only its own functions are chosen; enable "
      "the IOMMU and plan again to include the rest of its group",
      device.address.ToString()));
  return members;
}

// Adds `member` (in the group of `chosen`) to the endpoints, or says why it cannot be.
std::expected<void, Error> Take(const PciDevice& chosen, const PciDevice& member,
                                const HostNeeds& needs, const std::vector<PciAddress>& allow,
                                VfioSelection* sel, std::map<PciAddress, PciDevice>* endpoints) {
  const std::string who = member.address.ToString();
  if (member.IsPciBridge()) return {};  // stays on pcieport; vfio accepts it in the group
  if (member.IsOtherBridge()) {
    if (member.driver.empty()) return {};
    return std::unexpected(
        Error{DevicePath(member.address), 0,
              fmt::format("{} shares IOMMU group {} with {}, a {}. The group cannot go to a VM: "
                          "choose a device in another group (`vmcheck groups` lists them)",
                          chosen.address.ToString(), chosen.iommu_group, who,
                          PlatformBridgeReason(member))});
  }
  if (const HostNeed* need = needs.Find(member.address)) {
    const bool itself = member.address == chosen.address;
    std::string what =
        itself ? fmt::format("{} is {}", who, need->reason)
               : fmt::format("{} shares IOMMU group {} with {}, {}", chosen.address.ToString(),
                             chosen.iommu_group, who, need->reason);
    if (need->kind == NeedKind::kConsole) {
      sel->warnings.push_back(fmt::format("{}: {}.", what, Consequence(*need)));
    } else if (Allowed(allow, member.address)) {
      sel->warnings.push_back(fmt::format("{}: {} (allowed with --allow-host-device {}).", what,
                                          Consequence(*need), who));
    } else {
      return std::unexpected(
          Error{DevicePath(member.address), 0,
                fmt::format("{}: {}. Choose another device (or a slot in another IOMMU group); to "
                            "do it anyway, add --allow-host-device {}",
                            what, Consequence(*need), who)});
    }
  }
  if (member.address != chosen.address && !member.address.SameSlot(chosen.address) &&
      !endpoints->contains(member.address)) {
    sel->notes.push_back(fmt::format("{} goes to vfio-pci with {}: they share IOMMU group {}",
                                     member.Label(), chosen.address.ToString(),
                                     chosen.iommu_group));
  }
  endpoints->emplace(member.address, member);
  return {};
}

}  // namespace

std::string VendorDeviceText(const PciDevice& device) {
  return fmt::format("{:04x}:{:04x}", device.vendor_id.value_or(0), device.device_id.value_or(0));
}

std::expected<VfioSelection, Error> SelectForVfio(
    const Host& host, const std::vector<PciAddress>& devices,
    const std::vector<PciAddress>& allow_host_devices) {
  auto scan = ScanPci(host);
  if (!scan) return std::unexpected(scan.error());
  FoundNeeds needs = FindHostNeeds(host, *scan, ReadMounts(host));
  return SelectFromScan(*scan, needs, devices, allow_host_devices);
}

std::expected<VfioSelection, Error> SelectFromScan(
    const PciScan& scan, const FoundNeeds& needs, const std::vector<PciAddress>& devices,
    const std::vector<PciAddress>& allow_host_devices) {
  VfioSelection sel;
  if (!scan.errors.empty()) {
    Error e = scan.errors.front();
    e.message +=
        "; the plan needs every PCI device (a twin with the same id, a member of the "
        "same IOMMU group) and does not guess: fix the read error and plan again";
    return std::unexpected(e);
  }
  if (!needs.errors.empty()) {
    Error e = needs.errors.front();
    e.message +=
        "; without it the plan cannot tell which devices the host needs (its boot "
        "disk, its network)";
    return std::unexpected(e);
  }
  sel.scan = scan;
  const Topology& topology = sel.scan.topology;
  std::map<PciAddress, PciDevice> endpoints;
  for (const PciAddress& address : devices) {
    const PciDevice* device = topology.Find(address);
    if (device == nullptr) {
      return std::unexpected(Error{DevicePath(address), 0,
                                   fmt::format("no PCI device {} on this machine; expected one "
                                               "of the addresses `lspci -D` lists",
                                               address.ToString())});
    }
    if (device->IsPciBridge() || device->IsOtherBridge()) {
      return std::unexpected(Error{DevicePath(address), 0,
                                   fmt::format("{} is a bridge; vfio-pci never takes bridges: "
                                               "name the device behind it",
                                               device->Label())});
    }
    for (const PciDevice* member : GroupOf(topology, *device, &sel.notes)) {
      if (auto taken = Take(*device, *member, needs.needs, allow_host_devices, &sel, &endpoints);
          !taken)
        return std::unexpected(taken.error());
    }
  }
  for (auto& [address, device] : endpoints) sel.endpoints.push_back(device);

  for (const PciDevice& d : sel.endpoints) {
    const std::string id = VendorDeviceText(d);
    if (std::find(sel.ids.begin(), sel.ids.end(), id) != sel.ids.end()) continue;
    std::vector<std::string> twins;
    for (const auto& [address, other] : topology.devices()) {
      if (!endpoints.contains(address) && other.vendor_id == d.vendor_id &&
          other.device_id == d.device_id)
        twins.push_back(address.ToString());
    }
    if (twins.empty()) {
      sel.ids.push_back(id);
    } else {
      sel.notes.push_back(fmt::format(
          "{} ({}) is not given to vfio-pci by id: {} has the same id and stays with the host; "
          "it is bound by address instead (/etc/vmprep/vfio-bind.conf)",
          d.address.ToString(), id, Join(twins, ", ")));
    }
  }
  return sel;
}

}  // namespace vmprep
