// The Xorg fixer: keep the X server on the host GPU.
#pragma once

#include <memory>

#include "fixers/fixer.h"

namespace vmprep {

inline constexpr std::string_view kXorgHostGpuConf = "/etc/X11/xorg.conf.d/10-vmprep-host-gpu.conf";

std::unique_ptr<Fixer> MakeXorgFixer();

}  // namespace vmprep
