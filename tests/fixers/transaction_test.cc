// The transaction engine on real temporary trees: apply, undo, history, refusals, the lock,
// owners and modes, symlinks, and a fault injected at every single write step.
#include "fixers/transaction.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "tests/run_command.h"
#include "tests/test_files.h"

namespace vmprep {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using vmprep::testing::Corpus;
using vmprep::testing::Slurp;
using vmprep::testing::Spill;

// A config root in a fresh temporary directory, removed afterwards.
class TempRoot {
 public:
  TempRoot() { dir_ = vmprep::testing::FreshTempDir("tx-test"); }
  ~TempRoot() { fs::remove_all(dir_); }
  const fs::path& dir() const { return dir_; }
  fs::path operator/(const std::string& rel) const { return dir_ / rel.substr(rel.front() == '/'); }
  Host host() const { return *Host::Open(dir_.string(), dir_.string()); }

 private:
  fs::path dir_;
};

// Everything in a tree: path -> "d" for a directory, "l:target" for a link, "f:mode:bytes".
std::map<std::string, std::string> Snapshot(const fs::path& root, bool skip_state = true) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string rel = "/" + fs::relative(it->path(), root).string();
    // vmsetup's own state (and its parents) is not part of the system being edited.
    if (skip_state && (rel.starts_with("/var/lib/vmprep") || rel == "/var" || rel == "/var/lib"))
      continue;
    struct stat st {};
    ::lstat(it->path().c_str(), &st);
    if (S_ISLNK(st.st_mode)) {
      out[rel] = "l:" + fs::read_symlink(it->path()).string();
    } else if (S_ISDIR(st.st_mode)) {
      out[rel] = "d";
    } else {
      out[rel] = "f:" + std::to_string(st.st_mode & 07777) + ":" + std::to_string(st.st_uid) + ":" +
                 std::to_string(st.st_gid) + ":" + Slurp(it->path());
    }
  }
  return out;
}

// The entries that differ between two snapshots, for readable failures ("" when equal).
std::string Differences(const std::map<std::string, std::string>& a,
                        const std::map<std::string, std::string>& b) {
  std::string out;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end())
      out += " only-after:" + k;
    else if (it->second != v)
      out += " changed:" + k;
  }
  for (const auto& [k, v] : b) {
    if (!a.contains(k)) out += " only-before:" + k;
  }
  return out;
}

std::vector<std::string> TempFilesIn(const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.path().filename().string().find(".vmprep-") != std::string::npos)
      out.push_back(e.path().string());
  }
  return out;
}

FileEdit Edit(std::string path, std::optional<std::string> before, std::optional<std::string> after,
              std::string fixer = "test") {
  FileEdit e;
  e.path = std::move(path);
  e.before = std::move(before);
  e.after = std::move(after);
  e.fixer = std::move(fixer);
  e.mode = 0644;
  return e;
}

// Whether Host::Remove can remove an empty directory (needed to take back a directory an
// apply created). Asked of the Host itself, on a scratch tree.
bool HostRemovesEmptyDirectories() {
  TempRoot t;
  fs::create_directories(t / "d");
  return t.host().Remove(Root::kConfig, "/d").has_value() && !fs::exists(t / "d");
}

// The multi-file tree of the fault test: one file modified (Debian's real /etc/default/grub,
// kept 0640 and owned by 1234:5678), one created in an existing directory, one created in a
// directory that does not exist yet, one removed.
struct Scenario {
  std::string grub = Corpus("grub/debian-12_grub2-common_2.06-13+deb12u2.grub");
  std::string old_conf =
      Corpus("modprobe/ubuntu-22.04_cloudimg_modprobe.d_blacklist-framebuffer.conf");

  void Build(const TempRoot& t) const {
    Spill(t / "/etc/default/grub", grub);
    ::chmod((t / "/etc/default/grub").c_str(), 0640);
    ::chown((t / "/etc/default/grub").c_str(), 1234, 5678);
    fs::create_directories(t / "/etc/modprobe.d");
    Spill(t / "/etc/modprobe.d/old-vfio.conf", old_conf);
  }

