/// Accounts from /etc/passwd and /etc/group of the config root (no NSS: the config root may be
/// another system's disk, and a captured tree has no name service).
#include "system/accounts.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <vector>

namespace vmprep {
namespace {

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  for (;;) {
    std::size_t colon = line.find(':', pos);
    if (colon == std::string_view::npos) {
      out.push_back(line.substr(pos));
      return out;
    }
    out.push_back(line.substr(pos, colon - pos));
    pos = colon + 1;
  }
}

std::optional<unsigned long> Number(std::string_view text) {
  unsigned long value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// Calls fn(fields) for each well-formed line of an /etc/passwd-style file.
template <typename Fn>
void EachEntry(const Host& host, std::string_view path, std::size_t min_fields, Fn fn) {
  auto text = host.Read(Root::kConfig, path);
  if (!text) return;
  for (auto line : SplitLines(*text)) {
    if (line.empty() || line.front() == '#') continue;
    auto f = Fields(line);
    if (f.size() >= min_fields) fn(f);
  }
}

bool ListHas(std::string_view list, std::string_view name) {
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    if (list.substr(pos, comma - pos) == name) return true;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

bool MayReadWrite(const Identity& who, const FileInfo& info) {
  if (who.uid == 0) return true;
  if (who.uid == info.uid) return (info.mode & 0600) == 0600;
  if (std::find(who.gids.begin(), who.gids.end(), info.gid) != who.gids.end()) {
    return (info.mode & 0060) == 0060;
  }
  return (info.mode & 0006) == 0006;
}

std::optional<std::string> GroupName(const Host& host, gid_t gid) {
  std::optional<std::string> name;
  EachEntry(host, "/etc/group", 3, [&](const auto& f) {
    if (!name && Number(f[2]) == gid) name = std::string(f[0]);
  });
  return name;
}

std::optional<gid_t> GroupId(const Host& host, std::string_view name) {
  std::optional<gid_t> gid;
  EachEntry(host, "/etc/group", 3, [&](const auto& f) {
    if (!gid && f[0] == name)
      if (auto n = Number(f[2])) gid = static_cast<gid_t>(*n);
  });
  return gid;
}

std::optional<std::string> UserName(const Host& host, uid_t uid) {
  std::optional<std::string> name;
  EachEntry(host, "/etc/passwd", 3, [&](const auto& f) {
    if (!name && Number(f[2]) == uid) name = std::string(f[0]);
  });
  return name;
}

Identity CurrentIdentity(const Host& host) {
  Identity id;
  id.uid = ::geteuid();
  id.gids.push_back(::getegid());
  int n = ::getgroups(0, nullptr);
  if (n > 0) {
    std::vector<gid_t> groups(static_cast<std::size_t>(n));
    n = ::getgroups(n, groups.data());
    for (int i = 0; i < n; ++i) id.gids.push_back(groups[static_cast<std::size_t>(i)]);
  }
  id.name = UserName(host, id.uid).value_or(fmt::format("uid {}", id.uid));
  return id;
}

std::expected<Identity, Error> LookupIdentity(const Host& host, std::string_view name) {
  std::optional<Identity> found;
  EachEntry(host, "/etc/passwd", 4, [&](const auto& f) {
    if (found || f[0] != name) return;
    auto uid = Number(f[2]);
    auto gid = Number(f[3]);
    if (!uid || !gid) return;
    found = Identity{static_cast<uid_t>(*uid), {static_cast<gid_t>(*gid)}, std::string(name)};
  });
  if (!found) {
    return std::unexpected(Error{
        "/etc/passwd", 0, fmt::format("no user named '{}' (expected a user of the system)", name)});
  }
  EachEntry(host, "/etc/group", 4, [&](const auto& f) {
    auto gid = Number(f[2]);
    if (gid && ListHas(f[3], name)) found->gids.push_back(static_cast<gid_t>(*gid));
  });
  return *found;
}

}  // namespace vmprep
