// What the session tells a front end before it asks (fixers/session.h): the undo plan, the
// transaction waiting for a reboot, whether a plan is still the one shown, the arguments of
// a request; and Undo asking with the undo plan. On a captured machine and a Debian config.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixers/session.h"
#include "tests/fixers/vfio_fixers_test_util.h"
#include "tests/sysroot.h"

namespace vmprep {
namespace {

using fixers_test::Machine;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kGrub = "grub/debian-12_grub2-common_2.06-13+deb12u2.grub";

Request Ask(const std::vector<std::string>& args) {
  auto r = ParseRequestArgs(args);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().ToString());
  return r.value_or(Request{});
}

// Applies vhost_net and iommu on intel-iommu with Debian's GRUB file; returns the host.
class SessionReview : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(m_.ok());
    m_.PutCorpus("/etc/default/grub", kGrub);
    grub_ = m_.Get("/etc/default/grub");
  }
  SessionResult ApplyIt(const Host& host) {
    return Apply(host, Ask({"--enable", "iommu,vhost_net"}), {.regenerate = false});
  }
  Machine m_{"intel-iommu"};
  std::string grub_;
};

TEST_F(SessionReview, PlanUndoShowsEachFileBackToWhatItWas) {
  Host host = m_.OpenHost();
  SessionResult applied = ApplyIt(host);
  ASSERT_EQ(applied.outcome, Outcome::kDone);
  UndoPlan undo = PlanUndo(host, "");
  ASSERT_TRUE(undo.plan.refusals.empty()) << undo.plan.refusals.front().error.ToString();
  EXPECT_EQ(undo.record.id, applied.record.id);
  std::map<std::string, const FileEdit*> by_path;
  for (const FileEdit* e : EffectiveEdits(undo.plan.edits)) by_path[e->path] = e;
  ASSERT_EQ(by_path.size(), applied.changed.size());
  const FileEdit* grub = by_path.at("/etc/default/grub");
  EXPECT_EQ(grub->before, m_.Get("/etc/default/grub"));
  EXPECT_EQ(grub->after, grub_);
  const FileEdit* created = by_path.at("/etc/modules-load.d/vmprep.conf");
  EXPECT_FALSE(created->after.has_value()) << "a file the transaction created is removed";
  EXPECT_THAT(created->why, HasSubstr("created it"));
  // Planning changed nothing; the undo then restores exactly what was shown.
  EXPECT_TRUE(m_.Has("/etc/modules-load.d/vmprep.conf"));
  SessionResult undone = Undo(host, "", {.regenerate = false});
  ASSERT_EQ(undone.outcome, Outcome::kDone);
  EXPECT_EQ(m_.Get("/etc/default/grub"), grub_);
  EXPECT_FALSE(m_.Has("/etc/modules-load.d/vmprep.conf"));
  EXPECT_FALSE(PlanUndo(host, applied.record.id).plan.refusals.empty()) << "already undone";
}

TEST_F(SessionReview, PlanUndoRefusesAFileChangedSinceLikeUndo) {
  Host host = m_.OpenHost();
  ASSERT_EQ(ApplyIt(host).outcome, Outcome::kDone);
  m_.Put("/etc/default/grub", grub_ + "# edited by hand\n");
  UndoPlan undo = PlanUndo(host, "");
  ASSERT_EQ(undo.plan.refusals.size(), 1u);
  SessionResult undone = Undo(host, "", {.regenerate = false});
  ASSERT_EQ(undone.outcome, Outcome::kRefused);
  EXPECT_EQ(undo.plan.refusals.front().error.ToString(), undone.errors.front().ToString());
}

