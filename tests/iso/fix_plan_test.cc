// The live helper's fix shows and records the session's plan: the JSON it saves is the
// document `vmsetup plan --json` prints for the same machine and request, the text holds
// every diff, and the exit statuses are vmsetup's.
#include "iso/live/fix_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/host.h"
#include "fixers/session.h"
#include "tests/run_command.h"
#include "tests/sysroot.h"
#include "tests/test_files.h"

namespace vmprep::live {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// intel-iommu (captured from a QEMU guest) with Debian 12's /etc/default/grub; 02:00.0 is the
// twin of the NIC of the default route, so the plan binds it by address.
class FixPlan : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(root_.ok());
    testing::Spill(fs::path(root_.config()) / "etc/default/grub",
                   testing::Corpus("grub/debian-12_grub2-common_2.06-13+deb12u2.grub"));
  }
  SessionPlan Plan() {
    auto host = Host::OpenFromOptions("", root_.runtime(), root_.config());
    EXPECT_TRUE(host.has_value());
    auto request = ParseRequest({"02:00.0"}, {"iommu,vhost_net"}, {});
    EXPECT_TRUE(request.has_value());
    return MakePlan(*host, *request);
  }
  testing::Sysroot root_{"intel-iommu"};
};

TEST_F(FixPlan, SavedJsonIsWhatVmsetupPlanPrints) {
  SessionPlan plan = Plan();
  ASSERT_TRUE(plan.refusals.empty());
  auto ours = nlohmann::json::parse(PlanJson(plan));
  auto r = testing::RunCommand(std::string(VMSETUP_BINARY) + " plan --json --runtime-root " +
                               root_.runtime() + " --config-root " + root_.config() +
                               " --device 02:00.0 --enable iommu,vhost_net 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(ours, nlohmann::json::parse(r.out));
  EXPECT_EQ(ours["schema"], "vmprep.plan/1");
  EXPECT_GE(ours["edits"].size(), 4u);
}

TEST_F(FixPlan, TextShowsEveryDiffAndTheCommands) {
  std::string text = PlanText(Plan());
  EXPECT_THAT(text, HasSubstr("\n# kernel-cmdline: drop IOMMU options"));
  EXPECT_THAT(text, HasSubstr("\n--- a/etc/default/grub\n+++ b/etc/default/grub\n"));
  EXPECT_THAT(text, HasSubstr("+GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on\""));
  EXPECT_THAT(text, HasSubstr("+0000:02:00.0 8086:10d3"));
  EXPECT_THAT(text, HasSubstr("Then, chrooted in the installed system:\n  grub-mkconfig -o "));
  EXPECT_THAT(text, Not(HasSubstr("REFUSED")));
}

TEST_F(FixPlan, RefusalsAreShownWithTheirFile) {
  auto host = Host::OpenFromOptions("", root_.runtime(), root_.config());
  ASSERT_TRUE(host.has_value());
  // 01:00.0 carries the default route: the request is refused, with the reason.
  SessionPlan plan = MakePlan(*host, *ParseRequest({"01:00.0"}, {}, {}));
  ASSERT_FALSE(plan.refusals.empty());
  EXPECT_THAT(PlanText(plan), HasSubstr("REFUSED by vmsetup: /sys/bus/pci/devices/0000:01:00.0"));
  auto doc = nlohmann::json::parse(PlanJson(plan));
  EXPECT_EQ(doc["refusals"][0]["path"], "/sys/bus/pci/devices/0000:01:00.0");
}

TEST(FixExitStatus, IsVmsetups) {
  EXPECT_EQ(ExitStatus(Outcome::kNothingToDo), 0);
  EXPECT_EQ(ExitStatus(Outcome::kDone), 0);
  EXPECT_EQ(ExitStatus(Outcome::kRefused), 1);
  EXPECT_EQ(ExitStatus(Outcome::kFailed), 2);
  EXPECT_EQ(ExitStatus(Outcome::kCannotRun), 3);
  EXPECT_EQ(ExitStatus(Outcome::kDeclined), 4);
  EXPECT_EQ(ExitStatus(Outcome::kActionFailed), 5);
}

}  // namespace
}  // namespace vmprep::live
