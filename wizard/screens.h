// The wizard's screens and the state they share. Each screen runs until the user moves on
// and returns the next step; wizard.cc walks the steps.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/host.h"
#include "fixers/session.h"
#include "wizard/facts.h"
#include "wizard/ui.h"
#include "wizard/wizard.h"

namespace vmprep::wizard {

enum class Step {
  kWelcome,
  kScan,
  kDevices,
  kOptions,
  kReview,
  kApply,
  kDone,
  kHistory,
  kUndoReview,
  kUndoApply,
  kQuit
};

struct State {
  const Host& host;
  Options options;
  Facts facts;
  bool scanned = false;
  Request choices;           // what the user chose so far
  bool choices_set = false;  // false until the defaults are taken over
  SessionPlan reviewed;      // the plan the review showed (apply or undo)
  std::string undo_id;       // the transaction the undo review is for
  SessionResult result;      // the last apply or undo
  bool last_was_undo = false;
  Step history_back = Step::kWelcome;  // where Esc on the history screen goes
  Step undo_back = Step::kHistory;     // where Back on the undo review goes
  int exit_code = 0;
};

Step WelcomeScreen(Ui& ui, State& state);
Step ScanScreen(Ui& ui, State& state);
Step DevicesScreen(Ui& ui, State& state);
Step OptionsScreen(Ui& ui, State& state);
Step ReviewScreen(Ui& ui, State& state);
Step UndoReviewScreen(Ui& ui, State& state);
Step ApplyScreen(Ui& ui, State& state, bool undo);
Step DoneScreen(Ui& ui, State& state);
Step HistoryScreen(Ui& ui, State& state);

// The step after the scan: the devices, or the options when no device can be passed
// through (no IOMMU in the firmware).
Step AfterScan(const State& state);
// "vmsetup wizard: Devices (step 3 of 7)"
std::string Title(std::string_view screen, int step);
// A finding as lines: "[WARN] summary (id)", "fix: hint", "seen: path: value".
std::vector<std::string> FindingLines(const Finding& f);

}  // namespace vmprep::wizard
