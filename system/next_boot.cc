/// The next boot's command line and initramfs, and the running kernel's boot time.
#include "system/next_boot.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "core/paths.h"
#include "core/text.h"
#include "formats/cpio.h"
#include "formats/loader_entry.h"
#include "formats/shell_vars.h"

namespace vmprep {
namespace {

constexpr std::string_view kGrubLinux = "GRUB_CMDLINE_LINUX";
constexpr std::string_view kGrubDefault = "GRUB_CMDLINE_LINUX_DEFAULT";

// The options of the first `linux` line of a GRUB menu (the default entry on a stock
// configuration): everything after the kernel's path.
std::optional<std::string> GrubMenuOptions(const Host& host, const std::string& cfg) {
  auto text = host.Read(Root::kConfig, cfg, 16u << 20);
  if (!text) return std::nullopt;
  for (auto line : SplitLines(*text)) {
    auto t = Trim(line);
    auto words = SplitWords(t);
    if (words.size() < 2) continue;
    if (words[0] != "linux" && words[0] != "linux16" && words[0] != "linuxefi") continue;
    auto after_path = t.substr(words[1].data() + words[1].size() - t.data());
    return std::string(Trim(after_path));
  }
  return std::nullopt;
}

std::optional<std::string> EntryOptions(const Host& host, const std::string& entry) {
  auto text = host.Read(Root::kConfig, entry, 1 << 20);
  if (!text) return std::nullopt;
  return LoaderEntry::Parse(*text).JoinedOptions();
}

std::expected<std::optional<ConfiguredCmdline>, Error> FromGrub(
    const Host& host, const std::vector<std::string>& entries) {
  auto paths = GrubDefaultFiles(host);
  if (!paths) return std::unexpected(paths.error());
  if (paths->empty()) return std::optional<ConfiguredCmdline>();
  std::string linux_value, default_value;
  bool bls = false;
  for (const auto& p : *paths) {
    auto text = host.Read(Root::kConfig, p);
    if (!text) return std::unexpected(text.error());
    auto parsed = ShellVarsFile::Parse(*text, p);
    if (!parsed) return std::unexpected(parsed.error());
    for (auto [var, out] :
         {std::pair{kGrubLinux, &linux_value}, std::pair{kGrubDefault, &default_value}}) {
      if (!parsed->IsAssigned(var)) continue;
      auto value = parsed->Value(var);
      if (!value) return std::unexpected(value.error());
      *out = *value;
    }
    if (parsed->IsAssigned("GRUB_ENABLE_BLSCFG")) {
      auto v = parsed->Value("GRUB_ENABLE_BLSCFG");
      bls = v && *v == "true";
    }
  }
  ConfiguredCmdline c;
  c.source = paths->size() == 1 ? paths->front() : paths->front() + " and grub.d";
  c.options = Trim(linux_value + " " + default_value);
  auto menu = GrubMenu(host, bls);
  if (!menu) return std::unexpected(menu.error());
  c.regenerate.push_back(menu->command);
  auto proxmox = ProxmoxRefresh(host);
  if (!proxmox) return std::unexpected(proxmox.error());
  if (*proxmox) c.regenerate.push_back(**proxmox);
  if (bls) {
    c.menu = entries.empty() ? "/boot/loader/entries" : entries.front();
    if (!entries.empty()) c.menu_options = EntryOptions(host, entries.front());
  } else {
    c.menu = "/boot/grub/grub.cfg";
    for (std::string cfg : {"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"}) {
      if (!host.Exists(Root::kConfig, cfg)) continue;
      c.menu = cfg;
      break;
    }
    c.menu_options = GrubMenuOptions(host, c.menu);
  }
  return std::optional<ConfiguredCmdline>(std::move(c));
}

std::expected<std::optional<ConfiguredCmdline>, Error> FromKernelstub(
    const Host& host, const std::vector<std::string>& entries) {
  const std::string path = "/etc/kernelstub/configuration";
  auto exists = CheckExists(host, Root::kConfig, path);
  if (!exists) return std::unexpected(exists.error());
  if (!*exists) return std::optional<ConfiguredCmdline>();
  auto text = host.Read(Root::kConfig, path);
  if (!text) return std::unexpected(text.error());
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded() || !json.contains("user") || !json["user"].contains("kernel_options") ||
      !json["user"]["kernel_options"].is_array())
    return std::unexpected(Error{path, 0,
                                 "no user.kernel_options array; expected kernelstub's "
                                 "configuration"});
  ConfiguredCmdline c;
  c.source = path;
  std::vector<std::string> options;
  for (const auto& o : json["user"]["kernel_options"])
    if (o.is_string()) options.push_back(o.get<std::string>());
  c.options = Join(options, " ");
  auto tool = FindConfigTool(host, "kernelstub");
  if (!tool) return std::unexpected(tool.error());
  c.regenerate.push_back({{tool->value_or("kernelstub")}, "kernelstub rewrites the boot entry"});
  c.menu = entries.empty() ? "/boot/efi/loader/entries" : entries.front();
  if (!entries.empty()) c.menu_options = EntryOptions(host, entries.front());
  return std::optional<ConfiguredCmdline>(std::move(c));
}

// /etc/kernel/cmdline or /etc/cmdline.d: read by kernel-install, mkinitcpio's UKIs or
// proxmox-boot-tool when they build the boot files.
std::expected<std::optional<ConfiguredCmdline>, Error> FromKernelInstallSource(
    const Host& host, const std::vector<std::string>& entries) {
  ConfiguredCmdline c;
  auto has_file = CheckExists(host, Root::kConfig, "/etc/kernel/cmdline");
  if (!has_file) return std::unexpected(has_file.error());
  if (*has_file) {
    auto text = host.Read(Root::kConfig, "/etc/kernel/cmdline");
    if (!text) return std::unexpected(text.error());
    c.source = "/etc/kernel/cmdline";
    c.options = Trim(*text);
  } else {
    auto names = ListIfExists(host, Root::kConfig, "/etc/cmdline.d");
    if (!names) return std::unexpected(names.error());
    std::vector<std::string> parts;
    for (const auto& n : *names) {
      if (!n.ends_with(".conf")) continue;
      auto text = host.Read(Root::kConfig, "/etc/cmdline.d/" + n);
      if (!text) return std::unexpected(text.error());
      parts.emplace_back(Trim(*text));
    }
    if (parts.empty()) return std::optional<ConfiguredCmdline>();
    c.source = "/etc/cmdline.d";
    c.options = Join(parts, " ");
  }
  std::string note;
  auto commands = KernelInstallCommands(host, c.source, &note);
  if (!commands) return std::unexpected(commands.error());
  c.regenerate = *commands;
  c.menu = entries.empty() ? "the unified kernel images built from " + c.source : entries.front();
  if (!entries.empty()) c.menu_options = EntryOptions(host, entries.front());
  return std::optional<ConfiguredCmdline>(std::move(c));
}

}  // namespace

