// vm.usb: USB hostdevs judged against the USB devices of a real kernel: the "usb" capture
// (tests/sysroots, QEMU's xhci with two identical tablets 0627:0001 at bus 1 devices 2 and 3
// and a Wacom tablet 056a:0000 at bus 1 device 4), and a capture without any USB bus.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/checks/vm_test_util.h"

namespace vmprep {
namespace {

using testing::DomainXml;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::VmMachine;

std::string Usb(const std::string& source, const std::string& policy = "") {
  return "<hostdev mode='subsystem' type='usb' managed='no'><source" +
         (policy.empty() ? "" : " startupPolicy='" + policy + "'") + ">" + source +
         "</source></hostdev>\n";
}
const std::string kWacom = "<vendor id='0x056a'/><product id='0x0000'/>";
const std::string kQemuTablet = "<vendor id='0x0627'/><product id='0x0001'/>";

TEST(VmUsb, ADeviceOfItsOwnIdsPasses) {
  VmMachine m("usb");
  ASSERT_TRUE(m.ok());
  Finding f = m.Find(DomainXml(Usb(kWacom)), "vm.usb.t.056a:0000");
  EXPECT_EQ(f.severity, Severity::kPass);
  EXPECT_THAT(f.summary, HasSubstr("056a:0000 at bus 1 device 4 (QEMU Wacom PenPartner)"));
  ASSERT_GE(f.evidence.size(), 2u);
  EXPECT_EQ(f.evidence[1].path, "/sys/bus/usb/devices/1-3");
}

TEST(VmUsb, IdenticalDevicesNeedAnAddress) {
  VmMachine m("usb");
  ASSERT_TRUE(m.ok());
  Finding f = m.Find(DomainXml(Usb(kQemuTablet)), "vm.usb.t.0627:0001");
  EXPECT_EQ(f.severity, Severity::kFail);
  EXPECT_THAT(f.summary, HasSubstr("2 USB devices are 0627:0001 (bus 1 device 2, bus 1 device 3)"));
  EXPECT_THAT(f.summary, HasSubstr("refuses to start"));
  EXPECT_THAT(f.hint, HasSubstr("<address bus='1' device='2'/>"));
  const std::string picked = Usb(kQemuTablet + "<address bus='1' device='3'/>");
  EXPECT_THAT(m.Rule(DomainXml(picked), "vm.usb"), ElementsAre("vm.usb.t.0627:0001@1.3:pass"));
}

TEST(VmUsb, AbsentDeviceFailsUnlessOptional) {
  VmMachine m("usb");
  ASSERT_TRUE(m.ok());
  const std::string logitech = "<vendor id='0x046d'/><product id='0xc52b'/>";
  Finding f = m.Find(DomainXml(Usb(logitech)), "vm.usb.t.046d:c52b");
  EXPECT_EQ(f.severity, Severity::kFail);
  EXPECT_EQ(f.summary,
            "t: no USB device 046d:c52b on this host: libvirt refuses to start the "
            "domain");
  EXPECT_THAT(f.hint, HasSubstr("lsusb"));
  EXPECT_EQ(m.Find(DomainXml(Usb(logitech, "optional")), "vm.usb.t.046d:c52b").severity,
            Severity::kNote);
}

TEST(VmUsb, AddressesAreCheckedAgainstBusAndDeviceNumbers) {
  VmMachine m("usb");
  ASSERT_TRUE(m.ok());
  // The Wacom's ids at a tablet's address: it moved (device numbers change on replug).
  Finding moved =
      m.Find(DomainXml(Usb(kWacom + "<address bus='1' device='2'/>")), "vm.usb.t.056a:0000@1.2");
  EXPECT_EQ(moved.severity, Severity::kFail);
  EXPECT_THAT(moved.summary, HasSubstr("the USB device at bus 1 device 2 is 0627:0001, not "
                                       "056a:0000"));
  EXPECT_THAT(moved.hint, HasSubstr("056a:0000 is now at bus 1 device 4"));
  EXPECT_THAT(m.Rule(DomainXml(Usb("<address bus='1' device='4'/>")), "vm.usb"),
              ElementsAre("vm.usb.t.1.4:pass"));
  Finding gone = m.Find(DomainXml(Usb("<address bus='1' device='9'/>")), "vm.usb.t.1.9");
  EXPECT_EQ(gone.severity, Severity::kFail);
  EXPECT_THAT(gone.summary, HasSubstr("no USB device at bus 1 device 9"));
}

TEST(VmUsb, LibvirtsTestDomainOnAHostWithoutUsb) {
  VmMachine m("intel-iommu");  // no USB controller: the kernel has no /sys/bus/usb
  ASSERT_TRUE(m.ok());
  std::ifstream in(std::string(VMPREP_SOURCE_DIR) +
                   "/tests/corpus/libvirt/libvirt-hostdev-usb-address.xml");
  std::stringstream xml;
  xml << in.rdbuf();
  auto findings = m.Judge(xml.str());
  const Finding* f = testing::FindById(findings, "vm.usb.QEMUGuest1.14.6");
  ASSERT_NE(f, nullptr) << ::testing::PrintToString(testing::Verdicts(findings));
  EXPECT_EQ(f->severity, Severity::kFail);
  EXPECT_THAT(f->summary, HasSubstr("this host has no USB bus"));
}

}  // namespace
}  // namespace vmprep
