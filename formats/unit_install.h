// The [Install] section of a systemd unit file: what `systemctl enable` reads to make its
// links (WantedBy=, RequiredBy=, Also=). systemd.unit(5): "KEY=VALUE" lines, "#" and ";"
// comments, several space-separated names per value, keys that may repeat; an empty value
// resets the list.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace vmprep {

struct UnitInstall {
  std::vector<std::string> wanted_by;
  std::vector<std::string> required_by;
  std::vector<std::string> also;
};

// `file` names the unit in errors. A line of [Install] that is not KEY=VALUE, or a name with
// a '/', is an Error with its line; keys vmprep does not act on (Alias=, DefaultInstance=)
// are read and ignored.
std::expected<UnitInstall, Error> ParseUnitInstall(std::string_view text, std::string_view file);

}  // namespace vmprep
