/// qemu.libvirt: where libvirt is installed, are its daemons enabled (the systemd enablement
/// links under /etc/systemd/system)? vmprep itself does not need libvirt. Part of the qemu
/// check (checks/probes/qemu.cc).
#include <fmt/format.h>

#include "checks/probes/qemu_internal.h"

namespace vmprep::qemu_internal {
namespace {

bool Enabled(const Host& host, std::string_view unit) {
  for (const char* dir : {"/etc/systemd/system/multi-user.target.wants",
                          "/etc/systemd/system/sockets.target.wants"}) {
    if (host.Exists(Root::kConfig, fmt::format("{}/{}", dir, unit))) return true;
  }
  return false;
}

}  // namespace

void AddLibvirtFinding(std::vector<Finding>& out, const Host& host) {
  bool libvirt = false;
  for (const char* dir : {"/usr/lib/systemd/system", "/lib/systemd/system"}) {
    libvirt = libvirt || host.Exists(Root::kConfig, fmt::format("{}/libvirtd.service", dir));
  }
  if (!libvirt) return;
  bool daemon = Enabled(host, "libvirtd.service") || Enabled(host, "libvirtd.socket");
  bool modular = Enabled(host, "virtqemud.service") || Enabled(host, "virtqemud.socket");
  bool logd = Enabled(host, "virtlogd.socket") || Enabled(host, "virtlogd.service");
  bool ok = (daemon || modular) && logd;
  Finding& f = AddFinding(out, "qemu", "libvirt", ok ? Severity::kPass : Severity::kWarn,
                          ok ? "libvirt's daemons are enabled"
                             : "libvirt is installed but its daemons are not enabled");
  f.evidence.push_back(
      {"/etc/systemd/system",
       fmt::format("libvirtd {}, virtqemud {}, virtlogd {}", daemon ? "enabled" : "not enabled",
                   modular ? "enabled" : "not enabled", logd ? "enabled" : "not enabled")});
  if (!ok) f.hint = "Run `systemctl enable --now libvirtd.socket virtlogd.socket`.";
}

}  // namespace vmprep::qemu_internal
