#include "system/topology.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <utility>

namespace vmprep {
namespace {

std::optional<std::uint32_t> ParseHex(std::string_view text, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  std::uint32_t value = 0;
  for (char c : text) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    value = value * 16 + static_cast<std::uint32_t>(digit);
  }
  return value;
}

Error AddressError(std::string_view text, std::string_view why) {
  return Error{.message = fmt::format("bad PCI address \"{}\": {}; expected dddd:bb:dd.f "
                                      "or bb:dd.f in hex",
                                      text, why)};
}

}  // namespace

std::expected<PciAddress, Error> PciAddress::Parse(std::string_view text) {
  PciAddress address;
  std::string_view rest = text;
  // Two colons: a domain is present.
  if (std::count(text.begin(), text.end(), ':') == 2) {
    std::size_t colon = rest.find(':');
    auto domain = ParseHex(rest.substr(0, colon), 5);
    if (!domain) return std::unexpected(AddressError(text, "domain is not 1-5 hex digits"));
    address.domain = *domain;
    rest = rest.substr(colon + 1);
  }
  std::size_t colon = rest.find(':');
  std::size_t dot = rest.find('.');
  if (colon == std::string_view::npos || dot == std::string_view::npos || dot < colon) {
    return std::unexpected(AddressError(text, "missing ':' or '.'"));
  }
  std::string_view bus_text = rest.substr(0, colon);
  std::string_view device_text = rest.substr(colon + 1, dot - colon - 1);
  std::string_view function_text = rest.substr(dot + 1);
  if (bus_text.size() != 2) return std::unexpected(AddressError(text, "bus is not 2 hex digits"));
  if (device_text.size() != 2) {
    return std::unexpected(AddressError(text, "device is not 2 hex digits"));
  }
  if (function_text.size() != 1) {
    return std::unexpected(AddressError(text, "function is not 1 digit"));
  }
  auto bus = ParseHex(bus_text, 2);
  auto device = ParseHex(device_text, 2);
  auto function = ParseHex(function_text, 1);
  if (!bus) return std::unexpected(AddressError(text, "bus is not hex"));
  if (!device || *device > 0x1f) {
    return std::unexpected(AddressError(text, "device is not hex 00-1f"));
  }
  if (!function || *function > 7) return std::unexpected(AddressError(text, "function is not 0-7"));
  address.bus = static_cast<std::uint8_t>(*bus);
  address.device = static_cast<std::uint8_t>(*device);
  address.function = static_cast<std::uint8_t>(*function);
  return address;
}

std::string PciAddress::ToString() const {
  return fmt::format("{:04x}:{:02x}:{:02x}.{:x}", domain, bus, device, function);
}

std::string PciAddress::ShortString() const {
  if (domain != 0) return ToString();
  return fmt::format("{:02x}:{:02x}.{:x}", bus, device, function);
}

std::optional<std::uint8_t> PciDevice::BaseClass() const {
  if (!class_code) return std::nullopt;
  return static_cast<std::uint8_t>((*class_code >> 16) & 0xff);
}

std::optional<std::uint8_t> PciDevice::SubClass() const {
  if (!class_code) return std::nullopt;
  return static_cast<std::uint8_t>((*class_code >> 8) & 0xff);
}

bool PciDevice::IsPciBridge() const {
  if (!class_code) return false;
  std::uint32_t cls = *class_code >> 8;
  return cls == 0x0604 || cls == 0x0607 || cls == 0x0609;
}

bool PciDevice::IsHostBridge() const { return class_code && (*class_code >> 8) == 0x0600; }

bool PciDevice::IsOtherBridge() const { return BaseClass() == 0x06 && !IsPciBridge(); }

std::string PlatformBridgeReason(const PciDevice& bridge) {
  return fmt::format(
      "{} bound to {}: the host uses it, vfio-pci never takes bridges, and vfio accepts a "
      "group only while such a bridge has no driver",
      bridge.IsHostBridge() ? "host bridge" : "platform bridge (ISA/LPC or other)", bridge.driver);
}

bool PciDevice::IsDisplay() const { return BaseClass() == 0x03; }
bool PciDevice::IsStorage() const { return BaseClass() == 0x01; }
bool PciDevice::IsNetwork() const { return BaseClass() == 0x02; }
bool PciDevice::IsUsb() const { return class_code && (*class_code >> 8) == 0x0c03; }

std::string PciDevice::Label() const {
  std::string label = class_name.empty() ? std::string("device") : class_name;
  label += " " + address.ToString();
  if (vendor_id && device_id) {
    label += fmt::format(" [{:04x}:{:04x}]", *vendor_id, *device_id);
  }
  if (!description.empty()) label += " (" + description + ")";
  return label;
}

std::expected<void, Error> Topology::Add(PciDevice device) {
  auto [it, inserted] = devices_.try_emplace(device.address, device);
  if (inserted) return {};
  const PciDevice& old = it->second;
  if (old.iommu_group != device.iommu_group || old.vendor_id != device.vendor_id ||
      old.device_id != device.device_id || old.class_code != device.class_code) {
    return std::unexpected(Error{
        .message = fmt::format("{} is listed twice with different data (group {} vs {})",
                               device.address.ToString(), old.iommu_group, device.iommu_group)});
  }
  return {};
}

