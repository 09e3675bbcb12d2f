// Unit tests of the PCI topology model and the isolation verdict (system/topology.h).
#include "system/topology.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/pci_class_names.h"

namespace vmprep {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

PciAddress Addr(std::string_view text) {
  auto address = PciAddress::Parse(text);
  EXPECT_TRUE(address.has_value()) << text;
  return address.value_or(PciAddress{});
}

PciDevice Dev(std::string_view address, std::uint32_t class_code, int group,
              std::string driver = "") {
  PciDevice device;
  device.address = Addr(address);
  device.class_code = class_code;
  device.iommu_group = group;
  device.driver = std::move(driver);
  return device;
}

Topology Make(std::initializer_list<PciDevice> devices) {
  Topology topology;
  for (const PciDevice& device : devices) EXPECT_TRUE(topology.Add(device).has_value());
  return topology;
}

TEST(PciAddressTest, ParsesFullAndShortForms) {
  auto full = PciAddress::Parse("0000:01:00.0");
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->domain, 0u);
  EXPECT_EQ(full->bus, 1);
  EXPECT_EQ(full->device, 0);
  EXPECT_EQ(full->function, 0);

  auto short_form = PciAddress::Parse("2b:1f.7");
  ASSERT_TRUE(short_form.has_value());
  EXPECT_EQ(short_form->domain, 0u);
  EXPECT_EQ(short_form->bus, 0x2b);
  EXPECT_EQ(short_form->device, 0x1f);
  EXPECT_EQ(short_form->function, 7);
  EXPECT_EQ(short_form->ToString(), "0000:2b:1f.7");
  EXPECT_EQ(short_form->ShortString(), "2b:1f.7");
}

TEST(PciAddressTest, FiveDigitDomainsOfVmd) {
  auto address = PciAddress::Parse("10000:e1:00.0");
  ASSERT_TRUE(address.has_value());
  EXPECT_EQ(address->domain, 0x10000u);
  EXPECT_EQ(address->ToString(), "10000:e1:00.0");
  EXPECT_EQ(address->ShortString(), "10000:e1:00.0");  // lspci prints the domain then
}

TEST(PciAddressTest, CanonicalFormIsLowerCaseWithFourDomainDigits) {
  EXPECT_EQ(Addr("0:0A:1F.3").ToString(), "0000:0a:1f.3");
  EXPECT_EQ(Addr("00ff:FF:00.1").ToString(), "00ff:ff:00.1");
}

TEST(PciAddressTest, RejectsMalformedAddressesWithTheInputInTheMessage) {
  for (std::string_view bad : {"", "01:00", "01:00.8", "01:20.0", "100000:00:01.0", "0g:00.0",
                               " 01:00.0", "01:00.0 ", "01:0.0", "1:00.0", "01:00.00", "0000:01:00",
                               "0000-01:00.0", ":01:00.0", "0000:01:00.0:1"}) {
    auto parsed = PciAddress::Parse(bad);
    EXPECT_FALSE(parsed.has_value()) << "accepted \"" << bad << "\"";
    if (!parsed) {
      EXPECT_THAT(parsed.error().message, HasSubstr(std::string("\"") + std::string(bad) + "\""));
      EXPECT_THAT(parsed.error().message, HasSubstr("expected dddd:bb:dd.f"));
    }
  }
}

TEST(PciAddressTest, OrdersByDomainBusDeviceFunction) {
  EXPECT_LT(Addr("00:1f.7"), Addr("01:00.0"));
  EXPECT_LT(Addr("ff:1f.7"), Addr("0001:00:00.0"));
  EXPECT_LT(Addr("01:00.0"), Addr("01:00.1"));
  EXPECT_EQ(Addr("0000:01:00.0"), Addr("01:00.0"));
  EXPECT_NE(Addr("01:00.0"), Addr("0001:01:00.0"));
}

