// The modprobe.d (vfio-pci ids, softdeps) and modules-load.d (vhost_net)
// fixers.
#pragma once

#include <memory>

#include "fixers/fixer.h"
#include "system/fixer_ids.h"

namespace vmprep {

std::unique_ptr<Fixer> MakeModprobeVfioFixer();
std::unique_ptr<Fixer> MakeModulesLoadFixer();

}  // namespace vmprep
