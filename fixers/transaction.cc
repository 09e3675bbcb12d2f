/// Transactions: applies an EditSet under the config root so that it is all-or-nothing and
/// undoable. Every file is re-checked against the plan, backed up with a JSON manifest
/// (sha256 before/after, mode, owner) under /var/lib/vmprep/transactions/<id>/, written
/// atomically through the Host, and on any failure the files already replaced are restored.
#include "fixers/transaction.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <nettle/sha2.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>

namespace vmprep {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kStateApplying = "applying";
constexpr std::string_view kStateApplied = "applied";
constexpr std::string_view kStateRolledBack = "rolled-back";
constexpr std::string_view kStateUndoing = "undoing";
constexpr std::string_view kStateCorrupt = "corrupt";
constexpr std::string_view kStateUndone = "undone";
constexpr std::string_view kManifestSchema = "vmprep.transaction/1";
constexpr std::string_view kStateDir = "/var/lib/vmprep";

// --- paths, time, errors ---

std::vector<std::string> PathComponents(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    out.emplace_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

std::string Parent(std::string_view path) {
  std::size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  return std::string(path.substr(0, slash));
}

// "/dir/file": absolute, no empty, "." or ".." component.
bool PlainAbsolute(std::string_view path) {
  auto parts = PathComponents(path);
  if (path.size() < 2 || path.front() != '/') return false;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].empty() || parts[i] == "." || parts[i] == "..") return false;
  }
  return true;
}

bool IsSha256(std::string_view hex) {
  return hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// "2026-11-24T07:15:30.123456Z" and "20261124T071530Z-3f2a".
std::pair<std::string, std::string> NewIdAndTime() {
  auto now = std::chrono::system_clock::now();
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  std::random_device rd;
  std::string id =
      fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z-{:04x}", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rd() & 0xffff);
  std::string created =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros % 1000000);
  return {id, created};
}

Error MakeError(std::string path, std::string message, int err = 0) {
  return Error{std::move(path), 0, std::move(message), err};
}

std::string TransactionDir(std::string_view id) {
  return fmt::format("{}/{}", kTransactionsDir, id);
}

}  // namespace

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