  std::string NewGrub() const {
    std::string g = grub;
    g.replace(g.find("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\""), 34,
              "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"");
    return g;
  }

  EditSet Plan() const {
    EditSet s;
    s.edits.push_back(Edit("/etc/default/grub", grub, NewGrub(), "kernel-cmdline"));
    s.edits.push_back(Edit("/etc/modprobe.d/vmprep-vfio.conf", std::nullopt,
                           "options vfio-pci ids=10de:1b80,10de:10f0\n", "modprobe-vfio"));
    s.edits.push_back(Edit("/etc/qemu/bridge.conf", std::nullopt, "allow br0\n", "qemu-bridge"));
    s.edits.push_back(
        Edit("/etc/modprobe.d/old-vfio.conf", old_conf, std::nullopt, "modprobe-vfio"));
    s.actions.push_back({{"update-grub"}, "regenerate the menu"});
    return s;
  }
};

TEST(Sha256, KnownVectorsAndSha256sum) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // Every padding length around the block boundary, against coreutils.
  TempRoot t;
  for (std::size_t n : {55u, 56u, 63u, 64u, 65u, 119u, 120u, 1000u}) {
    std::string bytes(n, 'v');
    Spill(t / "/f", bytes);
    auto r = testing::RunCommand("sha256sum '" + (t / "/f").string() + "'");
    EXPECT_EQ(r.out.substr(0, 64), Sha256Hex(bytes)) << n;
  }
}

