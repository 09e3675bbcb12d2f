/// modprobe-vfio: `options vfio-pci ids=...` so vfio-pci claims the passthrough
/// devices by id, and `softdep <driver> pre: vfio-pci` so that whenever a GPU
/// (or its audio) driver loads, vfio-pci is loaded first and wins the device.
/// kmod joins every `options vfio_pci` line and the kernel keeps the last ids=,
/// so ids are merged into the line in effect (ours,
/// /etc/modprobe.d/vmprep-vfio.conf, only when there is none). kmod uses the
/// first softdep of a module, so an existing softdep is extended rather than
/// shadowed.
///
/// modules-load: /etc/modules-load.d/vmprep.conf with vhost_net (virtio-net in
/// the kernel, for VM networking), unless a modules-load.d file or Debian's
/// /etc/modules loads it.
#include "fixers/modprobe_vfio.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "fixers/initramfs.h"
#include "fixers/vfio_bind.h"
#include "formats/cmdline.h"
#include "formats/modprobe_conf.h"
#include "system/modules.h"
#include "system/vfio_config.h"
#include "system/vfio_softdeps.h"

namespace vmprep {
namespace {

struct Pending {
  std::string path;
  std::optional<std::string> before;
  ModprobeConf conf;
  std::string why;
};

// The modprobe.d files as kmod reads them, and the edits planned to them so far.
class ModprobePlan {
 public:
  std::expected<void, Error> Load(const Host& host) {
    files_ = ModprobeFiles(host);
    for (const auto& f : files_) {
      auto text = host.Read(Root::kConfig, f, 1 << 20);
      if (!text) return std::unexpected(text.error());
      auto conf = ModprobeConf::Parse(*text, f);
      if (!conf) return std::unexpected(conf.error());
      parsed_.emplace(f, std::move(*conf));
    }
    return {};
  }

  // vfio-pci ids= in the file whose line kmod keeps (ours when none, or when a package file
  // sets it: ours then repeats its ids).
  std::expected<void, Error> PlanIds(const std::vector<std::string>& ids) {
    std::string winner;
    for (const auto& f : files_)
      if (parsed_.at(f).Param("vfio_pci", "ids")) winner = f;
    std::string target = own_;
    std::vector<std::string> items = ids;
    if (!winner.empty() && winner.starts_with("/etc/")) {
      target = winner;
    } else if (!winner.empty()) {
      // A package file sets ids: ours must repeat them, and kmod must read ours after it.
      items = SplitCommaList(*parsed_.at(winner).Param("vfio_pci", "ids"));
      for (const auto& id : ids)
        if (std::find(items.begin(), items.end(), id) == items.end()) items.push_back(id);
      auto base = [](std::string_view s) { return s.substr(s.rfind('/') + 1); };
      if (base(own_) < base(winner)) {
        return std::unexpected(Error{winner, 0,
                                     fmt::format("sets vfio-pci ids= and kmod reads it after {}; "
                                                 "expected the ids there or in a later /etc file",
                                                 own_)});
      }
    }
    auto p = Get(target);
    if (!p) return std::unexpected(p.error());
    auto r = (*p)->conf.MergeListParam("vfio_pci", "ids", items);
    if (!r) return std::unexpected(r.error());
    if (*r) (*p)->why = "vfio-pci claims the passthrough devices by id";
    return {};
  }

  // `softdep DRIVER pre: vfio-pci`, in the file whose softdep kmod uses (a note when that is
  // a package file).
  std::expected<void, Error> PlanSoftdep(const std::string& d, std::vector<std::string>* notes) {
    std::string first;
    for (const auto& f : files_) {
      if (parsed_.at(f).Softdep(d)) {
        first = f;
        break;
      }
    }
    if (!first.empty()) {
      auto sd = *parsed_.at(first).Softdep(d);
      if (std::any_of(sd.pre.begin(), sd.pre.end(),
                      [](const std::string& m) { return ModuleName(m) == "vfio_pci"; }))
        return {};
      if (!first.starts_with("/etc/")) {
        notes->push_back(
            fmt::format("{}:{} holds the softdep kmod uses for {}; add "
                        "'softdep {} pre: vfio-pci' in a "
                        "copy of that file under /etc/modprobe.d",
                        first, sd.line, d, d));
        return {};
      }
    }
    auto p = Get(first.empty() ? own_ : first);
    if (!p) return std::unexpected(p.error());
    auto r = (*p)->conf.AddSoftdepPre(d, "vfio-pci");
    if (!r) return std::unexpected(r.error());
    if (*r && (*p)->why.find("softdep") == std::string::npos) {
      (*p)->why += std::string((*p)->why.empty() ? "" : "; ") +
                   "softdep: vfio-pci loads before the devices' drivers";
    }
    return {};
  }

