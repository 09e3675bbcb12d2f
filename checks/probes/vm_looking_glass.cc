/// vm.looking-glass: where the Looking Glass frames live. With <shmem name='looking-glass'>
/// QEMU maps /dev/shm/looking-glass, which the client user must read: created beforehand with
/// the right owner, else QEMU creates it for its own user only. With the kvmfr module QEMU
/// maps /dev/kvmfr0: the module loaded with a static size large enough, the node writable by
/// QEMU's user, and allowed in libvirt's device cgroup (cgroup_device_acl in qemu.conf).
#include <fmt/format.h>

#include <algorithm>

#include "checks/probes/vm.h"
#include "core/text.h"
#include "system/accounts.h"

namespace vmprep {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

std::string NodeText(const std::expected<FileInfo, Error>& info) {
  return info ? fmt::format("{}, owner uid {}, group gid {}, mode {:04o}", FileTypeName(info->type),
                            info->uid, info->gid, info->mode)
              : info.error().message;
}

void JudgeShmFile(const VmSubject& vm, const DomainShmem& s, const Identity* qemu, VmVerdict& v) {
  const std::string path = "/dev/shm/" + s.name;
  auto info = vm.host.Stat(Root::kRuntime, path);
  v.evidence.push_back({path, NodeText(info)});
  const std::string rule = fmt::format(
      "Create it before the domain starts, for QEMU and your user: a systemd-tmpfiles rule "
      "`f {} 0660 YOUR-USER {} -` in /etc/tmpfiles.d/10-looking-glass.conf, then "
      "`systemd-tmpfiles --create`.",
      path, vm.qemu_conf.user == "root" ? "kvm" : vm.qemu_conf.user);
  if (!info) {
    v.Raise(Severity::kNote,
            fmt::format("{} does not exist yet: QEMU will create it readable only by {}", path,
                        vm.qemu_conf.user),
            rule);
  } else if (qemu != nullptr && !MayReadWrite(*qemu, *info)) {
    v.Raise(Severity::kFail,
            fmt::format("QEMU (user {}) cannot write {}: the domain fails to start",
                        vm.qemu_conf.user, path),
            rule);
  }
}

void JudgeKvmfr(const VmSubject& vm, const Identity* qemu, std::uint64_t bytes, VmVerdict& v) {
  const std::string node = "/dev/kvmfr0";
  if (!vm.host.Exists(Root::kRuntime, "/sys/module/kvmfr")) {
    v.evidence.push_back({"/sys/module/kvmfr", "not loaded"});
    v.Raise(Severity::kFail, "the domain maps /dev/kvmfr0, but the kvmfr module is not loaded",
            fmt::format("Install Looking Glass's kvmfr module (its DKMS package) and load it: "
                        "`modprobe kvmfr static_size_mb={}` (and `options kvmfr "
                        "static_size_mb={}` in /etc/modprobe.d/kvmfr.conf).",
                        bytes / kMiB, bytes / kMiB));
    return;
  }
  auto size = vm.host.Read(Root::kRuntime, "/sys/module/kvmfr/parameters/static_size_mb", 64);
  if (size) {
    v.evidence.push_back({"/sys/module/kvmfr/parameters/static_size_mb", std::string(Trim(*size))});
    std::uint64_t mb = 0;
    for (char c : Trim(*size)) mb = mb * 10 + static_cast<std::uint64_t>(c - '0');
    if (mb * kMiB < bytes)
      v.Raise(Severity::kFail,
              fmt::format("kvmfr offers {} MiB; the domain maps {} MiB", mb, bytes / kMiB),
              fmt::format("Set `options kvmfr static_size_mb={}` and reload the module.",
                          bytes / kMiB));
  }
  auto info = vm.host.Stat(Root::kRuntime, node);
  v.evidence.push_back({node, NodeText(info)});
  if (!info)
    v.Raise(Severity::kFail, "/dev/kvmfr0 does not exist", "Reload kvmfr with static_size_mb set.");
  else if (qemu != nullptr && !MayReadWrite(*qemu, *info))
    v.Raise(
        Severity::kFail, fmt::format("QEMU (user {}) cannot open /dev/kvmfr0", vm.qemu_conf.user),
        fmt::format("Add a udev rule (/etc/udev/rules.d/99-kvmfr.rules): `SUBSYSTEM==\"kvmfr\", "
                    "OWNER=\"{}\", GROUP=\"kvm\", MODE=\"0660\"`.",
                    vm.qemu_conf.user));
  const auto& acl =
      vm.qemu_conf.acl_set ? vm.qemu_conf.cgroup_device_acl : DefaultCgroupDeviceAcl();
  if (std::find(acl.begin(), acl.end(), node) == acl.end()) {
    v.evidence.push_back({vm.qemu_conf.path,
                          vm.qemu_conf.acl_set ? "cgroup_device_acl without /dev/kvmfr0"
                                               : "cgroup_device_acl not set (libvirt's default)"});
    v.Raise(Severity::kFail, "libvirt's device cgroup does not allow /dev/kvmfr0",
            fmt::format("List \"/dev/kvmfr0\" in cgroup_device_acl in {} (keep the default "
                        "entries: {}), then restart libvirtd.",
                        vm.qemu_conf.path, Join(DefaultCgroupDeviceAcl(), ", ")));
  }
}

}  // namespace

void JudgeLookingGlass(const VmSubject& vm, std::vector<Finding>& out) {
  auto qemu = QemuIdentity(vm.host, vm.qemu_conf);
  const Identity* who = qemu ? &*qemu : nullptr;
  for (const auto& s : vm.domain.shmems) {
    if (s.name.find("looking-glass") == std::string::npos) continue;
    JudgeLookingGlassSize(vm, s.size_bytes.value_or(4 * kMiB), s.line, out);
    VmVerdict v;
    JudgeShmFile(vm, s, who, v);
    v.Emit(vm, out, "looking-glass",
           fmt::format("/dev/shm/{} is there for QEMU and the client", s.name));
    return;
  }
  if (auto bytes = KvmfrSize(vm.domain.qemu_args)) {
    JudgeLookingGlassSize(vm, *bytes, 0, out);
    VmVerdict v;
    JudgeKvmfr(vm, who, *bytes, v);
    v.Emit(vm, out, "looking-glass", "kvmfr is loaded and /dev/kvmfr0 is open to QEMU");
  }
}

}  // namespace vmprep
