// Transactions: apply an EditSet atomically and undoably, under the config root.
//
// Apply re-reads every file and refuses if it changed since the plan; backs the originals up
// into /var/lib/vmprep/transactions/<id>/ with a manifest; writes each file atomically through
// the Host (temp file, fsync, rename, fsync dir), keeping owner, mode and symlinks; and if
// any step fails restores what it had already replaced. /var/lib/vmprep/lock keeps two runs
// apart. Undo restores a transaction's files byte for byte and removes files it created.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/host.h"
#include "fixers/edit.h"

namespace vmprep {

inline constexpr std::string_view kTransactionsDir = "/var/lib/vmprep/transactions";

struct TransactionRecord {
  std::string id;                   // "20261124T071530Z-3f2a" (sortable, unique)
  std::string created;              // ISO 8601 UTC
  std::vector<std::string> files;   // paths changed, in apply order
  std::vector<std::string> fixers;  // fixer ids involved
  bool undone = false;
  // "applying" (interrupted or not fully rolled back: the next run rolls it back, undo
  // finishes it), "applied", "rolled-back" (a failed apply that restored everything),
  // "undone", or "corrupt" (the manifest cannot be read as one: `problem` says why).
  std::string state;
  std::vector<PostAction> actions;  // what the apply asked to run; undo runs them again
  std::string problem;              // state "corrupt": "MANIFEST: what is wrong"
};

struct ApplyResult {
  TransactionRecord record;
  std::vector<std::string> changed;  // paths actually written or removed
};

// /var/lib/vmprep/lock, held while it lives. A caller that plans and then applies takes it
// before planning, so no other run can change the files in between.
class TransactionLock {
 public:
  static std::expected<TransactionLock, Error> Acquire(const Host& host);
  TransactionLock(TransactionLock&&) noexcept = default;
  TransactionLock& operator=(TransactionLock&&) noexcept = default;

 private:
  TransactionLock() = default;
  Fd fd_;  // closing it releases the lock
};

// Writes `plan` (its post-actions are NOT run here: the caller runs or prints them).
// An empty plan writes nothing and records no transaction. The first form takes the lock.
std::expected<ApplyResult, Error> ApplyEditSet(const Host& host, const EditSet& plan);
std::expected<ApplyResult, Error> ApplyEditSet(const Host& host, const EditSet& plan,
                                               const TransactionLock& held);

// Restores the named transaction (or the newest one not yet undone when `id` is empty).
// Refuses, naming the file, when a file was changed after the transaction.
std::expected<TransactionRecord, Error> UndoTransaction(const Host& host, std::string_view id);
std::expected<TransactionRecord, Error> UndoTransaction(const Host& host, std::string_view id,
                                                        const TransactionLock& held);

// What undoing a transaction would write, checked as UndoTransaction checks before it
// restores anything (the same refusals): per file not yet as before, an edit from the bytes
// now to the original (`after` nullopt: the transaction created the file, undo removes it),
// and the post-actions undo runs again. Reads only; takes no lock.
struct UndoPreview {
  TransactionRecord record;
  EditSet edits;
};
std::expected<UndoPreview, Error> PreviewUndo(const Host& host, std::string_view id);

// Every recorded transaction, oldest first.
std::expected<std::vector<TransactionRecord>, Error> ListTransactions(const Host& host);

// What a run did, before its own work, about a transaction an earlier run left unfinished
// (killed with SIGKILL, a power cut, a rollback that could not complete).
struct Recovery {
  std::string id;         // the transaction (its directory name)
  bool complete = false;  // rolled back / undone / cleaned up entirely and marked so
  std::string message;    // one line: what was done, or what is left and why (paths named)
};

// The journal's other half. Under the lock: each transaction still "applying" is rolled back
// (every file that holds what it wrote is restored from the backup, every file is read back
// and compared with its sha256 before, then it is marked rolled-back); each one "undoing" is
// undone the same way and marked undone; the record of an apply stopped before its manifest
// (nothing was changed yet) is removed; temporary files Host::WriteAtomic left beside the
// transaction's files and in its directory are removed. A transaction that cannot be
// completed keeps its state, and the message says which file and why.
std::vector<Recovery> RecoverInterrupted(const Host& host, const TransactionLock& held);
// The same for a run that does not hold the lock (plan, history): it only looks, changing
// nothing, unless a transaction is unfinished; then it takes the lock. When another run holds
// the lock, nothing is unfinished: that run is still at work.
std::vector<Recovery> RecoverInterrupted(const Host& host);

// --- Added by the transaction engine (not used by the fixers themselves) ---

inline constexpr std::string_view kLockPath = "/var/lib/vmprep/lock";

// Checks a merged plan before anything is read or written: absolute paths, no "..", no file
// edited twice with different results (names both fixers). ApplyEditSet runs it too.
std::expected<void, Error> CheckEditSet(const EditSet& plan);
// The same, then each file as it is now, with the checks ApplyEditSet makes before writing
// (Host::ResolveForWrite: a regular file reached inside the config root; no link removed):
// what plan refuses, apply refuses with the same words, and the other way round.
std::expected<void, Error> CheckEditSet(const Host& host, const EditSet& plan);

// True when `error` says another run holds /var/lib/vmprep/lock.
bool IsLockHeld(const Error& error);

// True when an apply or undo refused rather than failed: nothing was written because of what
// was found (a file changed since the plan or since the transaction, a transaction already
// undone, a manifest or backup that cannot be trusted, a file vmsetup does not edit), not
// because a system call failed. Such errors carry no errno (see core/error.h) or EALREADY.
bool IsRefusal(const Error& error);

// SHA-256 of `bytes` as 64 lower-case hex digits (what the manifest records).
std::string Sha256Hex(std::string_view bytes);

// The edits of `plan` that change something (before != after), in plan order.
std::vector<const FileEdit*> EffectiveEdits(const EditSet& plan);

}  // namespace vmprep
