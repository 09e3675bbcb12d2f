/// device-access: lets a user run passthrough VMs without root. /dev/kvm belongs to a group
/// (kvm on Debian, by udev's rule) that the user joins: one member added to that group's
/// line in /etc/group and /etc/gshadow, as `gpasswd -a` would write it, but undoable. VFIO
/// group nodes (/dev/vfio/N) are root's 0600 by default: a udev rule gives them to the same
/// group (and /dev/kvm too where its node has no group that may open it; the container
/// /dev/vfio/vfio keeps the kernel's 0666). The rule's text is system/device_access.h's. The user
/// logs in again; the rule applies at the next `udevadm trigger` or boot.
#include "fixers/device_access.h"

#include <fmt/format.h>

#include "core/text.h"
#include "formats/group_file.h"
#include "system/accounts.h"
#include "system/device_access.h"

namespace vmprep {
namespace {

std::expected<void, Error> AddMember(const Host& host, const std::string& path,
                                     const std::string& group, const std::string& user,
                                     EditSet& set) {
  auto before = ReadIfExists(host, path);
  if (!before) return std::unexpected(before.error());
  if (!*before) {
    if (path == "/etc/gshadow") return {};  // systems without shadow groups
    return std::unexpected(Error{path, 0, "no such file", 0});
  }
  auto after = AddGroupMember(**before, path, group, user);
  if (!after) {
    // gshadow may lack a group that /etc/group has (grpck would add it): leave it alone.
    if (path == "/etc/gshadow" && after.error().line == 0) return {};
    return std::unexpected(after.error());
  }
  if (*after)
    set.edits.push_back(FileEdit{path, *before, **after, 0644, std::string(kFixDeviceAccess),
                                 fmt::format("{} joins group {} (/dev/kvm)", user, group)});
  return {};
}

class DeviceAccessFixer : public Fixer {
 public:
  std::string_view Id() const override { return kFixDeviceAccess; }
  std::string_view Description() const override {
    return "let a user open /dev/kvm and /dev/vfio/N (group membership and a udev rule)";
  }

  std::expected<EditSet, Error> Plan(const Host& host, const FixerOptions& options) const override {
    EditSet set;
    const std::string& user = options.access_user;
    if (user.empty()) return set;
    if (!LookupIdentity(host, user))
      return std::unexpected(Error{"/etc/passwd", 0, fmt::format("no user '{}'", user), 0});
    auto group = AccessGroup(host);
    if (!group) return std::unexpected(group.error());
    for (const char* path : {"/etc/group", "/etc/gshadow"})
      if (auto r = AddMember(host, path, *group, user, set); !r) return std::unexpected(r.error());
    const bool kvm = KvmNeedsRule(host);
    const std::string rule = DeviceAccessRulesText(*group, kvm);
    const std::string path(kDeviceAccessRules);
    auto before = ReadIfExists(host, path);
    if (!before) return std::unexpected(before.error());
    if (*before != rule)
      set.edits.push_back(
          FileEdit{path, *before, rule, 0644, std::string(kFixDeviceAccess),
                   fmt::format("/dev/vfio/N{} for group {}", kvm ? " and /dev/kvm" : "", *group)});
    if (set.edits.empty()) return set;
    set.notes.push_back(fmt::format(
        "{} must log in again to be in group {}; `udevadm trigger --subsystem-match=vfio "
        "--subsystem-match=misc` applies the rule to /dev/vfio (and /dev/kvm) now. Unprivileged "
        "QEMU also needs a memlock limit "
        "(ulimit -l) of at least the guest's memory for VFIO.",
        user, *group));
    return set;
  }
};

}  // namespace

std::unique_ptr<Fixer> MakeDeviceAccessFixer() { return std::make_unique<DeviceAccessFixer>(); }

}  // namespace vmprep
