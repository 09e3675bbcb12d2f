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

namespace {

const std::vector<std::string> kVhostNetArgs = {"--enable", "vhost_net"};

void ModuleFinding(const ModuleInfo& mod, const std::string& release,
                   const std::vector<Evidence>& boot, bool node, std::vector<Finding>& out) {
  Finding* f = nullptr;
  switch (mod.state) {
    case ModuleState::kLoaded:
    case ModuleState::kBuiltin:
      f = &AddFinding(out, "vhost_net", "module", Severity::kPass,
                      fmt::format("vhost_net is {}", ModuleStateName(mod.state)));
      break;
    case ModuleState::kAvailable:
      if (node) {
        f = &AddFinding(out, "vhost_net", "module", Severity::kPass,
                        "vhost_net is installed and loads on first use of /dev/vhost-net");
      } else if (!boot.empty()) {
        f = &AddFinding(out, "vhost_net", "module", Severity::kWarn, "");
        f->SetPending("vhost_net is set to load at boot but is not loaded now",
                      "It loads at the next boot; to load it now run `modprobe vhost_net`.");
      } else {
        f = &AddFinding(out, "vhost_net", "module", Severity::kWarn,
                        "vhost_net is installed but not loaded");
        f->hint = fmt::format(
            "Run `modprobe vhost_net`, and add a line `vhost_net` to {} to load it at boot.",
            kModulesLoadConf);
        f->SetFix(kFixModulesLoad, kVhostNetArgs);
      }
      break;
    case ModuleState::kMissing:
      f = &AddFinding(out, "vhost_net", "module", Severity::kWarn,
                      fmt::format("kernel {} has no vhost_net module: guest networking will go "
                                  "through user space",
                                  release));
      f->hint =
          "Use a kernel built with CONFIG_VHOST_NET (Debian's and most distribution kernels "
          "are).";
      break;
    case ModuleState::kUnknown:
      f = &AddFinding(out, "vhost_net", "module", Severity::kSkip,
                      fmt::format("cannot tell whether kernel {} has vhost_net: neither its "
                                  "module index nor its build configuration could be read",
                                  release.empty() ? "(unknown release)" : release));
      break;
  }
  f->evidence = mod.evidence;
}

}  // namespace

std::vector<Finding> VhostNetProbe::Run(const Host& host, const ProbeContext& context) const {
  std::vector<Finding> out;
  const ModuleIndex& modules = context.Facts(host).Modules();
  ModuleInfo mod = modules.Query("vhost_net", "VHOST_NET");
  auto boot = FindBootLoadEntries(host, "vhost_net");
  auto node = host.Stat(Root::kRuntime, "/dev/vhost-net");
  ModuleFinding(mod, modules.kernel_release(), boot, node.has_value(), out);
  {
    Finding* f;
    if (node) {
      f = &AddFinding(out, "vhost_net", "device", Severity::kPass, "/dev/vhost-net exists");
      f->evidence.push_back({"/dev/vhost-net", fmt::format("mode {:04o}", node->mode)});
    } else if (mod.state == ModuleState::kMissing || mod.state == ModuleState::kUnknown) {
      f = &AddFinding(out, "vhost_net", "device", Severity::kSkip,
                      "no /dev/vhost-net (see vhost_net.module)");
      f->evidence.push_back({"/dev/vhost-net", node.error().message});
    } else {
      f = &AddFinding(out, "vhost_net", "device", Severity::kWarn, "/dev/vhost-net does not exist");
      f->evidence.push_back({"/dev/vhost-net", node.error().message});
      f->hint = "Load the module with `modprobe vhost_net`; the node appears with it.";
    }
  }
  if (mod.state == ModuleState::kAvailable || mod.state == ModuleState::kLoaded) {
    if (!boot.empty()) {
      Finding& f =
          AddFinding(out, "vhost_net", "boot", Severity::kPass, "vhost_net is loaded at boot");
      f.evidence = boot;
    } else {
      Finding& f = AddFinding(
          out, "vhost_net", "boot", Severity::kNote,
          "nothing loads vhost_net at boot; it loads on demand when QEMU opens /dev/vhost-net");
      f.evidence.push_back({"/etc/modules-load.d", "no vhost_net entry (nor in /etc/modules)"});
      f.hint = fmt::format("Optional: add a line `vhost_net` to {}.", kModulesLoadConf);
      f.SetFix(kFixModulesLoad, kVhostNetArgs);
    }
  }
  return out;
}

}  // namespace vmprep
