// Cmdline: kernel next_arg() splitting, key equivalence, and token edits that
// keep every other byte, on command lines from the corpus.
#include "formats/cmdline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "formats/shell_vars.h"
#include "tests/formats/corpus_files.h"

namespace vmprep {
namespace {

using formats_test::CorpusDir;
using formats_test::ReadWholeFile;
using ::testing::ElementsAre;

TEST(Cmdline, SplitsLikeTheKernel) {
  Cmdline c("  quiet acpi_osi=\"!Windows 2012\"\tvfio-pci.ids=a,b \"x=y z\"\n");
  EXPECT_THAT(c.Tokens(),
              ElementsAre("quiet", "acpi_osi=\"!Windows 2012\"", "vfio-pci.ids=a,b", "\"x=y z\""));
  EXPECT_EQ(c.Get("acpi_osi"), "!Windows 2012");
  EXPECT_EQ(c.Get("x"), "y z");
  EXPECT_EQ(CmdlineKey("vfio-pci.ids=1"), "vfio_pci.ids");
  EXPECT_EQ(CmdlineKey("vfio_pci.ids"), "vfio_pci.ids");
  EXPECT_EQ(CmdlineKey("kvm-intel.nested=1"), "kvm_intel.nested");
  // Core parameters are matched exactly by __setup().
  EXPECT_NE(CmdlineKey("intel-iommu=on"), CmdlineKey("intel_iommu=on"));
  EXPECT_TRUE(c.Has("vfio_pci.ids"));
  EXPECT_FALSE(c.Has("vfio"));
  EXPECT_FALSE(CmdlineHasValue("quiet"));
}

TEST(Cmdline, EditsKeepSpacing) {
  Cmdline c("quiet  iommu=pt iommu=1 vfio-pci.ids=a,b  splash ");
  EXPECT_FALSE(c.MergeList("vfio_pci.ids", {"b", "a"}));
  EXPECT_TRUE(c.MergeList("vfio_pci.ids", {"c", "a", "c"}));
  EXPECT_EQ(c.text(), "quiet  iommu=pt iommu=1 vfio-pci.ids=a,b,c  splash ");
  EXPECT_TRUE(c.Set("iommu=pt"));  // drops the later duplicate
  EXPECT_EQ(c.text(), "quiet  iommu=pt vfio-pci.ids=a,b,c  splash ");
  EXPECT_FALSE(c.Set("iommu=pt"));
  EXPECT_TRUE(c.Set("intel_iommu=on"));
  EXPECT_EQ(c.text(), "quiet  iommu=pt vfio-pci.ids=a,b,c  splash intel_iommu=on ");
  EXPECT_TRUE(c.Remove("quiet"));
  EXPECT_EQ(c.text(), "iommu=pt vfio-pci.ids=a,b,c  splash intel_iommu=on ");
  EXPECT_TRUE(c.Remove("splash"));
  EXPECT_EQ(c.text(), "iommu=pt vfio-pci.ids=a,b,c intel_iommu=on ");
  Cmdline empty(" ");
  EXPECT_TRUE(empty.MergeList("vfio-pci.ids", {"10de:1b80", "10de:1b80"}));
  EXPECT_EQ(empty.text(), " vfio-pci.ids=10de:1b80");
}

// The kernel stops reading parameters at a bare "--" (the rest is init's) and at a double
// quote that is never closed (the rest is one word). Those words are never found, changed or
// removed as parameters, and new ones go before them; Tokens() still lists every word.
TEST(Cmdline, WhatTheKernelDoesNotReadIsLeftAlone) {
  Cmdline c("quiet iommu=1 -- iommu=pt single");
  EXPECT_EQ(c.End(), Cmdline::EndKind::kDashDash);
  EXPECT_THAT(c.Tokens(), ElementsAre("quiet", "iommu=1", "--", "iommu=pt", "single"));
  EXPECT_THAT(c.KernelTokens(), ElementsAre("quiet", "iommu=1"));
  EXPECT_EQ(c.Get("iommu"), "1");
  EXPECT_FALSE(c.Has("single"));
  EXPECT_TRUE(c.Set("iommu=pt"));
  EXPECT_EQ(c.text(), "quiet iommu=pt -- iommu=pt single");
  EXPECT_TRUE(c.Set("intel_iommu=on"));
  EXPECT_EQ(c.text(), "quiet iommu=pt intel_iommu=on -- iommu=pt single");
  EXPECT_TRUE(c.MergeList("vfio-pci.ids", {"10de:1b80"}));
  EXPECT_EQ(c.text(), "quiet iommu=pt intel_iommu=on vfio-pci.ids=10de:1b80 -- iommu=pt single");
  EXPECT_FALSE(c.Remove("single"));
  EXPECT_TRUE(c.Remove("iommu"));
  EXPECT_EQ(c.text(), "quiet intel_iommu=on vfio-pci.ids=10de:1b80 -- iommu=pt single");

  Cmdline q("quiet \"splash iommu=pt");
  EXPECT_EQ(q.End(), Cmdline::EndKind::kUnclosedQuote);
  EXPECT_EQ(q.EndOffset(), 6u);
  EXPECT_FALSE(q.Has("iommu"));
  EXPECT_TRUE(q.Set("iommu=pt"));
  EXPECT_EQ(q.text(), "quiet iommu=pt \"splash iommu=pt");
  EXPECT_FALSE(q.Set("iommu=pt"));

  Cmdline only("--");
  EXPECT_TRUE(only.Set("iommu=pt"));
  EXPECT_EQ(only.text(), "iommu=pt --");
  // Not a bare "--": a parameter like any other; a quoted "--" is one for the kernel too.
  EXPECT_EQ(Cmdline("a --x b").End(), Cmdline::EndKind::kNone);
  EXPECT_EQ(Cmdline("a --=1 b").End(), Cmdline::EndKind::kNone);
  EXPECT_EQ(Cmdline("a \"--\" b").End(), Cmdline::EndKind::kDashDash);
  EXPECT_EQ(Cmdline("a \"b c\" d").End(), Cmdline::EndKind::kNone);
}

// Command lines from the corpus: GRUB variables, loader entry options, the
// efistub file and cmdline.d. Merging vfio-pci ids into each and reading it
// back gives the union, no other token changes, and a second merge is a no-op.
TEST(Cmdline, CorpusCommandLines) {
  std::vector<std::string> lines;
  for (const auto* cf : formats_test::CorpusFilesOf(formats_test::Format::kShellVars)) {
    auto f = ShellVarsFile::Parse(ReadWholeFile(CorpusDir() / cf->path), cf->path);
    ASSERT_TRUE(f.has_value());
    for (const char* name : {"GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT"})
      if (auto v = f->Value(name)) lines.push_back(*v);
  }
  for (const auto* cf : formats_test::CorpusFilesOf(formats_test::Format::kCmdline))
    lines.push_back(ReadWholeFile(CorpusDir() / cf->path));
  for (const char* entry : {"systemd-boot/arch_user-droserasprout_loader-entries_arch-lts.conf",
                            "systemd-boot/cachyos_user-ozzyhelix_loader-entries_cachyos.conf"}) {
    std::string text = ReadWholeFile(CorpusDir() / entry);
    size_t at = text.find("\noptions");
    ASSERT_NE(at, std::string::npos);
    size_t end = text.find('\n', at + 1);
    lines.push_back(text.substr(at + 9, end - at - 9));
  }
  ASSERT_GT(lines.size(), 60u);
  int with_ids = 0;
  for (const std::string& line : lines) {
    SCOPED_TRACE(line);
    Cmdline c(line);
    EXPECT_EQ(c.text(), line);
    std::vector<std::string> before = c.Tokens();
    std::vector<std::string> old_ids = SplitCommaList(c.Get("vfio-pci.ids"));
    with_ids += !old_ids.empty();
    EXPECT_TRUE(c.MergeList("vfio_pci.ids", {"10de:1b80", "10de:10f0"}) || old_ids.size() >= 2);
    std::vector<std::string> ids = SplitCommaList(c.Get("vfio-pci.ids"));
    for (const char* want : {"10de:1b80", "10de:10f0"}) EXPECT_THAT(ids, ::testing::Contains(want));
    for (const std::string& id : old_ids) EXPECT_THAT(ids, ::testing::Contains(id));
    std::vector<std::string> after = c.Tokens();
    size_t changed = 0;
    for (const auto& t : after)
      if (std::find(before.begin(), before.end(), t) == before.end()) ++changed;
    EXPECT_LE(changed, 1u);
    std::string once = c.text();
    EXPECT_FALSE(c.MergeList("vfio-pci.ids", {"10de:10f0", "10de:1b80"}));
    EXPECT_EQ(c.text(), once);
  }
  EXPECT_GE(with_ids, 5);
}

}  // namespace
}  // namespace vmprep
