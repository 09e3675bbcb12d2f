/// Apply (or undo): progress per file and per post-action with its output; on failure what
/// was restored. Done: the transaction id, how to undo, the reboot, and the check after it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

#include "wizard/page.h"
#include "wizard/screens.h"

namespace vmprep::wizard {
namespace {

std::string Line(const ProgressEvent& e, bool undo) {
  using Kind = ProgressEvent::Kind;
  switch (e.kind) {
    case Kind::kPlanned:
      return "Planned again under the lock.";
    case Kind::kApplied:
      return "Recorded transaction " + e.text + "; backups in /var/lib/vmprep/transactions/" +
             e.text;
    case Kind::kFileWritten:
      return (undo ? "restored " : "wrote ") + e.text;
    case Kind::kActionStarted:
      return "running: " + e.text;
    case Kind::kActionOutput:
      return "  | " + e.text;
    case Kind::kActionFinished:
      return (e.ok ? "done: " : "FAILED: ") + e.text;
    case Kind::kActionSkipped:
      return "not run (--no-regenerate), run it by hand: " + e.text;
    case Kind::kWarning:
      return "warning: " + e.text;
    case Kind::kRecovered:
      return (e.ok ? "finished an interrupted run: " : "RECOVERY INCOMPLETE: ") + e.text;
  }
  return e.text;
}

// What went wrong and what state the files are in, for the log.
std::vector<std::string> Aftermath(const SessionResult& r, bool undo, bool changed_since) {
  std::vector<std::string> out;
  std::vector<std::string> errors;
  for (const auto& e : r.errors) errors.push_back(e.ToString());
  const std::string what = undo ? "undo" : "apply";
  switch (r.outcome) {
    case vmprep::Outcome::kDone:
    case vmprep::Outcome::kNothingToDo:
      break;
    case vmprep::Outcome::kActionFailed:
      out.push_back("The files are written (transaction " + r.record.id +
                    "), but a command failed: run it by hand once the cause is mended.");
      break;
    case vmprep::Outcome::kFailed:
      out.push_back("The " + what + " failed and was rolled back; nothing is changed.");
      break;
    case vmprep::Outcome::kRefused:
      out.push_back("Refused: nothing was written.");
      for (const auto& f : r.plan.refusals) errors.push_back(f.fixer + ": " + f.error.ToString());
      break;
    case vmprep::Outcome::kDeclined:
      out.push_back(changed_since ? "The files changed since the review: nothing was written. "
                                    "Go back to review the new plan."
                                  : "Nothing was written.");
      break;
    case vmprep::Outcome::kCannotRun:
      out.push_back("Cannot " + what + ": nothing was written.");
      break;
  }
  for (const auto& e : errors) out.push_back("  " + e);
  return out;
}

}  // namespace

Step ApplyScreen(Ui& ui, State& state, bool undo) {
  Page page(ui, Title(undo ? "Undo " + state.undo_id : "Apply", undo ? 0 : 6));
  page.SetIntro({undo ? "Restoring the files, then running the commands again..."
                      : "Writing the files as one transaction, then running the commands..."});
  page.SetText("Progress", {});
  page.SetKeys("Please wait");
  page.Draw();
  bool changed_since = false;
  ApplyOptions options{.regenerate = state.options.regenerate,
                       .confirm =
                           [&](const SessionPlan& now) {
                             changed_since = !SameChanges(now, state.reviewed);
                             return !changed_since;
                           },
                       .progress = [&](const ProgressEvent& e) { page.AppendText(Line(e, undo)); }};
  state.result = undo ? Undo(state.host, state.undo_id, options)
                      : Apply(state.host, *Normalized(state.choices), options);
  state.last_was_undo = undo;
  LoadHistory(state.host, &state.facts);
  const auto outcome = state.result.outcome;
  for (const auto& l : Aftermath(state.result, undo, changed_since)) page.AppendText(l);
  const bool done = outcome == vmprep::Outcome::kDone || outcome == vmprep::Outcome::kActionFailed;
  state.exit_code = outcome == vmprep::Outcome::kActionFailed ? 5
                    : outcome == vmprep::Outcome::kFailed     ? 2
                                                              : 0;
  page.SetKeys("Enter continue  arrows scroll  q quit");
  page.SetButtons(done ? std::vector<std::string>{"Next", "Quit"}
                       : std::vector<std::string>{"Back to review", "Quit"},
                  0);
  for (;;) {
    PageEvent e = page.Run();
    if (e.kind == PageEvent::Kind::kQuit) return Step::kQuit;
    if (e.kind == PageEvent::Kind::kBack && done) continue;  // written: no way back
    if (e.kind == PageEvent::Kind::kButton && e.button == 1) return Step::kQuit;
    if (done) return Step::kDone;
    return undo ? Step::kUndoReview : Step::kReview;
  }
}

Step DoneScreen(Ui& ui, State& state) {
  const SessionResult& r = state.result;
  const bool undo = state.last_was_undo;
  Page page(ui, Title(undo ? "Undone" : "Done", undo ? 0 : 7));
  std::vector<std::string> text;
  if (r.outcome == vmprep::Outcome::kNothingToDo) {
    text.push_back("Nothing needed doing.");
  } else {
    text.push_back(fmt::format("{} transaction {}.", undo ? "Undid" : "Applied", r.record.id));
    text.push_back(fmt::format("{}: {}", undo ? "Restored" : "Wrote", fmt::join(r.changed, ", ")));
  }
  if (r.outcome == vmprep::Outcome::kActionFailed)
    text.push_back("A command failed (see the apply log): run it by hand before rebooting.");
  text.push_back("");
  text.push_back("Reboot now to use the " +
                 std::string(undo ? "restored configuration" : "changes") +
                 ": the kernel command line, the initramfs and the modules loaded at boot are "
                 "read at boot.");
  text.push_back(undo ? "After the reboot, vmcheck-boot.service compares vmcheck's findings with "
                        "the expected state as it was before the transaction (none when there "
                        "was none): /var/lib/vmprep/expected.json."
                      : "After the reboot, vmcheck-boot.service runs vmcheck and compares it "
                        "with /var/lib/vmprep/expected.json; any difference is in its log "
                        "(journalctl -u vmcheck-boot), and the wizard shows it next time.");
  if (!undo && !r.record.id.empty()) {
    text.push_back("To undo: vmsetup undo " + r.record.id +
                   ", or the History screen of this wizard (vmsetup wizard).");
  }
  page.SetText("Next steps", text);
  page.SetButtons({"Quit", "History"}, 0);
  page.SetKeys("Enter quit  Tab buttons  F1/? help  q quit");
  page.SetHelp([](int) {
    return std::vector<std::string>{
        "Quit leaves the wizard. History lists every transaction and undoes one."};
  });
  for (;;) {
    PageEvent e = page.Run();
    if (e.kind == PageEvent::Kind::kButton && e.button == 1) {
      state.history_back = Step::kDone;
      return Step::kHistory;
    }
    if (e.kind == PageEvent::Kind::kBack) continue;
    return Step::kQuit;
  }
}

}  // namespace vmprep::wizard
