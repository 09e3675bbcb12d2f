/// PCI scan through the Host seam; libpci is used only for names (its sysfs backend would
/// read the tree itself, outside the seam).
#include "system/pci_scan.h"

extern "C" {
#include <pci/pci.h>
}

#include <fmt/format.h>

#include <cerrno>
#include <charconv>

namespace vmprep {
namespace {

std::optional<std::uint32_t> Hex(std::string_view text) {
  text = Trim(text);
  if (text.starts_with("0x")) text.remove_prefix(2);
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 16);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

std::string Basename(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// libpci reports through these; pci_init (not used: it would open the real sysfs) would set
// them. Name lookups only warn; vmcheck prints nothing from a library.
void PciQuiet(char*, ...) {}

}  // namespace

std::expected<PciScan, Error> ScanPci(const Host& host) {
  constexpr std::string_view kDevices = "/sys/bus/pci/devices";
  auto entries = host.List(Root::kRuntime, kDevices);
  if (!entries) return std::unexpected(entries.error());
  PciScan scan;
  for (const auto& name : *entries) {
    auto address = PciAddress::Parse(name);
    std::string dir = fmt::format("{}/{}", kDevices, name);
    if (!address) {
      scan.errors.push_back(Error{dir, 0, "not a PCI address (expected dddd:bb:dd.f)"});
      continue;
    }
    auto read_hex = [&](const char* attr) -> std::optional<std::uint32_t> {
      auto text = host.Read(Root::kRuntime, dir + "/" + attr, 256);
      return text ? Hex(*text) : std::nullopt;
    };
    ScannedDevice d;
    d.device.address = *address;
    if (auto v = read_hex("vendor")) d.device.vendor_id = static_cast<std::uint16_t>(*v);
    if (auto v = read_hex("device")) d.device.device_id = static_cast<std::uint16_t>(*v);
    if (auto v = read_hex("class")) d.device.class_code = *v;
    if (auto v = read_hex("subsystem_vendor"))
      d.device.subsystem_vendor_id = static_cast<std::uint16_t>(*v);
    if (auto v = read_hex("subsystem_device"))
      d.device.subsystem_device_id = static_cast<std::uint16_t>(*v);
    if (auto v = read_hex("revision")) d.revision = static_cast<std::uint8_t>(*v);
    // An attribute or link that is simply absent (no driver, no group, not a VGA device)
    // is a fact; one that exists but cannot be read is an error a plan must not ignore.
    std::vector<Error> unreadable;
    auto optional = [&](auto result) {
      if (!result && result.error().errno_value != ENOENT) unreadable.push_back(result.error());
      return result;
    };
    if (auto v = optional(host.Read(Root::kRuntime, dir + "/boot_vga", 16)))
      d.device.boot_vga = Trim(*v) == "1";
    if (auto v = optional(host.Read(Root::kRuntime, dir + "/driver_override", 256))) {
      auto t = Trim(*v);
      if (t != "(null)") d.driver_override = std::string(t);
    }
    if (auto link = optional(host.ReadLink(Root::kRuntime, dir + "/driver")))
      d.device.driver = Basename(*link);
    if (auto link = optional(host.ReadLink(Root::kRuntime, dir + "/iommu_group"))) {
      std::string num = Basename(*link);
      int group = -1;
      auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), group);
      if (ec == std::errc() && p == num.data() + num.size()) d.device.iommu_group = group;
    }
    scan.errors.insert(scan.errors.end(), unreadable.begin(), unreadable.end());
    d.sysfs_path = dir;
    if (!d.device.vendor_id || !d.device.device_id || !d.device.class_code) {
      scan.errors.push_back(Error{dir, 0, "vendor, device or class attribute missing or not hex"});
      continue;
    }
    auto added = scan.topology.Add(d.device);
    if (!added) {
      scan.errors.push_back(added.error());
      continue;
    }
    scan.extra.emplace(*address, std::move(d));
  }
  return scan;
}

PciNames::PciNames(bool with_ids) {
  access_ = pci_alloc();
  // Numbers and names together, as lspci -nn prints them; or names alone.
  access_->numeric_ids = with_ids ? 2 : 0;
  access_->warning = PciQuiet;
  access_->debug = PciQuiet;
  access_->error = PciQuiet;
}

PciNames::~PciNames() {
  if (access_ != nullptr) pci_cleanup(access_);
}

std::string PciNames::ClassName(std::uint32_t class_code) const {
  char buf[256];
  const char* s = pci_lookup_name(access_, buf, sizeof buf, PCI_LOOKUP_CLASS,
                                  static_cast<int>(class_code >> 8));
  return s ? s : fmt::format("Class [{:04x}]", class_code >> 8);
}

std::string PciNames::DeviceName(std::uint16_t vendor, std::uint16_t device) const {
  char buf[512];
  const char* s = pci_lookup_name(access_, buf, sizeof buf, PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE,
                                  static_cast<int>(vendor), static_cast<int>(device));
  return s ? s : fmt::format("Device [{:04x}:{:04x}]", vendor, device);
}

void PciNames::NameAll(Topology* topology) const {
  for (const auto& [addr, d] : topology->devices()) {
    PciDevice* p = topology->FindMutable(addr);
    p->class_name = ClassName(p->class_code.value_or(0));
    p->description = DeviceName(p->vendor_id.value_or(0), p->device_id.value_or(0));
  }
}

std::string PciNames::LspciLine(const ScannedDevice& d, bool show_domain) const {
  const PciDevice& p = d.device;
  std::string line =
      fmt::format("{} {}: {}", show_domain ? p.address.ToString() : p.address.ShortString(),
                  ClassName(p.class_code.value_or(0)),
                  DeviceName(p.vendor_id.value_or(0), p.device_id.value_or(0)));
  if (d.revision != 0) line += fmt::format(" (rev {:02x})", d.revision);
  return line;
}

}  // namespace vmprep
