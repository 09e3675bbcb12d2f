/// guest: with --guest, inside a VM, the virtio drivers for the virtio devices it has, from
/// the kernel configuration and modules, and the hypervisor flag.
#include "checks/probes/guest.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/text.h"
#include "system/facts.h"
#include "system/modules.h"
#include "system/system_info.h"

namespace vmprep {
namespace {

struct Driver {
  const char* module;
  const char* symbol;
  const char* what;
  // virtio PCI device ids (vendor 1af4) this driver serves: the transitional id and the
  // modern one (0x1040 + the virtio device type); empty: every virtio device (the transport).
  std::vector<std::uint16_t> ids;
};

const std::vector<Driver> kDrivers = {
    {"virtio_pci", "VIRTIO_PCI", "virtio PCI transport", {}},
    {"virtio_blk", "VIRTIO_BLK", "virtio disk", {0x1001, 0x1042}},
    {"virtio_net", "VIRTIO_NET", "virtio network", {0x1000, 0x1041}},
    {"virtio_scsi", "SCSI_VIRTIO", "virtio SCSI", {0x1004, 0x1048}},
    {"virtio_balloon", "VIRTIO_BALLOON", "memory balloon", {0x1002, 0x1045}},
    {"virtio_console", "VIRTIO_CONSOLE", "virtio console", {0x1003, 0x1043}},
};

// The PCI addresses of this VM's devices that `driver` serves.
std::vector<std::string> VirtioDevicesFor(const PciScan& scan, const Driver& driver) {
  std::vector<std::string> out;
  for (const auto& [address, d] : scan.extra) {
    if (d.device.vendor_id != 0x1af4 || !d.device.device_id) continue;
    const std::uint16_t id = *d.device.device_id;
    if (id < 0x1000 || id > 0x107f) continue;  // virtio's PCI id range
    if (driver.ids.empty() ||
        std::find(driver.ids.begin(), driver.ids.end(), id) != driver.ids.end())
      out.push_back(address.ToString());
  }
  return out;
}

}  // namespace

std::string_view GuestProbe::Name() const { return "guest"; }

std::string_view GuestProbe::Description() const {
  return "(--guest) inside a VM: virtio drivers built and loaded";
}

std::vector<Finding> GuestProbe::Run(const Host& host, const ProbeContext& context) const {
  std::vector<Finding> out;
  if (!context.guest) return out;
  const auto& cpu = context.Facts(host).Cpu();
  {
    bool vm = cpu && cpu->has("hypervisor");
    Finding& f = AddFinding(out, "guest", "hypervisor", vm ? Severity::kPass : Severity::kWarn,
                            vm ? "running under a hypervisor"
                               : "no hypervisor flag: this does not look like a virtual machine");
    f.evidence.push_back(
        {"/proc/cpuinfo",
         cpu ? (vm ? "hypervisor flag present" : "hypervisor flag absent") : cpu.error().message});
  }
  const ModuleIndex& modules = context.Facts(host).Modules();
  const auto& scan = context.Facts(host).Pci();
  for (const Driver& d : kDrivers) {
    // A driver matters only for a device this VM has (virtio-scsi on a VM without it is no
    // problem); without the PCI list, every driver is judged.
    std::vector<std::string> devices =
        scan ? VirtioDevicesFor(*scan, d) : std::vector<std::string>{};
    if (scan && devices.empty()) {
      Finding& f = AddFinding(out, "guest", d.module, Severity::kSkip,
                              fmt::format("no {} device in this VM", d.what));
      f.evidence.push_back({"/sys/bus/pci/devices", fmt::format("no virtio device {}", d.what)});
      continue;
    }
    ModuleInfo m = modules.Query(d.module, d.symbol);
    auto tristate = modules.kernel_config().Tristate(d.symbol);
    Severity sev = m.state == ModuleState::kMissing   ? Severity::kWarn
                   : m.state == ModuleState::kUnknown ? Severity::kSkip
                                                      : Severity::kPass;
    Finding& f =
        AddFinding(out, "guest", d.module, sev,
                   fmt::format("{} ({}) is {}", d.module, d.what, ModuleStateName(m.state)));
    f.evidence = m.evidence;
    Evidence config = modules.kernel_config().EvidenceFor(d.symbol);
    bool shown = std::any_of(f.evidence.begin(), f.evidence.end(),
                             [&](const Evidence& e) { return e.path == config.path; });
    if (tristate && !shown) f.evidence.push_back(std::move(config));
    if (!devices.empty())
      f.evidence.push_back({"/sys/bus/pci/devices", "used by " + Join(devices, ", ")});
    if (sev == Severity::kWarn) {
      f.hint = fmt::format("Use a kernel with CONFIG_{}=y or =m (distribution kernels have it).",
                           d.symbol);
    }
  }
  return out;
}

}  // namespace vmprep
