// MakeAllFixers: ids unique, and every id in system/fixer_ids.h has a fixer.
#include <gtest/gtest.h>

#include <set>

#include "fixers/fixer.h"
#include "system/fixer_ids.h"

namespace vmprep {
namespace {

TEST(FixerRegistry, IdsUniqueAndComplete) {
  auto fixers = MakeAllFixers();
  std::set<std::string_view> ids;
  for (const auto& f : fixers) {
    EXPECT_TRUE(ids.insert(f->Id()).second) << "duplicate fixer id " << f->Id();
    EXPECT_FALSE(f->Description().empty()) << f->Id();
  }
  for (std::string_view id : {kFixKernelCmdline, kFixInitramfs, kFixModprobeVfio, kFixModulesLoad,
                              kFixHugepages, kFixXorg, kFixQemuBridge, kFixVfioBind, kFixQemuUser,
                              kFixNetBridge, kFixDeviceAccess, kFixKvmfr, kFixLibvirt}) {
    EXPECT_TRUE(ids.contains(id)) << "no fixer for " << id;
  }
  EXPECT_EQ(ids.size(), 13u);
}

}  // namespace
}  // namespace vmprep
