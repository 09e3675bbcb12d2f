// Internal to the session (fixers/session*.cc): what session.cc (apply, undo, history) and
// session_plan.cc (plan) share.
#pragma once

#include <vector>

#include "fixers/session.h"
#include "fixers/transaction.h"

namespace vmprep {

// What RecoverInterrupted did, as progress events.
void ReportRecovery(const std::vector<Recovery>& recovered, const ProgressFn& progress);

}  // namespace vmprep
