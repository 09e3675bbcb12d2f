// Where distributions install the user-space pieces guests need: OVMF (UEFI firmware) and
// virtiofsd. The qemu probe, the vm probe and vm-snippet ask here.
#pragma once

#include <string>
#include <vector>

#include "core/host.h"

namespace vmprep {

// OVMF code images of the config root, in the order they were looked for.
std::vector<std::string> InstalledOvmf(const Host& host);
// virtiofsd of the config root, or "" when none is installed.
std::string InstalledVirtiofsd(const Host& host);

}  // namespace vmprep
