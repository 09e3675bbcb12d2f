/// vfio-bind: writes /etc/vmprep/vfio-bind.conf, the list the early-binding
/// initramfs hook reads ("0000:01:00.0 10de:1b80" per line) so vfio-pci takes
/// the chosen devices by address before any GPU driver does. Binding by address
/// is what tells two identical cards apart. The hook files themselves come from
/// vmprep's package; where they are missing this fixer says so instead of
/// copying package files into the system.
#include "fixers/vfio_bind.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/dropins.h"
#include "fixers/initramfs.h"
#include "formats/shell_vars.h"
#include "system/initramfs_config.h"
#include "system/pci_scan.h"

namespace vmprep {

std::string VendorDeviceText(const PciDevice& device) {
  return fmt::format("{:04x}:{:04x}", device.vendor_id.value_or(0), device.device_id.value_or(0));
}

std::expected<VfioSelection, Error> SelectVfioTargets(const Host& host,
                                                      const FixerOptions& options) {
  auto scan = ScanPci(host);
  if (!scan) return std::unexpected(scan.error());
  VfioSelection sel;
  sel.topology = std::move(scan->topology);
  std::map<PciAddress, PciDevice> chosen;
  for (const PciAddress& address : options.devices) {
    const PciDevice* dev = sel.topology.Find(address);
    if (!dev) {
      return std::unexpected(Error{"/sys/bus/pci/devices", 0,
                                   fmt::format("no PCI device {} on this machine; expected one "
                                               "of the addresses lspci -D lists",
                                               address.ToString())});
    }
    std::vector<const PciDevice*> members;
    if (dev->iommu_group >= 0) {
      members = sel.topology.GroupMembers(dev->iommu_group);
    } else {
      // Without IOMMU groups the hook binds nothing; still list the card's own
      // functions so the config is right once the IOMMU is on.
      for (const auto& [a, d] : sel.topology.devices())
        if (a.SameSlot(address)) members.push_back(&d);
      sel.notes.push_back(
          fmt::format("{} has no IOMMU group (IOMMU off?): only its own "
                      "functions are listed; enable the "
                      "IOMMU and plan again to include the rest of its group",
                      address.ToString()));
    }
    for (const PciDevice* m : members) {
      if (m->BaseClass() == std::optional<std::uint8_t>(0x06)) continue;
      if (!m->vendor_id || !m->device_id) {
        return std::unexpected(Error{"/sys/bus/pci/devices/" + m->address.ToString(), 0,
                                     "vendor/device ids unreadable; expected hex ids"});
      }
      chosen.emplace(m->address, *m);
    }
  }
  for (auto& [a, d] : chosen) sel.targets.push_back(d);
  return sel;
}

namespace {

struct BindLine {
  int line;
  std::string address;  // canonical
  std::string id;
};

// Whether the HOOKS that mkinitcpio ends up with (main file, then conf.d) name
// `hook`.
bool MkinitcpioHasHook(const Host& host, std::string_view hook) {
  std::vector<std::string> files = {"/etc/mkinitcpio.conf"};
  for (auto& f : DropInFiles(host, Root::kConfig, {"/etc/mkinitcpio.conf.d"})) files.push_back(f);
  std::vector<std::string> hooks;
  for (const auto& f : files) {
    auto text = host.Read(Root::kConfig, f, 1 << 20);
    if (!text) continue;
    auto parsed = ShellVarsFile::Parse(*text, f);
    if (!parsed || !parsed->IsAssigned("HOOKS")) continue;
    if (auto words = parsed->Words("HOOKS")) hooks = *words;
  }
  return std::find(hooks.begin(), hooks.end(), hook) != hooks.end();
}

std::string Canonical(std::string_view text) {
  auto a = PciAddress::Parse(text);
  return a ? a->ToString() : std::string(text);
}

class VfioBindFixer : public Fixer {
 public:
  std::string_view Id() const override { return kFixVfioBind; }
  std::string_view Description() const override {
    return "list the devices for the early vfio-pci binding hook "
           "(/etc/vmprep/vfio-bind.conf)";
  }

