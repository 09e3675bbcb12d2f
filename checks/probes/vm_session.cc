/// vm.audio, vm.shmem and vm.looking-glass: what a desktop guest shares with a user's
/// session. QEMU plays sound through the user's PulseAudio or PipeWire socket only when it
/// runs as that user (qemu.conf `user =`). Looking Glass copies frames through shared memory:
/// large enough for the resolution, and readable by the client and by QEMU (/dev/shm or the
/// kvmfr module's /dev/kvmfr0, which libvirt's device cgroup must allow).
#include <fmt/format.h>

#include <bit>

#include "checks/probes/vm.h"
#include "system/accounts.h"
#include "system/fixer_ids.h"
#include "system/hugepages.h"
#include "system/looking_glass.h"

namespace vmprep {
namespace {

constexpr std::uint64_t kMiB = kLookingGlassMiB;

std::string SocketOf(const DomainAudio& a, uid_t uid) {
  if (a.type == "pipewire")
    return (a.runtime_dir.empty() ? fmt::format("/run/user/{}", uid) : a.runtime_dir) +
           "/pipewire-0";
  std::string server = a.server_name;
  if (server.starts_with("unix:")) server = server.substr(5);
  if (server.empty()) return fmt::format("/run/user/{}/pulse/native", uid);
  return server.starts_with('/') ? server : "";  // a host name: a network server
}

std::string UserHint(const VmSubject& vm) {
  return fmt::format(
      "Set `user = \"YOUR-USER\"` in {} (now {}{}), restart libvirtd, and name the socket in "
      "the domain: <audio type='pulseaudio' serverName='/run/user/UID/pulse/native'/>.",
      vm.qemu_conf.path, vm.qemu_conf.user,
      vm.qemu_conf.user_set ? fmt::format(" at line {}", vm.qemu_conf.user_line)
                            : std::string(", libvirt's default"));
}

}  // namespace

std::optional<std::uint64_t> KvmfrSize(const std::vector<std::string>& args) {
  for (const auto& arg : args) {
    if (arg.find("/dev/kvmfr") == std::string::npos) continue;
    for (std::string key : {"\"size\":", "size="}) {
      std::size_t at = arg.find(key);
      if (at == std::string::npos) continue;
      std::string_view rest = std::string_view(arg).substr(at + key.size());
      std::size_t end = rest.find_first_of(",}");
      std::string_view value = rest.substr(0, end);
      std::string_view unit;
      if (!value.empty() && std::isalpha(static_cast<unsigned char>(value.back()))) {
        unit = value.substr(value.size() - 1);
        value.remove_suffix(1);
      }
      if (auto b = ScaledBytes(value, unit, "b")) return b;
    }
  }
  return std::nullopt;
}

void JudgeAudio(const VmSubject& vm, std::vector<Finding>& out) {
  VmVerdict v;
  bool any = false;
  auto who = QemuIdentity(vm.host, vm.qemu_conf);
  std::string socket_owner;  // the user QEMU should run as, when known
  for (const auto& a : vm.domain.audios) {
    if (a.type != "pulseaudio" && a.type != "pipewire") continue;
    any = true;
    v.evidence.push_back({vm.qemu_conf.path, fmt::format("QEMU runs as {}", vm.qemu_conf.user)});
    if (vm.qemu_conf.error)
      v.Raise(Severity::kWarn,
              fmt::format("{} cannot be read, so QEMU's user is not known", vm.qemu_conf.path),
              fmt::format("Mend {}.", vm.qemu_conf.error->ToString()));
    if (!who) {
      v.Raise(Severity::kWarn,
              fmt::format("QEMU's user '{}' is not in /etc/passwd", vm.qemu_conf.user),
              UserHint(vm));
      continue;
    }
    std::string socket = SocketOf(a, who->uid);
    if (socket.empty()) {
      v.evidence.push_back({vm.Where(a.line), fmt::format("serverName '{}'", a.server_name)});
      continue;  // a network sound server: nothing here to check
    }
    auto info = vm.host.Stat(Root::kRuntime, socket);
    v.evidence.push_back({socket, info
                                      ? fmt::format("{}, owner uid {}, mode {:04o}",
                                                    FileTypeName(info->type), info->uid, info->mode)
                                      : info.error().message});
    if (!info || info->type != FileType::kSocket) {
      v.Raise(Severity::kWarn,
              fmt::format("no {} socket at {}: the guest will have no sound", a.type, socket),
              fmt::format("Log in as the user whose sound server QEMU should use (uid {}) and "
                          "start it; or point the domain at that user's socket. ",
                          who->uid) +
                  UserHint(vm));
    } else if (info->uid != who->uid) {
      if (auto owner = UserName(vm.host, info->uid)) socket_owner = *owner;
      v.Raise(Severity::kWarn,
              fmt::format("the sound server at {} belongs to uid {}, but QEMU runs as {}: it "
                          "cannot connect",
                          socket, info->uid, vm.qemu_conf.user),
              UserHint(vm));
    }
  }
  if (!any) return;
  Finding& f = v.Emit(vm, out, "audio",
                      fmt::format("QEMU (user {}) can reach the sound server", vm.qemu_conf.user));
  if (f.severity == Severity::kWarn && !socket_owner.empty() && !vm.qemu_conf.error)
    f.SetFix(kFixQemuUser, {"--enable", "qemu-user=" + socket_owner});
}

void JudgeLookingGlassSize(const VmSubject& vm, std::uint64_t bytes, int line,
                           std::vector<Finding>& out) {
  const std::string fits = LookingGlassFits(bytes);
  VmVerdict v;
  v.evidence.push_back({vm.Where(line), fmt::format("{} MiB of shared memory", bytes / kMiB)});
  if (!std::has_single_bit(bytes))
    v.Raise(Severity::kFail,
            fmt::format("the Looking Glass shared memory ({} bytes) is not a power of two: QEMU "
                        "refuses it",
                        bytes),
            "Use 32, 64 or 128 MiB (<size unit='M'>64</size>).");
  else if (fits.empty())
    v.Raise(Severity::kWarn,
            fmt::format("{} MiB of shared memory is too small for Looking Glass at 1920x1080 "
                        "(needs {} MiB)",
                        bytes / kMiB, LookingGlassBytes(1920, 1080) / kMiB),
            "Set <size unit='M'>32</size> (1920x1080), 64 (2560x1440) or 128 (3840x2160).");
  v.Emit(vm, out, "shmem",
         fmt::format("{} MiB of Looking Glass shared memory fits resolutions up to {}",
                     bytes / kMiB, fits));
}

}  // namespace vmprep
