// The /dev/disk/by-* links udev makes. The live system has no udev, but the installed system's
// tools that vmsetup runs chrooted there look for them: grub-mkconfig writes root=UUID=...
// only when /dev/disk/by-uuid/<uuid> exists (else root=/dev/sdX, which can change at the
// next boot).
#pragma once

#include <string>
#include <vector>

#include "core/host.h"
#include "iso/live/block.h"

namespace vmprep::live {

// A name as udev encodes it in a link: letters, digits and #+-.:=@_ stay, every other byte
// becomes \xNN (so a label cannot hold a "/" or a space).
std::string UdevEncode(const std::string& name);

// Makes /dev/disk/by-uuid, by-partuuid, by-label and by-partlabel links ("../../vda3") in the
// runtime root for each file system; existing links are left alone. Returns the problems.
std::vector<std::string> MakeDiskLinks(const Host& host, const std::vector<BlockFs>& filesystems);

}  // namespace vmprep::live
