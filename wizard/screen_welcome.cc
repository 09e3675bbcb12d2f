/// Welcome: what the wizard does and how to leave it; first, a transaction that waits for
/// its reboot or drift from what the last one expected, with the offer to undo it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

#include "wizard/page.h"
#include "wizard/screens.h"

namespace vmprep::wizard {
namespace {

const std::vector<std::string> kAbout = {
    "This wizard prepares this machine for virtual machines with PCI passthrough (KVM and "
    "VFIO), step by step:",
    "  1. Welcome: this page",
    "  2. Scan: KVM, the IOMMU and its groups (the checks vmcheck makes)",
    "  3. Devices: the PCI devices to give to virtual machines",
    "  4. Options: iommu=pt, vhost_net, huge pages, Xorg isolation, a bridge",
    "  5. Review: every file change as a diff, and the commands that run after it",
    "  6. Apply: one transaction, undone in one step",
    "  7. Done: what to do next (a reboot) and how to undo",
    "Nothing is written before you choose Apply on the review screen.",
    "",
    "Keys: Enter takes the default step, Esc goes back, Tab moves between panes, arrows "
    "move, Space chooses, F1 or ? explains the item under the cursor, q quits without "
    "writing anything.",
};

// What must be said before anything else, and the transaction an undo would undo.
std::vector<std::string> Warnings(const State& state, std::string* undo_id) {
  const Facts& f = state.facts;
  std::vector<std::string> out;
  for (const auto& r : f.recovered) out.push_back("An interrupted vmsetup run was finished: " + r);
  if (f.history_error)
    out.push_back("The transaction history cannot be read: " + f.history_error->ToString());
  if (f.awaiting) {
    *undo_id = f.awaiting->id;
    out.push_back("Transaction " + f.awaiting->id + " (" + f.awaiting->created.substr(0, 19) +
                  ", " + fmt::format("{}", fmt::join(f.awaiting->fixers, ", ")) +
                  ") is applied and waits for a reboot: it changed " +
                  fmt::format("{}", fmt::join(f.awaiting->files, ", ")) +
                  ". Reboot to use it; vmcheck-boot.service then checks the result. You can "
                  "continue, undo it now, or quit.");
  } else if (!f.readiness.drift.empty()) {
    for (auto it = f.history.rbegin(); it != f.history.rend(); ++it) {
      if (it->state == "applied") {
        *undo_id = it->id;
        break;
      }
    }
    out.push_back(
        "vmcheck finds this machine differs from what the last transaction" +
        (undo_id->empty() ? std::string() : " (" + *undo_id + ")") +
        " expected after its reboot: " + fmt::format("{}", fmt::join(f.readiness.drift, "; ")) +
        ". Continue to see the scan, " + (undo_id->empty() ? "" : "undo that transaction, ") +
        "or quit.");
  }
  if (f.readiness.expected_error)
    out.push_back("Not compared with the expected state: " +
                  f.readiness.expected_error->ToString());
  return out;
}

// The welcome text and buttons for what is known now; `undo_id` the transaction to offer.
void Fill(const State& state, Page& page, std::vector<std::string>* buttons, std::string* undo_id) {
  undo_id->clear();
  std::vector<std::string> warnings = Warnings(state, undo_id);
  std::vector<std::string> text;
  for (const auto& w : warnings) text.push_back("!! " + w);
  if (!warnings.empty()) text.push_back("");
  text.insert(text.end(), kAbout.begin(), kAbout.end());
  const std::string& runtime = state.host.root_path(Root::kRuntime);
  const std::string& config = state.host.root_path(Root::kConfig);
  if (runtime != "/" || config != "/") {
    text.push_back("");
    text.push_back("Machine: runtime root " + runtime + " (/sys, /proc), config root " + config +
                   " (/etc, /boot: the files changed).");
  }
  page.SetText("Set up KVM and PCI passthrough", text);
  *buttons = {warnings.empty() ? "Start" : "Continue", "History", "Quit"};
  if (!undo_id->empty()) buttons->insert(buttons->begin() + 1, "Undo it");
  page.SetButtons(*buttons, 0);
}

}  // namespace

Step WelcomeScreen(Ui& ui, State& state) {
  Page page(ui, Title("Welcome", 1));
  std::vector<std::string> buttons;
  std::string undo_id;
  Fill(state, page, &buttons, &undo_id);
  page.SetKeys("Enter start  Tab buttons  arrows scroll  F1/? help  q quit");
  page.SetHelp([](int) {
    return std::vector<std::string>{
        "Start runs the scan. History lists the transactions vmsetup applied and undoes one.",
        "Undo it (shown when a transaction waits for its reboot or the machine drifted from "
        "it) shows what undoing it restores, then undoes it.",
        "Nothing is written until you choose Apply (or Undo) after a review."};
  });
  if (!state.facts.drift_checked) {
    // Drawn first; drift takes the checks vmcheck makes, then the page says what it found.
    page.Draw();
    LoadDrift(state.host, &state.facts);
    Fill(state, page, &buttons, &undo_id);
  }
  for (;;) {
    PageEvent e = page.Run();
    if (e.kind == PageEvent::Kind::kQuit) return Step::kQuit;
    if (e.kind != PageEvent::Kind::kButton) continue;  // Esc: nowhere to go back to
    const std::string& chosen = buttons[e.button];
    if (chosen == "Start" || chosen == "Continue") return Step::kScan;
    if (chosen == "Undo it") {
      state.undo_id = undo_id;
      state.undo_back = Step::kWelcome;
      return Step::kUndoReview;
    }
    if (chosen == "History") {
      state.history_back = Step::kWelcome;
      return Step::kHistory;
    }
    return Step::kQuit;
  }
}

}  // namespace vmprep::wizard
