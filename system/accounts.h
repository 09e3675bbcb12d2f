// User and group names from the config root's /etc/passwd and /etc/group.
#pragma once

#include <sys/types.h>

#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "core/host.h"
#include "checks/probe.h"

namespace vmprep {

// The user running vmcheck: effective uid and groups, with names from the config root.
Identity CurrentIdentity(const Host& host);
// A user named on the command line (--user NAME), looked up in the config root's files.
std::expected<Identity, Error> LookupIdentity(const Host& host, std::string_view name);
std::optional<std::string> GroupName(const Host& host, gid_t gid);
std::optional<std::string> UserName(const Host& host, uid_t uid);

}  // namespace vmprep
