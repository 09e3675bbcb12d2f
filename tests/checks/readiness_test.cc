// Readiness (checks/readiness.h) on captured machines: what no configuration mends, and drift
// from the expected state the last transaction wrote.
#include "checks/readiness.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checks/probe.h"
#include "tests/sysroot.h"
#include "tests/test_files.h"

namespace vmprep {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Sysroot;

std::vector<std::string> Ids(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings) out.push_back(f.id);
  return out;
}

struct Judged {
  Readiness readiness;
  std::vector<Finding> findings;
};

Judged Judge(const Sysroot& root) {
  auto host = Host::Open(root.runtime(), root.config());
  EXPECT_TRUE(host.has_value());
  ProbeContext context;
  context.identity = {0, {0}, "root"};
  Judged j;
  j.findings = RunProbes(*host, context);
  j.readiness = JudgeReadiness(*host, j.findings);
  return j;
}

TEST(Readiness, NoIommuInTheFirmwareAndNoKvmCausesFirst) {
  Sysroot root("no-iommu");
  ASSERT_TRUE(root.ok());
  Judged j = Judge(root);
  EXPECT_THAT(Ids(j.readiness.no_iommu), ElementsAre("iommu.firmware"));
  EXPECT_THAT(Ids(j.readiness.no_kvm), ElementsAre("kvm.cpu", "kvm.device"));
  EXPECT_TRUE(j.readiness.drift.empty());
}

TEST(Readiness, AnIommuAndKvmBlockNothing) {
  Sysroot root("kvm-svm");
  ASSERT_TRUE(root.ok());
  Judged j = Judge(root);
  EXPECT_TRUE(j.readiness.no_kvm.empty()) << Ids(j.readiness.no_kvm).front();
  Sysroot intel("intel-iommu");
  ASSERT_TRUE(intel.ok());
  EXPECT_TRUE(Judge(intel).readiness.no_iommu.empty());
}

TEST(Readiness, DriftIsWhatTheExpectedStateListsAndDoesNotPass) {
  Sysroot root("intel-iommu");
  ASSERT_TRUE(root.ok());
  const auto expected = std::filesystem::path(root.config()) / "var/lib/vmprep/expected.json";
  testing::Spill(expected, R"({"schema": "vmprep.expected/1", "transaction": null,
    "pass": ["iommu.kernel", "vhost_net.module", "vfio.binding.0000:02:00.0"]})");
  Judged j = Judge(root);
  EXPECT_THAT(j.readiness.drift,
              ElementsAre("vhost_net.module is warn, expected pass",
                          "vfio.binding.0000:02:00.0 is missing, expected pass"));
  EXPECT_FALSE(j.readiness.expected_error.has_value());
  testing::Spill(expected, R"({"schema": "vmprep.expected/1", "pass": "iommu.kernel"})");
  j = Judge(root);
  ASSERT_TRUE(j.readiness.expected_error.has_value());
  EXPECT_THAT(j.readiness.expected_error->ToString(),
              HasSubstr("/var/lib/vmprep/expected.json: expected a vmprep.expected/1"));
  EXPECT_TRUE(j.readiness.drift.empty());
}

// The live ISO's kernel judged against an installed system's expected state: its findings are
// the ISO's, not what that system's kernel shows after its reboot, so nothing drifts. The same
// expected state with the same findings on a host that runs its own configuration does drift.
TEST(Readiness, NoDriftWhenTheConfigRootIsAnotherSystem) {
  const auto installed = testing::FreshTempDir("readiness-installed");
  testing::Spill(installed / "var/lib/vmprep/expected.json",
                 R"({"schema": "vmprep.expected/1", "pass": ["vfio.binding.0000:02:00.0"]})");
  std::vector<Finding> findings;
  auto live = Host::Open("/", installed.string());
  ASSERT_TRUE(live.has_value());
  ASSERT_TRUE(live->config_is_foreign());
  EXPECT_TRUE(JudgeReadiness(*live, findings).drift.empty());
  auto same = Host::Open(installed.string(), installed.string());
  ASSERT_TRUE(same.has_value());
  ASSERT_FALSE(same->config_is_foreign());
  EXPECT_THAT(JudgeReadiness(*same, findings).drift,
              ElementsAre("vfio.binding.0000:02:00.0 is missing, expected pass"));
}

}  // namespace
}  // namespace vmprep