  void AddEdits(EditSet* set) const {
    for (const auto& p : pending_) {
      if (p.before && *p.before == p.conf.Serialize()) continue;
      if (!p.before && p.why.empty()) continue;
      set->edits.push_back(FileEdit{p.path, p.before, p.conf.Serialize(), 0644,
                                    std::string(kFixModprobeVfio), p.why});
    }
  }

 private:
  // The file at `path` as edited so far (ours is created when missing).
  std::expected<Pending*, Error> Get(const std::string& path) {
    for (auto& p : pending_)
      if (p.path == path) return &p;
    if (auto it = parsed_.find(path); it != parsed_.end()) {
      pending_.push_back({path, it->second.Serialize(), it->second, ""});
      return &pending_.back();
    }
    auto conf = ModprobeConf::Parse(
        "# vfio-pci takes the passthrough devices before "
        "their usual drivers (written by "
        "vmsetup)\n",
        path);
    if (!conf) return std::unexpected(conf.error());
    pending_.push_back({path, std::nullopt, std::move(*conf), ""});
    return &pending_.back();
  }

  const std::string own_{kModprobeVfioConf};
  std::vector<std::string> files_;
  std::map<std::string, ModprobeConf> parsed_;
  std::vector<Pending> pending_;
};

class ModprobeVfioFixer : public Fixer {
 public:
  std::string_view Id() const override { return kFixModprobeVfio; }
  std::string_view Description() const override {
    return "give the chosen devices to vfio-pci by id and load vfio-pci before "
           "their drivers";
  }

  std::expected<EditSet, Error> Plan(const Host& host, const FixerOptions& options) const override {
    EditSet set;
    if (!options.vfio || options.devices.empty()) return set;
    auto sel = SelectForOptions(host, options);
    if (!sel) return std::unexpected(sel.error());
    set.notes = sel->notes;
    ModprobePlan plan;
    if (auto ok = plan.Load(host); !ok) return std::unexpected(ok.error());
    if (!sel->ids.empty()) {
      if (auto ok = plan.PlanIds(sel->ids); !ok) return std::unexpected(ok.error());
    }
    // Softdeps: the modules of the drivers the targets use now, and the usual drivers of
    // their kind.
    ModuleIndex index(host);
    for (const auto& d : SoftdepModules(host, index, sel->endpoints)) {
      if (auto ok = plan.PlanSoftdep(d, &set.notes); !ok) return std::unexpected(ok.error());
    }
    plan.AddEdits(&set);
    if (!set.edits.empty()) {
      // modprobe.d is copied into the initramfs, where the early vfio-pci load
      // happens.
      auto actions = InitramfsRegenerateActions(host);
      if (!actions) return std::unexpected(actions.error());
      set.actions = std::move(*actions);
    }
    return set;
  }
};

class ModulesLoadFixer : public Fixer {
 public:
  std::string_view Id() const override { return kFixModulesLoad; }
  std::string_view Description() const override {
    return "load vhost_net at boot (/etc/modules-load.d/vmprep.conf)";
  }

  std::expected<EditSet, Error> Plan(const Host& host, const FixerOptions& options) const override {
    EditSet set;
    if (!options.vhost_net) return set;
    // A kernel without it would get a line nothing can load: say so instead.
    ModuleIndex modules(host);
    ModuleInfo vhost = modules.Query("vhost_net", "VHOST_NET");
    if (vhost.state == ModuleState::kMissing) {
      Evidence why = vhost.evidence.empty() ? Evidence{} : vhost.evidence.back();
      return std::unexpected(
          Error{why.path, 0,
                fmt::format("kernel {} has no vhost_net module ({}); a modules-load.d line could "
                            "not load it: use a kernel built with CONFIG_VHOST_NET",
                            modules.kernel_release(), why.value)});
    }
    if (vhost.state == ModuleState::kBuiltin) {
      set.notes.push_back("vhost_net is built into the kernel: nothing to load at boot");
      return set;
    }
    // Any modules-load.d file or Debian's /etc/modules that already loads it is
    // enough.
    if (!FindBootLoadEntries(host, "vhost_net").empty()) return set;
    const std::string path(kModulesLoadConf);
    auto existing = ReadIfExists(host, path);
    if (!existing) return std::unexpected(existing.error());
    std::optional<std::string> before = std::move(*existing);
    std::string after = before.value_or("# Modules vmsetup loads at boot\n");
    if (!after.empty() && after.back() != '\n') after += '\n';
    after += "vhost_net\n";
    set.edits.push_back(FileEdit{path, before, after, 0644, std::string(kFixModulesLoad),
                                 "load vhost_net at boot (in-kernel virtio-net for VMs)"});
    return set;
  }
};

}  // namespace

std::unique_ptr<Fixer> MakeModprobeVfioFixer() { return std::make_unique<ModprobeVfioFixer>(); }
std::unique_ptr<Fixer> MakeModulesLoadFixer() { return std::make_unique<ModulesLoadFixer>(); }

}  // namespace vmprep
