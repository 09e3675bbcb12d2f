// vm.audio, vm.shmem and vm.looking-glass, one input state at a time: qemu.conf's user,
// real sockets and /dev/shm files in a captured machine's runtime tree.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

const char* kKvmfr =
    "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
    "<qemu:arg value='-object'/><qemu:arg value='{&quot;qom-type&quot;:&quot;memory-backend-"
    "file&quot;,&quot;id&quot;:&quot;looking-glass&quot;,&quot;mem-path&quot;:&quot;/dev/"
    "kvmfr0&quot;,&quot;size&quot;:33554432,&quot;share&quot;:true}'/></qemu:commandline>\n";

std::string KvmfrDomain() {
  std::string xml = DomainXml("");
  xml.insert(xml.rfind("</domain>"), kKvmfr);
  return xml;
}

TEST(VmLookingGlass, KvmfrNeedsModuleSizeNodeAndCgroupAcl) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.AddUsers();
  EXPECT_THAT(m.Rule(KvmfrDomain(), "vm."),
              ElementsAre("vm.domain.t:pass", "vm.shmem.t:pass", "vm.looking-glass.t:fail"));
  m.PutRuntime("/sys/module/kvmfr/parameters/static_size_mb", "32\n");
  m.PutRuntime("/dev/kvmfr0", "");
  auto node = m.Runtime("/dev/kvmfr0");
  ASSERT_EQ(::chown(node.c_str(), 1000, 105), 0);
  std::filesystem::permissions(node, static_cast<std::filesystem::perms>(0660));
  m.PutConfig("/etc/libvirt/qemu.conf", "user = \"alice\"\n");
  EXPECT_THAT(m.Find(KvmfrDomain(), "vm.looking-glass.t").summary,
              HasSubstr("device cgroup does not allow /dev/kvmfr0"));
  m.PutConfig("/etc/libvirt/qemu.conf",
              "user = \"alice\"\ncgroup_device_acl = [\n    \"/dev/null\", \"/dev/full\",\n"
              "    \"/dev/kvm\", \"/dev/kvmfr0\"\n]\n");
  EXPECT_THAT(m.Rule(KvmfrDomain(), "vm.looking"), ElementsAre("vm.looking-glass.t:pass"));
  m.PutRuntime("/sys/module/kvmfr/parameters/static_size_mb", "16\n");
  EXPECT_THAT(m.Rule(KvmfrDomain(), "vm.looking"), ElementsAre("vm.looking-glass.t:fail"));
}

}  // namespace
}  // namespace vmprep
