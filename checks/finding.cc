#include "checks/finding.h"

namespace vmprep {

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kSkip:
      return "skip";
    case Severity::kPass:
      return "pass";
    case Severity::kNote:
      return "note";
    case Severity::kWarn:
      return "warn";
    case Severity::kFail:
      return "fail";
  }
  return "fail";
}

int SeverityRank(Severity severity) { return static_cast<int>(severity); }

Finding& AddFinding(std::vector<Finding>& out, std::string_view check, std::string_view name,
                    Severity severity, std::string summary) {
  Finding& f = out.emplace_back();
  f.id = std::string(check) + "." + std::string(name);
  f.check = std::string(check);
  f.severity = severity;
  f.summary = std::move(summary);
  return f;
}

void Finding::SetFix(std::string_view fixer_id, std::vector<std::string> args) {
  fixer = std::string(fixer_id);
  vmsetup_args = std::move(args);
}

void Finding::SetPending(std::string summary_text, std::string still_to_do) {
  severity = Severity::kWarn;
  pending = true;
  summary = std::move(summary_text);
  hint = std::move(still_to_do);
  fixer.clear();
  vmsetup_args.clear();
}

Severity WorstSeverity(const std::vector<Finding>& findings) {
  Severity worst = Severity::kSkip;
  for (const auto& f : findings) {
    if (SeverityRank(f.severity) > SeverityRank(worst)) worst = f.severity;
  }
  return worst;
}

}  // namespace vmprep