TEST(Transaction, ApplyWritesRecordsAndUndoRestoresByteForByte) {
  TempRoot t;
  Scenario sc;
  sc.Build(t);
  auto before = Snapshot(t.dir());
  Host host = t.host();

  auto applied = ApplyEditSet(host, sc.Plan());
  ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
  EXPECT_EQ(applied->changed.size(), 4u);
  EXPECT_EQ(applied->record.state, "applied");
  EXPECT_THAT(applied->record.fixers,
              ::testing::ElementsAre("kernel-cmdline", "modprobe-vfio", "qemu-bridge"));
  EXPECT_EQ(Slurp(t / "/etc/default/grub"), sc.NewGrub());
  EXPECT_EQ(Slurp(t / "/etc/qemu/bridge.conf"), "allow br0\n");
  EXPECT_FALSE(fs::exists(t / "/etc/modprobe.d/old-vfio.conf"));
  struct stat st {};
  ASSERT_EQ(::stat((t / "/etc/default/grub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);  // mode and owner kept
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  ASSERT_EQ(::stat((t / "/etc/qemu/bridge.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_TRUE(TempFilesIn(t.dir()).empty());

  // The manifest says what was there, with hashes, and the backups hold the originals.
  fs::path txdir = t / ("/var/lib/vmprep/transactions/" + applied->record.id);
  auto manifest = nlohmann::json::parse(Slurp(txdir / "manifest.json"));
  EXPECT_EQ(manifest["schema"], "vmprep.transaction/1");
  EXPECT_EQ(manifest["state"], "applied");
  ASSERT_EQ(manifest["files"].size(), 4u);
  const auto& grub = manifest["files"][0];
  EXPECT_EQ(grub["path"], "/etc/default/grub");
  EXPECT_EQ(grub["existed"], true);
  EXPECT_EQ(grub["sha256_before"], Sha256Hex(sc.grub));
  EXPECT_EQ(grub["sha256_after"], Sha256Hex(sc.NewGrub()));
  EXPECT_EQ(grub["mode"], 0640);
  EXPECT_EQ(grub["uid"], 1234);
  EXPECT_EQ(Slurp(txdir / grub["backup"].get<std::string>()), sc.grub);
  EXPECT_EQ(manifest["files"][1]["existed"], false);
  EXPECT_TRUE(manifest["files"][1]["backup"].is_null());
  EXPECT_TRUE(manifest["files"][3]["sha256_after"].is_null());
  EXPECT_THAT(manifest["created_dirs"], ::testing::ElementsAre("/etc/qemu"));
  EXPECT_EQ(manifest["actions"][0]["argv"][0], "update-grub");

  auto list = ListTransactions(host);
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, applied->record.id);
  EXPECT_FALSE((*list)[0].undone);

  auto undone = UndoTransaction(host, "");
  ASSERT_TRUE(undone.has_value()) << undone.error().ToString();
  EXPECT_EQ(undone->id, applied->record.id);
  EXPECT_EQ(undone->actions.size(), 1u);  // the caller runs update-grub again
  auto after_undo = Snapshot(t.dir());
  if (!HostRemovesEmptyDirectories()) after_undo.erase("/etc/qemu");  // see the skip below
  EXPECT_EQ(Differences(after_undo, before), "");
  list = ListTransactions(host);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].undone);
  EXPECT_EQ((*list)[0].state, "undone");

  // Nothing left to undo; the named one was already undone.
  auto again = UndoTransaction(host, "");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().errno_value, ENOENT);
  auto named = UndoTransaction(host, applied->record.id);
  ASSERT_FALSE(named.has_value());
  EXPECT_THAT(named.error().message, HasSubstr("already undone"));
}

TEST(Transaction, CreatedDirectoriesAreRemovedOnUndo) {
  ASSERT_TRUE(HostRemovesEmptyDirectories());
  TempRoot t;
  fs::create_directories(t / "/etc");
  Host host = t.host();
  EditSet s;
  s.edits.push_back(Edit("/etc/qemu/deep/bridge.conf", std::nullopt, "allow br0\n"));
  ASSERT_TRUE(ApplyEditSet(host, s).has_value());
  ASSERT_TRUE(UndoTransaction(host, "").has_value());
  EXPECT_FALSE(fs::exists(t / "/etc/qemu"));
  EXPECT_TRUE(fs::exists(t / "/etc"));  // it was there before
}

TEST(Transaction, EmptyPlanWritesNothing) {
  TempRoot t;
  Host host = t.host();
  EditSet s;
  s.edits.push_back(Edit("/etc/same", "x\n", "x\n"));
  Spill(t / "/etc/same", "x\n");
  auto r = ApplyEditSet(host, s);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->record.id.empty());
  EXPECT_TRUE(r->changed.empty());
  EXPECT_FALSE(fs::exists(t / "/var/lib/vmprep"));
}

TEST(Transaction, RefusesWhenAFileChangedSinceThePlan) {
  TempRoot t;
  Scenario sc;
  sc.Build(t);
  Host host = t.host();
  EditSet plan = sc.Plan();
  Spill(t / "/etc/default/grub", sc.grub + "# edited by hand\n");
  auto before = Snapshot(t.dir());
  auto r = ApplyEditSet(host, plan);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().path, "/etc/default/grub");
  EXPECT_THAT(r.error().message, HasSubstr("changed after the plan"));
  EXPECT_EQ(Differences(Snapshot(t.dir()), before), "");
  EXPECT_TRUE(ListTransactions(host)->empty());

  // A file planned as new that appeared meanwhile.
  Spill(t / "/etc/default/grub", sc.grub);
  Spill(t / "/etc/qemu/bridge.conf", "allow virbr0\n");
  r = ApplyEditSet(host, sc.Plan());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().path, "/etc/qemu/bridge.conf");
  EXPECT_EQ(Slurp(t / "/etc/default/grub"), sc.grub);
}

TEST(Transaction, UndoRefusesNamingTheFileChangedSince) {
  TempRoot t;
  Scenario sc;
  sc.Build(t);
  Host host = t.host();
  auto applied = ApplyEditSet(host, sc.Plan());
  ASSERT_TRUE(applied.has_value());
  Spill(t / "/etc/qemu/bridge.conf", "allow br0\nallow br1\n");
  auto r = UndoTransaction(host, applied->record.id);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().path, "/etc/qemu/bridge.conf");
  EXPECT_THAT(r.error().message, HasSubstr("was changed after transaction " + applied->record.id));
  // Nothing was restored: the other files still hold what the apply wrote.
  EXPECT_EQ(Slurp(t / "/etc/default/grub"), sc.NewGrub());
  EXPECT_FALSE(fs::exists(t / "/etc/modprobe.d/old-vfio.conf"));
  EXPECT_FALSE(ListTransactions(host)->at(0).undone);
}

