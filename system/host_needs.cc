/// Host needs from the live tree: /, /boot and the ESP in mountinfo -> /sys/dev/block/MAJ:MIN
/// (through dm/md/LVM/LUKS slaves) -> PCI controller; boot_vga; the default routes in
/// /proc/net/route and /proc/net/ipv6_route -> /sys/class/net/IF/device (through bridge ports
/// and bond/VLAN lower devices).
#include "system/host_needs.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "core/text.h"
#include "system/mounts.h"

namespace vmprep {
namespace {

// Follows a block device through dm/md "slaves" to the PCI controllers below it.
void BlockControllers(const Host& host, const std::string& dev_dir, int depth,
                      std::set<PciAddress>* out) {
  if (depth > 8) return;
  auto resolved = host.Resolve(Root::kRuntime, dev_dir);
  if (!resolved) return;
  if (auto pci = LastPciAddressIn(*resolved)) {
    out->insert(*pci);
    return;
  }
  // A partition's slaves are on its parent disk; dm and md list theirs under slaves/.
  for (std::string dir : {*resolved + "/slaves", *resolved + "/../slaves"}) {
    auto slaves = host.List(Root::kRuntime, dir);
    if (!slaves) continue;
    for (const auto& s : *slaves) BlockControllers(host, dir + "/" + s, depth + 1, out);
  }
}

void NetControllers(const Host& host, const std::string& iface, int depth,
                    std::set<PciAddress>* out) {
  if (depth > 8 || iface.empty() || iface.find('/') != std::string::npos || iface == "." ||
      iface == "..")
    return;
  std::string base = "/sys/class/net/" + iface;
  if (auto dev = host.Resolve(Root::kRuntime, base + "/device")) {
    if (auto pci = LastPciAddressIn(*dev)) {
      out->insert(*pci);
      return;
    }
  }
  if (auto ports = host.List(Root::kRuntime, base + "/brif")) {
    for (const auto& p : *ports) NetControllers(host, p, depth + 1, out);
  }
  if (auto entries = host.List(Root::kRuntime, base)) {
    for (const auto& e : *entries) {
      if (e.starts_with("lower_")) NetControllers(host, e.substr(6), depth + 1, out);
    }
  }
}

// A routing table of the runtime root; ENOENT (no such protocol) is an empty table.
std::expected<std::string, Error> ReadRouteTable(const Host& host, std::string_view path) {
  auto text = host.Read(Root::kRuntime, path, 1 << 20);
  if (!text && text.error().errno_value == ENOENT) return std::string();
  return text;
}

struct DefaultRoute {
  std::string iface;
  std::string table;  // where it was seen
};

// Interfaces that carry a default route: IPv4 (destination and mask 0) and IPv6 (::/0).
std::vector<DefaultRoute> DefaultRoutes(const Host& host, FoundNeeds* found) {
  std::vector<DefaultRoute> out;
  auto add = [&](std::string_view iface, std::string_view table) {
    if (iface == "lo") return;
    for (const auto& r : out)
      if (r.iface == iface) return;
    out.push_back({std::string(iface), std::string(table)});
  };
  constexpr std::string_view kV4 = "/proc/net/route", kV6 = "/proc/net/ipv6_route";
  if (auto v4 = ReadRouteTable(host, kV4)) {
    for (auto line : SplitLines(*v4)) {
      auto w = SplitWords(line);
      if (w.size() >= 8 && w[1] == "00000000" && w[7] == "00000000") add(w[0], kV4);
    }
  } else {
    found->errors.push_back(v4.error());
  }
  if (auto v6 = ReadRouteTable(host, kV6)) {
    for (auto line : SplitLines(*v6)) {
      auto w = SplitWords(line);
      if (w.size() >= 10 && w[0] == std::string(32, '0') && w[1] == "00") add(w[9], kV6);
    }
  } else {
    found->errors.push_back(v6.error());
  }
  return out;
}

// The mounts whose disks the host boots from: /, /boot, and the ESP (/boot/efi, /efi).
std::string BootMountRole(const MountEntry& m) {
  if (m.target == "/") return "the root file system";
  if (m.target == "/boot") return "/boot";
  if (m.target == "/boot/efi" || m.target == "/efi") return "the EFI system partition";
  if (m.target == "/usr") return "/usr";
  return "";
}

}  // namespace

std::vector<std::string> DefaultRouteInterfaces(const Host& host) {
  FoundNeeds ignored;
  std::vector<std::string> out;
  for (const auto& r : DefaultRoutes(host, &ignored)) out.push_back(r.iface);
  return out;
}

std::optional<PciAddress> LastPciAddressIn(std::string_view path) {
  std::optional<PciAddress> last;
  std::size_t pos = 0;
  while (pos < path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    auto part = path.substr(pos, slash - pos);
    if (part.find(':') != std::string_view::npos && part.find('.') != std::string_view::npos) {
      if (auto a = PciAddress::Parse(part)) last = *a;
    }
    pos = slash + 1;
  }
  return last;
}

FoundNeeds FindHostNeeds(const Host& host, const PciScan& scan,
                         const std::expected<std::vector<MountEntry>, Error>& mounts) {
  FoundNeeds found;
  if (mounts) {
    for (const auto& m : *mounts) {
      std::string role = BootMountRole(m);
      if (role.empty()) continue;
      std::string dir = fmt::format("/sys/dev/block/{}:{}", m.major, m.minor);
      std::set<PciAddress> controllers;
      BlockControllers(host, dir, 0, &controllers);
      for (const auto& a : controllers) {
        found.needs.Add(a, fmt::format("controller of {} ({})", role, m.source),
                        NeedKind::kStorage);
        found.evidence.push_back(
            {dir, fmt::format("{} ({}) is on {}", m.target, m.source, a.ToString())});
      }
    }
  } else {
    found.errors.push_back(mounts.error());
  }
  for (const auto& route : DefaultRoutes(host, &found)) {
    std::set<PciAddress> nics;
    NetControllers(host, route.iface, 0, &nics);
    for (const auto& a : nics) {
      found.needs.Add(a, fmt::format("network controller of the default route ({})", route.iface),
                      NeedKind::kNetwork);
      found.evidence.push_back(
          {route.table, fmt::format("default route via {} on {}", route.iface, a.ToString())});
    }
  }
  for (const auto& [addr, d] : scan.extra) {
    if (d.device.boot_vga.value_or(false)) {
      found.needs.Add(addr, "the console GPU the firmware booted on (boot_vga=1)",
                      NeedKind::kConsole);
      found.evidence.push_back({d.sysfs_path + "/boot_vga", "1"});
    }
  }
  for (const auto& [addr, d] : scan.extra) {
    if (d.device.IsOtherBridge() && !d.device.driver.empty())
      found.needs.Add(addr, PlatformBridgeReason(d.device), NeedKind::kPlatform);
  }
  return found;
}

}  // namespace vmprep
