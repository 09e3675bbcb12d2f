/// The Host seam: the only file in vmprep that calls open/openat2/stat/readdir/rename.
/// Every path is resolved inside its root with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS),
/// so a symlink or ".." in a captured or hostile tree cannot reach outside it.
#include "core/host.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <random>

namespace vmprep {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

Error SysError(std::string_view path, std::string_view what, int err) {
  return Error{std::string(path), 0, fmt::format("{}: {}", what, ErrnoText(err)), err};
}

// "/a/b/../c" -> components {"a","b","..","c"}; empty components dropped.
std::vector<std::string> Components(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > pos) out.emplace_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

// A path relative to the root for openat2; "." for the root itself.
std::string Relative(std::string_view path) {
  std::string rel;
  for (const auto& c : Components(path)) {
    if (!rel.empty()) rel += '/';
    rel += c;
  }
  return rel.empty() ? "." : rel;
}

FileInfo ToInfo(const struct stat& st) {
  FileInfo info;
  switch (st.st_mode & S_IFMT) {
    case S_IFREG:
      info.type = FileType::kRegular;
      break;
    case S_IFDIR:
      info.type = FileType::kDirectory;
      break;
    case S_IFLNK:
      info.type = FileType::kSymlink;
      break;
    case S_IFCHR:
      info.type = FileType::kCharDevice;
      break;
    case S_IFBLK:
      info.type = FileType::kBlockDevice;
      break;
    case S_IFIFO:
      info.type = FileType::kFifo;
      break;
    case S_IFSOCK:
      info.type = FileType::kSocket;
      break;
    default:
      info.type = FileType::kOther;
      break;
  }
  info.mode = st.st_mode & 07777;
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  info.size = static_cast<std::uint64_t>(st.st_size);
  info.rdev = st.st_rdev;
  info.mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec);
  return info;
}

std::expected<std::string, Error> ReadAll(int fd, std::string_view path, std::size_t max_bytes) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(SysError(path, "cannot read", errno));
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      return std::unexpected(
          Error{std::string(path), 0,
                fmt::format("file is larger than {} bytes; refusing to read it", max_bytes)});
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Error NotRegular(std::string_view path, FileType type) {
  return Error{std::string(path), 0,
               fmt::format("is a {}, expected a regular file; vmprep reads and edits only "
                           "regular files",
                           FileTypeName(type)),
               type == FileType::kDirectory ? EISDIR : 0};
}

constexpr std::string_view kTempInfix = ".vmprep-";

// fsync of the directory `dir` (an O_PATH descriptor) so that a new, renamed or removed entry
// in it survives a crash. `path` names the entry changed, for the error.
std::expected<void, Error> SyncDir(int dir, std::string_view path, int injected) {
  if (injected != 0) return std::unexpected(SysError(path, "cannot sync directory", injected));
  // The directory fd is O_PATH; open it for reading to fsync it.
  int dfd = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return std::unexpected(SysError(path, "cannot open directory to sync", errno));
  Fd d(dfd);
  if (::fsync(d.get()) != 0) return std::unexpected(SysError(path, "cannot sync directory", errno));
  return {};
}

}  // namespace

std::string_view FileTypeName(FileType type) {
  switch (type) {
    case FileType::kRegular:
      return "regular file";
    case FileType::kDirectory:
      return "directory";
    case FileType::kSymlink:
      return "symbolic link";
    case FileType::kCharDevice:
      return "character device";
    case FileType::kBlockDevice:
      return "block device";
    case FileType::kFifo:
      return "FIFO (named pipe)";
    case FileType::kSocket:
      return "socket";
    case FileType::kOther:
      break;
  }
  return "file of unknown type";
}

