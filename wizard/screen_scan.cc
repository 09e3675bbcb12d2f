/// Scan: the probes with a progress gauge, then a summary with pass/warn/fail marks; a
/// failure no configuration mends says what to do in the firmware setup first.
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "wizard/page.h"
#include "wizard/screens.h"

namespace vmprep::wizard {
namespace {

struct Row {
  std::string label;
  std::vector<const Finding*> findings;
  Severity worst = Severity::kSkip;
  std::string text;
  std::vector<std::string> more;  // lines before the findings in the detail
};

Mark MarkOf(Severity s) {
  switch (s) {
    case Severity::kPass:
      return Mark::kPass;
    case Severity::kNote:
      return Mark::kNote;
    case Severity::kWarn:
      return Mark::kWarn;
    case Severity::kFail:
      return Mark::kFail;
    case Severity::kSkip:
      break;
  }
  return Mark::kSkip;
}

void Finish(Row& row) {
  for (const Finding* f : row.findings) {
    if (row.text.empty() || SeverityRank(f->severity) > SeverityRank(row.worst)) {
      row.worst = f->severity;
      row.text = f->summary;
    }
  }
  if (row.findings.empty() && row.text.empty()) row.text = "not checked";
}

std::vector<Row> Summarize(const State& state) {
  const Facts& facts = state.facts;
  Row kvm{"KVM"}, iommu{"IOMMU"}, remap{"Interrupt remapping"}, groups{"IOMMU groups"};
  Row pending{"Pending changes"};
  std::vector<Row> others;
  for (const auto& f : facts.findings) {
    if (f.pending) pending.findings.push_back(&f);
    if (f.check == "kvm") {
      kvm.findings.push_back(&f);
    } else if (f.id == "iommu.interrupt-remapping") {
      remap.findings.push_back(&f);
    } else if (f.check == "iommu") {
      iommu.findings.push_back(&f);
    } else if (f.check == "isolation") {
      groups.findings.push_back(&f);
    } else {
      auto it = std::find_if(others.begin(), others.end(),
                             [&](const Row& r) { return r.label == f.check; });
      if (it == others.end()) it = others.insert(others.end(), Row{f.check});
      it->findings.push_back(&f);
    }
  }
  for (Row* r : {&kvm, &iommu, &remap, &groups}) Finish(*r);
  for (Row& r : others) Finish(r);
  if (facts.scan) {
    int choosable =
        static_cast<int>(std::count_if(facts.devices.begin(), facts.devices.end(),
                                       [](const DeviceRow& d) { return d.selectable; }));
    groups.more.push_back(
        fmt::format("{} IOMMU groups, {} devices (not bridges), {} of them can "
                    "be given to a VM",
                    facts.scan->topology.group_count(), facts.devices.size(), choosable));
  } else if (facts.scan_error) {
    groups.more.push_back("The PCI devices cannot be read: " + facts.scan_error->ToString());
  }
  pending.worst = pending.findings.empty() && !facts.awaiting ? Severity::kPass : Severity::kWarn;
  pending.text =
      pending.findings.empty()
          ? "none"
          : fmt::format("{} change(s) configured, not yet in effect", pending.findings.size());
  if (facts.awaiting) {
    pending.more.push_back("Transaction " + facts.awaiting->id + " waits for a reboot.");
    if (pending.findings.empty())
      pending.text = "transaction " + facts.awaiting->id + " waits for a reboot";
  }
  std::vector<Row> rows = {kvm, iommu, remap, groups, pending};
  rows.insert(rows.end(), others.begin(), others.end());
  return rows;
}

// What stops passthrough whatever is configured, and what is still offered. The lines of
// the summary hold the findings with their exact fix.
std::vector<std::string> Blockers(const State& state) {
  const Readiness& r = state.facts.readiness;
  std::vector<std::string> out;
  if (!r.no_iommu.empty()) {
    out.push_back("No IOMMU: " + r.no_iommu.front().summary +
                  ". Turn on VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware setup, then run "
                  "the wizard again. Until then no device can go to a VM: the devices step is "
                  "skipped.");
  }
  if (!r.no_kvm.empty()) {
    out.push_back("KVM cannot be used: " + r.no_kvm.front().summary +
                  " (the KVM line below says what to do). The configuration can be prepared "
                  "now; it is used once KVM works.");
  }
  return out;
}

void RunScan(Ui& ui, State& state) {
  Page page(ui, Title("Scan", 2));
  page.SetIntro({"Checking this machine (read only)..."});
  page.SetGauge("Starting", 0);
  page.SetKeys("Please wait");
  page.Draw();
  Scan(state.host, &state.facts, [&](const std::string& what, int done, int total) {
    page.SetGauge(fmt::format("{} ({}/{})", what, std::min(done + 1, total), total),
                  total == 0 ? 100 : done * 100 / total);
    page.Draw();
  });
  state.scanned = true;
  if (!state.choices_set) {
    state.choices = state.facts.defaults;
    state.choices_set = true;
  }
  if (!state.facts.readiness.no_iommu.empty()) {
    state.choices.options.devices.clear();
    state.choices.options.vfio = false;
    state.choices.options.iommu = state.choices.options.iommu_pt = false;
  }
}

}  // namespace

Step ScanScreen(Ui& ui, State& state) {
  if (!state.scanned) RunScan(ui, state);
  std::vector<Row> rows = Summarize(state);
  std::vector<std::string> items;
  for (const Row& r : rows) {
    items.push_back(ui.MarkText(MarkOf(r.worst)) + " " +
                    Plain(fmt::format("{:<20} {}", r.label, r.text)));
  }
  Page page(ui, Title("Scan", 2));
  std::vector<std::string> intro;
  for (const auto& b : Blockers(state)) intro.push_back("! " + b);
  if (intro.empty()) intro.push_back("The checks vmcheck makes. Arrows: the findings of a line.");
  page.SetIntro(intro);
  page.SetList("Summary", items);
  page.SetDetail([&](int i) {
    std::vector<std::string> lines = rows[i].more;
    for (const Finding* f : rows[i].findings) {
      for (auto& l : FindingLines(*f)) lines.push_back(std::move(l));
    }
    if (lines.empty()) lines.push_back("Nothing to show.");
    return lines;
  });
  page.SetHelp([&](int i) {
    std::vector<std::string> lines = {
        "Each line sums up one area; the pane below lists its findings with the exact fix "
        "(\"fix:\") and what was read (\"seen:\"). Next goes on to the devices."};
    if (i >= 0) {
      lines.push_back("");
      for (const Finding* f : rows[i].findings) {
        for (auto& l : FindingLines(*f)) lines.push_back(std::move(l));
      }
    }
    return lines;
  });
  page.SetButtons({"Next", "Back", "Quit"}, 0);
  page.SetKeys("Enter next  Esc back  arrows findings  Tab pane  F1/? help  q quit");
  for (;;) {
    PageEvent e = page.Run();
    if (e.kind == PageEvent::Kind::kQuit) return Step::kQuit;
    if (e.kind == PageEvent::Kind::kBack) return Step::kWelcome;
    if (e.kind != PageEvent::Kind::kButton) continue;
    if (e.button == 0) return AfterScan(state);
    return e.button == 1 ? Step::kWelcome : Step::kQuit;
  }
}

}  // namespace vmprep::wizard
