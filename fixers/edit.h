// EditSet: what a fixer wants changed, as data. Planning is pure; applying is the
// transaction's business (fixers/transaction.h).
#pragma once

#include <sys/types.h>

#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/host.h"

namespace vmprep {

struct FileEdit {
  std::string path;  // as on the installed system: "/etc/default/grub" (config root)
  std::optional<std::string> before;  // bytes seen at plan time; nullopt: the file did not exist
  std::optional<std::string> after;   // bytes wanted; nullopt: remove the file
  mode_t mode = 0644;                 // for a new file; an existing file keeps mode and owner
  std::string fixer;                  // id of the fixer that wants it
  std::string why;                    // one line for the plan: what changes and why
  // `path` is a symbolic link: before/after hold its target (as readlink shows it), not
  // bytes. The target must be an absolute path to a regular file inside the config root.
  bool symlink = false;
};

// A command to run after the files are written (regenerate the initramfs or the boot
// menu). Run by execve with this argv inside the config root's system, never via a shell.
struct PostAction {
  std::vector<std::string> argv;
  std::string why;
};

struct EditSet {
  std::vector<FileEdit> edits;
  std::vector<PostAction> actions;
  // Things the fixer could not do and the human must (with file:line when a parser refused).
  std::vector<std::string> notes;
  bool empty() const { return edits.empty() && actions.empty(); }
  void Append(EditSet other);  // merges; two edits of one file must not conflict
};

// The bytes of a config-root file, nullopt when it does not exist (the "before" of an edit);
// an Error when it exists but cannot be read, or cannot be edited (Host::ResolveForWrite: a
// FIFO, a device, a link leading out of the root...).
std::expected<std::optional<std::string>, Error> ReadIfExists(const Host& host,
                                                              const std::string& path);

// A unified diff of one edit (paths a/PATH b/PATH, 3 lines of context), "" when unchanged;
// for a symbolic link, a "-> TARGET" line for each side that has one.
std::string UnifiedDiff(const FileEdit& edit);

}  // namespace vmprep
