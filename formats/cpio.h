// The file names in an initramfs image as the kernel unpacks it: concatenated "newc" cpio
// archives (070701/070702), each padded and possibly compressed (an uncompressed early
// microcode archive is often followed by a zstd, gzip or xz one).
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace vmprep {

// Every path in the image ("usr/lib/modules/6.1.0-26-amd64/kernel/drivers/vfio/pci/vfio-pci.ko"
// as stored, without a leading "./"). `path` names the image in errors. At most
// `max_unpacked` bytes are unpacked in all.
std::expected<std::vector<std::string>, Error> ListInitramfs(std::string_view image,
                                                             std::string_view path,
                                                             std::size_t max_unpacked = 1u << 30);

}  // namespace vmprep
