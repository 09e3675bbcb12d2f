// Block devices of the live system and the file systems on them, found with libblkid.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/host.h"

namespace vmprep::live {

struct BlockFs {
  std::string name;    // "vda3" as /sys/class/block names it
  std::string device;  // "/dev/vda3"
  std::string disk;    // the whole disk it belongs to ("vda"), itself for a whole disk
  std::string type;    // "ext4", "vfat", "crypto_LUKS", ... (libblkid's TYPE)
  std::string label, uuid, partuuid, partlabel;  // as on disk: untrusted bytes
  std::uint64_t size_bytes = 0;
  bool read_only = false;  // the kernel refuses writes (ro=1: CD-ROM, write-protected stick)
  bool removable = false;  // the disk says it is removable (USB sticks, card readers)
};

// Every block device of the runtime root (/sys/class/block) that holds a file system or
// another signature libblkid recognises; devices it cannot open or recognise are skipped
// (their reasons in *problems when given).
std::vector<BlockFs> ProbeFilesystems(const Host& host, std::vector<std::string>* problems);

// Waits (at most `max_seconds`) until the disks that are being found are there: no modprobe
// is running (mdev loads drivers as devices appear), every USB storage interface has its
// block devices, and /sys/class/block has not changed for a second. True when settled.
bool SettleBlockDevices(const Host& host, int max_seconds);

// The file systems once the disks have settled (at most 10 s); a note when they had not.
std::vector<BlockFs> SettledFilesystems(const Host& host, std::vector<std::string>* notes);

// The live system's Host (both roots "/"); nullopt after saying why on stderr.
std::optional<Host> OpenLiveHost();

// The device a spec names: /dev/NAME, /dev/disk/by-{uuid,label,partuuid,partlabel}/VALUE
// (the links udev would make; the live system has no udev) or UUID=, LABEL=, PARTUUID=,
// PARTLABEL= (as in fstab). UUIDs compare without regard to case. Error when none or more
// than one device matches.
std::expected<BlockFs, Error> ResolveSpec(const std::vector<BlockFs>& filesystems,
                                          std::string_view spec);

// Bytes from the machine made safe for a terminal: control bytes and bytes above 0x7e
// become '?', so a label cannot move the cursor or change colours.
std::string Printable(std::string_view text);

// "1.5 GiB", "512 MiB".
std::string HumanSize(std::uint64_t bytes);

// File system types the live system can mount, and the Linux ones among them.
bool IsLinuxRootType(std::string_view type);

}  // namespace vmprep::live
