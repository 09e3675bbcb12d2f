/// Transactions: applies an EditSet under the config root so that it is all-or-nothing and
/// undoable. Every file is re-checked against the plan, backed up with a JSON manifest
/// (sha256 before/after, mode, owner) under /var/lib/vmprep/transactions/<id>/, written
/// atomically through the Host, and on any failure the files already replaced are restored.
/// The manifest is in transaction_manifest.cc, file state and restore in transaction_files.cc,
/// undo in transaction_undo.cc and recovery of interrupted runs in transaction_recovery.cc.
#include "fixers/transaction.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <nettle/sha2.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <set>

#include "fixers/transaction_internal.h"

namespace vmprep {
namespace {

constexpr std::string_view kStateDir = "/var/lib/vmprep";

}  // namespace

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
using txn::PlainAbsolute;
using txn::Present;
using txn::ReadCurrent;
using txn::RestoreFiles;
using txn::ToRecord;
using txn::TransactionDir;
using txn::WriteManifest;

// --- the lock ---

// flock(2) on a file created in the config root: the kernel drops it when the holder dies,
// so a crashed run never leaves the boot configuration locked, and no pid guessing is needed.
// The pid is written into the file only to name the holder in the error.
std::expected<TransactionLock, Error> TransactionLock::Acquire(const Host& host) {
  if (auto made = host.MakeDirs(Root::kConfig, kStateDir, 0755); !made) {
    return std::unexpected(made.error());
  }
  auto fd = host.OpenFile(Root::kConfig, kLockPath, O_RDWR | O_CREAT | O_NOFOLLOW);
  if (!fd) return std::unexpected(fd.error());
  if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK) {
      char buf[32] = {};
      ssize_t n = ::pread(fd->get(), buf, sizeof buf - 1, 0);
      std::string holder = n > 0 ? std::string(Trim(std::string_view(buf, n))) : "unknown";
      return std::unexpected(MakeError(
          std::string(kLockPath),
          fmt::format("another vmsetup run holds the lock (pid {}); wait for it to finish", holder),
          EWOULDBLOCK));
    }
    return std::unexpected(MakeError(std::string(kLockPath), "cannot lock", err));
  }
  std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd->get(), 0) == 0) {
    [[maybe_unused]] ssize_t n = ::pwrite(fd->get(), pid.data(), pid.size(), 0);
  }
  TransactionLock lock;
  lock.fd_ = std::move(*fd);
  return lock;
}

std::string Sha256Hex(std::string_view bytes) {
  // Nettle (libnettle8, on every Debian system through GnuTLS): 300 KB, no dependencies and no
  // initialisation; loading it adds about 0.2 ms to vmsetup's start (vmcheck does not link it).
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, bytes.size(), reinterpret_cast<const std::uint8_t*>(bytes.data()));
  std::array<std::uint8_t, SHA256_DIGEST_SIZE> digest{};
  sha256_digest(&ctx, digest.size(), digest.data());
  std::string hex;
  hex.reserve(2 * digest.size());
  for (std::uint8_t b : digest) hex += fmt::format("{:02x}", b);
  return hex;
}

bool IsLockHeld(const Error& error) {
  return error.errno_value == EWOULDBLOCK && error.path == kLockPath;
}

bool IsRefusal(const Error& error) {
  return error.errno_value == 0 || error.errno_value == EALREADY;
}

std::vector<const FileEdit*> EffectiveEdits(const EditSet& plan) {
  std::vector<const FileEdit*> out;
  for (const auto& e : plan.edits) {
    if (e.before != e.after) out.push_back(&e);
  }
  return out;
}

std::expected<void, Error> CheckEditSet(const EditSet& plan) {
  std::set<std::string> seen;
  for (const FileEdit* e : EffectiveEdits(plan)) {
    if (!PlainAbsolute(e->path)) {
      return std::unexpected(
          MakeError(e->path, fmt::format("fixer {} named a path that is not absolute and plain "
                                         "(expected /dir/file, no '.', '..' or '//')",
                                         e->fixer)));
    }
    if (e->path == kLockPath || e->path.starts_with(std::string(kTransactionsDir) + "/")) {
      return std::unexpected(MakeError(e->path, "is vmsetup's own state; no fixer may edit it"));
    }
    if (!seen.insert(e->path).second) {
      std::string fixers;
      for (const auto& other : plan.edits) {
        if (other.path == e->path && other.before != other.after) {
          fixers += (fixers.empty() ? "" : " and ") + other.fixer;
        }
      }
      return std::unexpected(MakeError(
          e->path, fmt::format("fixers {} want different contents for this file; apply them "
                               "one at a time",
                               fixers)));
    }
  }
  return {};
}

std::expected<void, Error> CheckEditSet(const Host& host, const EditSet& plan) {
  if (auto ok = CheckEditSet(plan); !ok) return ok;
  for (const FileEdit* e : EffectiveEdits(plan)) {
    auto cur = ReadCurrent(host, e->path, e->symlink);
    if (!cur) return std::unexpected(cur.error());
    if (auto ok = CheckCurrent(host, *e, *cur); !ok) return ok;
  }
  return {};
}

std::expected<ApplyResult, Error> ApplyEditSet(const Host& host, const EditSet& plan) {
  if (EffectiveEdits(plan).empty()) return ApplyResult{};
  auto lock = TransactionLock::Acquire(host);
  if (!lock) return std::unexpected(lock.error());
  return ApplyEditSet(host, plan, *lock);
}

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
    if (auto ok = CheckCurrent(host, *e, *cur); !ok) return std::unexpected(ok.error());
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
