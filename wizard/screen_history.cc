/// History: the transactions, newest first; one of them undone after the same review as an
/// apply.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

#include "fixers/post_actions.h"
#include "wizard/page.h"
#include "wizard/screens.h"

namespace vmprep::wizard {
namespace {

std::vector<std::string> Detail(const TransactionRecord& r) {
  if (!r.problem.empty()) return {"Transaction " + r.id + " cannot be read: " + r.problem};
  std::vector<std::string> out = {fmt::format("Transaction {}, {} ({}), by {}", r.id, r.created,
                                              r.state, fmt::join(r.fixers, ", ")),
                                  "Files:"};
  for (const auto& f : r.files) out.push_back("  " + f);
  if (!r.actions.empty()) {
    out.push_back("Commands (run again by an undo):");
    for (const auto& a : r.actions) out.push_back("  " + FormatArgv(a.argv));
  }
  if (r.state == "applied") {
    out.push_back("Undo shows what it restores first (vmsetup undo " + r.id + ").");
  } else {
    out.push_back("Nothing to undo: it is " + r.state + ".");
  }
  return out;
}

}  // namespace

Step HistoryScreen(Ui& ui, State& state) {
  LoadHistory(state.host, &state.facts);
  const std::vector<TransactionRecord> records(state.facts.history.rbegin(),
                                               state.facts.history.rend());
  Page page(ui, Title("History", 0));
  std::vector<std::string> items;
  for (const auto& r : records) {
    items.push_back(Plain(fmt::format("{}  {}  {:<11} {}", r.id, r.created.substr(0, 19), r.state,
                                      fmt::join(r.fixers, ","))));
  }
  if (state.facts.history_error) {
    page.SetIntro({"The history cannot be read: " + state.facts.history_error->ToString()});
  } else {
    page.SetIntro({records.empty() ? "No transactions recorded yet."
                                   : "The transactions vmsetup applied, newest first. Enter "
                                     "reviews what undoing the one under the cursor restores."});
  }
  if (!records.empty()) {
    page.SetList("Transactions", items, 0);
    page.SetDetail([&](int i) { return Detail(records[i]); });
    page.SetButtons({"Undo", "Back", "Quit"}, 0);
  } else {
    page.SetButtons({"Back", "Quit"}, 0);
  }
  page.SetHelp([](int) {
    return std::vector<std::string>{
        "Each line is one transaction: id, time (UTC), state, the fixers that wrote it. Undo "
        "restores its files byte for byte after the same review as an apply; a file changed "
        "since the transaction is named and nothing is undone."};
  });
  page.SetKeys("Enter undo  Esc back  Tab pane  F1/? help  q quit");
  for (;;) {
    PageEvent e = page.Run();
    if (e.kind == PageEvent::Kind::kQuit) return Step::kQuit;
    if (e.kind == PageEvent::Kind::kBack) return state.history_back;
    if (e.kind != PageEvent::Kind::kButton) continue;
    const int offset = records.empty() ? 1 : 0;
    if (e.button + offset == 2) return Step::kQuit;
    if (e.button + offset == 1) return state.history_back;
    const TransactionRecord& r = records[e.item];
    if (r.state != "applied") {
      ui.Ask("Nothing to undo", {"Transaction " + r.id + " is " + r.state + "."}, {"OK"});
      continue;
    }
    state.undo_id = r.id;
    state.undo_back = Step::kHistory;
    return Step::kUndoReview;
  }
}

}  // namespace vmprep::wizard
