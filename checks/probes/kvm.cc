/// kvm: is hardware-accelerated virtualization usable here?
/// Passthrough needs KVM: QEMU without it runs guests under TCG, far too slow for a GPU VM.
/// KVM counts as usable only if /dev/kvm opens read-write and KVM_GET_API_VERSION and
/// KVM_CREATE_VM succeed; when it is not, the findings explain why from the CPU flags
/// (/proc/cpuinfo), the module state (/proc/modules, /sys/module, libkmod), the device node
/// (/dev/kvm, /etc/group) and the kernel log (/dev/kmsg).
/// The device is probed in kvm_device.cc, the modules in kvm_module.cc.
#include "checks/probes/kvm.h"

#include <fmt/format.h>

#include <algorithm>

#include "checks/probes/kvm_internal.h"
#include "system/facts.h"

namespace vmprep {
namespace kvm_internal {
namespace {

bool ContainsNoCase(std::string_view hay, std::string_view needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != hay.end();
}

// kvm.cpu when the CPU shows neither vmx nor svm.
Finding& AddNoExtensionsFinding(std::vector<Finding>& out, const CpuInfo& cpu, bool kvm_works,
                                const KvmModules& modules) {
  if (kvm_works) {
    Finding& f = AddFinding(out, "kvm", "cpu", Severity::kNote,
                            "no vmx/svm flag, yet KVM works: this is a virtual machine with "
                            "paravirtualised or nested KVM");
    if (const ModuleInfo* active = modules.Active()) {
      f.evidence.push_back(
          {"/sys/module/" + active->name,
           fmt::format("KVM backend {} is {}", active->name, ModuleStateName(active->state))});
    }
    f.hint =
        "Guests run with KVM here, but PCI passthrough of physical devices needs the "
        "bare-metal host (or a vIOMMU the outer hypervisor provides).";
    return f;
  }
  if (cpu.has("hypervisor")) {
    Finding& f = AddFinding(out, "kvm", "cpu", Severity::kFail,
                            "the CPU offers no hardware virtualization: this is a virtual machine "
                            "without nested virtualization");
    f.hint =
        "Enable nested virtualization on the outer host (e.g. `options kvm_intel "
        "nested=1` or `options kvm_amd nested=1` there, and `-cpu host` for this VM), "
        "or run on bare metal.";
    return f;
  }
  Finding& f = AddFinding(out, "kvm", "cpu", Severity::kFail,
                          "the CPU offers no hardware virtualization (no vmx/svm flag)");
  f.hint = cpu.is_amd()
               ? "Enable 'SVM Mode' in the firmware setup (UEFI/BIOS), then power off and on."
               : "Enable Intel Virtualization Technology (VT-x) in the firmware setup "
                 "(UEFI/BIOS), then power off and on. Recent kernels hide the vmx "
                 "flag when the firmware locks VT-x off.";
  return f;
}

}  // namespace

LogFacts ScanKernelLog(const std::expected<std::vector<std::string>, Error>& log) {
  LogFacts facts;
  if (!log) {
    facts.error = log.error().message;
    return facts;
  }
  facts.readable = true;
  for (const auto& m : *log) {
    if (ContainsNoCase(m, "disabled by bios") || ContainsNoCase(m, "disabled (by bios)")) {
      facts.firmware_disabled.push_back(m);
    } else if (ContainsNoCase(m, "no hardware support") ||
               ContainsNoCase(m, "not supported by cpu") ||
               ContainsNoCase(m, "svm not supported") || ContainsNoCase(m, "vmx not supported")) {
      facts.no_support.push_back(m);
    }
  }
  return facts;
}

// kvm.cpu: hardware virtualization extensions.
void AddCpuFinding(std::vector<Finding>& out, const std::expected<CpuInfo, Error>& cpu,
                   bool kvm_works, const KvmModules& modules, const LogFacts& log) {
  if (!cpu) {
    Finding& f = AddFinding(out, "kvm", "cpu", Severity::kWarn, "cannot read the CPU flags");
    f.hint = "Make /proc/cpuinfo readable (is /proc mounted?).";
    f.evidence.push_back({"/proc/cpuinfo", cpu.error().message});
    return;
  }
  const bool vmx = cpu->has("vmx"), svm = cpu->has("svm"), guest = cpu->has("hypervisor");
  std::string flags_seen = fmt::format(
      "vendor {}; vmx {}, svm {}, hypervisor {}", cpu->vendor.empty() ? "unknown" : cpu->vendor,
      vmx ? "present" : "absent", svm ? "present" : "absent", guest ? "present" : "absent");
  Finding& f =
      vmx || svm
          ? AddFinding(out, "kvm", "cpu", Severity::kPass,
                       fmt::format("the CPU offers {}", vmx ? "Intel VT-x (vmx)" : "AMD-V (svm)"))
          : AddNoExtensionsFinding(out, *cpu, kvm_works, modules);
  f.evidence.insert(f.evidence.begin(), {"/proc/cpuinfo", flags_seen});
  for (const auto& line : log.no_support) f.evidence.push_back({"/dev/kmsg", line});
}

// kvm.firmware: did the firmware switch virtualization off?
void AddFirmwareFinding(std::vector<Finding>& out, bool kvm_works, const LogFacts& log) {
  if (kvm_works) {
    Finding& f = AddFinding(out, "kvm", "firmware", Severity::kPass,
                            "the firmware has virtualization enabled (KVM works)");
    f.evidence.push_back({std::string(kDevKvm), "KVM works; the kernel log was not needed"});
  } else if (!log.readable) {
    Finding& f = AddFinding(out, "kvm", "firmware", Severity::kSkip,
                            "kernel log not readable; cannot tell whether the firmware disabled "
                            "virtualization");
    f.evidence.push_back({"/dev/kmsg", log.error});
    f.hint = "Run vmcheck as root (or set kernel.dmesg_restrict=0) to include this check.";
  } else if (!log.firmware_disabled.empty()) {
    Finding& f = AddFinding(out, "kvm", "firmware", Severity::kFail,
                            "the firmware has disabled hardware virtualization");
    for (const auto& line : log.firmware_disabled) f.evidence.push_back({"/dev/kmsg", line});
    f.hint =
        "Enable Intel VT-x or AMD SVM ('SVM Mode') in the firmware setup (UEFI/BIOS), "
        "then power the machine off and on (a warm reboot may keep the lock).";
  } else {
    Finding& f = AddFinding(out, "kvm", "firmware", Severity::kPass,
                            "the kernel log shows no virtualization disabled by the firmware");
    f.evidence.push_back({"/dev/kmsg", "no 'disabled by bios' message"});
  }
}

}  // namespace kvm_internal

using kvm_internal::AddCpuFinding;
using kvm_internal::AddDeviceFinding;
using kvm_internal::AddFirmwareFinding;
using kvm_internal::AddModuleFinding;
using kvm_internal::AddNestedFinding;
using kvm_internal::DeviceResult;
using kvm_internal::DeviceState;
using kvm_internal::KvmModules;
using kvm_internal::LogFacts;
using kvm_internal::ProbeDevice;
using kvm_internal::QueryModules;
using kvm_internal::ScanKernelLog;

std::string_view KvmProbe::Name() const { return "kvm"; }

std::string_view KvmProbe::Description() const {
  return "KVM is usable: /dev/kvm opens read-write and can create a VM; CPU, module, firmware";
}

std::vector<Finding> KvmProbe::Run(const Host& host, const ProbeContext& context) const {
  const SystemFacts& facts = context.Facts(host);
  const auto& cpu = facts.Cpu();
  DeviceResult device = ProbeDevice(host, context);
  // When KVM works the firmware evidently left virtualization on: the kernel log (hundreds
  // of records, one read each) is only read to explain a failure.
  const bool usable = device.state == DeviceState::kUsable;
  LogFacts log = usable ? LogFacts{} : ScanKernelLog(facts.KernelLog());
  KvmModules modules = QueryModules(facts.Modules(), cpu);
  // Whether KVM works on this machine, whoever asks: usable for this user, or the node is
  // there with a backend loaded and only this user's permission is missing. The CPU, module
  // and firmware verdicts are the machine's and must not change with --user.
  const bool kvm_works =
      usable || (device.state == DeviceState::kDenied && modules.Active() != nullptr);

  std::vector<Finding> out;
  AddDeviceFinding(out, host, context, device, modules);
  AddCpuFinding(out, cpu, kvm_works, modules, log);
  AddModuleFinding(out, cpu, kvm_works, modules);
  AddFirmwareFinding(out, kvm_works, log);
  AddNestedFinding(out, host, modules);
  return out;
}

}  // namespace vmprep