TEST(PciAddressTest, SameSlotMeansFunctionsOfOneDevice) {
  EXPECT_TRUE(Addr("01:00.0").SameSlot(Addr("01:00.3")));
  EXPECT_FALSE(Addr("01:00.0").SameSlot(Addr("01:01.0")));
  EXPECT_FALSE(Addr("01:00.0").SameSlot(Addr("02:00.0")));
  EXPECT_FALSE(Addr("01:00.0").SameSlot(Addr("0001:01:00.0")));
}

TEST(PciDeviceTest, BridgeDetectionByClass) {
  EXPECT_TRUE(Dev("00:01.1", 0x060400, 1).IsPciBridge());   // PCI bridge / root port
  EXPECT_TRUE(Dev("00:01.1", 0x060401, 1).IsPciBridge());   // subtractive decode
  EXPECT_TRUE(Dev("00:01.1", 0x060900, 1).IsPciBridge());   // semi-transparent
  EXPECT_TRUE(Dev("00:01.1", 0x060700, 1).IsPciBridge());   // CardBus
  EXPECT_FALSE(Dev("00:00.0", 0x060000, 0).IsPciBridge());  // host bridge: type-0 header
  EXPECT_TRUE(Dev("00:00.0", 0x060000, 0).IsHostBridge());
  EXPECT_FALSE(Dev("00:1f.0", 0x060100, 9).IsPciBridge());  // ISA/LPC bridge is an endpoint
  EXPECT_FALSE(Dev("00:1f.0", 0x060100, 9).IsHostBridge());
  EXPECT_FALSE(Dev("00:1f.0", 0x068000, 9).IsPciBridge());  // "other bridge"
  PciDevice unknown;
  EXPECT_FALSE(unknown.IsPciBridge());
  EXPECT_FALSE(unknown.IsDisplay());
}

TEST(PciDeviceTest, ClassHelpers) {
  EXPECT_TRUE(Dev("01:00.0", 0x030000, 1).IsDisplay());
  EXPECT_TRUE(Dev("01:00.0", 0x030200, 1).IsDisplay());  // 3D controller
  EXPECT_TRUE(Dev("01:00.0", 0x010802, 1).IsStorage());
  EXPECT_TRUE(Dev("01:00.0", 0x028000, 1).IsNetwork());
  EXPECT_TRUE(Dev("01:00.0", 0x0c0330, 1).IsUsb());
  EXPECT_FALSE(Dev("01:00.0", 0x0c8000, 1).IsUsb());
  EXPECT_EQ(Dev("01:00.0", 0x0c0330, 1).BaseClass(), 0x0c);
  EXPECT_EQ(Dev("01:00.0", 0x0c0330, 1).SubClass(), 0x03);
}

TEST(ClassCodeFromNameTest, UsesSubclassNamesAsLspciPrintsThem) {
  EXPECT_EQ(vmprep::testing::ClassCodeFromName("VGA compatible controller"), 0x030000u);
  EXPECT_EQ(vmprep::testing::ClassCodeFromName("PCI bridge"), 0x060400u);
  EXPECT_EQ(vmprep::testing::ClassCodeFromName("Host bridge"), 0x060000u);
  EXPECT_EQ(vmprep::testing::ClassCodeFromName("Non-Volatile memory controller"), 0x010800u);
  EXPECT_EQ(vmprep::testing::ClassCodeFromName("Network controller"),
            0x028000u);  // the subclass, not 0x02
  EXPECT_EQ(vmprep::testing::ClassCodeFromName("IOMMU"), 0x080600u);
  EXPECT_EQ(vmprep::testing::ClassCodeFromName("vga compatible controller"), std::nullopt);
  EXPECT_EQ(vmprep::testing::ClassCodeFromName("Flux capacitor"), std::nullopt);
}

