/// qemu: the user-space pieces a passthrough VM needs on the host — UEFI firmware for the
/// guest (OVMF: modern GPUs need a UEFI guest), /dev/net/tun, the bridge helper and its ACL
/// (/etc/qemu/bridge.conf, setuid qemu-bridge-helper), and libvirt's daemons when installed.
#include "checks/probes/qemu.h"

#include <fmt/format.h>

#include <algorithm>

#include "system/facts.h"
#include "system/fixer_ids.h"
#include "system/modules.h"
#include "system/net_links.h"
#include "system/qemu_install.h"
#include "system/system_info.h"

namespace vmprep {
namespace {

constexpr std::string_view kBridgeHelpers[] = {
    "/usr/lib/qemu/qemu-bridge-helper",  // Debian, Ubuntu, Arch
    "/usr/libexec/qemu-bridge-helper",   // Fedora, openSUSE, Arch (newer)
};

bool Enabled(const Host& host, std::string_view unit) {
  for (const char* dir : {"/etc/systemd/system/multi-user.target.wants",
                          "/etc/systemd/system/sockets.target.wants"}) {
    if (host.Exists(Root::kConfig, fmt::format("{}/{}", dir, unit))) return true;
  }
  return false;
}

}  // namespace

std::string_view QemuHostProbe::Name() const { return "qemu"; }

std::string_view QemuHostProbe::Description() const {
  return "OVMF (UEFI guest firmware), /dev/net/tun, bridge helper and bridge.conf, libvirt daemons";
}

std::vector<Finding> QemuHostProbe::Run(const Host& host, const ProbeContext&) const {
  std::vector<Finding> out;
  // --- qemu.ovmf
  {
    std::vector<Evidence> found;
    for (const auto& p : InstalledOvmf(host)) found.push_back({p, "present"});
    if (!found.empty()) {
      Finding& f = AddFinding(out, "qemu", "ovmf", Severity::kPass,
                              "UEFI firmware for guests (OVMF) is installed");
      f.evidence = found;
    } else {
      Finding& f =
          AddFinding(out, "qemu", "ovmf", Severity::kWarn,
                     "no UEFI firmware for guests (OVMF): GPUs passed through need a UEFI guest");
      f.evidence.push_back({"/usr/share/OVMF", "no OVMF_CODE image in any known place"});
      f.hint =
          "Install it: `apt install ovmf` (Debian/Ubuntu), `dnf install edk2-ovmf` (Fedora), "
          "`pacman -S edk2-ovmf` (Arch).";
    }
  }
  // --- qemu.tun: tap networking for guests.
  {
    auto tun = host.Stat(Root::kRuntime, "/dev/net/tun");
    if (tun) {
      Finding& f =
          AddFinding(out, "qemu", "tun", Severity::kPass, "/dev/net/tun exists (tap networking)");
      f.evidence.push_back({"/dev/net/tun", fmt::format("mode {:04o}", tun->mode)});
    } else {
      Finding& f = AddFinding(out, "qemu", "tun", Severity::kWarn,
                              "/dev/net/tun does not exist: guests cannot use tap networking");
      f.evidence.push_back({"/dev/net/tun", tun.error().message});
      f.hint = "Load the tun module: `modprobe tun`.";
    }
  }
  // --- qemu.bridge-helper and qemu.bridge-conf: only where the helper is installed.
  std::string helper;
  for (auto p : kBridgeHelpers) {
    if (host.Exists(Root::kConfig, p)) helper = p;
  }
  if (!helper.empty()) {
    auto st = host.Stat(Root::kConfig, helper);
    bool setuid = st && (st->mode & 04000) && st->uid == 0;
    Finding& f = AddFinding(
        out, "qemu", "bridge-helper", setuid ? Severity::kPass : Severity::kNote,
        setuid ? "qemu-bridge-helper is setuid root: unprivileged QEMU can join bridges"
               : "qemu-bridge-helper is not setuid root: only root's QEMU can join bridges");
    f.evidence.push_back({helper, st ? fmt::format("mode {:04o}, owner uid {}", st->mode, st->uid)
                                     : st.error().message});
    if (!setuid)
      f.hint = fmt::format("If unprivileged users start VMs on a bridge: `chmod u+s {}`.", helper);

    const std::string conf = "/etc/qemu/bridge.conf";
    // The bridges this machine has (/sys/class/net/NAME/bridge).
    std::vector<std::string> bridges = ListBridges(host);
    auto text = host.Read(Root::kConfig, conf, 1 << 16);
    if (!text) {
      Finding& c = AddFinding(out, "qemu", "bridge-conf", Severity::kNote,
                              "no /etc/qemu/bridge.conf: the bridge helper allows no bridge");
      c.evidence.push_back({conf, text.error().message});
      c.hint = fmt::format(
          "To let guests join bridge {0}: `vmsetup plan --enable bridge={0}` "
          "writes `allow {0}` to /etc/qemu/bridge.conf (root's, mode 0644).",
          bridges.empty() ? "br0" : bridges.front());
      if (!bridges.empty()) c.SetFix(kFixQemuBridge, {"--enable", "bridge=" + bridges.front()});
    } else {
      std::vector<std::string> allowed;
      int n = 0;
      for (auto line : SplitLines(*text)) {
        ++n;
        auto words = SplitWords(line);
        if (words.size() >= 2 && words[0] == "allow") allowed.emplace_back(words[1]);
      }
      auto fst = host.Stat(Root::kConfig, conf);
      auto dst = host.Stat(Root::kConfig, "/etc/qemu");
      bool unsafe = (fst && (fst->uid != 0 || (fst->mode & 022))) ||
                    (dst && (dst->uid != 0 || (dst->mode & 022)));
      Severity sev = unsafe ? Severity::kFail : allowed.empty() ? Severity::kNote : Severity::kPass;
      std::string list = Join(allowed, ", ");
      Finding& c = AddFinding(
          out, "qemu", "bridge-conf", sev,
          unsafe ? "/etc/qemu/bridge.conf can be changed by users other than root: a setuid "
                   "helper trusts it"
          : allowed.empty() ? "/etc/qemu/bridge.conf allows no bridge"
                            : fmt::format("/etc/qemu/bridge.conf allows {}", list));
      if (fst)
        c.evidence.push_back({conf, fmt::format("mode {:04o}, owner uid {}; {} allow line(s)",
                                                fst->mode, fst->uid, allowed.size())});
      if (dst)
        c.evidence.push_back(
            {"/etc/qemu", fmt::format("mode {:04o}, owner uid {}", dst->mode, dst->uid)});
      if (unsafe)
        c.hint =
            "Run `chown root:root /etc/qemu /etc/qemu/bridge.conf && chmod 755 /etc/qemu && chmod "
            "644 /etc/qemu/bridge.conf`.";
      else if (allowed.empty())
        c.hint = fmt::format("Add a line `allow {}` (your bridge's name) to /etc/qemu/bridge.conf.",
                             bridges.empty() ? "br0" : bridges.front());
      // vmsetup can add a bridge that exists here and is not allowed yet.
      for (const auto& b : bridges) {
        if (unsafe || std::find(allowed.begin(), allowed.end(), b) != allowed.end() ||
            std::find(allowed.begin(), allowed.end(), "all") != allowed.end())
          continue;
        c.SetFix(kFixQemuBridge, {"--enable", "bridge=" + b});
        break;
      }
      // An allowed bridge that does not exist: a VM that names it cannot start.
      std::vector<std::string> missing;
      for (const auto& a : allowed)
        if (a != "all" && !IsBridge(host, a)) missing.push_back(a);
      if (!missing.empty() && c.severity == Severity::kPass && c.fixer.empty()) {
        c.severity = Severity::kNote;
        c.summary += fmt::format("; {} {} not exist here", Join(missing, ", "),
                                 missing.size() == 1 ? "does" : "do");
        c.evidence.push_back(
            {"/sys/class/net",
             "bridges: " + (bridges.empty() ? std::string("none") : Join(bridges, ", "))});
        c.hint = "Create the bridge in the host's network configuration, or remove its allow line.";
      }
    }
  }
  // --- qemu.libvirt: only where libvirt is installed; vmprep does not need it.
  bool libvirt = false;
  for (const char* dir : {"/usr/lib/systemd/system", "/lib/systemd/system"}) {
    libvirt = libvirt || host.Exists(Root::kConfig, fmt::format("{}/libvirtd.service", dir));
  }
  if (libvirt) {
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
  return out;
}

}  // namespace vmprep
