/// vmsetup's commands: plan, apply, undo and history over the session API, with what they
/// print (plans, progress, JSON results) and the exit status of each outcome.
#include "fixers/vmsetup_commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/text.h"
#include "fixers/plan_print.h"
#include "fixers/post_actions.h"
#include "fixers/transaction.h"

namespace vmprep::vmsetup {

// A run that cannot go on for a reason other than its arguments: no usage line.
int CannotRun(const std::string& message) {
  std::fprintf(stderr, "vmsetup: %s\n", message.c_str());
  return kExitCannotRun;
}

namespace {

void PrintRefusals(const SessionPlan& plan) {
  for (const auto& r : plan.refusals) {
    std::fprintf(stderr, "vmsetup: %s refused: %s\n", r.fixer.c_str(), r.error.ToString().c_str());
  }
}

// vmsetup's JSON documents have always listed the keys of the plan's parts in sorted order.
nlohmann::ordered_json SortedKeys(const nlohmann::ordered_json& j) {
  return nlohmann::ordered_json(nlohmann::json(j));
}

void PrintPlanText(const SessionPlan& plan) {
  std::string out = PlanText(plan);
  std::fwrite(out.data(), 1, out.size(), stdout);
}

void PrintPlanJson(const SessionPlan& plan) {
  std::string text = SortedKeys(PlanJson(plan)).dump(2) + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
}

// Prints what an apply or undo does as it happens (warnings and recoveries to stderr).
void PrintProgressTo(std::FILE* out, const ProgressEvent& e) {
  using Kind = ProgressEvent::Kind;
  switch (e.kind) {
    case Kind::kPlanned:
    case Kind::kApplied:
    case Kind::kFileWritten:
      break;
    case Kind::kActionStarted:
      std::fprintf(out, "Running: %s\n", e.text.c_str());
      break;
    case Kind::kActionOutput:
      std::fprintf(out, "  %s\n", e.text.c_str());
      break;
    case Kind::kActionFinished:
      if (!e.ok) std::fprintf(out, "Failed: %s\n", e.text.c_str());
      break;
    case Kind::kActionSkipped:
      std::fprintf(out, "Skipped (--no-regenerate): %s\n", e.text.c_str());
      break;
    case Kind::kWarning:
      std::fprintf(stderr, "vmsetup: warning: %s\n", e.text.c_str());
      break;
    case Kind::kRecovered:
      std::fprintf(stderr, "vmsetup: %s%s\n", e.ok ? "" : "RECOVERY INCOMPLETE: ", e.text.c_str());
      break;
  }
  std::fflush(out);
}

void PrintProgress(const ProgressEvent& e) { PrintProgressTo(stdout, e); }

bool Confirm() {
  std::printf("Apply these changes? [y/N] ");
  std::fflush(stdout);
  char buf[64] = {};
  if (std::fgets(buf, sizeof buf, stdin) == nullptr) return false;
  std::string answer(Trim(buf));
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES" || answer == "Yes";
}

void PrintErrors(const SessionResult& r, std::string_view what) {
  for (const auto& e : r.errors) {
    std::fprintf(stderr, "vmsetup: %.*s%s\n", static_cast<int>(what.size()), what.data(),
                 e.ToString().c_str());
  }
  if (r.outcome == Outcome::kActionFailed)
    std::fprintf(stderr, "vmsetup: the files are written; run the failed command(s) by hand\n");
}

// apply --json, undo --json: one vmprep.apply/1 document on stdout whatever the outcome
// (docs/schema/vmprep.apply-1.schema.json), so that configuration tools read one result:
// `changed` tells "applied" from "nothing to do" (both exit 0). Progress goes to stderr.
struct JsonActions {
  nlohmann::json list = nlohmann::json::array();
  void Record(const ProgressEvent& e) {
    using Kind = ProgressEvent::Kind;
    if (e.kind == Kind::kActionFinished || e.kind == Kind::kActionSkipped) {
      list.push_back({{"command", e.text},
                      {"result", e.kind == Kind::kActionSkipped ? "skipped"
                                 : e.ok                         ? "ok"
                                                                : "failed"}});
    }
  }
};

void PrintProgressToStderr(const ProgressEvent& e) { PrintProgressTo(stderr, e); }

int PrintResultJson(std::string_view command, const SessionResult& r, const JsonActions& ran,
                    int code, const std::string& error = "") {
  using Json = nlohmann::ordered_json;
  std::string errors = error;
  for (const auto& e : r.errors) errors += (errors.empty() ? "" : "; ") + e.ToString();
  // Each planned post-action with what became of it (matched by its command line).
  Json actions = Json::array();
  for (const auto& a : r.plan.edits.actions) {
    std::string shown = FormatArgv(a.argv), result = "not run";
    for (const auto& x : ran.list) {
      if (x["command"] == shown) result = x["result"];
    }
    actions.push_back(Json{{"argv", a.argv}, {"why", a.why}, {"result", result}});
  }
  if (r.plan.edits.actions.empty()) {
    for (const auto& x : ran.list) {
      actions.push_back(
          Json{{"argv", Json::array({x["command"]})}, {"why", ""}, {"result", x["result"]}});
    }
  }
  bool changed = r.outcome != Outcome::kNothingToDo && !r.record.id.empty();
  Json doc{{"schema", "vmprep.apply/1"},
           {"command", command},
           {"changed", changed},
           {"transaction", r.record.id.empty() ? Json(nullptr) : Json(r.record.id)},
           {"files", r.changed},
           {"edits", SortedKeys(PlanEditsJson(r.plan))},
           {"warnings", r.plan.warnings},
           {"actions", std::move(actions)},
           {"refusals", SortedKeys(PlanRefusalsJson(r.plan))},
           {"error", errors.empty() ? Json(nullptr) : Json(errors)},
           {"exit_code", code}};
  std::printf("%s\n", doc.dump(2).c_str());
  return code;
}

// apply --json: asks nothing (--yes is required), prints one vmprep.apply/1 document.
int RunApplyJson(const Host& host, const Request& request, bool yes, bool regenerate) {
  if (!yes) {
    std::string message = "apply --json does not ask: pass --yes as well";
    std::fprintf(stderr, "vmsetup: %s\n", message.c_str());
    return PrintResultJson("apply", {}, {}, kExitCannotRun, message);
  }
  JsonActions ran;
  auto r = Apply(host, request,
                 {.regenerate = regenerate,
                  .confirm = [](const SessionPlan&) { return true; },
                  .progress =
                      [&](const auto& e) {
                        PrintProgressToStderr(e);
                        ran.Record(e);
                      }});
  PrintRefusals(r.plan);
  PrintErrors(r, "");
  return PrintResultJson("apply", r, ran, ExitStatus(r.outcome));
}

}  // namespace

int RunHistory(const Host& host, bool json) {
  auto list = History(host, PrintProgress);
  if (!list) return CannotRun(list.error().ToString());
  if (json) {
    nlohmann::json doc = nlohmann::json::array();
    for (const auto& r : *list) {
      nlohmann::json entry = {{"id", r.id},
                              {"created", r.created},
                              {"state", r.state},
                              {"files", r.files},
                              {"fixers", r.fixers}};
      if (!r.problem.empty()) entry["problem"] = r.problem;
      doc.push_back(std::move(entry));
    }
    std::printf("%s\n", doc.dump(2).c_str());
    return kExitOk;
  }
  if (list->empty()) std::printf("No transactions recorded.\n");
  for (const auto& r : *list) {
    if (!r.problem.empty()) {
      std::printf("%s  corrupt: %s\n", r.id.c_str(), r.problem.c_str());
      continue;
    }
    std::string fixers = Join(r.fixers, ","), files = Join(r.files, " ");
    std::printf("%s  %s  %-11s %s  %s\n", r.id.c_str(), r.created.substr(0, 19).c_str(),
                r.state.c_str(), fixers.c_str(), files.c_str());
  }
  return kExitOk;
}

int RunUndo(const Host& host, const std::string& id, bool regenerate, bool json) {
  if (json) {
    JsonActions ran;
    auto r = Undo(host, id, {.regenerate = regenerate, .progress = [&](const auto& e) {
                               PrintProgressToStderr(e);
                               ran.Record(e);
                             }});
    PrintErrors(r, "");
    return PrintResultJson("undo", r, ran, ExitStatus(r.outcome));
  }
  auto r = Undo(host, id, {.regenerate = regenerate, .progress = PrintProgress});
  if (r.outcome == Outcome::kNothingToDo) {
    std::printf("Nothing to undo.\n");
    return kExitOk;
  }
  if (!r.record.id.empty()) {
    std::printf("Undid transaction %s:\n", r.record.id.c_str());
    for (const auto& f : r.changed) std::printf("  restored %s\n", f.c_str());
  }
  PrintErrors(r, "");
  return ExitStatus(r.outcome);
}

int RunApply(const Host& host, const Request& request, bool yes, bool regenerate, bool json) {
  if (json) return RunApplyJson(host, request, yes, regenerate);
  if (!yes && ::isatty(STDIN_FILENO) != 1) {
    return CannotRun("no terminal to confirm on; pass --yes to apply from a script");
  }
  auto confirm = [&](const SessionPlan& plan) {
    PrintPlanText(plan);
    return yes || Confirm();
  };
  auto r = Apply(host, request,
                 {.regenerate = regenerate, .confirm = confirm, .progress = PrintProgress});
  switch (r.outcome) {
    case Outcome::kRefused:
      // A fixer refused to plan (the plan says which), or apply refused what it found.
      if (r.errors.empty()) PrintPlanText(r.plan);
      PrintRefusals(r.plan);
      PrintErrors(r, "refused: ");
      std::fprintf(stderr, "vmsetup: nothing applied\n");
      break;
    case Outcome::kNothingToDo:
      PrintPlanText(r.plan);
      std::printf("Nothing to do: this system already has what was asked.\n");
      break;
    case Outcome::kDeclined:
      std::printf("Nothing applied.\n");
      break;
    case Outcome::kFailed:
      PrintErrors(r, "apply failed: ");
      break;
    default:
      PrintErrors(r, "");
      break;
  }
  if (!r.record.id.empty()) {
    std::printf("Applied transaction %s (undo with: vmsetup undo %s)\n", r.record.id.c_str(),
                r.record.id.c_str());
    for (const auto& f : r.changed) std::printf("  wrote %s\n", f.c_str());
  }
  return ExitStatus(r.outcome);
}

int RunPlan(const Host& host, const Request& request, bool json) {
  SessionPlan plan = MakePlan(host, request, PrintProgress);
  if (json) {
    PrintPlanJson(plan);
  } else {
    PrintPlanText(plan);
  }
  PrintRefusals(plan);
  if (!plan.refusals.empty()) return kExitRefused;
  if (plan.NothingToDo() && !json)
    std::printf("Nothing to do: this system already has what was asked.\n");
  return kExitOk;
}

}  // namespace vmprep::vmsetup
