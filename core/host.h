// Host: the one seam between vmprep and the file system.
//
// Every read, list, readlink, stat and write in vmprep goes through a Host. A Host holds two
// roots: the runtime root (/sys, /proc, /dev of the running kernel) and the config root
// (/etc, /boot, /usr/lib/modules of the installed system). Normally both are "/"; on the live
// ISO the config root is the mounted installed system; in tests both point at captured trees.
//
// Paths are absolute as the machine names them ("/proc/cmdline") and are resolved *inside*
// the root with openat2(RESOLVE_IN_ROOT): a ".." or a symlink in a hostile tree cannot leave
// it. Magic links (/proc/self/fd/...) are refused.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/text.h"

namespace vmprep {

enum class Root { kRuntime, kConfig };

enum class FileType {
  kRegular,
  kDirectory,
  kSymlink,
  kCharDevice,
  kBlockDevice,
  kFifo,
  kSocket,
  kOther
};

// "regular file", "directory", "FIFO (named pipe)", ...: for messages.
std::string_view FileTypeName(FileType type);

// True when `entry` (a name in a directory) is a temporary file Host::WriteAtomic makes while
// writing the file called `name` in that directory and removes once done: one left behind
// means a writer was killed.
bool IsTempFileOf(std::string_view entry, std::string_view name);

struct FileInfo {
  FileType type = FileType::kOther;
  mode_t mode = 0;  // permission bits and set-id bits (st_mode & 07777)
  uid_t uid = 0;
  gid_t gid = 0;
  std::uint64_t size = 0;
  dev_t rdev = 0;          // device number for device nodes
  std::int64_t mtime = 0;  // last modification, seconds since the epoch
};

// An open file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// Where an edit of a path lands (Host::ResolveForWrite).
struct WriteTarget {
  std::string path;      // resolved inside the root: the file WriteAtomic replaces or creates
  bool exists = false;   // false: it (and maybe parents) will be created
  bool is_link = false;  // the path itself is a symbolic link, written through
};

struct WriteOptions {
  mode_t mode = 0644;
  std::optional<uid_t> uid;  // keep the current owner when unset (or root for new files)
  std::optional<gid_t> gid;
};

class Host {
 public:
  // Opens both roots. Fails with a clear error when a root is missing or not a directory.
  static std::expected<Host, Error> Open(const std::string& runtime_root,
                                         const std::string& config_root);

  // The roots a command line names: --runtime-root and --config-root win, else --root for
  // both, else "/". Empty strings mean "not given".
  static std::expected<Host, Error> OpenFromOptions(const std::string& root,
                                                    const std::string& runtime_root,
                                                    const std::string& config_root);

  Host(Host&&) noexcept = default;
  Host& operator=(Host&&) noexcept = default;
  ~Host() = default;

  // True when the runtime root is the real "/" of this machine: device nodes may be opened
  // and ioctls run. False for a captured tree, where probes judge from files alone.
  bool live_runtime() const { return live_runtime_; }
  // True when this machine's live runtime looks at another system's configuration (the live
  // ISO with an installed system's root as the config root): the running kernel, its devices
  // and its boot time say nothing about how that system boots.
  bool config_is_foreign() const { return live_runtime_ && root_path(Root::kConfig) != "/"; }
  const std::string& root_path(Root root) const;

  // Reads a whole regular file (at most `max_bytes`; larger files are an error, not
  // truncated). A FIFO, socket or device node is refused, naming its type, without being
  // opened for reading.
  std::expected<std::string, Error> Read(Root root, std::string_view path,
                                         std::size_t max_bytes = 16u << 20) const;
  // Reads a record-oriented character device such as /dev/kmsg without blocking: every
  // record up to the current end. On a captured tree the file is read as text.
  std::expected<std::string, Error> ReadRecords(Root root, std::string_view path,
                                                std::size_t max_bytes = 4u << 20) const;
  // Names in a directory (no "." or ".."), sorted bytewise.
  std::expected<std::vector<std::string>, Error> List(Root root, std::string_view path) const;
  // The target of a symlink, as stored (not resolved).
  std::expected<std::string, Error> ReadLink(Root root, std::string_view path) const;
  // The path a symlink leads to inside the root, resolved component by component as the
  // kernel would with the root as "/": "/sys/bus/pci/devices/0000:00:02.0" ->
  // "/sys/devices/pci0000:00/0000:00:02.0". Never leaves the root.
  std::expected<std::string, Error> Resolve(Root root, std::string_view path) const;
  // stat (follows symlinks inside the root) and lstat.
  std::expected<FileInfo, Error> Stat(Root root, std::string_view path) const;
  std::expected<FileInfo, Error> LStat(Root root, std::string_view path) const;
  bool Exists(Root root, std::string_view path) const;

