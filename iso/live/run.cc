/// fork + execvp with the caller's terminal; stdout optionally through a pipe.
#include "iso/live/run.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

namespace vmprep::live {

std::expected<RunResult, Error> RunProgram(const std::vector<std::string>& argv, bool capture) {
  if (argv.empty()) return std::unexpected(Error{"", 0, "empty command", EINVAL});
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int out[2] = {-1, -1};
  if (capture && ::pipe2(out, O_CLOEXEC) != 0)
    return std::unexpected(Error{argv[0], 0, "cannot make a pipe", errno});
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    int err = errno;
    if (capture) {
      ::close(out[0]);
      ::close(out[1]);
    }
    return std::unexpected(Error{argv[0], 0, "cannot make a pipe", err});
  }
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    if (capture) {
      ::close(out[0]);
      ::close(out[1]);
    }
    return std::unexpected(Error{argv[0], 0, "cannot fork", err});
  }
  if (pid == 0) {
    if (capture) ::dup2(out[1], STDOUT_FILENO);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGQUIT, SIG_DFL);
    ::execvp(args[0], args.data());
    int err = errno;
    [[maybe_unused]] ssize_t n = ::write(report[1], &err, sizeof err);
    ::_exit(127);
  }
  ::close(report[1]);
  RunResult result;
  if (capture) {
    ::close(out[1]);
    char buf[8192];
    for (;;) {
      ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n > 0) {
        result.output.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        break;
      }
    }
    ::close(out[0]);
  }
  int err = 0;
  ssize_t got;
  do {
    got = ::read(report[0], &err, sizeof err);
  } while (got < 0 && errno == EINTR);
  ::close(report[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return std::unexpected(Error{argv[0], 0, "cannot wait for it", errno});
  }
  if (got == static_cast<ssize_t>(sizeof err)) {
    return std::unexpected(
        Error{argv[0], 0, fmt::format("cannot run it: {}", std::strerror(err)), err});
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace vmprep::live