const PciDevice* Topology::Find(const PciAddress& address) const {
  auto it = devices_.find(address);
  return it == devices_.end() ? nullptr : &it->second;
}

PciDevice* Topology::FindMutable(const PciAddress& address) {
  auto it = devices_.find(address);
  return it == devices_.end() ? nullptr : &it->second;
}

std::map<int, std::vector<const PciDevice*>> Topology::Groups() const {
  std::map<int, std::vector<const PciDevice*>> groups;
  for (const auto& [address, device] : devices_) {
    if (device.iommu_group >= 0) groups[device.iommu_group].push_back(&device);
  }
  return groups;
}

std::vector<const PciDevice*> Topology::GroupMembers(int group) const {
  std::vector<const PciDevice*> members;
  if (group < 0) return members;
  for (const auto& [address, device] : devices_) {
    if (device.iommu_group == group) members.push_back(&device);
  }
  return members;
}

std::vector<const PciDevice*> Topology::Displays() const {
  std::vector<const PciDevice*> displays;
  for (const auto& [address, device] : devices_) {
    if (device.IsDisplay()) displays.push_back(&device);
  }
  return displays;
}

const HostNeed* HostNeeds::Find(const PciAddress& address) const {
  for (const HostNeed& need : needs) {
    if (need.address == address) return &need;
  }
  return nullptr;
}

void HostNeeds::Add(const PciAddress& address, std::string reason, NeedKind kind) {
  if (Find(address) != nullptr) return;  // the first reason found is the strongest
  needs.push_back(HostNeed{address, std::move(reason), kind});
}

HostNeeds PresumeHostNeeds(const Topology& topology, const PciAddress& target) {
  HostNeeds needs;
  for (const auto& [address, device] : topology.devices()) {
    if (address.SameSlot(target)) continue;
    if (device.IsStorage()) {
      needs.Add(address, "storage controller: may hold the host's boot disk");
    } else if (device.IsNetwork()) {
      needs.Add(address, "network controller: may carry the host's network");
    } else if (device.IsUsb()) {
      needs.Add(address, "USB controller: may serve the host's keyboard, mouse or boot disk");
    } else if (device.IsDisplay() && device.boot_vga == true) {
      needs.Add(address, "boot VGA device: the host's console");
    }
  }
  return needs;
}

std::string_view IsolationName(Isolation isolation) {
  switch (isolation) {
    case Isolation::kIsolated:
      return "isolated";
    case Isolation::kSharesWithHostDevice:
      return "shares-with-host-device";
    case Isolation::kSharesWithOtherDevices:
      return "shares-with-other-devices";
    case Isolation::kNoGroup:
      return "no-group";
    case Isolation::kNotFound:
      return "not-found";
  }
  return "not-found";
}

std::optional<Isolation> IsolationFromName(std::string_view name) {
  for (Isolation isolation :
       {Isolation::kIsolated, Isolation::kSharesWithHostDevice, Isolation::kSharesWithOtherDevices,
        Isolation::kNoGroup, Isolation::kNotFound}) {
    if (IsolationName(isolation) == name) return isolation;
  }
  return std::nullopt;
}

std::string_view MemberRoleName(MemberRole role) {
  switch (role) {
    case MemberRole::kSameDevice:
      return "same-device";
    case MemberRole::kBridge:
      return "bridge";
    case MemberRole::kHostNeeded:
      return "host-needed";
    case MemberRole::kOtherEndpoint:
      return "other-endpoint";
  }
  return "other-endpoint";
}

std::vector<const GroupMember*> IsolationVerdict::WithRole(MemberRole role) const {
  std::vector<const GroupMember*> result;
  for (const GroupMember& member : members) {
    if (member.role == role) result.push_back(&member);
  }
  return result;
}

namespace {
std::string JoinLabels(const std::vector<const GroupMember*>& members, bool with_why) {
  std::string text;
  for (const GroupMember* member : members) {
    if (!text.empty()) text += "; ";
    text += member->device.Label();
    if (with_why && !member->why.empty()) text += " — " + member->why;
  }
  return text;
}

}  // namespace

std::string IsolationVerdict::Summary() const {
  std::string who = target.ToString();
  switch (isolation) {
    case Isolation::kNotFound:
      return fmt::format("{} is not in the PCI topology", who);
    case Isolation::kNoGroup:
      return fmt::format("{} has no IOMMU group: the IOMMU is off or not enabled", who);
    case Isolation::kIsolated: {
      auto same = WithRole(MemberRole::kSameDevice);
      if (same.empty()) return fmt::format("{} is alone in IOMMU group {}", who, group);
      return fmt::format("{} is isolated in IOMMU group {} with its own functions: {}", who, group,
                         JoinLabels(same, false));
    }
    case Isolation::kSharesWithHostDevice:
      return fmt::format("{} shares IOMMU group {} with devices the host needs: {}", who, group,
                         JoinLabels(WithRole(MemberRole::kHostNeeded), true));
    case Isolation::kSharesWithOtherDevices:
      return fmt::format(
          "{} shares IOMMU group {} with other devices that must go to the VM "
          "with it: {}",
          who, group, JoinLabels(WithRole(MemberRole::kOtherEndpoint), false));
  }
  return who;
}

