/// kvm.device: does /dev/kvm open read-write and create a VM? On a captured tree, or for
/// another user, the verdict comes from the node's mode and ownership (/dev/kvm, /etc/group).
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "checks/probes/kvm_internal.h"
#include "system/accounts.h"
#include "system/device_access.h"
#include "system/fixer_ids.h"

namespace vmprep::kvm_internal {
namespace {

// A captured tree has no device to open, and another user's access cannot be tried:
// judge from the node's mode and ownership.
void JudgeFromPermissions(const Host& host, const ProbeContext& context, DeviceResult& result) {
  result.evidence.push_back(
      {"(ioctl)", !host.live_runtime()
                      ? "not attempted: the runtime root is a captured tree, judged from the tree"
                      : fmt::format("not attempted for user {}: judged from permissions",
                                    context.identity.name)});
  if (host.live_runtime() && result.info.type != FileType::kCharDevice) {
    result.state = DeviceState::kBroken;
    result.detail = "/dev/kvm is not a character device";
  } else {
    result.state =
        MayReadWrite(context.identity, result.info) ? DeviceState::kUsable : DeviceState::kDenied;
  }
}

// Opens the live /dev/kvm and asks it for its API version and a VM.
void TryIoctls(const Host& host, DeviceResult& result) {
  auto fd = host.OpenFile(Root::kRuntime, kDevKvm, O_RDWR);
  if (!fd) {
    int err = fd.error().errno_value;
    result.evidence.push_back({std::string(kDevKvm), "open read-write: " + fd.error().message});
    if (err == EACCES || err == EPERM) {
      result.state = DeviceState::kDenied;
    } else {
      result.state = err == ENXIO || err == ENODEV ? DeviceState::kMissing : DeviceState::kBroken;
      result.detail = fd.error().message;
    }
    return;
  }
  int version = ::ioctl(fd->get(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    result.state = DeviceState::kBroken;
    result.detail =
        version < 0
            ? fmt::format("KVM_GET_API_VERSION failed: {}", std::strerror(errno))
            : fmt::format("KVM_GET_API_VERSION returned {}, expected {}", version, KVM_API_VERSION);
    result.evidence.push_back({"(ioctl)", result.detail});
    return;
  }
  int vm = ::ioctl(fd->get(), KVM_CREATE_VM, 0);
  if (vm < 0) {
    result.state = DeviceState::kBroken;
    result.detail = fmt::format("KVM_CREATE_VM failed: {}", std::strerror(errno));
    result.evidence.push_back({"(ioctl)", result.detail});
    return;
  }
  Fd vm_fd(vm);
  result.state = DeviceState::kUsable;
  result.evidence.push_back(
      {"(ioctl)", fmt::format("KVM_GET_API_VERSION = {}, KVM_CREATE_VM succeeded", version)});
}

void AddDeniedFinding(std::vector<Finding>& out, const Host& host, const ProbeContext& context,
                      const DeviceResult& device) {
  const std::string& user = context.identity.name;
  std::string group = GroupName(host, device.info.gid).value_or(std::to_string(device.info.gid));
  Finding& f = AddFinding(out, "kvm", "device", Severity::kFail,
                          fmt::format("/dev/kvm exists but {} may not open it read-write", user));
  // As /etc/group lists the user now: a group joined since this login counts at the next.
  const Identity listed = LookupIdentity(host, user).value_or(context.identity);
  if (MayReadWrite(listed, device.info) ||
      RulesGrant(host, ReadDeviceAccessRules(host), AccessNode::kKvm, listed)) {
    f.SetPending(fmt::format("{} may not open /dev/kvm yet: a group {} joined since logging in, "
                             "or the udev rule in {}, gives it to them",
                             user, user, kDeviceAccessRules),
                 "Run `udevadm trigger --sysname-match=kvm` (or reboot) so udev applies the "
                 "rule, and log in again.");
    return;
  }
  const bool group_grants = (device.info.mode & 0060) == 0060 && device.info.gid != 0;
  if (group_grants) {
    f.hint = fmt::format(
        "Group '{}' grants access: run `usermod -aG {} {}`, then log out and in "
        "again.",
        group, group, user);
  } else {
    f.hint = fmt::format(
        "/dev/kvm is mode {:04o} group {}: only its owner may use it. Add the udev rule "
        "`KERNEL==\"kvm\", GROUP=\"kvm\", MODE=\"0660\"` to {}, run `udevadm trigger "
        "--sysname-match=kvm`, and add the user to group kvm (`usermod -aG kvm {}`).",
        device.info.mode, group, kDeviceAccessRules, user);
  }
  // vmsetup does the same, undoably, for a user of the system's own files.
  if (!LookupIdentity(host, user) || !AccessGroup(host)) return;
  f.hint += fmt::format(" vmsetup does it: `vmsetup apply --enable access={}`.", user);
  f.SetFix(kFixDeviceAccess, {"--enable", "access=" + user});
}

}  // namespace

DeviceResult ProbeDevice(const Host& host, const ProbeContext& context) {
  DeviceResult result;
  auto info = host.Stat(Root::kRuntime, kDevKvm);
  if (!info) {
    result.state = DeviceState::kMissing;
    result.evidence.push_back({std::string(kDevKvm), info.error().errno_value == ENOENT
                                                         ? "does not exist"
                                                         : info.error().message});
    return result;
  }
  result.info = *info;
  result.evidence.push_back({std::string(kDevKvm), DescribeNode(host, *info)});

  const bool same_user = context.identity.uid == ::geteuid();
  if (!host.live_runtime() || !same_user) {
    JudgeFromPermissions(host, context, result);
  } else if (info->type != FileType::kCharDevice) {
    result.state = DeviceState::kBroken;
    result.detail = "/dev/kvm is not a character device";
  } else {
    TryIoctls(host, result);
  }
  return result;
}

// kvm.device: the verdict that matters.
void AddDeviceFinding(std::vector<Finding>& out, const Host& host, const ProbeContext& context,
                      const DeviceResult& device, const KvmModules& modules) {
  switch (device.state) {
    case DeviceState::kUsable:
      AddFinding(out, "kvm", "device", Severity::kPass,
                 host.live_runtime() && context.identity.uid == ::geteuid()
                     ? "/dev/kvm is usable: it opens read-write and KVM_CREATE_VM succeeds"
                     : fmt::format("/dev/kvm is present and {} may open it read-write",
                                   context.identity.name));
      break;
    case DeviceState::kMissing: {
      Finding& f = AddFinding(out, "kvm", "device", Severity::kFail,
                              "/dev/kvm does not exist: QEMU cannot use KVM");
      if (modules.Active() != nullptr && modules.core.state != ModuleState::kMissing) {
        f.hint =
            "The KVM modules are loaded but the node is missing: run `udevadm trigger "
            "--sysname-match=kvm` or create it with `mknod -m 0660 /dev/kvm c 10 232 && "
            "chgrp kvm /dev/kvm`.";
      } else {
        f.hint = "See kvm.module and kvm.cpu below: the node appears once a KVM module loads.";
      }
      break;
    }
    case DeviceState::kDenied:
      AddDeniedFinding(out, host, context, device);
      break;
    case DeviceState::kBroken: {
      Finding& f = AddFinding(out, "kvm", "device", Severity::kFail,
                              fmt::format("/dev/kvm is not usable: {}", device.detail));
      f.hint =
          "Check `dmesg | grep -i kvm` for the reason; a /dev/kvm that is not character "
          "device 10:232 should be removed so udev can recreate it.";
      break;
    }
  }
  out.back().evidence = device.evidence;
}

}  // namespace vmprep::kvm_internal
