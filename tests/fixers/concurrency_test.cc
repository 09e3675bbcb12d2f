// A real vmsetup apply beside a real vmsetup undo on the same tree: the files are never
// mixed. Whatever the interleaving, each run either does all of its work or exits 3 ("another
// vmsetup run holds the lock") having written nothing, and when both are done every file is
// as before the transaction or every file is as after it.
//
// Interleavings are made, not hoped for: one run is held by ptrace on entry to its Nth
// writing system call, for every N, while the other runs to its end; then it is let go.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/child_process.h"
#include "tests/fixers/vmsetup_tree.h"

namespace vmprep {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using vmprep::testing::ApplyArgv;
using vmprep::testing::Build;
using vmprep::testing::Diff;
using vmprep::testing::Files;
using vmprep::testing::kRequest;
using vmprep::testing::kWritingCalls;
using vmprep::testing::Records;
using vmprep::testing::Slurp;
using vmprep::testing::TempFiles;
using vmprep::testing::Tree;
using vmprep::testing::UndoArgv;
using vmprep::testing::Vmsetup;

constexpr const char* kLockHeld = "another vmsetup run holds the lock";

struct States {
  std::map<std::string, std::string> before, after;
};

States Reference() {
  States s;
  Tree t;
  Build(t);
  s.before = Files(t);
  auto r = Vmsetup(t, "apply --yes " + kRequest);
  EXPECT_EQ(r.code, 0) << r.out;
  s.after = Files(t);
  return s;
}

void Applied(const Tree& t) {
  Build(t);
  auto r = Vmsetup(t, "apply --yes " + kRequest);
  ASSERT_EQ(r.code, 0) << r.out;
}

// Writing calls the program makes while it holds the lock, when it runs alone: from its
// flock(2) to the close(2) of that descriptor.
int CountCallsUnderTheLock(const std::vector<std::string>& argv, const std::string& out) {
  testing::HeldChild child(argv, out);
  EXPECT_TRUE(child.HoldAt({SYS_flock}, 1));
  const std::uint64_t fd = child.held().args[0];
  int counted = 0;
  EXPECT_TRUE(child.RunUntil(
      [&](const testing::HeldChild::Call& c) { return c.nr == SYS_close && c.args[0] == fd; },
      [](const testing::HeldChild::Call& c) { return kWritingCalls.contains(c.nr); }, &counted));
  EXPECT_EQ(child.Finish(), 0) << Slurp(out);
  return counted;
}

// Starts `argv` and holds it at its `n`th writing call once it holds the lock.
void HoldUnderTheLock(testing::HeldChild& child, int n, const std::string& where) {
  ASSERT_TRUE(child.HoldAt({SYS_flock}, 1)) << where;
  ASSERT_TRUE(child.HoldAt(kWritingCalls, n)) << where;
}

// Nothing but whole states: every file as before or as after, no temp file, every record
// finished.
void ExpectWhole(const Tree& t, const States& s, bool after, const std::string& where) {
  EXPECT_EQ(Diff(Files(t), after ? s.after : s.before), "")
      << where << ": expected every file " << (after ? "after" : "before");
  EXPECT_THAT(TempFiles(t), ::testing::IsEmpty()) << where;
  for (const auto& state : Records(t)) {
    EXPECT_THAT(state, ::testing::AnyOf("applied", "rolled-back", "undone")) << where;
  }
}

// An undo held at each of its writing calls (lock held, files half restored): an apply and
// another undo started meanwhile exit 3 and write nothing; the undo, let go, finishes.
TEST(Concurrency, AnApplyOrUndoBesideAnUndoHeldMidWayExitsThreeAndWritesNothing) {
  const States s = Reference();
  int total = 0;
  {
    Tree t;
    Applied(t);
    total = CountCallsUnderTheLock(UndoArgv(t), t.str() + ".out");
  }
  ASSERT_GE(total, 10);
  for (int n = 1; n <= total; ++n) {
    Tree t;
    Applied(t);
    const std::string where = "undo held at writing call " + std::to_string(n);
    testing::HeldChild undo(UndoArgv(t), t.str() + ".undo");
    HoldUnderTheLock(undo, n, where);
    auto frozen = Files(t);
    auto apply = Vmsetup(t, "apply --yes " + kRequest);
    EXPECT_EQ(apply.code, 3) << where << "\n" << apply.out;
    EXPECT_THAT(apply.out, HasSubstr(kLockHeld)) << where;
    auto undo2 = Vmsetup(t, "undo --no-regenerate");
    EXPECT_EQ(undo2.code, 3) << where << "\n" << undo2.out;
    EXPECT_EQ(Diff(Files(t), frozen), "") << where << ": a loser wrote something";
    EXPECT_EQ(undo.Finish(), 0) << where << "\n" << Slurp(t.str() + ".undo");
    ExpectWhole(t, s, /*after=*/false, where);
    fs::remove(t.str() + ".undo");
  }
}

// The same the other way round: an apply held at each of its writing calls.
TEST(Concurrency, AnUndoOrApplyBesideAnApplyHeldMidWayExitsThreeAndWritesNothing) {
  const States s = Reference();
  int total = 0;
  {
    Tree t;
    Build(t);
    total = CountCallsUnderTheLock(ApplyArgv(t), t.str() + ".out");
  }
  ASSERT_GE(total, 30);
  for (int n = 1; n <= total; ++n) {
    Tree t;
    Build(t);
    const std::string where = "apply held at writing call " + std::to_string(n);
    testing::HeldChild apply(ApplyArgv(t), t.str() + ".apply");
    HoldUnderTheLock(apply, n, where);
    auto frozen = Files(t);
    auto undo = Vmsetup(t, "undo --no-regenerate");
    EXPECT_EQ(undo.code, 3) << where << "\n" << undo.out;
    EXPECT_THAT(undo.out, HasSubstr(kLockHeld)) << where;
    auto apply2 = Vmsetup(t, "apply --yes " + kRequest);
    EXPECT_EQ(apply2.code, 3) << where << "\n" << apply2.out;
    EXPECT_EQ(Diff(Files(t), frozen), "") << where << ": a loser wrote something";
    EXPECT_EQ(apply.Finish(), 0) << where << "\n" << Slurp(t.str() + ".apply");
    ExpectWhole(t, s, /*after=*/true, where);
    fs::remove(t.str() + ".apply");
  }
}

// The lock comes before the plan: an apply held as it takes the lock, an undo that finishes
// meanwhile, and the apply, let go, plans what it finds then and applies it (before, it
// planned first and then refused: "changed after the plan").
TEST(Concurrency, AnApplyPlansOnlyOnceItHoldsTheLock) {
  const States s = Reference();
  Tree t;
  Applied(t);
  testing::HeldChild apply(ApplyArgv(t), t.str() + ".apply");
  ASSERT_TRUE(apply.HoldAt({SYS_flock}, 1));
  auto undo = Vmsetup(t, "undo --no-regenerate");
  ASSERT_EQ(undo.code, 0) << undo.out;
  ExpectWhole(t, s, /*after=*/false, "undone while the apply waits");
  EXPECT_EQ(apply.Finish(), 0) << Slurp(t.str() + ".apply");
  ExpectWhole(t, s, /*after=*/true, "apply let go");
  fs::remove(t.str() + ".apply");
}

// And free-running, many times: both started together on an applied tree. Each exits 0 or
// 3, at least one 0, and the tree ends whole, as the winners' order says.
TEST(Concurrency, ApplyAndUndoStartedTogetherNeverMixFiles) {
  const States s = Reference();
  int overlaps = 0;
  for (int i = 0; i < 40; ++i) {
    Tree t;
    Applied(t);
    const std::string where = "round " + std::to_string(i);
    testing::Child undo(UndoArgv(t));
    testing::Child apply(ApplyArgv(t));
    int undo_code = undo.Wait(), apply_code = apply.Wait();
    EXPECT_THAT(undo_code, ::testing::AnyOf(0, 3)) << where << "\n" << undo.output();
    EXPECT_THAT(apply_code, ::testing::AnyOf(0, 3)) << where << "\n" << apply.output();
    EXPECT_TRUE(undo_code == 0 || apply_code == 0) << where;
    if (undo_code == 3) {
      EXPECT_THAT(undo.output(), HasSubstr(kLockHeld)) << where;
    }
    if (apply_code == 3) {
      EXPECT_THAT(apply.output(), HasSubstr(kLockHeld)) << where;
    }
    overlaps += undo_code == 3 || apply_code == 3;
    // Undo alone, or apply (nothing to do) then undo: before. Apply alone (undo lost), or
    // undo then apply (applied again): after.
    bool reapplied = apply.output().find("Applied transaction") != std::string::npos;
    bool after = undo_code == 3 || reapplied;
    ExpectWhole(t, s, after, where);
  }
  // How often they met is up to the scheduler; it is printed, not asserted.
  std::printf("apply and undo met at the lock in %d of 40 rounds\n", overlaps);
}

}  // namespace
}  // namespace vmprep
