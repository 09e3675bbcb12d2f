/// DMAR and IVRS decoding (ACPI 6.x; Intel VT-d spec ch. 8; AMD IOMMU spec ch. 5).
#include "system/acpi_tables.h"

#include <fmt/format.h>

namespace vmprep {
namespace {

constexpr std::size_t kHeader = 36;

std::uint32_t U8(std::string_view b, std::size_t at) { return static_cast<std::uint8_t>(b[at]); }
std::uint32_t U16(std::string_view b, std::size_t at) { return U8(b, at) | (U8(b, at + 1) << 8); }
std::uint32_t U32(std::string_view b, std::size_t at) {
  return U16(b, at) | (U16(b, at + 2) << 16);
}

// Checks signature, declared length and checksum; returns the table cut to its length.
std::expected<std::string_view, Error> CheckHeader(std::string_view bytes, std::string_view sig,
                                                   std::size_t min_size, std::string_view path) {
  auto bad = [&](std::string message) {
    return std::unexpected(Error{std::string(path), 0, std::move(message)});
  };
  if (bytes.size() < min_size) {
    return bad(fmt::format("{} bytes, expected an ACPI {} table of at least {} bytes", bytes.size(),
                           sig, min_size));
  }
  if (bytes.substr(0, 4) != sig) return bad(fmt::format("signature is not '{}'", sig));
  std::uint32_t length = U32(bytes, 4);
  if (length < min_size || length > bytes.size()) {
    return bad(
        fmt::format("declared length {} does not fit the {} bytes read", length, bytes.size()));
  }
  bytes = bytes.substr(0, length);
  std::uint8_t sum = 0;
  for (char c : bytes) sum = static_cast<std::uint8_t>(sum + static_cast<std::uint8_t>(c));
  if (sum != 0) return bad("checksum does not add up to zero: the table is damaged");
  return bytes;
}

}  // namespace

std::expected<DmarTable, Error> ParseDmar(std::string_view bytes, std::string_view path) {
  auto table = CheckHeader(bytes, "DMAR", 48, path);
  if (!table) return std::unexpected(table.error());
  std::string_view b = *table;
  DmarTable dmar;
  dmar.host_address_width = static_cast<std::uint8_t>(U8(b, kHeader));
  std::uint32_t flags = U8(b, kHeader + 1);
  dmar.interrupt_remapping = flags & 1;
  dmar.x2apic_opt_out = flags & 2;
  dmar.dma_ctrl_platform_opt_in = flags & 4;
  for (std::size_t at = 48; at + 4 <= b.size();) {
    std::uint32_t type = U16(b, at), length = U16(b, at + 2);
    if (length < 4 || at + length > b.size()) {
      return std::unexpected(Error{std::string(path), 0,
                                   fmt::format("remapping structure at offset {} has length {}, "
                                               "which does not fit the table",
                                               at, length)});
    }
    if (type == 0) {
      ++dmar.drhd_units;
      if (length > 4 && (U8(b, at + 4) & 1)) dmar.include_pci_all = true;
    } else if (type == 1) {
      ++dmar.rmrr_regions;
    }
    at += length;
  }
  return dmar;
}

std::expected<IvrsTable, Error> ParseIvrs(std::string_view bytes, std::string_view path) {
  auto table = CheckHeader(bytes, "IVRS", 48, path);
  if (!table) return std::unexpected(table.error());
  std::string_view b = *table;
  IvrsTable ivrs;
  ivrs.ivinfo = U32(b, kHeader);
  ivrs.efr_supported = ivrs.ivinfo & 1;
  ivrs.dma_remap = ivrs.ivinfo & 2;
  ivrs.va_size = static_cast<int>((ivrs.ivinfo >> 15) & 0x7f);
  ivrs.pa_size = static_cast<int>((ivrs.ivinfo >> 8) & 0x7f);
  for (std::size_t at = 48; at + 4 <= b.size();) {
    std::uint32_t type = U8(b, at), length = U16(b, at + 2);
    if (length < 4 || at + length > b.size()) {
      return std::unexpected(Error{std::string(path), 0,
                                   fmt::format("IVRS block at offset {} has length {}, which does "
                                               "not fit the table",
                                               at, length)});
    }
    if (type == 0x10 || type == 0x11 || type == 0x40) ++ivrs.ivhd_blocks;
    if (type >= 0x20 && type <= 0x22) ++ivrs.ivmd_blocks;
    at += length;
  }
  return ivrs;
}

}  // namespace vmprep
