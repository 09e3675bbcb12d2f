/// The session: apply and undo under the transaction lock, with progress, and the post-actions
/// they run. Requests are parsed in session_request.cc, plans made in session_plan.cc.
#include "fixers/session.h"

#include <fmt/format.h>

#include "fixers/post_actions.h"
#include "fixers/session_internal.h"

namespace vmprep {
namespace {

void Report(const ApplyOptions& options, ProgressEvent::Kind kind, std::string text,
            bool ok = true) {
  if (options.progress) options.progress({kind, std::move(text), ok});
}

// Runs (or, without regenerate, reports) the post-actions; false when one failed.
bool RunActions(const Host& host, const std::vector<PostAction>& actions,
                const ApplyOptions& options, std::vector<Error>* errors) {
  bool ok = true;
  const std::string& config = host.root_path(Root::kConfig);
  if (options.regenerate && !actions.empty() && config != "/" &&
      !host.Exists(Root::kConfig, "/proc/self")) {
    // The commands run chrooted there; initramfs and GRUB tools read /proc, /sys and /dev.
    Report(options, ProgressEvent::Kind::kWarning,
           fmt::format("no /proc mounted in {}; the commands below usually need /proc, /sys "
                       "and /dev bind-mounted there",
                       config));
  }
  for (const auto& a : actions) {
    std::string shown = FormatArgv(a.argv);
    if (!options.regenerate) {
      Report(options, ProgressEvent::Kind::kActionSkipped, shown);
      continue;
    }
    Report(options, ProgressEvent::Kind::kActionStarted, shown);
    auto ran = RunPostAction(host, a, [&](std::string_view line) {
      Report(options, ProgressEvent::Kind::kActionOutput, std::string(line));
    });
    Report(options, ProgressEvent::Kind::kActionFinished, shown, ran.has_value());
    if (!ran) {
      errors->push_back(ran.error());
      ok = false;
    }
  }
  return ok;
}

}  // namespace

SessionResult Apply(const Host& host, const Request& request, const ApplyOptions& options) {
  SessionResult result;
  auto lock = TransactionLock::Acquire(host);
  if (!lock) {
    result.outcome = Outcome::kCannotRun;
    result.errors.push_back(lock.error());
    return result;
  }
  ReportRecovery(RecoverInterrupted(host, *lock), options.progress);
  result.plan = MakePlan(host, request);
  Report(options, ProgressEvent::Kind::kPlanned, "");
  if (!result.plan.refusals.empty()) {
    result.outcome = Outcome::kRefused;
    return result;
  }
  if (result.plan.NothingToDo()) return result;
  // A bridge moves the host's own network: shown by plan, applied only when asked for.
  if (request.options.net_bridge && !request.options.allow_network_change) {
    result.outcome = Outcome::kRefused;
    result.errors.push_back(Error{"", 0,
                                  "bridge=NAME:IFACE changes the host's network: read the plan, "
                                  "then apply it with --allow-network-change (from a console)",
                                  0});
    return result;
  }
  if (options.confirm && !options.confirm(result.plan)) {
    result.outcome = Outcome::kDeclined;
    return result;
  }
  auto applied = ApplyEditSet(host, result.plan.edits, *lock);
  if (!applied) {
    result.outcome = IsRefusal(applied.error()) ? Outcome::kRefused : Outcome::kFailed;
    result.errors.push_back(applied.error());
    return result;
  }
  result.record = applied->record;
  result.changed = applied->changed;
  Report(options, ProgressEvent::Kind::kApplied, result.record.id);
  for (const auto& path : result.changed) Report(options, ProgressEvent::Kind::kFileWritten, path);
  result.outcome = RunActions(host, result.plan.edits.actions, options, &result.errors)
                       ? Outcome::kDone
                       : Outcome::kActionFailed;
  return result;
}

SessionResult Undo(const Host& host, std::string_view id, const ApplyOptions& options) {
  SessionResult result;
  auto lock = TransactionLock::Acquire(host);
  if (!lock) {
    result.outcome = Outcome::kCannotRun;
    result.errors.push_back(lock.error());
    return result;
  }
  ReportRecovery(RecoverInterrupted(host, *lock), options.progress);
  if (options.confirm) {
    // Asked with what undo restores, read under the lock. When it cannot be read, undo
    // below fails with the same error.
    if (auto preview = PreviewUndo(host, id)) {
      SessionPlan plan;
      plan.edits = std::move(preview->edits);
      if (!options.confirm(plan)) {
        result.outcome = Outcome::kDeclined;
        result.record = std::move(preview->record);
        return result;
      }
    }
  }
  auto undone = UndoTransaction(host, id, *lock);
  if (!undone) {
    const Error& e = undone.error();
    if (e.errno_value == ENOENT && e.path == kTransactionsDir) {
      result.outcome = id.empty() ? Outcome::kNothingToDo : Outcome::kCannotRun;
      if (!id.empty()) result.errors.push_back(e);
      return result;
    }
    result.errors.push_back(e);
    result.outcome = IsRefusal(e) ? Outcome::kRefused : Outcome::kFailed;
    return result;
  }
  result.record = *undone;
  result.changed = undone->files;
  for (const auto& path : result.changed) Report(options, ProgressEvent::Kind::kFileWritten, path);
  result.outcome = RunActions(host, undone->actions, options, &result.errors)
                       ? Outcome::kDone
                       : Outcome::kActionFailed;
  return result;
}

int ExitStatus(Outcome outcome) {
  switch (outcome) {
    case Outcome::kNothingToDo:
    case Outcome::kDone:
      return 0;
    case Outcome::kRefused:
      return 1;
    case Outcome::kFailed:
      return 2;
    case Outcome::kCannotRun:
      return 3;
    case Outcome::kDeclined:
      return 4;
    case Outcome::kActionFailed:
      return 5;
  }
  return 3;
}

std::expected<std::vector<TransactionRecord>, Error> History(const Host& host,
                                                             const ProgressFn& progress) {
  ReportRecovery(RecoverInterrupted(host), progress);
  return ListTransactions(host);
}

}  // namespace vmprep
