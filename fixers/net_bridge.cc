/// net-bridge: makes bridge NAME with port IFACE persistent in the network stack the host
/// uses, so that `<interface type='bridge'>` guests and qemu-bridge-helper find it after every
/// boot: NetworkManager keyfiles, systemd-networkd .netdev/.network files, or an ifupdown
/// interfaces.d stanza. The bridge takes IFACE's address by DHCP. Files only, our own names
/// (vmprep-NAME...); nothing is brought up or down: the stack picks them up when it reloads or
/// at the next boot. Shown as a plan; applied only with --allow-network-change.
#include "fixers/net_bridge.h"

#include <fmt/format.h>

#include "core/dropins.h"
#include "core/text.h"
#include "system/host_needs.h"
#include "system/net_links.h"

namespace vmprep {
namespace {

enum class Stack { kNetworkManager, kNetworkd, kIfupdown, kNone };

bool Enabled(const Host& host, std::string_view unit) {
  return host.Exists(Root::kConfig,
                     fmt::format("/etc/systemd/system/multi-user.target.wants/{}", unit));
}

Stack DetectStack(const Host& host) {
  if (Enabled(host, "NetworkManager.service")) return Stack::kNetworkManager;
  if (Enabled(host, "systemd-networkd.service")) return Stack::kNetworkd;
  if (host.Exists(Root::kConfig, "/etc/network/interfaces")) return Stack::kIfupdown;
  return Stack::kNone;
}

FileEdit NewFile(const Host& host, std::string path, std::string text, mode_t mode,
                 std::string why) {
  auto before = ReadIfExists(host, path);
  return FileEdit{std::move(path),
                  before ? *before : std::nullopt,
                  std::move(text),
                  mode,
                  std::string(kFixNetBridge),
                  std::move(why)};
}

void PlanNetworkManager(const Host& host, const FixerOptions::NetBridge& b, EditSet& set) {
  const std::string dir = "/etc/NetworkManager/system-connections";
  set.edits.push_back(NewFile(
      host, fmt::format("{}/vmprep-{}.nmconnection", dir, b.name),
      fmt::format("[connection]\nid=vmprep-{0}\ntype=bridge\ninterface-name={0}\n\n[bridge]\n"
                  "stp=false\n\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n",
                  b.name),
      0600, fmt::format("NetworkManager: bridge {} (address by DHCP)", b.name)));
  set.edits.push_back(NewFile(
      host, fmt::format("{}/vmprep-{}-port-{}.nmconnection", dir, b.name, b.iface),
      fmt::format("[connection]\nid=vmprep-{0}-port-{1}\ntype=ethernet\ninterface-name={1}\n"
                  "master={0}\nslave-type=bridge\n",
                  b.name, b.iface),
      0600, fmt::format("NetworkManager: {} becomes a port of {}", b.iface, b.name)));
  set.actions.push_back(
      {{"nmcli", "connection", "reload"}, "NetworkManager reads the new connection files"});
  set.notes.push_back(fmt::format(
      "Activate it from a console when ready: `nmcli connection up vmprep-{}-port-{}` (the "
      "connection {} had so far goes down).",
      b.name, b.iface, b.iface));
}

void PlanNetworkd(const Host& host, const FixerOptions::NetBridge& b, EditSet& set) {
  const std::string dir = "/etc/systemd/network";
  set.edits.push_back(NewFile(host, fmt::format("{}/10-vmprep-{}.netdev", dir, b.name),
                              fmt::format("[NetDev]\nName={}\nKind=bridge\n", b.name), 0644,
                              fmt::format("systemd-networkd: bridge {}", b.name)));
  set.edits.push_back(
      NewFile(host, fmt::format("{}/10-vmprep-{}.network", dir, b.name),
              fmt::format("[Match]\nName={}\n\n[Network]\nDHCP=yes\n", b.name), 0644,
              fmt::format("systemd-networkd: {} takes the address by DHCP", b.name)));
  set.edits.push_back(
      NewFile(host, fmt::format("{}/10-vmprep-{}-port-{}.network", dir, b.name, b.iface),
              fmt::format("[Match]\nName={}\n\n[Network]\nBridge={}\n", b.iface, b.name), 0644,
              fmt::format("systemd-networkd: {} becomes a port of {}", b.iface, b.name)));
  // networkd uses the first .network file (by name) that matches a link.
  for (const auto& f :
       DropInFiles(host, Root::kConfig, {"/usr/lib/systemd/network", "/run/systemd/network", dir},
                   ".network")) {
    auto text = host.Read(Root::kConfig, f, 1 << 16);
    if (!text || f.find("/10-vmprep-") != std::string::npos) continue;
    for (auto line : SplitLines(*text))
      if (Trim(line) == "Name=" + b.iface && f.substr(f.rfind('/') + 1) < "10-vmprep-")
        set.notes.push_back(
            fmt::format("{} matches {} before vmprep's file and wins: remove or "
                        "rename it for the bridge to take {}.",
                        f, b.iface, b.iface));
  }
  set.notes.push_back("Apply it from a console: `networkctl reload` (or reboot).");
}

void PlanIfupdown(const Host& host, const FixerOptions::NetBridge& b, EditSet& set) {
  set.edits.push_back(NewFile(
      host, fmt::format("/etc/network/interfaces.d/vmprep-{}", b.name),
      fmt::format("auto {0}\niface {0} inet dhcp\n    bridge_ports {1}\n    bridge_stp off\n"
                  "    bridge_fd 0\n",
                  b.name, b.iface),
      0644, fmt::format("ifupdown: bridge {} with port {} (address by DHCP)", b.name, b.iface)));
  auto main = host.Read(Root::kConfig, "/etc/network/interfaces", 1 << 20);
  if (main) {
    bool sourced = false;
    for (auto line : SplitLines(*main)) {
      auto w = SplitWords(Trim(line));
      if (w.size() >= 2 && (w[0] == "source" || w[0] == "source-directory") &&
          w[1].starts_with("/etc/network/interfaces.d"))
        sourced = true;
      if (w.size() >= 3 && w[0] == "iface" && w[1] == b.iface && w[3 - 1] == "inet" &&
          (w.size() < 4 || w[3] != "manual"))
        set.notes.push_back(
            fmt::format("/etc/network/interfaces configures {} itself: change its "
                        "stanza to `iface {} inet manual`.",
                        b.iface, b.iface));
    }
    if (!sourced)
      set.notes.push_back(
          "/etc/network/interfaces does not read interfaces.d: add `source "
          "/etc/network/interfaces.d/*`.");
  }
  if (!host.Exists(Root::kConfig, "/etc/network/if-pre-up.d/bridge"))
    set.notes.push_back(
        "ifupdown needs bridge-utils for bridge_ports: `apt install bridge-utils`.");
  set.notes.push_back(
      fmt::format("Apply it from a console: `ifdown {} && ifup {}` (or reboot).", b.iface, b.name));
}

class NetBridgeFixer : public Fixer {
 public:
  std::string_view Id() const override { return kFixNetBridge; }
  std::string_view Description() const override {
    return "a persistent bridge with one port (NetworkManager, systemd-networkd or ifupdown)";
  }

