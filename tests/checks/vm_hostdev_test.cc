// vm.hostdev and vm.firmware, one input state at a time, judged against captured machines:
// 01:00.0 carries the default route, 02:00.0 is a free identical e1000e (bound to vfio-pci in
// vfio-bound), 05:01.0 (serial, on its driver) and 05:02.0 (HD audio) share a group, 00:02.0
// is the console VGA.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/checks/vm_test_util.h"

namespace vmprep {
namespace {

using testing::DomainXml;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Hostdev;
using testing::VmMachine;

TEST(VmHostdev, HostNeededDeviceFails) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  Finding h = m.Find(DomainXml(Hostdev("0x01", "0x00", "0x0")), "vm.hostdev.t.0000:01:00.0");
  EXPECT_EQ(h.severity, Severity::kFail);
  EXPECT_THAT(h.summary, HasSubstr("default route"));
  EXPECT_THAT(h.hint, HasSubstr("/etc/libvirt/qemu/test.xml:"));
}

TEST(VmHostdev, FreeDeviceManagedPassesUnmanagedOnHostDriverFails) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(m.Rule(DomainXml(Hostdev("0x02", "0x00", "0x0")), "vm.hostdev"),
              ElementsAre("vm.hostdev.t.0000:02:00.0:pass"));
  Finding h = m.Find(DomainXml(Hostdev("0x02", "0x00", "0x0", false)), "vm.hostdev.t.0000:02:00.0");
  EXPECT_EQ(h.severity, Severity::kFail);
  EXPECT_THAT(h.summary, HasSubstr("bound to e1000e"));
  EXPECT_THAT(h.hint, HasSubstr("vmsetup plan --device 0000:02:00.0"));
}

TEST(VmHostdev, UnmanagedDeviceOnVfioPciPasses) {
  VmMachine m("vfio-bound");
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(m.Rule(DomainXml(Hostdev("0x02", "0x00", "0x0", false)), "vm.hostdev"),
              ElementsAre("vm.hostdev.t.0000:02:00.0:pass"));
}

TEST(VmHostdev, GroupMemberLeftOnHostDriverFailsWholeGroupPasses) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  Finding h = m.Find(DomainXml(Hostdev("0x05", "0x02", "0x0")), "vm.hostdev.t.0000:05:02.0");
  EXPECT_EQ(h.severity, Severity::kFail);
  EXPECT_THAT(h.summary, HasSubstr("0000:05:01.0 stays on serial"));
  EXPECT_THAT(m.Rule(DomainXml(Hostdev("0x05", "0x02", "0x0") + Hostdev("0x05", "0x01", "0x0")),
                     "vm.hostdev"),
              ElementsAre("vm.hostdev.t.0000:05:02.0:pass", "vm.hostdev.t.0000:05:01.0:pass"));
}

TEST(VmHostdev, NoIommuAndMissingDeviceFail) {
  VmMachine m("no-iommu");
  ASSERT_TRUE(m.ok());
  auto f = m.Judge(DomainXml(Hostdev("0x02", "0x00", "0x0") + Hostdev("0x06", "0x12", "0x1")));
  EXPECT_THAT(testing::Verdicts(f), ::testing::IsSupersetOf({"vm.hostdev.t.0000:02:00.0:fail",
                                                             "vm.hostdev.t.0000:06:12.1:fail"}));
  EXPECT_THAT(testing::FindById(f, "vm.hostdev.t.0000:02:00.0")->hint, HasSubstr("IOMMU"));
  EXPECT_THAT(testing::FindById(f, "vm.hostdev.t.0000:06:12.1")->summary,
              HasSubstr("no PCI device 0000:06:12.1"));
}

TEST(VmFirmware, OnlyWithAGpuBiosWarnsMissingLoaderFailsInstalledPasses) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  const std::string gpu = Hostdev("0x00", "0x02", "0x0");
  EXPECT_THAT(m.Rule(DomainXml(Hostdev("0x02", "0x00", "0x0")), "vm.firmware"),
              ::testing::IsEmpty());
  EXPECT_THAT(m.Rule(DomainXml(gpu), "vm.firmware"), ElementsAre("vm.firmware.t:warn"));
  const std::string loader =
      "    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>\n";
  EXPECT_THAT(m.Rule(DomainXml(gpu, "", loader), "vm.firmware"), ElementsAre("vm.firmware.t:fail"));
  m.PutConfig("/usr/share/OVMF/OVMF_CODE_4M.fd", "");
  EXPECT_THAT(m.Rule(DomainXml(gpu, "", loader), "vm.firmware"), ElementsAre("vm.firmware.t:pass"));
  const std::string missing_template =
      loader + "    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/x_VARS.fd</nvram>\n";
  EXPECT_THAT(m.Rule(DomainXml(gpu, "", missing_template), "vm.firmware"),
              ElementsAre("vm.firmware.t:fail"));
}

TEST(VmFirmware, EfiWithoutOvmfFailsWithOvmfPasses) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  std::string xml = DomainXml(Hostdev("0x00", "0x02", "0x0"));
  xml.replace(xml.find("<os>"), 4, "<os firmware='efi'>");
  EXPECT_THAT(m.Rule(xml, "vm.firmware"), ElementsAre("vm.firmware.t:fail"));
  m.PutConfig("/usr/share/OVMF/OVMF_CODE_4M.fd", "");
  EXPECT_THAT(m.Rule(xml, "vm.firmware"), ElementsAre("vm.firmware.t:pass"));
}

}  // namespace
}  // namespace vmprep