std::expected<std::vector<std::string>, Error> GrubDefaultFiles(const Host& host) {
  const std::string main = "/etc/default/grub";
  auto has_main = CheckExists(host, Root::kConfig, main);
  if (!has_main) return std::unexpected(has_main.error());
  std::vector<std::string> paths;
  if (!*has_main) return paths;
  paths.push_back(main);
  auto names = ListIfExists(host, Root::kConfig, "/etc/default/grub.d");
  if (!names) return std::unexpected(names.error());
  for (const auto& n : *names)
    if (n.ends_with(".cfg")) paths.push_back("/etc/default/grub.d/" + n);
  return paths;
}

std::expected<std::vector<std::string>, Error> LoaderEntryFiles(const Host& host) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (std::string_view dir :
       {"/boot/loader/entries", "/efi/loader/entries", "/boot/efi/loader/entries"}) {
    auto names = ListIfExists(host, Root::kConfig, dir);
    if (!names) return std::unexpected(names.error());
    for (const auto& n : *names) {
      if (!n.ends_with(".conf")) continue;
      std::string path = std::string(dir) + "/" + n;
      auto real = host.Resolve(Root::kConfig, path);
      if (seen.insert(real ? *real : path).second) out.push_back(path);
    }
  }
  return out;
}

std::expected<std::vector<ConfiguredCmdline>, Error> ReadConfiguredCmdlines(const Host& host) {
  std::vector<ConfiguredCmdline> out;
  auto ostree = CheckExists(host, Root::kRuntime, "/run/ostree-booted");
  if (!ostree) return std::unexpected(ostree.error());
  if (*ostree) return out;  // rpm-ostree: kernel arguments belong to the deployment
  auto entries = LoaderEntryFiles(host);
  if (!entries) return std::unexpected(entries.error());
  auto grub = FromGrub(host, *entries);
  if (!grub) return std::unexpected(grub.error());
  auto kernelstub = FromKernelstub(host, *entries);
  if (!kernelstub) return std::unexpected(kernelstub.error());
  auto kernel_install = FromKernelInstallSource(host, *entries);
  if (!kernel_install) return std::unexpected(kernel_install.error());
  bool grub_bls = false;
  if (*grub) {
    grub_bls = (*grub)->menu.find("/loader/entries") != std::string::npos;
    out.push_back(std::move(**grub));
  }
  if (*kernelstub) out.push_back(std::move(**kernelstub));
  // Entries written by GRUB's BLS tooling or kernelstub are their menus; otherwise each entry
  // is read at boot as it is.
  if (!grub_bls && !*kernelstub) {
    for (const auto& e : *entries) {
      auto text = host.Read(Root::kConfig, e);
      if (!text) return std::unexpected(text.error());
      LoaderEntry entry = LoaderEntry::Parse(*text);
      if (entry.options_lines().empty()) continue;  // boots without options: not ours to judge
      out.push_back({e, entry.JoinedOptions(), "", std::nullopt, {}});
    }
  }
  if (*kernel_install) out.push_back(std::move(**kernel_install));
  return out;
}

