// Which PCI devices the running host itself needs: the controller of its root file system,
// the console GPU (boot_vga=1), the NIC of its default route. Read from the runtime root.
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
};

FoundNeeds FindHostNeeds(const Host& host, const PciScan& scan,
                         const std::expected<std::vector<MountEntry>, Error>& mounts);

// The PCI address nearest the device in a resolved sysfs path
// ("/sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0" -> 0000:3d:00.0).
std::optional<PciAddress> LastPciAddressIn(std::string_view sysfs_path);

}  // namespace vmprep
