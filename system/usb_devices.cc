#include "system/usb_devices.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "core/text.h"

namespace vmprep {
namespace {

constexpr std::string_view kUsbDevices = "/sys/bus/usb/devices";

std::optional<std::uint32_t> Attribute(const Host& host, const std::string& dir,
                                       std::string_view name, int base) {
  auto text = host.Read(Root::kRuntime, dir + "/" + std::string(name), 64);
  if (!text) return std::nullopt;
  std::string_view v = Trim(*text);
  std::uint32_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n, base);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return n;
}

std::string Label(const Host& host, const std::string& dir) {
  std::vector<std::string> parts;
  for (const char* name : {"manufacturer", "product"})
    if (auto text = host.Read(Root::kRuntime, dir + "/" + name, 256); text && !Trim(*text).empty())
      parts.emplace_back(Trim(*text));
  return Join(parts, " ");
}

}  // namespace

std::string UsbDevice::Ids() const { return fmt::format("{:04x}:{:04x}", vendor, product); }

std::expected<std::vector<UsbDevice>, Error> ScanUsbDevices(const Host& host) {
  auto names = host.List(Root::kRuntime, kUsbDevices);
  if (!names)
    return std::unexpected(
        Error{std::string(kUsbDevices), 0, "no USB bus here (" + names.error().message + ")", 0});
  std::sort(names->begin(), names->end());
  std::vector<UsbDevice> out;
  for (const auto& name : *names) {
    if (name.find(':') != std::string::npos) continue;  // an interface
    UsbDevice d;
    d.name = name;
    const std::string dir = d.Path();
    auto vendor = Attribute(host, dir, "idVendor", 16);
    auto product = Attribute(host, dir, "idProduct", 16);
    auto bus = Attribute(host, dir, "busnum", 10);
    auto dev = Attribute(host, dir, "devnum", 10);
    if (!vendor || !product || !bus || !dev) continue;  // gone while reading, or not a device
    d.vendor = *vendor;
    d.product = *product;
    d.busnum = *bus;
    d.devnum = *dev;
    d.label = Label(host, dir);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace vmprep