bool IsTempFileOf(std::string_view entry, std::string_view name) {
  // ".NAME.vmprep-XXXXXXXX", as WriteAtomic names them.
  const std::size_t prefix = 1 + name.size() + kTempInfix.size();
  if (entry.size() != prefix + 8 || entry.front() != '.' || entry.substr(1, name.size()) != name ||
      entry.substr(1 + name.size(), kTempInfix.size()) != kTempInfix) {
    return false;
  }
  return std::all_of(entry.begin() + static_cast<std::ptrdiff_t>(prefix), entry.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

std::expected<Host, Error> Host::Open(const std::string& runtime_root,
                                      const std::string& config_root) {
  Host host;
  auto open_root = [](const std::string& path) -> std::expected<std::shared_ptr<Fd>, Error> {
    if (path.empty()) return std::unexpected(Error{"", 0, "root directory is empty", 0});
    int fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return std::unexpected(SysError(path, "cannot open root directory", errno));
    return std::make_shared<Fd>(fd);
  };
  auto runtime = open_root(runtime_root);
  if (!runtime) return std::unexpected(runtime.error());
  auto config = open_root(config_root);
  if (!config) return std::unexpected(config.error());
  host.runtime_path_ = runtime_root;
  host.config_path_ = config_root;
  host.runtime_fd_ = *runtime;
  host.config_fd_ = *config;
  struct stat real_root {};
  bool have_root = ::stat("/", &real_root) == 0;
  auto is_slash = [&](int fd) {
    struct stat given {};
    return have_root && ::fstat(fd, &given) == 0 && real_root.st_dev == given.st_dev &&
           real_root.st_ino == given.st_ino;
  };
  host.runtime_is_slash_ = is_slash(host.runtime_fd_->get());
  host.config_is_slash_ = is_slash(host.config_fd_->get());
  host.live_runtime_ = host.runtime_is_slash_;
  return host;
}

std::expected<Host, Error> Host::OpenFromOptions(const std::string& root,
                                                 const std::string& runtime_root,
                                                 const std::string& config_root) {
  const std::string both = root.empty() ? "/" : root;
  return Open(runtime_root.empty() ? both : runtime_root, config_root.empty() ? both : config_root);
}

const std::string& Host::root_path(Root root) const {
  return root == Root::kRuntime ? runtime_path_ : config_path_;
}

int Host::root_fd(Root root) const {
  return root == Root::kRuntime ? runtime_fd_->get() : config_fd_->get();
}

std::expected<Fd, Error> Host::OpenIn(Root root, std::string_view path, int flags,
                                      std::uint64_t resolve_extra) const {
  struct open_how how {};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? 0600 : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve_extra;
  std::string rel = Relative(path);
  for (;;) {
    long fd = ::syscall(SYS_openat2, root_fd(root), rel.c_str(), &how, sizeof how);
    if (fd >= 0) return Fd(static_cast<int>(fd));
    if (errno == EINTR || errno == EAGAIN) continue;
    return std::unexpected(SysError(path, "cannot open", errno));
  }
}

std::expected<Fd, Error> Host::OpenParent(Root root, std::string_view path,
                                          std::string* name) const {
  auto parts = Components(path);
  if (parts.empty())
    return std::unexpected(Error{std::string(path), 0, "path names the root itself"});
  *name = parts.back();
  if (*name == "." || *name == "..") {
    return std::unexpected(Error{std::string(path), 0, "path must end in a file name"});
  }
  parts.pop_back();
  std::string parent = "/";
  for (const auto& p : parts) parent += p + "/";
  return OpenIn(root, parent, O_PATH | O_DIRECTORY);
}

std::expected<std::string, Error> Host::Read(Root root, std::string_view path,
                                             std::size_t max_bytes) const {
  if (int err = Fault("read", path)) return std::unexpected(SysError(path, "cannot read", err));
  // Look before opening for reading: opening a device can have side effects, a socket
  // cannot be opened, and a FIFO reads as empty (or blocks).
  auto node = OpenIn(root, path, O_PATH);
  if (!node) return std::unexpected(node.error());
  struct stat st {};
  if (::fstat(node->get(), &st) != 0) return std::unexpected(SysError(path, "cannot stat", errno));
  if (!S_ISREG(st.st_mode)) return std::unexpected(NotRegular(path, ToInfo(st).type));
  auto fd = OpenIn(root, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  if (!fd) return std::unexpected(fd.error());
  // Replaced in between? Read only what is still a regular file.
  if (::fstat(fd->get(), &st) != 0) return std::unexpected(SysError(path, "cannot stat", errno));
  if (!S_ISREG(st.st_mode)) return std::unexpected(NotRegular(path, ToInfo(st).type));
  return ReadAll(fd->get(), path, max_bytes);
}

std::expected<std::string, Error> Host::ReadRecords(Root root, std::string_view path,
                                                    std::size_t max_bytes) const {
  if (int err = Fault("read", path)) return std::unexpected(SysError(path, "cannot read", err));
  auto fd = OpenIn(root, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  if (!fd) return std::unexpected(fd.error());
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return std::unexpected(SysError(path, "cannot stat", errno));
  if (!S_ISCHR(st.st_mode)) return ReadAll(fd->get(), path, max_bytes);
  std::string out;
  std::string record(8192, '\0');
  while (out.size() < max_bytes) {
    ssize_t n = ::read(fd->get(), record.data(), record.size());
    if (n < 0) {
      if (errno == EINTR || errno == EPIPE) continue;  // EPIPE: a record was overwritten
      if (errno == EAGAIN) break;                      // end of the buffer
      return std::unexpected(SysError(path, "cannot read", errno));
    }
    if (n == 0) break;
    out.append(record.data(), static_cast<std::size_t>(n));
    if (out.back() != '\n') out += '\n';
  }
  return out;
}

std::expected<std::vector<std::string>, Error> Host::List(Root root, std::string_view path) const {
  if (int err = Fault("list", path)) return std::unexpected(SysError(path, "cannot list", err));
  auto fd = OpenIn(root, path, O_RDONLY | O_DIRECTORY);
  if (!fd) return std::unexpected(fd.error());
  DIR* dir = ::fdopendir(fd->get());
  if (dir == nullptr) return std::unexpected(SysError(path, "cannot list", errno));
  fd->Release();  // owned by dir now
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return std::unexpected(SysError(path, "cannot list", err));
  std::sort(names.begin(), names.end());
  return names;
}

std::expected<std::string, Error> Host::ReadLink(Root root, std::string_view path) const {
  if (int err = Fault("readlink", path))
    return std::unexpected(SysError(path, "cannot read link", err));
  std::string name;
  auto dir = OpenParent(root, path, &name);
  if (!dir) return std::unexpected(dir.error());
  std::string target(4096, '\0');
  ssize_t n = ::readlinkat(dir->get(), name.c_str(), target.data(), target.size());
  if (n < 0) return std::unexpected(SysError(path, "cannot read link", errno));
  target.resize(static_cast<std::size_t>(n));
  return target;
}

std::expected<std::string, Error> Host::Resolve(Root root, std::string_view path) const {
  std::deque<std::string> todo;
  for (auto& c : Components(path)) todo.push_back(std::move(c));
  std::vector<std::string> done;
  int links = 0;
  auto joined = [&done] {
    std::string s;
    for (const auto& d : done) s += "/" + d;
    return s.empty() ? std::string("/") : s;
  };
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      if (!done.empty()) done.pop_back();  // ".." at the root stays at the root
      continue;
    }
    done.push_back(c);
    auto info = LStat(root, joined());
    if (!info) return std::unexpected(info.error());
    if (info->type != FileType::kSymlink) continue;
    if (++links > 40) {
      return std::unexpected(
          Error{std::string(path), 0, "too many levels of symbolic links", ELOOP});
    }
    auto target = ReadLink(root, joined());
    if (!target) return std::unexpected(target.error());
    done.pop_back();
    if (!target->empty() && target->front() == '/') done.clear();
    auto parts = Components(*target);
    todo.insert(todo.begin(), parts.begin(), parts.end());
  }
  return joined();
}

namespace {

Error Refusal(std::string where, std::string message) {
  return Error{std::move(where), 0, std::move(message), 0};
}

// ResolveForWrite's walk: the components still to walk, each with the symbolic link whose
// target it came from (-1: the path as given), so that a refusal names the link the user can
// see; the components walked; the links followed.
struct WriteWalk {
  struct Link {
    std::string path, target;
  };
  std::string_view path;  // as given
  std::string in_root;    // "config root (/mnt)", for messages
  std::deque<std::pair<std::string, int>> todo;
  std::vector<std::string> done;
  std::vector<Link> links;

  std::string Joined() const {
    std::string s;
    for (const auto& d : done) s += "/" + d;
    return s.empty() ? std::string("/") : s;
  }

  // "..": one component up, refused above the root.
  std::expected<void, Error> Up(int from) {
    if (!done.empty()) {
      done.pop_back();
      return {};
    }
    if (from < 0) return std::unexpected(Refusal(std::string(path), "'..' climbs above the root"));
    return std::unexpected(Refusal(
        links[from].path, fmt::format("is a symbolic link to {}, which leads out of the {}: its "
                                      "'..' climb above it",
                                      links[from].target, in_root)));
  }

  // The walked component does not exist: what is left will be created, as plain names.
  std::expected<WriteTarget, Error> Missing(const Error& error, int from) {
    if (error.errno_value != ENOENT) return std::unexpected(error);
    if (from >= 0) {
      return std::unexpected(Refusal(
          links[from].path, fmt::format("is a symbolic link to {}, which does not exist inside "
                                        "the {}",
                                        links[from].target, in_root)));
    }
    for (auto& [rest, rest_from] : todo) {
      if (rest == "." || rest == "..") {
        return std::unexpected(
            Refusal(std::string(path), "expected a plain path (no '.' or '..' components)"));
      }
      done.push_back(std::move(rest));
    }
    return WriteTarget{.path = Joined(), .exists = false};
  }

  Error TooManyLinks() const {
    return Error{std::string(path), 0, "too many levels of symbolic links", ELOOP};
  }

  // The walked component is a link to `target`: walk its target instead.
  std::expected<void, Error> Follow(const std::string& target, bool root_is_slash) {
    links.push_back({Joined(), target});
    const int index = static_cast<int>(links.size()) - 1;
    const bool absolute = !target.empty() && target.front() == '/';
    if (absolute && !root_is_slash) {
      return std::unexpected(Refusal(
          Joined(), fmt::format("is a symbolic link to {}, an absolute path: inside the {} it "
                                "names another file than outside it; vmprep does not write "
                                "through it (make the link relative, or run on that system)",
                                target, in_root)));
    }
    done.pop_back();
    if (absolute) done.clear();
    auto parts = Components(target);
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.emplace_front(*it, index);
    return {};
  }
};

}  // namespace

std::expected<WriteTarget, Error> Host::ResolveForWrite(Root root, std::string_view path) const {
  WriteWalk walk{
      .path = path,
      .in_root = fmt::format("{} root ({})", root == Root::kConfig ? "config" : "runtime",
                             root_path(root))};
  for (auto& c : Components(path)) walk.todo.emplace_back(std::move(c), -1);
  const bool slash = root == Root::kConfig ? config_is_slash_ : runtime_is_slash_;
  bool is_link = false;
  while (!walk.todo.empty()) {
    auto [c, from] = std::move(walk.todo.front());
    walk.todo.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      if (auto up = walk.Up(from); !up) return std::unexpected(up.error());
      continue;
    }
    walk.done.push_back(c);
    const bool last = walk.todo.empty();
    const std::string at = walk.Joined();
    auto info = LStat(root, at);
    if (!info) return walk.Missing(info.error(), from);
    if (info->type == FileType::kSymlink) {
      if (walk.links.size() >= 40) return std::unexpected(walk.TooManyLinks());
      auto target = ReadLink(root, at);
      if (!target) return std::unexpected(target.error());
      if (last && from < 0) is_link = true;
      if (auto ok = walk.Follow(*target, slash); !ok) return std::unexpected(ok.error());
      continue;
    }
    if (!last && info->type != FileType::kDirectory) {
      return std::unexpected(
          Refusal(at, fmt::format("is a {}, expected a directory", FileTypeName(info->type))));
    }
    if (last && info->type != FileType::kRegular) {
      return std::unexpected(Refusal(at, NotRegular(at, info->type).message));
    }
  }
  return WriteTarget{.path = walk.Joined(), .exists = true, .is_link = is_link};
}

std::expected<FileInfo, Error> Host::Stat(Root root, std::string_view path) const {
  if (int err = Fault("stat", path)) return std::unexpected(SysError(path, "cannot stat", err));
  auto fd = OpenIn(root, path, O_PATH);
  if (!fd) return std::unexpected(fd.error());
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return std::unexpected(SysError(path, "cannot stat", errno));
  return ToInfo(st);
}

std::expected<FileInfo, Error> Host::LStat(Root root, std::string_view path) const {
  if (Relative(path) == ".") return Stat(root, path);
  if (int err = Fault("stat", path)) return std::unexpected(SysError(path, "cannot stat", err));
  std::string name;
  auto dir = OpenParent(root, path, &name);
  if (!dir) return std::unexpected(dir.error());
  struct stat st {};
  if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return std::unexpected(SysError(path, "cannot stat", errno));
  }
  return ToInfo(st);
}

