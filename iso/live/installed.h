// Installed Linux systems on this machine's disks, and mounting one of them for vmcheck and
// vmsetup: read-only for checking, read-write (with /proc, /sys, /dev for the chroot'd
// regenerate commands) only once the person or the boot option said yes.
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/host.h"
#include "iso/live/block.h"
#include "iso/live/fstab.h"

namespace vmprep::live {

struct InstalledSystem {
  BlockFs fs;
  std::string subvol;       // btrfs subvolume that holds "/" ("" for the default one)
  std::string pretty_name;  // PRETTY_NAME of its os-release, made printable
};

// Mounts each Linux file system read-only at `probe_dir` in turn and keeps those holding an
// installed system: /etc/fstab and an os-release (/etc or /usr/lib), on btrfs also in the
// subvolumes "@" and "root". Encrypted, LVM and RAID members, and file systems this system
// cannot mount, are named in *notes.
std::vector<InstalledSystem> FindInstalledSystems(const std::vector<BlockFs>& filesystems,
                                                  const std::string& probe_dir,
                                                  std::vector<std::string>* notes);

// One installed system mounted at `dir`: "/" and what its fstab puts on /usr, /boot and the
// ESP. Everything is unmounted when Close() runs or the object goes away.
class MountedSystem {
 public:
  static std::expected<std::unique_ptr<MountedSystem>, Error> Open(
      const std::vector<BlockFs>& filesystems, const InstalledSystem& system, std::string dir,
      std::vector<std::string>* log);
  ~MountedSystem();
  MountedSystem(const MountedSystem&) = delete;
  MountedSystem& operator=(const MountedSystem&) = delete;

  const std::string& dir() const { return dir_; }
  // Remounts every file system read-write and mounts /proc, /sys, /dev (and a tmpfs on /run)
  // inside, for the regenerate commands vmsetup runs chrooted there.
  std::expected<void, Error> MakeWritable(std::vector<std::string>* log);
  // Unmounts everything below dir(), deepest first, after a sync. Returns what could not be
  // unmounted (empty when all went).
  std::vector<std::string> Close();

 private:
  explicit MountedSystem(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  std::vector<std::string> mounted_;  // dir_, then the fstab mount points below it
  bool open_ = false;
};

// Checks that `path` (e.g. "/boot/efi") is a directory inside the tree at `dir`, reached
// without symlinks, so nothing from the installed system can send a mount elsewhere.
std::expected<void, Error> CheckMountPoint(const std::string& dir, const std::string& path);

}  // namespace vmprep::live
