// The IOMMU rules the iommu probe and the kernel-cmdline fixer share.
// - Whose IOMMU this machine has: the ACPI tables first (DMAR -> Intel VT-d, IVRS -> AMD-Vi,
//   IORT -> Arm SMMU), the CPU vendor only when the firmware has no table. An AMD CPU on a
//   board with an Intel DMAR table (or a VM given an intel-iommu) needs intel_iommu=on like
//   any Intel machine.
// - Which command-line tokens are wrong, do nothing, or switch the IOMMU or interrupt
//   remapping off: the probe reports exactly these, the fixer removes exactly these.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/evidence.h"
#include "core/host.h"
#include "formats/cmdline.h"
#include "system/system_info.h"

namespace vmprep {

enum class IommuVendor { kUnknown, kIntel, kAmd, kArm };

struct IommuVendorFact {
  IommuVendor vendor = IommuVendor::kUnknown;
  bool from_table = false;  // false: from the CPU vendor (or unknown)
  Evidence evidence;        // the table or the CPU vendor it was told from
};

inline constexpr std::string_view kAcpiTablesDir = "/sys/firmware/acpi/tables";

// An Error when the table directory exists but cannot be listed (not root, EIO): the
// vendor cannot be told then, and a plan must not guess it.
std::expected<IommuVendorFact, Error> DetectIommuVendor(const Host& host,
                                                        const std::expected<CpuInfo, Error>& cpu);

std::string_view IommuVendorName(IommuVendor vendor);  // "Intel VT-d", "AMD-Vi", ...

// What a kernel command-line token does wrong for passthrough on this vendor's IOMMU.
struct IommuTokenProblem {
  enum class Kind {
    kInvalid,     // not a valid option, or no effect on this vendor: remove it
    kDisables,    // switches the IOMMU off
    kNoIntremap,  // switches interrupt remapping off
  };
  Kind kind;
  std::string why;  // "`amd_iommu=on` is not an option the kernel knows (...): remove it"
  // Whether the fix removes the token; false where it is replaced instead
  // (intel_iommu=off becomes intel_iommu=on).
  bool remove = true;
};
std::optional<IommuTokenProblem> JudgeIommuToken(std::string_view token, IommuVendor vendor);

// The tokens a command line must carry for the IOMMU to be on: {"intel_iommu=on"} on Intel
// VT-d, nothing on AMD-Vi (on by default) or Arm.
std::vector<std::string> IommuEnableTokens(IommuVendor vendor);

// Every token of `cmdline` with its problem, in order.
struct IommuTokenFinding {
  std::string token;
  IommuTokenProblem problem;
};
std::vector<IommuTokenFinding> IommuTokenProblems(const Cmdline& cmdline, IommuVendor vendor);
// Whether `cmdline` has a token with a problem of `kind`.
bool HasIommuProblem(const Cmdline& cmdline, IommuVendor vendor, IommuTokenProblem::Kind kind);
// Whether `cmdline` turns this vendor's IOMMU on: nothing switches it off and the enable
// tokens are there (intel_iommu=on, also as one item of a list such as on,igfx_off).
bool IommuEnabledBy(const Cmdline& cmdline, IommuVendor vendor);

}  // namespace vmprep
