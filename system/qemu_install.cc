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

// QEMU's system emulator for this machine's architecture: vmprep runs on the host it checks
// (the live ISO is built for the same architecture as the systems it mends), so the one it
// was built for names the binary.
#if defined(__aarch64__)
constexpr std::string_view kQemuArch = "aarch64";
constexpr QemuPackageNames kPackages = {"qemu-system-arm", "qemu-arm"};
#elif defined(__powerpc64__)
constexpr std::string_view kQemuArch = "ppc64";
constexpr QemuPackageNames kPackages = {"qemu-system-ppc", "qemu-ppc"};
#else
constexpr std::string_view kQemuArch = "x86_64";
constexpr QemuPackageNames kPackages = {"qemu-system-x86", "qemu-x86"};
#endif

bool IsExecutableFile(const Host& host, const std::string& path) {
  auto info = host.Stat(Root::kConfig, path);
  return info && info->type == FileType::kRegular && (info->mode & 0111) != 0;
}

}  // namespace

QemuPackageNames QemuPackages() { return kPackages; }

std::string QemuSystemName() { return "qemu-system-" + std::string(kQemuArch); }

std::vector<std::string> QemuSystemPaths() {
  const std::string name = QemuSystemName();
  return {
      "/usr/bin/" + name,        // Debian, Ubuntu, Arch, Fedora (qemu-system-*), openSUSE
      "/usr/libexec/qemu-kvm",   // RHEL, CentOS Stream, Rocky, Alma (qemu-kvm)
      "/usr/bin/qemu-kvm",       // Fedora (qemu-kvm), older openSUSE
      "/usr/local/bin/" + name,  // built from source
  };
}

std::string InstalledQemuSystem(const Host& host) {
  for (const auto& p : QemuSystemPaths())
    if (IsExecutableFile(host, p)) return p;
  return "";
}

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
