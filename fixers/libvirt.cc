/// libvirt: enables libvirt's daemons as `systemctl enable libvirtd.service` would, but as
/// a transaction: the links its unit files' [Install] sections ask for (WantedBy= in
/// /etc/systemd/system/<target>.wants/, and the same for every unit named by Also=:
/// libvirtd.socket, virtlogd.socket, ... on Debian), each an undoable symbolic link to the
/// unit file. On the running system (both roots "/") systemd is told to reload; the sockets
/// are started by hand (a post-action would run again on undo and start them anew).
#include "fixers/libvirt.h"

#include <fmt/format.h>

#include "core/text.h"
#include "system/systemd_units.h"

namespace vmprep {
namespace {

constexpr std::string_view kUnit = "libvirtd.service";

class LibvirtFixer : public Fixer {
 public:
  std::string_view Id() const override { return kFixLibvirt; }
  std::string_view Description() const override {
    return "enable libvirt's daemons (the links systemctl enable libvirtd.service makes)";
  }

  std::expected<EditSet, Error> Plan(const Host& host, const FixerOptions& options) const override {
    EditSet set;
    if (!options.libvirt) return set;
    auto links = EnableLinks(host, kUnit);
    if (!links) return std::unexpected(links.error());
    std::vector<std::string> sockets;
    for (const EnableLink& l : *links) {
      if (l.unit.ends_with(".socket")) sockets.push_back(l.unit);
      auto info = host.LStat(Root::kConfig, l.path);
      if (info) {
        auto to = host.ReadLink(Root::kConfig, l.path);
        if (!to || *to != l.target)
          set.notes.push_back(fmt::format("{} exists ({}); left as it is", l.path,
                                          to ? "-> " + *to : FileTypeName(info->type)));
        continue;
      }
      FileEdit e{l.path,
                 std::nullopt,
                 l.target,
                 0777,
                 std::string(kFixLibvirt),
                 fmt::format("enable {} ({})", l.unit, l.path.substr(kSystemdEtc.size() + 1))};
      e.symlink = true;
      set.edits.push_back(std::move(e));
    }
    if (set.edits.empty()) return set;
    if (host.live_runtime() && host.root_path(Root::kConfig) == "/") {
      set.actions.push_back({{"systemctl", "daemon-reload"}, "systemd reads the new links"});
    }
    set.notes.push_back(
        fmt::format("The daemons start at the next boot; to start them now: `systemctl start {}`.",
                    Join(sockets, " ")));
    return set;
  }
};

}  // namespace

std::unique_ptr<Fixer> MakeLibvirtFixer() { return std::make_unique<LibvirtFixer>(); }

}  // namespace vmprep
