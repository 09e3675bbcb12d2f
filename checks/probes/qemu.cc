/// qemu: the user-space pieces a passthrough VM needs on the host — QEMU itself, UEFI firmware for
/// the guest (OVMF: modern GPUs need a UEFI guest), /dev/net/tun, the bridge helper and its ACL
/// (/etc/qemu/bridge.conf, setuid qemu-bridge-helper), and libvirt's daemons when installed.
/// The bridge findings are in qemu_bridge.cc, libvirt's in qemu_libvirt.cc.
#include "checks/probes/qemu.h"

#include <fmt/format.h>

#include "checks/probes/qemu_internal.h"
#include "core/text.h"
#include "system/qemu_install.h"

namespace vmprep {
namespace qemu_internal {

// qemu.system: the emulator itself.
void AddSystemFinding(std::vector<Finding>& out, const Host& host) {
  const std::string found = InstalledQemuSystem(host);
  if (!found.empty()) {
    Finding& f = AddFinding(out, "qemu", "system", Severity::kPass,
                            fmt::format("QEMU is installed ({})", found));
    f.evidence.push_back({found, "executable"});
    return;
  }
  const std::string name = QemuSystemName();
  Finding& f = AddFinding(out, "qemu", "system", Severity::kWarn,
                          fmt::format("QEMU is not installed: no {} to run guests", name));
  f.evidence.push_back({"/usr/bin/" + name, "not found, nor in " + Join(QemuSystemPaths(), ", ")});
  f.hint = fmt::format(
      "Install it: `apt install {}` (Debian/Ubuntu), `dnf install qemu-kvm` (Fedora, RHEL), "
      "`pacman -S qemu-base` (Arch), `zypper install {}` (openSUSE).",
      QemuPackages().debian, QemuPackages().suse);
}

// qemu.ovmf: UEFI firmware for guests.
void AddOvmfFinding(std::vector<Finding>& out, const Host& host) {
  std::vector<Evidence> found;
  for (const auto& p : InstalledOvmf(host)) found.push_back({p, "present"});
  if (!found.empty()) {
    Finding& f = AddFinding(out, "qemu", "ovmf", Severity::kPass,
                            "UEFI firmware for guests (OVMF) is installed");
    f.evidence = found;
    return;
  }
  Finding& f =
      AddFinding(out, "qemu", "ovmf", Severity::kWarn,
                 "no UEFI firmware for guests (OVMF): GPUs passed through need a UEFI guest");
  f.evidence.push_back({"/usr/share/OVMF", "no OVMF_CODE image in any known place"});
  f.hint =
      "Install it: `apt install ovmf` (Debian/Ubuntu), `dnf install edk2-ovmf` (Fedora), "
      "`pacman -S edk2-ovmf` (Arch).";
}

// qemu.tun: tap networking for guests.
void AddTunFinding(std::vector<Finding>& out, const Host& host) {
  auto tun = host.Stat(Root::kRuntime, "/dev/net/tun");
  if (tun) {
    Finding& f =
        AddFinding(out, "qemu", "tun", Severity::kPass, "/dev/net/tun exists (tap networking)");
    f.evidence.push_back({"/dev/net/tun", fmt::format("mode {:04o}", tun->mode)});
    return;
  }
  Finding& f = AddFinding(out, "qemu", "tun", Severity::kWarn,
                          "/dev/net/tun does not exist: guests cannot use tap networking");
  f.evidence.push_back({"/dev/net/tun", tun.error().message});
  f.hint = "Load the tun module: `modprobe tun`.";
}

}  // namespace qemu_internal

std::string_view QemuHostProbe::Name() const { return "qemu"; }

std::string_view QemuHostProbe::Description() const {
  return "QEMU, OVMF (UEFI guest firmware), /dev/net/tun, bridge helper and bridge.conf, libvirt "
         "daemons";
}

std::vector<Finding> QemuHostProbe::Run(const Host& host, const ProbeContext&) const {
  std::vector<Finding> out;
  qemu_internal::AddSystemFinding(out, host);
  qemu_internal::AddOvmfFinding(out, host);
  qemu_internal::AddTunFinding(out, host);
  qemu_internal::AddBridgeFindings(out, host);
  qemu_internal::AddLibvirtFinding(out, host);
  return out;
}

}  // namespace vmprep
