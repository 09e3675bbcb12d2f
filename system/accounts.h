// User and group names from the config root's /etc/passwd and /etc/group.
#pragma once

#include <sys/types.h>

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/host.h"

namespace vmprep {

// Whose access to device nodes is judged (/dev/kvm, /dev/vfio/N).
struct Identity {
  uid_t uid = 0;
  std::vector<gid_t> gids;  // primary and supplementary groups
  std::string name;         // user name for messages ("root", "alice")
};

// The user running vmcheck: effective uid and groups, with names from the config root.
Identity CurrentIdentity(const Host& host);
// A user named on the command line (--user NAME), looked up in the config root's files.
std::expected<Identity, Error> LookupIdentity(const Host& host, std::string_view name);
// May `who` open a file with this mode and ownership read-write? (root always may.)
bool MayReadWrite(const Identity& who, const FileInfo& info);
std::optional<std::string> GroupName(const Host& host, gid_t gid);
std::optional<gid_t> GroupId(const Host& host, std::string_view name);
std::optional<std::string> UserName(const Host& host, uid_t uid);

}  // namespace vmprep
