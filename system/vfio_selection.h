// Which devices go to vfio-pci: one rule for the kernel-cmdline, modprobe-vfio and vfio-bind
// fixers, the session's refusals and the wizard. VFIO hands over whole IOMMU groups, so a
// chosen device brings every endpoint of its group; bridges (PCI bridges, host bridges,
// ISA/LPC bridges) are never given to vfio-pci. A device the host itself needs (its boot
// disk's controller, its default-route NIC) is refused unless the user names it as an
// override; the console GPU is allowed with a warning. A plan never rests on a read it could
// not make: an unreadable device, mount table or route table is a refusal naming the path.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/host.h"
#include "system/host_needs.h"
#include "system/pci_scan.h"
#include "system/topology.h"

namespace vmprep {

struct VfioSelection {
  PciScan scan;                      // the machine as read for this selection
  std::vector<PciDevice> endpoints;  // what vfio-pci takes, in address order
  // vendor:device for `vfio-pci.ids=` and `options vfio-pci ids=`. An id whose device has an
  // identical twin that stays with the host is left out (ids= would take the twin too); those
  // endpoints are bound by address only (vfio-bind).
  std::vector<std::string> ids;
  std::vector<std::string> notes;     // what the selection added or left out, and why
  std::vector<std::string> warnings;  // consequences: console GPU, overridden host needs
};

// Devices named for passthrough; `allow_host_devices` are the explicit overrides.
std::expected<VfioSelection, Error> SelectForVfio(
    const Host& host, const std::vector<PciAddress>& devices,
    const std::vector<PciAddress>& allow_host_devices);

// The same rule on a scan and host needs already read: the wizard judges every device of one
// machine against one scan (SelectForVfio reads both afresh).
std::expected<VfioSelection, Error> SelectFromScan(
    const PciScan& scan, const FoundNeeds& needs, const std::vector<PciAddress>& devices,
    const std::vector<PciAddress>& allow_host_devices);

// "10de:1b80" for a device.
std::string VendorDeviceText(const PciDevice& device);

}  // namespace vmprep
