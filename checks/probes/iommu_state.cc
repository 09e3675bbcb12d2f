/// iommu: reads what the firmware (/sys/firmware/acpi/tables/{DMAR,IVRS,IORT}) and the
/// running kernel (/sys/class/iommu, /sys/kernel/iommu_groups/*/type) show about the IOMMU.
#include <fmt/format.h>

#include <algorithm>

#include "checks/probes/iommu_internal.h"
#include "core/text.h"

namespace vmprep::iommu_internal {

Firmware ReadFirmware(const Host& host) {
  Firmware fw;
  auto names = host.List(Root::kRuntime, kTables);
  if (!names) {
    fw.list_error = names.error().message;
    fw.evidence.push_back({std::string(kTables), names.error().message});
    return fw;
  }
  fw.listable = true;
  auto has = [&](std::string_view n) {
    return std::find(names->begin(), names->end(), n) != names->end();
  };
  fw.dmar = has("DMAR");
  fw.ivrs = has("IVRS");
  fw.iort = has("IORT");
  if (fw.dmar) {
    std::string path = std::string(kTables) + "/DMAR";
    auto bytes = host.Read(Root::kRuntime, path, 1 << 20);
    auto table = bytes ? ParseDmar(*bytes, path) : std::unexpected(bytes.error());
    if (table) {
      fw.dmar_table = *table;
      fw.evidence.push_back(
          {path,
           fmt::format("Intel VT-d: {} remapping unit(s), {}-bit DMA addresses, interrupt "
                       "remapping {}{}{}{}",
                       table->drhd_units, table->host_address_width + 1,
                       table->interrupt_remapping ? "supported" : "NOT supported",
                       table->x2apic_opt_out ? ", x2APIC opt-out set" : "",
                       table->dma_ctrl_platform_opt_in ? ", DMA protection opt-in" : "",
                       table->rmrr_regions ? fmt::format(", {} RMRR region(s)", table->rmrr_regions)
                                           : "")});
    } else {
      fw.evidence.push_back({path, "present; " + table.error().message});
    }
  }
  if (fw.ivrs) {
    std::string path = std::string(kTables) + "/IVRS";
    auto bytes = host.Read(Root::kRuntime, path, 1 << 20);
    auto table = bytes ? ParseIvrs(*bytes, path) : std::unexpected(bytes.error());
    if (table) {
      fw.ivrs_table = *table;
      fw.evidence.push_back(
          {path, fmt::format("AMD-Vi: {} IOMMU block(s), IVinfo {:#010x} (EFR {}, {}-bit "
                             "virtual/{}-bit physical addresses{})",
                             table->ivhd_blocks, table->ivinfo,
                             table->efr_supported ? "supported" : "not reported", table->va_size,
                             table->pa_size, table->dma_remap ? ", pre-boot DMA protection" : "")});
    } else {
      fw.evidence.push_back({path, "present; " + table.error().message});
    }
  }
  if (fw.iort) fw.evidence.push_back({std::string(kTables) + "/IORT", "present (Arm SMMU)"});
  if (!fw.dmar && !fw.ivrs && !fw.iort) {
    fw.evidence.push_back({std::string(kTables), "no DMAR, IVRS or IORT table"});
  }
  return fw;
}

KernelState ReadKernelState(const Host& host) {
  KernelState k;
  if (auto units = host.List(Root::kRuntime, "/sys/class/iommu")) {
    k.units = *units;
    std::string shown = Join(k.units, " ");
    k.evidence.push_back({"/sys/class/iommu", shown.empty() ? "empty" : shown});
  } else {
    k.evidence.push_back({"/sys/class/iommu", units.error().message});
  }
  if (auto groups = host.List(Root::kRuntime, "/sys/kernel/iommu_groups")) {
    k.groups = static_cast<int>(groups->size());
    for (const auto& g : *groups) {
      auto type = host.Read(Root::kRuntime, "/sys/kernel/iommu_groups/" + g + "/type", 256);
      ++k.group_types[type ? std::string(Trim(*type)) : std::string("unknown")];
    }
    std::string types;
    for (const auto& [t, n] : k.group_types)
      types += fmt::format("{}{} {}", types.empty() ? "" : ", ", n, t);
    k.evidence.push_back({"/sys/kernel/iommu_groups",
                          k.groups ? fmt::format("{} groups ({})", k.groups, types) : "no groups"});
  } else {
    k.evidence.push_back({"/sys/kernel/iommu_groups", groups.error().message});
  }
  return k;
}

}  // namespace vmprep::iommu_internal
