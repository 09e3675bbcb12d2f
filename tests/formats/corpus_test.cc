// Every corpus file in the directories the format layer owns is either parsed
// and serialized back byte for byte, or listed in corpus_files.h with the
// reason it is not handled (or refused).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "formats/cmdline.h"
#include "formats/modprobe_conf.h"
#include "formats/shell_vars.h"
#include "formats/xorg_conf.h"
#include "tests/formats/corpus_files.h"

namespace vmprep {
namespace {

using formats_test::CorpusDir;
using formats_test::CorpusTable;
using formats_test::Format;
using formats_test::ReadWholeFile;

// Files a parser refuses as a whole, with the reason. Keep this short.
const std::map<std::string_view, std::string_view> kRefusedFiles = {
    {"xorg/laptop_user-akoidan_msi-gs40_optimus_xorg.conf.nvidia",
     "line 65 reads 'ection \"Screen\"' (a lost 'S'): Xorg rejects a keyword "
     "outside a Section, so editing this file cannot be made safe"},
};

TEST(FormatsCorpus, EveryFileIsAccountedFor) {
  std::set<std::string> listed;
  for (const auto& f : CorpusTable()) {
    EXPECT_TRUE(listed.insert(std::string(f.path)).second) << "twice: " << f.path;
    EXPECT_TRUE(std::filesystem::is_regular_file(CorpusDir() / f.path))
        << "listed but missing: " << f.path;
    if (f.format == Format::kNotHandled) {
      EXPECT_FALSE(f.why_not.empty()) << f.path;
    }
  }
  int seen = 0;
  for (std::string_view dir : formats_test::kCorpusDirs) {
    ASSERT_TRUE(std::filesystem::is_directory(CorpusDir() / dir)) << dir;
    for (const auto& entry : std::filesystem::directory_iterator(CorpusDir() / dir)) {
      std::string rel = std::string(dir) + "/" + entry.path().filename().string();
      EXPECT_TRUE(listed.contains(rel))
          << rel
          << " is new in the corpus: add it to tests/formats/corpus_files.h "
             "with its parser or the reason it is not handled";
      ++seen;
    }
  }
  EXPECT_EQ(seen, static_cast<int>(listed.size()));
}

TEST(FormatsCorpus, RoundTripIsByteIdentical) {
  int parsed = 0, handled = 0;
  for (const auto& f : CorpusTable()) {
    if (f.format == Format::kNotHandled) continue;
    ++handled;
    SCOPED_TRACE(std::string(f.path));
    std::string text = ReadWholeFile(CorpusDir() / f.path);
    std::expected<std::string, Error> out;
    switch (f.format) {
      case Format::kShellVars: {
        auto p = ShellVarsFile::Parse(text, f.path);
        if (p)
          out = p->Serialize();
        else
          out = std::unexpected(p.error());
        break;
      }
      case Format::kModprobe: {
        auto p = ModprobeConf::Parse(text, f.path);
        if (p)
          out = p->Serialize();
        else
          out = std::unexpected(p.error());
        break;
      }
      case Format::kXorg: {
        auto p = XorgConf::Parse(text, f.path);
        if (p)
          out = p->Serialize();
        else
          out = std::unexpected(p.error());
        break;
      }
      case Format::kCmdline:
        out = Cmdline(text).text();
        break;
      case Format::kNotHandled:
        break;
    }
    auto refused = kRefusedFiles.find(f.path);
    if (refused != kRefusedFiles.end()) {
      EXPECT_FALSE(out.has_value()) << "expected refusal: " << refused->second;
      continue;
    }
    ASSERT_TRUE(out.has_value()) << out.error().ToString();
    EXPECT_EQ(*out, text);
    ++parsed;
  }
  EXPECT_EQ(parsed, handled - static_cast<int>(kRefusedFiles.size()));
  EXPECT_GT(parsed, 130);
}

}  // namespace
}  // namespace vmprep
