/// The kernel command-line fixer and the shared token planner (see
/// kernel_cmdline.h). Sites, in the order they are looked for: rpm-ostree
/// (runtime /run/ostree-booted: kargs only), /etc/default/grub + grub.d/*.cfg,
/// /etc/kernelstub/configuration, loader entries (/boot, /efi, /boot/efi),
/// /etc/kernel/cmdline, /etc/cmdline.d.
#include "fixers/kernel_cmdline.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/paths.h"
#include "fixers/hugepages.h"
#include "formats/loader_entry.h"
#include "formats/shell_vars.h"
#include "system/boot_tools.h"
#include "system/iommu_rules.h"
#include "system/kernel_params.h"
#include "system/next_boot.h"
#include "system/pci_scan.h"
#include "system/system_info.h"
#include "system/vfio_selection.h"

namespace vmprep {
namespace {

bool SameToken(std::string_view a, std::string_view b) {
  return CmdlineKey(a) == CmdlineKey(b) && CmdlineHasValue(a) == CmdlineHasValue(b) &&
         CmdlineValue(a) == CmdlineValue(b);
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Drops every token `match` accepts. Token spans are recovered from Tokens()
// (each token is written verbatim and in order, separated only by white space),
// and the separating blanks are taken as Cmdline::Remove takes them.
bool RemoveMatching(Cmdline& c, const std::function<bool(std::string_view)>& match) {
  bool changed = false;
  for (;;) {
    auto tokens = c.Tokens();
    auto it =
        std::find_if(tokens.begin(), tokens.end(), [&](const std::string& t) { return match(t); });
    if (it == tokens.end()) return changed;
    size_t index = it - tokens.begin();
    std::string text = c.text();
    std::vector<std::pair<size_t, size_t>> spans;
    size_t pos = 0;
    for (const auto& t : tokens) {
      size_t b = text.find(t, pos);
      spans.emplace_back(b, b + t.size());
      pos = b + t.size();
    }
    size_t begin = spans[index].first, end = spans[index].second;
    if (index > 0) {
      begin = spans[index - 1].second;
    } else if (spans.size() > 1) {
      end = spans[1].first;
    }
    text.erase(begin, end - begin);
    c = Cmdline(text);
    changed = true;
  }
}

// The token that wins for `key` over all segments (the last one), if any.
std::optional<std::string> Winner(const std::vector<Cmdline>& segments, std::string_view key) {
  for (size_t i = segments.size(); i-- > 0;) {
    int at = segments[i].FindLast(key);
    if (at >= 0) return segments[i].Tokens()[at];
  }
  return std::nullopt;
}

// Sets `token` in every segment that has its key, or appends it to the target.
bool SetEverywhere(std::vector<Cmdline>& segments, size_t target, std::string_view token) {
  bool changed = false, found = false;
  for (auto& s : segments) {
    if (!s.Has(CmdlineKey(token))) continue;
    found = true;
    changed |= s.Set(token);
  }
  if (!found) changed |= segments[target].Set(token);
  return changed;
}

}  // namespace

std::expected<bool, std::string> ApplyCmdlineChange(std::vector<Cmdline>& segments, size_t target,
                                                    const CmdlineChange& change) {
  if (target >= segments.size()) return std::unexpected("no segment to add tokens to");
  bool changed = false;
  for (const auto& token : change.remove_tokens)
    for (auto& s : segments)
      changed |= RemoveMatching(s, [&](std::string_view t) { return SameToken(t, token); });
  if (change.remove_if)
    for (auto& s : segments) changed |= RemoveMatching(s, change.remove_if);

  for (const auto& list : change.lists) {
    auto win = Winner(segments, list.key);
    std::vector<std::string> items;
    std::string key = list.key;
    if (win) {
      items = SplitCommaList(CmdlineValue(*win));
      std::string written = win->substr(0, win->find('='));
      written.erase(std::remove(written.begin(), written.end(), '"'), written.end());
      key = written;
    }
    bool ok = win &&
              std::all_of(list.add.begin(), list.add.end(),
                          [&](const std::string& a) { return Contains(items, a); }) &&
              std::none_of(list.drop.begin(), list.drop.end(),
                           [&](const std::string& d) { return Contains(items, d); });
    if (ok) continue;
    std::vector<std::string> next;
    for (const auto& item : items)
      if (!Contains(list.drop, item) && !Contains(next, item)) next.push_back(item);
    for (const auto& item : list.add)
      if (!Contains(next, item)) next.push_back(item);
    if (next.empty()) {
      for (auto& s : segments) changed |= s.Remove(list.key);
      continue;
    }
    changed |= SetEverywhere(segments, target, key + "=" + Join(next, ","));
  }

  for (const auto& token : change.set) {
    auto win = Winner(segments, CmdlineKey(token));
    if (win && SameToken(*win, token)) continue;
    changed |= SetEverywhere(segments, target, token);
  }

  if (!change.group.empty()) {
    std::vector<std::string> keys;
    for (const auto& t : change.group) keys.push_back(CmdlineKey(t));
    std::vector<std::string> seen;  // group-key tokens in command-line order
    std::map<std::string, std::set<std::string>> values;
    for (const auto& s : segments)
      for (const auto& t : s.Tokens())
        if (Contains(keys, CmdlineKey(t))) {
          seen.push_back(t);
          values[CmdlineKey(t)].insert(CmdlineValue(t));
        }
    for (const auto& [key, vals] : values)
      if (vals.size() > 1) {
        std::vector<std::string> v(vals.begin(), vals.end());
        return std::unexpected(
            fmt::format("{} is given {} times with different values ({}); expected at most "
                        "one value, so "
                        "the change cannot be made by token edits: edit it by hand",
                        key, vals.size(), Join(v, ", ")));
      }
    bool satisfied = seen.size() == change.group.size();
    for (size_t i = 0; satisfied && i < seen.size(); ++i)
      satisfied = SameToken(seen[i], change.group[i]);
    if (!satisfied) {
      for (auto& s : segments)
        for (const auto& key : keys) changed |= s.Remove(key);
      for (const auto& t : change.group) changed |= segments[target].Set(t);
    }
  }
  return changed;
}

namespace {

// The change as single steps, applied in ApplyCmdlineChange's own order.
std::vector<CmdlineChange> SplitChange(const CmdlineChange& c) {
  std::vector<CmdlineChange> parts;
  for (const auto& t : c.remove_tokens) parts.push_back({.remove_tokens = {t}});
  if (c.remove_if) parts.push_back({.remove_if = c.remove_if});
  for (const auto& l : c.lists) parts.push_back({.lists = {l}});
  for (const auto& t : c.set) parts.push_back({.set = {t}});
  if (!c.group.empty()) parts.push_back({.group = c.group});
  return parts;
}

struct Planner {
  const Host& host;
  const CmdlineChange& change;
  std::string fixer;
  EditSet out;

