// The report: text for people, JSON for scripts, exit codes from the worst severity.
#include "checks/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace vmprep {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Finding Make(std::string id, Severity s, std::string summary, std::string hint = "") {
  Finding f;
  f.id = id;
  f.check = id.substr(0, id.find('.'));
  f.severity = s;
  f.summary = std::move(summary);
  f.hint = std::move(hint);
  f.evidence.push_back({"/proc/cmdline", "quiet \"splash\"\tx\xff"});
  return f;
}

Report Sample() {
  Report r;
  r.host = {
      "box", "6.1.0-26-amd64", "Debian GNU/Linux 12 (bookworm)", "GenuineIntel", "i7", "/", "/",
      true};
  r.findings = {Make("kvm.device", Severity::kPass, "/dev/kvm is usable"),
                Make("kvm.cpu", Severity::kNote, "no vmx", "nothing to do"),
                Make("iommu.kernel", Severity::kWarn, "off", "add intel_iommu=on")};
  r.findings[2].SetFix("kernel-cmdline", {"--enable", "iommu"});
  r.devices = {{"0000:01:00.0", "10de", "1b80", "030000", "nvidia", 14},
               {"0000:00:1f.3", "8086", "a2f0", "040300", "", -1}};
  return r;
}

TEST(ExitCode, FollowsTheWorstSeverity) {
  EXPECT_EQ(ExitCodeFor({}), 0);
  EXPECT_EQ(ExitCodeFor({Make("a.b", Severity::kPass, ""), Make("a.c", Severity::kNote, ""),
                         Make("a.d", Severity::kSkip, "")}),
            0);
  EXPECT_EQ(ExitCodeFor({Make("a.b", Severity::kPass, ""), Make("a.c", Severity::kWarn, "")}), 1);
  EXPECT_EQ(ExitCodeFor({Make("a.b", Severity::kFail, ""), Make("a.c", Severity::kWarn, "")}), 2);
}

TEST(JsonReport, HasTheDocumentedSchema) {
  auto doc = nlohmann::json::parse(RenderJson(Sample()));
  EXPECT_EQ(doc["schema"], "vmprep.report/1");
  EXPECT_EQ(doc["host"]["kernel"], "6.1.0-26-amd64");
  EXPECT_EQ(doc["host"]["live"], true);
  ASSERT_EQ(doc["findings"].size(), 3u);
  const auto& f = doc["findings"][2];
  for (const char* key : {"id", "check", "severity", "summary", "hint", "evidence", "fixer"}) {
    EXPECT_TRUE(f.contains(key)) << key;
  }
  EXPECT_EQ(f["id"], "iommu.kernel");
  EXPECT_EQ(f["check"], "iommu");
  EXPECT_EQ(f["severity"], "warn");
  EXPECT_EQ(f["fixer"], "kernel-cmdline");
  EXPECT_EQ(f["vmsetup_args"], nlohmann::json::array({"--enable", "iommu"}));
  EXPECT_EQ(f["pending"], false);
  EXPECT_TRUE(doc["findings"][0]["fixer"].is_null());
  EXPECT_EQ(f["evidence"][0]["path"], "/proc/cmdline");
  // Invalid UTF-8 from the machine is replaced, quotes and tabs are escaped.
  EXPECT_EQ(f["evidence"][0]["value"], "quiet \"splash\"\tx\xEF\xBF\xBD");
  ASSERT_EQ(doc["devices"].size(), 2u);
  EXPECT_EQ(doc["devices"][0]["iommu_group"], 14);
  EXPECT_TRUE(doc["devices"][1]["driver"].is_null());
  EXPECT_TRUE(doc["devices"][1]["iommu_group"].is_null());
}

TEST(TextReport, GroupsByCheckWithEvidenceAndHints) {
  std::string text = RenderText(Sample(), {});
  EXPECT_THAT(text, HasSubstr("[kvm]\n  PASS  /dev/kvm is usable  (kvm.device)\n"));
  EXPECT_THAT(text, HasSubstr("[iommu]\n  WARN  off  (iommu.kernel)\n"));
  EXPECT_THAT(text, HasSubstr("        fix:  add intel_iommu=on\n"));
  EXPECT_THAT(
      text, HasSubstr("vmsetup can do this: vmsetup plan --enable iommu  (fixer kernel-cmdline)"));
  EXPECT_THAT(text, HasSubstr("seen: /proc/cmdline: quiet"));
  EXPECT_THAT(text, HasSubstr("1 pass, 1 note, 1 warn, 0 fail, 0 skipped"));
  EXPECT_THAT(text, Not(HasSubstr("\033[")));
}

TEST(TextReport, ColourOnlyWhenAskedAndQuietHidesPasses) {
  std::string colour = RenderText(Sample(), {.color = true});
  EXPECT_THAT(colour, HasSubstr("\033[33mWARN\033[0m"));
  std::string quiet = RenderText(Sample(), {.quiet = true});
  EXPECT_THAT(quiet, Not(HasSubstr("kvm.device")));
  EXPECT_THAT(quiet, HasSubstr("kvm.cpu"));
  EXPECT_THAT(quiet, HasSubstr("iommu.kernel"));
}

}  // namespace
}  // namespace vmprep
