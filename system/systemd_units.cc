#include "system/systemd_units.h"

#include <fmt/format.h>

#include <algorithm>

#include "formats/unit_install.h"

namespace vmprep {
namespace {

constexpr std::string_view kUnitDirs[] = {
    "/lib/systemd/system",  // Debian 12 (its packages' units; systemctl links here)
    "/usr/lib/systemd/system",
    "/usr/local/lib/systemd/system",
};

void AddLinks(const std::string& unit, const std::string& file,
              const std::vector<std::string>& targets, std::string_view suffix,
              std::vector<EnableLink>& out) {
  for (const auto& t : targets) {
    EnableLink link{unit, fmt::format("{}/{}{}/{}", kSystemdEtc, t, suffix, unit), file};
    if (std::none_of(out.begin(), out.end(),
                     [&](const EnableLink& l) { return l.path == link.path; }))
      out.push_back(std::move(link));
  }
}

}  // namespace

std::optional<std::string> FindUnitFile(const Host& host, std::string_view name) {
  if (name.empty() || name.find('/') != std::string_view::npos) return std::nullopt;
  for (auto dir : kUnitDirs) {
    std::string path = fmt::format("{}/{}", dir, name);
    auto info = host.Stat(Root::kConfig, path);
    if (info && info->type == FileType::kRegular) return path;
  }
  return std::nullopt;
}

bool UnitEnabled(const Host& host, std::string_view unit) {
  auto dirs = host.List(Root::kConfig, kSystemdEtc);
  if (!dirs) return false;
  for (const auto& d : *dirs) {
    if (!d.ends_with(".wants") && !d.ends_with(".requires")) continue;
    if (host.Exists(Root::kConfig, fmt::format("{}/{}/{}", kSystemdEtc, d, unit))) return true;
  }
  return false;
}

std::expected<std::vector<EnableLink>, Error> InstallLinks(std::string_view unit,
                                                           std::string_view file,
                                                           std::string_view text) {
  auto install = ParseUnitInstall(text, file);
  if (!install) return std::unexpected(install.error());
  std::vector<EnableLink> links;
  AddLinks(std::string(unit), std::string(file), install->wanted_by, ".wants", links);
  AddLinks(std::string(unit), std::string(file), install->required_by, ".requires", links);
  return links;
}

std::expected<std::vector<EnableLink>, Error> EnableLinks(const Host& host, std::string_view unit) {
  std::vector<EnableLink> links;
  std::vector<std::string> todo{std::string(unit)}, seen;
  while (!todo.empty()) {
    std::string name = std::move(todo.back());
    todo.pop_back();
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    auto file = FindUnitFile(host, name);
    if (!file) {
      return std::unexpected(Error{fmt::format("/lib/systemd/system/{}", name), 0,
                                   "no such unit file in /lib/systemd/system, "
                                   "/usr/lib/systemd/system or /usr/local/lib/systemd/system"});
    }
    auto text = host.Read(Root::kConfig, *file, 1 << 20);
    if (!text) return std::unexpected(text.error());
    auto install = ParseUnitInstall(*text, *file);
    if (!install) return std::unexpected(install.error());
    AddLinks(name, *file, install->wanted_by, ".wants", links);
    AddLinks(name, *file, install->required_by, ".requires", links);
    for (auto it = install->also.rbegin(); it != install->also.rend(); ++it) todo.push_back(*it);
  }
  return links;
}

}  // namespace vmprep
