/// vfio: are the passthrough devices given to vfio-pci early, and do runtime and
/// configuration agree? A GPU driver that grabs the card before vfio-pci is the usual reason
/// a VM does not start or the host hangs at boot. Reads the drivers bound now
/// (/sys/bus/pci/devices), vfio-pci.ids on /proc/cmdline, `options vfio-pci ids=` and
/// `softdep ... pre: vfio-pci` in modprobe.d (kmod's order), /etc/vmprep/vfio-bind.conf, the
/// initramfs configuration and images (mkinitcpio, dracut, initramfs-tools, booster),
/// built-in vs module (libkmod, kernel config), /dev/vfio/<group> and /proc/stat's boot time
/// (configuration newer than the boot is pending, not failed). The per-device binding
/// findings are in vfio_binding.cc, the next-boot ones in vfio_boot.cc.
#include "checks/probes/vfio.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "checks/probes/isolation.h"
#include "checks/probes/vfio_internal.h"
#include "core/text.h"
#include "system/facts.h"
#include "system/fixer_ids.h"
#include "system/initramfs_config.h"
#include "system/modules.h"
#include "system/next_boot.h"
#include "system/vfio_config.h"
#include "system/vfio_selection.h"
#include "system/vfio_softdeps.h"

namespace vmprep {
namespace {

using vfio_internal::BindingFinding;
using vfio_internal::Make;
using vfio_internal::VfioState;

void ModuleFinding(const VfioState& s, std::vector<Finding>& out) {
  Finding* f;
  const std::string release = s.facts.Modules().kernel_release();
  if (s.vfio_pci.state == ModuleState::kMissing) {
    f = &Make(out, "module", Severity::kFail,
              fmt::format("kernel {} has no vfio-pci driver", release));
    f->hint = "Use a kernel built with CONFIG_VFIO_PCI (Debian's, Fedora's, Arch's all are).";
  } else if (s.vfio_pci.state == ModuleState::kUnknown) {
    f = &Make(out, "module", Severity::kWarn,
              fmt::format("cannot tell whether kernel {} has vfio-pci: neither its module index "
                          "nor its build configuration could be read",
                          release.empty() ? "(unknown release)" : release));
    f->hint = fmt::format(
        "Install the modules of the running kernel (/usr/lib/modules/{}) or its config file "
        "(/boot/config-{}), then run vmcheck again.",
        release, release);
  } else {
    f = &Make(out, "module", Severity::kPass,
              fmt::format("vfio-pci is {}", ModuleStateName(s.vfio_pci.state)));
    bool modprobe_ids = std::any_of(s.config.ids.begin(), s.config.ids.end(),
                                    [](const VfioId& id) { return id.source != "/proc/cmdline"; });
    if (s.builtin() && modprobe_ids) {
      f->severity = Severity::kWarn;
      f->summary =
          "vfio-pci is built into the kernel, so `options vfio-pci ids=` in modprobe.d is "
          "never read";
      f->hint = "Put the ids on the kernel command line instead: `vfio-pci.ids=...`.";
      if (!s.targets.empty()) f->SetFix(kFixKernelCmdline, s.DeviceArgs());
    }
  }
  f->evidence = s.vfio_pci.evidence;
}

void ConfigFinding(const VfioState& s, std::vector<Finding>& out) {
  if (s.config.errors.empty() && !s.gens_error) return;
  Finding& f =
      Make(out, "config", Severity::kWarn, "part of the vfio configuration could not be read");
  for (const auto& e : s.config.errors) f.evidence.push_back({e.path, e.ToString()});
  if (s.gens_error) f.evidence.push_back({s.gens_error->path, s.gens_error->ToString()});
  f.hint = "Fix the lines named above; until then vmcheck cannot tell what they configure.";
}

// ids= binds every device with the id, not one address.
void IdsSharedFinding(const VfioState& s, const PciScan& scan, std::vector<Finding>& out) {
  std::vector<Evidence> shared;
  for (const auto& id : s.config.ids) {
    std::vector<std::string> holders;
    for (const auto& [addr, d] : scan.extra) {
      if (d.device.vendor_id == id.vendor && d.device.device_id == id.device)
        holders.push_back(addr.ToString());
    }
    if (holders.size() > 1) {
      shared.push_back({id.source, fmt::format("{} matches {} devices: {}", id.text, holders.size(),
                                               Join(holders, ", "))});
    }
  }
  if (shared.empty()) return;
  Finding& f = Make(out, "ids-shared", Severity::kWarn,
                    "a vfio-pci id matches more than one device: ids= takes all of them, "
                    "identical cards included");
  f.evidence = shared;
  f.hint = fmt::format(
      "If one of these must stay with the host, remove the id from the lines above and bind "
      "the other by PCI address instead: `vmsetup plan --device ADDRESS` lists it in {} for "
      "vmprep's early-binding hook.",
      kVfioBindConf);
}

// The modules that must load after vfio-pci for the targets (system/vfio_softdeps.h, the
// list the modprobe-vfio fixer writes) that no softdep orders yet.
std::vector<std::string> UnorderedDrivers(const VfioState& s,
                                          const std::expected<PciScan, Error>& scan) {
  std::vector<std::string> missing;
  if (!scan) return missing;
  std::vector<PciDevice> devices;
  for (const auto& t : s.targets) {
    auto it = scan->extra.find(t.address);
    if (it != scan->extra.end()) devices.push_back(it->second.device);
  }
  for (const auto& m : SoftdepModules(s.host, s.facts.Modules(), devices)) {
    bool ordered = std::any_of(s.config.softdeps.begin(), s.config.softdeps.end(),
                               [&](const auto& sd) { return SameModule(sd.first, m); });
    if (!ordered) missing.push_back(m);
  }
  return missing;
}

// `softdep M pre: vfio-pci` lines for these modules, as a hint quotes them.
std::string SoftdepLines(const std::vector<std::string>& modules) {
  std::vector<std::string> lines;
  for (const auto& m : modules) lines.push_back(fmt::format("`softdep {} pre: vfio-pci`", m));
  return Join(lines, ", ");
}

// vfio.early when nothing loads vfio-pci early: with an initramfs generator, the initramfs
// fixer loads it there; without one, modprobe.d softdeps order it before the real drivers.
void NothingEarly(const VfioState& s, const std::expected<PciScan, Error>& scan, Finding* f) {
  if (!s.gens.empty()) {
    std::vector<std::string> names;
    for (const auto& g : s.gens) names.push_back(g.name);
    f->hint = fmt::format(
        "Load vfio_pci, vfio and vfio_iommu_type1 from the initramfs ({}) before the devices' "
        "drivers, regenerate it, and reboot.",
        Join(names, ", "));
    if (!s.targets.empty()) f->SetFix(kFixInitramfs, s.DeviceArgs());
    return;
  }
  auto modules = UnorderedDrivers(s, scan);
  f->hint = modules.empty() ? fmt::format(
                                  "No initramfs generator was found and the devices use no driver "
                                  "module now: list their ids in `options vfio-pci ids=` in {} and "
                                  "load vfio-pci at boot.",
                                  kModprobeVfioConf)
                            : fmt::format("Add {} to {} (no initramfs generator was found).",
                                          SoftdepLines(modules), kModprobeVfioConf);
  if (!s.targets.empty()) f->SetFix(kFixModprobeVfio, s.DeviceArgs());
}

// vfio-pci must win the race against the devices' drivers at boot.
void EarlyFinding(const VfioState& s, const std::expected<PciScan, Error>& scan,
                  std::vector<Finding>& out) {
  if (s.targets.empty() && s.config.ids.empty()) return;
  std::vector<Evidence> evidence;
  bool early = s.builtin();
  if (early) evidence.push_back({"vfio_pci", "built into the kernel: loads before any module"});
  std::vector<std::string> gen_files;
  for (const auto& g : s.gens) {
    bool loads = g.Loads("vfio_pci");
    early = early || loads;
    evidence.push_back(
        {g.tool, fmt::format("{} {} vfio-pci", g.name, loads ? "loads" : "does not load")});
    for (const auto& e : g.evidence) {
      if (e.value.find("vfio") == std::string::npos) continue;
      evidence.push_back(e);
      gen_files.push_back(e.path);
    }
  }
  for (const auto& [module, where] : s.config.softdeps)
    evidence.push_back({where, fmt::format("softdep {} pre: vfio-pci", module)});
  Finding* f;
  if (early) {
    f = &Make(out, "early", Severity::kPass,
              "vfio-pci is loaded early enough to claim the devices at boot");
    if (!s.builtin()) {
      auto changed = NewestMtime(s.host, gen_files);
      std::vector<Evidence> images;
      auto to_run = InitramfsStillToRun(s.host, s.gens, s.facts.Modules().kernel_release(),
                                        changed.value_or(0), {"vfio_pci"}, {}, &images);
      evidence.insert(evidence.end(), images.begin(), images.end());
      if (!to_run.empty()) {
        f->SetPending(
            "the initramfs configuration loads vfio-pci early, but the initramfs image "
            "does not hold it yet",
            fmt::format("Regenerate the initramfs: {}.", RunThenReboot(to_run)));
      }
    }
  } else if (!s.config.softdeps.empty() && UnorderedDrivers(s, scan).empty()) {
    f = &Make(out, "early", Severity::kPass, "softdeps load vfio-pci before the devices' drivers");
  } else if (!s.config.softdeps.empty()) {
    auto missing = UnorderedDrivers(s, scan);
    f = &Make(
        out, "early", Severity::kWarn,
        fmt::format("vfio-pci is ordered before some drivers, not before {}", Join(missing, ", ")));
    f->hint = fmt::format("Add {} to {}, or load vfio-pci from the initramfs.",
                          SoftdepLines(missing), kModprobeVfioConf);
    f->SetFix(kFixModprobeVfio, s.DeviceArgs());
  } else {
    f = &Make(out, "early", Severity::kWarn,
              "nothing loads vfio-pci early, before the drivers of the passthrough devices");
    NothingEarly(s, scan, f);
  }
  f->evidence = std::move(evidence);
}

}  // namespace

std::string_view VfioProbe::Name() const { return "vfio"; }

std::string_view VfioProbe::Description() const {
  return "vfio-pci binds the passthrough devices early; configuration (ids, softdep, initramfs) "
         "and runtime agree";
}

std::vector<Finding> VfioProbe::Run(const Host& host, const ProbeContext& context) const {
  std::vector<Finding> out;
  const SystemFacts& facts = context.Facts(host);
  VfioState s{host, facts, facts.Modules().Query("vfio_pci", "VFIO_PCI"), facts.Vfio()};
  if (auto gens = ReadInitramfsGenerators(host)) {
    s.gens = std::move(*gens);
  } else {
    s.gens_error = gens.error();
  }
  s.boot_time = BootTime(host);
  const auto& scan = facts.Pci();
  if (scan) {
    std::vector<Finding> ignored;  // bad --device arguments are reported by isolation
    s.targets = ChoosePassthroughTargets(host, *scan, context, &ignored);
    std::erase_if(s.targets, [](const PassthroughTarget& t) { return t.candidate; });
  }
  ModuleFinding(s, out);
  ConfigFinding(s, out);
  if (scan && !s.config.ids.empty()) IdsSharedFinding(s, *scan, out);
  if (scan)
    for (const auto& t : s.targets) BindingFinding(s, *scan, t, out);
  if (scan) AccessFinding(s, *scan, context.identity, out);
  EarlyFinding(s, scan, out);
  BindHookFinding(host, s.config, s.gens, facts.Modules().kernel_release(), s.DeviceArgs(), out);
  VirqfdFinding(host, s.gens, facts.Modules().kernel_release(), s.DeviceArgs(), out);
  return out;
}

}  // namespace vmprep
