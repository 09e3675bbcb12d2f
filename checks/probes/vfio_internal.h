#pragma once
// Internals of the vfio probe: the state its findings are judged from, read once by
// VfioProbe::Run (vfio.cc); the per-device binding findings live in vfio_binding.cc.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checks/finding.h"
#include "checks/probes/isolation.h"
#include "core/host.h"
#include "system/facts.h"
#include "system/initramfs_config.h"
#include "system/modules.h"
#include "system/vfio_config.h"
#include "system/vfio_selection.h"

namespace vmprep::vfio_internal {

// What the vfio findings are judged from, read once.
struct VfioState {
  const Host& host;
  const SystemFacts& facts;
  ModuleInfo vfio_pci;
  const VfioConfig& config;
  std::vector<InitramfsGenerator> gens;
  std::optional<Error> gens_error;
  std::vector<PassthroughTarget> targets;  // chosen or configured, never candidates
  std::optional<std::int64_t> boot_time;
  bool builtin() const { return vfio_pci.state == ModuleState::kBuiltin; }
  // The request that sets all of them up: --device for every target.
  std::vector<std::string> DeviceArgs() const {
    std::vector<std::string> args;
    for (const auto& t : targets) {
      args.push_back("--device");
      args.push_back(t.address.ToString());
    }
    return args;
  }
};

inline Finding& Make(std::vector<Finding>& out, std::string_view name, Severity severity,
                     std::string summary) {
  return AddFinding(out, "vfio", name, severity, std::move(summary));
}

// vfio.binding.<address>: is the target bound to vfio-pci now, and if not, why.
void BindingFinding(const VfioState& s, const PciScan& scan, const PassthroughTarget& t,
                    std::vector<Finding>& out);

// vfio.access: may `who` open /dev/vfio/vfio and the group node of every target.
void AccessFinding(const VfioState& s, const PciScan& scan, const Identity& who,
                   std::vector<Finding>& out);

}  // namespace vmprep::vfio_internal
