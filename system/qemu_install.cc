#include "system/qemu_install.h"

#include <string_view>

namespace vmprep {
namespace {

// Where distributions install OVMF's code image.
constexpr std::string_view kOvmfPaths[] = {
    "/usr/share/OVMF/OVMF_CODE_4M.fd",        // Debian 12, Ubuntu 22.04+
    "/usr/share/OVMF/OVMF_CODE.fd",           // Debian/Ubuntu (older)
    "/usr/share/edk2/ovmf/OVMF_CODE.fd",      // Fedora
    "/usr/share/edk2/x64/OVMF_CODE.4m.fd",    // Arch (edk2-ovmf 202202+)
    "/usr/share/edk2-ovmf/x64/OVMF_CODE.fd",  // Arch (older)
    "/usr/share/qemu/ovmf-x86_64-code.bin",   // openSUSE
    "/usr/share/edk2-ovmf/OVMF_CODE.fd",      // Gentoo
};

constexpr std::string_view kVirtiofsdPaths[] = {
    "/usr/libexec/virtiofsd",   // Debian 12 and Fedora (the Rust virtiofsd package)
    "/usr/lib/virtiofsd",       // Arch
    "/usr/lib/qemu/virtiofsd",  // Debian 11, Ubuntu 22.04 (QEMU's C virtiofsd)
    "/usr/libexec/qemu/virtiofsd",
};

}  // namespace

std::vector<std::string> InstalledOvmf(const Host& host) {
  std::vector<std::string> found;
  for (auto p : kOvmfPaths)
    if (host.Exists(Root::kConfig, p)) found.emplace_back(p);
  return found;
}

std::string InstalledVirtiofsd(const Host& host) {
  for (auto p : kVirtiofsdPaths)
    if (host.Exists(Root::kConfig, p)) return std::string(p);
  return "";
}

}  // namespace vmprep