std::string NextBootCmdline::StillToDo() const { return RunThenReboot(to_run); }

NextBootCmdline JudgeNextBootCmdline(const std::vector<ConfiguredCmdline>& places,
                                     const std::function<bool(const Cmdline&)>& wanted) {
  NextBootCmdline judged;
  if (places.empty()) return judged;
  for (const auto& p : places) {
    if (!wanted(Cmdline(p.options))) return NextBootCmdline{};
    judged.configured_in.push_back(p.source);
  }
  for (const auto& p : places) {
    if (p.menu.empty()) continue;
    if (p.menu_options && wanted(Cmdline(*p.menu_options))) continue;
    for (const auto& c : p.regenerate) {
      bool dup = std::any_of(judged.to_run.begin(), judged.to_run.end(),
                             [&](const BootCommand& x) { return x.argv == c.argv; });
      if (!dup) judged.to_run.push_back(c);
    }
  }
  judged.state = judged.to_run.empty() ? NextBootCmdline::State::kNeedsReboot
                                       : NextBootCmdline::State::kNeedsRegenerate;
  return judged;
}

std::optional<std::int64_t> NewestMtime(const Host& host, const std::vector<std::string>& paths) {
  std::optional<std::int64_t> newest;
  for (std::string path : paths) {
    if (auto colon = path.find(':'); colon != std::string::npos) path.resize(colon);
    auto info = host.Stat(Root::kConfig, path);
    if (info && (!newest || info->mtime > *newest)) newest = info->mtime;
  }
  return newest;
}

