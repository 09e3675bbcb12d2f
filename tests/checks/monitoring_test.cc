// Accepted findings applied to a report, and the report as Prometheus textfile and as a
// monitoring-plugin line. (The real parsers read the real binary's output in
// tests/fleet/fleet-test.sh: promtool, the Python client, the plugin grammar.)
#include "checks/monitoring.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "checks/accept.h"
#include "checks/report.h"

namespace vmprep {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

Finding Make(std::string id, Severity s, std::string summary) {
  Finding f;
  f.check = id.substr(0, id.find('.'));
  f.id = std::move(id);
  f.severity = s;
  f.summary = std::move(summary);
  return f;
}

// A NIC-only host: KVM works, OVMF is missing (warn), the rest passes.
Report NicOnlyHost() {
  Report r;
  r.host.hostname = "box";
  r.host.kernel = "6.1.0-26-amd64";
  r.checks = {"kvm", "qemu"};
  r.findings = {Make("kvm.device", Severity::kPass, "/dev/kvm is usable"),
                Make("kvm.nested", Severity::kNote, "nested virtualization is disabled"),
                Make("qemu.ovmf", Severity::kWarn, "no UEFI firmware for guests (OVMF)"),
                Make("qemu.tun", Severity::kPass, "/dev/net/tun exists")};
  return r;
}

TEST(Accept, AcceptedWarningNoLongerCountsAndStaleOnesAreListed) {
  Report r = NicOnlyHost();
  EXPECT_EQ(ReportExitCode(r), 1);
  ApplyAcceptances({{"qemu.ovmf", "NIC-only host", "/etc/vmprep/accept.conf:1"},
                    {"qemu.tun", "was missing once", "/etc/vmprep/accept.conf:2"},
                    {"qemu.bridge-conf", "no bridges", "/etc/vmprep/accept.conf:3"},
                    {"iommu.kernel", "not run: --only", "/etc/vmprep/accept.conf:4"}},
                   &r);
  EXPECT_EQ(ReportExitCode(r), 0);
  EXPECT_EQ(WorstUnaccepted(r), Severity::kNote);
  ASSERT_NE(r.AcceptanceOf(r.findings[2]), nullptr);
  EXPECT_EQ(r.AcceptanceOf(r.findings[2])->reason, "NIC-only host");
  EXPECT_EQ(r.AcceptanceOf(r.findings[3]), nullptr);
  std::vector<std::string> stale;
  for (const auto& s : r.stale) stale.push_back(s.acceptance.id + ": " + s.why);
  // iommu did not run, so nothing is said about iommu.kernel.
  EXPECT_THAT(stale, ElementsAre("qemu.tun: now pass", "qemu.bridge-conf: no longer reported"));
}

TEST(Accept, CommandLineWinsOverTheFileForTheSameId) {
  Report r = NicOnlyHost();
  ApplyAcceptances({{"qemu.ovmf", "from the file", "/etc/vmprep/accept.conf:1"},
                    {"qemu.ovmf", "from the command line", "--accept"}},
                   &r);
  ASSERT_EQ(r.accepted.size(), 1u);
  EXPECT_EQ(r.accepted.at("qemu.ovmf").source, "--accept");
  EXPECT_EQ(r.accepted.at("qemu.ovmf").reason, "from the command line");
}

TEST(Accept, ArgumentsAreIdOrIdEqualsReason) {
  auto plain = ParseAcceptArgument("qemu.ovmf");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->reason, "accepted on the command line");
  auto with = ParseAcceptArgument("isolation.0000:01:00.0=whole group passed through");
  ASSERT_TRUE(with.has_value());
  EXPECT_EQ(with->id, "isolation.0000:01:00.0");
  EXPECT_EQ(with->reason, "whole group passed through");
  EXPECT_THAT(ParseAcceptArgument("ovmf").error().ToString(),
              HasSubstr("--accept ovmf: expected a finding id"));
  EXPECT_THAT(ParseAcceptArgument("qemu.ovmf=").error().ToString(),
              HasSubstr("expected a reason after '='"));
}

