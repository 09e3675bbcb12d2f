// The vfio-bind fixer, and the device selection every vfio fixer shares.
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/host.h"
#include "fixers/fixer.h"
#include "system/topology.h"

namespace vmprep {

inline constexpr std::string_view kVfioBindConf = "/etc/vmprep/vfio-bind.conf";

// What goes to vfio-pci for `options.devices`: every function of each chosen
// device's IOMMU group except bridges (class 0x06, which stay on pcieport), in
// address order, and the rest of the machine's devices so callers can tell
// identical cards apart.
struct VfioSelection {
  std::vector<PciDevice> targets;
  Topology topology;
  std::vector<std::string> notes;
};

// Reads the runtime root's PCI devices. A chosen address that does not exist,
// or a function without vendor:device, is an Error naming it.
std::expected<VfioSelection, Error> SelectVfioTargets(const Host& host,
                                                      const FixerOptions& options);

// "8086:10d3" (lower-case hex, as lspci -n prints).
std::string VendorDeviceText(const PciDevice& device);

std::unique_ptr<Fixer> MakeVfioBindFixer();

}  // namespace vmprep
