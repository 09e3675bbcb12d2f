// `vmcheck groups`: every IOMMU group with its devices, named as `lspci -nn` names them.
#pragma once

#include <string>

#include "system/pci_scan.h"

namespace vmprep {

std::string RenderGroupsText(const PciScan& scan, const PciNames& names);
std::string RenderGroupsJson(const PciScan& scan, const PciNames& names);

}  // namespace vmprep
