// UnifiedDiff and EditSet::Append. Every diff is checked the way a person uses it: GNU patch
// applies it with -p1 in a tree holding the "before" bytes and must produce the "after" bytes.
#include "fixers/edit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fixers/transaction.h"
#include "tests/run_command.h"
#include "tests/test_files.h"

namespace vmprep {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using vmprep::testing::Corpus;
using vmprep::testing::Slurp;
using vmprep::testing::Spill;

FileEdit Edit(std::optional<std::string> before, std::optional<std::string> after,
              std::string path = "/etc/default/grub") {
  FileEdit e;
  e.path = std::move(path);
  e.before = std::move(before);
  e.after = std::move(after);
  e.fixer = "test";
  return e;
}

// Applies UnifiedDiff(edit) with `patch -p1` to a tree that holds edit.before; returns what
// patch left at the path (nullopt when the file is gone) and patch's output in *log.
std::optional<std::string> PatchApply(const FileEdit& edit, std::string* log) {
  fs::path dir = vmprep::testing::FreshTempDir("edit-test");
  fs::create_directories(dir / "tree");
  fs::path file = dir / "tree" / edit.path.substr(1);
  if (edit.before) Spill(file, *edit.before);
  Spill(dir / "change.diff", UnifiedDiff(edit));
  auto r = testing::RunCommand(
      "cd '" + (dir / "tree").string() +
      "' && patch -p1 --batch --fuzz=0 --no-backup-if-mismatch -r - < ../change.diff 2>&1");
  *log = r.out + " (exit " + std::to_string(r.code) + ")";
  std::optional<std::string> out;
  if (r.code == 0 && fs::exists(file)) out = Slurp(file);
  if (r.code != 0) out = "<patch failed>";
  // Exact line numbers: a hunk patch had to shift is a wrong header, even if it applied.
  if (r.out.find("offset") != std::string::npos) out = "<hunk applied at an offset>";
  fs::remove_all(dir);
  return out;
}

void ExpectPatchRoundTrip(const FileEdit& edit, const std::string& label) {
  std::string log;
  auto got = PatchApply(edit, &log);
  EXPECT_EQ(got, edit.after) << label << "\n" << UnifiedDiff(edit) << "\npatch: " << log;
}

TEST(UnifiedDiff, UnchangedIsEmpty) {
  std::string grub = Corpus("grub/debian-12_grub2-common_2.06-13+deb12u2.grub");
  EXPECT_EQ(UnifiedDiff(Edit(grub, grub)), "");
  EXPECT_EQ(UnifiedDiff(Edit(std::nullopt, std::nullopt)), "");
}

TEST(UnifiedDiff, ExactFormatOfOneChangedLine) {
  std::string before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
  std::string after = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
  EXPECT_EQ(
      UnifiedDiff(Edit(before, after, "/etc/x.conf")),
      "--- a/etc/x.conf\n+++ b/etc/x.conf\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
}

TEST(UnifiedDiff, NewFileRemovedFileAndMissingNewline) {
  EXPECT_EQ(UnifiedDiff(Edit(std::nullopt, "allow br0\n", "/etc/qemu/bridge.conf")),
            "--- /dev/null\n+++ b/etc/qemu/bridge.conf\n@@ -0,0 +1 @@\n+allow br0\n");
  EXPECT_EQ(UnifiedDiff(Edit("a\nb\n", std::nullopt, "/etc/x")),
            "--- a/etc/x\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n");
  EXPECT_EQ(
      UnifiedDiff(Edit("a\nb", "a\nb\n", "/etc/x")),
      "--- a/etc/x\n+++ b/etc/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
}

TEST(UnifiedDiff, SeparateHunksAndMergedHunks) {
  std::string before, after_far, after_near;
  for (int i = 1; i <= 30; ++i) before += std::to_string(i) + "\n";
  after_far = before;
  after_far.replace(after_far.find("\n3\n") + 1, 2, "three\n");
  after_far.replace(after_far.find("\n25\n") + 1, 3, "twenty-five\n");
  std::string diff = UnifiedDiff(Edit(before, after_far));
  EXPECT_THAT(diff, HasSubstr("@@ -1,6 +1,6 @@\n"));
  EXPECT_THAT(diff, HasSubstr("@@ -22,7 +22,7 @@\n"));
  // Changes 6 lines apart (2 x context) share one hunk, as in GNU diff.
  after_near = before;
  after_near.replace(after_near.find("\n10\n") + 1, 3, "ten\n");
  after_near.replace(after_near.find("\n17\n") + 1, 3, "seventeen\n");
  diff = UnifiedDiff(Edit(before, after_near));
  EXPECT_THAT(diff, HasSubstr("@@ -7,14 +7,14 @@\n"));
  EXPECT_EQ(std::count(diff.begin(), diff.end(), '@'), 4);
  ExpectPatchRoundTrip(Edit(before, after_far), "far");
  ExpectPatchRoundTrip(Edit(before, after_near), "near");
}

// The changes a fixer makes to real files: one token in the command line, a line appended,
// a line added to a file without a final newline, a file created, a file removed.
TEST(UnifiedDiff, AppliesWithPatchOnRealFiles) {
  std::string debian = Corpus("grub/debian-12_grub2-common_2.06-13+deb12u2.grub");
  std::string edited = debian;
  edited.replace(edited.find("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\""), 34,
                 "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"");
  ExpectPatchRoundTrip(Edit(debian, edited), "debian token");
  ExpectPatchRoundTrip(
      Edit(debian, debian + "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX iommu=pt\"\n"),
      "debian append");
  ExpectPatchRoundTrip(Edit(debian, "# vmprep\n" + debian), "debian prepend");
  std::string no_eol = Corpus("grub/proxmox_user-dstait_grub_single-line-no-eol");
  ASSERT_NE(no_eol.back(), '\n');
  ExpectPatchRoundTrip(Edit(no_eol, no_eol + "\nGRUB_TIMEOUT=5\n"), "no-eol + line");
  ExpectPatchRoundTrip(Edit(no_eol, no_eol + " iommu=pt"), "no-eol changed, still no eol");
  ExpectPatchRoundTrip(Edit(std::nullopt, "options vfio-pci ids=10de:1b80,10de:10f0\n",
                            "/etc/modprobe.d/vmprep-vfio.conf"),
                       "create");
  ExpectPatchRoundTrip(Edit(debian, std::nullopt, "/etc/default/grub.d/old.cfg"), "remove");
  ExpectPatchRoundTrip(Edit(debian, ""), "emptied");
}

// Random line edits on every corpus grub file: deletions, insertions, replacements and
// final-newline changes anywhere, several per file; patch must reproduce "after" exactly.
TEST(UnifiedDiff, RandomEditsOfCorpusFilesRoundTripThroughPatch) {
  std::mt19937 rng(20261124);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(vmprep::testing::CorpusDir() / "grub")) {
    files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 30u);
  int cases = 0;
  for (const auto& path : files) {
    std::string before = Slurp(path);
    for (int round = 0; round < 4; ++round) {
      std::vector<std::string> lines;
      std::size_t pos = 0;
      while (pos < before.size()) {
        std::size_t nl = before.find('\n', pos);
        std::size_t end = nl == std::string::npos ? before.size() : nl + 1;
        lines.push_back(before.substr(pos, end - pos));
        pos = end;
      }
      int changes = 1 + static_cast<int>(rng() % 6);
      for (int c = 0; c < changes; ++c) {
        std::size_t at = lines.empty() ? 0 : rng() % (lines.size() + 1);
        switch (rng() % 4) {
          case 0:
            if (at < lines.size()) lines.erase(lines.begin() + static_cast<long>(at));
            break;
          case 1:
            lines.insert(lines.begin() + static_cast<long>(at),
                         "# inserted " + std::to_string(c) + "\n");
            break;
          case 2:
            if (at < lines.size()) lines[at] = "GRUB_CHANGED_" + std::to_string(c) + "=1\n";
            break;
          case 3:
            if (!lines.empty()) {
              std::string& last = lines.back();
              if (!last.empty() && last.back() == '\n') {
                last.pop_back();
              } else {
                last += '\n';
              }
            }
            break;
        }
      }
      std::string after;
      for (const auto& l : lines) after += l;
      ExpectPatchRoundTrip(Edit(before, after), path + " round " + std::to_string(round));
      ++cases;
    }
  }
  EXPECT_GE(cases, 120);
}

TEST(EditSetAppend, MergesIdenticalChainsAndKeepsConflictsForTheCheck) {
  EditSet a;
  a.edits.push_back(Edit("x\n", "y\n", "/etc/a"));
  a.edits.back().fixer = "one";
  a.actions.push_back({{"update-initramfs", "-u", "-k", "all"}, "initramfs"});
  a.notes.push_back("note");

  EditSet same;
  same.edits.push_back(Edit("x\n", "y\n", "/etc/a"));
  same.edits.back().fixer = "two";
  same.actions.push_back({{"update-initramfs", "-u", "-k", "all"}, "again"});
  same.actions.push_back({{"update-grub"}, "menu"});
  same.notes.push_back("note");
  a.Append(same);
  ASSERT_EQ(a.edits.size(), 1u);
  EXPECT_EQ(a.edits[0].fixer, "one,two");
  EXPECT_EQ(a.actions.size(), 2u);
  EXPECT_EQ(a.notes.size(), 1u);

  EditSet chained;
  chained.edits.push_back(Edit("y\n", "z\n", "/etc/a"));
  chained.edits.back().fixer = "three";
  a.Append(chained);
  ASSERT_EQ(a.edits.size(), 1u);
  EXPECT_EQ(a.edits[0].before, "x\n");
  EXPECT_EQ(a.edits[0].after, "z\n");
  EXPECT_TRUE(CheckEditSet(a).has_value());

  EditSet conflict;
  conflict.edits.push_back(Edit("x\n", "w\n", "/etc/a"));
  conflict.edits.back().fixer = "four";
  a.Append(conflict);
  ASSERT_EQ(a.edits.size(), 2u);
  auto check = CheckEditSet(a);
  ASSERT_FALSE(check.has_value());
  EXPECT_EQ(check.error().path, "/etc/a");
  EXPECT_THAT(check.error().message, HasSubstr("one,two,three and four"));
}

TEST(CheckEditSet, RefusesPathsThatAreNotPlainAbsolute) {
  for (const char* bad : {"etc/a", "/etc/../a", "/etc//a", "/etc/./a", "/", "/var/lib/vmprep/lock",
                          "/var/lib/vmprep/transactions/x/manifest.json"}) {
    EditSet s;
    s.edits.push_back(Edit(std::nullopt, "x", bad));
    EXPECT_FALSE(CheckEditSet(s).has_value()) << bad;
  }
}

}  // namespace
}  // namespace vmprep
