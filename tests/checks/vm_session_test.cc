// vm.audio, vm.shmem and vm.looking-glass, one input state at a time: qemu.conf's user,
// real sockets and /dev/shm files in a captured machine's runtime tree.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "system/fixer_ids.h"
#include "tests/checks/vm_test_util.h"

namespace vmprep {
namespace {

using testing::DomainXml;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::VmMachine;

const char* kPulse = "<audio id='1' type='pulseaudio' serverName='/run/user/1000/pulse/native'/>\n";

TEST(VmAudio, SocketOfQemusUserPassesOthersWarn) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.AddUsers();
  // libvirt's default user (libvirt-qemu here) and no socket yet.
  Finding a = m.Find(DomainXml(kPulse), "vm.audio.t");
  EXPECT_EQ(a.severity, Severity::kWarn);
  EXPECT_THAT(a.hint, HasSubstr("libvirt's default"));
  m.AddSocket("/run/user/1000/pulse/native", 1000);
  EXPECT_THAT(m.Find(DomainXml(kPulse), "vm.audio.t").summary,
              HasSubstr("QEMU runs as libvirt-qemu"));
  m.PutConfig("/etc/libvirt/qemu.conf", "# mine\nuser = \"alice\"\ngroup = \"kvm\"\n");
  EXPECT_THAT(m.Rule(DomainXml(kPulse), "vm.audio"), ElementsAre("vm.audio.t:pass"));
  // Without serverName QEMU's user's own socket is meant.
  EXPECT_THAT(m.Rule(DomainXml("<audio id='1' type='pulseaudio'/>\n"), "vm.audio"),
              ElementsAre("vm.audio.t:pass"));
  EXPECT_THAT(m.Rule(DomainXml("<audio id='1' type='pipewire'/>\n"), "vm.audio"),
              ElementsAre("vm.audio.t:warn"));
}

TEST(VmAudio, UnreadableQemuConfIsNotTakenForTheDefault) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.PutConfig("/etc/libvirt/qemu.conf", "user = \"alice\n");
  auto host = Host::Open(m.Runtime(""), m.Config(""));
  ASSERT_TRUE(host.has_value());
  QemuConf conf = ReadQemuConf(*host);
  ASSERT_TRUE(conf.error.has_value());
  EXPECT_EQ(conf.error->line, 1);
  EXPECT_THAT(conf.error->message, HasSubstr("unterminated string"));
  EXPECT_THAT(m.Find(DomainXml(kPulse), "vm.audio.t").hint,
              HasSubstr("/etc/libvirt/qemu.conf:1: unterminated string"));
}

std::string LookingGlass(const std::string& size) {
  return "<shmem name='looking-glass'><model type='ivshmem-plain'/><size unit='M'>" + size +
         "</size></shmem>\n";
}

TEST(VmLookingGlass, SizeMustBeAPowerOfTwoAndFit1080p) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(m.Rule(DomainXml(LookingGlass("24")), "vm.shmem"), ElementsAre("vm.shmem.t:fail"));
  EXPECT_THAT(m.Rule(DomainXml(LookingGlass("16")), "vm.shmem"), ElementsAre("vm.shmem.t:warn"));
  Finding big = m.Find(DomainXml(LookingGlass("128")), "vm.shmem.t");
  EXPECT_EQ(big.severity, Severity::kPass);
  EXPECT_THAT(big.summary, HasSubstr("up to 3840x2160"));
}

TEST(VmLookingGlass, ShmFileMissingIsANoteWrongOwnerFailsRightOwnerPasses) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.AddUsers();
  m.PutConfig("/etc/libvirt/qemu.conf", "user = \"alice\"\n");
  const std::string xml = DomainXml(LookingGlass("32"));
  EXPECT_THAT(m.Rule(xml, "vm.looking"), ElementsAre("vm.looking-glass.t:note"));
  m.PutRuntime("/dev/shm/looking-glass", "");
  auto file = m.Runtime("/dev/shm/looking-glass");
  ASSERT_EQ(::chown(file.c_str(), 0, 0), 0);
  std::filesystem::permissions(file, static_cast<std::filesystem::perms>(0600));
  EXPECT_THAT(m.Rule(xml, "vm.looking"), ElementsAre("vm.looking-glass.t:fail"));
  ASSERT_EQ(::chown(file.c_str(), 1000, 105), 0);
  std::filesystem::permissions(file, static_cast<std::filesystem::perms>(0660));
  EXPECT_THAT(m.Rule(xml, "vm.looking"), ElementsAre("vm.looking-glass.t:pass"));
}

using testing::KvmfrDomain;

