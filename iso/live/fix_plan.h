// How the live helper shows a session's plan and progress on its consoles, and records the
// plan with the fix's log. The plan itself comes from the session API (fixers/session.h).
#pragma once

#include <string>

#include "fixers/session.h"

namespace vmprep::live {

// The plan as a person reads it before saying yes (the printer of fixers/plan_print.h), with
// the commands run afterwards in the installed system, and the refusals.
std::string PlanText(const SessionPlan& plan);

// The plan as a vmprep.plan/1 document (docs/schema/vmprep.plan-1.schema.json), the format
// `vmsetup plan --json` prints, saved beside the fix's log.
std::string PlanJson(const SessionPlan& plan);

// Prints one progress event of an apply (files written, commands run and their output).
void ShowProgress(const ProgressEvent& event);

// A fix exits with vmsetup's status for its outcome: ExitStatus (fixers/session.h).

}  // namespace vmprep::live
