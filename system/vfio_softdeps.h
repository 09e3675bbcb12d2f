// Which kernel modules must load after vfio-pci (`softdep MODULE pre: vfio-pci`) for the
// devices given to it: one list for vmcheck's vfio.early and the modprobe-vfio fixer.
#pragma once

#include <string>
#include <vector>

#include "core/host.h"
#include "system/modules.h"
#include "system/pci_scan.h"

namespace vmprep {

// The module of the driver each device uses now (read from its driver's module link; none
// when the driver is built in) or, for a device on vfio-pci or on no driver, the modules its
// modalias matches in the index; then the usual drivers of its kind that this kernel has: a
// GPU's vendor drivers, HD audio. Module names, no duplicates.
std::vector<std::string> SoftdepModules(const Host& host, const ModuleIndex& index,
                                        const std::vector<PciDevice>& devices);

}  // namespace vmprep
