// Looking Glass: how much shared memory a resolution needs, and how the kvmfr module (its
// out-of-tree DKMS driver that exports /dev/kvmfr0) is set up on this machine. The vm probe
// judges a domain with these rules and the kvmfr fixer plans with them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/evidence.h"
#include "core/host.h"

namespace vmprep {

inline constexpr std::uint64_t kLookingGlassMiB = 1024 * 1024;

// The buffer for a resolution: two 32-bit frames plus 10 MiB, rounded up to a power of two
// (looking-glass.io, "Determining memory").
std::uint64_t LookingGlassBytes(std::uint64_t width, std::uint64_t height);
// The largest common resolution (1920x1080 ... 3840x2160) that fits `bytes`, "" for none.
std::string LookingGlassFits(std::uint64_t bytes);
// The smallest size that fits `bytes`, in whole MiB, as kvmfr's static_size_mb takes it: a
// power of two (QEMU refuses others).
std::uint64_t KvmfrSizeMb(std::uint64_t bytes);

// A static_size_mb value ("64"); nullopt when it is not a plain number.
std::optional<std::uint64_t> ParseKvmfrMb(std::string_view text);

// The udev rule that gives /dev/kvmfr0 to `user` (none: root) and group kvm, 0660, as
// Looking Glass's documentation writes it.
std::string KvmfrUdevRule(std::string_view user);

// What the configuration says about kvmfr: read as kmod and udev read it. The running
// module's size cannot be read back: kvmfr.c registers static_size_mb with mode 0000, so
// /sys/module/kvmfr/parameters has no file for it.
struct KvmfrSetup {
  std::optional<std::uint64_t> static_size_mb;  // the value kmod passes (last one wins)
  std::string size_source;                      // the modprobe.d file that sets it
  std::int64_t size_mtime = 0;                  // when that file last changed
  std::vector<Evidence> loads_at_boot;          // modules-load.d lines naming kvmfr
  std::string udev_rule;                        // the SUBSYSTEM=="kvmfr" line of our rules file
  std::vector<Evidence> evidence;               // where each came from
};
KvmfrSetup ReadKvmfrSetup(const Host& host);

}  // namespace vmprep
