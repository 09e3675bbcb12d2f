// vm.hugepages, vm.hugetlbfs and vm.virtiofs-*, one input state at a time. The hugepages
// capture reserves 64 pages of 2 MiB (all free) with a hugetlbfs on /dev/hugepages;
// intel-iommu reserves none and mounts none.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/checks/vm_test_util.h"

namespace vmprep {
namespace {

using testing::DomainXml;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::VmMachine;

TEST(VmHugepages, EnoughFitsTooFewFailsFewFreeWarns) {
  VmMachine m("hugepages");
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(m.Rule(DomainXml("", "<hugepages/>", "", 131072), "vm.huge"),
              ElementsAre("vm.hugepages.t:pass", "vm.hugetlbfs.t:pass"));
  Finding h = m.Find(DomainXml("", "<hugepages/>", "", 262144), "vm.hugepages.t");
  EXPECT_EQ(h.severity, Severity::kFail);
  EXPECT_THAT(h.hint, HasSubstr("vmsetup plan --enable hugepages=2M:128"));
  m.PutRuntime("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "10\n");
  EXPECT_THAT(m.Rule(DomainXml("", "<hugepages/>", "", 131072), "vm.hugepages"),
              ElementsAre("vm.hugepages.t:warn"));
}

TEST(VmHugepages, SizeTheKernelLacksFailsAndHasNoMount) {
  VmMachine m("hugepages");
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(m.Rule(DomainXml("", "<hugepages><page size='1' unit='G'/></hugepages>"), "vm.huge"),
              ElementsAre("vm.hugepages.t:fail", "vm.hugetlbfs.t:fail"));
}

TEST(VmHugepages, ReservedButUnusedIsANoteNothingReservedIsSilent) {
  VmMachine m("hugepages");
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(m.Rule(DomainXml(""), "vm.huge"), ElementsAre("vm.hugepages.t:note"));
  VmMachine none("intel-iommu");
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(none.Rule(DomainXml(""), "vm.huge"), IsEmpty());
  EXPECT_THAT(none.Rule(DomainXml("", "<hugepages/>"), "vm.hugetlbfs"),
              ElementsAre("vm.hugetlbfs.t:fail"));
}

const char* kShare =
    "<filesystem type='mount' accessmode='passthrough'><driver type='virtiofs'/>"
    "<source dir='/srv/share'/><target dir='share'/></filesystem>\n";

TEST(VmVirtiofs, EachPartOnItsOwn) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(
      m.Rule(DomainXml(kShare), "vm.virtiofs"),
      ElementsAre("vm.virtiofs-memory.t:fail", "vm.virtiofsd.t:fail", "vm.virtiofs-source.t:fail"));
  const std::string shared = "<source type='memfd'/><access mode='shared'/>";
  m.PutConfig("/usr/libexec/virtiofsd", "");
  std::filesystem::create_directories(m.Config("/srv/share"));
  EXPECT_THAT(
      m.Rule(DomainXml(kShare, shared), "vm.virtiofs"),
      ElementsAre("vm.virtiofs-memory.t:pass", "vm.virtiofsd.t:pass", "vm.virtiofs-source.t:pass"));
  EXPECT_THAT(m.Rule(DomainXml("", shared), "vm.virtiofs"), IsEmpty());
}

}  // namespace
}  // namespace vmprep
