/// qemu-user: libvirt runs QEMU as the user named in /etc/libvirt/qemu.conf (`user =`). A
/// guest that plays sound through a desktop user's PulseAudio or PipeWire, or shares Looking
/// Glass memory with that user's client, needs QEMU to run as that user. The edit is one
/// line: the last `user =` setting (the one libvirt reads) gets the new value, or a line is
/// appended when there is none. libvirt must be restarted to use it.
#include "fixers/qemu_user.h"

#include <fmt/format.h>

#include "core/text.h"
#include "formats/libvirt_conf.h"
#include "system/accounts.h"
#include "system/libvirt_host.h"

namespace vmprep {
namespace {

class QemuUserFixer : public Fixer {
 public:
  std::string_view Id() const override { return kFixQemuUser; }
  std::string_view Description() const override {
    return "run libvirt's QEMU as a given user (/etc/libvirt/qemu.conf user =)";
  }

  std::expected<EditSet, Error> Plan(const Host& host, const FixerOptions& options) const override {
    EditSet set;
    if (options.qemu_user.empty()) return set;
    const std::string path(kQemuConf);
    if (!LookupIdentity(host, options.qemu_user))
      return std::unexpected(Error{
          "/etc/passwd", 0, fmt::format("no user '{}' to run QEMU as", options.qemu_user), 0});
    auto before = ReadIfExists(host, path);
    if (!before) return std::unexpected(before.error());
    if (!*before)
      return std::unexpected(
          Error{path, 0, "libvirt is not installed here (no qemu.conf); install it first", 0});
    auto parsed = ParseLibvirtConf(**before, path);
    if (!parsed) return std::unexpected(parsed.error());
    const std::string line = fmt::format("user = \"{}\"", options.qemu_user);
    std::string after;
    auto it = parsed->find("user");
    if (it != parsed->end()) {
      if (it->second.items == std::vector<std::string>{options.qemu_user}) return set;
      for (const auto& l : Lines(**before)) {
        std::string_view whole = l.WithNewline(**before);
        // The setting's line becomes the new one; its newline (if any) stays.
        after += l.number == it->second.line ? line + std::string(whole.substr(l.text.size()))
                                             : std::string(whole);
      }
    } else {
      after = **before;
      if (!after.empty() && after.back() != '\n') after += '\n';
      after +=
          "# vmprep: QEMU runs as the desktop user (sound server, Looking Glass)\n" + line + "\n";
    }
    set.edits.push_back(FileEdit{path, *before, after, 0600, std::string(kFixQemuUser),
                                 fmt::format("libvirt runs QEMU as {}", options.qemu_user)});
    set.notes.push_back(fmt::format(
        "Restart libvirt for it to take effect (`systemctl restart libvirtd` or virtqemud); "
        "disk images and ISOs must be readable by {}.",
        options.qemu_user));
    return set;
  }
};

}  // namespace

std::unique_ptr<Fixer> MakeQemuUserFixer() { return std::make_unique<QemuUserFixer>(); }

}  // namespace vmprep
