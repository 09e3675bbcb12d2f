// Decoding of the ACPI tables that announce an IOMMU: DMAR (Intel VT-d), IVRS (AMD-Vi),
// IORT (Arm SMMU). Pure functions over the table bytes.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "core/error.h"

namespace vmprep {

struct DmarTable {
  std::uint8_t host_address_width = 0;    // the field + 1 = DMA address bits
  bool interrupt_remapping = false;       // flags bit 0: INTR_REMAP
  bool x2apic_opt_out = false;            // flags bit 1: X2APIC_OPT_OUT
  bool dma_ctrl_platform_opt_in = false;  // flags bit 2: DMA_CTRL_PLATFORM_OPT_IN
  int drhd_units = 0;                     // remapping hardware units
  int rmrr_regions = 0;                   // reserved memory regions (can block passthrough)
  bool include_pci_all = false;           // a DRHD covers every device not listed elsewhere
};

struct IvrsTable {
  std::uint32_t ivinfo = 0;
  bool efr_supported = false;  // IVinfo bit 0: EFRSup
  bool dma_remap = false;      // IVinfo bit 1: pre-boot DMA protection requested
  int va_size = 0;             // IVinfo bits 21:15
  int pa_size = 0;             // IVinfo bits 14:8
  int ivhd_blocks = 0;         // IOMMU definition blocks (types 0x10, 0x11, 0x40)
  int ivmd_blocks = 0;         // memory definition blocks (types 0x20-0x22)
};

// `path` names the table in error messages. Errors: short table, wrong signature,
// bad checksum, a sub-structure that runs past the table's end.
std::expected<DmarTable, Error> ParseDmar(std::string_view bytes, std::string_view path);
std::expected<IvrsTable, Error> ParseIvrs(std::string_view bytes, std::string_view path);

}  // namespace vmprep
