#pragma once
// Internals of the kvm probe, shared by kvm.cc, kvm_device.cc and kvm_module.cc: each
// finding comes from one function of the facts gathered once by KvmProbe::Run, so it can be
// tested one input state at a time.

#include <expected>
#include <string>
#include <vector>

#include "checks/finding.h"
#include "checks/probe.h"
#include "core/host.h"
#include "system/modules.h"
#include "system/system_info.h"

namespace vmprep::kvm_internal {

inline constexpr std::string_view kDevKvm = "/dev/kvm";

enum class DeviceState {
  kUsable,   // live: ioctls worked; captured tree: node present and accessible
  kMissing,  // no /dev/kvm
  kDenied,   // node present, the user may not open it read-write
  kBroken,   // node present but not a KVM device, or the ioctls failed
};

struct DeviceResult {
  DeviceState state = DeviceState::kMissing;
  std::vector<Evidence> evidence;
  FileInfo info;
  std::string detail;  // what failed, for kBroken
};

// Kernel log lines that say the firmware turned virtualization off, or the CPU lacks it.
struct LogFacts {
  bool readable = false;
  std::string error;
  std::vector<std::string> firmware_disabled;
  std::vector<std::string> no_support;
};

// The KVM modules that matter: the core module, the CPU's vendor module and any backend that
// is in fact loaded (kvm_pvm on paravirtualised hosts).
struct KvmModules {
  ModuleInfo core;
  std::vector<ModuleInfo> backends;
  std::string vendor_module;  // the CPU's ("" when the vendor is unknown)
  std::string kernel_release;

  // The first loaded or built-in backend, or null.
  const ModuleInfo* Active() const {
    for (const ModuleInfo& m : backends) {
      if (m.state == ModuleState::kLoaded || m.state == ModuleState::kBuiltin) return &m;
    }
    return nullptr;
  }
};

DeviceResult ProbeDevice(const Host& host, const ProbeContext& context);
LogFacts ScanKernelLog(const std::expected<std::vector<std::string>, Error>& log);
KvmModules QueryModules(const ModuleIndex& modules, const std::expected<CpuInfo, Error>& cpu);

// `kvm_works`: KVM works on this machine, whoever asks (see KvmProbe::Run).
void AddDeviceFinding(std::vector<Finding>& out, const Host& host, const ProbeContext& context,
                      const DeviceResult& device, const KvmModules& modules);
void AddCpuFinding(std::vector<Finding>& out, const std::expected<CpuInfo, Error>& cpu,
                   bool kvm_works, const KvmModules& modules, const LogFacts& log);
void AddModuleFinding(std::vector<Finding>& out, const std::expected<CpuInfo, Error>& cpu,
                      bool kvm_works, const KvmModules& modules);
void AddFirmwareFinding(std::vector<Finding>& out, bool kvm_works, const LogFacts& log);
void AddNestedFinding(std::vector<Finding>& out, const Host& host, const KvmModules& modules);

}  // namespace vmprep::kvm_internal