TEST(Accept, TextAndJsonMarkTheAcceptedFinding) {
  Report r = NicOnlyHost();
  ApplyAcceptances({{"qemu.ovmf", "NIC-only host", "/etc/vmprep/accept.conf:1"},
                    {"qemu.tun", "old", "--accept"}},
                   &r);
  std::string text = RenderText(r, {});
  EXPECT_THAT(text, HasSubstr("WARN  no UEFI firmware for guests (OVMF)  (qemu.ovmf, accepted)"));
  EXPECT_THAT(text, HasSubstr("accepted: NIC-only host (/etc/vmprep/accept.conf:1); not counted"));
  EXPECT_THAT(text, HasSubstr("; 1 accepted\n"));
  EXPECT_THAT(text, HasSubstr("  qemu.tun (--accept): now pass\n"));
  // Quiet still shows accepted findings.
  EXPECT_THAT(RenderText(r, {.quiet = true}), HasSubstr("(qemu.ovmf, accepted)"));

  auto doc = nlohmann::json::parse(RenderJson(r));
  EXPECT_EQ(doc["findings"][2]["accepted"]["reason"], "NIC-only host");
  EXPECT_EQ(doc["findings"][2]["accepted"]["source"], "/etc/vmprep/accept.conf:1");
  EXPECT_TRUE(doc["findings"][0]["accepted"].is_null());
  EXPECT_EQ(doc["stale_accepts"][0]["id"], "qemu.tun");
  EXPECT_EQ(doc["stale_accepts"][0]["why"], "now pass");
  EXPECT_EQ(doc["summary"]["worst"], "note");
  EXPECT_EQ(doc["summary"]["exit_code"], 0);
  EXPECT_EQ(doc["summary"]["counts"]["warn"], 0);
  EXPECT_EQ(doc["summary"]["counts"]["accepted"], 1);
}

TEST(Prometheus, OneGaugePerFindingTheWorstAndTheTime) {
  Report r = NicOnlyHost();
  std::string out = RenderPrometheus(r, 1700000000);
  EXPECT_THAT(out, HasSubstr("# TYPE vmprep_finding gauge\n"));
  EXPECT_THAT(out, HasSubstr("vmprep_finding{check=\"qemu\",id=\"qemu.ovmf\",severity=\"warn\","
                             "accepted=\"0\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("vmprep_finding{check=\"kvm\",id=\"kvm.device\",severity=\"pass\","
                             "accepted=\"0\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("vmprep_worst_severity{severity=\"warn\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("vmprep_exit_code 1\n"));
  EXPECT_THAT(out, HasSubstr("vmprep_report_timestamp_seconds 1700000000\n"));
  ApplyAcceptances({{"qemu.ovmf", "NIC-only host", "--accept"}}, &r);
  out = RenderPrometheus(r, 1700000000);
  EXPECT_THAT(out, HasSubstr("id=\"qemu.ovmf\",severity=\"warn\",accepted=\"1\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("vmprep_worst_severity{severity=\"note\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("vmprep_findings{severity=\"warn\"} 0\n"));
  EXPECT_THAT(out, HasSubstr("vmprep_accepted_findings 1\n"));
  EXPECT_THAT(out, HasSubstr("vmprep_exit_code 0\n"));
}

TEST(Prometheus, LabelValuesAreEscaped) {
  Report r;
  r.host.hostname = "a\"b\\c\nd";
  std::string out = RenderPrometheus(r, 0);
  EXPECT_THAT(out, HasSubstr("hostname=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST(Nagios, StateFollowsTheWorstUnacceptedFinding) {
  Report r = NicOnlyHost();
  std::string out = RenderNagios(r);
  EXPECT_THAT(out, StartsWith("VMCHECK WARNING: 1 warning (qemu.ovmf) | pass=2;;;0 note=1;;;0 "
                              "warn=1;0;;0 fail=0;;0;0 skip=0;;;0 accepted=0;;;0 stale=0;;;0\n"));
  EXPECT_THAT(out, HasSubstr("\nwarn qemu.ovmf: no UEFI firmware for guests (OVMF)\n"));
  r.findings.push_back(Make("kvm.cpu", Severity::kFail, "no vmx | svm"));
  EXPECT_THAT(RenderNagios(r), StartsWith("VMCHECK CRITICAL: 1 failed (kvm.cpu), 1 warning"));
  // '|' would start the perfdata: never in the text.
  EXPECT_THAT(RenderNagios(r), HasSubstr("fail kvm.cpu: no vmx / svm\n"));
  r.findings.pop_back();
  ApplyAcceptances({{"qemu.ovmf", "NIC-only host", "--accept"}, {"qemu.tun", "x", "--accept"}}, &r);
  out = RenderNagios(r);
  EXPECT_THAT(out, StartsWith("VMCHECK OK: 2 passed, 1 notes, 0 skipped, 1 accepted, 1 stale "
                              "acceptance | "));
  EXPECT_THAT(out, HasSubstr("warn qemu.ovmf: no UEFI firmware for guests (OVMF) (accepted: "
                             "NIC-only host)\n"));
  EXPECT_THAT(out, HasSubstr("stale acceptance qemu.tun (--accept): now pass\n"));
  EXPECT_THAT(out, Not(HasSubstr("kvm.device")));
  EXPECT_EQ(NagiosUnknown("bad | thing"), "VMCHECK UNKNOWN: bad / thing\n");
}

}  // namespace
}  // namespace vmprep
