// The real vmcheck binary with accept.conf, --accept, --format and --output, on a captured
// machine where KVM works but OVMF is missing (kvm-svm: the one warning of kvm and qemu).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "tests/run_command.h"
#include "tests/sysroot.h"
#include "tests/test_files.h"

namespace vmprep {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Slurp;
using testing::Spill;
using ::testing::StartsWith;
using testing::Sysroot;

class VmcheckAccept : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(root_.ok());
    // QEMU installed where Debian puts it: of the qemu findings only qemu.ovmf warns.
    const fs::path qemu = fs::path(root_.config()) / "usr/bin/qemu-system-x86_64";
    Spill(qemu, "");
    fs::permissions(qemu, fs::perms(0755));
  }
  testing::CommandResult Run(const std::string& args, bool merge_stderr = false) {
    return testing::RunCommand(std::string(VMCHECK_BINARY) + " --runtime-root " + root_.runtime() +
                               " --config-root " + root_.config() + " --only kvm --only qemu " +
                               args + (merge_stderr ? " 2>&1" : " 2>/dev/null"));
  }
  void WriteAcceptConf(const std::string& text) {
    Spill(fs::path(root_.config()) / "etc/vmprep/accept.conf", text);
  }
  Sysroot root_{"kvm-svm"};
};

TEST_F(VmcheckAccept, AcceptedWarningTurnsMonitoringGreen) {
  EXPECT_EQ(Run("").code, 1);  // qemu.ovmf warns
  WriteAcceptConf("# NIC-only host\nqemu.ovmf no UEFI guests here, NICs only\n");
  auto text = Run("");
  EXPECT_EQ(text.code, 0) << text.out;
  EXPECT_THAT(text.out, HasSubstr("(qemu.ovmf, accepted)"));
  EXPECT_THAT(text.out, HasSubstr("accepted: no UEFI guests here, NICs only "
                                  "(/etc/vmprep/accept.conf:2); not counted in the exit status"));
  auto json = Run("--json");
  EXPECT_EQ(json.code, 0);
  auto doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["summary"]["worst"], "pass");
  bool seen = false;
  for (const auto& f : doc["findings"]) {
    if (f["id"] != "qemu.ovmf") continue;
    seen = true;
    EXPECT_EQ(f["severity"], "warn");  // still printed as what it is
    EXPECT_EQ(f["accepted"]["source"], "/etc/vmprep/accept.conf:2");
  }
  EXPECT_TRUE(seen);
  EXPECT_THAT(Run("--format nagios").out, StartsWith("VMCHECK OK: "));
  EXPECT_THAT(Run("--format prometheus").out,
              HasSubstr("vmprep_worst_severity{severity=\"pass\"}"));
}

TEST_F(VmcheckAccept, StaleAcceptancesAreReported) {
  WriteAcceptConf(
      "qemu.ovmf NICs only\nqemu.tun was missing before\nkvm.gone a finding no longer made\n"
      "iommu.kernel not judged with --only kvm --only qemu\n");
  auto text = Run("");
  EXPECT_EQ(text.code, 0) << text.out;
  EXPECT_THAT(text.out, HasSubstr("Stale acceptances"));
  EXPECT_THAT(text.out, HasSubstr("  qemu.tun (/etc/vmprep/accept.conf:2): now pass\n"));
  EXPECT_THAT(text.out, HasSubstr("  kvm.gone (/etc/vmprep/accept.conf:3): no longer reported\n"));
  EXPECT_THAT(text.out, Not(HasSubstr("iommu.kernel")));
  auto doc = nlohmann::json::parse(Run("--json").out);
  ASSERT_EQ(doc["stale_accepts"].size(), 2u);
  EXPECT_EQ(doc["stale_accepts"][1]["id"], "kvm.gone");
}

TEST_F(VmcheckAccept, BadAcceptConfStopsWithFileLineAndWhatWasExpected) {
  WriteAcceptConf("qemu.ovmf fine\nqemu.tun\n");
  auto r = Run("", true);
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(r.out, HasSubstr("vmcheck: /etc/vmprep/accept.conf:2: qemu.tun has no reason; "
                               "expected 'qemu.tun REASON'"));
  auto nagios = Run("--format nagios");
  EXPECT_EQ(nagios.code, 3);
  EXPECT_THAT(nagios.out, StartsWith("VMCHECK UNKNOWN: vmcheck: /etc/vmprep/accept.conf:2: "));
}

TEST_F(VmcheckAccept, CommandLineAcceptances) {
  EXPECT_EQ(Run("--accept qemu.ovmf").code, 0);
  EXPECT_THAT(Run("--accept 'qemu.ovmf=lab machine'").out,
              HasSubstr("accepted: lab machine (--accept)"));
  auto bad = Run("--accept ovmf", true);
  EXPECT_EQ(bad.code, 3);
  EXPECT_THAT(bad.out, HasSubstr("--accept ovmf: expected a finding id"));
  EXPECT_EQ(Run("--format nagios --accept ovmf").code, 3);
  EXPECT_THAT(Run("--format nagios --bogus").out, StartsWith("VMCHECK UNKNOWN: "));
  EXPECT_EQ(Run("--json --format nagios").code, 3);
}

TEST_F(VmcheckAccept, OutputIsWrittenAtomicallyWithTheSameExitCode) {
  fs::path dir = fs::path(::testing::TempDir()) / ("vmcheck-out-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::path file = dir / "vmprep.prom";
  Spill(file, "old contents\n");
  auto r = Run("--format prometheus --output " + file.string());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");  // nothing on stdout
  std::string written = Slurp(file);
  EXPECT_THAT(written, HasSubstr("vmprep_finding{check=\"qemu\",id=\"qemu.ovmf\""));
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
  // Nothing left beside it (the temporary file was renamed into place).
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1);
  // A relative path is relative to the working directory.
  auto rel = testing::RunCommand("cd " + dir.string() + " && " + VMCHECK_BINARY + " --root " +
                                 root_.runtime() + " --config-root " + root_.config() +
                                 " --only kvm --json -o report.json");
  EXPECT_EQ(rel.code, 0);
  EXPECT_EQ(nlohmann::json::parse(Slurp(dir / "report.json"))["schema"], "vmprep.report/1");
  auto missing = Run("--output " + (dir / "no/such/dir/x.prom").string(), true);
  EXPECT_EQ(missing.code, 3);
  EXPECT_THAT(missing.out, HasSubstr("--output " + (dir / "no/such/dir/x.prom").string() + ": "));
  fs::remove_all(dir);
}

// --help answers the common questions with examples, for both commands.
TEST(HelpExamples, BothCommandsShowExamplesAndTheirManPages) {
  auto vmcheck = testing::RunCommand(std::string(VMCHECK_BINARY) + " --help");
  EXPECT_EQ(vmcheck.code, 0);
  for (const char* want :
       {"Examples:", "vmcheck -q", "--format prometheus --output", "--format nagios", "--accept",
        "/etc/vmprep/accept.conf", "vmcheck groups", "Exit status:", "vmprep-report(5)"}) {
    EXPECT_THAT(vmcheck.out, HasSubstr(want));
  }
  auto vmsetup = testing::RunCommand(std::string(VMSETUP_BINARY) + " --help");
  EXPECT_EQ(vmsetup.code, 0);
  for (const char* want : {"Examples:", "vmsetup plan --enable iommu", "vmsetup undo",
                           "apply --yes --json", "\"changed\"", "Exit status:", "vmsetup(8)"}) {
    EXPECT_THAT(vmsetup.out, HasSubstr(want));
  }
}

}  // namespace
}  // namespace vmprep
