#include "checks/finding.h"

namespace vmprep {

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kSkip: return "skip";
    case Severity::kPass: return "pass";
    case Severity::kNote: return "note";
    case Severity::kWarn: return "warn";
    case Severity::kFail: return "fail";
  }
  return "fail";
}

int SeverityRank(Severity severity) { return static_cast<int>(severity); }

Severity WorstSeverity(const std::vector<Finding>& findings) {
  Severity worst = Severity::kSkip;
  for (const auto& f : findings) {
    if (SeverityRank(f.severity) > SeverityRank(worst)) worst = f.severity;
  }
  return worst;
}

}  // namespace vmprep
