/// The kernel-cmdline fixer's GRUB site: GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT in
/// /etc/default/grub and grub.d/*.cfg, then the command that rebuilds the menu (grub-mkconfig,
/// grubby for BLS entries, proxmox-boot-tool). Part of fixers/kernel_cmdline.cc.
#include <fmt/format.h>

#include "fixers/kernel_cmdline_internal.h"
#include "formats/shell_vars.h"
#include "system/boot_tools.h"
#include "system/next_boot.h"

namespace vmprep::cmdline_internal {
namespace {

constexpr std::string_view kLinux = "GRUB_CMDLINE_LINUX";
constexpr std::string_view kDefault = "GRUB_CMDLINE_LINUX_DEFAULT";

// /etc/default/grub and grub.d/*.cfg, parsed, in the order grub-mkconfig sources them.
struct GrubFiles {
  std::vector<std::string> paths;
  std::vector<std::string> originals;
  std::vector<ShellVarsFile> files;

  // The file whose assignment of `var` wins (the last one), or -1.
  int Owner(std::string_view var) const {
    for (size_t i = files.size(); i-- > 0;)
      if (files[i].IsAssigned(var)) return static_cast<int>(i);
    return -1;
  }
  // The line of the last assignment of `var` in file `file` (0 when none).
  int LineOf(int file, std::string_view var) const {
    int line = 0;
    for (const auto& a : files[file].assignments())
      if (a.name == var) line = a.line;
    return line;
  }
};

std::expected<GrubFiles, Error> ReadGrubFiles(const Host& host,
                                              const std::vector<std::string>& paths) {
  GrubFiles g;
  g.paths = paths;
  for (const auto& p : paths) {
    auto text = host.Read(Root::kConfig, p);
    if (!text) return std::unexpected(text.error());
    auto parsed = ShellVarsFile::Parse(*text, p);
    if (!parsed) return std::unexpected(parsed.error());
    g.originals.push_back(*text);
    g.files.push_back(std::move(*parsed));
  }
  return g;
}

// One SetValue per step: each rewrites only the bytes between the first and
// last character it changes, so a removal does not rewrite (and un-wrap) a
// long value up to the tokens appended at its end.
std::expected<void, Error> SetStepwise(GrubFiles& g, const int owners[2], size_t target,
                                       const CmdlineChange& change, std::vector<Cmdline> step,
                                       const std::vector<Cmdline>& whole) {
  const std::string_view vars[2] = {kLinux, kDefault};
  for (const CmdlineChange& part : SplitChange(change)) {
    if (auto r = ApplyCmdlineChange(step, target, part); !r || !*r) continue;
    for (int v = 0; v < 2; ++v) {
      int f = owners[v] >= 0 ? owners[v] : 0;
      auto current = owners[v] >= 0 || g.files[f].IsAssigned(vars[v])
                         ? g.files[f].Value(vars[v])
                         : std::expected<std::string, Error>("");
      if (current && *current == step[v].text()) continue;
      auto set = g.files[f].SetValue(vars[v], step[v].text());
      if (!set) return std::unexpected(set.error());
    }
  }
  for (int v = 0; v < 2; ++v)
    if (step[v].text() != whole[v].text())
      return std::unexpected(
          Error{g.paths[0], 0, "internal: step-wise edit differs from the whole"});
  return {};
}

// Whether GRUB_ENABLE_BLSCFG=true: Fedora-style BLS entries under GRUB take their options
// from the entries, which grub2-mkconfig --update-bls-cmdline (or grubby on older releases)
// rewrites.
bool GrubUsesBls(const GrubFiles& g) {
  if (int o = g.Owner("GRUB_ENABLE_BLSCFG"); o >= 0) {
    auto v = g.files[o].Value("GRUB_ENABLE_BLSCFG");
    return v && *v == "true";
  }
  return false;
}

}  // namespace

// The commands that carry the changed GRUB variables into the boot menu.
std::expected<void, Error> Planner::GrubMenuActions(bool bls,
                                                    const std::vector<std::string>& before_tokens,
                                                    const std::vector<std::string>& after_tokens) {
  auto menu = GrubMenu(host, bls);
  if (!menu) return std::unexpected(menu.error());
  if (bls && !menu->bls_update) {
    std::vector<std::string> removed, added;
    TokenDiff(before_tokens, after_tokens, &removed, &added);
    auto grubby = FindConfigTool(host, "grubby");
    if (!grubby) return std::unexpected(grubby.error());
    std::vector<std::string> argv{grubby->value_or("grubby"), "--update-kernel=ALL"};
    if (!added.empty()) argv.push_back("--args=" + Join(added, " "));
    if (!removed.empty()) argv.push_back("--remove-args=" + Join(removed, " "));
    Action(argv,
           "GRUB_ENABLE_BLSCFG=true and this grub2-mkconfig has no "
           "--update-bls-cmdline: grubby edits every boot entry's options");
  }
  Action(menu->command);
  // Proxmox with proxmox-boot-tool: the ESPs it manages get the new menu and kernels too.
  auto proxmox = ProxmoxRefresh(host);
  if (!proxmox) return std::unexpected(proxmox.error());
  if (*proxmox) Action(**proxmox);
  return {};
}

std::expected<void, Error> Planner::Grub(bool* grub_bls) {
  // grub-mkconfig sources /etc/default/grub, then grub.d/*.cfg in glob order.
  auto grub_files = GrubDefaultFiles(host);
  if (!grub_files) return std::unexpected(grub_files.error());
  if (grub_files->empty()) return {};
  auto read = ReadGrubFiles(host, *grub_files);
  if (!read) return std::unexpected(read.error());
  GrubFiles& g = *read;
  const std::vector<std::string>& paths = g.paths;
  const std::string_view vars[2] = {kLinux, kDefault};
  int owners[2] = {g.Owner(kLinux), g.Owner(kDefault)};
  std::vector<Cmdline> segments;
  for (int v = 0; v < 2; ++v) {
    std::string value;
    if (owners[v] >= 0) {
      auto got = g.files[owners[v]].Value(vars[v]);
      if (!got) return std::unexpected(got.error());
      value = *got;
    }
    segments.emplace_back(value);
  }
  size_t target = owners[1] >= 0 ? 1 : 0;
  std::string why_var =
      target == 1
          ? fmt::format(
                "{} (holds the options of normal boots; its effective value is assigned last at "
                "{}:{})",
                kDefault, paths[owners[1]], g.LineOf(owners[1], kDefault))
          : fmt::format("{} (no active {} in {} or grub.d, as on Fedora: _LINUX is on every entry)",
                        kLinux, kDefault, paths.front());
  const std::vector<Cmdline> before = segments;
  std::vector<std::string> before_tokens =
      Cmdline(before[0].text() + " " + before[1].text()).Tokens();
  auto changed = ApplyCmdlineChange(segments, target, change);
  if (!changed) {
    int f = owners[target] >= 0 ? owners[target] : 0;
    return std::unexpected(Error{paths[f], g.LineOf(f, vars[target]), changed.error()});
  }
  const bool bls = GrubUsesBls(g);
  *grub_bls = bls;
  if (!*changed) return {};

  if (auto r = SetStepwise(g, owners, target, change, before, segments); !r) return r;
  for (size_t i = 0; i < g.files.size(); ++i) {
    if (g.files[i].Serialize() == g.originals[i]) continue;
    out.edits.push_back(
        Edit(paths[i], g.originals[i], g.files[i].Serialize(), "kernel options in " + why_var));
  }
  return GrubMenuActions(bls, before_tokens,
                         Cmdline(segments[0].text() + " " + segments[1].text()).Tokens());
}

}  // namespace vmprep::cmdline_internal
