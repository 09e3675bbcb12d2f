/// Finding and mounting installed systems. Their files are read through a Host opened on the
/// mount point (paths resolved inside it); mounts go through libmount (iso/live/mount.h).
#include "iso/live/installed.h"

#include <fmt/format.h>

#include "formats/shell_vars.h"
#include "iso/live/mount.h"

namespace vmprep::live {
namespace {

std::string PrettyName(const Host& host, const std::string& prefix) {
  for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
    auto text = host.Read(Root::kConfig, prefix + path, 64 * 1024);
    if (!text) continue;
    auto vars = ShellVarsFile::Parse(*text, path);
    if (!vars) continue;
    for (const char* key : {"PRETTY_NAME", "NAME"}) {
      if (!vars->IsAssigned(key)) continue;
      if (auto value = vars->Value(key); value && !value->empty()) return Printable(*value);
    }
  }
  return "";
}

bool LooksInstalled(const Host& host, const std::string& prefix) {
  auto is_file = [&](const std::string& path) {
    auto info = host.Stat(Root::kConfig, prefix + path);
    return info && info->type == FileType::kRegular;
  };
  return is_file("/etc/fstab") && (is_file("/etc/os-release") || is_file("/usr/lib/os-release"));
}

}  // namespace

std::expected<void, Error> CheckMountPoint(const std::string& dir, const std::string& path) {
  auto host = Host::Open("/", dir);
  if (!host) return std::unexpected(host.error());
  std::string so_far;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    so_far += "/" + path.substr(pos, slash - pos);
    pos = slash + 1;
    auto info = host->LStat(Root::kConfig, so_far);
    if (!info) {
      return std::unexpected(Error{so_far, 0,
                                   fmt::format("the installed system has no directory {} to "
                                               "mount on ({})",
                                               so_far, info.error().message)});
    }
    if (info->type != FileType::kDirectory) {
      return std::unexpected(Error{so_far, 0,
                                   fmt::format("{} in the installed system is not a plain "
                                               "directory (a symlink or a file); not mounting "
                                               "there",
                                               so_far)});
    }
  }
  return {};
}

std::vector<InstalledSystem> FindInstalledSystems(const std::vector<BlockFs>& filesystems,
                                                  const std::string& probe_dir,
                                                  std::vector<std::string>* notes) {
  std::vector<InstalledSystem> out;
  auto note = [&](std::string text) {
    if (notes) notes->push_back(std::move(text));
  };
  for (const BlockFs& fs : filesystems) {
    if (fs.type == "crypto_LUKS") {
      note(fmt::format("{}: encrypted (LUKS); this live system cannot unlock it", fs.device));
      continue;
    }
    if (fs.type == "LVM2_member" || fs.type == "linux_raid_member" || fs.type == "zfs_member") {
      note(fmt::format("{}: {}; this live system does not assemble LVM, RAID or ZFS", fs.device,
                       fs.type));
      continue;
    }
    if (!IsLinuxRootType(fs.type)) continue;
    if (auto r = MountDevice(fs.device, probe_dir, fs.type, "", true); !r) {
      note(fmt::format("{} ({}): cannot mount it read-only: {}", fs.device, fs.type,
                       r.error().message));
      continue;
    }
    {
      auto host = Host::Open("/", probe_dir);
      if (host) {
        std::vector<std::string> prefixes = {""};
        if (fs.type == "btrfs") prefixes.insert(prefixes.end(), {"/@", "/root"});
        for (const std::string& prefix : prefixes) {
          if (!LooksInstalled(*host, prefix)) continue;
          InstalledSystem sys;
          sys.fs = fs;
          sys.subvol = prefix.empty() ? "" : prefix.substr(1);
          sys.pretty_name = PrettyName(*host, prefix);
          out.push_back(std::move(sys));
          break;
        }
      }
    }
    if (auto r = Unmount(probe_dir); !r) note(r.error().ToString());
  }
  return out;
}

