/// vhost_net: in-kernel virtio-net back end. Without it QEMU moves every guest packet through
/// user space, costing CPU and latency. Reads the module state (/proc/modules, /sys/module,
/// libkmod), /dev/vhost-net, and the boot-time load lists (modules-load.d, /etc/modules).
#include "checks/probes/vhost_net.h"

#include <fmt/format.h>

#include "system/facts.h"
#include "system/fixer_ids.h"
#include "system/modules.h"

namespace vmprep {

std::string_view VhostNetProbe::Name() const { return "vhost_net"; }

std::string_view VhostNetProbe::Description() const {
  return "vhost_net module available/loaded, /dev/vhost-net, loaded at boot";
}

std::vector<Finding> VhostNetProbe::Run(const Host& host, const ProbeContext& context) const {
  std::vector<Finding> out;
  auto make = [&](std::string_view name, Severity severity, std::string summary) -> Finding& {
    return AddFinding(out, "vhost_net", name, severity, std::move(summary));
  };
  const ModuleIndex& modules = context.Facts(host).Modules();
  ModuleInfo mod = modules.Query("vhost_net", "VHOST_NET");
  auto boot = FindBootLoadEntries(host, "vhost_net");
  auto node = host.Stat(Root::kRuntime, "/dev/vhost-net");

  {
    Finding* f = nullptr;
    switch (mod.state) {
      case ModuleState::kLoaded:
      case ModuleState::kBuiltin:
        f = &make("module", Severity::kPass,
                  fmt::format("vhost_net is {}", ModuleStateName(mod.state)));
        break;
      case ModuleState::kAvailable:
        f = &make("module", node ? Severity::kPass : Severity::kWarn,
                  node ? "vhost_net is installed and loads on first use of /dev/vhost-net"
                       : "vhost_net is installed but not loaded");
        if (!node) {
          f->hint =
              "Run `modprobe vhost_net`, and add a line `vhost_net` to "
              "/etc/modules-load.d/vhost_net.conf to load it at boot.";
          f->fixer = std::string(kFixModulesLoad);
        }
        break;
      case ModuleState::kMissing:
        f = &make("module", Severity::kWarn,
                  "the running kernel has no vhost_net module: guest networking will go through "
                  "user space");
        f->hint =
            "Use a kernel built with CONFIG_VHOST_NET (Debian's and most distribution kernels "
            "are).";
        break;
    }
    f->evidence = mod.evidence;
  }
  {
    Finding* f;
    if (node) {
      f = &make("device", Severity::kPass, "/dev/vhost-net exists");
      f->evidence.push_back({"/dev/vhost-net", fmt::format("mode {:04o}", node->mode)});
    } else if (mod.state == ModuleState::kMissing) {
      f = &make("device", Severity::kSkip, "no /dev/vhost-net (no vhost_net module)");
      f->evidence.push_back({"/dev/vhost-net", node.error().message});
    } else {
      f = &make("device", Severity::kWarn, "/dev/vhost-net does not exist");
      f->evidence.push_back({"/dev/vhost-net", node.error().message});
      f->hint = "Load the module with `modprobe vhost_net`; the node appears with it.";
    }
  }
  if (mod.state == ModuleState::kAvailable || mod.state == ModuleState::kLoaded) {
    if (!boot.empty()) {
      Finding& f = make("boot", Severity::kPass, "vhost_net is loaded at boot");
      f.evidence = boot;
    } else {
      Finding& f = make(
          "boot", Severity::kNote,
          "nothing loads vhost_net at boot; it loads on demand when QEMU opens /dev/vhost-net");
      f.evidence.push_back({"/etc/modules-load.d", "no vhost_net entry (nor in /etc/modules)"});
      f.hint = "Optional: add a line `vhost_net` to /etc/modules-load.d/vhost_net.conf.";
      f.fixer = std::string(kFixModulesLoad);
    }
  }
  return out;
}

}  // namespace vmprep