bool Host::Exists(Root root, std::string_view path) const { return LStat(root, path).has_value(); }

std::expected<Fd, Error> Host::OpenFile(Root root, std::string_view path, int flags) const {
  if (int err = Fault("open", path)) return std::unexpected(SysError(path, "cannot open", err));
  return OpenIn(root, path, flags);
}

std::expected<void, Error> Host::MakeDirs(Root root, std::string_view path, mode_t mode) const {
  std::string sofar;
  for (const auto& c : Components(path)) {
    if (c == "..") return std::unexpected(Error{std::string(path), 0, "'..' is not allowed here"});
    sofar += "/" + c;
    auto info = Stat(root, sofar);
    if (info) {
      if (info->type != FileType::kDirectory) {
        return std::unexpected(Error{sofar, 0, "exists and is not a directory", ENOTDIR});
      }
      continue;
    }
    std::string name;
    auto dir = OpenParent(root, sofar, &name);
    if (!dir) return std::unexpected(dir.error());
    if (int err = Fault("mkdir", sofar))
      return std::unexpected(SysError(sofar, "cannot create directory", err));
    if (::mkdirat(dir->get(), name.c_str(), mode) != 0) {
      if (errno == EEXIST) continue;  // made meanwhile; Stat above saw nothing
      return std::unexpected(SysError(sofar, "cannot create directory", errno));
    }
    if (auto synced = SyncDir(dir->get(), sofar, Fault("fsync-dir", sofar)); !synced) return synced;
  }
  return {};
}