IsolationVerdict JudgeIsolation(const Topology& topology, const PciAddress& target,
                                const HostNeeds& needs) {
  IsolationVerdict verdict;
  verdict.target = target;
  const PciDevice* device = topology.Find(target);
  if (device == nullptr) {
    verdict.isolation = Isolation::kNotFound;
    return verdict;
  }
  if (const HostNeed* need = needs.Find(target)) verdict.target_needed_by_host = need->reason;
  verdict.group = device->iommu_group;
  if (device->iommu_group < 0) {
    verdict.isolation = Isolation::kNoGroup;
    return verdict;
  }
  for (const auto& [address, other] : topology.devices()) {
    if (address != target && address.SameSlot(target) && other.iommu_group != device->iommu_group) {
      verdict.functions_in_other_groups.push_back(other);
    }
  }
  bool host_needed = false;
  bool other_endpoint = false;
  for (const PciDevice* member : topology.GroupMembers(device->iommu_group)) {
    if (member->address == target) continue;
    GroupMember entry{.device = *member};
    if (const HostNeed* need = needs.Find(member->address)) {
      entry.role = MemberRole::kHostNeeded;
      entry.why = need->reason;
      host_needed = true;
    } else if (member->address.SameSlot(target)) {
      entry.role = MemberRole::kSameDevice;
      entry.why = "another function of the same device";
    } else if (member->IsPciBridge()) {
      entry.role = MemberRole::kBridge;
      entry.why = "PCI bridge: vfio accepts it bound to pcieport";
    } else if (member->IsOtherBridge() && member->driver.empty()) {
      entry.role = MemberRole::kBridge;
      entry.why = "bridge with no driver bound";
    } else if (member->IsOtherBridge()) {
      entry.role = MemberRole::kHostNeeded;
      entry.why = PlatformBridgeReason(*member);
      host_needed = true;
    } else {
      entry.role = MemberRole::kOtherEndpoint;
      other_endpoint = true;
    }
    verdict.members.push_back(std::move(entry));
  }
  if (host_needed) {
    verdict.isolation = Isolation::kSharesWithHostDevice;
  } else if (other_endpoint) {
    verdict.isolation = Isolation::kSharesWithOtherDevices;
  } else {
    verdict.isolation = Isolation::kIsolated;
  }
  return verdict;
}

std::string IsolationHint(const IsolationVerdict& verdict) {
  constexpr std::string_view kAcsLastResort =
      " Last resort only: the pcie_acs_override=downstream,multifunction kernel parameter "
      "(needs a kernel carrying the out-of-tree ACS override patch, e.g. linux-zen or "
      "Proxmox) makes the kernel split the group although the hardware does not isolate the "
      "devices: they can still reach each other by peer-to-peer DMA, so the VM may read or "
      "corrupt the memory of the host device. Use it only with a guest you trust.";
  std::string target = verdict.target.ToString();
  switch (verdict.isolation) {
    case Isolation::kNotFound:
      return fmt::format("Check the address: no PCI device {} exists (see lspci -D).", target);
    case Isolation::kNoGroup:
      return "Enable the IOMMU: turn on VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware "
             "setup and add intel_iommu=on (Intel) to the kernel command line, then reboot.";
    case Isolation::kIsolated: {
      std::string hint = fmt::format("Bind {} to vfio-pci", target);
      auto same = verdict.WithRole(MemberRole::kSameDevice);
      if (!same.empty()) {
        hint += " together with its other functions (";
        for (std::size_t i = 0; i < same.size(); ++i) {
          if (i > 0) hint += ", ";
          hint += same[i]->device.address.ToString();
        }
        hint += ")";
      }
      hint += "; bridges in the group stay on pcieport.";
      return hint;
    }
    case Isolation::kSharesWithHostDevice:
      return fmt::format(
                 "Move the card to another slot (a CPU-attached slot usually gets its own "
                 "group; chipset slots share one), or enable ACS/IOMMU options in the "
                 "firmware setup and update the firmware, then check the groups again. "
                 "Passing the host devices listed ({}) to the VM too would take them from "
                 "the host.",
                 JoinLabels(verdict.WithRole(MemberRole::kHostNeeded), false)) +
             std::string(kAcsLastResort);
    case Isolation::kSharesWithOtherDevices:
      return fmt::format(
                 "Pass every other endpoint of the group to the VM as well (bind {} to "
                 "vfio-pci too), or move the card to a slot with its own group.",
                 JoinLabels(verdict.WithRole(MemberRole::kOtherEndpoint), false)) +
             std::string(kAcsLastResort);
  }
  return "";
}

}  // namespace vmprep
