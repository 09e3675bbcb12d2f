#include "system/net_links.h"

#include "core/text.h"

namespace vmprep {

bool ValidLinkName(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == ':' || u <= ' ' || u >= 0x7f) return false;
  }
  return true;
}

std::vector<std::string> ListBridges(const Host& host) {
  std::vector<std::string> bridges;
  if (auto nets = host.List(Root::kRuntime, "/sys/class/net")) {
    for (const auto& n : *nets)
      if (IsBridge(host, n)) bridges.push_back(n);
  }
  return bridges;
}

bool IsBridge(const Host& host, std::string_view name) {
  return ValidLinkName(name) &&
         host.Exists(Root::kRuntime, "/sys/class/net/" + std::string(name) + "/bridge");
}

std::string LinkOperState(const Host& host, std::string_view name) {
  if (!ValidLinkName(name)) return "";
  auto state = host.Read(Root::kRuntime, "/sys/class/net/" + std::string(name) + "/operstate", 64);
  return state ? std::string(Trim(*state)) : "";
}

}  // namespace vmprep
