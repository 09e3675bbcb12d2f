// Topology: a pure model of the PCI devices of a machine and their IOMMU groups, and the
// isolation verdict for a device to pass through. No I/O here: listings are parsed by
// tests/support/iommu_listing.h, live sysfs trees by the probes.
#pragma once

#include <compare>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace vmprep {

/// A PCI address domain:bus:device.function. The domain has up to 5 hex digits (VMD and
/// some servers use 10000+), bus 8 bits, device 5 bits, function 3 bits.
struct PciAddress {
  std::uint32_t domain = 0;
  std::uint8_t bus = 0;
  std::uint8_t device = 0;
  std::uint8_t function = 0;

  // Accepts "dddd:bb:dd.f" (1 to 5 domain digits, as sysfs prints 5 for VMD domains) and the
  // short "bb:dd.f" (domain 0). Hex is case-insensitive. Nothing else: no spaces, no suffix.
  static std::expected<PciAddress, Error> Parse(std::string_view text);

  // Canonical "dddd:bb:dd.f", lower-case, at least 4 domain digits (sysfs naming).
  std::string ToString() const;
  // "bb:dd.f" when the domain is 0, else ToString(): how lspci prints it.
  std::string ShortString() const;

  // Functions of the same physical device (same domain, bus and device number).
  bool SameSlot(const PciAddress& other) const {
    return domain == other.domain && bus == other.bus && device == other.device;
  }

  auto operator<=>(const PciAddress&) const = default;
  bool operator==(const PciAddress&) const = default;
};

/// One PCI function as a listing or sysfs shows it. Fields a source does not give stay
/// unset (ids/class) or empty (driver, names).
struct PciDevice {
  PciAddress address;
  std::optional<std::uint16_t> vendor_id;
  std::optional<std::uint16_t> device_id;
  // 24-bit class code: base class, subclass, programming interface (0x030000 = VGA).
  // Listings give "[0300]" (prog-if unknown → 0 unless "(prog-if xx)" is printed).
  std::optional<std::uint32_t> class_code;
  std::optional<std::uint16_t> subsystem_vendor_id;
  std::optional<std::uint16_t> subsystem_device_id;
  std::string driver;    // "Kernel driver in use", empty when none or unknown
  int iommu_group = -1;  // -1: no group (IOMMU off) or not known
  std::optional<bool> boot_vga;
  std::string class_name;   // as printed ("VGA compatible controller")
  std::string description;  // vendor and device names as printed, may be empty

  std::optional<std::uint8_t> BaseClass() const;
  std::optional<std::uint8_t> SubClass() const;  // subclass within the base class

  // PCI-to-PCI bridges (0x0604, 0x0609; PCIe root ports and switch ports are 0x0604) and
  // CardBus bridges (0x0607): their config header is type 1/2, and vfio accepts a group
  // whose non-type-0 members stay on any driver (pcieport). They do not take part in DMA of
  // their own, so they are harmless group members.
  bool IsPciBridge() const;
  // Host bridges (0x0600): type-0 header, so vfio only accepts them in a group while no
  // driver is bound (AMD "dummy host bridges" never get one). Harmless when no driver is
  // known; a bound driver (e.g. an EDAC driver) makes the group unusable.
  bool IsHostBridge() const;
  // Any other bridge (base class 0x06: host, ISA/LPC, EISA, PCMCIA, ...): a type-0 function
  // the host's platform uses. Never given to vfio-pci; harmless in a group only without a
  // driver.
  bool IsOtherBridge() const;
  bool IsDisplay() const;  // base class 0x03 (VGA, XGA, 3D, other display)
  bool IsStorage() const;  // base class 0x01
  bool IsNetwork() const;  // base class 0x02
  bool IsUsb() const;      // 0x0c03
  // "VGA compatible controller 0000:01:00.0 [10de:1401]" for messages.
  std::string Label() const;
};

/// A machine's PCI devices keyed by address, each with its IOMMU group (group numbers may
/// have gaps and need not follow bus order).
class Topology {
 public:
  // Adds a device. The same address twice is accepted only when both entries agree on group
  // and ids (some listings print a group's members once per member); else an error.
  std::expected<void, Error> Add(PciDevice device);

  const PciDevice* Find(const PciAddress& address) const;
  PciDevice* FindMutable(const PciAddress& address);

