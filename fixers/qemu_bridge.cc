/// qemu-bridge: lets qemu-bridge-helper attach VMs to the named bridges with
/// `allow NAME` lines in /etc/qemu/bridge.conf (the helper is setuid root and
/// refuses any bridge not allowed there). /etc/qemu must be 0755 so
/// unprivileged QEMU can run the helper's check.
#include "fixers/qemu_bridge.h"

#include <fmt/format.h>

#include <algorithm>

#include "system/net_links.h"

namespace vmprep {
namespace {

class BridgeFixer : public Fixer {
 public:
  std::string_view Id() const override { return kFixQemuBridge; }
  std::string_view Description() const override {
    return "allow the bridges for qemu-bridge-helper (/etc/qemu/bridge.conf)";
  }

  std::expected<EditSet, Error> Plan(const Host& host, const FixerOptions& options) const override {
    EditSet set;
    if (options.bridges.empty()) return set;
    const std::string path(kQemuBridgeConf);
    for (const auto& b : options.bridges) {
      if (!ValidLinkName(b)) {
        return std::unexpected(Error{"", 0,
                                     fmt::format("'{}' is not a bridge interface name; expected "
                                                 "1-15 characters without '/', ':' or blanks",
                                                 b)});
      }
    }
    auto existing = ReadIfExists(host, path);
    if (!existing) return std::unexpected(existing.error());
    std::optional<std::string> before = std::move(*existing);
    // What the helper already allows: `allow NAME` / `allow all`, here and in
    // files named by `include` (read the same way, one level, as the helper
    // reads them).
    std::vector<std::string> allowed;
    auto collect = [&](std::string_view text, bool follow) {
      for (auto line : SplitLines(text)) {
        auto words = SplitWords(Trim(line));
        if (words.size() != 2) continue;
        if (words[0] == "allow") allowed.emplace_back(words[1]);
        if (words[0] == "include" && follow) {
          if (auto inc = host.Read(Root::kConfig, words[1], 1 << 20)) {
            for (auto l2 : SplitLines(*inc)) {
              auto w2 = SplitWords(Trim(l2));
              if (w2.size() == 2 && w2[0] == "allow") allowed.emplace_back(w2[1]);
            }
          }
        }
      }
    };
    if (before) collect(*before, true);
    bool all = std::find(allowed.begin(), allowed.end(), "all") != allowed.end();
    std::string add;
    for (const auto& b : options.bridges) {
      if (all || std::find(allowed.begin(), allowed.end(), b) != allowed.end()) continue;
      if (add.find("allow " + b + "\n") != std::string::npos) continue;
      add += "allow " + b + "\n";
    }
    if (!add.empty()) {
      std::string after = before.value_or("");
      if (!after.empty() && after.back() != '\n') after += '\n';
      after += add;
      set.edits.push_back(FileEdit{path, before, after, 0644, std::string(kFixQemuBridge),
                                   before ? "qemu-bridge-helper may attach VMs to these bridges"
                                          : "qemu-bridge-helper may attach VMs to these "
                                            "bridges (/etc/qemu is created "
                                            "0755)"});
    }
    if (auto dir = host.Stat(Root::kConfig, "/etc/qemu")) {
      const mode_t mode = dir->mode & 07777;
      if (mode & 022) {
        set.notes.push_back(fmt::format(
            "/etc/qemu has mode {:04o}: users other than root can change which bridges the "
            "setuid qemu-bridge-helper allows; run `chmod 755 /etc/qemu`",
            mode));
      } else if ((mode & 05) != 05) {
        set.notes.push_back(
            fmt::format("/etc/qemu has mode {:04o}: qemu-bridge-helper cannot read bridge.conf for "
                        "unprivileged users; run `chmod 755 /etc/qemu`",
                        mode));
      }
    }
    return set;
  }
};

}  // namespace

std::unique_ptr<Fixer> MakeBridgeFixer() { return std::make_unique<BridgeFixer>(); }

}  // namespace vmprep
