// Session: the one API that vmsetup, the wizard and the live ISO call to plan, apply and
// undo. It parses what the user asks for, collects every fixer's plan, adds the expected
// state vmcheck-boot.service compares against, applies under the transaction lock (taken
// before planning, so nothing changes between the plan and the write), runs the post-actions
// and reports progress through a callback. Front ends only print and ask.
#pragma once

#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/host.h"
#include "fixers/edit.h"
#include "fixers/fixer.h"
#include "fixers/transaction.h"

namespace vmprep {

// What the user asks for: vmsetup's --device, --enable and --allow-host-device.
struct Request {
  FixerOptions options;
  bool empty() const;
};

// Builds a request from the values of --device, --enable (comma lists allowed) and
// --allow-host-device. An Error names the bad value and what was expected.
std::expected<Request, Error> ParseRequest(const std::vector<std::string>& devices,
                                           const std::vector<std::string>& enable,
                                           const std::vector<std::string>& allow_host_devices);
// The same from an argument vector as findings carry it ({"--enable", "iommu", ...}).
std::expected<Request, Error> ParseRequestArgs(const std::vector<std::string>& args);

// A fixer that could not plan (file:line in the error); nothing may be applied then.
struct Refusal {
  std::string fixer;  // fixer id, or "vmsetup" for a refusal of the request itself
  Error error;
};

struct SessionPlan {
  EditSet edits;                      // every fixer's edits and post-actions, merged
  std::vector<Refusal> refusals;      // non-empty: apply writes nothing
  std::vector<std::string> warnings;  // consequences to read before applying
  // True when nothing needs writing or running: the system already has what was asked.
  bool NothingToDo() const;
};

// Progress of an apply or undo, for a front end to show as it happens.
struct ProgressEvent {
  enum class Kind {
    kPlanned,         // the plan is made (under the lock)
    kApplied,         // the files are written: `record` names the transaction
    kFileWritten,     // `text` is the path
    kActionStarted,   // `text` is the command line
    kActionOutput,    // `text` is one line the command printed
    kActionFinished,  // `text` is the command line; `ok` says how it ended
    kActionSkipped,   // --no-regenerate: `text` is the command to run by hand
    kWarning,         // something the user should know before the commands run
    kRecovered,       // an earlier run left a transaction unfinished: `text` says what was
                      // done about it; `ok` is false when it could not be completed
  };
  Kind kind;
  std::string text;
  bool ok = true;
};
using ProgressFn = std::function<void(const ProgressEvent&)>;

// Plans `request` without taking the lock (vmsetup plan, the wizard's review). Like every
// entry point here it first finishes what an interrupted run left unfinished (see
// RecoverInterrupted in fixers/transaction.h), reported as kRecovered events.
SessionPlan MakePlan(const Host& host, const Request& request, const ProgressFn& progress = {});

enum class Outcome {
  kNothingToDo,   // nothing needed doing (or nothing to undo)
  kDone,          // applied or undone, post-actions (if run) succeeded
  kRefused,       // a fixer or the request was refused; or undo found a file changed since
  kDeclined,      // the confirmation said no
  kFailed,        // writing failed; what was written was restored (error says what was not)
  kActionFailed,  // files written, a post-action failed: error says which, run it by hand
  kCannotRun,     // the lock is held, or the root cannot be used
};

// vmsetup's exit status for an outcome (vmsetup(8)), which the live ISO's helper returns too:
// 0 done or nothing to do, 1 refused, 2 failed and rolled back, 3 cannot run, 4 declined,
// 5 a regenerate command failed.
int ExitStatus(Outcome outcome);

struct SessionResult {
  Outcome outcome = Outcome::kNothingToDo;
  SessionPlan plan;                  // apply: the plan that was (or would have been) applied
  TransactionRecord record;          // the transaction applied or undone
  std::vector<std::string> changed;  // paths written or restored
  std::vector<Error> errors;         // what went wrong, most important first
};

struct ApplyOptions {
  bool regenerate = true;  // run the post-actions (else report them as skipped)
  // Asked with the plan (made under the lock) before anything is written; false declines.
  std::function<bool(const SessionPlan&)> confirm;
  ProgressFn progress;
};

// Takes the lock, plans, asks `confirm`, applies as one transaction, runs the post-actions.
SessionResult Apply(const Host& host, const Request& request, const ApplyOptions& options);

// Undoes the named transaction (the newest applied one when `id` is empty) and runs its
// post-actions again.
SessionResult Undo(const Host& host, std::string_view id, const ApplyOptions& options);

// Every recorded transaction, oldest first.
std::expected<std::vector<TransactionRecord>, Error> History(const Host& host,
                                                             const ProgressFn& progress = {});

// What Undo(host, id) would restore, to show before asking (the wizard's history screen):
// the transaction, and as `plan.edits` each of its files from the bytes now to the bytes
// before it (a file it created: removed) with the post-actions undo runs again. What undo
// would refuse (a file changed since, a record that cannot be trusted) is in
// `plan.refusals`. Undo with a `confirm` callback asks it with this plan, made under the lock.
struct UndoPlan {
  TransactionRecord record;
  SessionPlan plan;
};
UndoPlan PlanUndo(const Host& host, std::string_view id, const ProgressFn& progress = {});

// The newest applied transaction recorded after the running kernel booted (runtime root's
// /proc/stat btime): its changes wait for a reboot. nullopt when there is none, or when the
// boot time cannot be read.
std::optional<TransactionRecord> AwaitingReboot(const Host& host,
                                                const std::vector<TransactionRecord>& history);

// True when both plans write the same files with the same bytes and run the same commands:
// what a front end showed is what Apply (which plans again under the lock) would write.
bool SameChanges(const SessionPlan& a, const SessionPlan& b);

// The vmsetup arguments that ask for `request` ({"--device", "0000:01:00.0", "--enable",
// "iommu,vhost_net"}): ParseRequestArgs gives the same request back.
std::vector<std::string> RequestArgs(const Request& request);

}  // namespace vmprep