  const std::map<PciAddress, PciDevice>& devices() const { return devices_; }
  std::size_t device_count() const { return devices_.size(); }
  // Group number → members in address order; devices with group -1 are left out.
  std::map<int, std::vector<const PciDevice*>> Groups() const;
  std::vector<const PciDevice*> GroupMembers(int group) const;
  std::size_t group_count() const { return Groups().size(); }
  std::vector<const PciDevice*> Displays() const;

 private:
  std::map<PciAddress, PciDevice> devices_;
};

/// A device the host itself needs, and why (boot disk controller, console GPU, NIC of the
/// default route, ...). Found from the running system by system/host_needs.h.
enum class NeedKind {
  kStorage,   // holds /, /boot or the ESP: the host would not boot
  kNetwork,   // carries the default route: the host would drop off the network
  kConsole,   // the console GPU (boot_vga=1): single-GPU passthrough, allowed with a warning
  kPlatform,  // a bridge with a driver bound (LPC/ISA, host bridge): vfio-pci never takes it
  kPresumed,  // presumed from the device class alone (listings without a running system)
};

struct HostNeed {
  PciAddress address;
  std::string reason;
  NeedKind kind = NeedKind::kPresumed;
};

struct HostNeeds {
  std::vector<HostNeed> needs;
  const HostNeed* Find(const PciAddress& address) const;
  void Add(const PciAddress& address, std::string reason, NeedKind kind = NeedKind::kPresumed);
};

/// Why a bridge with a driver bound keeps its group from being passed through.
std::string PlatformBridgeReason(const PciDevice& bridge);

/// When only a listing is known (no boot disk, no route, no boot_vga): presume the host needs
/// storage controllers (may hold its boot disk), network controllers (may carry its route),
/// USB controllers (keyboard/mouse, USB boot) and a display with boot_vga=1. Functions on the
/// target's own slot are part of the card (a GPU's USB-C/UCSI functions) and never presumed.
HostNeeds PresumeHostNeeds(const Topology& topology, const PciAddress& target);

enum class Isolation {
  kIsolated,                // alone, or only with own functions and bridges
  kSharesWithHostDevice,    // the group holds a device the host needs: cannot pass
  kSharesWithOtherDevices,  // the group holds other endpoints: pass all of them or none
  kNoGroup,                 // no IOMMU groups (IOMMU off or not enabled)
  kNotFound,                // the target is not in the topology
};

// Stable names: "isolated", "shares-with-host-device", "shares-with-other-devices",
// "no-group", "not-found".
std::string_view IsolationName(Isolation isolation);
std::optional<Isolation> IsolationFromName(std::string_view name);

enum class MemberRole {
  kSameDevice,     // another function of the target's device: goes to the VM with it
  kBridge,         // PCI bridge / root port, or a driverless host bridge: harmless
  kHostNeeded,     // the host needs it (reason given)
  kOtherEndpoint,  // an endpoint the host does not need: must go to the VM too
};
std::string_view MemberRoleName(MemberRole role);

struct GroupMember {
  PciDevice device;
  MemberRole role = MemberRole::kOtherEndpoint;
  std::string why;  // host-need reason, or what makes a bridge harmless
};

struct IsolationVerdict {
  Isolation isolation = Isolation::kNotFound;
  PciAddress target;
  int group = -1;
  std::vector<GroupMember> members;                  // co-members, target excluded, address order
  std::optional<std::string> target_needed_by_host;  // the target itself is host-needed
  // Functions of the target's device that sit in other groups (platforms with ACS between
  // functions, or the ACS override): they are isolated, but usually go to the VM as well.
  std::vector<PciDevice> functions_in_other_groups;

  std::vector<const GroupMember*> WithRole(MemberRole role) const;
  // One line: "0000:0b:00.0 shares IOMMU group 0 with host devices: ...".
  std::string Summary() const;
};

/// Judges whether `target` can be given to a VM on its own. Precedence per co-member:
/// host-needed (even a function of the same device) > same-device function > bridge >
/// other endpoint. Any host-needed member → kSharesWithHostDevice; else any other endpoint →
/// kSharesWithOtherDevices; else kIsolated.
IsolationVerdict JudgeIsolation(const Topology& topology, const PciAddress& target,
                                const HostNeeds& needs);

/// The advice for a verdict, most sensible step first. The ACS override is mentioned only
/// for shared groups, last, with its risk.
std::string IsolationHint(const IsolationVerdict& verdict);

}  // namespace vmprep
