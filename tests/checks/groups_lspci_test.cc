// `vmcheck groups` names every device exactly as `lspci -nn` does, on each captured tree:
// the real lspci reads the same tree through its sysfs back end.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/run_command.h"
#include "tests/sysroot.h"

namespace vmprep {
namespace {

std::multiset<std::string> Lines(const std::string& text) {
  std::multiset<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) lines.insert(l);
  }
  return lines;
}

class GroupsMatchLspci : public ::testing::TestWithParam<std::string> {};

TEST_P(GroupsMatchLspci, SameNamesAndAGroupForEveryDevice) {
  testing::Sysroot root(GetParam());
  ASSERT_TRUE(root.ok());
  std::string lspci =
      testing::RunCommand("lspci -nn -A linux-sysfs -O sysfs.path=" + root.runtime() +
                          "/sys/bus/pci 2>/dev/null")
          .out;
  ASSERT_FALSE(lspci.empty()) << "lspci printed nothing (is pciutils installed?)";
  std::string groups =
      testing::RunCommand(std::string(VMCHECK_BINARY) + " groups --root " + root.runtime()).out;
  std::multiset<std::string> ours;
  std::istringstream in(groups);
  int headers = 0;
  for (std::string l; std::getline(in, l);) {
    if (l.starts_with("IOMMU group ")) ++headers;
    if (!l.starts_with("  ")) continue;
    l = l.substr(2, l.find("  [driver:") - 2);  // the lspci part of the line
    ours.insert(l);
  }
  EXPECT_EQ(ours, Lines(lspci));
  std::ifstream expected_groups(root.dir() / "expected/iommu_groups.txt");
  std::set<std::string> group_numbers;
  for (std::string g, bdf; expected_groups >> g >> bdf;) group_numbers.insert(g);
  EXPECT_EQ(headers, static_cast<int>(group_numbers.size()));
}

INSTANTIATE_TEST_SUITE_P(Captured, GroupsMatchLspci,
                         ::testing::Values("intel-iommu", "intel-iommu-pt", "intel-iommu-off",
                                           "amd-iommu", "no-iommu", "vfio-bound"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace vmprep
