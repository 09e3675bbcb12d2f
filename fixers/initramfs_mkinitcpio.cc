// The initramfs fixer for mkinitcpio: MODULES with the vfio modules before any GPU driver,
// HOOKS with vmprep-vfio and modconf, in the file that assigns each last (mkinitcpio.conf
// and its conf.d drop-ins).
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "core/text.h"
#include "fixers/initramfs_internal.h"
#include "formats/shell_vars.h"

namespace vmprep {
namespace {

// HOOKS with vmprep-vfio after base and before udev (it binds by address before udev loads
// the drivers), and modconf present (without it modprobe.d is not in the image). Left as
// it is for a systemd-based image: the systemd hook does not run run_hook scripts.
std::vector<std::string> WantedHooks(const std::vector<std::string>& hooks) {
  auto has = [&](std::string_view h) {
    return std::find(hooks.begin(), hooks.end(), h) != hooks.end();
  };
  if (has("systemd") || hooks.empty()) return hooks;
  std::vector<std::string> out;
  for (const auto& h : hooks)
    if (h != "vmprep-vfio") out.push_back(h);
  auto base = std::find(out.begin(), out.end(), "base");
  out.insert(base == out.end() ? out.begin() : base + 1, "vmprep-vfio");
  if (!has("modconf")) {
    // After autodetect (as in mkinitcpio's default), else before block/filesystems.
    auto at = std::find(out.begin(), out.end(), "autodetect");
    if (at != out.end()) {
      ++at;
    } else {
      at = std::find_if(out.begin(), out.end(),
                        [](const std::string& h) { return h == "block" || h == "filesystems"; });
    }
    out.insert(at, "modconf");
  }
  return out;
}

// One parsed mkinitcpio file and what it held before.
struct ShellFilePlan {
  std::string path;
  std::optional<std::string> before;
  ShellVarsFile file;
};

// The file whose plain assignment of `var` is the last one (mkinitcpio sources the main
// file, then conf.d; += after it only appends), or the last that appends to it, or the main
// file. A conditional assignment is a refusal.
std::expected<std::size_t, Error> OwnerOf(const std::vector<ShellFilePlan>& files,
                                          std::string_view var) {
  std::optional<std::size_t> plain, any;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (!files[i].before) continue;
    for (const auto& a : files[i].file.assignments()) {
      if (a.name != var) continue;
      if (a.depth > 0) {
        return std::unexpected(Error{files[i].path, a.line,
                                     fmt::format("{} is assigned inside a conditional or loop; "
                                                 "expected a plain top-level {}=(...)",
                                                 var, var)});
      }
      any = i;
      if (!a.append) plain = i;
    }
  }
  return plain.value_or(any.value_or(0));
}

}  // namespace

std::expected<void, Error> PlanMkinitcpio(const Host& host, const KernelVersion& kernel,
                                          bool bind_hook, EditSet* set) {
  std::vector<ShellFilePlan> files;
  for (const auto& path : MkinitcpioFiles(host)) {
    auto text = ReadIfExists(host, path);
    if (!text) return std::unexpected(text.error());
    auto parsed = ShellVarsFile::Parse(text->value_or(""), path);
    if (!parsed) return std::unexpected(parsed.error());
    files.push_back({path, *text, std::move(*parsed)});
  }
  std::vector<std::string> why;
  // MODULES: the vfio modules before any GPU driver.
  auto modules_owner = OwnerOf(files, "MODULES");
  if (!modules_owner) return std::unexpected(modules_owner.error());
  ShellVarsFile& mfile = files[*modules_owner].file;
  std::vector<std::string> words;
  if (mfile.IsAssigned("MODULES")) {
    auto w = mfile.Words("MODULES");
    if (!w) return std::unexpected(w.error());
    words = *w;
  }
  bool append_only = false;
  auto wanted = WantedModules(words, VfioEarlyModules(kernel), kernel, &append_only);
  std::expected<bool, Error> changed = false;
  ShellNewStyle style{.array = true};
  if (append_only) {
    changed = mfile.AddTokens("MODULES", VfioEarlyModules(kernel), true, style);
  } else if (wanted != words) {
    changed = mfile.SetWords("MODULES", wanted, style);
  }
  if (!changed) return std::unexpected(changed.error());
  if (*changed) why.push_back("load vfio modules in the initramfs before any GPU driver");
  // HOOKS: the early-binding hook, where binding by address needs it.
  if (bind_hook) {
    auto hooks_owner = OwnerOf(files, "HOOKS");
    if (!hooks_owner) return std::unexpected(hooks_owner.error());
    ShellVarsFile& hfile = files[*hooks_owner].file;
    if (hfile.IsAssigned("HOOKS")) {
      auto hooks = hfile.Words("HOOKS");
      if (!hooks) return std::unexpected(hooks.error());
      auto wanted_hooks = WantedHooks(*hooks);
      if (wanted_hooks != *hooks) {
        auto set_hooks = hfile.SetWords("HOOKS", wanted_hooks, style);
        if (!set_hooks) return std::unexpected(set_hooks.error());
        why.push_back(std::string(kMkinitcpioHookAdvice));
      }
      if (std::find(hooks->begin(), hooks->end(), "systemd") != hooks->end()) {
        set->notes.push_back(
            "mkinitcpio builds a systemd-based image (HOOKS has systemd), which does not run "
            "vmprep-vfio: the devices are bound by vfio-pci ids and softdeps only");
      }
    }
  }
  for (auto& f : files) {
    if (f.file.Serialize() == f.before.value_or("")) continue;
    set->edits.push_back(MakeEdit(f.path, f.before, f.file.Serialize(), Join(why, "; ")));
  }
  return {};
}

}  // namespace vmprep
