// XorgConf on the corpus xorg.conf files: structure, BusID parsing, and edits
// that change one line.
#include "formats/xorg_conf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/formats/corpus_files.h"

namespace vmprep {
namespace {

using formats_test::CorpusDir;
using formats_test::ReadWholeFile;
using ::testing::ElementsAre;

std::string Corpus(std::string_view rel) { return ReadWholeFile(CorpusDir() / rel); }

TEST(XorgBusId, DecimalFromLspciNumbers) {
  // lspci 0000:0a:00.1 -> bus 0x0a = 10.
  EXPECT_EQ(BusIdFromPci(0x0a, 0x00, 1), "PCI:10:0:1");
  EXPECT_EQ(BusIdFromPci(0x6b, 0, 0), "PCI:107:0:0");
  EXPECT_EQ(BusIdFromPci(1, 0, 0, 1), "PCI:1@1:0:0");
  EXPECT_EQ(ParseBusId("PCI:1:0:0"), (PciBusId{0, 1, 0, 0}));
  EXPECT_EQ(ParseBusId("PCI:1@0:0:0"), (PciBusId{0, 1, 0, 0}));
  EXPECT_EQ(ParseBusId("PCI:3@2:31:7"), (PciBusId{2, 3, 31, 7}));
  EXPECT_EQ(ParseBusId("pci:107:0:0"), (PciBusId{0, 107, 0, 0}));
  EXPECT_EQ(ParseBusId("PCI:01:00:0"), (PciBusId{0, 1, 0, 0}));
  // lspci notation and hex are what users paste by mistake.
  EXPECT_THAT(ParseBusId("PCI:00:02.0").error(),
              ::testing::HasSubstr("expected PCI:bus:device:function"));
  EXPECT_FALSE(ParseBusId("PCI:0a:00:0").has_value());
  EXPECT_FALSE(ParseBusId("PCI:1:32:0").has_value());
  EXPECT_FALSE(ParseBusId("PCI:1:0").has_value());
  // Every BusID in the corpus that is not commented out parses.
  int seen = 0;
  for (const auto* cf : formats_test::CorpusFilesOf(formats_test::Format::kXorg)) {
    auto c = XorgConf::Parse(Corpus(cf->path), cf->path);
    if (!c) continue;
    for (const XorgSection& s : c->sections())
      if (auto bus = s.First("BusID")) {
        EXPECT_TRUE(ParseBusId(*bus).has_value()) << cf->path << " " << *bus;
        ++seen;
      }
  }
  EXPECT_GE(seen, 20);
}

TEST(XorgParse, SectionsAndOptions) {
  auto c = XorgConf::Parse(Corpus("xorg/user-darrynlowe_nvidia-plus-ignored-amd_xorg.conf"), "x");
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  std::vector<std::string> names;
  for (const auto& s : c->sections()) names.push_back(s.name);
  ASSERT_THAT(names, ElementsAre("Files", "ServerFlags", "Monitor", "Screen", "Device", "Device",
                                 "InputClass"));
  const XorgSection& nvidia = c->sections()[4];
  EXPECT_EQ(nvidia.Identifier(), "Device0");
  EXPECT_EQ(nvidia.First("busid"), "PCI:1:0:0");
  // Trailing comment and a tab between keyword and value.
  EXPECT_EQ(nvidia.Option("UseDisplayDevice"), "DFP-2");
  EXPECT_EQ(nvidia.Option("primary_gpu"), "yes");
  EXPECT_THAT(*nvidia.Option("ModeValidation"), ::testing::StartsWith("NoMaxPClkCheck"));
  EXPECT_EQ(c->sections()[5].Identifier(), "IgnoreGPU1");
  EXPECT_EQ(c->sections()[5].Option("Ignore"), "True");
  // Screen's SubSection "Display" entries are not Screen entries.
  EXPECT_FALSE(c->sections()[3].First("Depth").has_value());
  EXPECT_EQ(c->sections()[3].First("DefaultDepth"), "24");
}

TEST(XorgParse, RefusesWhatXorgRejects) {
  auto broken =
      XorgConf::Parse(Corpus("xorg/laptop_user-akoidan_msi-gs40_optimus_xorg.conf.nvidia"), "x");
  ASSERT_FALSE(broken.has_value());
  EXPECT_EQ(broken.error().line, 65);
  EXPECT_THAT(broken.error().message, ::testing::HasSubstr("'ection'"));
  EXPECT_FALSE(XorgConf::Parse("Section \"Device\"\n", "x").has_value());
  EXPECT_FALSE(XorgConf::Parse("EndSection\n", "x").has_value());
  EXPECT_FALSE(XorgConf::Parse("Section \"A\"\n Option \"x\n", "x").has_value());
  EXPECT_FALSE(XorgConf::Parse("Section \"A\"\nSubSection \"B\"\nEndSection\n", "x").has_value());
}

void CheckEdit(std::string_view rel,
               const std::function<std::expected<bool, Error>(XorgConf&)>& edit,
               const std::vector<std::string>& expected_diff) {
  SCOPED_TRACE(std::string(rel));
  std::string before = Corpus(rel);
  auto c = XorgConf::Parse(before, rel);
  ASSERT_TRUE(c.has_value());
  auto changed = edit(*c);
  ASSERT_TRUE(changed.has_value()) << changed.error().ToString();
  EXPECT_TRUE(*changed);
  std::string after = c->Serialize();
  EXPECT_EQ(formats_test::ChangedLines(before, after), expected_diff);
  auto again = XorgConf::Parse(after, rel);
  ASSERT_TRUE(again.has_value());
  auto second = edit(*again);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(*second);
}

TEST(XorgEdit, IsolateDeviceInServerLayout) {
  std::string bus = BusIdFromPci(0x0a, 0, 0);
  CheckEdit("xorg/arch_user-alkeryn_nvidia-settings_gtx1080ti_xorg.conf",
            [&](XorgConf& c) { return c.SetOption("ServerLayout", "IsolateDevice", bus, false); },
            {"+    Option \"IsolateDevice\" \"PCI:10:0:0\"\n"});
  auto c =
      XorgConf::Parse(Corpus("xorg/arch_user-alkeryn_nvidia-settings_gtx1080ti_xorg.conf"), "x");
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  ASSERT_TRUE(c->SetOption("ServerLayout", "IsolateDevice", bus, false).value_or(false));
  EXPECT_EQ(c->sections()[1].name, "ServerLayout");
  EXPECT_EQ(c->sections()[1].Option("isolate_device"), "PCI:10:0:0");
  // Replacing the value touches only the value.
  ASSERT_TRUE(c->SetOption("ServerLayout", "IsolateDevice", "PCI:1:0:0", false).value_or(false));
  EXPECT_THAT(c->Serialize(), ::testing::HasSubstr("    Option         \"Xinerama\" \"0\"\n"
                                                   "    Option \"IsolateDevice\" \"PCI:1:0:0\"\n"
                                                   "EndSection"));
  // No ServerLayout and not allowed to create one: refused.
  auto d = XorgConf::Parse(Corpus("xorg/arch_user-the-ashh_xorg.conf.d_10-intel.conf"), "x");
  EXPECT_FALSE(d->SetOption("ServerLayout", "IsolateDevice", bus, false).has_value());
  CheckEdit("xorg/arch_user-the-ashh_xorg.conf.d_10-intel.conf",
            [&](XorgConf& c) { return c.SetOption("ServerFlags", "IsolateDevice", bus, true); },
            {"+\n", "+Section \"ServerFlags\"\n", "+    Option \"IsolateDevice\" \"PCI:10:0:0\"\n",
             "+EndSection\n"});
}

TEST(XorgEdit, BusId) {
  CheckEdit("xorg/laptop_user-cleemesser_gigabyte-aero15x_optimus_xorg.conf",
            [](XorgConf& c) { return c.SetBusId("nvidia", "PCI:2@0:0:0"); },
            {"-    BusID \"PCI:1@0:0:0\"\n", "+    BusID \"PCI:2@0:0:0\"\n"});
  // No BusID yet: inserted after the Identifier line with its indentation.
  CheckEdit("xorg/user-darrynlowe_nvidia-plus-ignored-amd_xorg.conf",
            [](XorgConf& c) { return c.SetBusId("IgnoreGPU1", "PCI:107:0:1"); },
            {"-    BusID          \"PCI:107:0:0\"\n", "+    BusID          \"PCI:107:0:1\"\n"});
  auto c = XorgConf::Parse(
      "Section \"Device\"\n\tIdentifier \"gpu\"\n\tDriver "
      "\"nvidia\"\nEndSection\n",
      "x");
  ASSERT_TRUE(c->SetBusId("GPU", "PCI:1:0:0").value_or(false));
  EXPECT_EQ(c->Serialize(),
            "Section \"Device\"\n\tIdentifier \"gpu\"\n\tBusID \"PCI:1:0:0\"\n"
            "\tDriver \"nvidia\"\nEndSection\n");
  EXPECT_FALSE(c->SetBusId("gpu", "PCI:01:00.0").has_value());
  EXPECT_FALSE(c->SetBusId("missing", "PCI:1:0:0").has_value());
}

}  // namespace
}  // namespace vmprep
