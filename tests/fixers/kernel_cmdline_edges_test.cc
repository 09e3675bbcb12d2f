// Command lines the kernel does not read to the end: after a bare "--" every word goes to
// init, and a double quote never closed makes the rest one word. The fixer puts what it adds
// where the kernel reads it (before them), refuses a GRUB value with an unclosed double quote
// (grub-mkconfig cannot use it) naming the line where that quote opens, and a second plan
// after apply is empty.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "fixers/kernel_cmdline.h"
#include "fixers/transaction.h"
#include "tests/test_files.h"

namespace vmprep {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using vmprep::testing::Slurp;
using vmprep::testing::Spill;

class Tree {
 public:
  Tree() {
    dir_ = vmprep::testing::FreshTempDir("cmdline-edges");
    fs::create_directories(dir_ / "runtime");
    fs::create_directories(dir_ / "config/etc");
  }
  ~Tree() { fs::remove_all(dir_); }
  void Put(const std::string& path, const std::string& bytes) const {
    Spill(dir_ / "config" / path.substr(1), bytes);
  }
  std::string Get(const std::string& path) const { return Slurp(dir_ / "config" / path.substr(1)); }
  Host host() const { return *Host::Open((dir_ / "runtime").string(), (dir_ / "config").string()); }

 private:
  fs::path dir_;
};

FixerOptions IommuPt() {
  FixerOptions o;
  o.iommu = true;  // the CPU vendor is unknown here: only iommu=pt is added
  o.iommu_pt = true;
  return o;
}

// Plans, applies, and plans again: the second plan must be empty.
std::string ApplyAndReplan(const Tree& t, const std::string& path) {
  Host host = t.host();
  auto plan = MakeCmdlineFixer()->Plan(host, IommuPt());
  EXPECT_TRUE(plan.has_value()) << plan.error().ToString();
  if (!plan) return "";
  auto applied = ApplyEditSet(host, *plan);
  EXPECT_TRUE(applied.has_value()) << applied.error().ToString();
  auto again = MakeCmdlineFixer()->Plan(host, IommuPt());
  EXPECT_TRUE(again.has_value()) << again.error().ToString();
  if (again) {
    EXPECT_TRUE(EffectiveEdits(*again).empty())
        << "second plan not empty for " << path << ":\n"
        << (EffectiveEdits(*again).empty() ? "" : *EffectiveEdits(*again)[0]->after);
  }
  return t.Get(path);
}

TEST(CmdlineEdges, GrubValueWithAnUnclosedQuoteIsRefusedAtTheQuotesLine) {
  struct Case {
    std::string grub;
    int line;
  };
  for (const Case& c : {
           Case{"GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT='quiet \"splash'\n", 2},
           Case{"GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\n  splash \\\"x=1\n"
                "  nomodeset\"\nGRUB_TIMEOUT=5\n",
                3},
           Case{"GRUB_CMDLINE_LINUX='root=/dev/sda1 \"'\nGRUB_CMDLINE_LINUX_DEFAULT=quiet\n", 1},
       }) {
    Tree t;
    t.Put("/etc/default/grub", c.grub);
    auto plan = MakeCmdlineFixer()->Plan(t.host(), IommuPt());
    ASSERT_FALSE(plan.has_value()) << c.grub << "\nplanned:\n"
                                   << (plan->edits.empty() ? "" : *plan->edits[0].after);
    EXPECT_EQ(plan.error().path, "/etc/default/grub");
    EXPECT_EQ(plan.error().line, c.line) << plan.error().ToString();
    EXPECT_THAT(plan.error().message, HasSubstr("double quote that is never closed"));
    EXPECT_EQ(t.Get("/etc/default/grub"), c.grub);
  }
}

TEST(CmdlineEdges, GrubOptionsGoBeforeInitsArguments) {
  Tree t;
  t.Put("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet -- single\"\n");
  EXPECT_EQ(ApplyAndReplan(t, "/etc/default/grub"),
            "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt -- single\"\n");
}

// GRUB writes GRUB_CMDLINE_LINUX_DEFAULT after GRUB_CMDLINE_LINUX: a "--" in the latter
// sends the former (and whatever is added there) to init. Refused at the "--"'s line.
TEST(CmdlineEdges, GrubDashDashBeforeTheDefaultOptionsIsRefused) {
  Tree t;
  const std::string grub =
      "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=\"root=/dev/sda1\n  -- single\"\n"
      "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n";
  t.Put("/etc/default/grub", grub);
  auto plan = MakeCmdlineFixer()->Plan(t.host(), IommuPt());
  ASSERT_FALSE(plan.has_value()) << (plan->edits.empty() ? "" : *plan->edits[0].after);
  EXPECT_EQ(plan.error().ToString().substr(0, 20), "/etc/default/grub:3:");
  EXPECT_THAT(plan.error().message, HasSubstr("GRUB_CMDLINE_LINUX holds \"--\""));
  EXPECT_EQ(t.Get("/etc/default/grub"), grub);
}

TEST(CmdlineEdges, KernelCmdlineFileOptionsGoWhereTheKernelReadsThem) {
  for (auto [before, after] : {
           std::pair{"root=/dev/sda1 quiet -- single\n",
                     "root=/dev/sda1 quiet iommu=pt -- single\n"},
           std::pair{"root=/dev/sda1 -- iommu=pt\n", "root=/dev/sda1 iommu=pt -- iommu=pt\n"},
           std::pair{"--\n", "iommu=pt --\n"},
           std::pair{"quiet \"splash x\n", "quiet iommu=pt \"splash x\n"},
           std::pair{"quiet iommu=pt\n", "quiet iommu=pt\n"},
       }) {
    Tree t;
    t.Put("/etc/kernel/cmdline", before);
    EXPECT_EQ(ApplyAndReplan(t, "/etc/kernel/cmdline"), after) << before;
  }
}

}  // namespace
}  // namespace vmprep
