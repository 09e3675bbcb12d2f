/// The plan and progress of a fix, as the live system's consoles show them.
#include "iso/live/fix_plan.h"

#include <cstdio>

#include "fixers/plan_print.h"

namespace vmprep::live {

std::string PlanText(const SessionPlan& plan) {
  return vmprep::PlanText(plan, {.actions_heading = "Then, chrooted in the installed system:",
                                 .action_why = false,
                                 .blank_before_edits = true,
                                 .refusals = true});
}

std::string PlanJson(const SessionPlan& plan) { return vmprep::PlanJson(plan).dump(2) + "\n"; }

void ShowProgress(const ProgressEvent& event) {
  using Kind = ProgressEvent::Kind;
  const std::string& t = event.text;
  switch (event.kind) {
    case Kind::kPlanned:
      return;
    case Kind::kApplied:
      std::printf("Transaction %s recorded (undo it from that system: vmsetup undo %s)\n",
                  t.c_str(), t.c_str());
      break;
    case Kind::kFileWritten:
      std::printf("  wrote %s\n", t.c_str());
      break;
    case Kind::kActionStarted:
      std::printf("Running in the installed system: %s\n", t.c_str());
      break;
    case Kind::kActionOutput:
      std::printf("  | %s\n", t.c_str());
      break;
    case Kind::kActionFinished:
      std::printf("%s: %s\n", event.ok ? "Done" : "FAILED", t.c_str());
      break;
    case Kind::kActionSkipped:
      std::printf("Not run: %s\n", t.c_str());
      break;
    case Kind::kWarning:
      std::printf("WARNING: %s\n", t.c_str());
      break;
    case Kind::kRecovered:
      std::printf("%s%s\n", event.ok ? "" : "RECOVERY INCOMPLETE: ", t.c_str());
      break;
  }
  std::fflush(stdout);
}

}  // namespace vmprep::live
