// Test support: class codes from the class names lspci prints, for reading IOMMU group
// listings of other machines (tests/support/iommu_listing).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vmprep::testing {

// "VGA compatible controller" -> 0x030000, from the class section of Debian's pci.ids (the
// file libpci and lspci name classes from). Subclass names win over class names: lspci
// prints the subclass name when it knows one, so "Network controller" is 0x028000, not the
// class 0x02. nullopt for a name pci.ids does not have.
std::optional<std::uint32_t> ClassCodeFromName(std::string_view name);

}  // namespace vmprep::testing
