/// Lazily read, shared facts of one run.
#include "system/facts.h"

namespace vmprep {

const std::expected<CpuInfo, Error>& SystemFacts::Cpu() const {
  if (!cpu_) cpu_ = ReadCpuInfo(host_);
  return *cpu_;
}

const std::expected<std::vector<std::string>, Error>& SystemFacts::KernelLog() const {
  if (!log_) log_ = ReadKernelLog(host_);
  return *log_;
}

const KernelParams& SystemFacts::Params() const {
  if (!params_) params_ = ReadKernelParams(host_);
  return *params_;
}

const ModuleIndex& SystemFacts::Modules() const {
  if (!modules_) modules_ = std::make_unique<ModuleIndex>(host_);
  return *modules_;
}

const std::expected<PciScan, Error>& SystemFacts::Pci() const {
  if (!pci_) pci_ = ScanPci(host_);
  return *pci_;
}

const PciNames& SystemFacts::Names() const {
  if (!names_) names_ = std::make_unique<PciNames>(/*with_ids=*/false);
  return *names_;
}

const VfioConfig& SystemFacts::Vfio() const {
  if (!vfio_) vfio_ = ReadVfioConfig(host_, Params());
  return *vfio_;
}

const std::expected<std::vector<MountEntry>, Error>& SystemFacts::Mounts() const {
  if (!mounts_) mounts_ = ReadMounts(host_);
  return *mounts_;
}

const std::expected<std::vector<ConfiguredCmdline>, Error>& SystemFacts::NextBootCmdlines() const {
  if (!next_boot_) next_boot_ = ReadConfiguredCmdlines(host_);
  return *next_boot_;
}

}  // namespace vmprep
