/// vm.usb: the USB devices a domain takes from the host (<hostdev mode='subsystem'
/// type='usb'>). libvirt finds each by vendor and product ids, by bus and device number, or
/// both, in /sys/bus/usb/devices; it refuses to start the domain when the device is not
/// there (unless startupPolicy='optional') and when several devices share the ids and no
/// address picks one.
#include <fmt/format.h>

#include "checks/probes/vm.h"
#include "system/usb_devices.h"

namespace vmprep {
namespace {

std::string IdsOf(const DomainUsbHostdev& u) {
  return fmt::format("{:04x}:{:04x}", *u.vendor, *u.product);
}

std::string Item(const DomainUsbHostdev& u) {
  std::string at = u.bus ? fmt::format("{}.{}", *u.bus, *u.device) : "";
  if (!u.vendor) return at;
  return IdsOf(u) + (at.empty() ? "" : "@" + at);
}

std::string Describe(const UsbDevice& d) {
  return fmt::format("{} at bus {} device {}{}", d.Ids(), d.busnum, d.devnum,
                     d.label.empty() ? "" : " (" + d.label + ")");
}

std::string Places(const std::vector<const UsbDevice*>& devices) {
  std::vector<std::string> out;
  for (const auto* d : devices)
    out.push_back(fmt::format("bus {} device {}", d->busnum, d->devnum));
  return Join(out, ", ");
}

// The device libvirt would take, or why there is none (raised in `v`).
const UsbDevice* JudgeOne(const VmSubject& vm, const DomainUsbHostdev& u,
                          const std::vector<UsbDevice>& all, VmVerdict& v) {
  const Severity missing = u.optional ? Severity::kNote : Severity::kFail;
  const std::string consequence = u.optional
                                      ? "libvirt starts the domain without it (startupPolicy "
                                        "'optional')"
                                      : "libvirt refuses to start the domain";
  std::vector<const UsbDevice*> by_ids;
  const UsbDevice* at = nullptr;
  for (const auto& d : all) {
    if (u.vendor && d.vendor == *u.vendor && d.product == *u.product) by_ids.push_back(&d);
    if (u.bus && d.busnum == *u.bus && d.devnum == *u.device) at = &d;
  }
  for (const auto* d : by_ids) v.evidence.push_back({d->Path(), Describe(*d)});
  if (at && !u.vendor) v.evidence.push_back({at->Path(), Describe(*at)});
  const std::string replug = "Device numbers change whenever it is plugged in again.";
  if (u.bus &&
      (at == nullptr || (u.vendor && (at->vendor != *u.vendor || at->product != *u.product)))) {
    const std::string where = fmt::format("bus {} device {}", *u.bus, *u.device);
    v.Raise(missing,
            at == nullptr ? fmt::format("no USB device at {}: {}", where, consequence)
                          : fmt::format("the USB device at {} is {}, not {}: {}", where, at->Ids(),
                                        IdsOf(u), consequence),
            by_ids.empty()
                ? fmt::format("Plug it in, or correct <address> in {} (`lsusb` lists bus and "
                              "device). {}",
                              vm.Where(u.line), replug)
                : fmt::format("{} is now at {}: correct <address>, or remove it to match by ids "
                              "alone. {}",
                              IdsOf(u), Places(by_ids), replug));
  } else if (u.vendor && !u.bus && by_ids.empty()) {
    v.Raise(missing, fmt::format("no USB device {} on this host: {}", IdsOf(u), consequence),
            fmt::format("Plug it in, or correct <vendor>/<product> in {} (`lsusb` lists "
                        "vendor:product).",
                        vm.Where(u.line)));
  } else if (u.vendor && !u.bus && by_ids.size() > 1) {
    v.Raise(Severity::kFail,
            fmt::format("{} USB devices are {} ({}): libvirt cannot tell which to take and "
                        "refuses to start the domain",
                        by_ids.size(), IdsOf(u), Places(by_ids)),
            fmt::format("Pick one with <address bus='{}' device='{}'/> in <source> ({}). {}",
                        by_ids[0]->busnum, by_ids[0]->devnum, vm.Where(u.line), replug));
  }
  if (v.severity != Severity::kPass) return nullptr;
  return u.bus ? at : by_ids.front();
}

}  // namespace

void JudgeUsbHostdevs(const VmSubject& vm, std::vector<Finding>& out) {
  if (vm.domain.usb_hostdevs.empty()) return;
  auto devices = ScanUsbDevices(vm.host);
  for (const auto& u : vm.domain.usb_hostdevs) {
    VmVerdict v;
    const UsbDevice* found = nullptr;
    v.evidence.push_back({vm.Where(u.line), "<hostdev mode='subsystem' type='usb'> " + Item(u)});
    if (!devices) {
      v.evidence.push_back({devices.error().path, devices.error().message});
      v.Raise(u.optional ? Severity::kNote : Severity::kFail,
              fmt::format("the domain takes USB device {}, but this host has no USB bus", Item(u)),
              "Load the USB host controller's driver (xhci_pci), or remove the <hostdev>.");
    } else {
      found = JudgeOne(vm, u, *devices, v);
    }
    v.Emit(vm, out, "usb",
           found ? fmt::format("USB device {} is there to pass through", Describe(*found)) : "",
           Item(u));
  }
}

}  // namespace vmprep
