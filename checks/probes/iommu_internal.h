#pragma once
// Internals of the iommu probe: what the firmware tables and the running kernel show
// (iommu_state.cc), read once and judged by one function per finding (iommu.cc,
// iommu_intremap.cc).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "checks/finding.h"
#include "core/host.h"
#include "system/acpi_tables.h"
#include "system/facts.h"
#include "system/iommu_rules.h"
#include "system/kernel_params.h"

namespace vmprep::iommu_internal {

inline constexpr std::string_view kTables = kAcpiTablesDir;

struct Firmware {
  bool listable = false;  // the tables directory could be listed
  std::string list_error;
  bool dmar = false, ivrs = false, iort = false;
  std::optional<DmarTable> dmar_table;
  std::optional<IvrsTable> ivrs_table;
  std::vector<Evidence> evidence;
};

struct KernelState {
  std::vector<std::string> units;          // /sys/class/iommu entries
  std::map<std::string, int> group_types;  // type -> number of groups
  int groups = 0;
  std::vector<Evidence> evidence;
};

Firmware ReadFirmware(const Host& host);
KernelState ReadKernelState(const Host& host);

// What the findings are judged from, read once by IommuProbe::Run.
struct IommuView {
  const Firmware& fw;
  const KernelState& kernel;
  const SystemFacts& facts;
  const KernelParams& params;
  const Cmdline& cmd;
  IommuVendor vendor;
  // IOMMU units can be registered while translation is off (intel_iommu=off still lists
  // dmar0 on some kernels); only groups show that the kernel manages DMA through it.
  bool kernel_on;
  bool have_table;
};

// Marks `f` pending (checks/pending.h) when the next boot's command line no longer has a
// `kind` problem.
void PendingWithoutProblem(const IommuView& v, IommuTokenProblem::Kind kind, std::string_view what,
                           Finding& f);

// iommu.interrupt-remapping: without it VFIO refuses devices unless told to be unsafe.
void AddInterruptRemappingFinding(std::vector<Finding>& out, const IommuView& v);

}  // namespace vmprep::iommu_internal
