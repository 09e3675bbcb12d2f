#include "core/paths.h"

#include <cerrno>

namespace vmprep {

std::expected<bool, Error> CheckExists(const Host& host, Root root, std::string_view path) {
  auto info = host.LStat(root, path);
  if (info) return true;
  if (info.error().errno_value == ENOENT || info.error().errno_value == ENOTDIR) return false;
  return std::unexpected(info.error());
}

std::expected<std::vector<std::string>, Error> ListIfExists(const Host& host, Root root,
                                                            std::string_view dir) {
  auto names = host.List(root, dir);
  if (names) return names;
  if (names.error().errno_value == ENOENT || names.error().errno_value == ENOTDIR)
    return std::vector<std::string>();
  return std::unexpected(names.error());
}

}  // namespace vmprep