  FileEdit Edit(std::string path, std::string before, std::string after, std::string why) const {
    FileEdit e;
    e.path = std::move(path);
    e.before = std::move(before);
    e.after = std::move(after);
    e.fixer = fixer;
    e.why = change.why + (change.why.empty() ? "" : "; ") + why;
    return e;
  }

  void Action(std::vector<std::string> argv, std::string why) {
    for (const auto& a : out.actions)
      if (a.argv == argv) return;
    out.actions.push_back({std::move(argv), std::move(why)});
  }

  void Action(const BootCommand& command) { Action(command.argv, command.why); }

  std::expected<void, Error> Grub(bool* grub_bls);
  std::expected<void, Error> Kernelstub();
  std::expected<void, Error> LoaderEntries();
  std::expected<void, Error> KernelCmdlineFile();
  std::expected<void, Error> CmdlineD();
  std::expected<void, Error> KernelInstallRegen(std::string_view source);
};

// The tokens removed and added between two command lines (multiset difference).
void TokenDiff(const std::vector<std::string>& before, const std::vector<std::string>& after,
               std::vector<std::string>* removed, std::vector<std::string>* added) {
  std::multiset<std::string> a(before.begin(), before.end()), b(after.begin(), after.end());
  for (const auto& t : before)
    if (auto it = b.find(t); it != b.end())
      b.erase(it);
    else
      removed->push_back(t);
  for (const auto& t : after)
    if (auto it = a.find(t); it != a.end())
      a.erase(it);
    else
      added->push_back(t);
}

constexpr std::string_view kLinux = "GRUB_CMDLINE_LINUX";
constexpr std::string_view kDefault = "GRUB_CMDLINE_LINUX_DEFAULT";

std::expected<void, Error> Planner::Grub(bool* grub_bls) {
  // grub-mkconfig sources /etc/default/grub, then grub.d/*.cfg in glob order.
  auto grub_files = GrubDefaultFiles(host);
  if (!grub_files) return std::unexpected(grub_files.error());
  if (grub_files->empty()) return {};
  const std::vector<std::string>& paths = *grub_files;
  const std::string& main = paths.front();
  std::vector<std::string> originals;
  std::vector<ShellVarsFile> files;
  for (const auto& p : paths) {
    auto text = host.Read(Root::kConfig, p);
    if (!text) return std::unexpected(text.error());
    auto parsed = ShellVarsFile::Parse(*text, p);
    if (!parsed) return std::unexpected(parsed.error());
    originals.push_back(*text);
    files.push_back(std::move(*parsed));
  }
  auto owner = [&](std::string_view var) -> int {
    for (size_t i = files.size(); i-- > 0;)
      if (files[i].IsAssigned(var)) return static_cast<int>(i);
    return -1;
  };
  auto line_of = [&](int file, std::string_view var) {
    int line = 0;
    for (const auto& a : files[file].assignments())
      if (a.name == var) line = a.line;
    return line;
  };
  const std::string_view vars[2] = {kLinux, kDefault};
  int owners[2] = {owner(kLinux), owner(kDefault)};
  std::vector<Cmdline> segments;
  for (int v = 0; v < 2; ++v) {
    std::string value;
    if (owners[v] >= 0) {
      auto got = files[owners[v]].Value(vars[v]);
      if (!got) return std::unexpected(got.error());
      value = *got;
    }
    segments.emplace_back(value);
  }
  size_t target = owners[1] >= 0 ? 1 : 0;
  std::string why_var = target == 1 ? fmt::format(
                                          "{} (holds the options of normal boots; its "
                                          "effective value is assigned "
                                          "last at {}:{})",
                                          kDefault, paths[owners[1]], line_of(owners[1], kDefault))
                                    : fmt::format(
                                          "{} (no active {} in {} or grub.d, as on "
                                          "Fedora: _LINUX is on every entry)",
                                          kLinux, kDefault, main);
  const std::string before_linux = segments[0].text(), before_default = segments[1].text();
  std::vector<std::string> before_tokens = Cmdline(before_linux + " " + before_default).Tokens();
  auto changed = ApplyCmdlineChange(segments, target, change);
  if (!changed) {
    int f = owners[target] >= 0 ? owners[target] : 0;
    return std::unexpected(Error{paths[f], line_of(f, vars[target]), changed.error()});
  }

  // Fedora-style: BLS entries under GRUB take their options from the entries,
  // which grub2-mkconfig --update-bls-cmdline (or grubby on older releases)
  // rewrites.
  bool bls = false;
  if (int o = owner("GRUB_ENABLE_BLSCFG"); o >= 0) {
    auto v = files[o].Value("GRUB_ENABLE_BLSCFG");
    bls = v && *v == "true";
  }
  *grub_bls = bls;
  if (!*changed) return {};

  // One SetValue per step: each rewrites only the bytes between the first and
  // last character it changes, so a removal does not rewrite (and un-wrap) a
  // long value up to the tokens appended at its end.
  std::vector<Cmdline> step = {Cmdline(before_linux), Cmdline(before_default)};
  for (const CmdlineChange& part : SplitChange(change)) {
    if (auto r = ApplyCmdlineChange(step, target, part); !r || !*r) continue;
    for (int v = 0; v < 2; ++v) {
      int f = owners[v] >= 0 ? owners[v] : 0;
      auto current = owners[v] >= 0 || files[f].IsAssigned(vars[v])
                         ? files[f].Value(vars[v])
                         : std::expected<std::string, Error>("");
      if (current && *current == step[v].text()) continue;
      auto set = files[f].SetValue(vars[v], step[v].text());
      if (!set) return std::unexpected(set.error());
    }
  }
  for (int v = 0; v < 2; ++v)
    if (step[v].text() != segments[v].text())
      return std::unexpected(Error{paths[0], 0, "internal: step-wise edit differs from the whole"});
  for (size_t i = 0; i < files.size(); ++i) {
    if (files[i].Serialize() == originals[i]) continue;
    out.edits.push_back(
        Edit(paths[i], originals[i], files[i].Serialize(), "kernel options in " + why_var));
  }

  auto menu = GrubMenu(host, bls);
  if (!menu) return std::unexpected(menu.error());
  if (bls && !menu->bls_update) {
    std::vector<std::string> removed, added;
    TokenDiff(before_tokens, Cmdline(segments[0].text() + " " + segments[1].text()).Tokens(),
              &removed, &added);
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

std::expected<void, Error> Planner::Kernelstub() {
  const std::string path = "/etc/kernelstub/configuration";
  auto text = host.Read(Root::kConfig, path);
  if (!text) return std::unexpected(text.error());
  // kernelstub writes json.dump(indent=2); we edit only when dumping the parsed
  // file gives back its exact bytes, so nothing else in it can change.
  auto json = nlohmann::ordered_json::parse(*text, nullptr, false);
  auto refuse = [&](std::string why) { return std::unexpected(Error{path, 0, std::move(why)}); };
  if (json.is_discarded()) return refuse("not valid JSON; expected kernelstub's configuration");
  std::string trailer = text->ends_with("\n") ? "\n" : "";
  if (json.dump(2) + trailer != *text)
    return refuse(
        "formatted differently from kernelstub's own output (json "
        "indent 2), so it "
        "cannot be rewritten byte-exactly; use `kernelstub -a "
        "OPTIONS` instead");
  if (!json.contains("user") || !json["user"].contains("kernel_options") ||
      !json["user"]["kernel_options"].is_array())
    return refuse("no user.kernel_options array; expected kernelstub's configuration");
  std::string joined;
  for (const auto& o : json["user"]["kernel_options"]) {
    if (!o.is_string()) return refuse("user.kernel_options holds a non-string");
    joined += (joined.empty() ? "" : " ") + o.get<std::string>();
  }
  std::vector<Cmdline> segments{Cmdline(joined)};
  auto changed = ApplyCmdlineChange(segments, 0, change);
  if (!changed) return refuse(changed.error());
  if (!*changed) return {};
  auto options = nlohmann::ordered_json::array();
  for (const auto& t : segments[0].Tokens()) options.push_back(t);
  json["user"]["kernel_options"] = options;
  out.edits.push_back(Edit(path, *text, json.dump(2) + trailer,
                           "user.kernel_options of kernelstub (Pop!_OS), which writes the "
                           "systemd-boot entry"));
  auto kernelstub = FindConfigTool(host, "kernelstub");
  if (!kernelstub) return std::unexpected(kernelstub.error());
  Action({kernelstub->value_or("kernelstub")},
         "kernelstub rewrites the boot entry from its configuration");
  return {};
}

std::expected<void, Error> Planner::LoaderEntries() {
  auto entries = LoaderEntryFiles(host);
  if (!entries) return std::unexpected(entries.error());
  for (const std::string& path : *entries) {
    auto text = host.Read(Root::kConfig, path);
    if (!text) return std::unexpected(text.error());
    LoaderEntry entry = LoaderEntry::Parse(*text);
    const auto& lines = entry.options_lines();
    if (lines.empty()) {
      out.notes.push_back(path +
                          ": no `options` line, so this entry boots with none; not "
                          "edited (add the options line by hand if it should get them)");
      continue;
    }
    std::vector<Cmdline> segments;
    for (std::size_t i = 0; i < lines.size(); ++i) segments.emplace_back(entry.OptionsText(i));
    auto changed = ApplyCmdlineChange(segments, segments.size() - 1, change);
    if (!changed) return std::unexpected(Error{path, lines.back().line, changed.error()});
    if (!*changed) continue;
    std::vector<std::string> values;
    for (const auto& segment : segments) values.push_back(segment.text());
    std::string after = entry.WithOptions(values);
    out.edits.push_back(Edit(path, *text, after,
                             "the options line(s) of this systemd-boot entry (every entry is "
                             "edited, not only the default; no regeneration needed)"));
  }
  return {};
}

// After /etc/kernel/cmdline or /etc/cmdline.d changed: what rebuilds the boot files.
std::expected<void, Error> Planner::KernelInstallRegen(std::string_view source) {
  std::string note;
  auto commands = KernelInstallCommands(host, source, &note);
  if (!commands) return std::unexpected(commands.error());
  for (const auto& c : *commands) Action(c);
  if (!note.empty()) out.notes.push_back(note);
  return {};
}

std::expected<void, Error> Planner::KernelCmdlineFile() {
  const std::string path = "/etc/kernel/cmdline";
  auto exists = CheckExists(host, Root::kConfig, path);
  if (!exists) return std::unexpected(exists.error());
  if (!*exists) return {};
  auto text = host.Read(Root::kConfig, path);
  if (!text) return std::unexpected(text.error());
  std::vector<Cmdline> segments{Cmdline(*text)};
  auto changed = ApplyCmdlineChange(segments, 0, change);
  if (!changed) return std::unexpected(Error{path, 1, changed.error()});
  if (!*changed) return {};
  std::string after = segments[0].text();
  if (Trim(*text).empty()) after = Trim(after).empty() ? after : std::string(Trim(after)) + "\n";
  out.edits.push_back(Edit(path, *text, after,
                           "/etc/kernel/cmdline: the command line kernel-install and UKI "
                           "builders give new entries"));
  return KernelInstallRegen(path);
}

std::expected<void, Error> Planner::CmdlineD() {
  // mkinitcpio reads /etc/cmdline.d/*.conf only when /etc/kernel/cmdline is
  // absent.
  auto kernel_cmdline = CheckExists(host, Root::kConfig, "/etc/kernel/cmdline");
  if (!kernel_cmdline) return std::unexpected(kernel_cmdline.error());
  if (*kernel_cmdline) return {};
  auto names = ListIfExists(host, Root::kConfig, "/etc/cmdline.d");
  if (!names) return std::unexpected(names.error());
  std::vector<std::string> paths;
  for (const auto& n : *names)
    if (n.ends_with(".conf")) paths.push_back("/etc/cmdline.d/" + n);
  if (paths.empty()) return {};
  const std::string own = "/etc/cmdline.d/vmprep.conf";
  std::vector<std::string> texts;
  std::vector<Cmdline> segments;
  for (const auto& p : paths) {
    auto text = host.Read(Root::kConfig, p);
    if (!text) return std::unexpected(text.error());
    texts.push_back(*text);
    segments.emplace_back(*text);
  }
  bool own_exists = Contains(paths, own);
  if (!own_exists) segments.emplace_back("");
  size_t target =
      own_exists ? std::find(paths.begin(), paths.end(), own) - paths.begin() : segments.size() - 1;
  auto changed = ApplyCmdlineChange(segments, target, change);
  if (!changed) return std::unexpected(Error{paths.back(), 0, changed.error()});
  if (!*changed) return {};
  for (size_t i = 0; i < paths.size(); ++i)
    if (segments[i].text() != texts[i])
      out.edits.push_back(Edit(paths[i], texts[i], segments[i].text(),
                               "tokens removed from this /etc/cmdline.d drop-in"));
  if (!own_exists && !segments.back().text().empty()) {
    FileEdit e = Edit(own, "", segments.back().text() + "\n",
                      "our own /etc/cmdline.d drop-in for the added tokens (mkinitcpio joins "
                      "every *.conf there)");
    e.before.reset();
    out.edits.push_back(std::move(e));
  }
  return KernelInstallRegen("/etc/cmdline.d");
}

bool ChangeEmpty(const CmdlineChange& c) {
  return c.remove_tokens.empty() && !c.remove_if && c.lists.empty() && c.set.empty() &&
         c.group.empty();
}

}  // namespace

std::expected<EditSet, Error> PlanCmdlineTokens(const Host& host, const CmdlineChange& change,
                                                std::string_view fixer_id) {
  Planner p{host, change, std::string(fixer_id), {}};
  if (ChangeEmpty(change)) return p.out;

  auto ostree = CheckExists(host, Root::kRuntime, "/run/ostree-booted");
  if (!ostree) return std::unexpected(ostree.error());
  if (*ostree) {
    // An rpm-ostree system: /etc/default/grub and the entries are generated per
    // deployment; kernel arguments are changed with `rpm-ostree kargs` only.
    KernelParams params = ReadKernelParams(host);
    if (!params.readable)
      return std::unexpected(Error{"/proc/cmdline", 0, "unreadable: " + params.error});
    std::vector<Cmdline> segments{Cmdline(params.text)};
    auto changed = ApplyCmdlineChange(segments, 0, change);
    if (!changed) return std::unexpected(Error{"/proc/cmdline", 0, changed.error()});
    if (!*changed) return p.out;
    std::vector<std::string> removed, added;
    TokenDiff(Cmdline(params.text).Tokens(), segments[0].Tokens(), &removed, &added);
    std::vector<std::string> argv{"rpm-ostree", "kargs"};
    for (const auto& t : removed) argv.push_back("--delete-if-present=" + t);
    for (const auto& t : added) argv.push_back("--append-if-missing=" + t);
    p.Action(argv,
             "rpm-ostree (immutable system): kernel arguments belong to "
             "the deployment");
    p.out.notes.push_back(
        "rpm-ostree system (/run/ostree-booted): no files are edited; the "
        "kargs command stages a new deployment, active after a reboot");
    return p.out;
  }

  bool grub_bls = false;
  if (auto r = p.Grub(&grub_bls); !r) return std::unexpected(r.error());
  auto has_kernelstub = CheckExists(host, Root::kConfig, "/etc/kernelstub/configuration");
  if (!has_kernelstub) return std::unexpected(has_kernelstub.error());
  const bool kernelstub = *has_kernelstub;
  if (kernelstub)
    if (auto r = p.Kernelstub(); !r) return std::unexpected(r.error());
  // Entries written by GRUB's BLS tooling or by kernelstub are regenerated by
  // them.
  if (!grub_bls && !kernelstub)
    if (auto r = p.LoaderEntries(); !r) return std::unexpected(r.error());
  if (auto r = p.KernelCmdlineFile(); !r) return std::unexpected(r.error());
  if (auto r = p.CmdlineD(); !r) return std::unexpected(r.error());

  bool any_site = kernelstub;
  for (std::string_view d :
       {"/etc/default/grub", "/etc/kernel/cmdline", "/etc/cmdline.d", "/boot/loader/entries",
        "/efi/loader/entries", "/boot/efi/loader/entries"}) {
    auto exists = CheckExists(host, Root::kConfig, d);
    if (!exists) return std::unexpected(exists.error());
    any_site |= *exists;
  }
  if (!any_site)
    return std::unexpected(Error{"", 0,
                                 "found no kernel command line to edit in the "
                                 "config root (looked for /etc/default/grub, "
                                 "loader entries in /boot, /efi and /boot/efi, "
                                 "/etc/kernel/cmdline, /etc/cmdline.d, "
                                 "/etc/kernelstub/configuration)"});
  return p.out;
}

std::expected<CmdlineChange, Error> CmdlineChangeForOptions(const Host& host,
                                                            const FixerOptions& options,
                                                            std::vector<std::string>* notes) {
  CmdlineChange change;
  std::vector<std::string> why;
  if (options.iommu) {
    // The same rules as the iommu probe: the firmware's table tells the vendor, and every
    // token the probe calls wrong, disabling or interrupt-remapping-off is removed.
    auto vendor = DetectIommuVendor(host, ReadCpuInfo(host));
    if (!vendor) return std::unexpected(vendor.error());
    change.remove_if = [v = vendor->vendor](std::string_view token) {
      auto problem = JudgeIommuToken(token, v);
      return problem && problem->remove;
    };
    why.push_back("drop IOMMU options that are wrong or switch it off");
    if (vendor->vendor == IommuVendor::kIntel) {
      change.lists.push_back({"intel_iommu", {"on"}, {"off"}});
      why.push_back(fmt::format("intel_iommu=on (Intel VT-d, told by {}: off unless asked)",
                                vendor->evidence.path));
    } else if (vendor->vendor == IommuVendor::kUnknown && notes) {
      notes->push_back(
          "IOMMU vendor unknown (no DMAR, IVRS or IORT table, no CPU vendor in "
          "/proc/cpuinfo): intel_iommu=on was not added; add it by hand on an Intel machine");
    }
  }
  if (options.iommu_pt) {
    change.set.push_back("iommu=pt");
    why.push_back("iommu=pt (host devices skip DMA translation)");
  }
  if (options.vfio && !options.devices.empty()) {
    auto sel = SelectForVfio(host, options.devices, options.allow_host_devices);
    if (!sel) return std::unexpected(sel.error());
    if (notes) notes->insert(notes->end(), sel->notes.begin(), sel->notes.end());
    if (!sel->ids.empty()) {
      change.lists.push_back({"vfio-pci.ids", sel->ids, {}});
      why.push_back("vfio-pci.ids (vfio-pci claims the devices before their drivers)");
    }
  }
  change.why = Join(why, ", ");
  return change;
}

std::string_view CmdlineFixer::Id() const { return kFixKernelCmdline; }

std::string_view CmdlineFixer::Description() const {
  return "kernel command line: IOMMU, iommu=pt, vfio-pci.ids, hugepage "
         "reservation";
}

std::expected<EditSet, Error> CmdlineFixer::Plan(const Host& host,
                                                 const FixerOptions& options) const {
  std::vector<std::string> notes;
  auto change = CmdlineChangeForOptions(host, options, &notes);
  if (!change) return std::unexpected(change.error());
  // The reservation shares the files this fixer edits: one fixer must own all
  // their tokens, or two plans of one file would both start from the same
  // bytes.
  if (options.hugepages) {
    auto huge = HugepagesCmdlineChange(host, *options.hugepages);
    if (!huge) return std::unexpected(huge.error());
    change->group = huge->group;
    change->why += (change->why.empty() ? "" : ", ") + huge->why;
  }
  auto plan = PlanCmdlineTokens(host, *change, kFixKernelCmdline);
  if (!plan) return plan;
  for (auto& n : notes) plan->notes.push_back(std::move(n));
  return plan;
}

std::unique_ptr<Fixer> MakeCmdlineFixer() { return std::make_unique<CmdlineFixer>(); }

}  // namespace vmprep
