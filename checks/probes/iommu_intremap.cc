/// iommu.interrupt-remapping: is interrupt remapping on? Reads the kernel log (/dev/kmsg),
/// the DMAR table's INTR_REMAP flag and /proc/cmdline.
#include <fmt/format.h>

#include "checks/pending.h"
#include "checks/probes/iommu_internal.h"
#include "system/fixer_ids.h"

namespace vmprep::iommu_internal {
namespace {

bool Contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

// What the kernel log says about interrupt remapping.
struct IrqRemapLog {
  bool enabled = false, disabled = false;
  std::vector<Evidence> evidence;
};

IrqRemapLog ScanIrqRemapLog(const std::expected<std::vector<std::string>, Error>& log) {
  IrqRemapLog r;
  if (!log) {
    r.evidence.push_back({"/dev/kmsg", log.error().message});
    return r;
  }
  for (const auto& m : *log) {
    if (Contains(m, "Enabled IRQ remapping") || Contains(m, "Interrupt remapping enabled")) {
      r.enabled = true;
      r.evidence.push_back({"/dev/kmsg", m});
    } else if (Contains(m, "IRQ remapping disabled") ||
               Contains(m, "Not enabling interrupt remapping") ||
               Contains(m, "Failed to enable irq remapping")) {
      r.disabled = true;
      r.evidence.push_back({"/dev/kmsg", m});
    }
  }
  return r;
}

// iommu.interrupt-remapping when it is switched off on the command line.
Finding& AddIntremapOffFinding(std::vector<Finding>& out, const IommuView& v,
                               std::vector<Evidence>& evidence) {
  Finding& f = AddFinding(out, "iommu", "interrupt-remapping", Severity::kWarn,
                          "interrupt remapping is switched off on the kernel command line");
  f.hint = fmt::format(
      "Remove `{}` from the kernel command line: without interrupt remapping a guest "
      "can forge interrupts, and VFIO refuses devices unless told to allow unsafe "
      "interrupts.",
      v.cmd.Has("nointremap") ? "nointremap" : "intremap=off");
  f.SetFix(kFixKernelCmdline, {"--enable", "iommu"});
  f.evidence = evidence;
  PendingWithoutProblem(v, IommuTokenProblem::Kind::kNoIntremap, "interrupt remapping", f);
  evidence = f.evidence;
  return f;
}

}  // namespace

void PendingWithoutProblem(const IommuView& v, IommuTokenProblem::Kind kind, std::string_view what,
                           Finding& f) {
  PendingOnNextBoot(
      v.facts, [&](const Cmdline& next) { return !HasIommuProblem(next, v.vendor, kind); }, what,
      f);
}

// iommu.interrupt-remapping: without it VFIO refuses devices unless told to be unsafe.
void AddInterruptRemappingFinding(std::vector<Finding>& out, const IommuView& v) {
  if (!v.kernel_on) return;
  const Cmdline& cmd = v.cmd;
  const auto& log = v.facts.KernelLog();
  IrqRemapLog irq = ScanIrqRemapLog(log);
  std::vector<Evidence> evidence = std::move(irq.evidence);
  const std::string intremap = cmd.Get("intremap");
  const bool cmd_off = cmd.Has("nointremap") || intremap == "off";
  const bool unsafe = cmd.Get("vfio_iommu_type1.allow_unsafe_interrupts") == "1" ||
                      cmd.Get("vfio_iommu_type1.allow_unsafe_interrupts") == "Y";
  const auto& dmar = v.fw.dmar_table;
  if (dmar) {
    evidence.push_back({std::string(kTables) + "/DMAR", dmar->interrupt_remapping
                                                            ? "INTR_REMAP flag set"
                                                            : "INTR_REMAP flag clear"});
  }
  if (cmd_off || unsafe) evidence.push_back(v.params.AsEvidence());
  Finding* f;
  if (irq.enabled && !cmd_off) {
    f = &AddFinding(out, "iommu", "interrupt-remapping", Severity::kPass,
                    "interrupt remapping is enabled");
  } else if (cmd_off) {
    f = &AddIntremapOffFinding(out, v, evidence);
  } else if (irq.disabled || (dmar && !dmar->interrupt_remapping)) {
    f = &AddFinding(out, "iommu", "interrupt-remapping", Severity::kWarn,
                    "interrupt remapping is not available");
    f->hint =
        "Update the firmware and enable 'Interrupt Remapping' in its setup if offered. As "
        "a last resort `vfio_iommu_type1.allow_unsafe_interrupts=1` lets VFIO work without "
        "it, at the risk that a guest forges interrupts to the host.";
  } else if (!log) {
    f = &AddFinding(out, "iommu", "interrupt-remapping", Severity::kSkip,
                    "kernel log not readable; cannot tell whether interrupt remapping is on");
    f->hint = "Run vmcheck as root to include this check.";
  } else {
    f = &AddFinding(out, "iommu", "interrupt-remapping", Severity::kNote,
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

}  // namespace vmprep::iommu_internal
