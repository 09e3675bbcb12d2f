/// initramfs: makes every installed initramfs generator load vfio_pci, vfio and
/// vfio_iommu_type1 (plus vfio_virqfd before 6.2) early, ahead of any GPU
/// driver, so vfio-pci claims the passthrough devices first. mkinitcpio:
/// MODULES in /etc/mkinitcpio.conf or the conf.d file that assigns it last;
/// dracut: our drop-in /etc/dracut.conf.d/10-vmprep-vfio.conf; initramfs-tools:
/// /etc/initramfs-tools/modules; booster: /etc/booster.yaml. On 6.2+ kernels a
/// listed vfio_virqfd is removed: the module no longer exists and the build
/// fails on it.
#include "fixers/initramfs.h"

#include <algorithm>
#include <optional>

#include "core/text.h"
#include "fixers/initramfs_internal.h"
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
