/// Transactions: undo (every file verified before any is restored, and a journal state so a
/// killed undo is finished by the next run) and the list of transactions. Part of
/// fixers/transaction.cc.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "fixers/transaction_internal.h"

namespace vmprep {

using txn::CorruptRecord;
using txn::DescribeStuck;
using txn::FileEntry;
using txn::kStateApplied;
using txn::kStateApplying;
using txn::kStateRolledBack;
using txn::kStateUndoing;
using txn::kStateUndone;
using txn::LoadAll;
using txn::Loaded;
using txn::MakeError;
using txn::Manifest;
using txn::ReadCurrent;
using txn::RestoreFiles;
using txn::ToRecord;
using txn::TransactionDir;
using txn::WriteManifest;

std::expected<TransactionRecord, Error> UndoTransaction(const Host& host, std::string_view id) {
  auto lock = TransactionLock::Acquire(host);
  if (!lock) return std::unexpected(lock.error());
  return UndoTransaction(host, id, *lock);
}

namespace {

// Undoing `m` while a newer transaction that changed one of its files is still in effect
// would take that one's changes too: the newer ones are named, newest first, to undo before.
std::optional<Error> NewerToUndoFirst(const std::vector<Loaded>& all, const Manifest& m) {
  std::vector<std::string> newer, shared;
  bool after = false;
  for (auto it = all.begin(); it != all.end(); ++it) {
    if (it->manifest && it->manifest->id == m.id) {
      after = true;
      continue;
    }
    if (!after || !it->manifest) continue;
    const Manifest& n = *it->manifest;
    if (n.state != kStateApplied && n.state != kStateApplying && n.state != kStateUndoing) continue;
    bool overlaps = false;
    for (const auto& f : n.files) {
      for (const auto& g : m.files) {
        if (f.path != g.path) continue;
        overlaps = true;
        if (std::find(shared.begin(), shared.end(), f.path) == shared.end())
          shared.push_back(f.path);
      }
    }
    if (overlaps) newer.insert(newer.begin(), n.id);
  }
  if (newer.empty()) return std::nullopt;
  std::vector<std::string> commands;
  for (const auto& id : newer) commands.push_back("vmsetup undo " + id);
  return MakeError(TransactionDir(m.id),
                   fmt::format("not undoing {}: the newer transaction(s) {} changed the same "
                               "file(s) ({}) after it; undo them first, newest first: {}",
                               m.id, Join(newer, ", "), Join(shared, ", "), Join(commands, "; ")));
}

// The transaction to undo: `id`, or the newest still in effect when `id` is empty.
std::expected<const Manifest*, Error> PickToUndo(const std::vector<Loaded>& all,
                                                 std::string_view id) {
  auto untrusted = [](const Loaded& l) {
    return MakeError(l.problem->path, fmt::format("{}; not undoing transaction {}: restore its "
                                                  "files by hand from {}/files if needed",
                                                  l.problem->message, l.id, TransactionDir(l.id)));
  };
  const Manifest* pick = nullptr;
  if (id.empty()) {
    // The newest transaction still in effect; a newer one that cannot be read might have
    // changed the same files, so it stops the search (name the one to undo instead).
    for (auto it = all.rbegin(); it != all.rend() && pick == nullptr; ++it) {
      if (it->problem) return std::unexpected(untrusted(*it));
      const std::string& state = it->manifest->state;
      if (state == kStateApplied || state == kStateApplying || state == kStateUndoing) {
        pick = &*it->manifest;
      }
    }
    if (pick == nullptr) {
      return std::unexpected(
          MakeError(std::string(kTransactionsDir), "no transaction to undo", ENOENT));
    }
  } else {
    for (const auto& l : all) {
      if (l.id != id) continue;
      if (l.problem) return std::unexpected(untrusted(l));
      pick = &*l.manifest;
    }
    if (pick == nullptr) {
      return std::unexpected(MakeError(std::string(kTransactionsDir),
                                       fmt::format("no transaction named '{}'", id), ENOENT));
    }
    if (pick->state == kStateUndone || pick->state == kStateRolledBack) {
      return std::unexpected(
          MakeError(TransactionDir(id),
                    fmt::format("transaction {} was already {}", id,
                                pick->state == kStateUndone ? "undone" : "rolled back"),
                    EALREADY));
    }
    if (auto blocked = NewerToUndoFirst(all, *pick)) return std::unexpected(*blocked);
  }
  return pick;
}

// Verifies every file of `m` before anything is restored: each is as the transaction left it
// or already as before, and each backup matches its recorded sha256. Returns what the undo
// writes: an edit per file not yet as before, from the bytes now to the original (`after`
// nullopt: the transaction created the file), and the post-actions it runs again.
std::expected<EditSet, Error> RestoreEdits(const Host& host, const Manifest& m) {
  const std::string dir = TransactionDir(m.id);
  EditSet out;
  for (const FileEntry& f : m.files) {
    auto cur = ReadCurrent(host, f.path, f.link);
    if (!cur) return std::unexpected(cur.error());
    std::optional<std::string> now;
    if (cur->exists) now = Sha256Hex(cur->bytes);
    std::optional<std::string> before;
    if (f.existed) before = f.sha_before;
    if (now == before) continue;  // already as it was (an interrupted apply or undo)
    if (now != f.sha_after) {
      return std::unexpected(MakeError(
          f.path, fmt::format("was changed after transaction {} (sha256 now {}, expected {}); "
                              "not undoing anything: restore it by hand from {}",
                              m.id, now.value_or("absent"), f.sha_after.value_or("absent"),
                              f.backup.empty() ? std::string("(it did not exist)")
                                               : dir + "/" + f.backup)));
    }
    FileEdit edit{.path = f.path, .mode = f.mode, .fixer = f.fixer, .symlink = f.link};
    if (cur->exists) edit.before = std::move(cur->bytes);
    edit.why = fmt::format("removed: transaction {} created it", m.id);
    if (f.existed) {
      auto bytes = host.Read(Root::kConfig, dir + "/" + f.backup);
      if (!bytes) return std::unexpected(bytes.error());
      if (Sha256Hex(*bytes) != f.sha_before) {
        return std::unexpected(
            MakeError(dir + "/" + f.backup, fmt::format("backup of {} does not match its recorded "
                                                        "sha256; not undoing anything",
                                                        f.path)));
      }
      edit.after = std::move(*bytes);
      edit.why = fmt::format("as before transaction {}", m.id);
    }
    out.edits.push_back(std::move(edit));
  }
  out.actions = m.actions;
  return out;
}

}  // namespace

std::expected<TransactionRecord, Error> UndoTransaction(const Host& host, std::string_view id,
                                                        const TransactionLock& /*held*/) {
  auto all = LoadAll(host);
  if (!all) return std::unexpected(all.error());
  auto picked = PickToUndo(*all, id);
  if (!picked) return std::unexpected(picked.error());
  Manifest m = **picked;
  if (auto ok = RestoreEdits(host, m); !ok) return std::unexpected(ok.error());
  // The journal: a run killed from here on leaves "undoing", and the next run finishes it.
  if (m.state != kStateUndoing) {
    m.state = kStateUndoing;
    if (auto wrote = WriteManifest(host, m); !wrote) return std::unexpected(wrote.error());
  }
  if (auto stuck = RestoreFiles(host, m); !stuck.empty()) {
    return std::unexpected(MakeError(
        stuck.front().path,
        fmt::format("undo of {} incomplete: could not restore {}; the other files were "
                    "restored and read back as before. Run `vmsetup undo {}` again to finish",
                    m.id, DescribeStuck(stuck), m.id),
        stuck.front().errno_value == 0 ? EIO : stuck.front().errno_value));
  }
  m.state = kStateUndone;
  if (auto wrote = WriteManifest(host, m); !wrote) return std::unexpected(wrote.error());
  return ToRecord(m);
}

std::expected<UndoPreview, Error> PreviewUndo(const Host& host, std::string_view id) {
  auto all = LoadAll(host);
  if (!all) return std::unexpected(all.error());
  auto picked = PickToUndo(*all, id);
  if (!picked) return std::unexpected(picked.error());
  auto edits = RestoreEdits(host, **picked);
  if (!edits) return std::unexpected(edits.error());
  return UndoPreview{ToRecord(**picked), std::move(*edits)};
}

std::expected<std::vector<TransactionRecord>, Error> ListTransactions(const Host& host) {
  auto all = LoadAll(host);
  if (!all) return std::unexpected(all.error());
  std::vector<TransactionRecord> out;
  for (const auto& l : *all) out.push_back(l.manifest ? ToRecord(*l.manifest) : CorruptRecord(l));
  return out;
}

}  // namespace vmprep
