// Fixer: plans the file changes that mend a probe's finding. Plan() is pure: it reads through
// the Host and returns an EditSet; an empty set means "already applied".
#pragma once

#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/host.h"
#include "fixers/edit.h"
#include "system/fixer_ids.h"
#include "system/topology.h"

namespace vmprep {

// What the user asked vmsetup for (vmsetup plan --device ... --enable ...).
struct FixerOptions {
  std::vector<PciAddress> devices;  // devices to give to vfio-pci (every function of their group)
  // Devices the host needs (boot disk controller, default-route NIC) that the user explicitly
  // agrees to give away (--allow-host-device); the plan warns what the host loses.
  std::vector<PciAddress> allow_host_devices;
  bool iommu = false;      // enable the IOMMU on the kernel command line
  bool iommu_pt = false;   // and passthrough mode (iommu=pt)
  bool vfio = false;       // bind `devices` to vfio-pci early
  bool vhost_net = false;  // load vhost_net at boot
  struct Hugepages {
    std::uint64_t page_kb = 0;  // 2048 or 1048576
    std::uint64_t count = 0;
  };
  std::optional<Hugepages> hugepages;
  bool xorg = false;                 // keep Xorg off the passed-through GPU
  std::vector<std::string> bridges;  // allow these bridges in /etc/qemu/bridge.conf
  std::string qemu_user;             // libvirt runs QEMU as this user (qemu.conf `user =`)
  struct NetBridge {
    std::string name, iface;  // a persistent bridge NAME with IFACE as its port
  };
  std::optional<NetBridge> net_bridge;
  std::string access_user;  // may open /dev/kvm and /dev/vfio/N (group membership, udev rule)
  bool libvirt = false;     // enable libvirt's daemons (libvirtd.service and its sockets)
  struct Kvmfr {
    std::uint64_t size_mb = 0;  // kvmfr's static_size_mb: the size of /dev/kvmfr0
    std::string user;           // owner of /dev/kvmfr0 (empty: root), group kvm
  };
  std::optional<Kvmfr> kvmfr;  // load Looking Glass's kvmfr module at boot (kvmfr=SIZE[:USER])
  // --allow-network-change: the net-bridge plan may be applied (else it is shown only).
  bool allow_network_change = false;
};

class Fixer {
 public:
  virtual ~Fixer() = default;
  // Stable id, named by findings ("kernel-cmdline").
  virtual std::string_view Id() const = 0;
  virtual std::string_view Description() const = 0;
  // Pure: reads only, through `host`. A file it cannot parse is an Error with file:line and
  // what was expected; the file is not part of any plan then.
  virtual std::expected<EditSet, Error> Plan(const Host& host,
                                             const FixerOptions& options) const = 0;
};

// Every fixer, in apply order. Explicit table.
std::vector<std::unique_ptr<Fixer>> MakeAllFixers();

}  // namespace vmprep
