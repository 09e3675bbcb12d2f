// ShellVarsFile against real bash: every corpus shell-variable file is sourced
// by bash and each value we claim to compute must equal bash's; the values we
// refuse must be exactly the expected refusals below. Edits are checked by
// sourcing the edited file again.
#include "formats/shell_vars.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "tests/formats/corpus_files.h"

namespace vmprep {
namespace {

using formats_test::CorpusDir;
using formats_test::CorpusFilesOf;
using formats_test::Format;
using formats_test::ReadWholeFile;
using ::testing::ElementsAre;

// Sources `file` in a clean bash and prints, for every name, the value of
// "$NAME" and the elements of "${NAME[@]}", separated by \x1 / \x2 / \x3.
struct BashVar {
  std::string value;
  std::vector<std::string> elements;
  bool is_array = false;
};
std::map<std::string, BashVar> SourceWithBash(const std::filesystem::path& file,
                                              const std::vector<std::string>& names) {
  const std::string script =
      "set -a\n"
      ". \"$1\" >/dev/null 2>&1 </dev/null\n"
      "shift\n"
      "for n; do\n"
      "  printf '%s\\001' \"${!n}\"\n"
      "  eval 'for e in \"${'\"$n\"'[@]}\"; do printf \"%s\\002\" \"$e\"; "
      "done'\n"
      "  case \"$(declare -p \"$n\" 2>/dev/null)\" in 'declare -a'*) printf "
      "A;; esac\n"
      "  printf '\\003'\n"
      "done\n";
  auto script_file = file.parent_path() / "print-vars.bash";
  formats_test::WriteWholeFile(script_file, script);
  std::string cmd =
      "env -i PATH=/usr/bin:/bin HOME=/nonexistent bash "
      "--norc --noprofile '" +
      script_file.string() + "' '" + file.string() + "'";
  for (const auto& n : names) cmd += " " + n;
  int status = 0;
  std::string out = formats_test::RunCapture(cmd, &status);
  EXPECT_EQ(status, 0) << cmd;
  std::map<std::string, BashVar> result;
  size_t pos = 0;
  for (const auto& n : names) {
    size_t end = out.find('\x03', pos);
    if (end == std::string::npos) break;
    std::string rec = out.substr(pos, end - pos);
    pos = end + 1;
    BashVar v;
    size_t v_end = rec.find('\x01');
    v.value = rec.substr(0, v_end);
    std::string rest = rec.substr(v_end + 1);
    if (!rest.empty() && rest.back() == 'A') {
      v.is_array = true;
      rest.pop_back();
    }
    size_t s = 0;
    for (size_t e; (e = rest.find('\x02', s)) != std::string::npos; s = e + 1)
      v.elements.push_back(rest.substr(s, e - s));
    result[n] = v;
  }
  return result;
}

// Values we refuse to compute: {file ("" = any file), variable, part of the
// message}. Each is an expansion or command bash would run at source time.
struct Refusal {
  std::string_view file, name, reason;
};
const Refusal kExpectedRefusals[] = {
    // Debian/Ubuntu default: `lsb_release -i -s ...` in backquotes.
    {"", "GRUB_DISTRIBUTOR", "backquotes"},
    // Fedora default: $(sed ... /etc/system-release); jimmjam: $(awk ...).
    {"", "GRUB_DISTRIBUTOR", "expansion $("},
    // GRUB_RECORDFAIL_TIMEOUT=$GRUB_TIMEOUT
    {"grub/elementaryos_user-joonaha_grub", "GRUB_RECORDFAIL_TIMEOUT", "expansion $GRUB_TIMEOUT"},
};

TEST(ShellVarsCorpus, ValuesMatchBash) {
  auto tmp = formats_test::FreshDir("shell-bash");
  int compared = 0;
  for (const auto* cf : CorpusFilesOf(Format::kShellVars)) {
    SCOPED_TRACE(std::string(cf->path));
    std::string text = ReadWholeFile(CorpusDir() / cf->path);
    auto file = ShellVarsFile::Parse(text, cf->path);
    ASSERT_TRUE(file.has_value()) << file.error().ToString();
    auto copy = tmp / "sourced";
    formats_test::WriteWholeFile(copy, text);
    std::vector<std::string> names = file->Names();
    auto bash = SourceWithBash(copy, names);
    for (const auto& name : names) {
      SCOPED_TRACE(name);
      auto value = file->Value(name);
      if (!value) {
        bool expected = false;
        for (const Refusal& r : kExpectedRefusals)
          expected = expected || ((r.file.empty() || r.file == cf->path) && r.name == name &&
                                  value.error().message.find(r.reason) != std::string::npos);
        EXPECT_TRUE(expected) << "unexpected refusal: " << value.error().ToString();
        continue;
      }
      ASSERT_TRUE(bash.contains(name));
      EXPECT_EQ(*value, bash[name].value);
      auto is_array = file->IsArray(name);
      ASSERT_TRUE(is_array.has_value());
      EXPECT_EQ(*is_array, bash[name].is_array);
      if (*is_array) {
        EXPECT_EQ(*file->Words(name), bash[name].elements);
      }
      ++compared;
    }
  }
  // Guard against a harness that compares nothing.
  EXPECT_GT(compared, 400);
}

// Every refusal rule above is used by at least one corpus file, so the list
// does not rot.
TEST(ShellVarsCorpus, EveryExpectedRefusalHappens) {
  std::set<size_t> used;
  for (const auto* cf : CorpusFilesOf(Format::kShellVars)) {
    auto file = ShellVarsFile::Parse(ReadWholeFile(CorpusDir() / cf->path), cf->path);
    ASSERT_TRUE(file.has_value());
    for (const auto& name : file->Names()) {
      auto value = file->Value(name);
      if (value) continue;
      for (size_t i = 0; i < std::size(kExpectedRefusals); ++i) {
        const Refusal& r = kExpectedRefusals[i];
        if ((r.file.empty() || r.file == cf->path) && r.name == name &&
            value.error().message.find(r.reason) != std::string::npos)
          used.insert(i);
      }
    }
  }
  EXPECT_EQ(used.size(), std::size(kExpectedRefusals));
}

// Parses `text`, applies `edit`, and checks with bash that `name` then holds
// `want`; that the edit is a no-op the second time; and returns the new text.
std::string EditAndCheck(const std::string& text, const std::string& path, const std::string& name,
                         const std::function<std::expected<bool, Error>(ShellVarsFile&)>& edit,
                         const std::string& want) {
  auto file = ShellVarsFile::Parse(text, path);
  EXPECT_TRUE(file.has_value());
  if (!file) return "";
  auto changed = edit(*file);
  EXPECT_TRUE(changed.has_value()) << changed.error().ToString();
  EXPECT_TRUE(changed.value_or(false));
  std::string out = file->Serialize();
  auto tmp = formats_test::FreshDir("shell-edit");
  formats_test::WriteWholeFile(tmp / "edited", out);
  auto bash = SourceWithBash(tmp / "edited", {name});
  EXPECT_EQ(bash[name].value, want) << out;
  auto again = ShellVarsFile::Parse(out, path);
  EXPECT_TRUE(again.has_value());
  auto second = edit(*again);
  EXPECT_TRUE(second.has_value());
  EXPECT_FALSE(second.value_or(true)) << "second identical edit changed text";
  EXPECT_EQ(again->Serialize(), out);
  return out;
}

std::string Corpus(std::string_view rel) { return ReadWholeFile(CorpusDir() / rel); }

TEST(ShellVarsEdit, GrubCmdlineAppendKeepsEverythingElse) {
  const std::string path = "grub/arch_user-matsto641_grub_trailing-space";
  std::string before = Corpus(path);
  std::string after = EditAndCheck(
      before, path, "GRUB_CMDLINE_LINUX_DEFAULT",
      [](ShellVarsFile& f) {
        return f.SetValue("GRUB_CMDLINE_LINUX_DEFAULT",
                          "loglevel=1  pci=realloc iommu=pt amd_iommu=on "
                          "vfio-pci.ids=1002:67df");
      },
      "loglevel=1  pci=realloc iommu=pt amd_iommu=on vfio-pci.ids=1002:67df");
  EXPECT_THAT(formats_test::ChangedLines(before, after),
              ElementsAre("-GRUB_CMDLINE_LINUX_DEFAULT=\"loglevel=1  pci=realloc "
                          "iommu=pt amd_iommu=on\" \n",
                          "+GRUB_CMDLINE_LINUX_DEFAULT=\"loglevel=1  pci=realloc "
                          "iommu=pt amd_iommu=on vfio-pci.ids=1002:67df\" \n"));
}

TEST(ShellVarsEdit, EscapedQuotesStayEscaped) {
  const std::string path = "grub/arch-2014_user-4e6_grub_escaped-quotes";
  std::string before = Corpus(path);
  auto f = ShellVarsFile::Parse(before, path);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(*f->Value("GRUB_CMDLINE_LINUX_DEFAULT"),
            "quiet elevator=noop acpi_osi=\"!Windows 2012\"");
  std::string after = EditAndCheck(
      before, path, "GRUB_CMDLINE_LINUX_DEFAULT",
      [](ShellVarsFile& f) {
        return f.SetValue("GRUB_CMDLINE_LINUX_DEFAULT",
                          "quiet intel_iommu=on elevator=noop "
                          "acpi_osi=\"!Windows 2012\"");
      },
      "quiet intel_iommu=on elevator=noop acpi_osi=\"!Windows 2012\"");
  EXPECT_THAT(formats_test::ChangedLines(before, after),
              ElementsAre("-GRUB_CMDLINE_LINUX_DEFAULT=\"quiet elevator=noop "
                          "acpi_osi=\\\"!Windows 2012\\\"\"\n",
                          "+GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on "
                          "elevator=noop acpi_osi=\\\"!Windows 2012\\\"\"\n"));
}

TEST(ShellVarsEdit, ContinuationLinesKeptWhenAppending) {
  const std::string path = "grub/arch_user-jimmjam_grub_multiline-continuations";
  std::string before = Corpus(path);
  auto f = ShellVarsFile::Parse(before, path);
  ASSERT_TRUE(f.has_value());
  std::string old = *f->Value("GRUB_CMDLINE_LINUX_DEFAULT");
  std::string after = EditAndCheck(
      before, path, "GRUB_CMDLINE_LINUX_DEFAULT",
      [&](ShellVarsFile& f) {
        return f.AddTokens("GRUB_CMDLINE_LINUX_DEFAULT", {"vfio-pci.ids=10de:13c2"});
      },
      old + " vfio-pci.ids=10de:13c2");
  // Only the last continuation line changes; GRUB_DISTRIBUTOR's $(...) is
  // untouched although we cannot compute it.
  EXPECT_THAT(formats_test::ChangedLines(before, after),
              ElementsAre("-ignore_msrs=1 pcie_acs_override=downstream,"
                          "multifunction pci=noats\"\n",
                          "+ignore_msrs=1 pcie_acs_override=downstream,"
                          "multifunction pci=noats vfio-pci.ids=10de:13c2\"\n"));
}

TEST(ShellVarsEdit, SingleQuotedValueStaysSingleQuoted) {
  const std::string path = "grub/cachyos_user-coolloong_grub_single-quotes";
  std::string before = Corpus(path);
  std::string after = EditAndCheck(
      before, path, "GRUB_CMDLINE_LINUX_DEFAULT",
      [](ShellVarsFile& f) { return f.RemoveTokens("GRUB_CMDLINE_LINUX_DEFAULT", {"quiet"}); },
      "nowatchdog nvme_load=YES zswap.enabled=0 loglevel=0 splash");
  EXPECT_THAT(formats_test::ChangedLines(before, after),
              ElementsAre("-GRUB_CMDLINE_LINUX_DEFAULT='nowatchdog "
                          "nvme_load=YES zswap.enabled=0 loglevel=0 quiet "
                          "splash'\n",
                          "+GRUB_CMDLINE_LINUX_DEFAULT='nowatchdog "
                          "nvme_load=YES zswap.enabled=0 loglevel=0 "
                          "splash'\n"));
}

TEST(ShellVarsEdit, MissingFinalNewlineAndTrailingComment) {
  {
    const std::string path = "grub/proxmox_user-dstait_grub_single-line-no-eol";
    std::string before = Corpus(path);
    ASSERT_NE(before.back(), '\n');
    std::string after = EditAndCheck(
        before, path, "GRUB_CMDLINE_LINUX",
        [](ShellVarsFile& f) { return f.SetValue("GRUB_CMDLINE_LINUX", "iommu=pt"); }, "iommu=pt");
    EXPECT_EQ(after, before + "\nGRUB_CMDLINE_LINUX=\"iommu=pt\"\n");
  }
  {
    const std::string path = "grub/artix_user-dariotd_grub_trailing-comment";
    std::string before = Corpus(path);
    std::string after = EditAndCheck(
        before, path, "GRUB_CMDLINE_LINUX_DEFAULT",
        [](ShellVarsFile& f) {
          return f.AddTokens("GRUB_CMDLINE_LINUX_DEFAULT", {"intel_iommu=on"});
        },
        "loglevel=1 acpi_osi='Windows 2012' sysrq_always_enabled=244 "
        "intel_iommu=on");
    EXPECT_THAT(formats_test::ChangedLines(before, after),
                ElementsAre(::testing::StartsWith("-GRUB_CMDLINE_LINUX_DEFAULT"),
                            "+GRUB_CMDLINE_LINUX_DEFAULT=\"loglevel=1 "
                            "acpi_osi='Windows 2012' sysrq_always_enabled=244 "
                            "intel_iommu=on\" #video=1920x1080\" "
                            "#intel_iommu=on\"\n"));
  }
}

TEST(ShellVarsEdit, RefusalIsPerVariable) {
  const std::string path = "grub/debian-12_grub2-common_2.06-13+deb12u2.grub";
  auto f = ShellVarsFile::Parse(Corpus(path), path);
  ASSERT_TRUE(f.has_value());
  auto distributor = f->SetValue("GRUB_DISTRIBUTOR", "Debian");
  ASSERT_FALSE(distributor.has_value());
  EXPECT_EQ(distributor.error().line, 8);
  EXPECT_THAT(distributor.error().message, ::testing::HasSubstr("backquotes"));
  auto cmdline = f->AddTokens("GRUB_CMDLINE_LINUX_DEFAULT", {"amd_iommu=on"});
  ASSERT_TRUE(cmdline.has_value()) << cmdline.error().ToString();
  EXPECT_TRUE(*cmdline);
  EXPECT_EQ(*f->Value("GRUB_CMDLINE_LINUX_DEFAULT"), "quiet amd_iommu=on");
}

TEST(ShellVarsEdit, MkinitcpioArraysAndStrings) {
  {
    const std::string path = "mkinitcpio/arch_user-danrichardson_mkinitcpio.conf_spaces-in-array";
    std::string before = Corpus(path);
    auto f = ShellVarsFile::Parse(before, path);
    ASSERT_TRUE(f.has_value());
    // vfio-pci is already there as vfio_pci: nothing to do.
    auto same = f->AddTokens("MODULES", {"vfio-pci"}, /*module_names=*/true);
    ASSERT_TRUE(same.has_value());
    EXPECT_FALSE(*same);
    std::string after = EditAndCheck(
        before, path, "MODULES",
        [](ShellVarsFile& f) { return f.RemoveTokens("MODULES", {"vfio_virqfd"}); }, "kvm_amd");
    EXPECT_THAT(formats_test::ChangedLines(before, after),
                ElementsAre("-MODULES=( kvm_amd vfio_pci vfio vfio_iommu_type1 "
                            "vfio_virqfd )\n",
                            "+MODULES=( kvm_amd vfio_pci vfio vfio_iommu_type1 "
                            ")\n"));
  }
  {
    const std::string path = "mkinitcpio/arch_mkinitcpio-v39.2_default.conf";
    std::string before = Corpus(path);
    std::string after = EditAndCheck(
        before, path, "MODULES",
        [](ShellVarsFile& f) {
          return f.AddTokens("MODULES", {"vfio_pci", "vfio", "vfio_iommu_type1"}, true);
        },
        "vfio_pci");
    EXPECT_THAT(formats_test::ChangedLines(before, after),
                ElementsAre("-MODULES=()\n", "+MODULES=(vfio_pci vfio vfio_iommu_type1)\n"));
    auto f = ShellVarsFile::Parse(after, path);
    EXPECT_THAT(*f->Words("MODULES"), ElementsAre("vfio_pci", "vfio", "vfio_iommu_type1"));
  }
  {
    const std::string path = "mkinitcpio/manjaro_user-madhavpcm_mkinitcpio.conf_mixed-syntax";
    std::string before = Corpus(path);
    std::string after = EditAndCheck(
        before, path, "HOOKS",
        [](ShellVarsFile& f) { return f.AddTokens("HOOKS", {"vmprep-vfio"}); },
        "base udev autodetect modconf block keyboard keymap filesystems fsck "
        "vmprep-vfio");
    EXPECT_EQ(formats_test::ChangedLines(before, after).size(), 2u);
  }
}

TEST(ShellVarsEdit, DracutAppendKeepsBlanks) {
  const std::string path = "dracut/garuda_user-ozzyhelix_dracut.conf.d_vfio.conf";
  std::string before = Corpus(path);
  std::string after = EditAndCheck(
      before, path, "force_drivers",
      [](ShellVarsFile& f) { return f.RemoveTokens("force_drivers", {"amdgpu"}); },
      " vfio vfio_iommu_type1 vfio_pci \t");
  EXPECT_EQ(after, "force_drivers+=\" vfio vfio_iommu_type1 vfio_pci \t\"\n");
  // A new dracut assignment uses the += " ... " convention.
  auto f = ShellVarsFile::Parse("", "vmprep.conf");
  ASSERT_TRUE(f.has_value());
  ASSERT_TRUE(
      f->AddTokens("add_drivers", {"vfio_pci", "vfio"}, true, {.array = false, .append = true})
          .value_or(false));
  EXPECT_EQ(f->Serialize(), "add_drivers+=\" vfio_pci vfio \"\n");
}

// Every corpus file, every list variable a fixer may edit: adding a token is
// seen by bash, changes only that assignment's lines, is a no-op the second
// time, and removing it again restores the original bytes.
TEST(ShellVarsEdit, CorpusSweepAddThenRemove) {
  auto tmp = formats_test::FreshDir("shell-sweep");
  int edits = 0;
  for (const auto* cf : CorpusFilesOf(Format::kShellVars)) {
    std::string original = ReadWholeFile(CorpusDir() / cf->path);
    for (const char* name : {"GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT", "MODULES", "HOOKS",
                             "add_drivers", "force_drivers", "add_dracutmodules"}) {
      SCOPED_TRACE(std::string(cf->path) + " " + name);
      auto f = ShellVarsFile::Parse(original, cf->path);
      ASSERT_TRUE(f.has_value());
      if (!f->IsAssigned(name) || !f->Value(name)) continue;
      std::vector<std::string> before_words = *f->Words(name);
      auto added = f->AddTokens(name, {"vmprep.test=1"});
      ASSERT_TRUE(added.has_value()) << added.error().ToString();
      ASSERT_TRUE(*added);
      std::string edited = f->Serialize();
      // Only one line of the edited assignment changes.
      auto diff = formats_test::ChangedLines(original, edited);
      EXPECT_EQ(diff.size() % 2, 0u);
      EXPECT_LE(diff.size(), 2u) << ::testing::PrintToString(diff);
      formats_test::WriteWholeFile(tmp / "edited", edited);
      auto bash = SourceWithBash(tmp / "edited", {name});
      std::vector<std::string> want = before_words;
      want.push_back("vmprep.test=1");
      if (*f->IsArray(name)) {
        EXPECT_EQ(bash[name].elements, want);
      } else {
        std::istringstream split(bash[name].value);
        std::vector<std::string> got;
        for (std::string w; split >> w;) got.push_back(w);
        EXPECT_EQ(got, want);
      }
      EXPECT_FALSE(f->AddTokens(name, {"vmprep.test=1"}).value_or(true));
      auto removed = f->RemoveTokens(name, {"vmprep.test=1"});
      ASSERT_TRUE(removed.has_value()) << removed.error().ToString();
      EXPECT_TRUE(*removed);
      EXPECT_EQ(f->Serialize(), original);
      ++edits;
    }
  }
  EXPECT_GT(edits, 80);
}

TEST(ShellVarsEdit, SetWords) {
  const std::string path = "mkinitcpio/arch_user-lennard0711_mkinitcpio.conf_duplicate-hook";
  std::string before = Corpus(path);
  // Drop the duplicate "keyboard" and put vfio modules first: the array is
  // rewritten (order changes), the rest of the file is not.
  std::string after = EditAndCheck(
      before, path, "HOOKS",
      [](ShellVarsFile& f) {
        return f.SetWords("HOOKS", {"base", "udev", "autodetect", "modconf", "block", "keyboard",
                                    "keymap", "encrypt", "lvm2", "filesystems", "fsck"});
      },
      "base");
  EXPECT_THAT(formats_test::ChangedLines(before, after),
              ElementsAre(::testing::StartsWith("-HOOKS=("),
                          "+HOOKS=(base udev autodetect modconf block keyboard "
                          "keymap encrypt lvm2 filesystems fsck)\n"));
  // String style keeps its quotes.
  // A word with a blank cannot live in a string-style list: refused, unchanged.
  auto f = ShellVarsFile::Parse("MODULES=\"a b\"\n", "t");
  EXPECT_FALSE(f->SetWords("MODULES", {"a", "c d"}).has_value());
  EXPECT_EQ(f->Serialize(), "MODULES=\"a b\"\n");
  auto g = ShellVarsFile::Parse("MODULES=\"a b\"\n", "t");
  ASSERT_TRUE(g->SetWords("MODULES", {"a", "c"}).value_or(false));
  EXPECT_EQ(g->Serialize(), "MODULES=\"a c\"\n");
  // A new variable in array style.
  auto h = ShellVarsFile::Parse("", "t");
  ASSERT_TRUE(h->SetWords("FILES", {"/a b", "/c"}, {.array = true}).value_or(false));
  EXPECT_EQ(h->Serialize(), "FILES=(\"/a b\" /c)\n");
  EXPECT_EQ(ShellQuote("a$b"), "\"a\\$b\"");
}

TEST(ShellVarsEdit, RemoveNeighbouringArrayElements) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"M=( a b c )\n", "M=( c )\n"},
      {"M=(a b c)\n", "M=(c)\n"},
      {"M=(x a b)\n", "M=(x)\n"},
      {"M=(a x b)\n", "M=(x)\n"},
      {"M=(\n  a\n  b # why\n  c\n)\n", "M=(\n  # why\n  c\n)\n"},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    auto f = ShellVarsFile::Parse(text, "t");
    ASSERT_TRUE(f.has_value());
    auto r = f->RemoveTokens("M", {"a", "b"});
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ(f->Serialize(), want);
  }
}

