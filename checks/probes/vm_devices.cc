/// vm.disk-bus, vm.nic-model, vm.address, vm.bridge and vm.network: the guest's disks and
/// network. virtio disks and NICs spare the host an emulated controller per I/O; an
/// <address> copied from another bus makes libvirt refuse the domain; a bridge or network
/// that is missing or down stops the domain or leaves the guest offline.
#include <fmt/format.h>

#include "checks/probes/vm.h"
#include "system/net_links.h"

namespace vmprep {

void JudgeDisks(const VmSubject& vm, std::vector<Finding>& out) {
  VmVerdict v;
  int disks = 0;
  for (const auto& d : vm.domain.disks) {
    if (d.device != "disk") continue;  // cdroms stay on sata/ide for installers
    ++disks;
    v.evidence.push_back({vm.Where(d.line), fmt::format("disk {} on bus {}", d.target, d.bus)});
    if (d.bus != "virtio" && d.bus != "scsi")
      v.Raise(Severity::kNote,
              fmt::format("disk {} is on bus '{}': an emulated controller, slower than virtio",
                          d.target, d.bus),
              fmt::format("Move disk {} to bus='virtio' (and delete its <address "
                          "type='drive'> line) after installing the guest's virtio driver "
                          "(virtio-win on Windows).",
                          d.target));
  }
  if (disks == 0) return;
  v.Emit(vm, out, "disk-bus", "every disk is on virtio (or virtio-scsi)");
}

void JudgeNics(const VmSubject& vm, std::vector<Finding>& out) {
  VmVerdict v;
  int nics = 0;
  for (const auto& i : vm.domain.interfaces) {
    if (i.type == "hostdev") continue;  // a VF passed through has no emulated model
    ++nics;
    v.evidence.push_back({vm.Where(i.line), fmt::format("interface type '{}', model '{}'", i.type,
                                                        i.model.empty() ? "(default)" : i.model)});
    if (i.model != "virtio")
      v.Raise(Severity::kNote,
              fmt::format("a network interface uses model '{}': an emulated NIC, slower than "
                          "virtio-net with vhost_net",
                          i.model.empty() ? "default" : i.model),
              fmt::format("Set <model type='virtio'/> on the interface at {} once the guest has "
                          "the virtio-net driver.",
                          vm.Where(i.line)));
  }
  if (nics == 0) return;
  v.Emit(vm, out, "nic-model", "every network interface is virtio");
}

void JudgeAddresses(const VmSubject& vm, std::vector<Finding>& out) {
  VmVerdict v;
  for (const auto& d : vm.domain.disks) {
    if (d.address_type.empty()) continue;
    const bool virtio = d.bus == "virtio";
    const bool pci = d.address_type == "pci";
    if (virtio == pci) continue;
    v.evidence.push_back(
        {vm.Where(d.line), fmt::format("disk {} on bus {} with <address type='{}'>", d.target,
                                       d.bus, d.address_type)});
    v.Raise(Severity::kFail,
            fmt::format("disk {} is on bus '{}' but keeps an <address type='{}'> of another bus: "
                        "libvirt refuses the domain",
                        d.target, d.bus, d.address_type),
            fmt::format("Delete the <address .../> line of disk {} ({}); libvirt assigns a "
                        "fitting one.",
                        d.target, vm.Where(d.line)));
  }
  if (v.severity == Severity::kPass) return;  // addresses kept where they fit are intended
  v.Emit(vm, out, "address", "");
}

void JudgeBridges(const VmSubject& vm, std::vector<Finding>& out) {
  VmVerdict v;
  bool any = false;
  for (const auto& i : vm.domain.interfaces) {
    if (i.type != "bridge") continue;
    any = true;
    const std::string sys = fmt::format("/sys/class/net/{}", i.source);
    if (!IsBridge(vm.host, i.source)) {
      bool link = !LinkOperState(vm.host, i.source).empty();
      v.evidence.push_back({sys, link ? "a link, not a bridge" : "does not exist"});
      v.Raise(Severity::kFail,
              fmt::format("bridge '{}' {}: the domain cannot start", i.source,
                          link ? "is not a bridge" : "does not exist"),
              fmt::format("Create it in the host's network stack: `vmsetup plan --enable "
                          "bridge={0}:IFACE` (IFACE the wired port it takes over; apply with "
                          "--allow-network-change, from a console), or by hand (systemd-networkd "
                          ".netdev, NetworkManager `nmcli con add type bridge ifname {0}`, or "
                          "ifupdown); or use <interface type='network'> ({1}).",
                          i.source, vm.Where(i.line)));
      continue;
    }
    std::string state = LinkOperState(vm.host, i.source);
    v.evidence.push_back({sys + "/operstate", state});
    if (state != "up" && state != "unknown")
      v.Raise(Severity::kWarn,
              fmt::format("bridge '{}' is {}: the guest will have no network", i.source, state),
              fmt::format("Bring it up (`ip link set {} up`) and give it a port with a link.",
                          i.source));
  }
  if (!any) return;
  v.Emit(vm, out, "bridge", "every bridge the domain joins exists and is up");
}

void JudgeNetworks(const VmSubject& vm, std::vector<Finding>& out) {
  VmVerdict v;
  bool any = false;
  for (const auto& i : vm.domain.interfaces) {
    if (i.type != "network") continue;
    any = true;
    LibvirtNetwork n = NetworkState(vm.host, i.source);
    v.evidence.push_back({n.path, !n.defined    ? "not defined"
                                  : n.autostart ? "defined, autostarted"
                                                : "defined, not autostarted"});
    if (!n.defined)
      v.Raise(Severity::kFail,
              fmt::format("libvirt network '{}' is not defined: the domain cannot start", i.source),
              fmt::format("Define it (`virsh net-define FILE`; Debian's default network is in "
                          "/usr/share/libvirt/networks/default.xml), then `virsh net-autostart "
                          "{0} && virsh net-start {0}`.",
                          i.source));
    else if (!n.autostart)
      v.Raise(Severity::kWarn,
              fmt::format("libvirt network '{}' does not start at boot: the domain fails to "
                          "start until someone starts it",
                          i.source),
              fmt::format("`virsh net-autostart {0} && virsh net-start {0}`.", i.source));
  }
  if (!any) return;
  v.Emit(vm, out, "network", "every libvirt network the domain uses is defined and autostarted");
}

}  // namespace vmprep
