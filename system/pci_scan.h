// The PCI devices of the runtime root, read through the Host from /sys/bus/pci/devices, and
// their names from pci.ids via libpci (as `lspci -nn` prints them).
#pragma once

#include <expected>
#include <memory>
#include <string>

#include "core/host.h"
#include "system/topology.h"

struct pci_access;

namespace vmprep {

struct ScannedDevice {
  PciDevice device;
  std::uint8_t revision = 0;
  std::string sysfs_path;  // "/sys/bus/pci/devices/0000:01:00.0"
  std::string driver_override;
};

struct PciScan {
  Topology topology;
  std::map<PciAddress, ScannedDevice> extra;  // revision, sysfs path, override per device
  std::vector<Error> errors;                  // devices that could not be read (skipped)
};

// Reads every /sys/bus/pci/devices entry: ids, class, revision, driver, IOMMU group,
// boot_vga, driver_override. Fails only when the directory cannot be listed.
std::expected<PciScan, Error> ScanPci(const Host& host);

// Names from pci.ids (and the udev hwdb where libpci uses it), formatted as lspci -nn does.
class PciNames {
 public:
  // with_ids: "Name [vvvv:dddd]" as lspci -nn prints; else names alone.
  explicit PciNames(bool with_ids = true);
  ~PciNames();
  PciNames(const PciNames&) = delete;
  PciNames& operator=(const PciNames&) = delete;
  // "VGA compatible controller [0300]"
  std::string ClassName(std::uint32_t class_code) const;
  // "NVIDIA Corporation GP104 [GeForce GTX 1080] [10de:1b80]"
  std::string DeviceName(std::uint16_t vendor, std::uint16_t device) const;
  // Fills class_name and description of every device, for messages.
  void NameAll(Topology* topology) const;
  // The whole `lspci -nn` line: "01:00.0 VGA compatible controller [0300]: NVIDIA ... (rev a1)".
  std::string LspciLine(const ScannedDevice& device, bool show_domain) const;

 private:
  struct pci_access* access_ = nullptr;
};

}  // namespace vmprep
