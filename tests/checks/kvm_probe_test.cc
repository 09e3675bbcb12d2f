// The kvm probe on real captured trees (tests/sysroots/*.tar.xz, see tests/sysroots/README.md)
// and on the same trees with one fact changed in the exact shape a real host shows it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "checks/probes/kvm.h"
#include "tests/probe_test_util.h"
#include "tests/sysroot.h"

namespace vmprep {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using vmprep::testing::FindById;
using vmprep::testing::Sysroot;
using vmprep::testing::Text;
using vmprep::testing::Verdicts;

std::vector<Finding> RunKvm(const Sysroot& root, Identity who = {0, {0}, "root"}) {
  auto host = Host::Open(root.runtime(), root.config());
  EXPECT_TRUE(host.has_value());
  ProbeContext context;
  context.identity = std::move(who);
  return KvmProbe().Run(*host, context);
}

// This build machine: KVM through the paravirtualised kvm_pvm backend, no vmx/svm flag.
TEST(KvmProbe, ParavirtualisedHostWithoutCpuFlagsPassesWithANote) {
  Sysroot root("pvm-host");
  ASSERT_TRUE(root.ok());
  auto findings = RunKvm(root);
  EXPECT_THAT(Verdicts(findings), ElementsAre("kvm.device:pass", "kvm.cpu:note", "kvm.module:pass",
                                              "kvm.firmware:pass"));
  const Finding* cpu = FindById(findings, "kvm.cpu");
  ASSERT_NE(cpu, nullptr);
  EXPECT_THAT(Text(*cpu), HasSubstr("hypervisor present"));
  EXPECT_THAT(Text(*cpu), HasSubstr("kvm_pvm"));
  const Finding* device = FindById(findings, "kvm.device");
  EXPECT_THAT(Text(*device), HasSubstr("captured tree"));
}

TEST(KvmProbe, NodeMissingWhileModulesAreBuiltIn) {
  Sysroot root("pvm-host");
  ASSERT_TRUE(root.ok());
  fs::remove(fs::path(root.runtime()) / "dev/kvm");
  auto findings = RunKvm(root);
  EXPECT_THAT(Verdicts(findings), ElementsAre("kvm.device:fail", "kvm.cpu:fail", "kvm.module:pass",
                                              "kvm.firmware:pass"));
  const Finding* device = FindById(findings, "kvm.device");
  EXPECT_THAT(device->evidence[0].value, HasSubstr("does not exist"));
  EXPECT_THAT(device->hint, HasSubstr("mknod -m 0660 /dev/kvm c 10 232"));
  // Without KVM and without vmx/svm, the CPU verdict is a failure naming nested virtualization.
  EXPECT_THAT(FindById(findings, "kvm.cpu")->hint, HasSubstr("nested"));
}

TEST(KvmProbe, PermissionDeniedOnOwnerOnlyNodeAsksForAUdevRule) {
  Sysroot root("pvm-host");
  ASSERT_TRUE(root.ok());
  auto findings = RunKvm(root, {1000, {1000}, "alice"});
  EXPECT_EQ(Verdicts(findings)[0], "kvm.device:fail");
  const Finding* device = FindById(findings, "kvm.device");
  EXPECT_THAT(device->summary, HasSubstr("alice may not open it read-write"));
  EXPECT_THAT(device->hint, HasSubstr("KERNEL==\"kvm\", GROUP=\"kvm\", MODE=\"0660\""));
  EXPECT_THAT(device->hint, HasSubstr("usermod -aG kvm alice"));
}

TEST(KvmProbe, PermissionDeniedOnGroupNodeNamesTheGroup) {
  Sysroot root("pvm-host");
  ASSERT_TRUE(root.ok());
  // Debian's udev rule makes the node root:kvm 0660; the kvm group is a system group.
  fs::path node = fs::path(root.runtime()) / "dev/kvm";
  ASSERT_EQ(::chown(node.c_str(), 0, 104), 0);
  fs::permissions(node, fs::perms(0660));
  fs::create_directories(fs::path(root.config()) / "etc");
  std::ofstream(fs::path(root.config()) / "etc/group") << "root:x:0:\nkvm:x:104:\nalice:x:1000:\n";
  std::ofstream(fs::path(root.config()) / "etc/passwd")
      << "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:,,,:/home/alice:/bin/bash\n";
  auto denied = RunKvm(root, {1000, {1000}, "alice"});
  EXPECT_EQ(Verdicts(denied)[0], "kvm.device:fail");
  EXPECT_THAT(FindById(denied, "kvm.device")->hint, HasSubstr("usermod -aG kvm alice"));
  EXPECT_THAT(Text(*FindById(denied, "kvm.device")), HasSubstr("mode 0660, owner root, group kvm"));
  // The same user in group kvm may use it.
  auto allowed = RunKvm(root, {1000, {1000, 104}, "alice"});
  EXPECT_EQ(Verdicts(allowed)[0], "kvm.device:pass");
}

TEST(KvmProbe, FirmwareDisabledLineInTheKernelLogIsAFailure) {
  Sysroot root("kvm-unloaded");
  ASSERT_TRUE(root.ok());
  // The record as an Intel host with VT-x locked off prints it (arch/x86/kernel/cpu/feat_ctl.c).
  std::ofstream(fs::path(root.runtime()) / "dev/kmsg", std::ios::app)
      << "4,900,1000000,-;x86/cpu: VMX (outside TXT) disabled by BIOS\n";
  auto findings = RunKvm(root);
  const Finding* fw = FindById(findings, "kvm.firmware");
  ASSERT_NE(fw, nullptr);
  EXPECT_EQ(fw->severity, Severity::kFail);
  EXPECT_THAT(Text(*fw), HasSubstr("VMX (outside TXT) disabled by BIOS"));
}

TEST(KvmProbe, UnreadableKernelLogIsSkippedNotPassed) {
  Sysroot root("kvm-unloaded");
  ASSERT_TRUE(root.ok());
  fs::remove(fs::path(root.runtime()) / "dev/kmsg");
  auto findings = RunKvm(root);
  EXPECT_EQ(FindById(findings, "kvm.firmware")->severity, Severity::kSkip);
}

// A QEMU guest with -cpu max (svm) and kvm_amd loaded: the usable case on a real kernel.
TEST(KvmProbe, UsableOnAGuestWithSvmAndKvmAmdLoaded) {
  Sysroot root("kvm-svm");
  ASSERT_TRUE(root.ok());
  auto findings = RunKvm(root);
  EXPECT_THAT(Verdicts(findings), ElementsAre("kvm.device:pass", "kvm.cpu:pass", "kvm.module:pass",
                                              "kvm.firmware:pass", "kvm.nested:pass"));
  EXPECT_THAT(Text(*FindById(findings, "kvm.module")), HasSubstr("kvm_amd"));
  EXPECT_THAT(Text(*FindById(findings, "kvm.nested")),
              HasSubstr("/sys/module/kvm_amd/parameters/nested"));
}

// The same guest as the kernel made the node (root:105 0660), judged for a user outside
// group 105, then for one inside it.
TEST(KvmProbe, PermissionDeniedOnTheCapturedNodeForAUserOutsideItsGroup) {
  Sysroot root("kvm-svm");
  ASSERT_TRUE(root.ok());
  fs::create_directories(fs::path(root.config()) / "etc");
  std::ofstream(fs::path(root.config()) / "etc/group") << "root:x:0:\nkvm:x:105:\n";
  auto denied = RunKvm(root, {1000, {1000}, "alice"});
  EXPECT_EQ(Verdicts(denied)[0], "kvm.device:fail");
  EXPECT_THAT(FindById(denied, "kvm.device")->hint, HasSubstr("usermod -aG kvm alice"));
  auto allowed = RunKvm(root, {1000, {1000, 105}, "alice"});
  EXPECT_EQ(Verdicts(allowed)[0], "kvm.device:pass");
}

// The CPU, module and firmware verdicts belong to the machine: on the paravirtualised host
// (no vmx/svm, KVM works) a user without access to /dev/kvm gets the device failure and
// nothing else changes (kvm.cpu used to turn from NOTE into FAIL).
TEST(KvmProbe, MachineVerdictsDoNotDependOnTheUser) {
  Sysroot root("pvm-host");
  ASSERT_TRUE(root.ok());
  auto owner = RunKvm(root);
  auto nobody = RunKvm(root, {65534, {65534}, "nobody"});
  ASSERT_EQ(owner.size(), nobody.size());
  EXPECT_EQ(Verdicts(owner)[0], "kvm.device:pass");
  EXPECT_EQ(Verdicts(nobody)[0], "kvm.device:fail");
  for (std::size_t i = 1; i < owner.size(); ++i) EXPECT_EQ(Verdicts(owner)[i], Verdicts(nobody)[i]);
  EXPECT_EQ(FindById(nobody, "kvm.cpu")->severity, Severity::kNote);
}

// -cpu qemu64,-svm: the CPU has no virtualization; modprobe kvm_amd failed in the guest.
TEST(KvmProbe, NoCpuSupportIsTheOneRootCauseFailure) {
  Sysroot root("kvm-nocpu");
  ASSERT_TRUE(root.ok());
  auto findings = RunKvm(root);
  EXPECT_THAT(Verdicts(findings), ElementsAre("kvm.device:fail", "kvm.cpu:fail", "kvm.module:note",
                                              "kvm.firmware:pass"));
  const Finding* cpu = FindById(findings, "kvm.cpu");
  EXPECT_THAT(Text(*cpu), HasSubstr("svm absent"));
  // The kernel's own words from the failed load are part of the evidence.
  EXPECT_THAT(Text(*cpu), HasSubstr("kvm: no hardware support for 'kvm_amd'"));
  EXPECT_THAT(FindById(findings, "kvm.module")->summary, HasSubstr("cannot load without vmx/svm"));
}

// -cpu max, modules installed but never loaded: no node, and the fix is modprobe.
TEST(KvmProbe, ModuleNotLoadedMeansNoNode) {
  Sysroot root("kvm-unloaded");
  ASSERT_TRUE(root.ok());
  auto findings = RunKvm(root);
  EXPECT_THAT(Verdicts(findings), ElementsAre("kvm.device:fail", "kvm.cpu:pass", "kvm.module:fail",
                                              "kvm.firmware:pass"));
  EXPECT_THAT(FindById(findings, "kvm.module")->hint, HasSubstr("modprobe kvm_amd"));
  EXPECT_THAT(Text(*FindById(findings, "kvm.module")), HasSubstr("kvm-amd.ko"));
}

// The same machine after its kernel's modules were removed (the running kernel's
// /usr/lib/modules/<release> gone, as after a kernel upgrade removed the old one).
// Without the running kernel's module tree and config nothing can tell whether KVM is
// there: "cannot tell" is a warning that says what could not be read, never "missing".
TEST(KvmProbe, CannotTellWhenTheRunningKernelHasNoModuleTree) {
  Sysroot root("kvm-unloaded");
  ASSERT_TRUE(root.ok());
  fs::remove_all(fs::path(root.config()) / "usr/lib/modules");
  fs::remove_all(fs::path(root.config()) / "boot");
  auto findings = RunKvm(root);
  EXPECT_THAT(Verdicts(findings), ElementsAre("kvm.device:fail", "kvm.cpu:pass", "kvm.module:warn",
                                              "kvm.firmware:pass"));
  const Finding* module = FindById(findings, "kvm.module");
  EXPECT_THAT(module->summary, HasSubstr("cannot tell whether kernel"));
  EXPECT_THAT(module->summary, Not(HasSubstr("has no KVM module")));
  EXPECT_THAT(Text(*module), HasSubstr("no module index for the running kernel"));
  EXPECT_THAT(module->hint, HasSubstr("/usr/lib/modules/"));
}

TEST(KvmProbe, LiveHostIsJudgedByTheIoctls) {
  auto host = Host::Open("/", "/");
  ASSERT_TRUE(host.has_value());
  ProbeContext context;
  context.identity = {::geteuid(), {::getegid()}, "me"};
  auto findings = KvmProbe().Run(*host, context);
  const Finding* device = FindById(findings, "kvm.device");
  ASSERT_NE(device, nullptr);
  // Whatever this machine has, the verdict must rest on an open or the ioctls, never on the tree.
  std::string text = Text(*device);
  if (device->severity == Severity::kPass) {
    EXPECT_THAT(text, HasSubstr("KVM_CREATE_VM succeeded"));
  } else {
    EXPECT_THAT(text, ::testing::AnyOf(HasSubstr("does not exist"), HasSubstr("open read-write"),
                                       HasSubstr("KVM_")));
  }
}

}  // namespace
}  // namespace vmprep
