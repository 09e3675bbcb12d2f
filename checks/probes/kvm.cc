/// kvm: is hardware-accelerated virtualization usable here?
/// Passthrough needs KVM: QEMU without it runs guests under TCG, far too slow for a GPU VM.
/// KVM counts as usable only if /dev/kvm opens read-write and KVM_GET_API_VERSION and
/// KVM_CREATE_VM succeed; when it is not, the findings explain why from the CPU flags
/// (/proc/cpuinfo), the module state (/proc/modules, /sys/module, libkmod), the device node
/// (/dev/kvm, /etc/group) and the kernel log (/dev/kmsg).
#include "checks/probes/kvm.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "system/accounts.h"
#include "system/facts.h"
#include "system/modules.h"
#include "system/system_info.h"

namespace vmprep {
namespace {

constexpr std::string_view kDevKvm = "/dev/kvm";

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

std::string DescribeNode(const Host& host, const FileInfo& info) {
  std::string owner = UserName(host, info.uid).value_or(std::to_string(info.uid));
  std::string group = GroupName(host, info.gid).value_or(std::to_string(info.gid));
  std::string kind = info.type == FileType::kCharDevice
                         ? fmt::format("character device {}:{}", major(info.rdev), minor(info.rdev))
                     : info.type == FileType::kRegular ? std::string("captured node")
                                                       : std::string("not a character device");
  return fmt::format("{}, mode {:04o}, owner {}, group {}", kind, info.mode, owner, group);
}

DeviceResult ProbeDevice(const Host& host, const ProbeContext& context) {
  DeviceResult result;
  auto info = host.Stat(Root::kRuntime, kDevKvm);
  if (!info) {
    result.state = DeviceState::kMissing;
    result.evidence.push_back({std::string(kDevKvm), info.error().errno_value == ENOENT
                                                         ? "does not exist"
                                                         : info.error().message});
    return result;
  }
  result.info = *info;
  result.evidence.push_back({std::string(kDevKvm), DescribeNode(host, *info)});

  const bool same_user = context.identity.uid == ::geteuid();
  if (!host.live_runtime() || !same_user) {
    // A captured tree has no device to open, and another user's access cannot be tried:
    // judge from the node's mode and ownership.
    result.evidence.push_back(
        {"(ioctl)", !host.live_runtime()
                        ? "not attempted: the runtime root is a captured tree, judged from the tree"
                        : fmt::format("not attempted for user {}: judged from permissions",
                                      context.identity.name)});
    if (host.live_runtime() && info->type != FileType::kCharDevice) {
      result.state = DeviceState::kBroken;
      result.detail = "/dev/kvm is not a character device";
    } else {
      result.state =
          MayReadWrite(context.identity, *info) ? DeviceState::kUsable : DeviceState::kDenied;
    }
    return result;
  }
  if (info->type != FileType::kCharDevice) {
    result.state = DeviceState::kBroken;
    result.detail = "/dev/kvm is not a character device";
    return result;
  }
  auto fd = host.OpenFile(Root::kRuntime, kDevKvm, O_RDWR);
  if (!fd) {
    int err = fd.error().errno_value;
    result.evidence.push_back({std::string(kDevKvm), "open read-write: " + fd.error().message});
    if (err == EACCES || err == EPERM) {
      result.state = DeviceState::kDenied;
    } else {
      result.state = err == ENXIO || err == ENODEV ? DeviceState::kMissing : DeviceState::kBroken;
      result.detail = fd.error().message;
    }
    return result;
  }
  int version = ::ioctl(fd->get(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    result.state = DeviceState::kBroken;
    result.detail =
        version < 0
            ? fmt::format("KVM_GET_API_VERSION failed: {}", std::strerror(errno))
            : fmt::format("KVM_GET_API_VERSION returned {}, expected {}", version, KVM_API_VERSION);
    result.evidence.push_back({"(ioctl)", result.detail});
    return result;
  }
  int vm = ::ioctl(fd->get(), KVM_CREATE_VM, 0);
  if (vm < 0) {
    result.state = DeviceState::kBroken;
    result.detail = fmt::format("KVM_CREATE_VM failed: {}", std::strerror(errno));
    result.evidence.push_back({"(ioctl)", result.detail});
    return result;
  }
  Fd vm_fd(vm);
  result.state = DeviceState::kUsable;
  result.evidence.push_back(
      {"(ioctl)", fmt::format("KVM_GET_API_VERSION = {}, KVM_CREATE_VM succeeded", version)});
  return result;
}

bool ContainsNoCase(std::string_view hay, std::string_view needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != hay.end();
}

// Kernel log lines that say the firmware turned virtualization off, or the CPU lacks it.
struct LogFacts {
  bool readable = false;
  std::string error;
  std::vector<std::string> firmware_disabled;
  std::vector<std::string> no_support;
};

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

bool KvmWorks(const DeviceResult& device) { return device.state == DeviceState::kUsable; }

std::string VendorModuleFor(const CpuInfo& cpu) {
  if (cpu.is_intel()) return "kvm_intel";
  if (cpu.is_amd()) return "kvm_amd";
  return "";
}

}  // namespace

std::string_view KvmProbe::Name() const { return "kvm"; }

std::string_view KvmProbe::Description() const {
  return "KVM is usable: /dev/kvm opens read-write and can create a VM; CPU, module, firmware";
}

std::vector<Finding> KvmProbe::Run(const Host& host, const ProbeContext& context) const {
  std::vector<Finding> out;
  auto make = [&](std::string_view name, Severity severity, std::string summary) -> Finding& {
    return AddFinding(out, "kvm", name, severity, std::move(summary));
  };

  const SystemFacts& facts = context.Facts(host);
  const auto& cpu = facts.Cpu();
  const ModuleIndex& modules = facts.Modules();
  DeviceResult device = ProbeDevice(host, context);
  // When KVM works the firmware evidently left virtualization on: the kernel log (hundreds
  // of records, one read each) is only read to explain a failure.
  LogFacts log = KvmWorks(device) ? LogFacts{} : ScanKernelLog(facts.KernelLog());
  const bool usable = device.state == DeviceState::kUsable;

  // Which vendor module matters: the CPU's, or any KVM backend that is in fact loaded
  // (kvm_pvm on paravirtualised hosts).
  std::vector<ModuleInfo> backends;
  std::string vendor_module = cpu ? VendorModuleFor(*cpu) : "";
  for (auto [name, symbol] : {std::pair<std::string, std::string>{"kvm_intel", "KVM_INTEL"},
                              {"kvm_amd", "KVM_AMD"},
                              {"kvm_pvm", "KVM_PVM"}}) {
    ModuleInfo m = modules.Query(name, symbol);
    if (name == vendor_module || m.state == ModuleState::kLoaded ||
        m.state == ModuleState::kBuiltin) {
      backends.push_back(std::move(m));
    }
  }
  ModuleInfo core = modules.Query("kvm", "KVM");
  auto active_backend = std::find_if(backends.begin(), backends.end(), [](const ModuleInfo& m) {
    return m.state == ModuleState::kLoaded || m.state == ModuleState::kBuiltin;
  });
  // Whether KVM works on this machine, whoever asks: usable for this user, or the node is
  // there with a backend loaded and only this user's permission is missing. The CPU, module
  // and firmware verdicts are the machine's and must not change with --user.
  const bool kvm_works =
      usable || (device.state == DeviceState::kDenied && active_backend != backends.end());

  // --- kvm.device: the verdict that matters.
  {
    Finding* f = nullptr;
    switch (device.state) {
      case DeviceState::kUsable:
        f = &make("device", Severity::kPass,
                  host.live_runtime() && context.identity.uid == ::geteuid()
                      ? "/dev/kvm is usable: it opens read-write and KVM_CREATE_VM succeeds"
                      : fmt::format("/dev/kvm is present and {} may open it read-write",
                                    context.identity.name));
        break;
      case DeviceState::kMissing: {
        f = &make("device", Severity::kFail, "/dev/kvm does not exist: QEMU cannot use KVM");
        if (active_backend != backends.end() && core.state != ModuleState::kMissing) {
          f->hint =
              "The KVM modules are loaded but the node is missing: run `udevadm trigger "
              "--sysname-match=kvm` or create it with `mknod -m 0660 /dev/kvm c 10 232 && "
              "chgrp kvm /dev/kvm`.";
        } else {
          f->hint = "See kvm.module and kvm.cpu below: the node appears once a KVM module loads.";
        }
        break;
      }
      case DeviceState::kDenied: {
        std::string group =
            GroupName(host, device.info.gid).value_or(std::to_string(device.info.gid));
        f = &make("device", Severity::kFail,
                  fmt::format("/dev/kvm exists but {} may not open it read-write",
                              context.identity.name));
        if ((device.info.mode & 0060) == 0060 && device.info.gid != 0) {
          f->hint = fmt::format(
              "Group '{}' grants access: run `usermod -aG {} {}`, then log out and in again.",
              group, group, context.identity.name);
        } else {
          f->hint = fmt::format(
              "/dev/kvm is mode {:04o} group {}: only its owner may use it. Add the udev rule "
              "`KERNEL==\"kvm\", GROUP=\"kvm\", MODE=\"0660\"` to /etc/udev/rules.d/65-kvm.rules, "
              "run `udevadm trigger --sysname-match=kvm`, and add the user to group kvm "
              "(`usermod -aG kvm {}`).",
              device.info.mode, group, context.identity.name);
        }
        break;
      }
      case DeviceState::kBroken:
        f = &make("device", Severity::kFail,
                  fmt::format("/dev/kvm is not usable: {}", device.detail));
        f->hint =
            "Check `dmesg | grep -i kvm` for the reason; a /dev/kvm that is not character "
            "device 10:232 should be removed so udev can recreate it.";
        break;
    }
    f->evidence = device.evidence;
  }

  // --- kvm.cpu: hardware virtualization extensions.
  {
    if (!cpu) {
      Finding& f = make("cpu", Severity::kWarn, "cannot read the CPU flags");
      f.hint = "Make /proc/cpuinfo readable (is /proc mounted?).";
      f.evidence.push_back({"/proc/cpuinfo", cpu.error().message});
    } else {
      const bool vmx = cpu->has("vmx"), svm = cpu->has("svm"), guest = cpu->has("hypervisor");
      std::string flags_seen = fmt::format(
          "vendor {}; vmx {}, svm {}, hypervisor {}", cpu->vendor.empty() ? "unknown" : cpu->vendor,
          vmx ? "present" : "absent", svm ? "present" : "absent", guest ? "present" : "absent");
      Finding* f;
      if (vmx || svm) {
        f = &make("cpu", Severity::kPass,
                  fmt::format("the CPU offers {}", vmx ? "Intel VT-x (vmx)" : "AMD-V (svm)"));
      } else if (kvm_works) {
        f = &make("cpu", Severity::kNote,
                  "no vmx/svm flag, yet KVM works: this is a virtual machine with paravirtualised "
                  "or nested KVM");
        if (active_backend != backends.end()) {
          f->evidence.push_back({"/sys/module/" + active_backend->name,
                                 fmt::format("KVM backend {} is {}", active_backend->name,
                                             ModuleStateName(active_backend->state))});
        }
        f->hint =
            "Guests run with KVM here, but PCI passthrough of physical devices needs the "
            "bare-metal host (or a vIOMMU the outer hypervisor provides).";
      } else if (guest) {
        f = &make("cpu", Severity::kFail,
                  "the CPU offers no hardware virtualization: this is a virtual machine without "
                  "nested virtualization");
        f->hint =
            "Enable nested virtualization on the outer host (e.g. `options kvm_intel "
            "nested=1` or `options kvm_amd nested=1` there, and `-cpu host` for this VM), "
            "or run on bare metal.";
      } else {
        f = &make("cpu", Severity::kFail,
                  "the CPU offers no hardware virtualization (no vmx/svm flag)");
        f->hint =
            cpu->is_amd()
                ? "Enable 'SVM Mode' in the firmware setup (UEFI/BIOS), then power off and on."
                : "Enable Intel Virtualization Technology (VT-x) in the firmware setup "
                  "(UEFI/BIOS), then power off and on. Recent kernels hide the vmx "
                  "flag when the firmware locks VT-x off.";
      }
      f->evidence.insert(f->evidence.begin(), {"/proc/cpuinfo", flags_seen});
      for (const auto& line : log.no_support) f->evidence.push_back({"/dev/kmsg", line});
    }
  }

  // --- kvm.module: core module and the vendor backend.
  {
    std::vector<Evidence> evidence = core.evidence;
    for (const auto& b : backends)
      evidence.insert(evidence.end(), b.evidence.begin(), b.evidence.end());
    Finding* f;
    bool core_ok = core.state == ModuleState::kLoaded || core.state == ModuleState::kBuiltin;
    if (core_ok && active_backend != backends.end()) {
      f = &make("module", Severity::kPass,
                fmt::format("kvm is {} and {} is {}", ModuleStateName(core.state),
                            active_backend->name, ModuleStateName(active_backend->state)));
    } else {
      auto available = std::find_if(backends.begin(), backends.end(), [](const ModuleInfo& m) {
        return m.state == ModuleState::kAvailable;
      });
      if (available != backends.end() || core.state == ModuleState::kAvailable) {
        std::string name = available != backends.end() ? available->name : "kvm";
        const bool cpu_lacks = cpu && !cpu->has("vmx") && !cpu->has("svm");
        if (cpu_lacks && !kvm_works) {
          // The module cannot load on this CPU: kvm.cpu carries the failure and its fix.
          f = &make("module", Severity::kNote,
                    fmt::format("{} is installed but not loaded; it cannot load without vmx/svm "
                                "(see kvm.cpu)",
                                name));
        } else {
          f = &make("module", kvm_works ? Severity::kNote : Severity::kFail,
                    fmt::format("{} is installed but not loaded", name));
          f->hint = fmt::format(
              "Load it now with `modprobe {}` (dmesg tells why if it refuses) and at every boot "
              "with a line `{}` in /etc/modules-load.d/kvm.conf.",
              name, name);
        }
      } else if (kvm_works) {
        f = &make("module", Severity::kNote,
                  "no KVM vendor module is known to be loaded, but /dev/kvm works");
      } else if (core.state == ModuleState::kUnknown) {
        // No module index and no kernel configuration: "cannot tell" is not "missing".
        f = &make("module", Severity::kWarn,
                  fmt::format("cannot tell whether kernel {} has KVM modules: neither its module "
                              "index nor its build configuration could be read",
                              modules.kernel_release().empty() ? "(unknown release)"
                                                               : modules.kernel_release()));
        f->hint = fmt::format(
            "Install the modules of the running kernel (/usr/lib/modules/{0}) or its config "
            "file (/boot/config-{0}), then run vmcheck again.",
            modules.kernel_release());
      } else {
        f = &make("module", Severity::kFail,
                  fmt::format("the running kernel {} has no KVM module{}",
                              modules.kernel_release().empty() ? "" : modules.kernel_release(),
                              vendor_module.empty() ? "" : " (" + vendor_module + ")"));
        f->hint =
            "Boot a kernel built with CONFIG_KVM and CONFIG_KVM_INTEL/CONFIG_KVM_AMD "
            "(Debian's linux-image-amd64 has them), or install the modules package that "
            "matches the running kernel.";
      }
    }
    f->evidence = std::move(evidence);
  }

  // --- kvm.firmware: did the firmware switch virtualization off?
  {
    if (kvm_works) {
      Finding& f =
          make("firmware", Severity::kPass, "the firmware has virtualization enabled (KVM works)");
      f.evidence.push_back({std::string(kDevKvm), "KVM works; the kernel log was not needed"});
    } else if (!log.readable) {
      Finding& f =
          make("firmware", Severity::kSkip,
               "kernel log not readable; cannot tell whether the firmware disabled virtualization");
      f.evidence.push_back({"/dev/kmsg", log.error});
      f.hint = "Run vmcheck as root (or set kernel.dmesg_restrict=0) to include this check.";
    } else if (!log.firmware_disabled.empty()) {
      Finding& f =
          make("firmware", Severity::kFail, "the firmware has disabled hardware virtualization");
      for (const auto& line : log.firmware_disabled) f.evidence.push_back({"/dev/kmsg", line});
      f.hint =
          "Enable Intel VT-x or AMD SVM ('SVM Mode') in the firmware setup (UEFI/BIOS), "
          "then power the machine off and on (a warm reboot may keep the lock).";
    } else {
      Finding& f = make("firmware", Severity::kPass,
                        "the kernel log shows no virtualization disabled by the firmware");
      f.evidence.push_back({"/dev/kmsg", "no 'disabled by bios' message"});
    }
  }

  // --- kvm.nested: nested virtualization parameter of the vendor module.
  if (active_backend != backends.end() &&
      (active_backend->name == "kvm_intel" || active_backend->name == "kvm_amd")) {
    std::string path = "/sys/module/" + active_backend->name + "/parameters/nested";
    auto value = host.Read(Root::kRuntime, path);
    if (value) {
      auto v = Trim(*value);
      bool on = v == "Y" || v == "1" || v == "y";
      Finding& f =
          make("nested", on ? Severity::kPass : Severity::kNote,
               on ? "nested virtualization is enabled"
                  : "nested virtualization is disabled (only needed to run VMs inside guests)");
      f.evidence.push_back({path, std::string(v)});
      if (!on) {
        f.hint = fmt::format(
            "If guests must run their own VMs: add `options {} nested=1` to "
            "/etc/modprobe.d/kvm.conf and reload {}.",
            active_backend->name, active_backend->name);
      }
    }
  }
  return out;
}

}  // namespace vmprep