namespace {

// --- the manifest ---

struct FileEntry {
  std::string path;
  bool existed = false;
  std::string sha_before;                // empty when it did not exist
  std::optional<std::string> sha_after;  // nullopt: removed
  mode_t mode = 0644;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string backup;  // relative to the transaction dir; empty when it did not exist
  std::string fixer;
};

struct Manifest {
  std::string id;
  std::string created;
  std::string state;
  std::vector<FileEntry> files;
  std::vector<std::string> created_dirs;  // parents the apply made, outermost first
  std::vector<PostAction> actions;
};

Json ToJson(const Manifest& m) {
  Json files = Json::array();
  for (const auto& f : m.files) {
    files.push_back({{"path", f.path},
                     {"existed", f.existed},
                     {"sha256_before", f.existed ? Json(f.sha_before) : Json(nullptr)},
                     {"sha256_after", f.sha_after ? Json(*f.sha_after) : Json(nullptr)},
                     {"mode", f.mode},
                     {"uid", f.uid},
                     {"gid", f.gid},
                     {"backup", f.backup.empty() ? Json(nullptr) : Json(f.backup)},
                     {"fixer", f.fixer}});
  }
  Json actions = Json::array();
  for (const auto& a : m.actions) actions.push_back({{"argv", a.argv}, {"why", a.why}});
  return Json{{"schema", kManifestSchema}, {"id", m.id},     {"created", m.created},
              {"state", m.state},          {"files", files}, {"created_dirs", m.created_dirs},
              {"actions", actions}};
}

// nlohmann's message without its "[json.exception.type_error.302] " prefix.
std::string JsonWhat(const Json::exception& e) {
  std::string_view what = e.what();
  if (what.starts_with("[json.exception.")) {
    if (auto end = what.find("] "); end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  return std::string(what);
}

// Reads a manifest and checks it can be trusted to restore files: `id` is the name of its
// directory, `where` its path (named in every error, with what is wrong).
std::expected<Manifest, Error> ParseManifest(std::string_view text, const std::string& id,
                                             const std::string& where) {
  auto corrupt = [&](std::string what) {
    return std::unexpected(MakeError(where, fmt::format("not a transaction manifest: {}", what)));
  };
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {
    return corrupt(fmt::format("not valid JSON ({})", JsonWhat(e)));
  }
  if (!j.is_object() || j.value("schema", "") != kManifestSchema) {
    return corrupt(fmt::format("expected a JSON object with schema {}", kManifestSchema));
  }
  try {
    Manifest m;
    m.id = j.at("id").get<std::string>();
    m.created = j.at("created").get<std::string>();
    m.state = j.at("state").get<std::string>();
    if (m.id != id) return corrupt(fmt::format("its id is '{}', its directory '{}'", m.id, id));
    if (m.state != kStateApplying && m.state != kStateApplied && m.state != kStateRolledBack &&
        m.state != kStateUndoing && m.state != kStateUndone) {
      return corrupt(fmt::format("unknown state '{}'", m.state));
    }
    for (const auto& f : j.at("files")) {
      FileEntry e;
      e.path = f.at("path").get<std::string>();
      e.existed = f.at("existed").get<bool>();
      if (e.existed) e.sha_before = f.at("sha256_before").get<std::string>();
      if (!f.at("sha256_after").is_null()) e.sha_after = f.at("sha256_after").get<std::string>();
      e.mode = f.at("mode").get<mode_t>();
      e.uid = f.at("uid").get<uid_t>();
      e.gid = f.at("gid").get<gid_t>();
      if (!f.at("backup").is_null()) e.backup = f.at("backup").get<std::string>();
      e.fixer = f.value("fixer", "");
      const std::string backup = fmt::format("files/{}", m.files.size());
      if (!PlainAbsolute(e.path)) return corrupt(fmt::format("file path '{}'", e.path));
      if ((e.existed && (!IsSha256(e.sha_before) || e.backup != backup)) ||
          (!e.existed && !e.backup.empty()) || (e.sha_after && !IsSha256(*e.sha_after))) {
        return corrupt(fmt::format("the entry of {} (expected sha256 hashes and backup {})", e.path,
                                   e.existed ? backup : "null"));
      }
      m.files.push_back(std::move(e));
    }
    m.created_dirs = j.at("created_dirs").get<std::vector<std::string>>();
    for (const auto& d : m.created_dirs) {
      if (!PlainAbsolute(d)) return corrupt(fmt::format("created directory '{}'", d));
    }
    for (const auto& a : j.at("actions")) {
      m.actions.push_back({a.at("argv").get<std::vector<std::string>>(), a.value("why", "")});
    }
    return m;
  } catch (const Json::exception& e) {
    return corrupt(fmt::format("a field is missing or of the wrong type ({})", JsonWhat(e)));
  }
}

std::expected<void, Error> WriteManifest(const Host& host, const Manifest& m) {
  return host.WriteAtomic(Root::kConfig, TransactionDir(m.id) + "/manifest.json",
                          ToJson(m).dump(2) + "\n", {.mode = 0600});
}

TransactionRecord ToRecord(const Manifest& m) {
  TransactionRecord r;
  r.id = m.id;
  r.created = m.created;
  r.state = m.state;
  r.undone = m.state == kStateUndone || m.state == kStateRolledBack;
  r.actions = m.actions;
  std::set<std::string> seen;
  for (const auto& f : m.files) {
    r.files.push_back(f.path);
    std::size_t pos = 0;
    // An edit credited to several fixers names them "a,b".
    while (pos <= f.fixer.size()) {
      std::size_t comma = f.fixer.find(',', pos);
      if (comma == std::string::npos) comma = f.fixer.size();
      std::string one = f.fixer.substr(pos, comma - pos);
      if (!one.empty() && seen.insert(one).second) r.fixers.push_back(one);
      pos = comma + 1;
    }
  }
  return r;
}

// --- the state of a file now ---

struct Current {
  bool exists = false;
  bool is_link = false;  // the path itself is a symbolic link (to a regular file)
  std::string bytes;
  FileInfo info;  // of the file itself (through a symlink)
};

// The state of a file to edit, through the one check made when planning and when applying
// (Host::ResolveForWrite): a file that exists is a regular file reached without leaving the
// config root.
std::expected<Current, Error> ReadCurrent(const Host& host, const std::string& path) {
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

// What apply requires of a file before writing it, beyond ReadCurrent.
std::expected<void, Error> CheckCurrent(const FileEdit& e, const Current& cur) {
  if (!e.after && cur.is_link) {
    return std::unexpected(MakeError(e.path, "is a symbolic link; vmsetup does not remove links"));
  }
  return {};
}

WriteOptions OptionsFor(const FileEntry& e) {
  return WriteOptions{.mode = e.mode, .uid = e.uid, .gid = e.gid};
}

// Puts one file back as the manifest says it was; `backup` holds the original bytes.
std::expected<void, Error> RestoreOne(const Host& host, const FileEntry& e,
                                      const std::string& backup) {
  if (e.existed) return host.WriteAtomic(Root::kConfig, e.path, backup, OptionsFor(e));
  auto r = host.Remove(Root::kConfig, e.path);
  if (!r && r.error().errno_value == ENOENT) return {};
  return r;
}

// Whether `path` exists, telling "absent" from "cannot tell" (Host::Exists says false to
// both, and a directory thought absent would be recorded as created, then removed by undo).
std::expected<bool, Error> Present(const Host& host, std::string_view path) {
  auto st = host.LStat(Root::kConfig, path);
  if (st) return true;
  if (st.error().errno_value == ENOENT) return false;
  return std::unexpected(st.error());
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
std::expected<std::optional<std::string>, Error> ShaNow(const Host& host, const std::string& path) {
  auto cur = ReadCurrent(host, path);
  if (!cur) return std::unexpected(cur.error());
  if (!cur->exists) return std::optional<std::string>();
  return std::optional<std::string>(Sha256Hex(cur->bytes));
}

std::string ShaText(const std::optional<std::string>& sha) { return sha.value_or("absent"); }

// Puts the files of `m` back as they were before it, newest first, and proves it: a file that
// reads as the transaction left it (sha256 after) is restored from its backup (checked against
// its sha256 first), a file already as before is left alone, and any other is not touched.
// Then every file is read back and its sha256 compared with the one before. Returns one Error
// per file that is not as before, naming it and saying why; empty when all are.
std::vector<Error> RestoreFiles(const Host& host, const Manifest& m) {
  const std::string dir = TransactionDir(m.id);
  std::vector<std::optional<Error>> why(m.files.size());
  for (std::size_t i = m.files.size(); i-- > 0;) {
    const FileEntry& f = m.files[i];
    auto now = ShaNow(host, f.path);
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
    auto now = ShaNow(host, f.path);
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

// "a (why), b (why)" for a message.
std::string DescribeStuck(const std::vector<Error>& stuck) {
  std::vector<std::string> parts;
  for (const auto& e : stuck) parts.push_back(fmt::format("{} ({})", e.path, e.message));
  return Join(parts, ", ");
}

// A transaction directory: its manifest, or why it cannot be trusted.
struct Loaded {
  std::string id;  // the directory's name
  std::optional<Manifest> manifest;
  std::optional<Error> problem;  // the manifest's path and what is wrong with it
  // Oldest first: by the time in the id, then the time recorded, then the id.
  std::tuple<std::string, std::string, std::string> Key() const {
    return {id.substr(0, 16), manifest ? manifest->created : "", id};
  }
};

// Every transaction directory with a manifest, oldest first. One that cannot be read or
// trusted is listed with its problem and blocks nothing but itself.
std::expected<std::vector<Loaded>, Error> LoadAll(const Host& host) {
  std::vector<Loaded> out;
  auto present = Present(host, kTransactionsDir);
  if (!present) return std::unexpected(present.error());
  if (!*present) return out;
  auto names = host.List(Root::kConfig, kTransactionsDir);
  if (!names) return std::unexpected(names.error());
  for (const auto& name : *names) {
    if (name.starts_with(".")) continue;
    std::string path = TransactionDir(name) + "/manifest.json";
    Loaded l;
    l.id = name;
    // A directory without a manifest is an apply stopped before touching any file.
    auto has = Present(host, path);
    if (has && !*has) continue;
    auto text = has ? host.Read(Root::kConfig, path)
                    : std::expected<std::string, Error>(std::unexpected(has.error()));
    if (!text) {
      l.problem = MakeError(path, fmt::format("cannot be read: {}", text.error().message),
                            text.error().errno_value);
    } else if (auto m = ParseManifest(*text, name, path); !m) {
      l.problem = m.error();
    } else {
      l.manifest = std::move(*m);
    }
    out.push_back(std::move(l));
  }
  std::sort(out.begin(), out.end(),
            [](const Loaded& a, const Loaded& b) { return a.Key() < b.Key(); });
  return out;
}

TransactionRecord CorruptRecord(const Loaded& l) {
  TransactionRecord r;
  r.id = l.id;
  r.state = std::string(kStateCorrupt);
  r.problem = l.problem->ToString();
  return r;
}

}  // namespace

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
    auto cur = ReadCurrent(host, e->path);
    if (!cur) return std::unexpected(cur.error());
    if (auto ok = CheckCurrent(*e, *cur); !ok) return ok;
  }
  return {};
}

std::expected<ApplyResult, Error> ApplyEditSet(const Host& host, const EditSet& plan) {
  if (EffectiveEdits(plan).empty()) return ApplyResult{};
  auto lock = TransactionLock::Acquire(host);
  if (!lock) return std::unexpected(lock.error());
  return ApplyEditSet(host, plan, *lock);
}

std::expected<ApplyResult, Error> ApplyEditSet(const Host& host, const EditSet& plan,
                                               const TransactionLock& /*held*/) {
  auto edits = EffectiveEdits(plan);
  if (edits.empty()) return ApplyResult{};
  if (auto ok = CheckEditSet(plan); !ok) return std::unexpected(ok.error());

  // 1. Everything is as planned (nothing written yet).
  Manifest m;
  std::tie(m.id, m.created) = NewIdAndTime();
  for (int tries = 0; tries < 16 && Present(host, TransactionDir(m.id)) != false; ++tries) {
    std::tie(m.id, m.created) = NewIdAndTime();
  }
  m.state = kStateApplying;
  m.actions = plan.actions;
  std::vector<std::string> originals;
  for (const FileEdit* e : edits) {
    auto cur = ReadCurrent(host, e->path);
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
    if (auto ok = CheckCurrent(*e, *cur); !ok) return std::unexpected(ok.error());
    FileEntry f;
    f.path = e->path;
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
    originals.push_back(std::move(cur->bytes));
    m.files.push_back(std::move(f));
  }

  // 2. The record: backups first, the manifest last, so a record without a manifest means
  // "nothing was touched".
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
      if (step) step = host.WriteAtomic(Root::kConfig, e->path, *e->after, OptionsFor(f));
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

std::expected<TransactionRecord, Error> UndoTransaction(const Host& host, std::string_view id) {
  auto lock = TransactionLock::Acquire(host);
  if (!lock) return std::unexpected(lock.error());
  return UndoTransaction(host, id, *lock);
}

namespace {

// The transaction undo means: the named one, or the newest still in effect.
std::expected<Manifest, Error> PickForUndo(const std::vector<Loaded>& all, std::string_view id) {
  auto untrusted = [](const Loaded& l) {
    return MakeError(l.problem->path, fmt::format("{}; not undoing transaction {}: restore its "
                                                  "files by hand from {}/files if needed",
                                                  l.problem->message, l.id, TransactionDir(l.id)));
  };
  if (id.empty()) {
    // The newest transaction still in effect; a newer one that cannot be read might have
    // changed the same files, so it stops the search (name the one to undo instead).
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      if (it->problem) return std::unexpected(untrusted(*it));
      const std::string& state = it->manifest->state;
      if (state == kStateApplied || state == kStateApplying || state == kStateUndoing) {
        return *it->manifest;
      }
    }
    return std::unexpected(
        MakeError(std::string(kTransactionsDir), "no transaction to undo", ENOENT));
  }
  for (const auto& l : all) {
    if (l.id != id) continue;
    if (l.problem) return std::unexpected(untrusted(l));
    const Manifest& m = *l.manifest;
    if (m.state == kStateUndone || m.state == kStateRolledBack) {
      return std::unexpected(
          MakeError(TransactionDir(id),
                    fmt::format("transaction {} was already {}", id,
                                m.state == kStateUndone ? "undone" : "rolled back"),
                    EALREADY));
    }
    return m;
  }
  return std::unexpected(MakeError(std::string(kTransactionsDir),
                                   fmt::format("no transaction named '{}'", id), ENOENT));
}

// What undoing `m` writes, checked as undo checks before restoring anything: every file
// reads as the transaction left it (or already as before), every backup matches its sha256.
// An edit per file not yet as before: the bytes now, and the original (nullopt: created).
std::expected<EditSet, Error> RestoreEdits(const Host& host, const Manifest& m) {
  const std::string dir = TransactionDir(m.id);
  EditSet out;
  for (const FileEntry& f : m.files) {
    auto cur = ReadCurrent(host, f.path);
    if (!cur) return std::unexpected(cur.error());
    std::optional<std::string> now;
    if (cur->exists) now = Sha256Hex(cur->bytes);
    if (now == ShaBefore(f)) continue;  // already as it was (an interrupted apply or undo)
    if (now != f.sha_after) {
      return std::unexpected(MakeError(
          f.path, fmt::format("was changed after transaction {} (sha256 now {}, expected {}); "
                              "not undoing anything: restore it by hand from {}",
                              m.id, now.value_or("absent"), f.sha_after.value_or("absent"),
                              f.backup.empty() ? std::string("(it did not exist)")
                                               : dir + "/" + f.backup)));
    }
    FileEdit edit{.path = f.path, .mode = f.mode, .fixer = f.fixer};
    if (cur->exists) edit.before = std::move(cur->bytes);
    edit.why = fmt::format("as before transaction {}", m.id);
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
    } else {
      edit.why = fmt::format("removed: transaction {} created it", m.id);
    }
    out.edits.push_back(std::move(edit));
  }
  out.actions = m.actions;
  return out;
}

}  // namespace

std::expected<UndoPreview, Error> PreviewUndo(const Host& host, std::string_view id) {
  auto all = LoadAll(host);
  if (!all) return std::unexpected(all.error());
  auto m = PickForUndo(*all, id);
  if (!m) return std::unexpected(m.error());
  auto edits = RestoreEdits(host, *m);
  if (!edits) return std::unexpected(edits.error());
  return UndoPreview{ToRecord(*m), std::move(*edits)};
}

std::expected<TransactionRecord, Error> UndoTransaction(const Host& host, std::string_view id,
                                                        const TransactionLock& /*held*/) {
  auto all = LoadAll(host);
  if (!all) return std::unexpected(all.error());
  auto picked = PickForUndo(*all, id);
  if (!picked) return std::unexpected(picked.error());
  Manifest m = std::move(*picked);
  // Verify everything before restoring anything.
  if (auto checked = RestoreEdits(host, m); !checked) return std::unexpected(checked.error());
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

std::expected<std::vector<TransactionRecord>, Error> ListTransactions(const Host& host) {
  auto all = LoadAll(host);
  if (!all) return std::unexpected(all.error());
  std::vector<TransactionRecord> out;
  for (const auto& l : *all) out.push_back(l.manifest ? ToRecord(*l.manifest) : CorruptRecord(l));
  return out;
}

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
