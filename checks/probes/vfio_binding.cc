/// vfio.binding.<address>: is each passthrough device bound to vfio-pci now? Reads
/// /sys/bus/pci/devices, /dev/vfio/<group>, the vfio configuration (ids, vfio-bind.conf,
/// softdeps) and, for configuration newer than the boot, the initramfs images. Part of the
/// vfio check (checks/probes/vfio.cc).
#include <fmt/format.h>

#include <algorithm>

#include "checks/probes/vfio_internal.h"
#include "core/text.h"
#include "system/fixer_ids.h"
#include "system/next_boot.h"

namespace vmprep::vfio_internal {
namespace {

// The configuration files that give `address` to vfio-pci.
std::vector<std::string> ConfigSources(const VfioState& s, const ScannedDevice& d,
                                       const std::string& address) {
  std::vector<std::string> sources;
  if (auto id = s.config.IdSource(d.device.vendor_id.value_or(0), d.device.device_id.value_or(0)))
    sources.push_back(*id);
  if (auto bind = s.config.BindSource(address)) sources.push_back(*bind);
  return sources;
}

// A device configured for vfio-pci that another driver holds: pending when the
// configuration is newer than the boot, else a failure with its cause.
void ConfiguredNotBound(const VfioState& s, const ScannedDevice& d, const std::string& addr,
                        Finding* f) {
  const std::string driver = d.device.driver.empty() ? "no driver" : d.device.driver;
  std::vector<std::string> sources = ConfigSources(s, d, addr);
  std::erase_if(sources, [](const std::string& src) { return src == "/proc/cmdline"; });
  auto changed = NewestMtime(s.host, sources);
  if (changed && s.boot_time && *changed > *s.boot_time) {
    std::vector<Evidence> images;
    auto to_run = InitramfsStillToRun(s.host, s.gens, s.facts.Modules().kernel_release(), *changed,
                                      {}, {}, &images);
    f->SetPending(
        fmt::format("{} is configured for vfio-pci since the last boot; {} has it "
                    "until then",
                    addr, driver),
        fmt::format("The configuration takes effect at the next boot: {}.", RunThenReboot(to_run)));
    f->evidence.insert(f->evidence.end(), images.begin(), images.end());
    return;
  }
  const bool softdep = std::any_of(s.config.softdeps.begin(), s.config.softdeps.end(),
                                   [&](const auto& sd) { return SameModule(sd.first, driver); });
  f->severity = Severity::kFail;
  f->summary = fmt::format("{} is configured for vfio-pci but {} has it", addr, driver);
  if (d.device.driver.empty()) {
    f->hint = "Load vfio-pci (`modprobe vfio-pci`), and load it at boot (see vfio.early).";
    return;
  }
  if (softdep) {
    f->hint = fmt::format(
        "{} loaded before vfio-pci although a softdep orders them: it is probably in the "
        "initramfs (or built in). Load vfio-pci from the initramfs too (see vfio.early), "
        "regenerate it, and reboot; check `dmesg | grep -i vfio`.",
        driver);
    return;
  }
  f->hint = fmt::format(
      "{} loaded before vfio-pci. vmsetup adds `softdep {} pre: vfio-pci` to {} and loads "
      "vfio-pci from the initramfs; then regenerate it and reboot.",
      driver, ModuleName(driver), kModprobeVfioConf);
  f->SetFix(kFixModprobeVfio, s.DeviceArgs());
}

}  // namespace

void BindingFinding(const VfioState& s, const PciScan& scan, const PassthroughTarget& t,
                    std::vector<Finding>& out) {
  const std::string addr = t.address.ToString();
  auto it = scan.extra.find(t.address);
  if (it == scan.extra.end()) {
    Finding& f = Make(out, "binding." + addr, Severity::kFail,
                      fmt::format("no PCI device {} on this machine", addr));
    f.hint = "Check the address with `lspci -D`.";
    return;
  }
  const ScannedDevice& d = it->second;
  const std::vector<std::string> sources = ConfigSources(s, d, addr);
  const bool configured = !sources.empty() || d.driver_override == "vfio-pci";
  Finding* f;
  if (d.device.driver == "vfio-pci") {
    f = &Make(out, "binding." + addr, Severity::kPass,
              fmt::format("{} is bound to vfio-pci", addr));
    std::string node = fmt::format("/dev/vfio/{}", d.device.iommu_group);
    const bool has_node = s.host.Exists(Root::kRuntime, node);
    if (d.device.iommu_group >= 0 && !has_node) {
      f->severity = Severity::kFail;
      f->summary = fmt::format("{} is bound to vfio-pci but {} does not exist", addr, node);
      f->hint =
          "Load vfio_iommu_type1 (`modprobe vfio_iommu_type1`) and check `dmesg | grep -i vfio`.";
    }
    f->evidence.push_back({node, has_node ? "present" : "missing"});
  } else if (configured) {
    f = &Make(out, "binding." + addr, Severity::kFail, "");
    ConfiguredNotBound(s, d, addr, f);
  } else {
    f = &Make(out, "binding." + addr, Severity::kWarn,
              fmt::format("{} is not configured for vfio-pci (driver now: {})", addr,
                          d.device.driver.empty() ? "none" : d.device.driver));
    f->hint = fmt::format(
        "Run `vmsetup plan --device {}` to see the changes that give it to "
        "vfio-pci at boot.",
        addr);
    f->SetFix(kFixModprobeVfio, {"--device", addr});
  }
  f->evidence.insert(
      f->evidence.begin(),
      {"/sys/bus/pci/devices/" + addr,
       fmt::format("{}; driver {}{}", t.why, d.device.driver.empty() ? "none" : d.device.driver,
                   d.driver_override.empty() ? "" : "; driver_override " + d.driver_override)});
  for (const auto& src : sources) {
    f->evidence.push_back(
        {src, src.find("vfio-bind") != std::string::npos
                  ? "bound by address by the early-binding hook"
                  : fmt::format("vfio-pci ids include {}", VendorDeviceText(d.device))});
  }
}

}  // namespace vmprep::vfio_internal
