/// initramfs: makes every installed initramfs generator load vfio_pci, vfio and
/// vfio_iommu_type1 (plus vfio_virqfd before 6.2) early, ahead of any GPU
/// driver, so vfio-pci claims the passthrough devices first. mkinitcpio:
/// MODULES in /etc/mkinitcpio.conf or the conf.d file that assigns it last;
/// dracut: our drop-in /etc/dracut.conf.d/10-vmprep-vfio.conf; initramfs-tools:
/// /etc/initramfs-tools/modules; booster: /etc/booster.yaml. On 6.2+ kernels a
/// listed vfio_virqfd is removed: the module no longer exists and the build
/// fails on it.
#include "fixers/initramfs.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "core/dropins.h"
#include "core/text.h"
#include "fixers/initramfs_internal.h"
#include "formats/shell_vars.h"
#include "system/boot_tools.h"
#include "system/initramfs_config.h"
#include "system/modules.h"

namespace vmprep {

std::expected<std::vector<PostAction>, Error> InitramfsRegenerateActions(const Host& host) {
  auto gens = ReadInitramfsGenerators(host);
  if (!gens) return std::unexpected(gens.error());
  std::vector<PostAction> out;
  for (const auto& gen : *gens) out.push_back({gen.regenerate.argv, gen.regenerate.why});
  auto proxmox = ProxmoxRefresh(host);
  if (!proxmox) return std::unexpected(proxmox.error());
  if (*proxmox && !out.empty()) out.push_back({(*proxmox)->argv, (*proxmox)->why});
  return out;
}

namespace {

bool IsGpuDriver(std::string_view module) {
  std::string m = ModuleName(module);
  return m == "amdgpu" || m == "radeon" || m == "nouveau" || m == "i915" || m.starts_with("nvidia");
}

// `words` with the vfio modules placed before the first GPU driver (added when
// missing, moved when listed after one) and vfio_virqfd dropped on kernels
// without it. Returns whether only appends at the end were needed.
}  // namespace

std::vector<std::string> WantedModules(const std::vector<std::string>& words,
                                       const std::vector<std::string>& vfio,
                                       const KernelVersion& kernel, bool* append_only) {
  std::vector<std::string> list;
  bool removed = false;
  for (const auto& w : words) {
    if (kernel.known() && !kernel.has_virqfd_module() && SameModule(w, "vfio_virqfd")) {
      removed = true;
      continue;
    }
    list.push_back(w);
  }
  auto first_gpu = std::find_if(list.begin(), list.end(), [](auto& w) { return IsGpuDriver(w); });
  size_t gpu_at = first_gpu - list.begin();
  std::vector<std::string> to_insert;
  bool moved = false;
  for (const auto& m : vfio) {
    auto it = std::find_if(list.begin(), list.end(), [&](auto& w) { return SameModule(w, m); });
    if (it == list.end()) {
      to_insert.push_back(m);
    } else if (static_cast<size_t>(it - list.begin()) > gpu_at) {
      moved = true;
      to_insert.push_back(m);
    }
  }
  *append_only = !removed && !moved && gpu_at == list.size();
  if (to_insert.empty()) return list;
  std::vector<std::string> out;
  for (size_t i = 0; i < list.size(); ++i) {
    if (i == gpu_at) out.insert(out.end(), to_insert.begin(), to_insert.end());
    bool is_moved = i > gpu_at && std::any_of(to_insert.begin(), to_insert.end(),
                                              [&](auto& m) { return SameModule(list[i], m); });
    if (!is_moved) out.push_back(list[i]);
  }
  if (gpu_at == list.size()) out.insert(out.end(), to_insert.begin(), to_insert.end());
  return out;
}

FileEdit MakeEdit(std::string path, std::optional<std::string> before, std::string after,
                  std::string why) {
  return FileEdit{
      std::move(path), std::move(before), std::move(after), 0644, std::string(kFixInitramfs),
      std::move(why)};
}

namespace {

std::expected<void, Error> PlanDracut(const Host& host, const InitramfsGenerator& gen,
                                      const KernelVersion& kernel, EditSet* set) {
  const std::string own = "/etc/dracut.conf.d/10-vmprep-vfio.conf";
  std::vector<std::string> vfio = VfioEarlyModules(kernel);
  bool drop_virqfd = kernel.known() && !kernel.has_virqfd_module();

  // A stale vfio_virqfd anywhere in /etc makes dracut fail to find the module;
  // remove it where it is listed (the package files under /usr/lib are not ours
  // to edit).
  std::vector<std::string> etc_files = {"/etc/dracut.conf"};
  for (auto& f : DropInFiles(host, Root::kConfig, {"/etc/dracut.conf.d"})) etc_files.push_back(f);
  if (drop_virqfd) {
    for (const auto& f : etc_files) {
      if (f == own) continue;
      auto text = ReadIfExists(host, f);
      if (!text) return std::unexpected(text.error());
      if (!*text) continue;
      auto parsed = ShellVarsFile::Parse(**text, f);
      if (!parsed) return std::unexpected(parsed.error());
      bool changed = false;
      for (std::string_view var : {"force_drivers", "add_drivers"}) {
        if (!parsed->IsAssigned(var)) continue;
        auto r = parsed->RemoveTokens(var, {"vfio_virqfd"}, true);
        if (!r) return std::unexpected(r.error());
        changed |= *r;
      }
      if (changed) {
        set->edits.push_back(MakeEdit(f, *text, parsed->Serialize(),
                                      "remove vfio_virqfd: merged into vfio since Linux 6.2"));
      }
    }
  }

  auto text = ReadIfExists(host, own);
  if (!text) return std::unexpected(text.error());
  std::vector<std::string> missing;
  for (const auto& m : vfio)
    if (!gen.Loads(m)) missing.push_back(m);
  std::string base = text->value_or(
      "# vfio-pci must claim the passthrough "
      "devices before a GPU driver (written by "
      "vmsetup)\n");
  auto file = ShellVarsFile::Parse(base, own);
  if (!file) return std::unexpected(file.error());
  bool changed = !text->has_value() && !missing.empty();
  if (!missing.empty()) {
    auto r = file->AddTokens("force_drivers", vfio, true, {.array = false, .append = true});
    if (!r) return std::unexpected(r.error());
    changed |= *r;
    if (!*r && text->has_value()) {
      // Ours lists them, yet dracut does not end up with them: a later file
      // resets it.
      return std::unexpected(Error{own, 0,
                                   "force_drivers lists the vfio modules here but a later "
                                   "dracut.conf.d file assigns force_drivers= and drops them; "
                                   "expected += in that file"});
    }
  }
  if (drop_virqfd && file->IsAssigned("force_drivers")) {
    auto r = file->RemoveTokens("force_drivers", {"vfio_virqfd"}, true);
    if (!r) return std::unexpected(r.error());
    changed |= *r;
  }
  if (changed) {
    set->edits.push_back(MakeEdit(own, *text, file->Serialize(),
                                  "dracut loads the vfio modules early (force_drivers)"));
  }
  return {};
}

std::expected<void, Error> PlanInitramfsTools(const Host& host, const InitramfsGenerator& gen,
                                              const KernelVersion& kernel, EditSet* set) {
  const std::string main = "/etc/initramfs-tools/modules";
  bool drop_virqfd = kernel.known() && !kernel.has_virqfd_module();
  std::vector<std::string> files = {main};
  if (auto names = host.List(Root::kConfig, "/etc/initramfs-tools/modules.d")) {
    for (const auto& n : *names) files.push_back("/etc/initramfs-tools/modules.d/" + n);
  }
  std::optional<std::string> main_before;
  std::string main_after;
  for (const auto& f : files) {
    auto text = ReadIfExists(host, f);
    if (!text) return std::unexpected(text.error());
    if (f == main) {
      main_before = *text;
      main_after = text->value_or("");
    }
    if (!*text || !drop_virqfd) continue;
    std::string out;
    bool changed = false;
    const std::string& t = **text;
    for (const TextLine& line : Lines(t)) {
      auto words = SplitWords(line.text);
      if (!words.empty() && words[0].front() != '#' && SameModule(words[0], "vfio_virqfd")) {
        changed = true;
      } else {
        out.append(line.WithNewline(t));
      }
    }
    if (f == main) {
      main_after = out;
    } else if (changed) {
      set->edits.push_back(MakeEdit(f, *text, out,
                                    "remove vfio_virqfd: merged into vfio since "
                                    "Linux 6.2"));
    }
  }
  std::string add;
  for (const auto& m : VfioEarlyModules(kernel))
    if (!gen.Loads(m)) add += m + "\n";
  if (!add.empty()) {
    if (!main_after.empty() && main_after.back() != '\n') main_after += '\n';
    main_after += add;
  }
  if (main_after != main_before.value_or("") || (!main_before && !main_after.empty())) {
    set->edits.push_back(
        MakeEdit(main, main_before, main_after, "load the vfio modules in the initramfs"));
  }
  return {};
}

// booster.yaml's `modules_force_load: a,b,c`. Only that one-line comma form is
// edited; YAML lists, quotes and comments on the line are refused.
std::expected<void, Error> PlanBooster(const Host& host, const KernelVersion& kernel,
                                       EditSet* set) {
  const std::string path = "/etc/booster.yaml";
  auto text = ReadIfExists(host, path);
  if (!text) return std::unexpected(text.error());
  std::string t = text->value_or("");
  bool drop_virqfd = kernel.known() && !kernel.has_virqfd_module();
  constexpr std::string_view kKey = "modules_force_load:";
  for (const TextLine& text_line : Lines(t)) {
    const std::string_view line = text_line.text;
    const size_t pos = text_line.begin, end = text_line.end;
    if (line.starts_with(kKey)) {
      size_t vstart = kKey.size();
      while (vstart < line.size() && (line[vstart] == ' ' || line[vstart] == '\t')) ++vstart;
      std::string_view value = line.substr(vstart);
      bool cr = !value.empty() && value.back() == '\r';
      if (cr) value.remove_suffix(1);
      if (value.find_first_of("[]{}\"'#&*!|>") != std::string_view::npos ||
          (value.empty() && Trim(std::string_view(t).substr(text_line.next)).starts_with("-"))) {
        return std::unexpected(Error{path, text_line.number,
                                     "modules_force_load is not a plain comma list; expected "
                                     "'modules_force_load: mod1,mod2'"});
      }
      std::vector<std::string> items;
      bool spaced = value.find(", ") != std::string_view::npos;
      size_t p = 0;
      while (p <= value.size() && !value.empty()) {
        size_t c = value.find(',', p);
        if (c == std::string_view::npos) c = value.size();
        auto item = Trim(value.substr(p, c - p));
        if (!item.empty()) items.emplace_back(item);
        p = c + 1;
      }
      bool append_only = false;
      auto wanted = WantedModules(items, VfioEarlyModules(kernel), kernel, &append_only);
      if (!drop_virqfd) {
        // Order does not matter to booster (it loads them all before udev).
        wanted = items;
        for (const auto& m : VfioEarlyModules(kernel))
          if (std::none_of(items.begin(), items.end(), [&](auto& w) { return SameModule(w, m); }))
            wanted.push_back(m);
      }
      if (wanted == items) return {};
      std::string joined = Join(wanted, spaced ? ", " : ",");
      std::string after = t.substr(0, pos + vstart) + joined + (cr ? "\r" : "") + t.substr(end);
      if (vstart == kKey.size()) after.insert(pos + vstart, " ");
      set->edits.push_back(
          MakeEdit(path, text.value(), after, "booster force-loads the vfio modules"));
      return {};
    }
  }
  std::string joined = Join(VfioEarlyModules(kernel), ",");
  std::string after = t;
  if (!after.empty() && after.back() != '\n') after += '\n';
  after += std::string(kKey) + " " + joined + "\n";
  set->edits.push_back(MakeEdit(path, *text, after, "booster force-loads the vfio modules"));
  return {};
}

class InitramfsFixer : public Fixer {
 public:
  std::string_view Id() const override { return kFixInitramfs; }
  std::string_view Description() const override {
    return "load the vfio modules early in every initramfs generator's image";
  }

