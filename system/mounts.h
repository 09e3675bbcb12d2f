// Mounts of the runtime root, from its /proc/self/mountinfo, parsed by libmount.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "core/host.h"

namespace vmprep {

struct MountEntry {
  std::string source;             // "hugetlbfs", "/dev/nvme0n1p2"
  std::string target;             // "/dev/hugepages"
  std::string fstype;             // "hugetlbfs"
  std::string options;            // fs-specific + VFS options, comma separated
  unsigned major = 0, minor = 0;  // st_dev of the mounted file system
};

std::expected<std::vector<MountEntry>, Error> ReadMounts(const Host& host);
std::expected<std::vector<MountEntry>, Error> ParseMountinfo(std::string_view text,
                                                             std::string_view path);
// The value of `key=` in a comma-separated option string, or "" when absent.
std::string MountOption(std::string_view options, std::string_view key);

}  // namespace vmprep
