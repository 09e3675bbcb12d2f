// kill -9 in the middle of a real vmsetup apply or undo, at every step that changes a file,
// and the next run of any command (plan, history, undo, apply) puts the machine back in one
// piece: every file as before the transaction or every file as after, no temporary file, no
// record left unfinished, and a line on stderr saying what it did.
//
// The process is stopped by ptrace on entry to its Nth system call that writes (write, fsync,
// rename, mkdir, unlink, chmod, chown) and killed there with SIGKILL: the shipped binary, no
// hook in it.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "fixers/transaction.h"
#include "tests/child_process.h"
#include "tests/fixers/vmsetup_tree.h"
#include "tests/run_command.h"
#include "tests/test_files.h"

namespace vmprep {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using vmprep::testing::ApplyArgv;
using vmprep::testing::Build;
using vmprep::testing::Corpus;
using vmprep::testing::Diff;
using vmprep::testing::Files;
using vmprep::testing::kRequest;
using vmprep::testing::kWritingCalls;
using vmprep::testing::Records;
using vmprep::testing::Slurp;
using vmprep::testing::Spill;
using vmprep::testing::TempFiles;
using vmprep::testing::Tree;
using vmprep::testing::UndoArgv;
using vmprep::testing::Vmsetup;

// What the next run is asked to do, in turn.
const std::vector<std::string> kNextRuns = {"plan " + kRequest, "history", "undo --no-regenerate",
                                            "apply --yes " + kRequest};

struct Expect {
  std::map<std::string, std::string> before, after;
};

Expect Reference() {
  Expect e;
  Tree t;
  Build(t);
  e.before = Files(t);
  auto r = Vmsetup(t, "apply --yes " + kRequest);
  EXPECT_EQ(r.code, 0) << r.out;
  e.after = Files(t);
  EXPECT_EQ(Diff(e.after, e.before).empty(), false);
  EXPECT_GE(e.after.size(), e.before.size() + 2) << "expected created files and a directory";
  return e;
}

// Checks the next run after a kill. `applied`: a transaction was recorded as applied (the
// kill came after that point) and not undone.
void CheckNextRun(const Tree& t, const Expect& e, const std::string& next, bool unfinished,
                  bool applied, const std::string& where) {
  auto r = Vmsetup(t, next);
  EXPECT_EQ(r.code, 0) << where << ", then " << next << ":\n" << r.out;
  if (unfinished) {
    EXPECT_THAT(r.out, ::testing::AnyOf(HasSubstr("vmsetup: rolled back transaction"),
                                        HasSubstr("vmsetup: finished undoing transaction"),
                                        HasSubstr("vmsetup: removed the record of transaction")))
        << where << ", then " << next << ":\n"
        << r.out;
  } else {
    EXPECT_THAT(r.out, ::testing::Not(HasSubstr("left unfinished"))) << where << ", then " << next;
    EXPECT_THAT(r.out, ::testing::Not(HasSubstr("removed the record"))) << where;
  }
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("RECOVERY INCOMPLETE"))) << where;
  EXPECT_THAT(TempFiles(t), ::testing::IsEmpty()) << where << ", then " << next;
  for (const auto& state : Records(t)) {
    EXPECT_THAT(state, ::testing::AnyOf("applied", "rolled-back", "undone"))
        << where << ", then " << next;
  }
  auto now = Files(t);
  bool want_after = next.starts_with("apply") || (applied && !next.starts_with("undo"));
  EXPECT_EQ(Diff(now, want_after ? e.after : e.before), "")
      << where << ", then " << next << " (expected every file " << (want_after ? "after" : "before")
      << ")\n"
      << r.out;
}

}  // namespace

