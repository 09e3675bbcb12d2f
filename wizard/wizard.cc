/// The wizard's steps, walked one screen after another (see wizard.h).
#include "wizard/wizard.h"

#include <cstdio>

#include "wizard/screens.h"

namespace vmprep::wizard {

std::string Title(std::string_view screen, int step) {
  std::string out = "vmsetup wizard: " + std::string(screen);
  if (step > 0) out += " (step " + std::to_string(step) + " of 7)";
  return out;
}

std::vector<std::string> FindingLines(const Finding& f) {
  std::string mark = "[" + std::string(SeverityName(f.severity)) + "]";
  for (auto& c : mark) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::vector<std::string> out = {mark + " " + f.summary + " (" + f.id + ")"};
  if (f.pending) out.push_back("  pending: configured, not yet in effect");
  if (!f.hint.empty()) out.push_back("  fix: " + f.hint);
  for (const auto& e : f.evidence) out.push_back("  seen: " + e.path + ": " + e.value);
  return out;
}

Step AfterScan(const State& state) {
  return state.facts.readiness.no_iommu.empty() ? Step::kDevices : Step::kOptions;
}

namespace {

Step Walk(Ui& ui, State& state, Step step) {
  switch (step) {
    case Step::kWelcome:
      return WelcomeScreen(ui, state);
    case Step::kScan:
      return ScanScreen(ui, state);
    case Step::kDevices:
      return DevicesScreen(ui, state);
    case Step::kOptions:
      return OptionsScreen(ui, state);
    case Step::kReview:
      return ReviewScreen(ui, state);
    case Step::kApply:
      return ApplyScreen(ui, state, false);
    case Step::kUndoReview:
      return UndoReviewScreen(ui, state);
    case Step::kUndoApply:
      return ApplyScreen(ui, state, true);
    case Step::kDone:
      return DoneScreen(ui, state);
    case Step::kHistory:
      return HistoryScreen(ui, state);
    case Step::kQuit:
      break;
  }
  return Step::kQuit;
}

}  // namespace

int Run(const Host& host, const Options& options) {
  State state{.host = host, .options = options};
  // Read before the terminal is taken over; the first screen needs all of it.
  LoadHistory(host, &state.facts);
  auto ui = Ui::Open();
  if (!ui) {
    std::fprintf(stderr, "vmsetup: cannot start the wizard: %s\n", ui.error().c_str());
    return 3;
  }
  for (Step step = Step::kWelcome; step != Step::kQuit;) step = Walk(**ui, state, step);
  return state.exit_code;
}

}  // namespace vmprep::wizard
