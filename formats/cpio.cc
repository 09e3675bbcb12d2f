#include "formats/cpio.h"

#include <fmt/format.h>

#include <charconv>

#include "formats/decompress.h"

namespace vmprep {
namespace {

constexpr std::size_t kHeader = 110;

std::size_t Align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

bool HexField(std::string_view header, std::size_t index, std::uint32_t* out) {
  std::string_view f = header.substr(6 + index * 8, 8);
  auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), *out, 16);
  return ec == std::errc() && p == f.data() + f.size();
}

// Lists one run of uncompressed archives starting at `pos`; returns where it stopped (the
// first byte that is neither padding nor an archive).
std::expected<std::size_t, std::string> ListArchives(std::string_view data, std::size_t pos,
                                                     std::vector<std::string>* names) {
  for (;;) {
    while (pos < data.size() && data[pos] == '\0') ++pos;  // padding between archives
    if (DetectCompression(data.substr(pos)) != Compression::kNone) return pos;
    if (data.size() - pos < kHeader) return std::unexpected("truncated cpio header");
    std::string_view header = data.substr(pos, kHeader);
    std::uint32_t filesize = 0, namesize = 0;
    if (!HexField(header, 6, &filesize) || !HexField(header, 11, &namesize) || namesize == 0)
      return std::unexpected(fmt::format("bad cpio header at byte {}", pos));
    if (data.size() - pos - kHeader < namesize) return std::unexpected("truncated cpio name");
    std::string_view name = data.substr(pos + kHeader, namesize - 1);  // without the NUL
    pos = Align4(pos + kHeader + namesize);
    if (name == "TRAILER!!!") continue;
    if (pos > data.size() || data.size() - pos < filesize)
      return std::unexpected(fmt::format("truncated data of {}", name));
    if (name.starts_with("./")) name.remove_prefix(2);
    if (name != "." && !name.empty()) names->emplace_back(name);
    pos = Align4(pos + filesize);
  }
}

}  // namespace

std::expected<std::vector<std::string>, Error> ListInitramfs(std::string_view image,
                                                             std::string_view path,
                                                             std::size_t max_unpacked) {
  std::vector<std::string> names;
  auto fail = [&](std::string why) {
    return std::unexpected(Error{std::string(path), 0, why + "; expected an initramfs image"});
  };
  std::string unpacked;  // holds the decompressed part while it is listed
  std::string_view data = image;
  std::size_t pos = 0;
  std::size_t budget = max_unpacked;
  while (pos < data.size()) {
    auto stopped = ListArchives(data, pos, &names);
    if (!stopped) return fail(stopped.error());
    pos = *stopped;
    if (pos >= data.size()) break;
    Compression c = DetectCompression(data.substr(pos));
    if (c == Compression::kUnknown) {
      // Trailing bytes the kernel also ignores (e.g. a signature) end the image.
      break;
    }
    std::size_t used = 0;
    auto out = Decompress(data.substr(pos), budget, &used);
    if (!out) return fail(out.error());
    budget -= std::min(budget, out->size());
    // The rest of the current buffer after this stream is listed with the unpacked part.
    std::string rest(data.substr(pos + used));
    unpacked = std::move(*out) + rest;
    data = unpacked;
    pos = 0;
  }
  return names;
}

}  // namespace vmprep
