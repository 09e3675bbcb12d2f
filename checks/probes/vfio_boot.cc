/// vfio findings about what the next boot loads: the early-binding hook in each initramfs
/// generator (files, mkinitcpio HOOKS order and modconf, the image), and stale vfio_virqfd
/// entries. Part of the vfio check (checks/probes/vfio.cc).
#include <fmt/format.h>

#include "checks/probes/vfio.h"
#include "core/text.h"
#include "system/fixer_ids.h"
#include "system/modules.h"
#include "system/next_boot.h"

namespace vmprep {
namespace {

struct HookProblems {
  std::vector<std::string> problems;  // one phrase each, for the summary
  std::vector<std::string> fixes;     // the exact change for each
  std::vector<Evidence> evidence;
  bool files_missing = false;
  bool hooks_fixable = false;  // HOOKS order or modconf: the initramfs fixer edits HOOKS
};

HookProblems CheckGenerators(const Host& host, const std::vector<InitramfsGenerator>& gens) {
  HookProblems p;
  for (const auto& g : gens) {
    BindHookState hook = CheckBindHook(host, g);
    for (const auto& m : hook.missing) {
      p.evidence.push_back({m, "missing"});
      p.problems.push_back(fmt::format("{} ({} missing)", g.name, m));
      p.files_missing = true;
    }
    if (g.name != "mkinitcpio") continue;
    const std::string hooks = Join(g.hooks, " ");
    if (std::find(g.hooks.begin(), g.hooks.end(), "systemd") != g.hooks.end()) {
      p.evidence.push_back({"/etc/mkinitcpio.conf", "HOOKS=(" + hooks + ")"});
      p.problems.push_back("mkinitcpio builds a systemd image, which does not run vmprep-vfio");
      p.fixes.push_back(
          "bind these devices by vfio-pci ids instead, or switch HOOKS from systemd to base udev");
      continue;
    }
    if (!hook.listed || !hook.ordered) {
      p.evidence.push_back({"/etc/mkinitcpio.conf", "HOOKS=(" + hooks + ")"});
      p.problems.push_back(hook.listed ? "mkinitcpio runs vmprep-vfio after udev"
                                       : "mkinitcpio's HOOKS lacks vmprep-vfio");
      p.fixes.push_back(std::string(kMkinitcpioHookAdvice));
      p.hooks_fixable = true;
    }
    if (!hook.modconf) {
      p.problems.push_back("mkinitcpio's HOOKS lacks modconf (modprobe.d is not in the image)");
      p.fixes.push_back("add modconf to HOOKS");
      p.hooks_fixable = true;
    }
  }
  return p;
}

}  // namespace

void BindHookFinding(const Host& host, const VfioConfig& config,
                     const std::vector<InitramfsGenerator>& gens, std::string_view release,
                     const std::vector<std::string>& device_args, std::vector<Finding>& out) {
  if (config.bind_addresses.empty() || gens.empty()) return;
  HookProblems p = CheckGenerators(host, gens);
  p.evidence.insert(p.evidence.begin(), {config.bind_addresses.front().second,
                                         fmt::format("{} address(es) listed for binding at boot",
                                                     config.bind_addresses.size())});
  if (!p.problems.empty()) {
    Finding& f = AddFinding(out, "vfio", "bind-hook", Severity::kFail,
                            "devices are listed for binding by address, but the initramfs lacks "
                            "the hook that binds them: " +
                                Join(p.problems, "; "));
    f.evidence = std::move(p.evidence);
    if (p.files_missing) {
      p.fixes.insert(p.fixes.begin(),
                     "install vmprep's initramfs component (`cmake --install build --component "
                     "initramfs`, or the vmprep package)");
    }
    f.hint = "To fix: " + Join(p.fixes, "; ") + "; then regenerate the initramfs and reboot.";
    if (p.hooks_fixable && !p.files_missing && !device_args.empty())
      f.SetFix(kFixInitramfs, device_args);
    return;
  }
  Finding& f = AddFinding(out, "vfio", "bind-hook", Severity::kPass,
                          "the early-binding hook is installed for every initramfs generator");
  std::vector<std::string> sources;
  for (const auto& [address, source] : config.bind_addresses) sources.push_back(source);
  std::vector<Evidence> images;
  auto to_run = InitramfsStillToRun(host, gens, release, NewestMtime(host, sources).value_or(0), {},
                                    {"vmprep/vfio-bind.conf"}, &images);
  p.evidence.insert(p.evidence.end(), images.begin(), images.end());
  f.evidence = std::move(p.evidence);
  if (!to_run.empty()) {
    f.SetPending(
        "the early-binding hook is configured, but the initramfs image does not hold "
        "the current address list yet",
        fmt::format("Regenerate the initramfs: {}.", RunThenReboot(to_run)));
  }
}

void VirqfdFinding(const Host& host, const std::vector<InitramfsGenerator>& gens,
                   std::string_view release, const std::vector<std::string>& device_args,
                   std::vector<Finding>& out) {
  if (KernelVersion::Parse(release).has_virqfd_module() || !KernelVersion::Parse(release).known())
    return;
  std::vector<Evidence> stale;
  for (const auto& g : gens) {
    for (const auto& e : g.evidence) {
      if (e.value.find("vfio_virqfd") != std::string::npos ||
          e.value.find("vfio-virqfd") != std::string::npos)
        stale.push_back(e);
    }
  }
  const std::size_t in_initramfs = stale.size();
  for (const auto& e : FindBootLoadEntries(host, "vfio_virqfd")) stale.push_back(e);
  if (stale.empty()) return;
  Finding& f = AddFinding(
      out, "vfio", "virqfd", Severity::kWarn,
      fmt::format("vfio_virqfd is listed, but kernel {} has no such module (merged into vfio in "
                  "6.2)",
                  release));
  f.evidence = stale;
  f.hint =
      "Remove vfio_virqfd from the lines above: mkinitcpio stops with 'module not found' and "
      "systemd-modules-load reports a failure.";
  // The initramfs fixer removes it from the generators' files, not from modules-load.d.
  if (in_initramfs == stale.size() && !device_args.empty()) f.SetFix(kFixInitramfs, device_args);
}

}  // namespace vmprep
