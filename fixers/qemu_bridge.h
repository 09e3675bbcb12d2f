// The qemu bridge-helper fixer.
#pragma once

#include <memory>

#include "fixers/fixer.h"

namespace vmprep {

inline constexpr std::string_view kQemuBridgeConf = "/etc/qemu/bridge.conf";

std::unique_ptr<Fixer> MakeBridgeFixer();

}  // namespace vmprep