  std::expected<EditSet, Error> Plan(const Host& host, const FixerOptions& options) const override {
    EditSet set;
    if (!options.vfio) return set;
    // The kernel that will boot: the running one, or the installed system's on the live ISO.
    KernelVersion kernel = KernelVersion::Parse(ModuleIndex(host).kernel_release());
    if (!kernel.known()) {
      set.notes.push_back(
          "kernel release unknown (/proc/sys/kernel/osrelease, /usr/lib/modules): vfio_virqfd "
          "neither added nor removed; it is needed before Linux 6.2 only");
    }
    auto gens = ReadInitramfsGenerators(host);
    if (!gens) return std::unexpected(gens.error());
    for (const auto& gen : *gens) {
      std::expected<void, Error> r;
      if (gen.name == "mkinitcpio")
        r = PlanMkinitcpio(host, kernel, !options.devices.empty(), &set);
      if (gen.name == "dracut") r = PlanDracut(host, gen, kernel, &set);
      if (gen.name == "initramfs-tools") r = PlanInitramfsTools(host, gen, kernel, &set);
      if (gen.name == "booster") r = PlanBooster(host, kernel, &set);
      if (!r) return std::unexpected(r.error());
    }
    if (gens->empty()) {
      set.notes.push_back(
          "no initramfs generator found (mkinitcpio, dracut, "
          "update-initramfs, booster): load "
          "vfio_pci, vfio and vfio_iommu_type1 early by hand");
    }
    if (!set.edits.empty()) {
      auto actions = InitramfsRegenerateActions(host);
      if (!actions) return std::unexpected(actions.error());
      set.actions = std::move(*actions);
    }
    return set;
  }
};

}  // namespace

std::unique_ptr<Fixer> MakeInitramfsFixer() { return std::make_unique<InitramfsFixer>(); }

}  // namespace vmprep