TEST(TopologyTest, GroupsMayHaveGapsAndSkipUngroupedDevices) {
  Topology topology = Make({Dev("00:00.0", 0x060000, 0), Dev("00:01.0", 0x060400, 7),
                            Dev("01:00.0", 0x030000, 7), Dev("02:00.0", 0x020000, -1)});
  auto groups = topology.Groups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups.at(7).size(), 2u);
  EXPECT_EQ(topology.group_count(), 2u);
  EXPECT_EQ(topology.GroupMembers(-1).size(), 0u);
  ASSERT_NE(topology.Find(Addr("0000:01:00.0")), nullptr);
  EXPECT_EQ(topology.Find(Addr("03:00.0")), nullptr);
  EXPECT_EQ(topology.Displays().size(), 1u);
}

TEST(TopologyTest, RepeatedIdenticalDeviceIsAcceptedConflictingOneIsNot) {
  Topology topology;
  ASSERT_TRUE(topology.Add(Dev("01:00.0", 0x030000, 4)).has_value());
  EXPECT_TRUE(topology.Add(Dev("01:00.0", 0x030000, 4)).has_value());
  EXPECT_EQ(topology.device_count(), 1u);
  auto conflict = topology.Add(Dev("01:00.0", 0x030000, 5));
  ASSERT_FALSE(conflict.has_value());
  EXPECT_THAT(conflict.error().message, HasSubstr("0000:01:00.0"));
  EXPECT_THAT(conflict.error().message, HasSubstr("group 4 vs 5"));
}

TEST(JudgeIsolationTest, AloneIsIsolated) {
  Topology topology = Make({Dev("01:00.0", 0x030000, 12), Dev("01:00.1", 0x040300, 13)});
  IsolationVerdict verdict = JudgeIsolation(topology, Addr("01:00.0"), {});
  EXPECT_EQ(verdict.isolation, Isolation::kIsolated);
  EXPECT_EQ(verdict.group, 12);
  EXPECT_TRUE(verdict.members.empty());
  ASSERT_EQ(verdict.functions_in_other_groups.size(), 1u);
  EXPECT_EQ(verdict.functions_in_other_groups[0].address, Addr("01:00.1"));
  EXPECT_THAT(verdict.Summary(), HasSubstr("alone in IOMMU group 12"));
}

TEST(JudgeIsolationTest, OwnFunctionsRootPortAndDriverlessHostBridgeAreHarmless) {
  Topology topology =
      Make({Dev("00:03.0", 0x060000, 2), Dev("00:03.1", 0x060400, 2, "pcieport"),
            Dev("06:00.0", 0x030000, 2), Dev("06:00.1", 0x040300, 2), Dev("07:00.0", 0x010601, 3)});
  IsolationVerdict verdict = JudgeIsolation(topology, Addr("06:00.0"), {});
  EXPECT_EQ(verdict.isolation, Isolation::kIsolated);
  ASSERT_EQ(verdict.members.size(), 3u);
  EXPECT_EQ(verdict.members[0].role, MemberRole::kBridge);  // 00:03.0 host bridge
  EXPECT_EQ(verdict.members[1].role, MemberRole::kBridge);  // 00:03.1 root port
  EXPECT_EQ(verdict.members[2].role, MemberRole::kSameDevice);
  EXPECT_THAT(IsolationHint(verdict), HasSubstr("0000:06:00.1"));
  EXPECT_THAT(IsolationHint(verdict), Not(HasSubstr("acs")));
}

// vfio-pci never takes a bridge, and vfio refuses a group while a type-0 bridge in it has a
// driver: a bound host or ISA/LPC bridge keeps the group from the VM, like a host device.
TEST(JudgeIsolationTest, BridgesWithADriverKeepTheGroupFromTheVm) {
  for (std::uint32_t cls : {0x060000u, 0x060100u, 0x068000u}) {
    Topology topology = Make({Dev("00:00.0", cls, 1, "amd64_edac"), Dev("01:00.0", 0x030000, 1)});
    IsolationVerdict verdict = JudgeIsolation(topology, Addr("01:00.0"), {});
    EXPECT_EQ(verdict.isolation, Isolation::kSharesWithHostDevice) << std::hex << cls;
    ASSERT_EQ(verdict.members.size(), 1u);
    EXPECT_EQ(verdict.members[0].role, MemberRole::kHostNeeded);
    EXPECT_THAT(verdict.members[0].why, HasSubstr("bound to amd64_edac"));
    EXPECT_THAT(verdict.members[0].why, HasSubstr("vfio-pci never takes bridges"));
  }
  // Without a driver the same bridges are harmless members.
  Topology driverless = Make({Dev("00:1f.0", 0x060100, 1), Dev("01:00.0", 0x030000, 1)});
  EXPECT_EQ(JudgeIsolation(driverless, Addr("01:00.0"), {}).isolation, Isolation::kIsolated);
}

