// What of an installed system's /etc/fstab the live system mounts: the file systems its boot
// configuration lives on (/usr, /boot, the ESP at /boot/efi or /efi), never anything else.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace vmprep::live {

struct FstabMount {
  std::string spec;     // as written: "UUID=...", "/dev/sda1", "PARTLABEL=..."
  std::string target;   // "/boot", normalised
  std::string fstype;   // "ext4", "vfat"; empty when fstab says auto
  std::string options;  // only what selects the file system's part: btrfs subvol=/subvolid=
};

struct FstabPlan {
  std::vector<FstabMount> mounts;  // parents before children (/boot before /boot/efi)
  std::string root_spec;           // the spec fstab gives for "/", or empty
  std::vector<std::string> notes;  // entries skipped and why
};

// Parses fstab text (libmount) and selects /usr, /boot, /boot/efi and /efi. Swap, bind
// mounts, network file systems and every other mount point are left alone. Error when the
// text cannot be parsed at all.
std::expected<FstabPlan, Error> PlanFstabMounts(std::string_view text, std::string_view path);

}  // namespace vmprep::live
