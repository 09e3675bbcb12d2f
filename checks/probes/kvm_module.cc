/// kvm.module and kvm.nested: the KVM core module, the vendor backend (/proc/modules,
/// /sys/module, libkmod) and the backend's nested-virtualization parameter.
#include <fmt/format.h>

#include <algorithm>

#include "checks/probes/kvm_internal.h"
#include "core/text.h"

namespace vmprep::kvm_internal {
namespace {

std::string VendorModuleFor(const CpuInfo& cpu) {
  if (cpu.is_intel()) return "kvm_intel";
  if (cpu.is_amd()) return "kvm_amd";
  return "";
}

// kvm.module when neither the core module nor a backend is loaded.
void AddNotLoadedFinding(std::vector<Finding>& out, const std::expected<CpuInfo, Error>& cpu,
                         bool kvm_works, const KvmModules& modules) {
  const auto& backends = modules.backends;
  auto available = std::find_if(backends.begin(), backends.end(), [](const ModuleInfo& m) {
    return m.state == ModuleState::kAvailable;
  });
  if (available != backends.end() || modules.core.state == ModuleState::kAvailable) {
    std::string name = available != backends.end() ? available->name : "kvm";
    const bool cpu_lacks = cpu && !cpu->has("vmx") && !cpu->has("svm");
    if (cpu_lacks && !kvm_works) {
      // The module cannot load on this CPU: kvm.cpu carries the failure and its fix.
      AddFinding(out, "kvm", "module", Severity::kNote,
                 fmt::format("{} is installed but not loaded; it cannot load without vmx/svm "
                             "(see kvm.cpu)",
                             name));
    } else {
      Finding& f = AddFinding(out, "kvm", "module", kvm_works ? Severity::kNote : Severity::kFail,
                              fmt::format("{} is installed but not loaded", name));
      f.hint = fmt::format(
          "Load it now with `modprobe {}` (dmesg tells why if it refuses) and at every boot "
          "with a line `{}` in /etc/modules-load.d/kvm.conf.",
          name, name);
    }
  } else if (kvm_works) {
    AddFinding(out, "kvm", "module", Severity::kNote,
               "no KVM vendor module is known to be loaded, but /dev/kvm works");
  } else if (modules.core.state == ModuleState::kUnknown) {
    // No module index and no kernel configuration: "cannot tell" is not "missing".
    Finding& f = AddFinding(
        out, "kvm", "module", Severity::kWarn,
        fmt::format("cannot tell whether kernel {} has KVM modules: neither its module "
                    "index nor its build configuration could be read",
                    modules.kernel_release.empty() ? "(unknown release)" : modules.kernel_release));
    f.hint = fmt::format(
        "Install the modules of the running kernel (/usr/lib/modules/{0}) or its config "
        "file (/boot/config-{0}), then run vmcheck again.",
        modules.kernel_release);
  } else {
    Finding& f = AddFinding(
        out, "kvm", "module", Severity::kFail,
        fmt::format("the running kernel {} has no KVM module{}", modules.kernel_release,
                    modules.vendor_module.empty() ? "" : " (" + modules.vendor_module + ")"));
    f.hint =
        "Boot a kernel built with CONFIG_KVM and CONFIG_KVM_INTEL/CONFIG_KVM_AMD "
        "(Debian's linux-image-amd64 has them), or install the modules package that "
        "matches the running kernel.";
  }
}

}  // namespace

KvmModules QueryModules(const ModuleIndex& index, const std::expected<CpuInfo, Error>& cpu) {
  KvmModules modules;
  modules.vendor_module = cpu ? VendorModuleFor(*cpu) : "";
  modules.kernel_release = index.kernel_release();
  for (auto [name, symbol] : {std::pair<std::string, std::string>{"kvm_intel", "KVM_INTEL"},
                              {"kvm_amd", "KVM_AMD"},
                              {"kvm_pvm", "KVM_PVM"}}) {
    ModuleInfo m = index.Query(name, symbol);
    if (name == modules.vendor_module || m.state == ModuleState::kLoaded ||
        m.state == ModuleState::kBuiltin) {
      modules.backends.push_back(std::move(m));
    }
  }
  modules.core = index.Query("kvm", "KVM");
  return modules;
}

// kvm.module: core module and the vendor backend.
void AddModuleFinding(std::vector<Finding>& out, const std::expected<CpuInfo, Error>& cpu,
                      bool kvm_works, const KvmModules& modules) {
  std::vector<Evidence> evidence = modules.core.evidence;
  for (const auto& b : modules.backends)
    evidence.insert(evidence.end(), b.evidence.begin(), b.evidence.end());
  const ModuleState core = modules.core.state;
  const bool core_ok = core == ModuleState::kLoaded || core == ModuleState::kBuiltin;
  if (core_ok && modules.Active() != nullptr) {
    AddFinding(out, "kvm", "module", Severity::kPass,
               fmt::format("kvm is {} and {} is {}", ModuleStateName(core), modules.Active()->name,
                           ModuleStateName(modules.Active()->state)));
  } else {
    AddNotLoadedFinding(out, cpu, kvm_works, modules);
  }
  out.back().evidence = std::move(evidence);
}

// kvm.nested: nested virtualization parameter of the vendor module.
void AddNestedFinding(std::vector<Finding>& out, const Host& host, const KvmModules& modules) {
  const ModuleInfo* backend = modules.Active();
  if (backend == nullptr || (backend->name != "kvm_intel" && backend->name != "kvm_amd")) return;
  std::string path = "/sys/module/" + backend->name + "/parameters/nested";
  auto value = host.Read(Root::kRuntime, path);
  if (!value) return;
  auto v = Trim(*value);
  bool on = v == "Y" || v == "1" || v == "y";
  Finding& f =
      AddFinding(out, "kvm", "nested", on ? Severity::kPass : Severity::kNote,
                 on ? "nested virtualization is enabled"
                    : "nested virtualization is disabled (only needed to run VMs inside guests)");
  f.evidence.push_back({path, std::string(v)});
  if (!on) {
    f.hint = fmt::format(
        "If guests must run their own VMs: add `options {} nested=1` to "
        "/etc/modprobe.d/kvm.conf and reload {}.",
        backend->name, backend->name);
  }
}

}  // namespace vmprep::kvm_internal
