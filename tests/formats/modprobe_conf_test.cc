// ModprobeConf against kmod itself: for every corpus modprobe.d file,
// `modprobe -C <dir holding only that file> --showconfig` must print exactly
// the commands we parsed; edits are re-read by kmod the same way.
#include "formats/modprobe_conf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/formats/corpus_files.h"

namespace vmprep {
namespace {

using formats_test::CorpusDir;
using formats_test::ReadWholeFile;
using ::testing::ElementsAre;

std::vector<std::string> ShowConfigLines(const std::filesystem::path& dir) {
  int status = 0;
  std::string out = formats_test::RunCapture(
      "PATH=/usr/sbin:/sbin:$PATH modprobe -C '" + dir.string() + "' --showconfig 2>/dev/null",
      &status);
  EXPECT_EQ(status, 0);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < out.size()) {
    size_t nl = out.find('\n', start);
    if (nl == std::string::npos) nl = out.size();
    std::string line = out.substr(start, nl - start);
    start = nl + 1;
    if (line.starts_with("# End of configuration files")) break;
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// What kmod prints for one file: its showconfig minus what it prints for an
// empty directory (kmod also reports module options from /proc/cmdline).
std::vector<std::string> KmodView(std::string_view name, std::string_view text) {
  auto empty = formats_test::FreshDir("modprobe-empty");
  std::vector<std::string> baseline = ShowConfigLines(empty);
  auto dir = formats_test::FreshDir("modprobe-one");
  formats_test::WriteWholeFile(dir / (std::string(name) + ".conf"), text);
  std::vector<std::string> lines = ShowConfigLines(dir);
  for (const std::string& b : baseline) {
    auto it = std::find(lines.begin(), lines.end(), b);
    if (it != lines.end()) lines.erase(it);
  }
  return lines;
}

// Our parse printed in kmod's showconfig order and format.
std::vector<std::string> OurView(const ModprobeConf& c) {
  std::vector<std::string> out;
  for (const char* kind : {"blacklist", "install", "remove", "alias", "options", "softdep"}) {
    for (const ModprobeRecord& r : c.records()) {
      if (r.command != kind) continue;
      if (r.command == "blacklist") {
        out.push_back("blacklist " + r.module);
      } else if (r.command == "alias") {
        out.push_back("alias " + r.module + " " + r.target);
      } else if (r.command == "softdep") {
        auto sd = c.Softdep(r.module);
        // kmod prints every softdep line; recompute this line's lists.
        auto one = ModprobeConf::Parse("softdep x " + r.rest + "\n", "x");
        auto lists = one->Softdep("x");
        std::string line = "softdep " + r.module;
        if (!lists->pre.empty()) {
          line += " pre:";
          for (const auto& p : lists->pre) line += " " + p;
        }
        if (!lists->post.empty()) {
          // kmod prints "post:" without a space after a pre: list.
          line += lists->pre.empty() ? " post:" : "post:";
          for (const auto& p : lists->post) line += " " + p;
        }
        out.push_back(line);
      } else {
        out.push_back(r.command + " " + r.module + " " + r.rest);
      }
    }
  }
  return out;
}

TEST(ModprobeCorpus, MatchesKmodShowconfig) {
  int files = 0;
  for (const auto* cf : formats_test::CorpusFilesOf(formats_test::Format::kModprobe)) {
    SCOPED_TRACE(std::string(cf->path));
    std::string text = ReadWholeFile(CorpusDir() / cf->path);
    auto conf = ModprobeConf::Parse(text, cf->path);
    ASSERT_TRUE(conf.has_value()) << conf.error().ToString();
    EXPECT_EQ(conf->Serialize(), text);
    EXPECT_EQ(OurView(*conf), KmodView("one", text));
    ++files;
  }
  EXPECT_GT(files, 50);
}

TEST(ModprobeParse, KmodLineRules) {
  const std::string text =
      "options foo-bar a=1\\\n b=2 \"c=d e\"\t f\n"
      "  # indented comment: kmod rejects the line, nothing applies\n"
      "options bluetooth disable_ertm=1 #xbox\n"
      "options k4\n"
      "softdep a-b pre: x-y  z post: q\n"
      "softdep a-b pre: ignored\n"
      "blacklist  nouveau  extra\n"
      "alias pci:v00001002d000067DF* vfio-pci\n"
      "install vfio-pci /usr/bin/true\n"
      "options vfio_pci ids=1:2\n"
      "options vfio-pci ids=3:4 disable-vga=1";
  auto c = ModprobeConf::Parse(text, "t.conf");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->Serialize(), text);
  EXPECT_EQ(OurView(*c), KmodView("t", text));
  EXPECT_THAT(c->OptionTexts("foo_bar"), ElementsAre("a=1 b=2 \"c=d e\"  f"));
  EXPECT_EQ(c->Param("foo-bar", "c"), "d e");
  EXPECT_EQ(c->Param("vfio-pci", "ids"), "3:4");  // the last one wins
  EXPECT_EQ(c->Param("vfio_pci", "disable_vga"), "1");
  EXPECT_EQ(c->Softdep("a_b")->pre, (std::vector<std::string>{"x-y", "z"}));
  EXPECT_TRUE(c->IsBlacklisted("nouveau"));
  EXPECT_EQ(c->InstallCommand("vfio_pci"), "/usr/bin/true");
  EXPECT_THAT(c->ignored_lines(), ElementsAre(3, 5));
}

// Applies `edit`, checks that only `expected_diff` lines changed, that kmod
// reads `want` back, and that doing it again changes nothing.
void CheckEdit(std::string_view rel,
               const std::function<std::expected<bool, Error>(ModprobeConf&)>& edit,
               const std::vector<std::string>& expected_diff, const std::string& want_line) {
  SCOPED_TRACE(std::string(rel));
  std::string before = ReadWholeFile(CorpusDir() / rel);
  auto c = ModprobeConf::Parse(before, rel);
  ASSERT_TRUE(c.has_value());
  auto changed = edit(*c);
  ASSERT_TRUE(changed.has_value()) << changed.error().ToString();
  EXPECT_TRUE(*changed);
  std::string after = c->Serialize();
  EXPECT_EQ(formats_test::ChangedLines(before, after), expected_diff);
  std::vector<std::string> kmod = KmodView("edited", after);
  EXPECT_THAT(kmod, ::testing::Contains(want_line));
  EXPECT_EQ(OurView(*c), kmod);
  auto again = ModprobeConf::Parse(after, rel);
  auto second = edit(*again);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(*second);
  EXPECT_EQ(again->Serialize(), after);
}

TEST(ModprobeEdit, MergeIdsIntoExistingLine) {
  auto merge = [](ModprobeConf& c) {
    return c.MergeListParam("vfio-pci", "ids", {"10de:1B80", "1002:1234"});
  };
  CheckEdit("modprobe/user-danrichardson_modprobe.d_vfio.conf", merge,
            {"-options vfio-pci ids=1002:67df,1002:aaf0,10de:1b80,10de:10f0\n",
             "+options vfio-pci ids=1002:67df,1002:aaf0,10de:1b80,10de:10f0,"
             "1002:1234\n"},
            "options vfio_pci ids=1002:67df,1002:aaf0,10de:1b80,10de:10f0,"
            "1002:1234");
  // Several ids= lines: only the last is effective, so that is the one merged.
  CheckEdit("modprobe/user-andrei-paul_modprobe.d_passthrough.conf", merge,
            {"-options vfio-pci ids=8086:3a38,8086:3a39\n",
             "+options vfio-pci ids=8086:3a38,8086:3a39,10de:1B80,1002:1234\n"},
            "options vfio_pci ids=8086:3a38,8086:3a39,10de:1B80,1002:1234");
  // No options for vfio-pci yet: a new line at the end.
  CheckEdit("modprobe/bazzite_user-iubayb_modprobe.d_vfio.conf_dynamic", merge,
            {"+options vfio-pci ids=10de:1B80,1002:1234\n"},
            "options vfio_pci ids=10de:1B80,1002:1234");
  // ids given as the wrong parameter "vfio-pci.ids": a real ids= is added to
  // that line, the wrong one is left for the probe to report.
  CheckEdit("modprobe/user-madhavpcm_modprobe.d_vfio.conf_wrong-param", merge,
            {"-options vfio-pci vfio-pci.ids=1002:731f,1002:ab38\n",
             "+options vfio-pci vfio-pci.ids=1002:731f,1002:ab38 "
             "ids=10de:1B80,1002:1234\n"},
            "options vfio_pci vfio-pci.ids=1002:731f,1002:ab38 "
            "ids=10de:1B80,1002:1234");
}

TEST(ModprobeEdit, SetParamAndSoftdep) {
  CheckEdit(
      "modprobe/user-dstait_modprobe.d_vfio.conf",
      [](ModprobeConf& c) { return c.SetParam("vfio_pci", "disable_vga", "0"); },
      {"-options vfio-pci ids=10de:1be1,10de:10f0,144d:a809 disable_vga=1\n",
       "+options vfio-pci ids=10de:1be1,10de:10f0,144d:a809 disable_vga=0\n"},
      "options vfio_pci ids=10de:1be1,10de:10f0,144d:a809 disable_vga=0");
  // The file has no final newline: one is added before the new line.
  CheckEdit(
      "modprobe/user-dstait_modprobe.d_vfio.conf",
      [](ModprobeConf& c) { return c.AddSoftdepPre("amdgpu", "vfio-pci"); },
      {"-softdep nvme pre: vfio-pci", "+softdep nvme pre: vfio-pci\n",
       "+softdep amdgpu pre: vfio-pci\n"},
      "softdep amdgpu pre: vfio-pci");
  CheckEdit(
      "modprobe/debian-12_kmod_30_lib-modprobe.d-aliases.conf",
      [](ModprobeConf& c) { return c.AddSoftdepPre("uhci_hcd", "vfio_pci"); },
      {"-softdep uhci-hcd pre: ehci-hcd\n", "+softdep uhci-hcd pre: ehci-hcd vfio_pci\n"},
      "softdep uhci_hcd pre: ehci-hcd vfio_pci");
  auto c = ModprobeConf::Parse("softdep nouveau post: foo\n", "t");
  ASSERT_TRUE(c->AddSoftdepPre("nouveau", "vfio-pci").value_or(false));
  EXPECT_EQ(c->Serialize(), "softdep nouveau pre: vfio-pci post: foo\n");
  // Already there (as vfio_pci): nothing to do.
  auto d = ModprobeConf::Parse(
      ReadWholeFile(CorpusDir() / "modprobe/user-3xx0_modprobe.d_vfio.conf"), "t");
  EXPECT_FALSE(d->AddSoftdepPre("nouveau", "vfio_pci").value_or(true));
}

// Every corpus modprobe.d file: merge vfio-pci ids and add a softdep; kmod
// must read back the merged list and the softdep, with everything else as
// before, and a second edit must change nothing.
TEST(ModprobeEdit, CorpusSweep) {
  int edits = 0;
  for (const auto* cf : formats_test::CorpusFilesOf(formats_test::Format::kModprobe)) {
    SCOPED_TRACE(std::string(cf->path));
    std::string original = ReadWholeFile(CorpusDir() / cf->path);
    auto c = ModprobeConf::Parse(original, cf->path);
    ASSERT_TRUE(c.has_value());
    std::vector<std::string> before = OurView(*c);
    auto old_ids = c->Param("vfio_pci", "ids");
    ASSERT_TRUE(c->MergeListParam("vfio-pci", "ids", {"abcd:0001"}).value_or(false));
    ASSERT_TRUE(c->AddSoftdepPre("amdgpu", "vfio-pci").has_value());
    std::string edited = c->Serialize();
    std::vector<std::string> kmod = KmodView("edited", edited);
    EXPECT_EQ(OurView(*c), kmod);
    std::string want_ids = old_ids ? *old_ids + ",abcd:0001" : "abcd:0001";
    EXPECT_EQ(c->Param("vfio-pci", "ids"), want_ids);
    bool ids_seen = false;
    for (const auto& line : kmod)
      ids_seen = ids_seen || (line.starts_with("options vfio_pci ") &&
                              line.find("ids=" + want_ids) != std::string::npos);
    EXPECT_TRUE(ids_seen);
    auto sd = c->Softdep("amdgpu");
    ASSERT_TRUE(sd.has_value());
    EXPECT_THAT(sd->pre, ::testing::Contains(::testing::AnyOf("vfio-pci", "vfio_pci")));
    // Lines for other modules are untouched.
    for (const auto& line : before) {
      if (line.find("vfio_pci") == std::string::npos && line.find("amdgpu") == std::string::npos) {
        EXPECT_THAT(kmod, ::testing::Contains(line));
      }
    }
    EXPECT_FALSE(c->MergeListParam("vfio-pci", "ids", {"ABCD:0001"}).value_or(true));
    EXPECT_FALSE(c->AddSoftdepPre("amdgpu", "vfio_pci").value_or(true));
    // At most: the ids line (-/+), the new softdep line (+), and the last line
    // gaining its missing newline (-/+).
    size_t allowed = 3 + (!original.empty() && original.back() != '\n' ? 2 : 0);
    EXPECT_LE(formats_test::ChangedLines(original, edited).size(), allowed)
        << ::testing::PrintToString(formats_test::ChangedLines(original, edited));
    ++edits;
  }
  EXPECT_GT(edits, 50);
}

TEST(ModprobeEdit, CrlfLineKeptAsKmodSeesItAndRefused) {
  const std::string text = "options vfio-pci ids=1:2\r\n";
  auto c = ModprobeConf::Parse(text, "t.conf");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->Serialize(), text);
  EXPECT_EQ(OurView(*c), KmodView("crlf", text));
  EXPECT_EQ(c->Param("vfio_pci", "ids"), "1:2\r");
  EXPECT_FALSE(c->MergeListParam("vfio-pci", "ids", {"3:4"}).has_value());
  EXPECT_EQ(c->Serialize(), text);
}

TEST(ModprobeEdit, RefusesEscapedToken) {
  auto c = ModprobeConf::Parse("options vfio-pci ids=1:\\2\n", "t.conf");
  auto r = c->SetParam("vfio-pci", "ids", "3:4");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().line, 1);
  EXPECT_EQ(c->Serialize(), "options vfio-pci ids=1:\\2\n");
}

}  // namespace
}  // namespace vmprep
