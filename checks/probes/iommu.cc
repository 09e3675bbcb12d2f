/// iommu: does this machine have an IOMMU, and does the running kernel use it?
/// VFIO can hand a device to a guest only through an IOMMU: it confines the device's DMA to
/// the guest's memory. The verdict is one of: no firmware table / present but off in the
/// kernel / on and translating / on in passthrough mode. Reads the ACPI tables
/// (/sys/firmware/acpi/tables/{DMAR,IVRS,IORT}), /proc/cmdline, /sys/class/iommu,
/// /sys/kernel/iommu_groups/*/type and the kernel log (/dev/kmsg) for interrupt remapping.
#include "checks/probes/iommu.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "checks/pending.h"
#include "core/text.h"
#include "system/acpi_tables.h"
#include "system/facts.h"
#include "system/fixer_ids.h"
#include "system/iommu_rules.h"
#include "system/kernel_params.h"
#include "system/system_info.h"

namespace vmprep {
namespace {

constexpr std::string_view kTables = kAcpiTablesDir;

struct Firmware {
  bool listable = false;  // the tables directory could be listed
  std::string list_error;
  bool dmar = false, ivrs = false, iort = false;
  std::optional<DmarTable> dmar_table;
  std::optional<IvrsTable> ivrs_table;
  std::vector<Evidence> evidence;
};

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

struct KernelState {
  std::vector<std::string> units;          // /sys/class/iommu entries
  std::map<std::string, int> group_types;  // type -> number of groups
  int groups = 0;
  std::vector<Evidence> evidence;
};

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

bool Contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

}  // namespace

std::string_view IommuProbe::Name() const { return "iommu"; }

std::string_view IommuProbe::Description() const {
  return "IOMMU present in firmware (DMAR/IVRS), enabled by the kernel, passthrough mode, "
         "interrupt remapping, command-line mistakes";
}

std::vector<Finding> IommuProbe::Run(const Host& host, const ProbeContext& context) const {
  std::vector<Finding> out;
  auto make = [&](std::string_view name, Severity severity, std::string summary) -> Finding& {
    return AddFinding(out, "iommu", name, severity, std::move(summary));
  };

  Firmware fw = ReadFirmware(host);
  KernelState kernel = ReadKernelState(host);
  const SystemFacts& facts = context.Facts(host);
  const KernelParams& params = facts.Params();
  const auto& cpu = facts.Cpu();
  // The kernel log is hundreds of records, one read(2) each: read only where it explains
  // a verdict (IOMMU off, interrupt remapping).
  const Cmdline& cmd = params.cmdline;

  // The same rule as the kernel-cmdline fixer: tables first, then the CPU.
  auto vendor_fact = DetectIommuVendor(host, cpu);
  const IommuVendor vendor = vendor_fact ? vendor_fact->vendor : IommuVendor::kUnknown;
  // IOMMU units can be registered while translation is off (intel_iommu=off still lists
  // dmar0 on some kernels); only groups show that the kernel manages DMA through it.
  const bool kernel_on = kernel.groups > 0;
  const bool have_table = fw.dmar || fw.ivrs || fw.iort;

  // --- iommu.firmware
  {
    Finding* f;
    if (have_table) {
      f = &make("firmware", Severity::kPass,
                fw.dmar   ? "the firmware reports an Intel VT-d IOMMU (DMAR table)"
                : fw.ivrs ? "the firmware reports an AMD-Vi IOMMU (IVRS table)"
                          : "the firmware reports an Arm SMMU (IORT table)");
    } else if (!fw.listable) {
      f = &make("firmware", kernel_on ? Severity::kSkip : Severity::kWarn,
                "cannot read the ACPI table list to tell whether the firmware has an IOMMU");
      f->hint = "Run vmcheck as root: /sys/firmware/acpi/tables is readable only by root.";
    } else if (kernel_on) {
      f = &make("firmware", Severity::kNote,
                "no DMAR/IVRS/IORT table, but the kernel has IOMMU units (e.g. virtio-iommu)");
    } else {
      f = &make("firmware", Severity::kFail,
                "the firmware reports no IOMMU (no DMAR or IVRS ACPI table)");
      f->hint = cpu && cpu->has("hypervisor")
                    ? "This is a virtual machine: its hypervisor must give it a virtual IOMMU "
                      "(QEMU: `-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on` "
                      "or `-device amd-iommu`), or run vmprep on the physical host."
                : vendor == IommuVendor::kAmd
                    ? "Enable 'IOMMU' (AMD-Vi) in the firmware setup (UEFI/BIOS); 'Auto' often "
                      "means off. Some boards also need 'SVM Mode' enabled."
                    : "Enable 'VT-d' (Intel Virtualization Technology for Directed I/O) in the "
                      "firmware setup (UEFI/BIOS). If the setup has no such option, the board or "
                      "CPU cannot do passthrough.";
    }
    f->evidence = fw.evidence;
  }

  // --- iommu.kernel: off / translating / passthrough.
  {
    std::vector<Evidence> evidence = kernel.evidence;
    evidence.push_back(params.AsEvidence());
    const bool pt_cmdline = cmd.Get("iommu") == "pt" || cmd.Get("iommu.passthrough") == "1" ||
                            cmd.Get("iommu.passthrough") == "y" ||
                            cmd.Get("iommu.passthrough") == "Y";
    const int identity =
        kernel.group_types.count("identity") ? kernel.group_types.at("identity") : 0;
    Finding* f;
    if (kernel_on) {
      if (identity > 0 || pt_cmdline) {
        f = &make("kernel", Severity::kPass,
                  "the IOMMU is on in passthrough mode: host devices bypass translation, devices "
                  "given to VMs are still isolated");
      } else {
        f = &make("kernel", Severity::kPass, "the IOMMU is on and translating DMA");
      }
    } else if (!have_table && fw.listable && kernel.units.empty()) {
      f = &make("kernel", Severity::kSkip, "no IOMMU to enable (see iommu.firmware)");
    } else {
      f = &make("kernel", Severity::kFail,
                have_table ? "the firmware has an IOMMU but the running kernel does not use it"
                           : "the kernel does not use an IOMMU (no units, no groups)");
      if (const auto& log = facts.KernelLog()) {
        for (const auto& m : *log) {
          if (Contains(m, "IOMMU disabled") ||
              (Contains(m, "AMD-Vi: ") && Contains(m, "disabled"))) {
            evidence.push_back({"/dev/kmsg", m});
          }
        }
      }
      // The same rules as the kernel-cmdline fixer (system/iommu_rules.h).
      std::vector<std::string> steps;
      for (const auto& p : IommuTokenProblems(cmd, vendor)) {
        if (p.problem.kind == IommuTokenProblem::Kind::kDisables) steps.push_back(p.problem.why);
      }
      for (const auto& token : IommuEnableTokens(vendor)) {
        if (!IommuEnabledBy(cmd, vendor) &&
            !HasIommuProblem(cmd, vendor, IommuTokenProblem::Kind::kDisables))
          steps.push_back(fmt::format("add `{}`", token));
      }
      f->evidence = evidence;
      if (!steps.empty()) {
        f->hint = fmt::format(
            "On the kernel command line: {}; then regenerate the boot configuration and "
            "reboot.",
            Join(steps, "; "));
        f->SetFix(kFixKernelCmdline, {"--enable", "iommu"});
        PendingOnNextBoot(
            facts, [&](const Cmdline& next) { return IommuEnabledBy(next, vendor); },
            fmt::format("the {} IOMMU", IommuVendorName(vendor)), *f);
      } else if (vendor == IommuVendor::kAmd) {
        f->hint =
            "The AMD IOMMU is on by default: check `dmesg | grep -i AMD-Vi` for why it "
            "failed to start, and set 'IOMMU' to Enabled (not Auto) in the firmware setup.";
      } else {
        f->hint = "Check `dmesg | grep -i -e DMAR -e iommu` for why the IOMMU did not start.";
      }
      evidence = f->evidence;
    }
    f->evidence = std::move(evidence);
  }

  // --- iommu.cmdline: options that are wrong or do nothing (system/iommu_rules.h).
  if (params.readable) {
    std::vector<std::string> mistakes;
    for (const auto& p : IommuTokenProblems(cmd, vendor)) {
      if (p.problem.kind == IommuTokenProblem::Kind::kInvalid) mistakes.push_back(p.problem.why);
    }
    if (mistakes.empty()) {
      Finding& f =
          make("cmdline", Severity::kPass, "no IOMMU option on the kernel command line is wrong");
      f.evidence.push_back(params.AsEvidence());
    } else {
      Finding& f = make("cmdline", Severity::kWarn,
                        mistakes.size() == 1
                            ? "an IOMMU option on the kernel command line is wrong"
                            : fmt::format("{} IOMMU options on the kernel command line are wrong",
                                          mistakes.size()));
      f.evidence.push_back(params.AsEvidence());
      f.hint = Join(mistakes, "; ") + ".";
      f.SetFix(kFixKernelCmdline, {"--enable", "iommu"});
      PendingOnNextBoot(
          facts,
          [&](const Cmdline& next) {
            return !HasIommuProblem(next, vendor, IommuTokenProblem::Kind::kInvalid);
          },
          "the corrected IOMMU options are", f);
    }
  }

  // --- iommu.interrupt-remapping: without it VFIO refuses devices unless told to be unsafe.
  if (kernel_on) {
    std::vector<Evidence> evidence;
    bool log_enabled = false, log_disabled = false;
    const auto& log = facts.KernelLog();
    if (log) {
      for (const auto& m : *log) {
        if (Contains(m, "Enabled IRQ remapping") || Contains(m, "Interrupt remapping enabled")) {
          log_enabled = true;
          evidence.push_back({"/dev/kmsg", m});
        } else if (Contains(m, "IRQ remapping disabled") ||
                   Contains(m, "Not enabling interrupt remapping") ||
                   Contains(m, "Failed to enable irq remapping")) {
          log_disabled = true;
          evidence.push_back({"/dev/kmsg", m});
        }
      }
    } else {
      evidence.push_back({"/dev/kmsg", log.error().message});
    }
    const std::string intremap = cmd.Get("intremap");
    const bool cmd_off = cmd.Has("nointremap") || intremap == "off";
    const bool unsafe = cmd.Get("vfio_iommu_type1.allow_unsafe_interrupts") == "1" ||
                        cmd.Get("vfio_iommu_type1.allow_unsafe_interrupts") == "Y";
    if (fw.dmar_table) {
      evidence.push_back({std::string(kTables) + "/DMAR", fw.dmar_table->interrupt_remapping
                                                              ? "INTR_REMAP flag set"
                                                              : "INTR_REMAP flag clear"});
    }
    if (cmd_off || unsafe) evidence.push_back(params.AsEvidence());
    Finding* f;
    if (log_enabled && !cmd_off) {
      f = &make("interrupt-remapping", Severity::kPass, "interrupt remapping is enabled");
    } else if (cmd_off) {
      f = &make("interrupt-remapping", Severity::kWarn,
                "interrupt remapping is switched off on the kernel command line");
      f->hint = fmt::format(
          "Remove `{}` from the kernel command line: without interrupt remapping a guest "
          "can forge interrupts, and VFIO refuses devices unless told to allow unsafe "
          "interrupts.",
          cmd.Has("nointremap") ? "nointremap" : "intremap=off");
      f->SetFix(kFixKernelCmdline, {"--enable", "iommu"});
      f->evidence = evidence;
      PendingOnNextBoot(
          facts,
          [&](const Cmdline& next) {
            return !HasIommuProblem(next, vendor, IommuTokenProblem::Kind::kNoIntremap);
          },
          "interrupt remapping", *f);
      evidence = f->evidence;
    } else if (log_disabled || (fw.dmar_table && !fw.dmar_table->interrupt_remapping)) {
      f = &make("interrupt-remapping", Severity::kWarn, "interrupt remapping is not available");
      f->hint =
          "Update the firmware and enable 'Interrupt Remapping' in its setup if offered. As "
          "a last resort `vfio_iommu_type1.allow_unsafe_interrupts=1` lets VFIO work without "
          "it, at the risk that a guest forges interrupts to the host.";
    } else if (!log) {
      f = &make("interrupt-remapping", Severity::kSkip,
                "kernel log not readable; cannot tell whether interrupt remapping is on");
      f->hint = "Run vmcheck as root to include this check.";
    } else {
      f = &make("interrupt-remapping", Severity::kNote,
                "the kernel log does not say whether interrupt remapping is on");
    }
    if (unsafe) {
      f->summary += "; vfio_iommu_type1.allow_unsafe_interrupts=1 is set";
      if (f->severity == Severity::kPass) {
        f->severity = Severity::kNote;
        f->hint =
            "Remove `vfio_iommu_type1.allow_unsafe_interrupts=1`: interrupt remapping works, so "
            "the "
            "unsafe option is not needed.";
      }
    }
    f->evidence = std::move(evidence);
  }
  return out;
}

}  // namespace vmprep