TEST(Transaction, WritesThroughSymlinksAndKeepsThem) {
  TempRoot t;
  Scenario sc;
  Spill(t / "/etc/default/grub", sc.grub);
  fs::create_directories(t / "/etc/sysconfig");
  fs::create_symlink("../default/grub", t / "/etc/sysconfig/grub");
  Host host = t.host();
  EditSet s;
  s.edits.push_back(Edit("/etc/sysconfig/grub", sc.grub, sc.NewGrub()));
  auto applied = ApplyEditSet(host, s);
  ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
  EXPECT_TRUE(fs::is_symlink(t / "/etc/sysconfig/grub"));
  EXPECT_EQ(Slurp(t / "/etc/default/grub"), sc.NewGrub());
  ASSERT_TRUE(UndoTransaction(host, "").has_value());
  EXPECT_TRUE(fs::is_symlink(t / "/etc/sysconfig/grub"));
  EXPECT_EQ(Slurp(t / "/etc/default/grub"), sc.grub);
}

TEST(Transaction, UndoTakesTheNewestFirstAndByName) {
  TempRoot t;
  Host host = t.host();
  Spill(t / "/etc/f", "v0\n");
  std::vector<std::string> ids;
  for (int i = 1; i <= 3; ++i) {
    EditSet s;
    s.edits.push_back(
        Edit("/etc/f", "v" + std::to_string(i - 1) + "\n", "v" + std::to_string(i) + "\n"));
    auto r = ApplyEditSet(host, s);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    ids.push_back(r->record.id);
  }
  auto list = ListTransactions(host);
  ASSERT_EQ(list->size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ((*list)[i].id, ids[i]);  // oldest first
  // The oldest cannot be undone while newer ones changed the same file: they are named,
  // newest first, with the commands that undo them.
  auto oldest = UndoTransaction(host, ids[0]);
  ASSERT_FALSE(oldest.has_value());
  EXPECT_THAT(oldest.error().message, HasSubstr("the newer transaction(s) " + ids[2] + ", " +
                                                ids[1] + " changed the same file(s) (/etc/f)"));
  EXPECT_THAT(oldest.error().message,
              HasSubstr("vmsetup undo " + ids[2] + "; vmsetup undo " + ids[1]));
  EXPECT_EQ(UndoTransaction(host, "")->id, ids[2]);
  EXPECT_EQ(Slurp(t / "/etc/f"), "v2\n");
  EXPECT_EQ(UndoTransaction(host, "")->id, ids[1]);
  EXPECT_EQ(UndoTransaction(host, ids[0])->id, ids[0]);
  EXPECT_EQ(Slurp(t / "/etc/f"), "v0\n");
  EXPECT_FALSE(UndoTransaction(host, "nonexistent").has_value());
}

TEST(Transaction, LockKeepsTwoRunsApart) {
  TempRoot t;
  Scenario sc;
  sc.Build(t);
  fs::create_directories(t / "/var/lib/vmprep");
  int fd = ::open((t / "/var/lib/vmprep/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "4242\n", 5), 5);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);  // another run, as far as the lock can tell
  Host host = t.host();
  auto before = Snapshot(t.dir());
  auto r = ApplyEditSet(host, sc.Plan());
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(IsLockHeld(r.error()));
  EXPECT_THAT(r.error().message, HasSubstr("pid 4242"));
  EXPECT_EQ(Differences(Snapshot(t.dir()), before), "");
  EXPECT_TRUE(IsLockHeld(UndoTransaction(host, "").error()));
  ::close(fd);  // the other run ends: the kernel drops its lock, no stale file matters
  auto ok = ApplyEditSet(host, sc.Plan());
  EXPECT_TRUE(ok.has_value()) << ok.error().ToString();
}

// A manifest is trusted only as far as it can be checked: a backup outside its directory, a
// path that is not plain, a hash that is not one, an unknown state. Each makes the record
// corrupt (named with what is wrong) instead of a recipe for writing anywhere.
TEST(Transaction, AManifestThatCannotBeTrustedIsCorrupt) {
  struct Case {
    std::string what;
    std::function<void(nlohmann::json&)> spoil;
  };
  std::vector<Case> cases = {
      {"backup files/0", [](auto& m) { m["files"][0]["backup"] = "../../../../etc/shadow"; }},
      {"file path '/etc/../etc/f'", [](auto& m) { m["files"][0]["path"] = "/etc/../etc/f"; }},
      {"sha256", [](auto& m) { m["files"][0]["sha256_before"] = "abc"; }},
      {"unknown state 'done'", [](auto& m) { m["state"] = "done"; }},
      {"created directory 'etc'", [](auto& m) { m["created_dirs"] = {"etc"}; }},
      {"its id is", [](auto& m) { m["id"] = "20260101T000000Z-0000"; }},
      {"missing or of the wrong type", [](auto& m) { m["files"] = 3; }},
  };
  for (const auto& c : cases) {
    TempRoot t;
    Spill(t / "/etc/f", "v0\n");
    Host host = t.host();
    EditSet s;
    s.edits.push_back(Edit("/etc/f", "v0\n", "v1\n"));
    auto r = ApplyEditSet(host, s);
    ASSERT_TRUE(r.has_value());
    fs::path manifest = t / ("/var/lib/vmprep/transactions/" + r->record.id + "/manifest.json");
    auto m = nlohmann::json::parse(Slurp(manifest));
    c.spoil(m);
    Spill(manifest, m.dump());
    auto list = ListTransactions(host);
    ASSERT_TRUE(list.has_value()) << c.what;
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ((*list)[0].state, "corrupt") << c.what;
    EXPECT_THAT((*list)[0].problem, HasSubstr(r->record.id + "/manifest.json: ")) << c.what;
    EXPECT_THAT((*list)[0].problem, HasSubstr(c.what));
    auto undo = UndoTransaction(host, "");
    ASSERT_FALSE(undo.has_value()) << c.what;
    EXPECT_TRUE(IsRefusal(undo.error())) << undo.error().ToString();
    EXPECT_EQ(Slurp(t / "/etc/f"), "v1\n");
  }
}

// When the rollback itself fails, the error says so and names the transaction, whose record
// stays "applying"; undo then finishes the restore from the mixed state.
TEST(Transaction, AFailedRollbackIsReportedAndUndoFinishesIt) {
  TempRoot t;
  Scenario sc;
  sc.Build(t);
  auto before = Snapshot(t.dir());
  Host host = t.host();
  int grub_writes = 0;
  host.SetFaultHookForTesting([&](std::string_view op, std::string_view path) {
    if (op == "rename" && path == "/etc/qemu/bridge.conf") return EIO;  // the apply fails here
    if (op == "write" && path == "/etc/default/grub" && ++grub_writes >= 2)
      return EROFS;  // and its undo
    return 0;
  });
  auto r = ApplyEditSet(host, sc.Plan());
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message,
              HasSubstr("ROLLBACK INCOMPLETE: could not restore /etc/default/grub"));
  auto list = ListTransactions(host);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].state, "applying");
  EXPECT_THAT(r.error().message, HasSubstr("vmsetup undo " + (*list)[0].id));
  EXPECT_EQ(Slurp(t / "/etc/default/grub"), sc.NewGrub());  // the stuck file
  host.SetFaultHookForTesting(nullptr);
  auto undone = UndoTransaction(host, "");
  ASSERT_TRUE(undone.has_value()) << undone.error().ToString();
  auto after = Snapshot(t.dir());
  if (!HostRemovesEmptyDirectories()) after.erase("/etc/qemu");
  EXPECT_EQ(Differences(after, before), "");
}

