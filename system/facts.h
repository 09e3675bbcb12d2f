// SystemFacts: what several probes read, read once per run. vmcheck makes one per report;
// a probe run on its own makes its own through ProbeContext::Facts.
#pragma once

#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/host.h"
#include "system/kernel_params.h"
#include "system/modules.h"
#include "system/mounts.h"
#include "system/next_boot.h"
#include "system/pci_scan.h"
#include "system/system_info.h"
#include "system/vfio_config.h"

namespace vmprep {

class SystemFacts {
 public:
  explicit SystemFacts(const Host& host) : host_(host) {}
  SystemFacts(const SystemFacts&) = delete;
  SystemFacts& operator=(const SystemFacts&) = delete;

  const Host& host() const { return host_; }
  const std::expected<CpuInfo, Error>& Cpu() const;
  const std::expected<std::vector<std::string>, Error>& KernelLog() const;
  const KernelParams& Params() const;
  const ModuleIndex& Modules() const;
  // PCI devices without names; PciNamesFor() when a message needs them.
  const std::expected<PciScan, Error>& Pci() const;
  const PciNames& Names() const;  // names alone ("Audio device"), loaded on first use
  const VfioConfig& Vfio() const;
  const std::expected<std::vector<MountEntry>, Error>& Mounts() const;
  // Where the next boot's command line comes from (read on first use).
  const std::expected<std::vector<ConfiguredCmdline>, Error>& NextBootCmdlines() const;

 private:
  const Host& host_;
  mutable std::optional<std::expected<CpuInfo, Error>> cpu_;
  mutable std::optional<std::expected<std::vector<std::string>, Error>> log_;
  mutable std::optional<KernelParams> params_;
  mutable std::unique_ptr<ModuleIndex> modules_;
  mutable std::optional<std::expected<PciScan, Error>> pci_;
  mutable std::unique_ptr<PciNames> names_;
  mutable std::optional<VfioConfig> vfio_;
  mutable std::optional<std::expected<std::vector<MountEntry>, Error>> mounts_;
  mutable std::optional<std::expected<std::vector<ConfiguredCmdline>, Error>> next_boot_;
};

}  // namespace vmprep
