/// The kernel-cmdline fixer's other sites: kernelstub's configuration (Pop!_OS), systemd-boot
/// loader entries, /etc/kernel/cmdline and /etc/cmdline.d/*.conf, with the commands that
/// rebuild the boot files. Part of fixers/kernel_cmdline.cc.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/paths.h"
#include "fixers/kernel_cmdline_internal.h"
#include "formats/loader_entry.h"
#include "system/next_boot.h"

namespace vmprep::cmdline_internal {

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

}  // namespace vmprep::cmdline_internal
