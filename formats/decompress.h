// Decompression of the formats vmprep meets on a machine: gzip (/proc/config.gz, initramfs
// images), zstd and xz (initramfs images). zlib is linked; libzstd and liblzma are opened on
// first use, so a report that never looks inside an initramfs does not pay to load them.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

namespace vmprep {

enum class Compression { kNone, kGzip, kZstd, kXz, kLz4, kBzip2, kLzma, kLzo, kUnknown };

// From the first bytes of a stream (magic numbers).
Compression DetectCompression(std::string_view bytes);
std::string_view CompressionName(Compression compression);

// Decompresses the first stream in `bytes` (at most `max_out` bytes of output). *consumed, when
// given, is set to how many input bytes that stream took. An error message says why not.
std::expected<std::string, std::string> Decompress(std::string_view bytes, std::size_t max_out,
                                                   std::size_t* consumed = nullptr);

// gzip only (zlib); nullopt on any error.
std::expected<std::string, std::string> Gunzip(std::string_view bytes, std::size_t max_out,
                                               std::size_t* consumed = nullptr);

}  // namespace vmprep
