/// The session's plan: every fixer's edits for a request, the devices selected once for all
/// vfio fixers, and the expected state vmcheck-boot.service compares against after the reboot.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "fixers/net_bridge.h"
#include "fixers/session.h"
#include "fixers/session_internal.h"
#include "system/vfio_selection.h"

namespace vmprep {
namespace {

// The finding ids that must pass once the machine has rebooted with this plan applied.
std::vector<std::string> ExpectedToPass(const FixerOptions& options) {
  std::vector<std::string> pass;
  if (options.iommu) {
    pass.push_back("iommu.kernel");
    pass.push_back("iommu.cmdline");
  }
  for (const auto& d : options.devices) pass.push_back("vfio.binding." + d.ToString());
  if (options.vfio) pass.push_back("vfio.early");
  if (options.vhost_net) pass.push_back("vhost_net.module");
  if (options.hugepages) pass.push_back("hugepages.reserved");
  return pass;
}

// The ids an earlier transaction's expected.json already lists (kept: expectations accumulate
// across transactions); a file that is not ours to read is replaced, with a warning.
std::vector<std::string> EarlierExpectations(const std::string& path,
                                             const std::optional<std::string>& text,
                                             SessionPlan* plan) {
  std::vector<std::string> pass;
  if (!text) return pass;
  auto doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  bool ours = doc.is_object() && doc.value("schema", "") == "vmprep.expected/1" &&
              doc.contains("pass") && doc["pass"].is_array();
  if (ours) {
    for (const auto& id : doc["pass"]) {
      if (!id.is_string()) {
        ours = false;
        break;
      }
      pass.push_back(id.get<std::string>());
    }
  }
  if (!ours) {
    plan->warnings.push_back(fmt::format(
        "{}: not a vmprep.expected/1 document (a \"pass\" array of finding ids); replaced by "
        "this transaction's expectations (the old file is kept in its backup)",
        path));
    pass.clear();
  }
  return pass;
}

// What vmcheck-boot.service compares against after the reboot (/var/lib/vmprep/expected.json,
// systemd/README.md): the ids every applied transaction expects to pass, this one's added to
// the earlier ones. Part of the transaction, so undo restores the previous expectation.
void AddExpectedState(const Host& host, const FixerOptions& options, SessionPlan* plan) {
  if (EffectiveEdits(plan->edits).empty()) return;
  std::vector<std::string> added = ExpectedToPass(options);
  if (added.empty()) return;
  const std::string path(kExpectedStatePath);
  auto existing = ReadIfExists(host, path);
  if (!existing) {
    plan->refusals.push_back({"vmsetup", existing.error()});
    return;
  }
  std::vector<std::string> pass = EarlierExpectations(path, *existing, plan);
  for (auto& id : added) {
    if (std::find(pass.begin(), pass.end(), id) == pass.end()) pass.push_back(std::move(id));
  }
  nlohmann::ordered_json doc{{"schema", "vmprep.expected/1"},
                             {"transaction", nullptr},  // the id is made when applying
                             {"pass", pass}};
  FileEdit edit;
  edit.path = path;
  edit.before = std::move(*existing);
  edit.after = doc.dump(2) + "\n";
  edit.mode = 0644;
  edit.fixer = "vmsetup";
  edit.why = "what vmcheck-boot.service expects to pass after the reboot";
  if (edit.before == edit.after) return;
  plan->edits.edits.push_back(std::move(edit));
}

}  // namespace

// What RecoverInterrupted did, as progress events.
void ReportRecovery(const std::vector<Recovery>& recovered, const ProgressFn& progress) {
  for (const auto& r : recovered) {
    if (progress) progress({ProgressEvent::Kind::kRecovered, r.message, r.complete});
  }
}

bool SessionPlan::NothingToDo() const {
  return refusals.empty() && EffectiveEdits(edits).empty() && edits.actions.empty();
}

SessionPlan MakePlan(const Host& host, const Request& request, const ProgressFn& progress) {
  // Inside Apply (lock held, recovery done) this finds nothing unfinished and changes nothing.
  ReportRecovery(RecoverInterrupted(host), progress);
  SessionPlan plan;
  const FixerOptions& options = request.options;
  if (options.vfio) {
    // Every vfio fixer selects the same way; asked once here, a refusal is shown once.
    auto selection = SelectForVfio(host, options.devices, options.allow_host_devices);
    if (!selection) {
      plan.refusals.push_back({"vmsetup", selection.error()});
      return plan;
    }
    plan.warnings = selection->warnings;  // the fixers carry the notes
  }
  for (const auto& fixer : MakeAllFixers()) {
    auto planned = fixer->Plan(host, request.options);
    if (!planned) {
      plan.refusals.push_back({std::string(fixer->Id()), planned.error()});
      continue;
    }
    plan.edits.Append(std::move(*planned));
  }
  if (auto ok = CheckEditSet(host, plan.edits); !ok)
    plan.refusals.push_back({"vmsetup", ok.error()});
  if (plan.refusals.empty()) AddExpectedState(host, request.options, &plan);
  if (options.net_bridge) plan.warnings.push_back(NetBridgeWarning(host, *options.net_bridge));
  return plan;
}

}  // namespace vmprep
