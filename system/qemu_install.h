// Where distributions install the user-space pieces guests need: QEMU's system emulator,
// OVMF (UEFI firmware) and virtiofsd. The qemu probe, the vm probe and vm-snippet ask here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/host.h"

namespace vmprep {

// The packages that hold it (Debian's and openSUSE's names differ by architecture).
struct QemuPackageNames {
  std::string_view debian;  // "qemu-system-x86"
  std::string_view suse;    // "qemu-x86"
};
QemuPackageNames QemuPackages();
// "qemu-system-x86_64": the emulator for the architecture vmprep runs on.
std::string QemuSystemName();
// Where distributions install it, in the order they are looked at.
std::vector<std::string> QemuSystemPaths();
// The first of those that is an executable file of the config root, or "" when none is.
std::string InstalledQemuSystem(const Host& host);
// OVMF code images of the config root, in the order they were looked for.
std::vector<std::string> InstalledOvmf(const Host& host);
// virtiofsd of the config root, or "" when none is installed.
std::string InstalledVirtiofsd(const Host& host);

}  // namespace vmprep
