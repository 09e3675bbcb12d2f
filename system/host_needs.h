// Which PCI devices the running host itself needs: the controllers of its root file system,
// /boot and the ESP (through dm, md, LVM and LUKS), the NIC of its default route (IPv4 and
// IPv6, through bridges, bonds and VLANs), and its console GPU (boot_vga=1). Read from the
// runtime root. The isolation probe, the session's refusals and the wizard all ask here.
#pragma once

#include <vector>

#include "core/evidence.h"
#include "core/host.h"
#include "system/mounts.h"
#include "system/pci_scan.h"
#include "system/topology.h"

namespace vmprep {

struct FoundNeeds {
  HostNeeds needs;
  std::vector<Evidence> evidence;  // how each need was found
  // What could not be read: a plan must not rest on these (an unreadable mountinfo or
  // route table means the boot disk or the default-route NIC is unknown).
  std::vector<Error> errors;
};

FoundNeeds FindHostNeeds(const Host& host, const PciScan& scan,
                         const std::expected<std::vector<MountEntry>, Error>& mounts);

// The interfaces that carry a default route (IPv4 or IPv6), lo left out.
std::vector<std::string> DefaultRouteInterfaces(const Host& host);

// The PCI address nearest the device in a resolved sysfs path
// ("/sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0" -> 0000:3d:00.0).
std::optional<PciAddress> LastPciAddressIn(std::string_view sysfs_path);

}  // namespace vmprep
