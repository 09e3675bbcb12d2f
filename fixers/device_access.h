// The device-access fixer.
#pragma once

#include <memory>

#include "fixers/fixer.h"

namespace vmprep {

inline constexpr std::string_view kVfioAccessRules = "/etc/udev/rules.d/70-vmprep-vfio.rules";

std::unique_ptr<Fixer> MakeDeviceAccessFixer();

}  // namespace vmprep
