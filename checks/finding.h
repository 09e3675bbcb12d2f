// Finding: one verdict of one probe, with the evidence behind it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/evidence.h"

namespace vmprep {

// Ordered from best to worst; the worst severity decides vmcheck's exit code.
enum class Severity { kSkip, kPass, kNote, kWarn, kFail };

std::string_view SeverityName(Severity severity);  // "skip", "pass", "note", "warn", "fail"
int SeverityRank(Severity severity);               // skip=0 < pass < note < warn < fail

struct Finding {
  std::string id;     // stable, "check.name" (e.g. "kvm.device")
  std::string check;  // the probe's name (e.g. "kvm")
  Severity severity = Severity::kSkip;
  std::string summary;  // one line: the fact
  std::string hint;     // the exact change that mends it; empty on pass
  std::vector<Evidence> evidence;
  std::string fixer;  // id of the fixer that can mend it, or empty
  // The vmsetup request that mends it ({"--enable", "iommu"}); set with `fixer`. A test
  // holds every such finding to it: the plan is non-empty, and after apply the finding
  // passes or is pending.
  std::vector<std::string> vmsetup_args;
  // Configured but not yet in effect: a regenerate command and/or a reboot is still to come
  // (the hint names them). Always a warning, never with a fixer: planning again would do
  // nothing.
  bool pending = false;

  // Names the fixer and the request that mend this finding.
  void SetFix(std::string_view fixer_id, std::vector<std::string> args);
  // Marks the finding pending: a warning whose hint is what is still to do.
  void SetPending(std::string summary_text, std::string still_to_do);
};

// Appends a finding "<check>.<name>" and returns it for evidence, hint and fixer.
Finding& AddFinding(std::vector<Finding>& out, std::string_view check, std::string_view name,
                    Severity severity, std::string summary);

// Returns the worst severity in `findings` (kSkip when empty).
Severity WorstSeverity(const std::vector<Finding>& findings);

}  // namespace vmprep
