// qemu.system on a captured tree: no emulator (warn, with each distribution's package), an
// executable one in Debian's place or RHEL's /usr/libexec/qemu-kvm (pass), and a file that
// is not executable (still a warning).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checks/probes/qemu.h"
#include "tests/fixers/vfio_fixers_test_util.h"
#include "tests/probe_test_util.h"

namespace vmprep {
namespace {

using fixers_test::Machine;
using ::testing::HasSubstr;

Finding System(const Machine& m) {
  auto findings = QemuHostProbe().Run(m.OpenHost(), ProbeContext{});
  const Finding* f = testing::FindById(findings, "qemu.system");
  EXPECT_NE(f, nullptr);
  return f ? *f : Finding{};
}

TEST(QemuSystem, MissingWarnsWithTheInstallCommandOfEachDistribution) {
  Machine m("kvm-svm");
  ASSERT_TRUE(m.ok());
  Finding f = System(m);
  EXPECT_EQ(f.severity, Severity::kWarn);
  EXPECT_EQ(f.summary, "QEMU is not installed: no qemu-system-x86_64 to run guests");
  EXPECT_THAT(f.hint, HasSubstr("`apt install qemu-system-x86` (Debian/Ubuntu)"));
  EXPECT_THAT(f.hint, HasSubstr("`dnf install qemu-kvm` (Fedora, RHEL)"));
  EXPECT_THAT(f.hint, HasSubstr("`pacman -S qemu-base` (Arch)"));
  m.Put("/usr/bin/qemu-system-x86_64", "not executable", 0644);
  EXPECT_EQ(System(m).severity, Severity::kWarn);
}

TEST(QemuSystem, DebiansAndRhelsPlacesPass) {
  Machine debian("kvm-svm");
  ASSERT_TRUE(debian.ok());
  debian.Put("/usr/bin/qemu-system-x86_64", "", 0755);
  Finding f = System(debian);
  EXPECT_EQ(f.severity, Severity::kPass);
  EXPECT_EQ(f.summary, "QEMU is installed (/usr/bin/qemu-system-x86_64)");
  Machine rhel("kvm-svm");
  ASSERT_TRUE(rhel.ok());
  rhel.Put("/usr/libexec/qemu-kvm", "", 0755);
  EXPECT_EQ(System(rhel).summary, "QEMU is installed (/usr/libexec/qemu-kvm)");
}

}  // namespace
}  // namespace vmprep