std::expected<void, Error> Host::WriteAtomic(Root root, std::string_view path,
                                             std::string_view bytes,
                                             const WriteOptions& options) const {
  // Write through a symlink to its target (inside the root), as editors do, so that a
  // /etc/sysconfig/grub -> ../default/grub link stays a link.
  std::string target(path);
  auto lst = LStat(root, path);
  if (!lst && lst.error().errno_value != ENOENT) return std::unexpected(lst.error());
  if (lst && lst->type == FileType::kSymlink) {
    auto resolved = Resolve(root, path);
    if (!resolved) return std::unexpected(resolved.error());
    target = *resolved;
  }
  std::string name;
  auto dir = OpenParent(root, target, &name);
  if (!dir) return std::unexpected(dir.error());
  std::random_device rd;
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    tmp = fmt::format(".{}{}{:08x}", name, kTempInfix, rd());
    fd = ::openat(dir->get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                  0600);
    if (fd < 0 && errno != EEXIST)
      return std::unexpected(SysError(target, "cannot create temporary file", errno));
  }
  if (fd < 0) return std::unexpected(SysError(target, "cannot create temporary file", EEXIST));
  Fd file(fd);
  auto fail = [&](std::string_view what) {
    int err = errno;
    ::unlinkat(dir->get(), tmp.c_str(), 0);
    return std::unexpected(SysError(target, what, err));
  };
  if (int err = Fault("write", target)) {
    errno = err;
    return fail("cannot write");
  }
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(file.get(), bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    off += static_cast<std::size_t>(n);
  }
  uid_t uid = options.uid.value_or(static_cast<uid_t>(-1));
  gid_t gid = options.gid.value_or(static_cast<gid_t>(-1));
  if ((options.uid || options.gid) && ::fchown(file.get(), uid, gid) != 0)
    return fail("cannot set owner");
  if (::fchmod(file.get(), options.mode) != 0) return fail("cannot set mode");
  if (int err = Fault("fsync", target)) {
    errno = err;
    return fail("cannot sync");
  }
  if (::fsync(file.get()) != 0) return fail("cannot sync");
  if (int err = Fault("rename", target)) {
    errno = err;
    return fail("cannot rename into place");
  }
  if (::renameat(dir->get(), tmp.c_str(), dir->get(), name.c_str()) != 0)
    return fail("cannot rename into place");
  return SyncDir(dir->get(), target, Fault("fsync-dir", target));
}

