/// Transactions: applies an EditSet under the config root so that it is all-or-nothing and
/// undoable. Every file is re-checked against the plan, backed up with a JSON manifest
/// (sha256 before/after, mode, owner) under /var/lib/vmprep/transactions/<id>/, written
/// atomically through the Host, and on any failure the files already replaced are restored.
/// Apply itself is in transaction_apply.cc, the manifest in transaction_manifest.cc, file state
/// and restore in transaction_files.cc,
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
using txn::MakeError;
using txn::PlainAbsolute;
using txn::ReadCurrent;

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
  const auto edits = EffectiveEdits(plan);
  for (const FileEdit* e : edits) {
    auto cur = ReadCurrent(host, e->path, e->symlink);
    if (!cur) return std::unexpected(cur.error());
    if (auto ok = CheckCurrent(host, *e, *cur, edits); !ok) return ok;
  }
  return {};
}

std::expected<ApplyResult, Error> ApplyEditSet(const Host& host, const EditSet& plan) {
  if (EffectiveEdits(plan).empty()) return ApplyResult{};
  auto lock = TransactionLock::Acquire(host);
  if (!lock) return std::unexpected(lock.error());
  return ApplyEditSet(host, plan, *lock);
}

}  // namespace vmprep