// The journal is written, and durable, before the first file is touched: the transaction's
// directory is created and its parent synced, the manifest written, synced, renamed into place
// and its directory synced, all before the first write to a file of the plan.
TEST(Recovery, TheJournalIsDurableBeforeTheFirstFile) {
  Tree t;
  Spill(t / "/etc/f", "v0\n");
  auto host = Host::Open(t.str(), t.str());
  ASSERT_TRUE(host.has_value());
  std::vector<std::string> steps;
  host->SetFaultHookForTesting([&](std::string_view op, std::string_view path) {
    if (op != "stat" && op != "read" && op != "list" && op != "readlink" && op != "open")
      steps.push_back(std::string(op) + " " + std::string(path));
    return 0;
  });
  EditSet plan;
  FileEdit edit;
  edit.path = "/etc/f";
  edit.before = "v0\n";
  edit.after = "v1\n";
  plan.edits.push_back(edit);
  auto applied = ApplyEditSet(*host, plan);
  ASSERT_TRUE(applied.has_value());
  const std::string dir = "/var/lib/vmprep/transactions/" + applied->record.id;
  auto at = [&](const std::string& step) {
    auto it = std::find(steps.begin(), steps.end(), step);
    EXPECT_NE(it, steps.end()) << step << " not in " << ::testing::PrintToString(steps);
    return it - steps.begin();
  };
  const auto first_write = at("write /etc/f");
  for (const std::string& step :
       {"mkdir " + dir, "fsync-dir " + dir, "write " + dir + "/files/0",
        "fsync-dir " + dir + "/files/0", "write " + dir + "/manifest.json",
        "fsync " + dir + "/manifest.json", "rename " + dir + "/manifest.json",
        "fsync-dir " + dir + "/manifest.json"}) {
    EXPECT_LT(at(step), first_write) << step;
  }
  EXPECT_LT(at("fsync-dir " + dir + "/manifest.json"), first_write);
}

// Killed at every writing system call of an apply; the next run of each command recovers.
TEST(Recovery, KillDuringApplyAtEveryStepThenAnyCommandRecovers) {
  const Expect e = Reference();
  int total = 0;
  {
    Tree t;
    Build(t);
    auto run = testing::RunKilledAtSyscall(ApplyArgv(t), kWritingCalls, 0, t.str() + ".out");
    ASSERT_EQ(run.code, 0);
    total = run.calls;
    fs::remove(t.str() + ".out");
  }
  ASSERT_GE(total, 30) << "fewer writing calls than expected: is the set right?";
  int unfinished_seen = 0;
  for (int n = 1; n <= total; ++n) {
    Tree t;
    Build(t);
    auto run = testing::RunKilledAtSyscall(ApplyArgv(t), kWritingCalls, n, t.str() + ".out");
    fs::remove(t.str() + ".out");
    ASSERT_TRUE(run.killed) << "call " << n << " of " << total << " was never reached";
    auto records = Records(t);
    bool unfinished = std::any_of(records.begin(), records.end(), [](const std::string& s) {
      return s == "applying" || s == "no-manifest";
    });
    bool applied = std::count(records.begin(), records.end(), "applied") == 1;
    unfinished_seen += unfinished;
    const std::string where = "apply killed at writing call " + std::to_string(n) + " of " +
                              std::to_string(total) +
                              " (records: " + ::testing::PrintToString(records) + ")";
    CheckNextRun(t, e, kNextRuns[n % kNextRuns.size()], unfinished, applied, where);
  }
  EXPECT_GE(unfinished_seen, total / 2) << "most kills should leave an unfinished transaction";
}

// Killed at every writing system call of an undo; the next run of each command finishes it.
TEST(Recovery, KillDuringUndoAtEveryStepThenAnyCommandRecovers) {
  const Expect e = Reference();
  auto applied_tree = [](const Tree& t) {
    Build(t);
    auto r = Vmsetup(t, "apply --yes " + kRequest);
    ASSERT_EQ(r.code, 0) << r.out;
  };
  int total = 0;
  {
    Tree t;
    applied_tree(t);
    auto run = testing::RunKilledAtSyscall(UndoArgv(t), kWritingCalls, 0, t.str() + ".out");
    ASSERT_EQ(run.code, 0);
    total = run.calls;
    fs::remove(t.str() + ".out");
  }
  ASSERT_GE(total, 15);
  int unfinished_seen = 0;
  for (int n = 1; n <= total; ++n) {
    Tree t;
    applied_tree(t);
    auto run = testing::RunKilledAtSyscall(UndoArgv(t), kWritingCalls, n, t.str() + ".out");
    fs::remove(t.str() + ".out");
    ASSERT_TRUE(run.killed) << "call " << n << " of " << total << " was never reached";
    auto records = Records(t);
    bool unfinished = std::count(records.begin(), records.end(), "undoing") > 0;
    bool applied = std::count(records.begin(), records.end(), "applied") == 1;
    unfinished_seen += unfinished;
    const std::string where = "undo killed at writing call " + std::to_string(n) + " of " +
                              std::to_string(total) +
                              " (records: " + ::testing::PrintToString(records) + ")";
    CheckNextRun(t, e, kNextRuns[n % kNextRuns.size()], unfinished, applied, where);
  }
  EXPECT_GE(unfinished_seen, total / 2);
}

