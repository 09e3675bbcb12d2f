// The USB devices of the running kernel (/sys/bus/usb/devices): what libvirt matches a
// <hostdev type='usb'> against (vendor and product ids, bus and device numbers).
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/host.h"

namespace vmprep {

struct UsbDevice {
  std::string name;  // the /sys/bus/usb/devices entry: "1-1", "usb1" (a root hub)
  std::uint32_t vendor = 0, product = 0;
  std::uint32_t busnum = 0, devnum = 0;
  std::string label;  // "manufacturer product" as the device reports them, may be empty
  std::string Path() const { return "/sys/bus/usb/devices/" + name; }
  std::string Ids() const;  // "0627:0001"
};

// Every device (root hubs too; interfaces such as "1-1:1.0" are not devices), in name order.
// An error when the kernel shows no USB bus at all.
std::expected<std::vector<UsbDevice>, Error> ScanUsbDevices(const Host& host);

}  // namespace vmprep