// The directory sync after a rename fails: the file already holds its new bytes. Rollback
// must see that (it reads every file back) and restore it, not assume the failed step left
// the original in place.
TEST(Transaction, ADirectorySyncFailureAfterTheRenameIsRolledBack) {
  TempRoot t;
  Scenario sc;
  sc.Build(t);
  auto before = Snapshot(t.dir());
  Host host = t.host();
  host.SetFaultHookForTesting([&](std::string_view op, std::string_view path) {
    return op == "fsync-dir" && path == "/etc/default/grub" ? EIO : 0;
  });
  auto r = ApplyEditSet(host, sc.Plan());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().errno_value, EIO);
  EXPECT_THAT(r.error().message, HasSubstr("cannot sync directory"));
  EXPECT_THAT(r.error().message, HasSubstr("read back as before"));
  EXPECT_THAT(r.error().message, ::testing::Not(HasSubstr("ROLLBACK INCOMPLETE")));
  auto after = Snapshot(t.dir());
  if (!HostRemovesEmptyDirectories()) after.erase("/etc/qemu");
  EXPECT_EQ(Differences(after, before), "");
  EXPECT_EQ(Slurp(t / "/etc/default/grub"), sc.grub);
  auto list = ListTransactions(host);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].state, "rolled-back");
}

