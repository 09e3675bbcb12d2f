#include "formats/decompress.h"

#include <dlfcn.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <type_traits>

namespace vmprep {
namespace {

template <typename Fn>
void Bind(void* lib, Fn& fn, const char* name) {
  fn = reinterpret_cast<Fn>(::dlsym(lib, name));
}

struct ZstdApi {
  decltype(&ZSTD_createDStream) create = nullptr;
  decltype(&ZSTD_freeDStream) free = nullptr;
  decltype(&ZSTD_decompressStream) stream = nullptr;
  decltype(&ZSTD_isError) is_error = nullptr;
  decltype(&ZSTD_getErrorName) error_name = nullptr;
  bool ok() const { return create && free && stream && is_error && error_name; }
  static const ZstdApi& Get() {
    static const ZstdApi api = [] {
      ZstdApi a;
      if (void* lib = ::dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL)) {
        Bind(lib, a.create, "ZSTD_createDStream");
        Bind(lib, a.free, "ZSTD_freeDStream");
        Bind(lib, a.stream, "ZSTD_decompressStream");
        Bind(lib, a.is_error, "ZSTD_isError");
        Bind(lib, a.error_name, "ZSTD_getErrorName");
      }
      return a;
    }();
    return api;
  }
};

struct LzmaApi {
  decltype(&lzma_stream_decoder) decoder = nullptr;
  decltype(&lzma_code) code = nullptr;
  decltype(&lzma_end) end = nullptr;
  bool ok() const { return decoder && code && end; }
  static const LzmaApi& Get() {
    static const LzmaApi api = [] {
      LzmaApi a;
      if (void* lib = ::dlopen("liblzma.so.5", RTLD_NOW | RTLD_LOCAL)) {
        Bind(lib, a.decoder, "lzma_stream_decoder");
        Bind(lib, a.code, "lzma_code");
        Bind(lib, a.end, "lzma_end");
      }
      return a;
    }();
    return api;
  }
};

constexpr std::size_t kChunk = 1 << 16;

std::expected<std::string, std::string> Unzstd(std::string_view bytes, std::size_t max_out,
                                               std::size_t* consumed) {
  const ZstdApi& z = ZstdApi::Get();
  if (!z.ok()) return std::unexpected("libzstd.so.1 is not available");
  ZSTD_DStream* ds = z.create();
  if (ds == nullptr) return std::unexpected("cannot start a zstd decoder");
  ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
  std::string out;
  char buf[kChunk];
  std::size_t rc = 1;
  while (in.pos < in.size && rc != 0) {
    ZSTD_outBuffer ob{buf, sizeof buf, 0};
    rc = z.stream(ds, &ob, &in);
    if (z.is_error(rc)) {
      std::string why = z.error_name(rc);
      z.free(ds);
      return std::unexpected("zstd: " + why);
    }
    out.append(buf, ob.pos);
    if (out.size() > max_out) {
      z.free(ds);
      return std::unexpected("more than the size limit when unpacked");
    }
  }
  z.free(ds);
  if (rc != 0) return std::unexpected("zstd: the stream is truncated");
  if (consumed) *consumed = in.pos;
  return out;
}

std::expected<std::string, std::string> Unxz(std::string_view bytes, std::size_t max_out,
                                             std::size_t* consumed) {
  const LzmaApi& x = LzmaApi::Get();
  if (!x.ok()) return std::unexpected("liblzma.so.5 is not available");
  lzma_stream s = LZMA_STREAM_INIT;
  if (x.decoder(&s, UINT64_MAX, 0) != LZMA_OK) return std::unexpected("cannot start an xz decoder");
  s.next_in = reinterpret_cast<const uint8_t*>(bytes.data());
  s.avail_in = bytes.size();
  std::string out;
  char buf[kChunk];
  lzma_ret rc = LZMA_OK;
  while (rc == LZMA_OK) {
    s.next_out = reinterpret_cast<uint8_t*>(buf);
    s.avail_out = sizeof buf;
    rc = x.code(&s, LZMA_FINISH);
    out.append(buf, sizeof buf - s.avail_out);
    if (out.size() > max_out) {
      x.end(&s);
      return std::unexpected("more than the size limit when unpacked");
    }
  }
  const std::size_t used = bytes.size() - s.avail_in;
  x.end(&s);
  if (rc != LZMA_STREAM_END) return std::unexpected("xz: the stream is damaged or truncated");
  if (consumed) *consumed = used;
  return out;
}

}  // namespace

Compression DetectCompression(std::string_view b) {
  auto starts = [&](std::string_view magic) { return b.substr(0, magic.size()) == magic; };
  if (starts("070701") || starts("070702")) return Compression::kNone;
  if (starts("\x1f\x8b")) return Compression::kGzip;
  if (starts("\x28\xb5\x2f\xfd")) return Compression::kZstd;
  if (starts(std::string_view("\xfd"
                              "7zXZ\0",
                              6)))
    return Compression::kXz;
  if (starts("\x02\x21\x4c\x18") || starts("\x04\x22\x4d\x18")) return Compression::kLz4;
  if (starts("BZh")) return Compression::kBzip2;
  if (starts(std::string_view("\x5d\x00\x00", 3))) return Compression::kLzma;
  if (starts("\x89LZO")) return Compression::kLzo;
  return Compression::kUnknown;
}

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "uncompressed";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kXz:
      return "xz";
    case Compression::kLz4:
      return "lz4";
    case Compression::kBzip2:
      return "bzip2";
    case Compression::kLzma:
      return "lzma";
    case Compression::kLzo:
      return "lzo";
    case Compression::kUnknown:
      break;
  }
  return "unknown";
}

std::expected<std::string, std::string> Gunzip(std::string_view bytes, std::size_t max_out,
                                               std::size_t* consumed) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return std::unexpected("cannot start zlib");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  char buf[kChunk];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > max_out) rc = Z_MEM_ERROR;
  }
  const std::size_t used = bytes.size() - zs.avail_in;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END)
    return std::unexpected("gzip: the stream is damaged, truncated or too big");
  if (consumed) *consumed = used;
  return out;
}

std::expected<std::string, std::string> Decompress(std::string_view bytes, std::size_t max_out,
                                                   std::size_t* consumed) {
  switch (DetectCompression(bytes)) {
    case Compression::kGzip:
      return Gunzip(bytes, max_out, consumed);
    case Compression::kZstd:
      return Unzstd(bytes, max_out, consumed);
    case Compression::kXz:
      return Unxz(bytes, max_out, consumed);
    case Compression::kNone:
      if (consumed) *consumed = bytes.size();
      return std::string(bytes);
    default:
      break;
  }
  return std::unexpected(std::string(CompressionName(DetectCompression(bytes))) +
                         " compression is not supported");
}

}  // namespace vmprep
