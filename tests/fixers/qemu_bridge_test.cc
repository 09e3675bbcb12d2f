// qemu-bridge: allow lines appended, existing ones (and `allow all`) respected,
// mode notes.
#include "fixers/qemu_bridge.h"

#include <gtest/gtest.h>

#include "tests/fixers/vfio_fixers_test_util.h"

namespace vmprep {
namespace {

using fixers_test::Machine;

TEST(BridgeFixer, CreatesAppendsAndIsIdempotent) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  Host host = m.OpenHost();
  FixerOptions o;
  o.bridges = {"br0", "virbr0"};
  auto fixer = MakeBridgeFixer();
  auto plan = fixer->Plan(host, o);
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(plan->edits.size(), 1u);
  EXPECT_EQ(*plan->edits[0].after, "allow br0\nallow virbr0\n");
  EXPECT_EQ(plan->edits[0].mode, 0644u);
  EXPECT_NE(plan->edits[0].why.find("0755"), std::string::npos);
  std::string id = fixers_test::Apply(host, *plan);
  EXPECT_EQ(
      std::filesystem::status(m.Path("/etc/qemu")).permissions() & std::filesystem::perms::all,
      static_cast<std::filesystem::perms>(0755));
  auto again = fixer->Plan(host, o);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->empty());
  EXPECT_TRUE(again->notes.empty());
  fixers_test::Undo(host, id);
  EXPECT_FALSE(m.Has(kQemuBridgeConf));
}

TEST(BridgeFixer, KeepsExistingAndNotesWrongDirectoryMode) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.Put("/etc/qemu/bridge.conf", "# mine\nallow br0");  // no final newline
  std::filesystem::permissions(m.Path("/etc/qemu"), static_cast<std::filesystem::perms>(0700));
  Host host = m.OpenHost();
  FixerOptions o;
  o.bridges = {"br0", "br1"};
  auto plan = MakeBridgeFixer()->Plan(host, o);
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(plan->edits.size(), 1u);
  EXPECT_EQ(*plan->edits[0].after, "# mine\nallow br0\nallow br1\n");
  ASSERT_EQ(plan->notes.size(), 1u);
  EXPECT_NE(plan->notes[0].find("chmod 755 /etc/qemu"), std::string::npos);
  m.Put("/etc/qemu/bridge.conf", "allow all\n");
  auto all = MakeBridgeFixer()->Plan(host, o);
  ASSERT_TRUE(all.has_value());
  EXPECT_TRUE(all->edits.empty());
  o.bridges = {"bad/name"};
  EXPECT_FALSE(MakeBridgeFixer()->Plan(host, o).has_value());
}

}  // namespace
}  // namespace vmprep
