#pragma once

#include <string_view>
#include <vector>

#include "checks/probe.h"

namespace vmprep {

class VfioProbe final : public Probe {
 public:
  std::string_view Name() const override;
  std::string_view Description() const override;
  std::vector<Finding> Run(const Host& host, const ProbeContext& context) const override;
};

}  // namespace vmprep

#include "system/initramfs_config.h"
#include "system/vfio_config.h"

namespace vmprep {

// vfio.bind-hook: addresses listed for early binding need the hook in every initramfs, and
// the image must hold it. `device_args` is the request that sets the devices up.
void BindHookFinding(const Host& host, const VfioConfig& config,
                     const std::vector<InitramfsGenerator>& gens, std::string_view release,
                     const std::vector<std::string>& device_args, std::vector<Finding>& out);

// vfio.virqfd: vfio_virqfd listed for a kernel that has none (merged into vfio in 6.2).
void VirqfdFinding(const Host& host, const std::vector<InitramfsGenerator>& gens,
                   std::string_view release, const std::vector<std::string>& device_args,
                   std::vector<Finding>& out);

}  // namespace vmprep
