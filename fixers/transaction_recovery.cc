/// Transactions: recovery of runs that were interrupted (killed, power lost) while applying or
/// undoing: finishes their rollback or undo, and removes what they left half-written. Part of
/// fixers/transaction.cc.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>

#include "fixers/transaction_internal.h"

namespace vmprep {

using txn::DescribeStuck;
using txn::kStateApplying;
using txn::kStateRolledBack;
using txn::kStateUndoing;
using txn::kStateUndone;
using txn::LoadAll;
using txn::Loaded;
using txn::Manifest;
using txn::Parent;
using txn::Present;
using txn::RestoreFiles;
using txn::TransactionDir;
using txn::WriteManifest;

namespace {

// Removes what Host::WriteAtomic leaves when it is killed: ".NAME.vmprep-XXXXXXXX" beside each
// of `paths` (beside the file a link leads to, where the write happened). Returns the paths of
// those that could not be removed.
std::vector<std::string> RemoveTempFiles(const Host& host, const std::vector<std::string>& paths) {
  std::vector<std::string> left;
  std::set<std::string> done;
  for (const auto& path : paths) {
    auto target = host.ResolveForWrite(Root::kConfig, path);
    std::string real = target ? target->path : path;
    std::string dir = Parent(real), name = real.substr(real.rfind('/') + 1);
    if (!done.insert(real).second) continue;
    auto names = host.List(Root::kConfig, dir);
    if (!names) continue;  // no directory, no temp file
    for (const auto& entry : *names) {
      if (!IsTempFileOf(entry, name)) continue;
      std::string temp = (dir == "/" ? "" : dir) + "/" + entry;
      if (!host.Remove(Root::kConfig, temp)) left.push_back(temp);
    }
  }
  return left;
}

// A transaction directory without a manifest: an apply stopped while writing its backups or
// its manifest, before it touched any file. Removes what that apply wrote there.
Recovery RemoveOrphan(const Host& host, const std::string& id) {
  Recovery r{id, false, ""};
  const std::string dir = TransactionDir(id);
  std::vector<std::string> left;
  auto remove_all_known = [&](const std::string& sub, auto is_known) {
    auto names = host.List(Root::kConfig, sub);
    if (!names) return;
    for (const auto& n : *names) {
      std::string path = sub + "/" + n;
      if (!is_known(n) || !host.Remove(Root::kConfig, path)) left.push_back(path);
    }
  };
  auto is_backup = [](const std::string& n) {
    return !n.empty() &&
           std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  remove_all_known(dir + "/files", [&](const std::string& n) {
    if (is_backup(n)) return true;
    std::size_t dot = n.find(".vmprep-");
    return dot != std::string::npos && n.size() > 1 && IsTempFileOf(n, n.substr(1, dot - 1)) &&
           is_backup(n.substr(1, dot - 1));
  });
  if (left.empty() && Present(host, dir + "/files") == true &&
      !host.Remove(Root::kConfig, dir + "/files")) {
    left.push_back(dir + "/files");
  }
  remove_all_known(dir, [&](const std::string& n) { return IsTempFileOf(n, "manifest.json"); });
  if (left.empty() && !host.Remove(Root::kConfig, dir)) left.push_back(dir);
  r.complete = left.empty();
  r.message = r.complete ? fmt::format(
                               "removed the record of transaction {}, stopped before it changed "
                               "any file ({})",
                               id, dir)
                         : fmt::format(
                               "transaction {} stopped before it changed any file, but its "
                               "record could not be removed entirely: {} left",
                               id, Join(left, ", "));
  return r;
}

bool Unfinished(const Loaded& l) {
  return l.manifest && (l.manifest->state == kStateApplying || l.manifest->state == kStateUndoing);
}

// Transaction directories without a manifest (`orphans`, their names), and temporary files
// of a manifest rewrite that was stopped (`temps`, their paths).
struct Leftovers {
  std::vector<std::string> orphans, temps;
  bool empty() const { return orphans.empty() && temps.empty(); }
};

Leftovers FindLeftovers(const Host& host) {
  Leftovers out;
  auto names = host.List(Root::kConfig, kTransactionsDir);
  if (!names) return out;
  for (const auto& name : *names) {
    if (name.starts_with(".")) continue;
    const std::string dir = TransactionDir(name);
    auto entries = host.List(Root::kConfig, dir);
    if (!entries) continue;  // not a directory
    if (std::find(entries->begin(), entries->end(), "manifest.json") == entries->end()) {
      out.orphans.push_back(name);
      continue;
    }
    for (const auto& e : *entries) {
      if (IsTempFileOf(e, "manifest.json")) out.temps.push_back(dir + "/" + e);
    }
  }
  return out;
}

}  // namespace

std::vector<Recovery> RecoverInterrupted(const Host& host, const TransactionLock& /*held*/) {
  std::vector<Recovery> out;
  auto present = Present(host, kTransactionsDir);
  if (!present || !*present) return out;
  Leftovers leftovers = FindLeftovers(host);
  for (const auto& id : leftovers.orphans) out.push_back(RemoveOrphan(host, id));
  for (const auto& temp : leftovers.temps) {
    bool removed = host.Remove(Root::kConfig, temp).has_value();
    out.push_back(
        {temp.substr(kTransactionsDir.size() + 1, temp.rfind('/') - kTransactionsDir.size() - 1),
         removed,
         fmt::format("{} {}, left by a run stopped while it rewrote that record",
                     removed ? "removed" : "could not remove", temp)});
  }
  auto all = LoadAll(host);
  if (!all) return out;
  for (auto& l : *all) {
    if (!Unfinished(l)) continue;
    Manifest& m = *l.manifest;
    const bool undoing = m.state == kStateUndoing;
    std::vector<std::string> paths;
    for (const auto& f : m.files) paths.push_back(f.path);
    std::vector<std::string> temps = RemoveTempFiles(host, paths);
    std::vector<std::string> own = RemoveTempFiles(host, {TransactionDir(m.id) + "/manifest.json"});
    temps.insert(temps.end(), own.begin(), own.end());
    std::vector<Error> stuck = RestoreFiles(host, m);
    Recovery r{m.id, false, ""};
    if (stuck.empty()) {
      m.state = undoing ? kStateUndone : kStateRolledBack;
      if (auto wrote = WriteManifest(host, m); !wrote) {
        stuck.push_back(wrote.error());
        m.state = undoing ? kStateUndoing : kStateApplying;
      }
    }
    if (stuck.empty()) {
      r.complete = true;
      r.message = fmt::format(
          "{} transaction {}, which an earlier run left unfinished: {} as before it{}",
          undoing ? "finished undoing" : "rolled back", m.id,
          m.files.size() == 1 ? "its file reads back"
                              : fmt::format("its {} files read back", m.files.size()),
          temps.empty() ? "" : fmt::format(" (could not remove {})", Join(temps, ", ")));
    } else {
      r.message = fmt::format(
          "transaction {} was left unfinished by an earlier run and could not be {}: {}; it "
          "stays '{}' (originals are in {}/files)",
          m.id, undoing ? "undone" : "rolled back", DescribeStuck(stuck), m.state,
          TransactionDir(m.id));
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Recovery> RecoverInterrupted(const Host& host) {
  // Only look, changing nothing, until something is unfinished.
  auto present = Present(host, kTransactionsDir);
  if (!present || !*present) return {};
  auto all = LoadAll(host);
  bool unfinished = !FindLeftovers(host).empty();
  if (all) unfinished = unfinished || std::any_of(all->begin(), all->end(), Unfinished);
  if (!unfinished) return {};
  auto lock = TransactionLock::Acquire(host);
  if (!lock) {
    if (IsLockHeld(lock.error())) return {};
    return {Recovery{"", false,
                     fmt::format("an earlier run left a transaction unfinished, and the lock "
                                 "to finish it cannot be taken: {}",
                                 lock.error().ToString())}};
  }
  return RecoverInterrupted(host, *lock);
}

}  // namespace vmprep