  std::expected<EditSet, Error> Plan(const Host& host, const FixerOptions& options) const override {
    EditSet set;
    if (!options.vfio || options.devices.empty()) return set;
    auto sel = SelectVfioTargets(host, options);
    if (!sel) return std::unexpected(sel.error());
    set.notes = sel->notes;

    const std::string path(kVfioBindConf);
    auto existing = ReadIfExists(host, path);
    if (!existing) return std::unexpected(existing.error());
    std::optional<std::string> before = std::move(*existing);
    std::string after = before.value_or(
        "# Devices vfio-pci takes at boot, by PCI address "
        "(written by vmsetup; see\n"
        "# /usr/lib/vmprep/vfio-bind.sh). Regenerate the "
        "initramfs after editing.\n");
    std::vector<BindLine> lines;
    int n = 0;
    for (auto raw : SplitLines(after)) {
      ++n;
      auto t = Trim(raw);
      if (t.empty() || t.front() == '#') continue;
      auto words = SplitWords(t);
      if (words.size() != 2 || !PciAddress::Parse(words[0])) {
        return std::unexpected(Error{path, n, "expected '<PCI address> <vendor:device>'"});
      }
      lines.push_back({n, Canonical(words[0]), std::string(words[1])});
    }
    std::string add;
    for (const PciDevice& d : sel->targets) {
      std::string addr = d.address.ToString(), id = VendorDeviceText(d);
      auto it = std::find_if(lines.begin(), lines.end(),
                             [&](const BindLine& l) { return l.address == addr; });
      if (it != lines.end()) {
        if (it->id != id) {
          return std::unexpected(Error{path, it->line,
                                       fmt::format("lists {} as {}, but that address holds {}; "
                                                   "correct or remove the line",
                                                   addr, it->id, id)});
        }
        continue;
      }
      add += fmt::format("{} {}\n", addr, id);
    }
    if (!add.empty()) {
      if (!after.empty() && after.back() != '\n') after += '\n';
      after += add;
      set.edits.push_back(FileEdit{path, before, after, 0644, std::string(kFixVfioBind),
                                   "bind the chosen devices' IOMMU group to vfio-pci by address "
                                   "at boot (/etc/vmprep is created 0755)"});
    }

    // The hook needs its files in the generator's directories; they come with
    // vmprep's package (initramfs-hooks/install.cmake), so they are reported,
    // not copied.
    if (!host.Exists(Root::kConfig, "/usr/lib/vmprep/vfio-bind.sh")) {
      set.notes.push_back(
          "the early-binding hook is not installed "
          "(/usr/lib/vmprep/vfio-bind.sh missing): "
          "install vmprep's initramfs component (cmake "
          "--install <build> --component "
          "initramfs) and regenerate the initramfs");
    }
    for (const auto& gen : ReadInitramfsGenerators(host)) {
      std::string_view probe;
      if (gen.name == "initramfs-tools") probe = "/usr/share/initramfs-tools/hooks/vmprep-vfio";
      if (gen.name == "dracut") probe = "/usr/lib/dracut/modules.d/90vmprep-vfio/module-setup.sh";
      if (gen.name == "mkinitcpio") probe = "/usr/lib/initcpio/install/vmprep-vfio";
      if (probe.empty()) {
        set.notes.push_back(
            fmt::format("{} has no early-binding hook from vmprep: devices are "
                        "bound by vfio-pci ids only",
                        gen.name));
        continue;
      }
      if (!host.Exists(Root::kConfig, probe)) {
        set.notes.push_back(fmt::format(
            "{} hook missing ({}): install vmprep's initramfs component", gen.name, probe));
      }
      if (gen.name == "mkinitcpio" && !MkinitcpioHasHook(host, "vmprep-vfio")) {
        set.notes.push_back(
            "mkinitcpio: add vmprep-vfio to HOOKS after base "
            "and before udev in "
            "/etc/mkinitcpio.conf (busybox images; the systemd "
            "hook does not run it)");
      }
    }
    if (!set.edits.empty()) set.actions = InitramfsRegenerateActions(host);
    return set;
  }
};

}  // namespace

std::unique_ptr<Fixer> MakeVfioBindFixer() { return std::make_unique<VfioBindFixer>(); }

}  // namespace vmprep
