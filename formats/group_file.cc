#include "formats/group_file.h"

#include <fmt/format.h>

#include "core/text.h"

namespace vmprep {

std::expected<std::optional<std::string>, Error> AddGroupMember(std::string_view text,
                                                                std::string_view path,
                                                                std::string_view group,
                                                                std::string_view user) {
  for (const auto& line : Lines(text)) {
    std::string_view l = line.text;
    if (!l.starts_with(std::string(group) + ":")) continue;
    // name:password:gid-or-admins:members[:...]
    std::size_t third = std::string_view::npos;
    for (std::size_t at = 0, n = 0; n < 3; ++n, ++at) {
      at = l.find(':', at);
      if (at == std::string_view::npos) break;
      if (n == 2) third = at;
    }
    if (third == std::string_view::npos)
      return std::unexpected(Error{std::string(path), line.number,
                                   fmt::format("the line of group {} has fewer than four "
                                               "':'-separated fields",
                                               group),
                                   0});
    std::string_view members = l.substr(third + 1);
    members = members.substr(0, members.find(':'));
    std::size_t pos = 0;
    while (pos <= members.size()) {
      std::size_t comma = std::min(members.find(',', pos), members.size());
      if (members.substr(pos, comma - pos) == user) return std::nullopt;
      pos = comma + 1;
    }
    const std::size_t insert = line.begin + third + 1 + members.size();
    std::string out(text);
    out.insert(insert, (members.empty() ? "" : ",") + std::string(user));
    return out;
  }
  return std::unexpected(
      Error{std::string(path), 0, fmt::format("no group {} in the file", group), 0});
}

}  // namespace vmprep