// An apply killed after it wrote every file, before it marked itself applied.
void KillApplyAtTheEnd(const Tree& t) {
  Build(t);
  auto count = testing::RunKilledAtSyscall(ApplyArgv(t), {SYS_renameat, SYS_renameat2, SYS_rename},
                                           0, t.str() + ".out");
  ASSERT_EQ(count.code, 0);
  // Undo what that counting run did, then kill the real one at its last rename (the manifest
  // saying "applied").
  fs::remove_all(t / "/var");
  fs::remove_all(t / "/etc");
  Build(t);
  auto run = testing::RunKilledAtSyscall(ApplyArgv(t), {SYS_renameat, SYS_renameat2, SYS_rename},
                                         count.calls, t.str() + ".out");
  fs::remove(t.str() + ".out");
  ASSERT_TRUE(run.killed);
  ASSERT_EQ(Records(t), std::vector<std::string>{"applying"});
}

// Recovery happens only under the lock: while another run holds it, that run may be the one
// applying, so plan and history leave its transaction alone.
TEST(Recovery, NothingIsRecoveredWhileAnotherRunHoldsTheLock) {
  Tree t;
  KillApplyAtTheEnd(t);
  auto files = Files(t);
  int fd = ::open((t / "/var/lib/vmprep/lock").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  auto history = Vmsetup(t, "history");
  EXPECT_EQ(history.code, 0) << history.out;
  EXPECT_THAT(history.out, HasSubstr("applying"));
  auto plan = Vmsetup(t, "plan " + kRequest);
  EXPECT_THAT(plan.out, ::testing::Not(HasSubstr("rolled back")));
  EXPECT_EQ(Diff(Files(t), files), "");
  EXPECT_EQ(Records(t), std::vector<std::string>{"applying"});
  ::close(fd);
  history = Vmsetup(t, "history");
  EXPECT_EQ(history.code, 0) << history.out;
  EXPECT_THAT(history.out, HasSubstr("vmsetup: rolled back transaction"));
  EXPECT_THAT(history.out, HasSubstr("rolled-back"));
}

// A file changed by hand after the kill is neither as before nor as the apply wrote it:
// recovery restores the others, says which one it could not and why, and keeps the record
// "applying" so that nothing is forgotten; the command itself still runs.
TEST(Recovery, AFileChangedSinceTheKillIsNamedAndKept) {
  const Expect e = Reference();
  Tree t;
  KillApplyAtTheEnd(t);
  Spill(t / "/etc/qemu/bridge.conf", "allow virbr0\nallow br0\n# by hand\n");
  auto plan = Vmsetup(t, "plan " + kRequest);
  EXPECT_THAT(plan.out, HasSubstr("vmsetup: RECOVERY INCOMPLETE: transaction "));
  EXPECT_THAT(plan.out, HasSubstr("could not be rolled back: /etc/qemu/bridge.conf (is neither "
                                  "as before transaction"));
  EXPECT_THAT(plan.out, HasSubstr("it stays 'applying'"));
  EXPECT_EQ(Records(t), std::vector<std::string>{"applying"});
  EXPECT_EQ(Slurp(t / "/etc/default/grub"), e.before.at("/etc/default/grub").substr(4));
  EXPECT_FALSE(fs::exists(t / "/etc/modules-load.d/vmprep.conf"));
  // Put back as the apply wrote it: the next run finishes the rollback.
  Spill(t / "/etc/qemu/bridge.conf", e.after.at("/etc/qemu/bridge.conf").substr(4));
  auto history = Vmsetup(t, "history");
  EXPECT_THAT(history.out, HasSubstr("vmsetup: rolled back transaction"));
  EXPECT_EQ(Diff(Files(t), e.before), "");
}

}  // namespace vmprep
