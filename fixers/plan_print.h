// A session's plan as text and as a vmprep.plan/1 document: the one printer that vmsetup and
// the live ISO's helper call (each with its own headings). Returns text; callers print it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fixers/session.h"

namespace vmprep {

// How a front end lays the plan out; the defaults are vmsetup's.
struct PlanTextStyle {
  std::string_view actions_heading = "Then run:";  // above the post-actions
  bool action_why = true;                          // "    # why" after each post-action
  bool blank_before_edits = false;  // a blank line before each edit (else one after warnings)
  bool refusals = false;            // "REFUSED by FIXER: ..." lines at the end
};

// The plan as a person reads it before saying yes: warnings, each file's diff under the
// fixer and reason that want it, the commands run afterwards, notes.
std::string PlanText(const SessionPlan& plan, const PlanTextStyle& style = {});

// The parts of a vmprep.plan/1 document (docs/schema/vmprep.plan-1.schema.json), keys in the
// order written: "edits" (path, fixer, why, change, diff) and "refusals" (fixer, path, line,
// message); vmsetup's apply/undo documents carry them too.
nlohmann::ordered_json PlanEditsJson(const SessionPlan& plan);
nlohmann::ordered_json PlanRefusalsJson(const SessionPlan& plan);
// The whole vmprep.plan/1 document.
nlohmann::ordered_json PlanJson(const SessionPlan& plan);

}  // namespace vmprep
