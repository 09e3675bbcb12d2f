// How the live helper shows a session's plan and progress on its consoles, and records the
// plan with the fix's log. The plan itself comes from the session API (fixers/session.h).
#pragma once

#include <string>

#include "fixers/session.h"

namespace vmprep::live {

// The plan as a person reads it before saying yes: warnings, each file's diff under the
// fixer and reason that want it, the commands run afterwards in the installed system, notes.
std::string PlanText(const SessionPlan& plan);

// The plan as a vmprep.plan/1 document (docs/schema/vmprep.plan-1.schema.json), the format
// `vmsetup plan --json` prints, saved beside the fix's log.
std::string PlanJson(const SessionPlan& plan);

// Prints one progress event of an apply (files written, commands run and their output).
void ShowProgress(const ProgressEvent& event);

// vmsetup's exit status for an outcome (vmsetup(8)): 0 done or nothing to do, 1 refused,
// 2 failed and rolled back, 3 cannot run, 4 declined, 5 a regenerate command failed.
int ExitStatus(Outcome outcome);

}  // namespace vmprep::live
