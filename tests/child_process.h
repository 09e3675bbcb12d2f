// Test helpers for real processes: a child with pipes to its stdin and from its output (to
// answer a prompt at the moment it is asked), and a run that is SIGKILLed, by ptrace, when it
// enters its Nth system call of a given set (to stop a real binary at an exact step).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace vmprep::testing {

namespace child_process_detail {

// argv as execv wants it; the strings must outlive the call.
inline std::vector<char*> Argv(const std::vector<std::string>& args) {
  std::vector<char*> out;
  for (const auto& a : args) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

inline int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1000;
}

}  // namespace child_process_detail

// A running program: its stdin is a pipe we write, its stdout and stderr one pipe we read.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe: " << std::strerror(errno);
      return;
    }
    auto args = child_process_detail::Argv(argv);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    in_ = in[1];
    out_ = out[0];
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0 && !waited_) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
    if (in_ >= 0) ::close(in_);
    if (out_ >= 0) ::close(out_);
  }

  pid_t pid() const { return pid_; }
  const std::string& output() const { return output_; }

  // Reads until `text` has appeared in the output (true) or the output ends (false).
  bool ReadUntil(std::string_view text) {
    while (output_.find(text) == std::string::npos) {
      if (!ReadSome()) return false;
    }
    return true;
  }

  void Write(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::write(in_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ADD_FAILURE() << "write to child: " << std::strerror(errno);
        return;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void CloseStdin() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }

  // Reads the rest of the output and waits: the exit status, or minus the signal.
  int Wait() {
    CloseStdin();
    while (ReadSome()) {
    }
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    waited_ = true;
    return child_process_detail::ExitCode(status);
  }

 private:
  bool ReadSome() {
    if (out_ < 0) return false;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(out_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(out_);
        out_ = -1;
        return false;
      }
      output_.append(buf, static_cast<std::size_t>(n));
      return true;
    }
  }

  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  bool waited_ = false;
  std::string output_;
};

struct KilledRun {
  bool killed = false;  // SIGKILLed at the chosen call (else it ran to its end)
  int code = -1;        // exit status when not killed
  int calls = 0;        // calls of the set it entered (the chosen one included)
};

// Runs `argv` (stdin /dev/null, output to `output_path`) under ptrace and SIGKILLs it on
// entry to its `n`th system call whose number is in `syscalls`: that call never runs, the
// process dies there as it would from `kill -9`. With n = 0 it runs to its end, counting.
// Only the process itself is traced, not children it starts.
inline KilledRun RunKilledAtSyscall(const std::vector<std::string>& argv,
                                    const std::set<long>& syscalls, int n,
                                    const std::string& output_path) {
  KilledRun run;
  auto args = child_process_detail::Argv(argv);
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);
    int out = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (null < 0 || out < 0) ::_exit(126);
    ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    ::raise(SIGSTOP);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);  // the SIGSTOP before exec
  if (!WIFSTOPPED(status)) {
    ADD_FAILURE() << "child did not stop for tracing";
    return run;
  }
  ::ptrace(PTRACE_SETOPTIONS, pid, nullptr,
           PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACEEXEC);
  int deliver = 0;
  for (;;) {
    if (::ptrace(PTRACE_SYSCALL, pid, nullptr, deliver) != 0) {
      ADD_FAILURE() << "ptrace(PTRACE_SYSCALL): " << std::strerror(errno);
      ::kill(pid, SIGKILL);
    }
    deliver = 0;
    if (::waitpid(pid, &status, 0) < 0) {
      if (errno == EINTR) continue;
      ADD_FAILURE() << "waitpid: " << std::strerror(errno);
      return run;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      run.code = child_process_detail::ExitCode(status);
      return run;
    }
    if (!WIFSTOPPED(status)) continue;
    int sig = WSTOPSIG(status);
    if (sig == (SIGTRAP | 0x80)) {
      __ptrace_syscall_info info{};
      long got = ::ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, &info);
      if (got > 0 && info.op == PTRACE_SYSCALL_INFO_ENTRY &&
          syscalls.contains(static_cast<long>(info.entry.nr))) {
        ++run.calls;
        if (run.calls == n) {
          ::kill(pid, SIGKILL);
          while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
          }
          run.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
          return run;
        }
      }
    } else if (sig != SIGTRAP) {
      deliver = sig;  // a real signal for the tracee
    }
  }
}

// A program run under ptrace that can be held on entry to its Nth system call of a set (the
// call not yet made, whatever it holds still held: a lock, a half-written tree) while the test
// does something else, then let go to run to its end. Output goes to `output_path`.
class HeldChild {
 public:
  HeldChild(const std::vector<std::string>& argv, const std::string& output_path) {
    auto args = child_process_detail::Argv(argv);
    pid_ = ::fork();
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_RDONLY);
      int out = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (null < 0 || out < 0) ::_exit(126);
      ::dup2(null, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
      ::raise(SIGSTOP);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    ::ptrace(PTRACE_SETOPTIONS, pid_, nullptr,
             PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACEEXEC);
  }
  HeldChild(const HeldChild&) = delete;
  HeldChild& operator=(const HeldChild&) = delete;
  ~HeldChild() {
    if (!done_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

  struct Call {
    long nr = -1;
    std::uint64_t args[6] = {};
  };

  // Runs until the entry of a call `stop` accepts, and holds it there: true. On the way,
  // counts into *counted the calls `count` accepts. False when the program ended first (see
  // code()).
  bool RunUntil(const std::function<bool(const Call&)>& stop,
                const std::function<bool(const Call&)>& count = {}, int* counted = nullptr) {
    int deliver = 0;
    for (;;) {
      ::ptrace(PTRACE_SYSCALL, pid_, nullptr, deliver);
      deliver = 0;
      int status = 0;
      if (::waitpid(pid_, &status, 0) < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      if (WIFEXITED(status) || WIFSIGNALED(status)) {
        done_ = true;
        code_ = child_process_detail::ExitCode(status);
        return false;
      }
      if (!WIFSTOPPED(status)) continue;
      int sig = WSTOPSIG(status);
      if (sig == (SIGTRAP | 0x80)) {
        __ptrace_syscall_info info{};
        long got = ::ptrace(PTRACE_GET_SYSCALL_INFO, pid_, sizeof info, &info);
        if (got <= 0 || info.op != PTRACE_SYSCALL_INFO_ENTRY) continue;
        held_.nr = static_cast<long>(info.entry.nr);
        for (int i = 0; i < 6; ++i) held_.args[i] = info.entry.args[i];
        if (stop(held_)) return true;
        if (count && count(held_) && counted != nullptr) ++*counted;
      } else if (sig != SIGTRAP) {
        deliver = sig;
      }
    }
  }

  // Holds it on entry to the `n`th call from now whose number is in `syscalls`.
  bool HoldAt(const std::set<long>& syscalls, int n) {
    int seen = 0;
    return RunUntil([&](const Call& c) { return syscalls.contains(c.nr) && ++seen == n; });
  }

  // The call it is held at.
  const Call& held() const { return held_; }

  // Lets it go (the held call runs) and waits for its end: the exit status, or minus the
  // signal.
  int Finish() {
    if (done_) return code_;
    ::ptrace(PTRACE_DETACH, pid_, nullptr, 0);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    done_ = true;
    code_ = child_process_detail::ExitCode(status);
    return code_;
  }

  int code() const { return code_; }

 private:
  pid_t pid_ = -1;
  Call held_;
  bool done_ = false;
  int code_ = -1;
};

}  // namespace vmprep::testing
