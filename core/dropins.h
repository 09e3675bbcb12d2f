// Drop-in directories the way systemd, kmod and dracut read them.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/host.h"

namespace vmprep {

// Files named *`suffix` in `dirs_low_to_high`, in file-name order; a name in a later
// directory hides the same name in an earlier one (/etc over /run over /usr/lib).
std::vector<std::string> DropInFiles(const Host& host, Root root,
                                     std::initializer_list<std::string_view> dirs_low_to_high,
                                     std::string_view suffix = ".conf");

}  // namespace vmprep
