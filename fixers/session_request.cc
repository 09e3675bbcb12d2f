/// The session's requests: vmsetup's --device, --enable and --allow-host-device (and the same
/// as an argument vector, as findings carry it) into the fixers' options.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/text.h"
#include "fixers/kvmfr.h"
#include "fixers/session.h"

namespace vmprep {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool ParseCount(std::string_view text, std::uint64_t* out) {
  if (text.empty() || text.size() > 9) return false;
  std::uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  *out = n;
  return n > 0;
}

Error ArgumentError(std::string message) { return Error{"", 0, std::move(message)}; }

// An --enable item without a value ("iommu", "libvirt"); false when `key` is none of them.
bool ParseFlagItem(const std::string& key, FixerOptions* options) {
  if (key == "iommu") {
    options->iommu = true;
  } else if (key == "iommu-pt") {
    options->iommu = true;
    options->iommu_pt = true;
  } else if (key == "vfio") {
    options->vfio = true;
  } else if (key == "vhost_net" || key == "vhost-net") {
    options->vhost_net = true;
  } else if (key == "xorg") {
    options->xorg = true;
  } else if (key == "libvirt") {
    options->libvirt = true;
  } else {
    return false;
  }
  return true;
}

// One --enable item into `options`.
std::expected<void, Error> ParseEnableItem(std::string_view raw, FixerOptions* options) {
  std::string item(Trim(raw));
  if (item.empty()) return {};
  const auto eq = item.find('=');
  const bool has_value = eq != std::string::npos;
  const std::string key = item.substr(0, eq);
  const std::string value = has_value ? item.substr(eq + 1) : "";
  if (!has_value && ParseFlagItem(key, options)) return {};
  if (key == "hugepages" && has_value) {
    auto colon = value.find(':');
    std::string size = colon == std::string::npos ? "" : Lower(value.substr(0, colon));
    FixerOptions::Hugepages pages;
    if (size == "2m" || size == "2048k") {
      pages.page_kb = 2048;
    } else if (size == "1g" || size == "1048576k") {
      pages.page_kb = 1048576;
    }
    if (pages.page_kb == 0 || !ParseCount(value.substr(colon + 1), &pages.count)) {
      return std::unexpected(ArgumentError(
          fmt::format("--enable {}: expected hugepages=SIZE:COUNT with SIZE 2M or 1G and "
                      "COUNT a positive number, e.g. hugepages=1G:8",
                      item)));
    }
    options->hugepages = pages;
  } else if (key == "bridge" && has_value) {
    // bridge=NAME allows NAME for the helper; bridge=NAME:IFACE also makes it, with IFACE.
    const auto colon = value.find(':');
    const std::string name = value.substr(0, colon);
    const std::string iface = colon == std::string::npos ? "" : value.substr(colon + 1);
    auto valid = [](const std::string& n) {
      bool ok = !n.empty() && n.size() <= 15;
      for (char c : n)
        ok =
            ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
      return ok;
    };
    if (!valid(name) || (colon != std::string::npos && (!valid(iface) || iface == name))) {
      return std::unexpected(ArgumentError(
          fmt::format("--enable {}: expected bridge=NAME or bridge=NAME:IFACE, interface names "
                      "of 1 to 15 letters, digits, '-', '_' or '.'",
                      item)));
    }
    if (std::find(options->bridges.begin(), options->bridges.end(), name) ==
        options->bridges.end()) {
      options->bridges.push_back(name);
    }
    if (!iface.empty()) options->net_bridge = FixerOptions::NetBridge{name, iface};
  } else if ((key == "qemu-user" || key == "access") && has_value) {
    bool ok = !value.empty() && value.size() <= 32 && value[0] != '-';
    for (char c : value)
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
    if (!ok)
      return std::unexpected(ArgumentError(
          fmt::format("--enable {}: expected {}=NAME, a user name of /etc/passwd", item, key)));
    (key == "access" ? options->access_user : options->qemu_user) = value;
  } else if (key == "kvmfr" && has_value) {
    auto kvmfr = ParseKvmfrRequest(value);
    if (!kvmfr)
      return std::unexpected(ArgumentError("--enable " + item + ": " + kvmfr.error().message));
    options->kvmfr = *kvmfr;
  } else {
    return std::unexpected(
        ArgumentError(fmt::format("--enable: unknown item '{}' (known: iommu, iommu-pt, vfio, "
                                  "vhost_net, hugepages=SIZE:COUNT, xorg, bridge=NAME[:IFACE], "
                                  "qemu-user=NAME, access=NAME, kvmfr=SIZE[:USER], libvirt)",
                                  item)));
  }
  return {};
}

std::expected<void, Error> AddAddresses(std::string_view option,
                                        const std::vector<std::string>& texts,
                                        std::vector<PciAddress>* out) {
  for (const auto& text : texts) {
    auto address = PciAddress::Parse(text);
    if (!address) {
      return std::unexpected(ArgumentError(
          fmt::format("{} {}: expected a PCI address such as 0000:01:00.0", option, text)));
    }
    if (std::find(out->begin(), out->end(), *address) == out->end()) out->push_back(*address);
  }
  return {};
}

}  // namespace

bool Request::empty() const {
  const FixerOptions& o = options;
  return !o.iommu && !o.vfio && !o.vhost_net && !o.hugepages && !o.xorg && o.bridges.empty() &&
         o.qemu_user.empty() && !o.net_bridge && o.access_user.empty() && !o.libvirt && !o.kvmfr;
}

std::expected<Request, Error> ParseRequest(const std::vector<std::string>& devices,
                                           const std::vector<std::string>& enable,
                                           const std::vector<std::string>& allow_host_devices) {
  Request request;
  if (auto ok = AddAddresses("--device", devices, &request.options.devices); !ok)
    return std::unexpected(ok.error());
  if (auto ok = AddAddresses("--allow-host-device", allow_host_devices,
                             &request.options.allow_host_devices);
      !ok)
    return std::unexpected(ok.error());
  for (const auto& list : enable) {
    std::size_t pos = 0;
    while (pos <= list.size()) {
      std::size_t comma = std::min(list.find(',', pos), list.size());
      if (auto ok =
              ParseEnableItem(std::string_view(list).substr(pos, comma - pos), &request.options);
          !ok)
        return std::unexpected(ok.error());
      pos = comma + 1;
    }
  }
  if (!request.options.devices.empty()) request.options.vfio = true;
  if (request.options.vfio && request.options.devices.empty()) {
    return std::unexpected(
        ArgumentError("--enable vfio needs the devices: --device ADDRESS (one or more)"));
  }
  return request;
}

std::expected<Request, Error> ParseRequestArgs(const std::vector<std::string>& args) {
  std::vector<std::string> devices, enable, allow;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    if (auto eq = name.find('='); eq != std::string::npos && name.starts_with("--")) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return std::unexpected(ArgumentError(fmt::format("{} needs a value", name)));
    }
    if (name == "--device") {
      devices.push_back(value);
    } else if (name == "--enable") {
      enable.push_back(value);
    } else if (name == "--allow-host-device") {
      allow.push_back(value);
    } else {
      return std::unexpected(ArgumentError(fmt::format(
          "unknown request option '{}' (known: --device, --enable, --allow-host-device)", name)));
    }
  }
  return ParseRequest(devices, enable, allow);
}

}  // namespace vmprep
