/// Applying an EditSet as one transaction: re-check every file against the plan, record the
/// backups and the manifest, write the files, and on any failure restore them (see
/// transaction.cc for the lock and the checks, transaction_files.cc for restore).
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "fixers/transaction.h"
#include "fixers/transaction_internal.h"

namespace vmprep {

using txn::CheckCurrent;
using txn::DescribeStuck;
using txn::FileEntry;
using txn::kStateApplied;
using txn::kStateApplying;
using txn::kStateRolledBack;
using txn::MakeError;
using txn::Manifest;
using txn::NewIdAndTime;
using txn::OptionsFor;
using txn::Parent;
using txn::Present;
using txn::ReadCurrent;
using txn::RestoreFiles;
using txn::ToRecord;
using txn::TransactionDir;
using txn::WriteManifest;

namespace {

// 1. Everything is as planned (nothing written yet): the manifest of `edits`, and in
// `originals` the bytes of each file now.
std::expected<Manifest, Error> RecordEdits(const Host& host, const EditSet& plan,
                                           const std::vector<const FileEdit*>& edits,
                                           std::vector<std::string>* originals) {
  Manifest m;
  std::tie(m.id, m.created) = NewIdAndTime();
  for (int tries = 0; tries < 16 && Present(host, TransactionDir(m.id)) != false; ++tries) {
    std::tie(m.id, m.created) = NewIdAndTime();
  }
  m.state = kStateApplying;
  m.actions = plan.actions;
  for (const FileEdit* e : edits) {
    auto cur = ReadCurrent(host, e->path, e->symlink);
    if (!cur) return std::unexpected(cur.error());
    if (!e->before && cur->exists) {
      return std::unexpected(MakeError(e->path, "was created after the plan was made; plan again"));
    }
    if (e->before && !cur->exists) {
      return std::unexpected(MakeError(e->path, "was removed after the plan was made; plan again"));
    }
    if (e->before && cur->bytes != *e->before) {
      return std::unexpected(MakeError(e->path, "was changed after the plan was made; plan again"));
    }
    if (auto ok = CheckCurrent(host, *e, *cur, edits); !ok) return std::unexpected(ok.error());
    FileEntry f;
    f.path = e->path;
    f.link = e->symlink;
    f.existed = cur->exists;
    f.fixer = e->fixer;
    if (cur->exists) {
      f.sha_before = Sha256Hex(cur->bytes);
      f.mode = cur->info.mode;
      f.uid = cur->info.uid;
      f.gid = cur->info.gid;
      f.backup = fmt::format("files/{}", m.files.size());
    } else {
      f.mode = e->mode;
      f.uid = ::geteuid();
      f.gid = ::getegid();
      // Parents to create, outermost first; remembered so rollback and undo remove them.
      std::vector<std::string> missing;
      for (std::string dir = Parent(e->path); dir != "/"; dir = Parent(dir)) {
        auto present = Present(host, dir);
        if (!present) return std::unexpected(present.error());
        if (*present) break;
        missing.insert(missing.begin(), dir);
      }
      for (auto& d : missing) {
        if (std::find(m.created_dirs.begin(), m.created_dirs.end(), d) == m.created_dirs.end()) {
          m.created_dirs.push_back(d);
        }
      }
    }
    if (e->after) f.sha_after = Sha256Hex(*e->after);
    originals->push_back(std::move(cur->bytes));
    m.files.push_back(std::move(f));
  }
  return m;
}

// 2. The record: backups first, the manifest last, so a record without a manifest means
// "nothing was touched".
std::expected<void, Error> WriteRecord(const Host& host, const Manifest& m,
                                       const std::vector<std::string>& originals) {
  const std::string dir = TransactionDir(m.id);
  auto discard_record = [&] {
    // A manifest whose directory sync failed is in place: it goes first.
    (void)host.Remove(Root::kConfig, dir + "/manifest.json");
    for (const auto& f : m.files) {
      if (!f.backup.empty()) (void)host.Remove(Root::kConfig, dir + "/" + f.backup);
    }
    (void)host.Remove(Root::kConfig, dir + "/files");
    (void)host.Remove(Root::kConfig, dir);
  };
  if (auto made = host.MakeDirs(Root::kConfig, dir + "/files", 0700); !made) {
    discard_record();
    return std::unexpected(made.error());
  }
  for (std::size_t i = 0; i < m.files.size(); ++i) {
    if (m.files[i].backup.empty()) continue;
    auto wrote = host.WriteAtomic(Root::kConfig, dir + "/" + m.files[i].backup, originals[i],
                                  {.mode = 0600});
    if (!wrote) {
      discard_record();
      return std::unexpected(wrote.error());
    }
  }
  if (auto wrote = WriteManifest(host, m); !wrote) {
    discard_record();
    return std::unexpected(wrote.error());
  }
  return {};
}

}  // namespace

std::expected<ApplyResult, Error> ApplyEditSet(const Host& host, const EditSet& plan,
                                               const TransactionLock& /*held*/) {
  auto edits = EffectiveEdits(plan);
  if (edits.empty()) return ApplyResult{};
  if (auto ok = CheckEditSet(plan); !ok) return std::unexpected(ok.error());

  std::vector<std::string> originals;
  auto recorded = RecordEdits(host, plan, edits, &originals);
  if (!recorded) return std::unexpected(recorded.error());
  Manifest m = std::move(*recorded);
  if (auto wrote = WriteRecord(host, m, originals); !wrote) return std::unexpected(wrote.error());
  const std::string dir = TransactionDir(m.id);

  // 3. The files, in plan order; on failure put everything back, newest first.
  std::optional<Error> failure;
  for (std::size_t i = 0; i < edits.size() && !failure; ++i) {
    const FileEdit* e = edits[i];
    const FileEntry& f = m.files[i];
    std::expected<void, Error> step;
    if (!e->after) {
      step = host.Remove(Root::kConfig, e->path);
    } else {
      if (!f.existed) step = host.MakeDirs(Root::kConfig, Parent(e->path), 0755);
      if (step && f.link) {
        step = host.MakeSymlink(Root::kConfig, e->path, *e->after);
      } else if (step) {
        step = host.WriteAtomic(Root::kConfig, e->path, *e->after, OptionsFor(f));
      }
    }
    if (!step) failure = step.error();
  }
  if (!failure) {
    m.state = kStateApplied;
    if (auto wrote = WriteManifest(host, m); !wrote) failure = wrote.error();
  }
  if (!failure) {
    ApplyResult result;
    result.record = ToRecord(m);
    for (const FileEdit* e : edits) result.changed.push_back(e->path);
    return result;
  }

  // Rollback. A failed step may have happened anyway (a rename whose directory sync failed,
  // the manifest written but not synced), so every file is judged by what it holds now.
  m.state = kStateApplying;
  std::vector<Error> stuck = RestoreFiles(host, m);
  Error err = *failure;
  if (stuck.empty()) {
    m.state = kStateRolledBack;
    // If this fails the record says "applying" with every file as before: the next run
    // marks it rolled back.
    (void)WriteManifest(host, m);
    err.message += "; rolled back: every file was restored and read back as before";
  } else {
    err.message += fmt::format(
        "; ROLLBACK INCOMPLETE: could not restore {}; the other files were restored and read "
        "back as before. Transaction {} stays 'applying': the next vmsetup run retries the "
        "rollback, or run `vmsetup undo {}` (originals are in {})",
        DescribeStuck(stuck), m.id, m.id, dir + "/files");
  }
  return std::unexpected(err);
}

}  // namespace vmprep
