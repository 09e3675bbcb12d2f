// vfio-bind: /etc/vmprep/vfio-bind.conf in the hook's format
// (initramfs-hooks/README.md), every non-bridge function of the chosen device's
// IOMMU group, identical NICs told apart.
#include "fixers/vfio_bind.h"

#include <gtest/gtest.h>

#include "tests/fixers/vfio_fixers_test_util.h"

namespace vmprep {
namespace {

using fixers_test::Machine;
using fixers_test::VfioOptions;

std::string DataLines(const std::string& text) {
  std::string out;
  for (auto& l : fixers_test::Lines(text))
    if (!l.empty() && l[0] != '#') out += l + "\n";
  return out;
}

TEST(VfioBindFixer, OneOfTwoIdenticalNicsByAddress) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.Put("/usr/sbin/update-initramfs", "");
  Host host = m.OpenHost();
  auto fixer = MakeVfioBindFixer();
  auto plan = fixer->Plan(host, VfioOptions({"02:00.0"}));
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  ASSERT_EQ(plan->edits.size(), 1u);
  EXPECT_EQ(plan->edits[0].path, kVfioBindConf);
  EXPECT_EQ(DataLines(*plan->edits[0].after), "0000:02:00.0 8086:10d3\n");
  ASSERT_EQ(plan->actions.size(), 1u);
  EXPECT_EQ(plan->actions[0].argv,
            (std::vector<std::string>{"update-initramfs", "-u", "-k", "all"}));
  // The hook is not installed in this config root: said, not copied.
  bool noted = false;
  for (auto& n : plan->notes) noted |= n.find("vfio-bind.sh") != std::string::npos;
  EXPECT_TRUE(noted);
  std::string id = fixers_test::Apply(host, *plan);
  auto again = fixer->Plan(host, VfioOptions({"02:00.0"}));
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->edits.empty());
  fixers_test::Undo(host, id);
  EXPECT_FALSE(m.Has(kVfioBindConf));
}

TEST(VfioBindFixer, WholeGroupWithoutBridges) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  Host host = m.OpenHost();
  // Group 10: bridge 04:00.0 (stays on its driver), serial 05:01.0, HD audio
  // 05:02.0.
  auto plan = MakeVfioBindFixer()->Plan(host, VfioOptions({"0000:05:02.0"}));
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(plan->edits.size(), 1u);
  EXPECT_EQ(DataLines(*plan->edits[0].after), "0000:05:01.0 1b36:0002\n0000:05:02.0 8086:293e\n");
}

TEST(VfioBindFixer, StaleLineIsRefusedWithItsLine) {
  Machine m("vfio-bound");
  ASSERT_TRUE(m.ok());
  m.Put("/etc/vmprep/vfio-bind.conf", "# old card\n0000:02:00.0 10de:1b80\n");
  Host host = m.OpenHost();
  auto plan = MakeVfioBindFixer()->Plan(host, VfioOptions({"02:00.0"}));
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().line, 2);
  m.Put("/etc/vmprep/vfio-bind.conf", "0000:02:00.0 8086:10d3\n");
  auto ok = MakeVfioBindFixer()->Plan(host, VfioOptions({"02:00.0"}));
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->edits.empty());
  EXPECT_FALSE(MakeVfioBindFixer()->Plan(host, VfioOptions({"0000:09:00.0"})).has_value());
}

}  // namespace
}  // namespace vmprep