  // The check vmsetup makes before it edits `path`, at plan time and again at apply time.
  // Each existing component is followed inside the root as the installed system will follow
  // it; a symbolic link on the way must not climb above the root with "..", must not be
  // absolute unless the root is the real "/" (outside the root an absolute link names another
  // file than inside it), and must lead to something that exists; each existing parent is a
  // directory; the file itself, when it exists, is a regular file. A refusal names the
  // component, the link and its target or the type, and carries no errno; an error from a
  // look that failed carries its errno.
  std::expected<WriteTarget, Error> ResolveForWrite(Root root, std::string_view path) const;

  // Opens a file inside the root with open(2) flags (O_CLOEXEC is added). For device nodes
  // that need an ioctl, such as /dev/kvm on a live runtime root.
  std::expected<Fd, Error> OpenFile(Root root, std::string_view path, int flags) const;

  // Writes a file atomically: temp file in the same directory (".NAME.vmprep-XXXXXXXX", see
  // IsTempFileOf), fsync, rename, fsync of the directory. Parent directories must exist (see
  // MakeDirs). An error from the last step (errno in the error, message "cannot sync
  // directory") comes after the rename: the new bytes are in place but may not be durable.
  std::expected<void, Error> WriteAtomic(Root root, std::string_view path, std::string_view bytes,
                                         const WriteOptions& options) const;
  // Makes `path` a symbolic link to `target` atomically: the link is made under a temporary
  // name beside it (see IsTempFileOf), renamed over `path` (replacing a file or link there),
  // then the directory is synced. The target is stored as given, not checked: callers
  // validate it (fixers/transaction.cc).
  std::expected<void, Error> MakeSymlink(Root root, std::string_view path,
                                         std::string_view target) const;
  // Creates the missing directories of `path`, syncing each parent after a mkdir.
  std::expected<void, Error> MakeDirs(Root root, std::string_view path, mode_t mode = 0755) const;
  // Removes a file or an empty directory, then syncs its directory.
  std::expected<void, Error> Remove(Root root, std::string_view path) const;

  // Fault injection for tests: called before every step with the operation and the path as
  // the caller named it; a non-zero return is the errno that step fails with, as if the
  // system call had failed. Operations: "read" (Read, ReadRecords), "list", "stat" (Stat,
  // LStat, so also Exists), "readlink", "open" (OpenFile); for writes "write", "fsync" (the
  // temp file), "symlink" (MakeSymlink's temporary link), "rename", "fsync-dir" (after a rename,
  // mkdir or remove: the change is made, only not yet durable), "mkdir", "remove".
  using FaultHook = std::function<int(std::string_view operation, std::string_view path)>;
  void SetFaultHookForTesting(FaultHook hook) { fault_hook_ = std::move(hook); }

 private:
  Host() = default;
  std::expected<Fd, Error> OpenIn(Root root, std::string_view path, int flags,
                                  std::uint64_t resolve_extra = 0) const;
  // Opens the parent directory of `path` inside the root; sets *name to the last component.
  std::expected<Fd, Error> OpenParent(Root root, std::string_view path, std::string* name) const;
  int root_fd(Root root) const;

  std::string runtime_path_;
  std::string config_path_;
  std::shared_ptr<Fd> runtime_fd_;
  std::shared_ptr<Fd> config_fd_;
  bool live_runtime_ = false;
  bool config_is_slash_ = false;  // the config root is the real "/"
  bool runtime_is_slash_ = false;
  FaultHook fault_hook_;
  int Fault(std::string_view operation, std::string_view path) const {
    return fault_hook_ ? fault_hook_(operation, path) : 0;
  }
};

}  // namespace vmprep