// Rollback that cannot restore a file says exactly which (and why), does not claim the rest
// of the sentence, and leaves the record where undo (or the next run) finishes it.
TEST(Transaction, ARollbackThatCannotRestoreAFileNamesItAndStaysRecoverable) {
  TempRoot t;
  Scenario sc;
  sc.Build(t);
  auto before = Snapshot(t.dir());
  Host host = t.host();
  int grub_writes = 0;
  host.SetFaultHookForTesting([&](std::string_view op, std::string_view path) {
    // The new vfio conf is written but its directory sync fails; restoring grub fails too.
    if (op == "fsync-dir" && path == "/etc/modprobe.d/vmprep-vfio.conf") return EIO;
    if (op == "write" && path == "/etc/default/grub" && ++grub_writes >= 2) return EROFS;
    return 0;
  });
  auto r = ApplyEditSet(host, sc.Plan());
  ASSERT_FALSE(r.has_value());
  const std::string& msg = r.error().message;
  EXPECT_THAT(msg, HasSubstr("ROLLBACK INCOMPLETE: could not restore /etc/default/grub"));
  EXPECT_THAT(msg, HasSubstr("Read-only file system"));
  EXPECT_THAT(msg, ::testing::Not(HasSubstr("could not restore /etc/modprobe.d")));
  EXPECT_THAT(msg, ::testing::Not(HasSubstr("every file")));
  // The conf whose sync failed was taken away again; grub is the one left as applied.
  EXPECT_FALSE(fs::exists(t / "/etc/modprobe.d/vmprep-vfio.conf"));
  EXPECT_EQ(Slurp(t / "/etc/default/grub"), sc.NewGrub());
  auto list = ListTransactions(host);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].state, "applying");
  EXPECT_FALSE((*list)[0].undone);
  EXPECT_THAT(msg, HasSubstr("vmsetup undo " + (*list)[0].id));
  host.SetFaultHookForTesting(nullptr);
  auto undone = UndoTransaction(host, "");
  ASSERT_TRUE(undone.has_value()) << undone.error().ToString();
  auto after = Snapshot(t.dir());
  if (!HostRemovesEmptyDirectories()) after.erase("/etc/qemu");
  EXPECT_EQ(Differences(after, before), "");
}

