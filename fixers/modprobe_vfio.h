// The modprobe.d (vfio-pci ids, softdeps) and modules-load.d (vhost_net)
// fixers.
#pragma once

#include <memory>

#include "fixers/fixer.h"

namespace vmprep {

inline constexpr std::string_view kModprobeVfioConf = "/etc/modprobe.d/vmprep-vfio.conf";
inline constexpr std::string_view kModulesLoadConf = "/etc/modules-load.d/vmprep.conf";

std::unique_ptr<Fixer> MakeModprobeVfioFixer();
std::unique_ptr<Fixer> MakeModulesLoadFixer();

}  // namespace vmprep
