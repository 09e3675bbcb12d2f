// Mounting for the live system, through libmount: the installed system's file systems, the
// bind mounts a chroot needs, and taking all of it down again.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/host.h"

namespace vmprep::live {

// mount DEVICE TARGET -t FSTYPE (libblkid's guess when empty) -o OPTIONS, read-only or not.
std::expected<void, Error> MountDevice(const std::string& device, const std::string& target,
                                       const std::string& fstype, const std::string& options,
                                       bool read_only);
// mount -o remount,rw TARGET
std::expected<void, Error> RemountWritable(const std::string& target);
// mount --rbind SOURCE TARGET (with what is mounted below SOURCE, e.g. /dev/pts)
std::expected<void, Error> BindMount(const std::string& source, const std::string& target);
// mount -t tmpfs tmpfs TARGET
std::expected<void, Error> MountTmpfs(const std::string& target);
// umount TARGET
std::expected<void, Error> Unmount(const std::string& target);

// Mount points at or below `top`, deepest first, from the runtime root's mountinfo.
std::expected<std::vector<std::string>, Error> MountsBelow(const Host& host,
                                                           const std::string& top);
// Unmounts everything at or below `top`, deepest first (a busy one is retried a few times);
// returns the mount points it could not unmount, each with its reason.
std::vector<std::string> UnmountTree(const Host& host, const std::string& top);

}  // namespace vmprep::live
