/// The group listing that replaces the seed's iommugroups.sh: one block per group, each
/// device as its `lspci -nn` line plus the driver in use and a bridge marker.
#include "checks/groups_report.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace vmprep {
namespace {

bool AnyDomain(const PciScan& scan) {
  for (const auto& [a, d] : scan.extra) {
    if (a.domain != 0) return true;
  }
  return false;
}

std::string Tail(const PciDevice& d) {
  std::string tail = fmt::format("  [driver: {}]", d.driver.empty() ? "none" : d.driver);
  if (d.IsPciBridge() || d.IsHostBridge()) tail += " [bridge]";
  if (d.boot_vga.value_or(false)) tail += " [boot VGA]";
  return tail;
}

}  // namespace

std::string RenderGroupsText(const PciScan& scan, const PciNames& names) {
  const bool domains = AnyDomain(scan);
  std::string out;
  auto groups = scan.topology.Groups();
  for (const auto& [group, members] : groups) {
    out += fmt::format("IOMMU group {}\n", group);
    for (const PciDevice* d : members) {
      out += "  " + names.LspciLine(scan.extra.at(d->address), domains) + Tail(*d) + "\n";
    }
  }
  std::string ungrouped;
  for (const auto& [addr, d] : scan.extra) {
    if (d.device.iommu_group < 0)
      ungrouped += "  " + names.LspciLine(d, domains) + Tail(d.device) + "\n";
  }
  if (!ungrouped.empty()) {
    out += groups.empty() ? "No IOMMU groups: the IOMMU is off (see `vmcheck --only iommu`).\n"
                          : "Devices in no IOMMU group:\n";
    out += ungrouped;
  }
  for (const auto& e : scan.errors) out += "warning: " + e.ToString() + "\n";
  return out;
}

std::string RenderGroupsJson(const PciScan& scan, const PciNames& names) {
  using Json = nlohmann::ordered_json;
  auto device_json = [&](const ScannedDevice& s) {
    const PciDevice& d = s.device;
    return Json{{"address", d.address.ToString()},
                {"vendor_id", fmt::format("{:04x}", d.vendor_id.value_or(0))},
                {"device_id", fmt::format("{:04x}", d.device_id.value_or(0))},
                {"class", fmt::format("{:06x}", d.class_code.value_or(0))},
                {"class_name", names.ClassName(d.class_code.value_or(0))},
                {"name", names.DeviceName(d.vendor_id.value_or(0), d.device_id.value_or(0))},
                {"revision", s.revision},
                {"driver", d.driver.empty() ? Json(nullptr) : Json(d.driver)},
                {"bridge", d.IsPciBridge() || d.IsHostBridge()},
                {"boot_vga", d.boot_vga.value_or(false)}};
  };
  Json groups = Json::array();
  for (const auto& [group, members] : scan.topology.Groups()) {
    Json devices = Json::array();
    for (const PciDevice* d : members) devices.push_back(device_json(scan.extra.at(d->address)));
    groups.push_back(Json{{"group", group}, {"devices", std::move(devices)}});
  }
  Json ungrouped = Json::array();
  for (const auto& [addr, d] : scan.extra) {
    if (d.device.iommu_group < 0) ungrouped.push_back(device_json(d));
  }
  Json doc{{"schema", "vmprep.groups/1"},
           {"groups", std::move(groups)},
           {"ungrouped", std::move(ungrouped)}};
  return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace vmprep
