// Network links of the runtime root as /sys/class/net shows them: which are bridges, and
// whether a link is up. The qemu probe (bridge.conf) and the vm probe (bridge interfaces) ask.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/host.h"

namespace vmprep {

// Names of the bridges (/sys/class/net/NAME/bridge exists), sorted.
std::vector<std::string> ListBridges(const Host& host);
bool IsBridge(const Host& host, std::string_view name);
// /sys/class/net/NAME/operstate ("up", "down", "unknown", ...), or "" when there is no link.
std::string LinkOperState(const Host& host, std::string_view name);
// A link name vmprep accepts: 1-15 printable ASCII bytes, no '/', ':' or blanks, not "." or
// "..".
bool ValidLinkName(std::string_view name);

}  // namespace vmprep
