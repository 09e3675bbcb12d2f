// vm.disk-bus, vm.nic-model, vm.address, vm.bridge and vm.network, one input state at a time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checks/probes/qemu.h"
#include "tests/checks/vm_test_util.h"

namespace vmprep {
namespace {

using testing::DomainXml;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::VmMachine;

std::string Disk(const std::string& bus, const std::string& address = "") {
  return "<disk type='file' device='disk'><source file='/var/lib/libvirt/images/t.qcow2'/>"
         "<target dev='vda' bus='" +
         bus + "'/>" + address + "</disk>\n";
}

std::string Nic(const std::string& type, const std::string& source, const std::string& model) {
  std::string key = type == "bridge" ? "bridge" : "network";
  return "<interface type='" + type + "'><source " + key + "='" + source + "'/><model type='" +
         model + "'/></interface>\n";
}

TEST(VmDisks, VirtioPassesEmulatedIsANoteCdromsAreLeftAlone) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(m.Rule(DomainXml(Disk("virtio")), "vm.disk"), ElementsAre("vm.disk-bus.t:pass"));
  EXPECT_THAT(m.Rule(DomainXml(Disk("sata")), "vm.disk"), ElementsAre("vm.disk-bus.t:note"));
  EXPECT_THAT(m.Rule(DomainXml("<disk type='file' device='cdrom'><target dev='sda' bus='sata'/>"
                               "</disk>\n"),
                     "vm.disk"),
              IsEmpty());
}

TEST(VmAddresses, DriveAddressOnAVirtioDiskFailsFittingOnesAreKept) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  const std::string drive = "<address type='drive' controller='0' bus='0' target='0' unit='0'/>";
  const std::string pci =
      "<address type='pci' domain='0x0000' bus='0x04' slot='0x00' "
      "function='0x0'/>";
  Finding a = m.Find(DomainXml(Disk("virtio", drive)), "vm.address.t");
  EXPECT_EQ(a.severity, Severity::kFail);
  EXPECT_THAT(a.hint, HasSubstr("Delete the <address .../> line of disk vda"));
  EXPECT_THAT(m.Rule(DomainXml(Disk("virtio", pci) + Disk("sata", drive)), "vm.address"),
              IsEmpty());
  EXPECT_THAT(m.Rule(DomainXml(Disk("sata", pci)), "vm.address"), ElementsAre("vm.address.t:fail"));
}

TEST(VmNics, VirtioPassesEmulatedIsANote) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.PutConfig("/etc/libvirt/qemu/networks/default.xml", "<network/>");
  EXPECT_THAT(m.Rule(DomainXml(Nic("network", "default", "virtio")), "vm.nic"),
              ElementsAre("vm.nic-model.t:pass"));
  EXPECT_THAT(m.Rule(DomainXml(Nic("network", "default", "e1000e")), "vm.nic"),
              ElementsAre("vm.nic-model.t:note"));
}

TEST(VmBridges, MissingFailsDownWarnsUpPassesALinkIsNoBridge) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(m.Rule(DomainXml(Nic("bridge", "br0", "virtio")), "vm.bridge"),
              ElementsAre("vm.bridge.t:fail"));
  EXPECT_THAT(m.Find(DomainXml(Nic("bridge", "eth0", "virtio")), "vm.bridge.t").summary,
              HasSubstr("is not a bridge"));
  // The missing bridge's hint names vmsetup's net-bridge plan for it.
  EXPECT_THAT(m.Find(DomainXml(Nic("bridge", "br0", "virtio")), "vm.bridge.t").hint,
              HasSubstr("`vmsetup plan --enable bridge=br0:IFACE`"));
  m.AddBridge("br0", "down");
  m.AddBridge("br1", "up");
  EXPECT_THAT(m.Rule(DomainXml(Nic("bridge", "br0", "virtio")), "vm.bridge"),
              ElementsAre("vm.bridge.t:warn"));
  EXPECT_THAT(m.Rule(DomainXml(Nic("bridge", "br1", "virtio")), "vm.bridge"),
              ElementsAre("vm.bridge.t:pass"));
}

TEST(VmNetworks, UndefinedFailsNotAutostartedWarnsAutostartedPasses) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  const std::string xml = DomainXml(Nic("network", "default", "virtio"));
  EXPECT_THAT(m.Rule(xml, "vm.network"), ElementsAre("vm.network.t:fail"));
  m.PutConfig("/etc/libvirt/qemu/networks/default.xml", "<network/>");
  EXPECT_THAT(m.Rule(xml, "vm.network"), ElementsAre("vm.network.t:warn"));
  std::filesystem::create_directories(m.Config("/etc/libvirt/qemu/networks/autostart"));
  std::filesystem::create_symlink("/etc/libvirt/qemu/networks/default.xml",
                                  m.Config("/etc/libvirt/qemu/networks/autostart/default.xml"));
  EXPECT_THAT(m.Rule(xml, "vm.network"), ElementsAre("vm.network.t:pass"));
}

}  // namespace
}  // namespace vmprep

namespace vmprep {
namespace {

// qemu.bridge-conf (the host side of bridge interfaces): an allowed bridge that does not
// exist is a note; once it exists the finding passes.
TEST(QemuBridgeConf, AllowedBridgeThatDoesNotExistIsANote) {
  testing::VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.PutConfig("/usr/lib/qemu/qemu-bridge-helper", "");
  m.PutConfig("/etc/qemu/bridge.conf", "allow br0\n");
  std::filesystem::permissions(m.Config("/etc/qemu"), static_cast<std::filesystem::perms>(0755));
  auto run = [&] {
    auto host = Host::Open(m.Runtime("").string(), m.Config("").string());
    EXPECT_TRUE(host.has_value());
    return QemuHostProbe().Run(*host, ProbeContext{});
  };
  auto before = run();
  const Finding* c = testing::FindById(before, "qemu.bridge-conf");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->severity, Severity::kNote);
  EXPECT_THAT(c->summary, ::testing::HasSubstr("br0 does not exist here"));
  m.AddBridge("br0", "up");
  auto after = run();
  EXPECT_EQ(testing::FindById(after, "qemu.bridge-conf")->severity, Severity::kPass);
}

}  // namespace
}  // namespace vmprep