TEST_F(SessionReview, UndoAsksWithWhatItRestoresAndADeclineWritesNothing) {
  Host host = m_.OpenHost();
  ASSERT_EQ(ApplyIt(host).outcome, Outcome::kDone);
  const std::string applied_grub = m_.Get("/etc/default/grub");
  SessionPlan asked;
  SessionResult declined =
      Undo(host, "", {.regenerate = false, .confirm = [&](const SessionPlan& p) {
                        asked = p;
                        return false;
                      }});
  EXPECT_EQ(declined.outcome, Outcome::kDeclined);
  EXPECT_EQ(m_.Get("/etc/default/grub"), applied_grub);
  EXPECT_TRUE(SameChanges(asked, PlanUndo(host, "").plan));
  EXPECT_EQ(
      Undo(host, "", {.regenerate = false, .confirm = [](const SessionPlan&) { return true; }})
          .outcome,
      Outcome::kDone);
  EXPECT_EQ(m_.Get("/etc/default/grub"), grub_);
}

TEST_F(SessionReview, ATransactionAfterTheBootAwaitsTheReboot) {
  Host host = m_.OpenHost();
  EXPECT_FALSE(AwaitingReboot(host, {}).has_value());
  SessionResult applied = ApplyIt(host);
  auto history = History(host);
  ASSERT_TRUE(history.has_value());
  // The capture booted long before this test: the transaction waits for a reboot.
  auto awaiting = AwaitingReboot(host, *history);
  ASSERT_TRUE(awaiting.has_value());
  EXPECT_EQ(awaiting->id, applied.record.id);
  // Booted after it (btime in the future): in effect.
  std::filesystem::path stat = std::filesystem::path(m_.runtime()) / "proc/stat";
  std::ofstream(stat, std::ios::trunc) << "cpu 1 2 3\nbtime 4102444800\n";
  EXPECT_FALSE(AwaitingReboot(host, *history).has_value());
  // Undone: nothing waits.
  ASSERT_EQ(Undo(host, "", {.regenerate = false}).outcome, Outcome::kDone);
  std::ofstream(stat, std::ios::trunc) << "cpu 1 2 3\nbtime 1000\n";
  EXPECT_FALSE(AwaitingReboot(host, *History(host)).has_value());
}

TEST_F(SessionReview, SameChangesComparesBytesAndCommands) {
  Host host = m_.OpenHost();
  SessionPlan a = MakePlan(host, Ask({"--enable", "iommu"}));
  EXPECT_TRUE(SameChanges(a, MakePlan(host, Ask({"--enable", "iommu"}))));
  EXPECT_FALSE(SameChanges(a, MakePlan(host, Ask({"--enable", "iommu-pt"}))));
  m_.Put("/etc/default/grub", grub_ + "\n");  // the same edit of different bytes
  EXPECT_FALSE(SameChanges(a, MakePlan(host, Ask({"--enable", "iommu"}))));
}

TEST(RequestArgs, ParseGivesTheSameRequestBack) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--enable", "iommu"},
        {"--device", "0000:02:00.0", "--enable", "iommu-pt,vhost_net,hugepages=1G:8"},
        {"--device", "01:00.0", "--allow-host-device", "01:00.0", "--enable",
         "xorg,bridge=br0,bridge=virbr1,hugepages=2M:512"}}) {
    Request first = Ask(args);
    std::vector<std::string> again = RequestArgs(first);
    Request second = Ask(again);
    EXPECT_EQ(RequestArgs(second), again);
  }
  // Every item survives: the items that carry more than a name too.
  EXPECT_THAT(RequestArgs(Ask({"--enable",
                               "bridge=br0:eth0,bridge=virbr1,kvmfr=32:alice,qemu-user=bob,"
                               "access=carol,libvirt"})),
              ElementsAre("--enable",
                          "bridge=br0:eth0,bridge=virbr1,kvmfr=32:alice,qemu-user=bob,"
                          "access=carol,libvirt"));
  EXPECT_THAT(RequestArgs(Ask({"--enable", "kvmfr=2560x1440"})),
              ElementsAre("--enable", "kvmfr=64"));
  EXPECT_THAT(RequestArgs(Ask({"--device", "02:00.0", "--enable", "vhost_net,iommu"})),
              ElementsAre("--device", "0000:02:00.0", "--enable", "iommu,vhost_net"));
}

}  // namespace
}  // namespace vmprep
