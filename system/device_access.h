// Who may open /dev/kvm and the VFIO nodes (/dev/vfio/vfio, /dev/vfio/N), and vmprep's udev
// rule that opens them to a group. One home for the rule: the device-access fixer writes it,
// the kvm and vfio probes read it to tell "configured, waiting for udev" from "not configured".
#pragma once

#include <expected>
#include <optional>
#include <string>

#include "core/host.h"
#include "system/accounts.h"

namespace vmprep {

inline constexpr std::string_view kDeviceAccessRules = "/etc/udev/rules.d/70-vmprep-vfio.rules";

// The device nodes a passthrough VM opens.
enum class AccessNode {
  kKvm,            // /dev/kvm (misc device "kvm")
  kVfioContainer,  // /dev/vfio/vfio (misc device "vfio"; the kernel makes it 0666)
  kVfioGroup,      // /dev/vfio/N (class vfio; the kernel makes them root's 0600)
};

// The group the fixer gives the nodes to: /dev/kvm's own group when it has one, else "kvm"
// when /etc/group has it; an Error naming /etc/group otherwise.
std::expected<std::string, Error> AccessGroup(const Host& host);

// Whether /dev/kvm (runtime root) lacks a group that may read and write it, so the rule must
// give it one. False when the node does not exist.
bool KvmNeedsRule(const Host& host);

// The rules file the fixer writes for `group` (with the /dev/kvm line when `kvm`).
std::string DeviceAccessRulesText(const std::string& group, bool kvm);

// What the rules file in the config root grants, read line by line (udev's KEY=="v" matches
// and KEY="v" assignments); empty when it does not exist.
struct DeviceAccessRules {
  std::optional<std::string> vfio_group;  // SUBSYSTEM=="vfio", GROUP="G", MODE="0660"
  std::optional<std::string> kvm_group;   // KERNEL=="kvm", GROUP="G", MODE="0660"
  bool container_open = false;            // KERNEL=="vfio", SUBSYSTEM=="misc", MODE="0666"
};
DeviceAccessRules ReadDeviceAccessRules(const Host& host);

// Whether the rules would let `who` read and write a node of this kind once udev applies
// them (the node itself may not show it yet).
bool RulesGrant(const Host& host, const DeviceAccessRules& rules, AccessNode node,
                const Identity& who);

// "character device 10:232, mode 0660, owner root, group kvm" for evidence.
std::string DescribeNode(const Host& host, const FileInfo& info);

}  // namespace vmprep