TEST(VmLookingGlass, KvmfrNotInTheKernelNamesDkmsAndNoFixer) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.AddUsers();
  EXPECT_THAT(m.Rule(KvmfrDomain(), "vm."),
              ElementsAre("vm.domain.t:pass", "vm.shmem.t:pass", "vm.looking-glass.t:fail",
                          "vm.kvmfr-acl.t:fail"));
  Finding f = m.Find(KvmfrDomain(), "vm.looking-glass.t");
  EXPECT_THAT(f.summary, HasSubstr("this kernel has no kvmfr module"));
  EXPECT_THAT(f.hint, HasSubstr("dkms install"));
  EXPECT_THAT(f.hint, HasSubstr("vmsetup apply --enable kvmfr=32:libvirt-qemu"));
  EXPECT_TRUE(f.fixer.empty()) << "the kvmfr plan refuses without the module";
}

TEST(VmLookingGlass, KvmfrSizeFromModprobeDNodeForQemuAndPending) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.AddUsers();
  m.PutConfig("/etc/libvirt/qemu.conf", "user = \"alice\"\n");
  m.AddLoadedKvmfr(1000, 105, 0660);
  Finding f = m.Find(KvmfrDomain(), "vm.looking-glass.t");
  EXPECT_EQ(f.severity, Severity::kFail);
  EXPECT_THAT(f.summary, HasSubstr("no modprobe.d file sets static_size_mb"));
  EXPECT_EQ(f.fixer, kFixKvmfr);
  EXPECT_THAT(f.vmsetup_args, ElementsAre("--enable", "kvmfr=32:alice"));
  m.PutConfig("/etc/modprobe.d/kvmfr.conf", "options kvmfr static_size_mb=16\n");
  m.DateBeforeBoot("/etc/modprobe.d/kvmfr.conf");
  EXPECT_THAT(m.Find(KvmfrDomain(), "vm.looking-glass.t").summary,
              HasSubstr("/etc/modprobe.d/kvmfr.conf gives kvmfr static_size_mb=16; the domain "
                        "maps 32 MiB"));
  m.PutConfig("/etc/modprobe.d/kvmfr.conf", "options kvmfr static_size_mb=32\n");
  m.DateBeforeBoot("/etc/modprobe.d/kvmfr.conf");
  EXPECT_THAT(m.Rule(KvmfrDomain(), "vm.looking"), ElementsAre("vm.looking-glass.t:pass"));
  // Written after the boot: the loaded module may have the old size.
  m.PutConfig("/etc/modprobe.d/kvmfr.conf", "options kvmfr static_size_mb=32\n");
  Finding later = m.Find(KvmfrDomain(), "vm.looking-glass.t");
  EXPECT_TRUE(later.pending);
  EXPECT_THAT(later.hint, HasSubstr("modprobe -r kvmfr; modprobe kvmfr"));
  m.PutConfig("/etc/libvirt/qemu.conf",
              "user = \"alice\"\ncgroup_device_acl = [\n    \"/dev/null\", \"/dev/full\",\n"
              "    \"/dev/kvm\", \"/dev/kvmfr0\"\n]\n");
  EXPECT_THAT(m.Rule(KvmfrDomain(), "vm.kvmfr"), ElementsAre("vm.kvmfr-acl.t:pass"));
}

TEST(VmLookingGlass, KvmfrNodeOfRootFailsUntilTheUdevRule) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.AddUsers();
  m.AddLoadedKvmfr(0, 0, 0600);
  m.PutConfig("/etc/modprobe.d/kvmfr.conf", "options kvmfr static_size_mb=64\n");
  m.DateBeforeBoot("/etc/modprobe.d/kvmfr.conf");
  Finding f = m.Find(KvmfrDomain(), "vm.looking-glass.t");
  EXPECT_EQ(f.severity, Severity::kFail);
  EXPECT_EQ(f.summary, "t: QEMU (user libvirt-qemu) cannot open /dev/kvmfr0");
  EXPECT_THAT(f.hint, HasSubstr("SUBSYSTEM==\"kvmfr\", OWNER=\"libvirt-qemu\", GROUP=\"kvm\""));
  EXPECT_THAT(f.vmsetup_args, ElementsAre("--enable", "kvmfr=32:libvirt-qemu"));
  m.PutConfig("/etc/udev/rules.d/99-kvmfr.rules",
              "SUBSYSTEM==\"kvmfr\", OWNER=\"libvirt-qemu\", GROUP=\"kvm\", MODE=\"0660\"\n");
  Finding pending = m.Find(KvmfrDomain(), "vm.looking-glass.t");
  EXPECT_TRUE(pending.pending);
  EXPECT_TRUE(pending.fixer.empty());
}

}  // namespace
}  // namespace vmprep