std::vector<BootCommand> InitramfsStillToRun(const Host& host,
                                             const std::vector<InitramfsGenerator>& generators,
                                             std::string_view release, std::int64_t changed,
                                             const std::vector<std::string>& modules,
                                             const std::vector<std::string>& files,
                                             std::vector<Evidence>* evidence) {
  bool stale = false;
  const auto images = InitramfsImages(host, release);
  if (images.empty()) {
    evidence->push_back({"/boot", fmt::format("no initramfs image of kernel {} to look into",
                                              release.empty() ? "(unknown)" : release)});
    return {};
  }
  for (const auto& path : images) {
    auto image = ReadInitramfs(host, path);
    if (!image) {
      evidence->push_back({path, image.error().message});
      continue;
    }
    std::vector<std::string> lacking;
    for (const auto& m : modules)
      if (!image->HasModule(m)) lacking.push_back(m);
    for (const auto& f : files)
      if (!image->Has(f)) lacking.push_back(f);
    const bool older = image->mtime < changed;
    if (older || !lacking.empty()) stale = true;
    evidence->push_back(
        {path, fmt::format("{} files{}{}", image->names.size(),
                           older ? ", older than its configuration" : "",
                           lacking.empty() ? "" : "; lacks " + Join(lacking, ", "))});
  }
  std::vector<BootCommand> out;
  if (!stale) return out;
  for (const auto& g : generators) out.push_back(g.regenerate);
  return out;
}

std::string RunThenReboot(const std::vector<BootCommand>& commands) {
  if (commands.empty()) return "reboot";
  std::vector<std::string> shown;
  for (const auto& c : commands) shown.push_back("`" + Join(c.argv, " ") + "`");
  return fmt::format("run {}, then reboot", Join(shown, ", "));
}

std::optional<std::int64_t> BootTime(const Host& host) {
  auto text = host.Read(Root::kRuntime, "/proc/stat", 1 << 20);
  if (!text) return std::nullopt;
  for (auto line : SplitLines(*text)) {
    auto words = SplitWords(line);
    if (words.size() == 2 && words[0] == "btime") {
      std::int64_t t = 0;
      auto [p, ec] = std::from_chars(words[1].data(), words[1].data() + words[1].size(), t);
      if (ec == std::errc()) return t;
    }
  }
  return std::nullopt;
}

std::vector<std::string> InitramfsImages(const Host& host, std::string_view release) {
  std::vector<std::string> out;
  if (release.empty() || release.find('/') != std::string_view::npos) return out;
  const std::string r(release);
  for (const std::string& p : {"/boot/initrd.img-" + r, "/boot/initramfs-" + r + ".img"})
    if (host.Exists(Root::kConfig, p)) out.push_back(p);
  // BLS layout: /boot/<machine-id>/<release>/initrd (and the same under /efi).
  for (std::string_view base : {"/boot", "/efi", "/boot/efi"}) {
    auto ids = host.List(Root::kConfig, base);
    if (!ids) continue;
    for (const auto& id : *ids) {
      std::string p = fmt::format("{}/{}/{}/initrd", base, id, r);
      if (id.size() == 32 && host.Exists(Root::kConfig, p)) out.push_back(p);
    }
  }
  // Arch names images after the kernel package: initramfs-linux.img, -linux-lts.img, ...
  if (out.empty()) {
    if (auto names = host.List(Root::kConfig, "/boot")) {
      for (const auto& n : *names)
        if (n.starts_with("initramfs-linux") && n.ends_with(".img") &&
            n.find("-fallback") == std::string::npos)
          out.push_back("/boot/" + n);
    }
  }
  return out;
}

bool InitramfsContents::Has(std::string_view suffix) const {
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& n) { return n.ends_with(suffix); });
}

bool InitramfsContents::HasModule(std::string_view module) const {
  const std::string want = ModuleName(module);
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
    auto slash = n.rfind('/');
    std::string_view base = std::string_view(n).substr(slash == std::string::npos ? 0 : slash + 1);
    auto ko = base.find(".ko");
    return ko != std::string_view::npos && ModuleName(base.substr(0, ko)) == want;
  });
}

std::expected<InitramfsContents, Error> ReadInitramfs(const Host& host, const std::string& path) {
  InitramfsContents c;
  c.path = path;
  auto info = host.Stat(Root::kConfig, path);
  if (!info) return std::unexpected(info.error());
  c.mtime = info->mtime;
  auto bytes = host.Read(Root::kConfig, path, 512u << 20);
  if (!bytes) return std::unexpected(bytes.error());
  auto names = ListInitramfs(*bytes, path);
  if (!names) return std::unexpected(names.error());
  c.names = std::move(*names);
  return c;
}

}  // namespace vmprep
