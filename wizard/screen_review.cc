/// Review: every file's diff in a scrollable pane, file by file, then the post-actions and
/// warnings; back to change the choices. Nothing is written here. The same screen reviews
/// an undo from the history.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "fixers/post_actions.h"
#include "wizard/page.h"
#include "wizard/screens.h"

namespace vmprep::wizard {
namespace {

enum class Verdict { kGo, kBack, kQuit };

struct ReviewSpec {
  std::string screen;  // "Review"
  int step = 5;
  std::string go;                    // the last page's button: "Apply", "Undo"
  std::vector<std::string> summary;  // more lines for the last page
  std::vector<std::string> problem;  // instead of the plan: why there is nothing to go on
};

std::vector<std::string> DiffLines(const FileEdit& edit) {
  std::vector<std::string> out;
  const std::string diff = UnifiedDiff(edit);
  std::size_t start = 0;
  while (start < diff.size()) {
    std::size_t nl = diff.find('\n', start);
    std::string line = diff.substr(start, nl == std::string::npos ? nl : nl - start);
    bool added = line.starts_with("+") && !line.starts_with("+++");
    out.push_back(added ? "</B>" + Plain(line) + "<!B>" : Plain(line));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

std::vector<std::string> Summary(const State& state, const SessionPlan& plan,
                                 const ReviewSpec& spec) {
  std::vector<std::string> out = spec.summary;
  for (const auto& w : plan.warnings) out.push_back("WARNING: " + w);
  out.push_back("Files:");
  for (const FileEdit* e : EffectiveEdits(plan.edits)) {
    out.push_back(fmt::format("  {} {} ({}: {})",
                              !e->before  ? "create"
                              : !e->after ? "remove"
                                          : "change",
                              e->path, e->fixer, e->why));
  }
  if (!plan.edits.actions.empty()) {
    out.push_back(state.options.regenerate ? "Then runs:" : "Then, by hand (--no-regenerate):");
    for (const auto& a : plan.edits.actions) {
      out.push_back("  " + FormatArgv(a.argv) + (a.why.empty() ? "" : "  (" + a.why + ")"));
    }
  }
  for (const auto& n : plan.edits.notes) out.push_back("Note: " + n);
  return out;
}

Verdict Review(Ui& ui, const State& state, const SessionPlan& plan, const ReviewSpec& spec) {
  const std::vector<const FileEdit*> files = EffectiveEdits(plan.edits);
  Page page(ui, Title(spec.screen, spec.step));
  page.SetKeys("Enter next  Tab buttons  arrows scroll  Esc back  F1/? help  q quit");
  page.SetHelp([&](int) {
    return std::vector<std::string>{
        "Each file vmsetup would change, as a unified diff (- old line, + new line), one file "
        "per page, then a summary with the commands that run afterwards.",
        "Next file walks the pages; " + spec.go +
            " on the summary writes everything as one "
            "transaction (undone in one step). Back returns to the choices. Nothing has been "
            "written yet."};
  });
  const int pages = static_cast<int>(files.size()) + 1;
  for (int at = 0;;) {
    if (!spec.problem.empty()) {
      page.SetIntro({"Nothing can be written: see below. Nothing has been written."});
      page.SetText("", spec.problem);
      page.SetButtons({"Back", "Quit"}, 0);
    } else if (at < static_cast<int>(files.size())) {
      const FileEdit& e = *files[at];
      page.SetIntro({fmt::format("File {} of {}: {}. Nothing has been written yet.", at + 1,
                                 files.size(), e.path)});
      std::vector<std::string> lines;
      for (const auto& w : Wrap(e.fixer + ": " + e.why, ui.cols() - 4)) lines.push_back(Plain(w));
      lines.push_back("");
      for (auto& l : DiffLines(e)) lines.push_back(std::move(l));
      page.SetText(e.path, lines, true);
      page.SetButtons({"Next file", "Previous", "Back", "Quit"}, 0);
    } else {
      page.SetIntro(
          {fmt::format("Summary: {} file(s), {} command(s). Nothing has been written "
                       "yet; {} does it all as one transaction.",
                       files.size(), plan.edits.actions.size(), spec.go)});
      page.SetText("Summary", Summary(state, plan, spec));
      page.SetButtons({spec.go, "Previous", "Back", "Quit"}, 0);
    }
    PageEvent e = page.Run();
    if (e.kind == PageEvent::Kind::kQuit) return Verdict::kQuit;
    if (e.kind == PageEvent::Kind::kBack) return Verdict::kBack;
    if (e.kind != PageEvent::Kind::kButton) continue;
    const int last = spec.problem.empty() ? 3 : 1;  // the index of Quit
    if (e.button == last) return Verdict::kQuit;
    if (e.button == last - 1) return Verdict::kBack;
    if (e.button == 1) {
      at = std::max(0, at - 1);
    } else if (at + 1 < pages) {
      ++at;
    } else {
      return Verdict::kGo;
    }
  }
}

std::vector<std::string> Problems(const SessionPlan& plan, const std::string& nothing) {
  std::vector<std::string> out;
  for (const auto& r : plan.refusals) out.push_back(r.fixer + " refused: " + r.error.ToString());
  if (!out.empty()) {
    out.push_back("");
    out.push_back(
        "Nothing will be written. Go back and change the choices, or mend the file "
        "named above and run the wizard again.");
  } else if (plan.NothingToDo()) {
    out.push_back(nothing);
  }
  return out;
}

}  // namespace

Step ReviewScreen(Ui& ui, State& state) {
  ReviewSpec spec{.screen = "Review", .step = 5, .go = "Apply"};
  std::vector<std::string> recovered;
  auto request = Normalized(state.choices);
  if (state.choices.empty()) {
    spec.problem = {"Nothing is chosen: go back and choose devices or options."};
  } else if (!request) {
    spec.problem = {request.error().ToString()};
  } else {
    state.reviewed = MakePlan(state.host, *request,
                              [&](const ProgressEvent& e) { recovered.push_back(e.text); });
    spec.problem = Problems(state.reviewed,
                            "Nothing to do: this system already has what was "
                            "chosen. Go back to choose more, or quit.");
    spec.summary = {"The same as: " + CommandLine("apply", *request)};
  }
  for (const auto& r : recovered) spec.summary.push_back("Finished an interrupted run: " + r);
  switch (Review(ui, state, state.reviewed, spec)) {
    case Verdict::kGo:
      return Step::kApply;
    case Verdict::kBack:
      return Step::kOptions;
    case Verdict::kQuit:
      break;
  }
  return Step::kQuit;
}

Step UndoReviewScreen(Ui& ui, State& state) {
  ReviewSpec spec{.screen = "Review undo of " + state.undo_id, .step = 0, .go = "Undo"};
  UndoPlan undo = PlanUndo(state.host, state.undo_id);
  state.reviewed = undo.plan;
  spec.problem = Problems(undo.plan, "Nothing to undo: every file is already as it was before.");
  spec.summary = {"The same as: vmsetup undo " + state.undo_id,
                  "Restores the files as they were before transaction " + state.undo_id + " (" +
                      undo.record.created.substr(0, 19) + ")."};
  switch (Review(ui, state, state.reviewed, spec)) {
    case Verdict::kGo:
      return Step::kUndoApply;
    case Verdict::kBack:
      return state.undo_back;
    case Verdict::kQuit:
      break;
  }
  return Step::kQuit;
}

}  // namespace vmprep::wizard
