/// The kernel command-line fixer and the shared token planner (see
/// kernel_cmdline.h). Sites, in the order they are looked for: rpm-ostree
/// (runtime /run/ostree-booted: kargs only), /etc/default/grub + grub.d/*.cfg,
/// /etc/kernelstub/configuration, loader entries (/boot, /efi, /boot/efi),
/// /etc/kernel/cmdline, /etc/cmdline.d.
#include "fixers/kernel_cmdline.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "fixers/hugepages.h"
#include "formats/shell_vars.h"
#include "system/kernel_params.h"
#include "system/pci_scan.h"
#include "system/system_info.h"

namespace vmprep {
namespace {

bool SameToken(std::string_view a, std::string_view b) {
  return CmdlineKey(a) == CmdlineKey(b) && CmdlineHasValue(a) == CmdlineHasValue(b) &&
         CmdlineValue(a) == CmdlineValue(b);
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Drops every token equal to `token`. Token spans are recovered from Tokens()
// (each token is written verbatim and in order, separated only by white space),
// and the separating blanks are taken as Cmdline::Remove takes them.
bool RemoveExact(Cmdline& c, std::string_view token) {
  bool changed = false;
  for (;;) {
    auto tokens = c.Tokens();
    auto it = std::find_if(tokens.begin(), tokens.end(),
                           [&](const std::string& t) { return SameToken(t, token); });
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
    for (auto& s : segments) changed |= RemoveExact(s, token);

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

  std::optional<std::string> FindTool(std::string_view name) const {
    for (std::string_view dir : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"}) {
      std::string p = std::string(dir) + std::string(name);
      auto st = host.Stat(Root::kConfig, p);
      if (st && st->type == FileType::kRegular) return p;
    }
    return std::nullopt;
  }

  bool ToolMentions(const std::string& path, std::string_view what) const {
    auto text = host.Read(Root::kConfig, path, 64u << 20);
    return text && text->find(what) != std::string::npos;
  }

  std::expected<void, Error> Grub(bool* grub_bls);
  std::expected<void, Error> Kernelstub();
  std::expected<void, Error> LoaderEntries();
  std::expected<void, Error> KernelCmdlineFile();
  std::expected<void, Error> CmdlineD();
  void KernelInstallRegen(std::string_view source);
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
  const std::string main = "/etc/default/grub";
  if (!host.Exists(Root::kConfig, main)) return {};
  // grub-mkconfig sources /etc/default/grub, then grub.d/*.cfg in glob order.
  std::vector<std::string> paths{main};
  if (auto names = host.List(Root::kConfig, "/etc/default/grub.d"))
    for (const auto& n : *names)
      if (n.ends_with(".cfg")) paths.push_back("/etc/default/grub.d/" + n);
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

  auto mkconfig2 = FindTool("grub2-mkconfig");
  if (bls) {
    std::string mk = mkconfig2.value_or("grub2-mkconfig");
    if (mkconfig2 && ToolMentions(*mkconfig2, "--update-bls-cmdline")) {
      Action({mk, "-o", "/boot/grub2/grub.cfg", "--update-bls-cmdline"},
             "GRUB_ENABLE_BLSCFG=true: the boot entries keep their own "
             "options; this "
             "grub2-mkconfig knows --update-bls-cmdline and copies the new "
             "ones into them");
      return {};
    }
    std::vector<std::string> removed, added;
    TokenDiff(before_tokens, Cmdline(segments[0].text() + " " + segments[1].text()).Tokens(),
              &removed, &added);
    std::vector<std::string> argv{FindTool("grubby").value_or("grubby"), "--update-kernel=ALL"};
    if (!added.empty()) argv.push_back("--args=" + Join(added, " "));
    if (!removed.empty()) argv.push_back("--remove-args=" + Join(removed, " "));
    Action(argv,
           "GRUB_ENABLE_BLSCFG=true and this grub2-mkconfig has no "
           "--update-bls-cmdline: "
           "grubby edits every boot entry's options");
    Action({mk, "-o", "/boot/grub2/grub.cfg"}, "regenerate the GRUB menu");
    return {};
  }
  if (auto ug = FindTool("update-grub")) {
    Action({*ug}, "Debian/Ubuntu: update-grub regenerates /boot/grub/grub.cfg");
  } else if (auto mk = FindTool("grub-mkconfig")) {
    Action({*mk, "-o", "/boot/grub/grub.cfg"}, "regenerate the GRUB menu");
  } else if (mkconfig2 || host.Exists(Root::kConfig, "/boot/grub2")) {
    // /boot/grub2/grub.cfg, never the ESP stub
    // (/boot/efi/EFI/<distro>/grub.cfg) that only chains to it.
    Action({mkconfig2.value_or("grub2-mkconfig"), "-o", "/boot/grub2/grub.cfg"},
           "regenerate the GRUB menu (Fedora-style /boot/grub2)");
  } else {
    Action({"grub-mkconfig", "-o", "/boot/grub/grub.cfg"},
           "regenerate the GRUB menu (no update-grub or grub-mkconfig found in "
           "the config root)");
  }
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
  Action({FindTool("kernelstub").value_or("kernelstub")},
         "kernelstub rewrites the boot entry from its configuration");
  return {};
}

std::expected<void, Error> Planner::LoaderEntries() {
  std::set<std::string> done;
  for (std::string_view dir :
       {"/boot/loader/entries", "/efi/loader/entries", "/boot/efi/loader/entries"}) {
    auto names = host.List(Root::kConfig, dir);
    if (!names) continue;
    for (const auto& n : *names) {
      if (!n.ends_with(".conf")) continue;
      std::string path = std::string(dir) + "/" + n;
      auto real = host.Resolve(Root::kConfig, path);
      if (!done.insert(real ? *real : path).second) continue;
      auto text = host.Read(Root::kConfig, path);
      if (!text) return std::unexpected(text.error());
      // `key value` lines: only the value bytes of `options` lines are edited.
      struct Range {
        size_t begin, end;
        int line;
      };
      std::vector<Range> ranges;
      size_t pos = 0;
      int line = 0;
      while (pos < text->size()) {
        size_t eol = text->find('\n', pos);
        if (eol == std::string::npos) eol = text->size();
        ++line;
        size_t k = pos;
        while (k < eol && ((*text)[k] == ' ' || (*text)[k] == '\t')) ++k;
        size_t key_end = k;
        while (key_end < eol && (*text)[key_end] != ' ' && (*text)[key_end] != '\t') ++key_end;
        if (std::string_view(*text).substr(k, key_end - k) == "options") {
          size_t v = key_end;
          while (v < eol && ((*text)[v] == ' ' || (*text)[v] == '\t')) ++v;
          size_t end = eol;
          if (end > v && (*text)[end - 1] == '\r') --end;
          if (v == key_end) v = end;  // "options" alone: an empty value at line end
          ranges.push_back({v, end, line});
        }
        pos = eol + 1;
      }
      if (ranges.empty()) {
        out.notes.push_back(path +
                            ": no `options` line, so this entry boots with none; not "
                            "edited (add the options line by hand if it should get them)");
        continue;
      }
      std::vector<Cmdline> segments;
      for (const auto& r : ranges) segments.emplace_back(text->substr(r.begin, r.end - r.begin));
      auto changed = ApplyCmdlineChange(segments, segments.size() - 1, change);
      if (!changed) return std::unexpected(Error{path, ranges.back().line, changed.error()});
      if (!*changed) continue;
      std::string after = *text;
      for (size_t i = ranges.size(); i-- > 0;) {
        std::string value = segments[i].text();
        // "options" alone: a separator before the first token.
        if (ranges[i].begin == ranges[i].end && !value.empty() &&
            (ranges[i].begin == 0 ||
             (after[ranges[i].begin - 1] != ' ' && after[ranges[i].begin - 1] != '\t')))
          value = " " + value;
        after.replace(ranges[i].begin, ranges[i].end - ranges[i].begin, value);
      }
      out.edits.push_back(Edit(path, *text, after,
                               "the options line(s) of this systemd-boot entry (every entry is "
                               "edited, not only the default; no regeneration needed)"));
    }
  }
  return {};
}

// After /etc/kernel/cmdline or /etc/cmdline.d changed: what rebuilds the boot
// files.
void Planner::KernelInstallRegen(std::string_view source) {
  bool uki = false;
  if (auto presets = host.List(Root::kConfig, "/etc/mkinitcpio.d"))
    for (const auto& p : *presets) {
      if (!p.ends_with(".preset")) continue;
      auto text = host.Read(Root::kConfig, "/etc/mkinitcpio.d/" + p);
      if (!text) continue;
      for (auto l : SplitLines(*text)) {
        auto t = Trim(l);
        if (!t.starts_with("#") && t.find("_uki=") != std::string_view::npos) uki = true;
      }
    }
  auto mkinitcpio = FindTool("mkinitcpio");
  if (mkinitcpio && (uki || source == "/etc/cmdline.d")) {
    Action({*mkinitcpio, "-P"}, fmt::format("mkinitcpio builds unified kernel images with the "
                                            "command line from {} "
                                            "(a preset sets _uki=)",
                                            source));
    return;
  }
  auto ki = FindTool("kernel-install");
  bool loader = false;
  for (std::string_view d : {"/boot/loader/entries", "/efi/loader/entries",
                             "/boot/efi/loader/entries", "/etc/kernel/install.conf"})
    loader |= host.Exists(Root::kConfig, d);
  if (ki && (loader || uki)) {
    if (ToolMentions(*ki, "add-all")) {
      Action({*ki, "add-all"}, fmt::format("kernel-install copies {} into every installed "
                                           "kernel's entry or UKI",
                                           source));
      return;
    }
    // Older kernel-install (systemd < 255) has no add-all: one `add` per
    // kernel.
    if (auto kernels = host.List(Root::kConfig, "/usr/lib/modules"))
      for (const auto& k : *kernels) {
        std::string image = "/usr/lib/modules/" + k + "/vmlinuz";
        if (host.Exists(Root::kConfig, image))
          Action({*ki, "add", k, image},
                 fmt::format("kernel-install rewrites kernel {}'s entry from {}", k, source));
      }
    return;
  }
  out.notes.push_back(
      fmt::format("{} changed, but neither mkinitcpio with a "
                  "UKI preset nor kernel-install with a boot "
                  "loader layout was found: regenerate the "
                  "boot entries or UKIs that read it",
                  source));
}

std::expected<void, Error> Planner::KernelCmdlineFile() {
  const std::string path = "/etc/kernel/cmdline";
  if (!host.Exists(Root::kConfig, path)) return {};
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
  KernelInstallRegen(path);
  return {};
}

std::expected<void, Error> Planner::CmdlineD() {
  // mkinitcpio reads /etc/cmdline.d/*.conf only when /etc/kernel/cmdline is
  // absent.
  if (host.Exists(Root::kConfig, "/etc/kernel/cmdline")) return {};
  auto names = host.List(Root::kConfig, "/etc/cmdline.d");
  if (!names) return {};
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
  KernelInstallRegen("/etc/cmdline.d");
  return {};
}

bool ChangeEmpty(const CmdlineChange& c) {
  return c.remove_tokens.empty() && c.lists.empty() && c.set.empty() && c.group.empty();
}

}  // namespace

std::expected<EditSet, Error> PlanCmdlineTokens(const Host& host, const CmdlineChange& change,
                                                std::string_view fixer_id) {
  Planner p{host, change, std::string(fixer_id), {}};
  if (ChangeEmpty(change)) return p.out;

  if (host.Exists(Root::kRuntime, "/run/ostree-booted")) {
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
  bool kernelstub = host.Exists(Root::kConfig, "/etc/kernelstub/configuration");
  if (kernelstub)
    if (auto r = p.Kernelstub(); !r) return std::unexpected(r.error());
  // Entries written by GRUB's BLS tooling or by kernelstub are regenerated by
  // them.
  if (!grub_bls && !kernelstub)
    if (auto r = p.LoaderEntries(); !r) return std::unexpected(r.error());
  if (auto r = p.KernelCmdlineFile(); !r) return std::unexpected(r.error());
  if (auto r = p.CmdlineD(); !r) return std::unexpected(r.error());

  bool any_site = host.Exists(Root::kConfig, "/etc/default/grub") || kernelstub ||
                  host.Exists(Root::kConfig, "/etc/kernel/cmdline") ||
                  host.Exists(Root::kConfig, "/etc/cmdline.d");
  for (std::string_view d :
       {"/boot/loader/entries", "/efi/loader/entries", "/boot/efi/loader/entries"})
    any_site |= host.Exists(Root::kConfig, d);
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
    // amd_iommu has no "on" value (the AMD IOMMU is on when the firmware
    // enables it), and iommu=1/on are not values of the x86 iommu= parameter:
    // both are no-ops at best.
    change.remove_tokens = {"amd_iommu=on", "iommu=1", "iommu=on", "iommu=off"};
    auto cpu = ReadCpuInfo(host);
    bool intel = cpu && cpu->is_intel();
    bool amd = cpu && cpu->is_amd();
    if (!intel && !amd) {
      intel = host.Exists(Root::kRuntime, "/sys/firmware/acpi/tables/DMAR");
      amd = host.Exists(Root::kRuntime, "/sys/firmware/acpi/tables/IVRS");
    }
    if (intel) {
      change.lists.push_back({"intel_iommu", {"on"}, {"off"}});
      why.push_back("intel_iommu=on (Intel CPU: the Intel IOMMU is off unless asked)");
    } else if (amd) {
      change.remove_tokens.push_back("amd_iommu=off");
      why.push_back(
          "AMD CPU: the IOMMU is on by default, amd_iommu=on is not "
          "a valid value");
    } else if (notes) {
      notes->push_back(
          "CPU vendor unknown (no /proc/cpuinfo vendor, no DMAR or IVRS "
          "table): "
          "intel_iommu=on was not added; add it by hand on an Intel machine");
    }
  }
  if (options.iommu_pt) {
    change.set.push_back("iommu=pt");
    why.push_back("iommu=pt (host devices skip DMA translation)");
  }
  if (options.vfio && !options.devices.empty()) {
    auto scan = ScanPci(host);
    if (!scan) return std::unexpected(scan.error());
    const Topology& topo = scan->topology;
    std::set<PciAddress> chosen;
    for (const auto& address : options.devices) {
      const PciDevice* dev = topo.Find(address);
      if (!dev)
        return std::unexpected(Error{"/sys/bus/pci/devices/" + address.ToString(), 0,
                                     "no such PCI device; expected one of lspci's addresses"});
      chosen.insert(address);
      for (const PciDevice* m : topo.GroupMembers(dev->iommu_group))
        if (!m->IsPciBridge() && !m->IsHostBridge()) chosen.insert(m->address);
    }
    std::vector<std::string> ids;
    std::vector<std::string> clashes;
    for (const auto& address : chosen) {
      const PciDevice* d = topo.Find(address);
      if (!d->vendor_id || !d->device_id) continue;
      std::string id = fmt::format("{:04x}:{:04x}", *d->vendor_id, *d->device_id);
      if (!Contains(ids, id)) ids.push_back(id);
      for (const auto& [other, od] : topo.devices())
        if (!chosen.contains(other) && od.vendor_id == d->vendor_id && od.device_id == d->device_id)
          clashes.push_back(fmt::format("{} ({}, stays with the host)", other.ToString(), id));
    }
    if (!clashes.empty()) {
      if (notes)
        notes->push_back("vfio-pci.ids not used: it would also take " + Join(clashes, ", ") +
                         ", which has the same vendor:device as a chosen "
                         "device; the devices are "
                         "bound by address instead "
                         "(/etc/vmprep/vfio-bind.conf, fixer vfio-bind)");
    } else if (!ids.empty()) {
      change.lists.push_back({"vfio-pci.ids", ids, {}});
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
