/// vm.looking-glass: where the Looking Glass frames live. With <shmem name='looking-glass'>
/// QEMU maps /dev/shm/looking-glass, which the client user must read: created beforehand with
/// the right owner, else QEMU creates it for its own user only. With the kvmfr module QEMU
/// maps /dev/kvmfr0: the module (out of tree, from Looking Glass's DKMS package) loaded with a
/// static size large enough, the node writable by QEMU's user (vm.looking-glass, mended by the
/// kvmfr fixer, pending once configured), and allowed in libvirt's device cgroup
/// (cgroup_device_acl in qemu.conf: vm.kvmfr-acl).
#include <fmt/format.h>

#include <algorithm>

#include "checks/probes/vm.h"
#include "core/text.h"
#include "system/accounts.h"
#include "system/fixer_ids.h"
#include "system/looking_glass.h"
#include "system/modules.h"
#include "system/next_boot.h"

namespace vmprep {
namespace {

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

// The kvmfr request that mends what the configuration lacks: the size the domain maps, and
// /dev/kvmfr0 for QEMU's user.
std::vector<std::string> KvmfrRequest(const VmSubject& vm, std::uint64_t mb) {
  const std::string& user = vm.qemu_conf.user;
  return {"--enable", fmt::format("kvmfr={}{}", mb, user == "root" ? "" : ":" + user)};
}

// Whether the module is loaded, and set up to make a large enough /dev/kvmfr0. `configured`
// stays true while every problem raised is mended in the configuration, waiting for a reload.
void JudgeKvmfrModule(const VmSubject& vm, const ModuleInfo& mod, const KvmfrSetup& setup,
                      std::uint64_t mb, VmVerdict& v, bool& configured) {
  const bool size_ok = setup.static_size_mb && *setup.static_size_mb >= mb;
  const std::string options = fmt::format("options kvmfr static_size_mb={}", mb);
  const std::string reload = "reload the module (`modprobe -r kvmfr; modprobe kvmfr`)";
  v.evidence.insert(v.evidence.end(), mod.evidence.begin(), mod.evidence.end());
  if (mod.state != ModuleState::kLoaded && mod.state != ModuleState::kBuiltin) {
    configured = configured && size_ok && !setup.loads_at_boot.empty();
    v.Raise(Severity::kFail, "the domain maps /dev/kvmfr0, but the kvmfr module is not loaded",
            fmt::format("Load it at boot with `{}` in {} and `kvmfr` in {}; now: `modprobe kvmfr "
                        "static_size_mb={}`.",
                        options, kKvmfrModprobeConf, kKvmfrModulesLoadConf, mb));
    return;
  }
  v.evidence.push_back({"/sys/module/kvmfr/parameters",
                        "no static_size_mb (kvmfr registers it with mode 0000): the size is "
                        "judged from modprobe.d"});
  if (!size_ok) {
    configured = false;
    v.Raise(Severity::kFail,
            setup.static_size_mb
                ? fmt::format("{} gives kvmfr static_size_mb={}; the domain maps {} MiB",
                              setup.size_source, *setup.static_size_mb, mb)
                : std::string("kvmfr is loaded, but no modprobe.d file sets static_size_mb: "
                              "loaded again, it makes no /dev/kvmfr0"),
            fmt::format("Set `{}` in {} and {}.", options, kKvmfrModprobeConf, reload));
    return;
  }
  auto boot = BootTime(vm.host);
  if (boot && setup.size_mtime > *boot)
    v.Raise(Severity::kFail,
            fmt::format("{} changed after the boot: the loaded kvmfr may still have its old size",
                        setup.size_source),
            "Reload the module: `modprobe -r kvmfr; modprobe kvmfr`.");
}

void JudgeKvmfrNode(const VmSubject& vm, const Identity* qemu, const KvmfrSetup& setup,
                    VmVerdict& v, bool& configured) {
  const std::string node = "/dev/kvmfr0";
  auto info = vm.host.Stat(Root::kRuntime, node);
  v.evidence.push_back({node, NodeText(info)});
  if (!info) {
    v.Raise(Severity::kFail, "/dev/kvmfr0 does not exist",
            "The module makes it when loaded with static_size_mb set.");
  } else if (qemu != nullptr && !MayReadWrite(*qemu, *info)) {
    configured = configured && !setup.udev_rule.empty();
    v.Raise(Severity::kFail,
            fmt::format("QEMU (user {}) cannot open /dev/kvmfr0", vm.qemu_conf.user),
            fmt::format("Add the udev rule `{}` to {}.", KvmfrUdevRule(vm.qemu_conf.user),
                        kKvmfrUdevRules));
  }
}

void JudgeKvmfr(const VmSubject& vm, const Identity* qemu, std::uint64_t bytes,
                std::vector<Finding>& out) {
  const std::uint64_t mb = KvmfrSizeMb(bytes);
  const KvmfrSetup setup = ReadKvmfrSetup(vm.host);
  const ModuleInfo mod = ModuleIndex(vm.host).Query("kvmfr");
  VmVerdict v;
  v.evidence = setup.evidence;
  bool configured = true;
  if (mod.state == ModuleState::kMissing) {
    v.evidence.insert(v.evidence.end(), mod.evidence.begin(), mod.evidence.end());
    v.Raise(Severity::kFail,
            "the domain maps /dev/kvmfr0, but this kernel has no kvmfr module (it is not part of "
            "Linux)",
            fmt::format("Install Looking Glass's kvmfr module with DKMS (its source's module/ "
                        "directory: `dkms install .`), then run `vmsetup apply {}`.",
                        Join(KvmfrRequest(vm, mb), " ")));
    v.Emit(vm, out, "looking-glass", "");
    return;
  }
  JudgeKvmfrModule(vm, mod, setup, mb, v, configured);
  if (mod.state == ModuleState::kLoaded || mod.state == ModuleState::kBuiltin)
    JudgeKvmfrNode(vm, qemu, setup, v, configured);
  Finding& f = v.Emit(vm, out, "looking-glass", "kvmfr is loaded and /dev/kvmfr0 is open to QEMU");
  if (f.severity == Severity::kPass) return;
  if (configured)
    f.SetPending(fmt::format("{}: kvmfr is configured ({}) but not yet in effect: {}",
                             vm.domain.name, kKvmfrModprobeConf, v.summary),
                 "Reload the module (`modprobe -r kvmfr; modprobe kvmfr`) or reboot; udev applies "
                 "the rule when the module makes /dev/kvmfr0.");
  else
    f.SetFix(kFixKvmfr, KvmfrRequest(vm, mb));
}

// vm.kvmfr-acl: libvirt puts QEMU in a device cgroup that only opens the nodes listed in
// qemu.conf's cgroup_device_acl.
void JudgeKvmfrAcl(const VmSubject& vm, std::vector<Finding>& out) {
  const std::string node = "/dev/kvmfr0";
  const auto& acl =
      vm.qemu_conf.acl_set ? vm.qemu_conf.cgroup_device_acl : DefaultCgroupDeviceAcl();
  VmVerdict v;
  v.evidence.push_back({vm.qemu_conf.path, vm.qemu_conf.acl_set
                                               ? "cgroup_device_acl: " + Join(acl, ", ")
                                               : "cgroup_device_acl not set (libvirt's default)"});
  if (std::find(acl.begin(), acl.end(), node) == acl.end())
    v.Raise(Severity::kFail, "libvirt's device cgroup does not allow /dev/kvmfr0",
            fmt::format("List \"/dev/kvmfr0\" in cgroup_device_acl in {} (keep the default "
                        "entries: {}), then restart libvirtd.",
                        vm.qemu_conf.path, Join(DefaultCgroupDeviceAcl(), ", ")));
  v.Emit(vm, out, "kvmfr-acl", "libvirt's device cgroup allows /dev/kvmfr0");
}

}  // namespace

void JudgeLookingGlass(const VmSubject& vm, std::vector<Finding>& out) {
  auto qemu = QemuIdentity(vm.host, vm.qemu_conf);
  const Identity* who = qemu ? &*qemu : nullptr;
  for (const auto& s : vm.domain.shmems) {
    if (s.name.find("looking-glass") == std::string::npos) continue;
    JudgeLookingGlassSize(vm, s.size_bytes.value_or(4 * kLookingGlassMiB), s.line, out);
    VmVerdict v;
    JudgeShmFile(vm, s, who, v);
    v.Emit(vm, out, "looking-glass",
           fmt::format("/dev/shm/{} is there for QEMU and the client", s.name));
    return;
  }
  if (auto bytes = KvmfrSize(vm.domain.qemu_args)) {
    JudgeLookingGlassSize(vm, *bytes, 0, out);
    JudgeKvmfr(vm, who, *bytes, out);
    JudgeKvmfrAcl(vm, out);
  }
}

}  // namespace vmprep
