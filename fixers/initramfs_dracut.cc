// The initramfs fixer for dracut: force_drivers in our drop-in
// /etc/dracut.conf.d/10-vmprep-vfio.conf, and vfio_virqfd removed from /etc where a 6.2+
// kernel no longer has it.

#include "core/dropins.h"
#include "fixers/initramfs_internal.h"
#include "formats/shell_vars.h"

namespace vmprep {

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

}  // namespace vmprep