std::expected<std::unique_ptr<MountedSystem>, Error> MountedSystem::Open(
    const std::vector<BlockFs>& filesystems, const InstalledSystem& system, std::string dir,
    std::vector<std::string>* log) {
  std::unique_ptr<MountedSystem> m(new MountedSystem(std::move(dir)));
  std::string opts = system.subvol.empty() ? "" : "subvol=" + system.subvol;
  if (auto r = MountDevice(system.fs.device, m->dir_, system.fs.type, opts, true); !r)
    return std::unexpected(r.error());
  m->open_ = true;
  m->mounted_.push_back(m->dir_);
  log->push_back(fmt::format("mounted {} ({}{}) read-only on {}", system.fs.device, system.fs.type,
                             opts.empty() ? "" : ", " + opts, m->dir_));

  std::string fstab;
  {
    auto host = Host::Open("/", m->dir_);
    if (!host) return std::unexpected(host.error());
    auto text = host->Read(Root::kConfig, "/etc/fstab", 1 << 20);
    if (!text) return std::unexpected(text.error());
    fstab = std::move(*text);
  }
  auto plan = PlanFstabMounts(fstab, "/etc/fstab");
  if (!plan) return std::unexpected(plan.error());
  for (const auto& n : plan->notes) log->push_back("fstab: " + n);
  if (!plan->root_spec.empty()) {
    auto root = ResolveSpec(filesystems, plan->root_spec);
    if (!root || root->device != system.fs.device) {
      log->push_back(fmt::format("note: its fstab mounts '{}' on /, which is not {}",
                                 Printable(plan->root_spec), system.fs.device));
    }
  }
  for (const FstabMount& fm : plan->mounts) {
    auto fs = ResolveSpec(filesystems, fm.spec);
    if (!fs) {
      return std::unexpected(Error{"/etc/fstab", 0,
                                   fmt::format("{} is mounted from '{}': {}", fm.target,
                                               Printable(fm.spec), fs.error().message)});
    }
    if (auto ok = CheckMountPoint(m->dir_, fm.target); !ok) return std::unexpected(ok.error());
    std::string where = m->dir_ + fm.target;
    std::string type = fm.fstype.empty() ? fs->type : fm.fstype;
    if (auto r = MountDevice(fs->device, where, type, fm.options, true); !r)
      return std::unexpected(r.error());
    m->mounted_.push_back(where);
    log->push_back(fmt::format("mounted {} ({}) read-only on {} (its {})", fs->device, type, where,
                               fm.target));
  }
  return m;
}

std::expected<void, Error> MountedSystem::MakeWritable(std::vector<std::string>* log) {
  for (const std::string& where : mounted_) {
    if (auto r = RemountWritable(where); !r) return std::unexpected(r.error());
    log->push_back(fmt::format("remounted {} read-write", where));
  }
  struct Bind {
    const char* path;
    bool required;
  };
  for (Bind b :
       {Bind{"/proc", true}, Bind{"/sys", true}, Bind{"/dev", true}, Bind{"/run", false}}) {
    if (auto ok = CheckMountPoint(dir_, b.path); !ok) {
      if (b.required) return std::unexpected(ok.error());
      log->push_back(fmt::format("no {} inside; not mounted there", b.path));
      continue;
    }
    std::string where = dir_ + b.path;
    auto r = std::string_view(b.path) == "/run" ? MountTmpfs(where) : BindMount(b.path, where);
    if (!r) return std::unexpected(r.error());
    log->push_back(fmt::format("mounted {} on {} for the regenerate commands", b.path, where));
  }
  return {};
}

std::vector<std::string> MountedSystem::Close() {
  if (!open_) return {};
  open_ = false;
  auto host = Host::Open("/", "/");
  if (!host) return {host.error().ToString()};
  return UnmountTree(*host, dir_);
}

MountedSystem::~MountedSystem() { Close(); }

}  // namespace vmprep::live
