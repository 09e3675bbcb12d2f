// The initramfs fixer, and what the other vfio fixers share with it.
#pragma once

#include <memory>
#include <vector>

#include "core/host.h"
#include "fixers/edit.h"
#include "fixers/fixer.h"
#include "system/initramfs_config.h"

namespace vmprep {

// The commands that rebuild every initramfs, one per generator installed in the config root
// (system/initramfs_config.h), then `proxmox-boot-tool refresh` where Proxmox has it. Files
// copied into the initramfs (modprobe.d, vfio-bind.conf) need them.
std::expected<std::vector<PostAction>, Error> InitramfsRegenerateActions(const Host& host);

std::unique_ptr<Fixer> MakeInitramfsFixer();

}  // namespace vmprep
