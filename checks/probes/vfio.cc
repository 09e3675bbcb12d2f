/// vfio: are the passthrough devices given to vfio-pci early, and do runtime and
/// configuration agree? A GPU driver that grabs the card before vfio-pci is the usual reason
/// a VM does not start or the host hangs at boot. Reads the drivers bound now
/// (/sys/bus/pci/devices), vfio-pci.ids on /proc/cmdline, `options vfio-pci ids=` and
/// `softdep ... pre: vfio-pci` in modprobe.d (kmod's order), the initramfs configuration
/// (mkinitcpio, dracut, initramfs-tools, booster), built-in vs module (libkmod, kernel
/// config) and /dev/vfio/<group>.
#include "checks/probes/vfio.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "checks/probes/isolation.h"
#include "system/facts.h"
#include "system/fixer_ids.h"
#include "system/initramfs_config.h"
#include "system/modules.h"
#include "system/pci_scan.h"
#include "system/vfio_config.h"

namespace vmprep {
namespace {

// Kernel release "6.1.0-26-amd64" -> {6, 1}.
std::pair<int, int> KernelVersion(std::string_view release) {
  int major = 0, minor = 0;
  auto dot = release.find('.');
  std::from_chars(release.data(), release.data() + release.size(), major);
  if (dot != std::string_view::npos)
    std::from_chars(release.data() + dot + 1, release.data() + release.size(), minor);
  return {major, minor};
}

}  // namespace

std::string_view VfioProbe::Name() const { return "vfio"; }

std::string_view VfioProbe::Description() const {
  return "vfio-pci binds the passthrough devices early; configuration (ids, softdep, initramfs) "
         "and runtime agree";
}

std::vector<Finding> VfioProbe::Run(const Host& host, const ProbeContext& context) const {
  std::vector<Finding> out;
  auto make = [&](std::string_view name, Severity severity, std::string summary) -> Finding& {
    return AddFinding(out, "vfio", name, severity, std::move(summary));
  };

  const SystemFacts& facts = context.Facts(host);
  const ModuleIndex& modules = facts.Modules();
  ModuleInfo vfio_pci = modules.Query("vfio_pci", "VFIO_PCI");
  const VfioConfig& config = facts.Vfio();
  auto gens = ReadInitramfsGenerators(host);
  const auto& scan = facts.Pci();
  std::vector<PassthroughTarget> targets;
  if (scan) {
    std::vector<Finding> ignored;  // bad --device arguments are reported by isolation
    targets = ChoosePassthroughTargets(host, *scan, context, &ignored);
  }
  std::erase_if(targets, [](const PassthroughTarget& t) { return t.candidate; });
  const bool builtin = vfio_pci.state == ModuleState::kBuiltin;

  // --- vfio.module
  {
    Finding* f;
    if (vfio_pci.state == ModuleState::kMissing) {
      f = &make("module", Severity::kFail, "the running kernel has no vfio-pci driver");
      f->hint = "Use a kernel built with CONFIG_VFIO_PCI (Debian's, Fedora's, Arch's all are).";
    } else {
      f = &make("module", Severity::kPass,
                fmt::format("vfio-pci is {}", ModuleStateName(vfio_pci.state)));
      if (builtin) {
        bool modprobe_ids = std::any_of(config.ids.begin(), config.ids.end(), [](const VfioId& id) {
          return id.source != "/proc/cmdline";
        });
        if (modprobe_ids) {
          f->severity = Severity::kWarn;
          f->summary =
              "vfio-pci is built into the kernel, so `options vfio-pci ids=` in modprobe.d is "
              "never read";
          f->hint = "Put the ids on the kernel command line instead: `vfio-pci.ids=...`.";
        }
      }
    }
    f->evidence = vfio_pci.evidence;
  }

  // --- vfio.config: what could not be read.
  if (!config.errors.empty()) {
    Finding& f =
        make("config", Severity::kWarn, "part of the vfio configuration could not be read");
    for (const auto& e : config.errors) f.evidence.push_back({e.path, e.ToString()});
    f.hint = "Fix the lines named above; until then vmcheck cannot tell what they configure.";
  }

  // --- vfio.ids-shared: ids= binds every device with the id, not one address.
  if (scan && !config.ids.empty()) {
    std::vector<Evidence> shared;
    for (const auto& id : config.ids) {
      std::vector<std::string> holders;
      for (const auto& [addr, d] : scan->extra) {
        if (d.device.vendor_id == id.vendor && d.device.device_id == id.device)
          holders.push_back(addr.ToString());
      }
      if (holders.size() > 1) {
        std::string list = Join(holders, ", ");
        shared.push_back(
            {id.source, fmt::format("{} matches {} devices: {}", id.text, holders.size(), list)});
      }
    }
    if (!shared.empty()) {
      Finding& f = make("ids-shared", Severity::kWarn,
                        "a vfio-pci id matches more than one device: ids= takes all of them, "
                        "identical cards included");
      f.evidence = shared;
      f.fixer = std::string(kFixVfioBind);
      f.hint =
          "If one of these must stay with the host, bind by PCI address instead of ids "
          "(vmsetup installs an initramfs hook that sets driver_override per address).";
    }
  }

  // --- vfio.binding: per device meant for passthrough.
  std::set<std::string> gpu_drivers_to_precede;
  for (const auto& t : targets) {
    auto it = scan->extra.find(t.address);
    Finding* f;
    if (it == scan->extra.end()) {
      f = &make("binding." + t.address.ToString(), Severity::kFail,
                fmt::format("no PCI device {}", t.address.ToString()));
      continue;
    }
    const ScannedDevice& d = it->second;
    const std::string addr = t.address.ToString();
    const std::string path = "/sys/bus/pci/devices/" + addr;
    auto id_source =
        config.IdSource(d.device.vendor_id.value_or(0), d.device.device_id.value_or(0));
    auto bind_source = config.BindSource(addr);
    const bool configured = id_source || bind_source || d.driver_override == "vfio-pci";
    if (d.device.driver == "vfio-pci") {
      f = &make("binding." + addr, Severity::kPass, fmt::format("{} is bound to vfio-pci", addr));
      std::string node = fmt::format("/dev/vfio/{}", d.device.iommu_group);
      if (d.device.iommu_group >= 0 && !host.Exists(Root::kRuntime, node)) {
        f->severity = Severity::kFail;
        f->summary = fmt::format("{} is bound to vfio-pci but {} does not exist", addr, node);
        f->hint =
            "Load vfio_iommu_type1 (`modprobe vfio_iommu_type1`) and check dmesg for vfio errors.";
      }
      f->evidence.push_back({node, host.Exists(Root::kRuntime, node) ? "present" : "missing"});
    } else if (configured) {
      f = &make("binding." + addr, Severity::kFail,
                fmt::format("{} is configured for vfio-pci but {} has it", addr,
                            d.device.driver.empty() ? "no driver" : d.device.driver));
      if (!d.device.driver.empty()) gpu_drivers_to_precede.insert(d.device.driver);
      f->hint = d.device.driver.empty()
                    ? "Load vfio-pci: `modprobe vfio-pci`, and load it at boot (see vfio.early)."
                    : fmt::format(
                          "{} loaded before vfio-pci. Load vfio-pci from the initramfs (see "
                          "vfio.early) or add `softdep {} pre: vfio-pci` to "
                          "/etc/modprobe.d/vfio.conf, regenerate the initramfs, and reboot.",
                          d.device.driver, d.device.driver);
    } else {
      f = &make("binding." + addr, Severity::kWarn,
                fmt::format("{} is not configured for vfio-pci (driver now: {})", addr,
                            d.device.driver.empty() ? "none" : d.device.driver));
      f->hint = "Run `vmsetup plan --device " + addr +
                " --enable vfio` to see the changes that give it to vfio-pci.";
      f->fixer = std::string(kFixModprobeVfio);
    }
    f->evidence.push_back(
        {path,
         fmt::format("{}; driver {}{}", t.why, d.device.driver.empty() ? "none" : d.device.driver,
                     d.driver_override.empty() ? "" : "; driver_override " + d.driver_override)});
    if (id_source)
      f->evidence.push_back({*id_source, fmt::format("vfio-pci ids include {:04x}:{:04x}",
                                                     *d.device.vendor_id, *d.device.device_id)});
    if (bind_source)
      f->evidence.push_back({*bind_source, "bound by address by the early-binding hook"});
  }

  // --- vfio.early: vfio-pci must win the race against the GPU driver at boot.
  if (!targets.empty() || !config.ids.empty()) {
    std::vector<Evidence> evidence;
    bool early = builtin;
    if (builtin) evidence.push_back({"vfio_pci", "built into the kernel: loads before any module"});
    for (const auto& g : gens) {
      bool loads = g.Loads("vfio_pci") || g.Loads("vfio-pci");
      early = early || loads;
      evidence.push_back(
          {g.tool, fmt::format("{} {} vfio-pci", g.name, loads ? "loads" : "does not load")});
      for (const auto& e : g.evidence) {
        if (e.value.find("vfio") != std::string::npos) evidence.push_back(e);
      }
    }
    for (const auto& [module, where] : config.softdeps)
      evidence.push_back({where, fmt::format("softdep {} pre: vfio-pci", module)});
    Finding* f;
    if (early) {
      f = &make("early", Severity::kPass,
                "vfio-pci is loaded early enough to claim the devices at boot");
    } else if (!config.softdeps.empty()) {
      bool missing_softdep = std::any_of(
          gpu_drivers_to_precede.begin(), gpu_drivers_to_precede.end(),
          [&](const std::string& drv) {
            return std::none_of(config.softdeps.begin(), config.softdeps.end(),
                                [&](const auto& s) { return s.first == ModuleName(drv); });
          });
      f = &make("early", missing_softdep ? Severity::kWarn : Severity::kPass,
                missing_softdep
                    ? "vfio-pci is ordered before some GPU drivers, not before the one in use"
                    : "softdeps load vfio-pci before the GPU drivers");
    } else {
      f = &make("early", Severity::kWarn,
                "nothing loads vfio-pci early, before the drivers of the passthrough devices");
      f->fixer = std::string(kFixInitramfs);
      std::string gen_names;
      for (const auto& g : gens) gen_names += (gen_names.empty() ? "" : ", ") + g.name;
      f->hint = gens.empty()
                    ? "Add `softdep <gpu driver> pre: vfio-pci` to /etc/modprobe.d/vfio.conf."
                    : fmt::format(
                          "Add vfio_pci vfio vfio_iommu_type1 to the initramfs modules ({}) "
                          "before the GPU driver, regenerate it, and reboot.",
                          gen_names);
    }
    f->evidence = std::move(evidence);
  }

  // --- vfio.bind-hook: addresses listed for early binding need the hook in the initramfs.
  if (!config.bind_addresses.empty() && !gens.empty()) {
    std::vector<Evidence> evidence;
    std::vector<std::string> problems;
    evidence.push_back(
        {config.bind_addresses.front().second,
         fmt::format("{} address(es) listed for binding at boot", config.bind_addresses.size())});
    for (const auto& g : gens) {
      BindHookState hook = CheckBindHook(host, g);
      for (const auto& m : hook.missing) {
        evidence.push_back({m, "missing"});
        problems.push_back(fmt::format("{} ({} missing)", g.name, m));
      }
      if (!hook.listed) {
        evidence.push_back({"/etc/mkinitcpio.conf", "HOOKS does not name vmprep-vfio"});
        problems.push_back("mkinitcpio (HOOKS lacks vmprep-vfio)");
      }
    }
    if (problems.empty()) {
      Finding& f = make("bind-hook", Severity::kPass,
                        "the early-binding hook is installed for every initramfs generator");
      f.evidence = std::move(evidence);
    } else {
      std::string list = Join(problems, "; ");
      Finding& f = make("bind-hook", Severity::kFail,
                        "devices are listed for binding by address, but the initramfs lacks the "
                        "hook that binds them: " +
                            list);
      f.evidence = std::move(evidence);
      f.hint =
          "Install vmprep's initramfs component (`cmake --install build --component initramfs`), "
          "add "
          "vmprep-vfio to HOOKS after udev on mkinitcpio, and regenerate the initramfs.";
    }
  }

  // --- vfio.virqfd: stale advice on kernels >= 6.2 (merged into vfio).
  {
    auto [major, minor] = KernelVersion(modules.kernel_release());
    if (major > 6 || (major == 6 && minor >= 2)) {
      std::vector<Evidence> stale;
      for (const auto& g : gens) {
        for (const auto& e : g.evidence) {
          if (e.value.find("vfio_virqfd") != std::string::npos ||
              e.value.find("vfio-virqfd") != std::string::npos)
            stale.push_back(e);
        }
      }
      for (const auto& e : FindBootLoadEntries(host, "vfio_virqfd")) stale.push_back(e);
      if (!stale.empty()) {
        Finding& f = make(
            "virqfd", Severity::kWarn,
            fmt::format(
                "vfio_virqfd is listed, but kernel {} has no such module (merged into vfio in 6.2)",
                modules.kernel_release()));
        f.evidence = stale;
        f.hint =
            "Remove vfio_virqfd from the lines above: mkinitcpio stops with 'module not found' and "
            "systemd-modules-load reports a failure.";
        f.fixer = std::string(kFixInitramfs);
      }
    }
  }
  return out;
}

}  // namespace vmprep
