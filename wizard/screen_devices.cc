/// Devices: the passthrough candidates with name, address, vendor:device, IOMMU group and
/// verdict. Choosing one brings its group (VFIO hands over whole groups); the console GPU is
/// marked and asks first; devices the host needs are shown with the reason and refused.
/// Every answer is the selection rule's (system/vfio_selection.h).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <string>
#include <vector>

#include "wizard/page.h"
#include "wizard/screens.h"

namespace vmprep::wizard {
namespace {

bool Contains(const std::vector<PciAddress>& list, const PciAddress& a) {
  return std::find(list.begin(), list.end(), a) != list.end();
}

std::string Short(const std::vector<PciAddress>& list) {
  std::vector<std::string> out;
  for (const auto& a : list) out.push_back(a.ShortString());
  return fmt::format("{}", fmt::join(out, ", "));
}

std::string Item(const DeviceRow& row, bool chosen) {
  const PciDevice& d = row.device;
  std::string tag = !row.selectable ? "host" : row.console ? "console" : "";
  std::string group = d.iommu_group < 0 ? "-" : std::to_string(d.iommu_group);
  std::string name = d.class_name.empty() ? d.description : d.class_name + ": " + d.description;
  return Plain(fmt::format("{} {:<7} {} g{:<3} {:<7} {}",
                           !row.selectable ? "[-]"
                           : chosen        ? "[x]"
                                           : "[ ]",
                           d.address.ShortString(), VendorDeviceText(d), group, tag, name));
}

// What the selection rule says first, then the facts behind it.
std::vector<std::string> Detail(const DeviceRow& row) {
  const PciDevice& d = row.device;
  std::vector<std::string> out = {fmt::format("{} {}: {} [{}]", d.address.ToString(), d.class_name,
                                              d.description, VendorDeviceText(d))};
  if (!row.selectable) {
    out.push_back("Cannot be chosen: " + row.refusal);
  } else {
    out.push_back("Choosing it gives vfio-pci: " + Short(row.brings));
    if (!row.host_need.empty()) out.push_back("The host uses it: " + row.host_need);
  }
  for (const auto& w : row.warnings) out.push_back("Warning: " + w);
  out.push_back(fmt::format("Driver now: {}. IOMMU group {}: {}. {}",
                            d.driver.empty() ? "none" : d.driver, d.iommu_group, row.isolation,
                            row.verdict));
  if (!row.group.empty()) {
    out.push_back(
        fmt::format("IOMMU group {} also holds: {}", d.iommu_group, fmt::join(row.group, ", ")));
  }
  if (!row.twins.empty()) {
    out.push_back(
        fmt::format("Identical card(s) at {}: told apart by address; only the "
                    "chosen one goes to vfio-pci (bound by address).",
                    fmt::join(row.twins, ", ")));
  }
  for (const auto& n : row.notes) out.push_back("Note: " + n);
  return out;
}

// Chooses or drops `row`: dropping a device drops every choice that brought it.
void Toggle(Ui& ui, State& state, const DeviceRow& row, const std::vector<PciAddress>& taken) {
  auto& chosen = state.choices.options.devices;
  const PciAddress& a = row.device.address;
  if (!row.selectable) {
    ui.Ask("Refused: " + a.ShortString() + " cannot be chosen", {row.refusal}, {"OK"});
    return;
  }
  if (Contains(taken, a)) {
    std::erase_if(chosen, [&](const PciAddress& c) {
      auto alone = Selection(state.facts, {c});
      return !alone || std::any_of(alone->endpoints.begin(), alone->endpoints.end(),
                                   [&](const PciDevice& e) { return e.address == a; });
    });
    return;
  }
  if (!row.warnings.empty()) {
    std::vector<std::string> lines = row.warnings;
    lines.push_back("Choose it anyway?");
    if (ui.Ask("Warning: " + a.ShortString(), lines, {"Cancel", "Choose it"}) != 1) return;
  }
  std::vector<PciAddress> next = chosen;
  next.push_back(a);
  auto together = Selection(state.facts, next);
  if (!together) {
    ui.Ask("Refused: " + a.ShortString(), {together.error().message}, {"OK"});
    return;
  }
  chosen = std::move(next);
}

}  // namespace

Step DevicesScreen(Ui& ui, State& state) {
  const auto& rows = state.facts.devices;
  Page page(ui, Title("Devices", 3));
  page.SetIntro(
      {"Space chooses a device for VMs: vfio-pci takes it at boot, with every "
       "other device of its IOMMU group. [-] marks what the host needs; the reason "
       "is below.",
       fmt::format("{:<3} {:<7} {:<9} {:<4} {:<7} {}", "", "address", "ids", "grp", "", "name")});
  page.SetDetail(
      [&](int i) { return rows.empty() ? std::vector<std::string>{} : Detail(rows[i]); });
  page.SetHelp([&](int i) {
    std::vector<std::string> lines = {
        "[x] chosen, [ ] can be chosen, [-] cannot: the host needs it or shares its group with "
        "something the host needs. 'console' marks the GPU the console runs on: it can be "
        "chosen, but the host loses its screen.",
        "Identical cards are told apart by their address; the one chosen is bound by address."};
    if (i >= 0 && !rows.empty()) {
      lines.push_back("");
      for (auto& l : Detail(rows[i])) lines.push_back(std::move(l));
    }
    return lines;
  });
  page.SetButtons({"Next", "Back", "Quit"}, 0);
  page.SetKeys("Space choose  Enter next  Esc back  Tab pane  F1/? help  q quit");
  for (;;) {
    std::vector<PciAddress> taken;
    if (auto sel = Selection(state.facts, state.choices.options.devices)) {
      for (const auto& d : sel->endpoints) taken.push_back(d.address);
    }
    std::vector<std::string> items;
    for (const auto& r : rows) items.push_back(Item(r, Contains(taken, r.device.address)));
    if (items.empty()) items.push_back(Plain("No PCI devices could be read."));
    page.SetList(fmt::format("Devices ({} chosen: {})", state.choices.options.devices.size(),
                             taken.empty() ? "none" : Short(taken)),
                 items);
    PageEvent e = page.Run();
    if (e.kind == PageEvent::Kind::kQuit) return Step::kQuit;
    if (e.kind == PageEvent::Kind::kBack) return Step::kScan;
    if (e.kind == PageEvent::Kind::kToggle && !rows.empty()) {
      Toggle(ui, state, rows[e.item], taken);
      continue;
    }
    if (e.kind != PageEvent::Kind::kButton) continue;
    if (e.button == 0) return Step::kOptions;
    return e.button == 1 ? Step::kScan : Step::kQuit;
  }
}

}  // namespace vmprep::wizard