std::expected<void, Error> Host::MakeSymlink(Root root, std::string_view path,
                                             std::string_view target) const {
  std::string name;
  auto dir = OpenParent(root, path, &name);
  if (!dir) return std::unexpected(dir.error());
  if (int err = Fault("symlink", path))
    return std::unexpected(SysError(path, "cannot create symbolic link", err));
  const std::string to(target);
  std::random_device rd;
  std::string tmp;
  bool made = false;
  for (int attempt = 0; attempt < 16 && !made; ++attempt) {
    tmp = fmt::format(".{}{}{:08x}", name, kTempInfix, rd());
    made = ::symlinkat(to.c_str(), dir->get(), tmp.c_str()) == 0;
    if (!made && errno != EEXIST)
      return std::unexpected(SysError(path, "cannot create symbolic link", errno));
  }
  if (!made) return std::unexpected(SysError(path, "cannot create symbolic link", EEXIST));
  int err = Fault("rename", path);
  if (err == 0 && ::renameat(dir->get(), tmp.c_str(), dir->get(), name.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlinkat(dir->get(), tmp.c_str(), 0);
    return std::unexpected(SysError(path, "cannot rename into place", err));
  }
  return SyncDir(dir->get(), path, Fault("fsync-dir", path));
}

std::expected<void, Error> Host::Remove(Root root, std::string_view path) const {
  std::string name;
  auto dir = OpenParent(root, path, &name);
  if (!dir) return std::unexpected(dir.error());
  if (int err = Fault("remove", path)) return std::unexpected(SysError(path, "cannot remove", err));
  // A file, or else an empty directory (undo removes the directories an apply created).
  if (::unlinkat(dir->get(), name.c_str(), 0) != 0 &&
      (errno != EISDIR || ::unlinkat(dir->get(), name.c_str(), AT_REMOVEDIR) != 0)) {
    return std::unexpected(SysError(path, "cannot remove", errno));
  }
  return SyncDir(dir->get(), path, Fault("fsync-dir", path));
}

}  // namespace vmprep
