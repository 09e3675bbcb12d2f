/// /etc/group and /etc/gshadow: one line per group, fields separated by ':', the members a
/// comma list in the fourth field of both. The one edit vmprep makes adds a member to one
/// group's line; every other byte stays.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace vmprep {

// `text` with `user` added to the members of `group`; nullopt when it is a member already.
// Refuses a file without that group, or whose line for it has fewer than four fields.
std::expected<std::optional<std::string>, Error> AddGroupMember(std::string_view text,
                                                                std::string_view path,
                                                                std::string_view group,
                                                                std::string_view user);

}  // namespace vmprep
