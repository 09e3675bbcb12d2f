/// Transactions: the state of a file now (read through Host::ResolveForWrite, the one check
/// made when planning and when applying), and putting files back as a manifest says they
/// were, proved by their sha256. Part of fixers/transaction.cc.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "fixers/transaction_internal.h"

namespace vmprep::txn {
namespace {

// Puts one file back as the manifest says it was; `backup` holds the original bytes.
std::expected<void, Error> RestoreOne(const Host& host, const FileEntry& e,
                                      const std::string& backup) {
  if (e.existed && e.link) return host.MakeSymlink(Root::kConfig, e.path, backup);
  if (e.existed) return host.WriteAtomic(Root::kConfig, e.path, backup, OptionsFor(e));
  auto r = host.Remove(Root::kConfig, e.path);
  if (!r && r.error().errno_value == ENOENT) return {};
  return r;
}

// Removes the parents an apply created, innermost first; a directory that is not empty
// (someone put a file there) stays.
void RemoveCreatedDirs(const Host& host, const std::vector<std::string>& dirs) {
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    if (Present(host, *it) != false) (void)host.Remove(Root::kConfig, *it);
  }
}

// The sha256 a file had before the transaction, nullopt when it did not exist.
std::optional<std::string> ShaBefore(const FileEntry& f) {
  return f.existed ? std::optional<std::string>(f.sha_before) : std::nullopt;
}

// The sha256 of a file now, nullopt when it does not exist.
std::expected<std::optional<std::string>, Error> ShaNow(const Host& host, const FileEntry& f) {
  auto cur = ReadCurrent(host, f.path, f.link);
  if (!cur) return std::unexpected(cur.error());
  if (!cur->exists) return std::optional<std::string>();
  return std::optional<std::string>(Sha256Hex(cur->bytes));
}

std::string ShaText(const std::optional<std::string>& sha) { return sha.value_or("absent"); }

}  // namespace

namespace {

std::expected<Current, Error> ReadCurrentLink(const Host& host, const std::string& path) {
  Current cur;
  auto info = host.LStat(Root::kConfig, path);
  if (!info && info.error().errno_value != ENOENT) return std::unexpected(info.error());
  if (!info) {
    // Absent: its parents as for a file (inside the root, directories or to be made).
    auto target = host.ResolveForWrite(Root::kConfig, path);
    if (!target) return std::unexpected(target.error());
    return cur;
  }
  if (info->type != FileType::kSymlink) {
    return std::unexpected(MakeError(
        path,
        fmt::format("is a {}, expected a symbolic link or nothing", FileTypeName(info->type))));
  }
  auto to = host.ReadLink(Root::kConfig, path);
  if (!to) return std::unexpected(to.error());
  cur.exists = true;
  cur.is_link = true;
  cur.bytes = std::move(*to);
  cur.info = *info;
  return cur;
}

}  // namespace

std::expected<Current, Error> ReadCurrent(const Host& host, const std::string& path, bool link) {
  if (link) return ReadCurrentLink(host, path);
  Current cur;
  auto target = host.ResolveForWrite(Root::kConfig, path);
  if (!target) return std::unexpected(target.error());
  if (!target->exists) return cur;
  auto info = host.Stat(Root::kConfig, path);
  if (!info) return std::unexpected(info.error());
  auto bytes = host.Read(Root::kConfig, path);
  if (!bytes) return std::unexpected(bytes.error());
  cur.exists = true;
  cur.is_link = target->is_link;
  cur.bytes = std::move(*bytes);
  cur.info = *info;
  return cur;
}

std::expected<void, Error> CheckCurrent(const Host& host, const FileEdit& e, const Current& cur,
                                        const std::vector<const FileEdit*>& edits) {
  if (e.symlink) {
    if (!e.after) return {};
    auto target = host.Stat(Root::kConfig, *e.after);
    const bool written = std::any_of(edits.begin(), edits.end(), [&](const FileEdit* other) {
      return !other->symlink && other->after && other->path == *e.after;
    });
    if (!PlainAbsolute(*e.after) || (!written && (!target || target->type != FileType::kRegular))) {
      return std::unexpected(MakeError(
          e.path, fmt::format("fixer {} wants a symbolic link to '{}'; expected an absolute "
                              "plain path to a regular file inside the config root",
                              e.fixer, *e.after)));
    }
    return {};
  }
  if (!e.after && cur.is_link) {
    return std::unexpected(MakeError(e.path, "is a symbolic link; vmsetup does not remove links"));
  }
  return {};
}

WriteOptions OptionsFor(const FileEntry& e) {
  return WriteOptions{.mode = e.mode, .uid = e.uid, .gid = e.gid};
}

std::expected<bool, Error> Present(const Host& host, std::string_view path) {
  auto st = host.LStat(Root::kConfig, path);
  if (st) return true;
  if (st.error().errno_value == ENOENT) return false;
  return std::unexpected(st.error());
}

std::vector<Error> RestoreFiles(const Host& host, const Manifest& m) {
  const std::string dir = TransactionDir(m.id);
  std::vector<std::optional<Error>> why(m.files.size());
  for (std::size_t i = m.files.size(); i-- > 0;) {
    const FileEntry& f = m.files[i];
    auto now = ShaNow(host, f);
    if (!now) {
      why[i] = now.error();
      continue;
    }
    if (*now == ShaBefore(f)) continue;
    if (*now != f.sha_after) {
      why[i] = MakeError(
          f.path, fmt::format("is neither as before transaction {} (sha256 {}) nor "
                              "as it wrote it ({}) but sha256 {}; left as it is",
                              m.id, ShaText(ShaBefore(f)), ShaText(f.sha_after), ShaText(*now)));
      continue;
    }
    std::string original;
    if (f.existed) {
      auto bytes = host.Read(Root::kConfig, dir + "/" + f.backup);
      if (!bytes) {
        why[i] = MakeError(f.path,
                           fmt::format("its backup cannot be read: {}", bytes.error().ToString()));
        continue;
      }
      if (Sha256Hex(*bytes) != f.sha_before) {
        why[i] = MakeError(f.path, fmt::format("its backup {} does not match the sha256 recorded "
                                               "for it",
                                               dir + "/" + f.backup));
        continue;
      }
      original = std::move(*bytes);
    }
    // Judged by reading it back below: a restore whose directory sync failed is in place.
    if (auto restored = RestoreOne(host, f, original); !restored) why[i] = restored.error();
  }
  RemoveCreatedDirs(host, m.created_dirs);
  std::vector<Error> stuck;
  for (std::size_t i = 0; i < m.files.size(); ++i) {
    const FileEntry& f = m.files[i];
    auto now = ShaNow(host, f);
    if (now && *now == ShaBefore(f)) continue;
    if (why[i] && why[i]->path == f.path) {
      stuck.push_back(*why[i]);
    } else if (why[i]) {
      stuck.push_back(MakeError(f.path, why[i]->ToString(), why[i]->errno_value));
    } else if (!now) {
      stuck.push_back(now.error());
    } else {
      stuck.push_back(MakeError(f.path, fmt::format("reads back as sha256 {}, expected {}",
                                                    ShaText(*now), ShaText(ShaBefore(f)))));
    }
  }
  return stuck;
}

std::string DescribeStuck(const std::vector<Error>& stuck) {
  std::vector<std::string> parts;
  for (const auto& e : stuck) parts.push_back(fmt::format("{} ({})", e.path, e.message));
  return Join(parts, ", ");
}

}  // namespace vmprep::txn
