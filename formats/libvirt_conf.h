/// libvirt's daemon configuration files (/etc/libvirt/qemu.conf and friends): `name = value`
/// lines where a value is a quoted string, a number or a [list] of strings that may span
/// lines, and `#` starts a comment. Read-only: vmprep never edits these files.
#pragma once

#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace vmprep {

struct LibvirtConfValue {
  std::vector<std::string> items;  // one for a string or number, any number for a list
  bool list = false;
  int line = 0;
};

// name -> value; a name set twice keeps the last value, as libvirt does. Refuses what
// libvirt's parser refuses (no '=', an unterminated string or list) with the line.
std::expected<std::map<std::string, LibvirtConfValue, std::less<>>, Error> ParseLibvirtConf(
    std::string_view text, std::string_view path);

}  // namespace vmprep