TEST(ShellVarsParse, SourcingLinesAreReported) {
  const std::string path = "grub/garuda_user-ozzyhelix_grub_duplicate-timeout";
  auto f = ShellVarsFile::Parse(Corpus(path), path);
  ASSERT_TRUE(f.has_value());
  EXPECT_THAT(f->SourcingLines(), ElementsAre(66));
  auto g = ShellVarsFile::Parse(Corpus("grub/ubuntu-22.04_cloudimg_grub"), "g");
  EXPECT_TRUE(g->SourcingLines().empty());
}

TEST(ShellVarsParse, BashSemantics) {
  const std::string text =
      "A=1\n"
      "# A=2\n"
      "export B='x y'  # comment\n"
      "C=\"a\\\"b\\\\c\\$d\" D=e\n"
      "E=(one \"two three\"\n"
      "   # comment inside\n"
      "   four)\n"
      "E+=(five)\n"
      "F=foo\n"
      "F+=bar\n"
      "G=x cmd arg\n"
      "H=a#b\n"
      "I=\"$HOME\"\n"
      "J=(*.conf)\n"
      "if true; then\n"
      "  K=1\n"
      "fi\n"
      "L=$'\\t'\n"
      "M=\r\n";
  auto f = ShellVarsFile::Parse(text, "t");
  ASSERT_TRUE(f.has_value()) << f.error().ToString();
  EXPECT_EQ(f->Serialize(), text);
  EXPECT_EQ(*f->Value("A"), "1");
  EXPECT_EQ(*f->Value("B"), "x y");
  EXPECT_EQ(*f->Value("C"), "a\"b\\c$d");
  EXPECT_EQ(*f->Value("D"), "e");
  EXPECT_THAT(*f->Words("E"), ElementsAre("one", "two three", "four", "five"));
  EXPECT_EQ(*f->Value("F"), "foobar");
  EXPECT_FALSE(f->IsAssigned("G"));  // an environment prefix of a command
  EXPECT_EQ(*f->Value("H"), "a#b");
  EXPECT_EQ(f->Value("I").error().line, 13);
  EXPECT_FALSE(f->Value("J").has_value());
  EXPECT_THAT(f->Value("K").error().message, ::testing::HasSubstr("if/for"));
  EXPECT_FALSE(f->Value("L").has_value());
  EXPECT_THAT(f->Value("M").error().message, ::testing::HasSubstr("carriage return"));
  auto bad = ShellVarsFile::Parse("A=\"open\nB=1\n", "bad.conf");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().path, "bad.conf");
  EXPECT_EQ(bad.error().line, 1);
  EXPECT_FALSE(ShellVarsFile::Parse("A=(a b\n", "x").has_value());
  EXPECT_FALSE(ShellVarsFile::Parse("A=`date\n", "x").has_value());
  EXPECT_FALSE(ShellVarsFile::Parse("cat <<EOF\nA=1\nEOF\n", "x").has_value());
}

