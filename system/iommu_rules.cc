#include "system/iommu_rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <string>

namespace vmprep {

std::expected<IommuVendorFact, Error> DetectIommuVendor(const Host& host,
                                                        const std::expected<CpuInfo, Error>& cpu) {
  IommuVendorFact fact;
  auto names = host.List(Root::kRuntime, kAcpiTablesDir);
  if (!names && names.error().errno_value != ENOENT) return std::unexpected(names.error());
  auto has = [&](std::string_view table) {
    return names && std::find(names->begin(), names->end(), table) != names->end();
  };
  const std::string dir(kAcpiTablesDir);
  if (has("DMAR")) {
    fact = {IommuVendor::kIntel, true, {dir + "/DMAR", "present: Intel VT-d"}};
  } else if (has("IVRS")) {
    fact = {IommuVendor::kAmd, true, {dir + "/IVRS", "present: AMD-Vi"}};
  } else if (has("IORT")) {
    fact = {IommuVendor::kArm, true, {dir + "/IORT", "present: Arm SMMU"}};
  } else if (cpu && cpu->is_intel()) {
    fact = {IommuVendor::kIntel, false, {"/proc/cpuinfo", "vendor_id " + cpu->vendor}};
  } else if (cpu && cpu->is_amd()) {
    fact = {IommuVendor::kAmd, false, {"/proc/cpuinfo", "vendor_id " + cpu->vendor}};
  } else {
    fact.evidence = {dir, "no DMAR, IVRS or IORT table, and the CPU vendor is not known"};
  }
  return fact;
}

std::string_view IommuVendorName(IommuVendor vendor) {
  switch (vendor) {
    case IommuVendor::kIntel:
      return "Intel VT-d";
    case IommuVendor::kAmd:
      return "AMD-Vi";
    case IommuVendor::kArm:
      return "Arm SMMU";
    case IommuVendor::kUnknown:
      break;
  }
  return "unknown";
}

std::optional<IommuTokenProblem> JudgeIommuToken(std::string_view token, IommuVendor vendor) {
  using Kind = IommuTokenProblem::Kind;
  const std::string key = CmdlineKey(token), value = CmdlineValue(token);
  const bool has_value = CmdlineHasValue(token);
  if (key == "amd_iommu" && value == "on") {
    return IommuTokenProblem{Kind::kInvalid,
                             "`amd_iommu=on` is not an option the kernel knows (the AMD IOMMU is "
                             "on by default; valid values are off, fullflush, force_isolation, "
                             "...): remove it"};
  }
  if (key == "iommu" && (value == "1" || value == "on" || value == "yes")) {
    return IommuTokenProblem{Kind::kInvalid,
                             fmt::format("`iommu={}` is not an x86 iommu= option and does "
                                         "nothing: remove it (use `iommu=pt` for passthrough "
                                         "mode)",
                                         value)};
  }
  if (key == "iommu" && value == "off") {
    return IommuTokenProblem{Kind::kDisables, "`iommu=off` switches the IOMMU off: remove it"};
  }
  if (key == "nointremap" || (key == "intremap" && value == "off")) {
    return IommuTokenProblem{
        Kind::kNoIntremap, fmt::format("`{}` switches interrupt remapping off: remove it", token)};
  }
  if (vendor == IommuVendor::kAmd && key == "intel_iommu") {
    return IommuTokenProblem{
        Kind::kInvalid, fmt::format("`{}` has no effect on an AMD-Vi IOMMU: remove it", token)};
  }
  if (vendor == IommuVendor::kAmd && key == "amd_iommu" && value == "off") {
    return IommuTokenProblem{Kind::kDisables,
                             "`amd_iommu=off` switches the AMD IOMMU off: remove it"};
  }
  if (vendor == IommuVendor::kIntel && key == "amd_iommu") {
    return IommuTokenProblem{
        Kind::kInvalid, fmt::format("`{}` has no effect on an Intel VT-d IOMMU: remove it", token)};
  }
  if (vendor == IommuVendor::kIntel && key == "intel_iommu" && has_value) {
    for (const auto& item : SplitCommaList(value)) {
      if (item == "off") {
        return IommuTokenProblem{Kind::kDisables,
                                 fmt::format("`{}` switches the Intel IOMMU off: replace it with "
                                             "`intel_iommu=on`",
                                             token),
                                 false};
      }
    }
  }
  return std::nullopt;
}

std::vector<IommuTokenFinding> IommuTokenProblems(const Cmdline& cmdline, IommuVendor vendor) {
  std::vector<IommuTokenFinding> out;
  for (const auto& token : cmdline.Tokens()) {
    if (auto problem = JudgeIommuToken(token, vendor)) out.push_back({token, *problem});
  }
  return out;
}

bool HasIommuProblem(const Cmdline& cmdline, IommuVendor vendor, IommuTokenProblem::Kind kind) {
  for (const auto& p : IommuTokenProblems(cmdline, vendor))
    if (p.problem.kind == kind) return true;
  return false;
}

bool IommuEnabledBy(const Cmdline& cmdline, IommuVendor vendor) {
  if (HasIommuProblem(cmdline, vendor, IommuTokenProblem::Kind::kDisables)) return false;
  for (const auto& token : IommuEnableTokens(vendor)) {
    auto items = SplitCommaList(cmdline.Get(CmdlineKey(token)));
    if (std::find(items.begin(), items.end(), CmdlineValue(token)) == items.end()) return false;
  }
  return true;
}

std::vector<std::string> IommuEnableTokens(IommuVendor vendor) {
  if (vendor == IommuVendor::kIntel) return {"intel_iommu=on"};
  return {};
}

}  // namespace vmprep
