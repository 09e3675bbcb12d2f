#pragma once

#include "checks/probe.h"
#include "system/pci_scan.h"

namespace vmprep {

class IsolationProbe final : public Probe {
 public:
  std::string_view Name() const override;
  std::string_view Description() const override;
  std::vector<Finding> Run(const Host& host, const ProbeContext& context) const override;
};

// The devices meant for passthrough, and why each was chosen: named with --device, else
// configured for vfio-pci (bound, driver_override, vfio-pci.ids on the command line or in
// modprobe.d), else the GPUs that are not the console (candidates).
struct PassthroughTarget {
  PciAddress address;
  std::string why;
  bool candidate = false;  // not chosen by the user: a GPU that could be passed through
};
std::vector<PassthroughTarget> ChoosePassthroughTargets(const Host& host, const PciScan& scan,
                                                        const ProbeContext& context,
                                                        std::vector<Finding>* bad_devices);

}  // namespace vmprep
