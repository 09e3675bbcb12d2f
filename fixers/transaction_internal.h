#pragma once
// Internals of the transactions (fixers/transaction.h), shared by transaction.cc (lock, apply),
// transaction_manifest.cc (ids, the manifest and its directory), transaction_files.cc (the
// state of a file, restore), transaction_undo.cc and transaction_recovery.cc.

#include <sys/types.h>

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/host.h"
#include "fixers/edit.h"
#include "fixers/transaction.h"

namespace vmprep::txn {

inline constexpr std::string_view kStateApplying = "applying";
inline constexpr std::string_view kStateApplied = "applied";
inline constexpr std::string_view kStateRolledBack = "rolled-back";
inline constexpr std::string_view kStateUndoing = "undoing";
inline constexpr std::string_view kStateUndone = "undone";

// --- paths, time, errors, the manifest (transaction_manifest.cc) ---

std::string Parent(std::string_view path);

// "/dir/file": absolute, no empty, "." or ".." component.
bool PlainAbsolute(std::string_view path);

// "2026-11-24T07:15:30.123456Z" and "20261124T071530Z-3f2a".
std::pair<std::string, std::string> NewIdAndTime();

Error MakeError(std::string path, std::string message, int err = 0);

std::string TransactionDir(std::string_view id);

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
  bool link = false;  // a symbolic link: its "bytes" are its target (FileEdit::symlink)
};

struct Manifest {
  std::string id;
  std::string created;
  std::string state;
  std::vector<FileEntry> files;
  std::vector<std::string> created_dirs;  // parents the apply made, outermost first
  std::vector<PostAction> actions;
};

std::expected<void, Error> WriteManifest(const Host& host, const Manifest& m);

TransactionRecord ToRecord(const Manifest& m);

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
std::expected<std::vector<Loaded>, Error> LoadAll(const Host& host);

TransactionRecord CorruptRecord(const Loaded& l);

// --- the state of a file now (transaction_files.cc) ---

struct Current {
  bool exists = false;
  bool is_link = false;  // the path itself is a symbolic link (to a regular file)
  std::string bytes;     // for a link read as a link (`link` below): its target
  FileInfo info;         // of the file itself (through a symlink)
};

// The state of a file to edit, through the one check made when planning and when applying
// (Host::ResolveForWrite): a file that exists is a regular file reached without leaving the
// config root.
// With `link`, the path is read as a symbolic link (FileEdit::symlink): absent, or a link
// whose target is `bytes`; anything else there is refused. Its parents are checked as for a
// file.
std::expected<Current, Error> ReadCurrent(const Host& host, const std::string& path,
                                          bool link = false);

// What apply requires of a file before writing it, beyond ReadCurrent; for a link, its
// target: an absolute plain path to a regular file inside the config root, or to a file one
// of `edits` (the same transaction) writes.
std::expected<void, Error> CheckCurrent(const Host& host, const FileEdit& e, const Current& cur,
                                        const std::vector<const FileEdit*>& edits);

WriteOptions OptionsFor(const FileEntry& e);

// Whether `path` exists, telling "absent" from "cannot tell" (Host::Exists says false to
// both, and a directory thought absent would be recorded as created, then removed by undo).
std::expected<bool, Error> Present(const Host& host, std::string_view path);

// Puts the files of `m` back as they were before it, newest first, and proves it: a file that
// reads as the transaction left it (sha256 after) is restored from its backup (checked against
// its sha256 first), a file already as before is left alone, and any other is not touched.
// Then every file is read back and its sha256 compared with the one before. Returns one Error
// per file that is not as before, naming it and saying why; empty when all are.
std::vector<Error> RestoreFiles(const Host& host, const Manifest& m);

// "a (why), b (why)" for a message.
std::string DescribeStuck(const std::vector<Error>& stuck);

}  // namespace vmprep::txn
