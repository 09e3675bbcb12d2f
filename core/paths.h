// Path facts through the Host seam that must not be mistaken: "absent" is not "unreadable".
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/host.h"

namespace vmprep {

// True when `path` exists in the root, false when it does not (ENOENT, ENOTDIR); an Error
// naming the path when it cannot be told (EIO, EACCES, a symlink loop). A plan uses this
// where Host::Exists would turn a read error into "not there" and plan from a wrong picture.
std::expected<bool, Error> CheckExists(const Host& host, Root root, std::string_view path);

// The names in a directory; empty when it does not exist, an Error when it cannot be read.
std::expected<std::vector<std::string>, Error> ListIfExists(const Host& host, Root root,
                                                            std::string_view dir);

}  // namespace vmprep
