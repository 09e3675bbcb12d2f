/// qemu.libvirt: where libvirt is installed, are its daemons enabled (the systemd enablement
/// links under /etc/systemd/system)? vmprep itself does not need libvirt. Part of the qemu
/// check (checks/probes/qemu.cc).
#include <fmt/format.h>

#include <algorithm>

#include "checks/probes/qemu_internal.h"
#include "system/fixer_ids.h"
#include "system/systemd_units.h"

namespace vmprep::qemu_internal {
namespace {

// Whether the links `systemctl enable libvirtd.service` makes here enable libvirtd and
// virtlogd: then the libvirt fixer, which makes exactly those, mends the finding.
bool EnablingMends(const Host& host) {
  auto links = EnableLinks(host, "libvirtd.service");
  if (!links) return false;
  auto has = [&](std::string_view prefix) {
    return std::any_of(links->begin(), links->end(),
                       [&](const EnableLink& l) { return l.unit.starts_with(prefix); });
  };
  return has("libvirtd.") && has("virtlogd.");
}

}  // namespace

void AddLibvirtFinding(std::vector<Finding>& out, const Host& host) {
  if (!FindUnitFile(host, "libvirtd.service")) return;
  auto enabled = [&](std::string_view name) {
    return UnitEnabled(host, fmt::format("{}.service", name)) ||
           UnitEnabled(host, fmt::format("{}.socket", name));
  };
  bool daemon = enabled("libvirtd");
  bool modular = enabled("virtqemud");
  bool logd = enabled("virtlogd");
  bool ok = (daemon || modular) && logd;
  Finding& f = AddFinding(out, "qemu", "libvirt", ok ? Severity::kPass : Severity::kWarn,
                          ok ? "libvirt's daemons are enabled"
                             : "libvirt is installed but its daemons are not enabled");
  f.evidence.push_back(
      {std::string(kSystemdEtc),
       fmt::format("libvirtd {}, virtqemud {}, virtlogd {}", daemon ? "enabled" : "not enabled",
                   modular ? "enabled" : "not enabled", logd ? "enabled" : "not enabled")});
  if (ok) return;
  if (EnablingMends(host)) {
    f.hint =
        "Run `vmsetup apply --enable libvirt` (the links `systemctl enable libvirtd.service` "
        "makes, undoable), then `systemctl start libvirtd.socket virtlogd.socket`.";
    f.SetFix(kFixLibvirt, {"--enable", "libvirt"});
  } else {
    f.hint = "Run `systemctl enable --now libvirtd.socket virtlogd.socket`.";
  }
}

}  // namespace vmprep::qemu_internal
