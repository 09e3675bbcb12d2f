#include "system/device_access.h"

#include <fmt/format.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <map>

#include "core/text.h"

namespace vmprep {
namespace {

// One udev rule line as key -> value ("SUBSYSTEM==" -> "vfio", "GROUP=" -> "kvm"): the
// operator stays on the key, so matches and assignments do not mix.
std::map<std::string, std::string, std::less<>> RuleFields(std::string_view line) {
  std::map<std::string, std::string, std::less<>> fields;
  for (std::size_t start = 0; start <= line.size();) {
    std::size_t comma = std::min(line.find(',', start), line.size());
    std::string_view p = Trim(line.substr(start, comma - start));
    start = comma + 1;
    auto quote = p.find('"');
    if (quote == std::string_view::npos || p.size() < quote + 2 || p.back() != '"') continue;
    fields[std::string(Trim(p.substr(0, quote)))] =
        std::string(p.substr(quote + 1, p.size() - quote - 2));
  }
  return fields;
}

bool Has(const std::map<std::string, std::string, std::less<>>& f, std::string_view key,
         std::string_view value) {
  auto it = f.find(key);
  return it != f.end() && it->second == value;
}

bool IsMember(const Host& host, const Identity& who, const std::optional<std::string>& group) {
  if (!group) return false;
  auto gid = GroupId(host, *group);
  return gid && std::find(who.gids.begin(), who.gids.end(), *gid) != who.gids.end();
}

}  // namespace

std::expected<std::string, Error> AccessGroup(const Host& host) {
  if (auto node = host.Stat(Root::kRuntime, "/dev/kvm"); node && node->gid != 0) {
    if (auto name = GroupName(host, node->gid)) return *name;
  }
  if (GroupId(host, "kvm")) return std::string("kvm");
  return std::unexpected(Error{"/etc/group", 0,
                               "no kvm group, and /dev/kvm has none of its own: install the "
                               "distribution's qemu or udev rules for KVM first",
                               0});
}

bool KvmNeedsRule(const Host& host) {
  auto node = host.Stat(Root::kRuntime, "/dev/kvm");
  return node && (node->gid == 0 || (node->mode & 0060) != 0060);
}

std::string DeviceAccessRulesText(const std::string& group, bool kvm) {
  std::string text = fmt::format(
      "# vmprep: members of {0} may open VFIO groups for passthrough\n"
      "SUBSYSTEM==\"vfio\", GROUP=\"{0}\", MODE=\"0660\"\n"
      "# the VFIO container, as the kernel itself makes it\n"
      "KERNEL==\"vfio\", SUBSYSTEM==\"misc\", MODE=\"0666\"\n",
      group);
  if (kvm) text += fmt::format("KERNEL==\"kvm\", GROUP=\"{}\", MODE=\"0660\"\n", group);
  return text;
}

DeviceAccessRules ReadDeviceAccessRules(const Host& host) {
  DeviceAccessRules rules;
  auto text = host.Read(Root::kConfig, kDeviceAccessRules, 1 << 16);
  if (!text) return rules;
  for (auto line : SplitLines(*text)) {
    if (Trim(line).starts_with("#")) continue;
    auto f = RuleFields(line);
    const bool rw = Has(f, "MODE=", "0660") && f.contains("GROUP=");
    if (rw && Has(f, "SUBSYSTEM==", "vfio")) rules.vfio_group = f["GROUP="];
    if (rw && Has(f, "KERNEL==", "kvm")) rules.kvm_group = f["GROUP="];
    if (Has(f, "KERNEL==", "vfio") && Has(f, "SUBSYSTEM==", "misc") && Has(f, "MODE=", "0666"))
      rules.container_open = true;
  }
  return rules;
}

bool RulesGrant(const Host& host, const DeviceAccessRules& rules, AccessNode node,
                const Identity& who) {
  switch (node) {
    case AccessNode::kKvm:
      return IsMember(host, who, rules.kvm_group);
    case AccessNode::kVfioContainer:
      return rules.container_open;
    case AccessNode::kVfioGroup:
      return IsMember(host, who, rules.vfio_group);
  }
  return false;
}

std::string DescribeNode(const Host& host, const FileInfo& info) {
  std::string owner = UserName(host, info.uid).value_or(std::to_string(info.uid));
  std::string group = GroupName(host, info.gid).value_or(std::to_string(info.gid));
  std::string kind = info.type == FileType::kCharDevice
                         ? fmt::format("character device {}:{}", major(info.rdev), minor(info.rdev))
                     : info.type == FileType::kRegular ? std::string("captured node")
                                                       : std::string("not a character device");
  return fmt::format("{}, mode {:04o}, owner {}, group {}", kind, info.mode, owner, group);
}

}  // namespace vmprep