TEST(JudgeIsolationTest, HostNeededMemberFails) {
  Topology topology = Make({Dev("02:00.0", 0x0c0330, 13), Dev("02:00.1", 0x010601, 13),
                            Dev("02:00.2", 0x060400, 13), Dev("04:00.0", 0x030000, 13),
                            Dev("04:00.1", 0x040300, 13), Dev("2a:00.0", 0x020000, 13),
                            Dev("05:00.0", 0x048000, 13)});
  HostNeeds needs;
  needs.Add(Addr("02:00.1"), "boot disk controller (/ is on sda)");
  IsolationVerdict verdict = JudgeIsolation(topology, Addr("04:00.0"), needs);
  EXPECT_EQ(verdict.isolation, Isolation::kSharesWithHostDevice);
  auto host = verdict.WithRole(MemberRole::kHostNeeded);
  ASSERT_EQ(host.size(), 1u);
  EXPECT_EQ(host[0]->device.address, Addr("02:00.1"));
  EXPECT_EQ(host[0]->why, "boot disk controller (/ is on sda)");
  EXPECT_EQ(verdict.WithRole(MemberRole::kOtherEndpoint).size(), 3u);  // USB, NIC, 05:00.0
  EXPECT_THAT(verdict.Summary(), HasSubstr("boot disk controller"));
  EXPECT_THAT(verdict.Summary(), HasSubstr("0000:02:00.1"));
}

TEST(JudgeIsolationTest, OtherEndpointsMustAllGoToTheVm) {
  Topology topology = Make({Dev("05:00.0", 0x030000, 9), Dev("05:00.1", 0x040300, 9),
                            Dev("06:00.0", 0x0c0330, 9), Dev("00:1c.0", 0x060400, 9)});
  IsolationVerdict verdict = JudgeIsolation(topology, Addr("05:00.0"), {});
  EXPECT_EQ(verdict.isolation, Isolation::kSharesWithOtherDevices);
  auto others = verdict.WithRole(MemberRole::kOtherEndpoint);
  ASSERT_EQ(others.size(), 1u);
  EXPECT_EQ(others[0]->device.address, Addr("06:00.0"));
  EXPECT_THAT(verdict.Summary(), HasSubstr("0000:06:00.0"));
  EXPECT_THAT(verdict.Summary(), Not(HasSubstr("0000:05:00.1")));
}

TEST(JudgeIsolationTest, HostNeedOutranksSameDevice) {
  // An APU: the iGPU's sibling USB controller serves the host's keyboard.
  Topology topology = Make({Dev("05:00.0", 0x030000, 3), Dev("05:00.3", 0x0c0330, 3)});
  HostNeeds needs;
  needs.Add(Addr("05:00.3"), "keyboard is on this controller");
  IsolationVerdict verdict = JudgeIsolation(topology, Addr("05:00.0"), needs);
  EXPECT_EQ(verdict.isolation, Isolation::kSharesWithHostDevice);
  ASSERT_EQ(verdict.members.size(), 1u);
  EXPECT_EQ(verdict.members[0].role, MemberRole::kHostNeeded);
}

