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
#include "core/paths.h"
#include "fixers/initramfs.h"
#include "formats/shell_vars.h"
#include "system/initramfs_config.h"
#include "system/pci_scan.h"

namespace vmprep {

std::expected<VfioSelection, Error> SelectForOptions(const Host& host,
                                                     const FixerOptions& options) {
  return SelectForVfio(host, options.devices, options.allow_host_devices);
}

namespace {

struct BindLine {
  int line;
  std::string address;  // canonical
  std::string id;
};

// The early-binding hook files the config root's initramfs generators need and lack. They
// are copied, in the same transaction, from this vmprep's own installation in the runtime
// root: the live ISO carries them for the installed system it mends. Where this vmprep has
// none either, the plan says how to install them.
std::expected<void, Error> PlanHookFiles(const Host& host,
                                         const std::vector<InitramfsGenerator>& gens,
                                         EditSet* set) {
  std::set<std::string> planned;
  for (const auto& gen : gens) {
    const auto files = BindHookFiles(gen.name);
    if (files.empty()) {
      set->notes.push_back(fmt::format(
          "{} has no early-binding hook from vmprep: devices are bound by vfio-pci ids only",
          gen.name));
      continue;
    }
    for (const auto& path : files) {
      if (planned.contains(path)) continue;
      auto present = CheckExists(host, Root::kConfig, path);
      if (!present) return std::unexpected(present.error());
      if (*present) continue;
      planned.insert(path);
      auto ours = host.Read(Root::kRuntime, path, 1 << 20);
      auto info = host.Stat(Root::kRuntime, path);
      const bool same_root = host.root_path(Root::kRuntime) == host.root_path(Root::kConfig);
      if (same_root || !ours || !info || info->type != FileType::kRegular) {
        set->notes.push_back(fmt::format(
            "the early-binding hook for {} is not installed ({} missing): install vmprep's "
            "initramfs component (`cmake --install build --component initramfs`, or the "
            "vmprep package), then plan again",
            gen.name, path));
        continue;
      }
      set->edits.push_back(FileEdit{path, std::nullopt, std::move(*ours),
                                    static_cast<mode_t>(info->mode & 0755),
                                    std::string(kFixVfioBind),
                                    fmt::format("vmprep's early-binding hook for {}, copied from "
                                                "this vmprep's own installation",
                                                gen.name)});
    }
  }
  return {};
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
    auto sel = SelectForOptions(host, options);
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
    for (const PciDevice& d : sel->endpoints) {
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

    auto gens = ReadInitramfsGenerators(host);
    if (!gens) return std::unexpected(gens.error());
    if (auto hooks = PlanHookFiles(host, *gens, &set); !hooks)
      return std::unexpected(hooks.error());
    if (!set.edits.empty()) {
      auto actions = InitramfsRegenerateActions(host);
      if (!actions) return std::unexpected(actions.error());
      set.actions = std::move(*actions);
    }
    return set;
  }
};

}  // namespace

std::unique_ptr<Fixer> MakeVfioBindFixer() { return std::make_unique<VfioBindFixer>(); }

}  // namespace vmprep
