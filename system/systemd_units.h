// systemd units of the config root: where a unit file is installed, and the links
// `systemctl enable` makes for it (from its [Install] section, following Also=). The qemu
// probe judges libvirt's daemons by these links and the libvirt fixer makes them.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/host.h"

namespace vmprep {

inline constexpr std::string_view kSystemdEtc = "/etc/systemd/system";

// The unit file `name` as installed by a package ("/lib/systemd/system/libvirtd.service"),
// or nullopt. Debian's packages install into /lib/systemd/system and its systemctl links
// there; elsewhere /lib is a link to usr/lib and either path names the same file.
std::optional<std::string> FindUnitFile(const Host& host, std::string_view name);

// Whether a link for `unit` is in a .wants or .requires directory of /etc/systemd/system.
bool UnitEnabled(const Host& host, std::string_view unit);

struct EnableLink {
  std::string unit;    // "libvirtd.socket"
  std::string path;    // "/etc/systemd/system/sockets.target.wants/libvirtd.socket"
  std::string target;  // "/lib/systemd/system/libvirtd.socket"
};

// The links `systemctl enable` makes for one unit file at `file` from its [Install] section
// `text` (Also= not followed): for a unit file not written yet, e.g. one a plan installs.
std::expected<std::vector<EnableLink>, Error> InstallLinks(std::string_view unit,
                                                           std::string_view file,
                                                           std::string_view text);

// The links `systemctl enable UNIT` makes: for UNIT and every unit its Also= names (and
// theirs), one per WantedBy= (.wants) and RequiredBy= (.requires). An Error names a unit
// file that is missing or cannot be parsed (file:line).
std::expected<std::vector<EnableLink>, Error> EnableLinks(const Host& host, std::string_view unit);

}  // namespace vmprep