TEST(JudgeIsolationTest, TargetNeededByHostIsReported) {
  PciDevice gpu = Dev("00:02.0", 0x030000, 0);
  gpu.boot_vga = true;
  Topology topology = Make({gpu});
  HostNeeds needs = PresumeHostNeeds(topology, Addr("01:00.0"));
  IsolationVerdict verdict = JudgeIsolation(topology, Addr("00:02.0"), needs);
  EXPECT_EQ(verdict.isolation, Isolation::kIsolated);
  ASSERT_TRUE(verdict.target_needed_by_host.has_value());
  EXPECT_THAT(*verdict.target_needed_by_host, HasSubstr("console"));
}

TEST(JudgeIsolationTest, NoGroupAndNotFound) {
  Topology topology = Make({Dev("01:00.0", 0x030000, -1)});
  IsolationVerdict off = JudgeIsolation(topology, Addr("01:00.0"), {});
  EXPECT_EQ(off.isolation, Isolation::kNoGroup);
  EXPECT_THAT(IsolationHint(off), HasSubstr("intel_iommu=on"));
  IsolationVerdict missing = JudgeIsolation(topology, Addr("02:00.0"), {});
  EXPECT_EQ(missing.isolation, Isolation::kNotFound);
  EXPECT_THAT(missing.Summary(), HasSubstr("0000:02:00.0"));
}

TEST(IsolationHintTest, AcsOverrideIsTheLastResortAndCarriesItsRisk) {
  Topology topology = Make({Dev("04:00.0", 0x030000, 13), Dev("02:00.1", 0x010601, 13)});
  HostNeeds needs;
  needs.Add(Addr("02:00.1"), "boot disk");
  std::string hint = IsolationHint(JudgeIsolation(topology, Addr("04:00.0"), needs));
  std::size_t slot = hint.find("another slot");
  std::size_t acs = hint.find("pcie_acs_override");
  ASSERT_NE(slot, std::string::npos);
  ASSERT_NE(acs, std::string::npos);
  EXPECT_LT(slot, acs);
  EXPECT_THAT(hint, HasSubstr("Last resort"));
  EXPECT_THAT(hint, HasSubstr("peer-to-peer DMA"));
  std::string isolated_hint =
      IsolationHint(JudgeIsolation(Make({Dev("01:00.0", 0x030000, 1)}), Addr("01:00.0"), {}));
  EXPECT_THAT(isolated_hint, Not(HasSubstr("pcie_acs_override")));
}

TEST(PresumeHostNeedsTest, StorageNetworkUsbAndBootVgaButNotTheCardsOwnFunctions) {
  PciDevice igpu = Dev("00:02.0", 0x030000, 0);
  igpu.boot_vga = true;
  Topology topology = Make({igpu, Dev("00:14.0", 0x0c0330, 1), Dev("00:17.0", 0x010601, 2),
                            Dev("03:00.0", 0x020000, 3), Dev("00:1f.3", 0x040300, 4),
                            Dev("01:00.0", 0x030000, 5), Dev("01:00.2", 0x0c0330, 5)});
  HostNeeds needs = PresumeHostNeeds(topology, Addr("01:00.0"));
  EXPECT_NE(needs.Find(Addr("00:02.0")), nullptr);
  EXPECT_NE(needs.Find(Addr("00:14.0")), nullptr);
  EXPECT_NE(needs.Find(Addr("00:17.0")), nullptr);
  EXPECT_NE(needs.Find(Addr("03:00.0")), nullptr);
  EXPECT_EQ(needs.Find(Addr("00:1f.3")), nullptr);
  EXPECT_EQ(needs.Find(Addr("01:00.2")), nullptr);  // the GPU's own USB-C controller
  EXPECT_EQ(needs.needs.size(), 4u);
}

TEST(IsolationNameTest, RoundTrips) {
  for (Isolation isolation :
       {Isolation::kIsolated, Isolation::kSharesWithHostDevice, Isolation::kSharesWithOtherDevices,
        Isolation::kNoGroup, Isolation::kNotFound}) {
    EXPECT_EQ(IsolationFromName(IsolationName(isolation)), isolation);
  }
  EXPECT_EQ(IsolationFromName("isolated-ish"), std::nullopt);
}

}  // namespace
}  // namespace vmprep
