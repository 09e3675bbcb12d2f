/// Host needs from the live tree: / in mountinfo -> /sys/dev/block/MAJ:MIN (through dm/md
/// slaves) -> PCI controller; boot_vga; /proc/net/route default -> /sys/class/net/IF/device
/// (through bridge ports and bond/VLAN lower devices).
#include "system/host_needs.h"

#include <fmt/format.h>

#include <set>

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
  if (depth > 8 || iface.empty() || iface.find('/') != std::string::npos) return;
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

std::string DefaultRouteInterface(const Host& host) {
  auto text = host.Read(Root::kRuntime, "/proc/net/route", 1 << 20);
  if (!text) return "";
  for (auto line : SplitLines(*text)) {
    auto w = SplitWords(line);
    if (w.size() >= 8 && w[1] == "00000000" && w[7] == "00000000") return std::string(w[0]);
  }
  return "";
}

}  // namespace

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
  // Root file system.
  if (mounts) {
    for (const auto& m : *mounts) {
      if (m.target != "/") continue;
      std::string dir = fmt::format("/sys/dev/block/{}:{}", m.major, m.minor);
      std::set<PciAddress> controllers;
      BlockControllers(host, dir, 0, &controllers);
      for (const auto& a : controllers) {
        found.needs.Add(a, fmt::format("controller of the root file system ({})", m.source));
        found.evidence.push_back({dir, fmt::format("/ is {} on {}", m.source, a.ToString())});
      }
    }
  }
  // Console GPU.
  for (const auto& [addr, d] : scan.extra) {
    if (d.device.boot_vga.value_or(false)) {
      found.needs.Add(addr, "the console GPU the firmware booted on (boot_vga=1)");
      found.evidence.push_back({d.sysfs_path + "/boot_vga", "1"});
    }
  }
  // Network of the default route.
  std::string iface = DefaultRouteInterface(host);
  if (!iface.empty()) {
    std::set<PciAddress> nics;
    NetControllers(host, iface, 0, &nics);
    for (const auto& a : nics) {
      found.needs.Add(a, fmt::format("network controller of the default route ({})", iface));
      found.evidence.push_back(
          {"/proc/net/route", fmt::format("default route via {} on {}", iface, a.ToString())});
    }
  }
  return found;
}

}  // namespace vmprep
