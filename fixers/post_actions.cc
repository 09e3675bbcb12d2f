/// Runs a plan's post-actions (regenerate the initramfs or the boot menu) with an argv by
/// fork + execve, never through a shell, so no word of a path or a device id is ever
/// re-parsed; inside the config root (chroot) when that is not "/".
#include "fixers/post_actions.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

namespace vmprep {
namespace {

constexpr const char* kSearchPath[] = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                       "/usr/bin",        "/sbin",          "/bin"};
constexpr const char* kEnvPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool IsExecutable(const Host& host, const std::string& path) {
  auto info = host.Stat(Root::kConfig, path);
  return info && info->type == FileType::kRegular && (info->mode & 0111) != 0;
}

bool NeedsQuote(const std::string& word) {
  if (word.empty()) return true;
  for (char c : word) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 std::strchr("-_./=:,+@%", c) != nullptr;
    if (!plain) return true;
  }
  return false;
}

}  // namespace

std::string FormatArgv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& word : argv) {
    if (!out.empty()) out += ' ';
    if (!NeedsQuote(word)) {
      out += word;
      continue;
    }
    out += '\'';
    for (char c : word) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out += c;
      }
    }
    out += '\'';
  }
  return out;
}

namespace {

// The program to run: argv[0] as given when it holds a '/', else found in the config root's
// search path (kSearchPath).
std::expected<std::string, Error> FindProgram(const Host& host, const std::string& argv0,
                                              const std::string& shown) {
  std::string program = argv0;
  if (program.find('/') == std::string::npos) {
    std::string found;
    for (const char* dir : kSearchPath) {
      std::string candidate = fmt::format("{}/{}", dir, program);
      if (IsExecutable(host, candidate)) {
        found = candidate;
        break;
      }
    }
    if (found.empty()) {
      return std::unexpected(
          Error{program, 0,
                fmt::format("not found in the config root's /usr/sbin, /usr/bin, "
                            "/sbin or /bin; run `{}` by hand once it is installed",
                            shown),
                ENOENT});
    }
    program = found;
  } else if (!IsExecutable(host, program)) {
    return std::unexpected(
        Error{program, 0, "is not an executable file in the config root", ENOENT});
  }
  return program;
}

// Hands `output` each line the child writes to `fd`, until it closes it.
void RelayLines(int fd, const OutputFn& output) {
  std::string pending;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      output(std::string_view(pending).substr(0, nl));
      pending.erase(0, nl + 1);
    }
  }
  if (!pending.empty()) output(pending);
}

// In the forked child, where only async-signal-safe calls may be made: sends its output to
// `out` (when >= 0), enters `root` (when not null), and executes `program`; on failure
// writes the stage that failed and errno to `report`.
[[noreturn]] void ExecInChild(int report, int out, const char* root, const char* program,
                              char* const argv[], char* const envp[]) {
  if (out >= 0) {
    // dup2 clears close-on-exec on the copies.
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
  }
  int stage = 0;  // 0 chroot, 1 chdir, 2 execve
  if (root == nullptr || ::chroot(root) == 0) {
    stage = 1;
    if (::chdir("/") == 0) {
      stage = 2;
      ::execve(program, argv, envp);
    }
  }
  int why[2] = {stage, errno};
  [[maybe_unused]] ssize_t n = ::write(report, why, sizeof why);
  ::_exit(127);
}

}  // namespace

std::expected<void, Error> RunPostAction(const Host& host, const PostAction& action,
                                         const OutputFn& output) {
  const std::string shown = FormatArgv(action.argv);
  if (action.argv.empty() || action.argv[0].empty()) {
    return std::unexpected(Error{"", 0, "post-action has an empty argv", EINVAL});
  }
  auto found = FindProgram(host, action.argv[0], shown);
  if (!found) return std::unexpected(found.error());
  const std::string program = std::move(*found);

  std::string root = host.root_path(Root::kConfig);
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  const bool chroot_needed = root != "/";

  // Everything the child needs is built before fork: after it only async-signal-safe calls.
  std::vector<char*> argv;
  for (const auto& a : action.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  char env_path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  static_assert(sizeof env_path == std::char_traits<char>::length(kEnvPath) + 1);
  char env_locale[] = "LC_ALL=C";
  char* envp[] = {env_path, env_locale, nullptr};

  // The child reports why it could not exec through a close-on-exec pipe, so the program's
  // own exit statuses (even 126 or 127) are never mistaken for a failure to start it.
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0)
    return std::unexpected(Error{program, 0, "cannot make a pipe", errno});
  int lines[2] = {-1, -1};  // the child's stdout and stderr, when `output` wants them
  if (output && ::pipe2(lines, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    return std::unexpected(Error{program, 0, "cannot make a pipe", err});
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    for (int fd : {report[0], report[1], lines[0], lines[1]})
      if (fd >= 0) ::close(fd);
    return std::unexpected(Error{program, 0, "cannot fork", err});
  }
  if (pid == 0) {
    ::close(report[0]);
    ExecInChild(report[1], lines[1], chroot_needed ? root.c_str() : nullptr, program.c_str(),
                argv.data(), envp);
  }
  ::close(report[1]);
  if (lines[0] >= 0) {
    ::close(lines[1]);
    RelayLines(lines[0], output);
    ::close(lines[0]);
  }
  int why[2] = {0, 0};
  ssize_t got;
  do {
    got = ::read(report[0], why, sizeof why);
  } while (got < 0 && errno == EINTR);
  ::close(report[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return std::unexpected(Error{program, 0, "cannot wait for it", errno});
  }
  if (WIFSIGNALED(status)) {
    return std::unexpected(
        Error{program, 0, fmt::format("`{}` was killed by signal {}", shown, WTERMSIG(status))});
  }
  if (got == static_cast<ssize_t>(sizeof why)) {
    constexpr const char* kStage[] = {"chroot into the config root", "chdir", "execve"};
    return std::unexpected(Error{
        program, 0,
        fmt::format("`{}` could not be started: {} failed{}: {}", shown,
                    kStage[std::clamp(why[0], 0, 2)],
                    chroot_needed ? " (root " + root + ")" : std::string(), std::strerror(why[1])),
        why[1]});
  }
  int code = WEXITSTATUS(status);
  if (code == 0) return {};
  return std::unexpected(Error{program, 0, fmt::format("`{}` exited with status {}", shown, code)});
}

}  // namespace vmprep