// bash keeps the '\r' of a CRLF line in the value, so we refuse such values
// (an edit would leave GRUB with "quiet\r"), yet keep the bytes and may still
// add new LF-terminated assignments.
TEST(ShellVarsParse, CrlfValuesAreRefusedButKept) {
  const std::string text = "A=\"x\"\r\nB=y\r\n# c\r\n";
  auto f = ShellVarsFile::Parse(text, "t");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->Serialize(), text);
  auto tmp = formats_test::FreshDir("shell-crlf");
  formats_test::WriteWholeFile(tmp / "crlf", text);
  EXPECT_EQ(SourceWithBash(tmp / "crlf", {"A"})["A"].value, "x\r");
  ASSERT_FALSE(f->Value("A").has_value());
  EXPECT_EQ(f->Value("A").error().line, 1);
  EXPECT_THAT(f->Value("B").error().message, ::testing::HasSubstr("carriage return"));
  EXPECT_FALSE(f->AddTokens("A", {"z"}).has_value());
  ASSERT_TRUE(f->SetValue("C", "1").value_or(false));
  EXPECT_EQ(f->Serialize(), text + "C=\"1\"\n");
}

TEST(ShellVarsParse, UnquotedValueGetsQuotesOnlyWhenNeeded) {
  auto f = ShellVarsFile::Parse("GRUB_TIMEOUT=5\nX=a\n", "t");
  ASSERT_TRUE(f->SetValue("GRUB_TIMEOUT", "10").value_or(false));
  ASSERT_TRUE(f->SetValue("X", "a b").value_or(false));
  EXPECT_EQ(f->Serialize(), "GRUB_TIMEOUT=10\nX=\"a b\"\n");
}

}  // namespace
}  // namespace vmprep