// Fails the Nth step of a four-file apply (every read, stat, list, write, sync, rename, mkdir
// and remove the Host is asked for), for every N until the apply runs out of steps. Each apply
// must end all or nothing: failed with every file as it was and no record to undo, or (a read
// whose failure it could work around) succeeded with every file written.
TEST(Transaction, FaultAtEveryStepLeavesNothingHalfDone) {
  Scenario sc;
  const bool dirs_removable = HostRemovesEmptyDirectories();
  std::map<std::string, std::string> applied;
  nlohmann::json record;  // the manifest without its id and time
  auto manifest_of = [](const TempRoot& t, const std::string& id) {
    auto m =
        nlohmann::json::parse(Slurp(t / ("/var/lib/vmprep/transactions/" + id + "/manifest.json")));
    m.erase("id");
    m.erase("created");
    return m;
  };
  {
    TempRoot t;
    sc.Build(t);
    auto r = ApplyEditSet(t.host(), sc.Plan());
    ASSERT_TRUE(r.has_value());
    applied = Snapshot(t.dir());
    record = manifest_of(t, r->record.id);
  }
  std::set<std::string> failed_kinds, tolerated;
  int failures = 0;
  for (int n = 1;; ++n) {
    TempRoot t;
    sc.Build(t);
    auto before = Snapshot(t.dir());
    Host host = t.host();
    int seen = 0;
    std::string failed_step, failed_op;
    host.SetFaultHookForTesting([&](std::string_view op, std::string_view path) {
      if (++seen != n) return 0;
      failed_op = std::string(op);
      failed_step = failed_op + " " + std::string(path);
      return EIO;
    });
    auto r = ApplyEditSet(host, sc.Plan());
    if (seen < n) {
      // Ran out of steps: this apply had no fault and must have succeeded.
      ASSERT_TRUE(r.has_value()) << r.error().ToString();
      EXPECT_EQ(Slurp(t / "/etc/default/grub"), sc.NewGrub());
      break;
    }
    ASSERT_LT(n, 2000) << "the apply never ran out of steps";
    if (r.has_value()) {
      // Only a failed look may be worked around (MakeDirs stats before mkdir); a failed
      // change never is. Then the apply must be complete.
      EXPECT_THAT(failed_op, ::testing::AnyOf("stat", "read", "list", "readlink")) << failed_step;
      tolerated.insert(failed_step);
      EXPECT_EQ(Differences(Snapshot(t.dir()), applied), "") << "step " << n << ": " << failed_step;
      EXPECT_EQ(r->record.state, "applied") << failed_step;
      // And its record as if nothing had failed (no directory it did not create, say).
      EXPECT_EQ(manifest_of(t, r->record.id), record) << failed_step;
      continue;
    }
    ++failures;
    failed_kinds.insert(failed_op);
    EXPECT_EQ(r.error().errno_value, EIO) << failed_step << ": " << r.error().ToString();
    auto after = Snapshot(t.dir());
    if (!dirs_removable) {
      // Until the Host can remove directories, one may stay, but it must be empty.
      for (auto it = after.begin(); it != after.end();) {
        bool extra_empty_dir = !before.contains(it->first) && it->second == "d" &&
                               fs::is_empty(t.dir() / it->first.substr(1));
        it = extra_empty_dir ? after.erase(it) : std::next(it);
      }
    }
    EXPECT_EQ(Differences(after, before), "")
        << "step " << n << ": " << failed_step << " -> " << r.error().ToString();
    EXPECT_THAT(TempFilesIn(t.dir()), ::testing::IsEmpty()) << failed_step;
    EXPECT_THAT(r.error().message, ::testing::Not(HasSubstr("ROLLBACK INCOMPLETE"))) << failed_step;
    // No transaction a later undo could pick up: the record is absent or rolled back.
    host.SetFaultHookForTesting(nullptr);
    auto list = ListTransactions(host);
    ASSERT_TRUE(list.has_value()) << list.error().ToString();
    for (const auto& rec : *list) EXPECT_EQ(rec.state, "rolled-back") << failed_step;
  }
  EXPECT_GE(failures, 10);
  EXPECT_THAT(failed_kinds, ::testing::IsSupersetOf({"read", "stat", "write", "fsync", "rename",
                                                     "fsync-dir", "mkdir", "remove"}));
  // What was worked around, for a reader of the log.
  for (const auto& step : tolerated) std::printf("tolerated: %s\n", step.c_str());
}

}  // namespace
}  // namespace vmprep