  std::expected<EditSet, Error> Plan(const Host& host, const FixerOptions& options) const override {
    EditSet set;
    if (!options.net_bridge) return set;
    const auto& b = *options.net_bridge;
    if (!ValidLinkName(b.name) || !ValidLinkName(b.iface) || b.name == b.iface)
      return std::unexpected(Error{"", 0, "bridge=NAME:IFACE needs two interface names", 0});
    if (IsBridge(host, b.name)) return set;  // there already; its configuration is the admin's
    if (LinkOperState(host, b.iface).empty())
      return std::unexpected(
          Error{"/sys/class/net/" + b.iface, 0,
                fmt::format("no network interface {} here (see `ip link`)", b.iface), 0});
    switch (DetectStack(host)) {
      case Stack::kNetworkManager:
        PlanNetworkManager(host, b, set);
        break;
      case Stack::kNetworkd:
        PlanNetworkd(host, b, set);
        break;
      case Stack::kIfupdown:
        PlanIfupdown(host, b, set);
        break;
      case Stack::kNone:
        return std::unexpected(
            Error{"/etc/systemd/system/multi-user.target.wants", 0,
                  "no network stack found (NetworkManager or systemd-networkd enabled, or "
                  "/etc/network/interfaces): make the bridge with the tool this system uses",
                  0});
    }
    // Files already as wanted are no change; with none left there is nothing to do.
    std::erase_if(set.edits, [](const FileEdit& e) { return e.before == e.after; });
    if (set.edits.empty()) set = EditSet{};
    return set;
  }
};

}  // namespace

std::string NetBridgeWarning(const Host& host, const FixerOptions::NetBridge& b) {
  std::string w = fmt::format(
      "{} becomes a port of bridge {}: its address moves to {} when the network stack next "
      "starts, and a session connected through {} (SSH) drops then; apply from a console.",
      b.iface, b.name, b.name, b.iface);
  for (const auto& iface : DefaultRouteInterfaces(host))
    if (iface == b.iface) w += fmt::format(" {} carries this host's default route.", b.iface);
  return w;
}

std::unique_ptr<Fixer> MakeNetBridgeFixer() { return std::make_unique<NetBridgeFixer>(); }

}  // namespace vmprep
