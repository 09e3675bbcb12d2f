/// The plan and progress of a fix, as the live system's consoles show them.
#include "iso/live/fix_plan.h"

#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "fixers/post_actions.h"
#include "fixers/transaction.h"

namespace vmprep::live {

std::string PlanText(const SessionPlan& plan) {
  std::string out;
  for (const auto& w : plan.warnings) out += fmt::format("WARNING: {}\n", w);
  for (const FileEdit* e : EffectiveEdits(plan.edits)) {
    out += fmt::format("\n# {}: {}\n{}", e->fixer, e->why, UnifiedDiff(*e));
  }
  if (!plan.edits.actions.empty()) out += "\nThen, chrooted in the installed system:\n";
  for (const auto& a : plan.edits.actions) out += fmt::format("  {}\n", FormatArgv(a.argv));
  for (const auto& n : plan.edits.notes) out += fmt::format("Note: {}\n", n);
  for (const auto& r : plan.refusals) {
    out += fmt::format("REFUSED by {}: {}\n", r.fixer, r.error.ToString());
  }
  return out;
}

std::string PlanJson(const SessionPlan& plan) {
  using Json = nlohmann::ordered_json;
  Json doc{{"schema", "vmprep.plan/1"}, {"edits", Json::array()},    {"actions", Json::array()},
           {"notes", plan.edits.notes}, {"warnings", plan.warnings}, {"refusals", Json::array()}};
  for (const FileEdit* e : EffectiveEdits(plan.edits)) {
    const char* change = !e->before ? "create" : !e->after ? "remove" : "modify";
    doc["edits"].push_back(Json{{"path", e->path},
                                {"fixer", e->fixer},
                                {"why", e->why},
                                {"change", change},
                                {"diff", UnifiedDiff(*e)}});
  }
  for (const auto& a : plan.edits.actions)
    doc["actions"].push_back({{"argv", a.argv}, {"why", a.why}});
  for (const auto& r : plan.refusals) {
    doc["refusals"].push_back(Json{{"fixer", r.fixer},
                                   {"path", r.error.path},
                                   {"line", r.error.line},
                                   {"message", r.error.message}});
  }
  return doc.dump(2) + "\n";
}

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

int ExitStatus(Outcome outcome) {
  // Indexed by Outcome, in its declaration order (fixers/session.h).
  constexpr std::array<int, 7> kStatus = {0, 0, 1, 4, 2, 5, 3};
  static_assert(static_cast<std::size_t>(Outcome::kCannotRun) + 1 == kStatus.size());
  const auto i = static_cast<std::size_t>(outcome);
  return i < kStatus.size() ? kStatus[i] : 3;
}

}  // namespace vmprep::live
