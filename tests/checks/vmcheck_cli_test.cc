// The real vmcheck binary: arguments, exit codes, output formats.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/run_command.h"
#include "tests/sysroot.h"

namespace vmprep {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using vmprep::testing::Sysroot;

using Result = testing::CommandResult;

Result Vmcheck(const std::string& args, bool merge_stderr = false, const std::string& env = "") {
  return testing::RunCommand(env + " " + VMCHECK_BINARY + " " + args +
                             (merge_stderr ? " 2>&1" : " 2>/dev/null"));
}

TEST(VmcheckCli, BadArgumentsExitThreeWithOneLineAndUsage) {
  for (const char* args :
       {"--bogus", "--only nosuchcheck", "--root", "--root /nonexistent/x", "--user nosuchuser"}) {
    Result r = Vmcheck(args, true);
    EXPECT_EQ(r.code, 3) << args;
    EXPECT_THAT(r.out, HasSubstr("vmcheck: ")) << args;
    EXPECT_THAT(r.out, HasSubstr("usage: vmcheck")) << args;
    EXPECT_LE(std::count(r.out.begin(), r.out.end(), '\n'), 2) << args << r.out;
  }
  EXPECT_THAT(Vmcheck("--only nosuchcheck", true).out, HasSubstr("known: kvm"));
  EXPECT_THAT(Vmcheck("--root /nonexistent/x", true).out, HasSubstr("/nonexistent/x"));
}

TEST(VmcheckCli, HelpVersionList) {
  Result help = Vmcheck("--help");
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("--json"));
  EXPECT_THAT(help.out, HasSubstr("--runtime-root"));
  Result version = Vmcheck("--version");
  EXPECT_EQ(version.code, 0);
  EXPECT_THAT(version.out, HasSubstr("vmcheck " VMPREP_VERSION));
  Result list = Vmcheck("--list");
  EXPECT_EQ(list.code, 0);
  EXPECT_THAT(list.out, HasSubstr("kvm "));
}

TEST(VmcheckCli, CapturedRootPassesAndJsonParses) {
  Sysroot root("pvm-host");
  ASSERT_TRUE(root.ok());
  // This machine has KVM but no IOMMU: the kvm check alone passes.
  Result text = Vmcheck("--only kvm --root " + root.dir().string() + "/runtime --config-root " +
                        root.config());
  EXPECT_EQ(text.code, 0) << text.out;
  EXPECT_THAT(text.out, HasSubstr("(captured tree)"));
  EXPECT_THAT(text.out, HasSubstr("NOTE  no vmx/svm flag, yet KVM works"));
  Result json =
      Vmcheck("--json --runtime-root " + root.runtime() + " --config-root " + root.config());
  EXPECT_EQ(json.code, 2);  // iommu.firmware fails: this VM has no vIOMMU
  auto doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["schema"], "vmprep.report/1");
  EXPECT_EQ(doc["host"]["live"], false);
  EXPECT_FALSE(doc["findings"].empty());
  for (const auto& f : doc["findings"]) {
    EXPECT_TRUE(f["id"].is_string());
    EXPECT_TRUE(f["severity"].is_string());
    EXPECT_FALSE(f["summary"].get<std::string>().empty());
    EXPECT_FALSE(f["evidence"].empty()) << f["id"];
  }
}

TEST(VmcheckCli, FailureGivesExitTwoAndQuietShowsOnlyProblems) {
  Sysroot root("pvm-host");
  ASSERT_TRUE(root.ok());
  std::filesystem::remove(std::filesystem::path(root.runtime()) / "dev/kvm");
  Result r =
      Vmcheck("--quiet --runtime-root " + root.runtime() + " --config-root " + root.config());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, HasSubstr("FAIL  /dev/kvm does not exist"));
  EXPECT_THAT(r.out, Not(HasSubstr("PASS")));
}

TEST(VmcheckCli, NoColourWithNoColorOrWhenPiped) {
  Sysroot root("pvm-host");
  ASSERT_TRUE(root.ok());
  // Under `script` stdout is a terminal: colour appears unless NO_COLOR is set.
  std::string args = "--root " + root.runtime();
  auto under_tty = [&](const std::string& env) {
    return testing::RunCommand("script -qec \"env " + env + " " + VMCHECK_BINARY + " " + args +
                               "\" /dev/null")
        .out;
  };
  EXPECT_THAT(under_tty("TERM=xterm"), HasSubstr("\033[32mPASS"));
  EXPECT_THAT(under_tty("TERM=xterm NO_COLOR=1"), Not(HasSubstr("\033[")));
  EXPECT_THAT(Vmcheck(args).out, Not(HasSubstr("\033[")));
}

TEST(VmcheckCli, OutputDoesNotDependOnTheLocale) {
  Sysroot root("pvm-host");
  ASSERT_TRUE(root.ok());
  std::string args = "--json --root " + root.runtime();
  EXPECT_EQ(Vmcheck(args, false, "LC_ALL=C").out,
            Vmcheck(args, false, "LC_ALL=de_DE.UTF-8 LANG=tr_TR.UTF-8").out);
}

}  // namespace
}  // namespace vmprep
