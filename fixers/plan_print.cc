/// The plan printer: text and vmprep.plan/1 JSON of a session's plan.
#include "fixers/plan_print.h"

#include <fmt/format.h>

#include "fixers/post_actions.h"
#include "fixers/transaction.h"

namespace vmprep {

std::string PlanText(const SessionPlan& plan, const PlanTextStyle& style) {
  std::string out;
  for (const auto& w : plan.warnings) out += fmt::format("WARNING: {}\n", w);
  if (!style.blank_before_edits && !plan.warnings.empty()) out += "\n";
  for (const FileEdit* e : EffectiveEdits(plan.edits)) {
    if (style.blank_before_edits) out += "\n";
    out += fmt::format("# {}: {}\n", e->fixer, e->why);
    out += UnifiedDiff(*e);
  }
  if (!plan.edits.actions.empty()) out += fmt::format("\n{}\n", style.actions_heading);
  for (const auto& a : plan.edits.actions) {
    const bool why = style.action_why && !a.why.empty();
    out += fmt::format("  {}{}\n", FormatArgv(a.argv), why ? "    # " + a.why : "");
  }
  for (const auto& note : plan.edits.notes) out += fmt::format("Note: {}\n", note);
  if (!style.refusals) return out;
  for (const auto& r : plan.refusals) {
    out += fmt::format("REFUSED by {}: {}\n", r.fixer, r.error.ToString());
  }
  return out;
}

nlohmann::ordered_json PlanEditsJson(const SessionPlan& plan) {
  using Json = nlohmann::ordered_json;
  Json edits = Json::array();
  for (const FileEdit* e : EffectiveEdits(plan.edits)) {
    const char* change = !e->before ? "create" : !e->after ? "remove" : "modify";
    edits.push_back(Json{{"path", e->path},
                         {"fixer", e->fixer},
                         {"why", e->why},
                         {"change", change},
                         {"diff", UnifiedDiff(*e)}});
  }
  return edits;
}

nlohmann::ordered_json PlanRefusalsJson(const SessionPlan& plan) {
  using Json = nlohmann::ordered_json;
  Json refusals = Json::array();
  for (const auto& r : plan.refusals) {
    refusals.push_back(Json{{"fixer", r.fixer},
                            {"path", r.error.path},
                            {"line", r.error.line},
                            {"message", r.error.message}});
  }
  return refusals;
}

nlohmann::ordered_json PlanJson(const SessionPlan& plan) {
  using Json = nlohmann::ordered_json;
  Json actions = Json::array();
  for (const auto& a : plan.edits.actions)
    actions.push_back(Json{{"argv", a.argv}, {"why", a.why}});
  return Json{{"schema", "vmprep.plan/1"},     {"edits", PlanEditsJson(plan)},
              {"actions", std::move(actions)}, {"notes", plan.edits.notes},
              {"warnings", plan.warnings},     {"refusals", PlanRefusalsJson(plan)}};
}

}  // namespace vmprep
