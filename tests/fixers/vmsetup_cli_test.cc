// The real vmsetup binary (arguments, exit codes, history, undo, the prompt) and the
// post-action runner (execve, never a shell; chroot into the config root).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "fixers/post_actions.h"
#include "fixers/transaction.h"
#include "tests/child_process.h"
#include "tests/run_command.h"
#include "tests/test_files.h"

namespace vmprep {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using Result = testing::CommandResult;

using vmprep::testing::Slurp;
using vmprep::testing::Spill;

class TempDir {
 public:
  TempDir() { dir_ = vmprep::testing::FreshTempDir("vmsetup-test"); }
  ~TempDir() { fs::remove_all(dir_); }
  const fs::path& dir() const { return dir_; }
  std::string str() const { return dir_.string(); }
  fs::path operator/(const std::string& rel) const { return dir_ / rel.substr(rel.front() == '/'); }

 private:
  fs::path dir_;
};

// stdin is /dev/null unless `input` is given: no terminal, as in a script.
Result Vmsetup(const std::string& args, const std::string& input = "") {
  std::string cmd = std::string(VMSETUP_BINARY) + " " + args + " 2>&1";
  if (input.empty()) return testing::RunCommand(cmd + " </dev/null");
  return testing::RunCommand("printf '" + input + "' | " + cmd);
}

// Runs vmsetup on a pseudo-terminal (util-linux `script`), typing `keys`.
Result VmsetupOnTerminal(const std::string& args, const std::string& keys) {
  return testing::RunCommand("printf '" + keys + "' | script -qec '" + std::string(VMSETUP_BINARY) +
                             " " + args + "' /dev/null 2>&1");
}

bool HasFixer(std::string_view id) {
  Result r = Vmsetup("fixers");
  for (std::size_t pos = 0; pos < r.out.size();) {
    std::size_t nl = r.out.find('\n', pos);
    std::string line = r.out.substr(pos, nl - pos);
    if (line.starts_with(std::string(id) + " ")) return true;
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return false;
}

TEST(VmsetupCli, HelpDocumentsCommandsAndExitCodes) {
  Result r = Vmsetup("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* s : {"plan", "apply", "undo", "history", "--no-regenerate", "--yes", "--device",
                        "hugepages=SIZE:N", "bridge=NAME", "Exit status:", "0  done", "1  refused",
                        "2  apply or undo failed", "3  bad arguments", "4  declined",
                        "5  the files were written"}) {
    EXPECT_THAT(r.out, HasSubstr(s));
  }
  EXPECT_THAT(Vmsetup("--version").out, HasSubstr("vmsetup " VMPREP_VERSION));
}

TEST(VmsetupCli, BadArgumentsExitThree) {
  TempDir t;
  const std::string root = " --root " + t.str();
  for (std::string args :
       {std::string(""), std::string("frobnicate"), "plan" + root,
        "plan --enable iommu,warp-drive" + root, "plan --enable hugepages=3M:8" + root,
        "plan --enable hugepages=1G:zero" + root, "plan --enable hugepages=1G" + root,
        "plan --enable bridge=" + root, "plan --enable 'bridge=br0;rm'" + root,
        "plan --enable bridge=averyveryverylongname" + root, "plan --device 01:00" + root,
        "plan --device 0000:01:00.0x" + root, "plan --enable vfio" + root,
        std::string("plan --enable iommu --root /nonexistent/vmprep"),
        std::string("history --root /nonexistent/vmprep"), "undo no-such-transaction" + root}) {
    Result r = Vmsetup(args);
    EXPECT_EQ(r.code, 3) << args << "\n" << r.out;
    EXPECT_THAT(r.out, HasSubstr("vmsetup: ")) << args;
  }
  EXPECT_THAT(Vmsetup("plan --enable warp-drive" + root).out,
              HasSubstr("unknown item 'warp-drive'"));
  EXPECT_THAT(Vmsetup("plan --enable vfio" + root).out, HasSubstr("--device"));
  EXPECT_THAT(Vmsetup("plan --enable iommu --root /nonexistent/vmprep").out,
              HasSubstr("/nonexistent/vmprep"));
}

// The wizard runs on a terminal only; without one, no command prints the usage as before
// (the wizard itself is driven through tmux by tests/wizard/).
TEST(VmsetupCli, TheWizardNeedsATerminal) {
  TempDir t;
  Result wizard = Vmsetup("wizard --root " + t.str());
  EXPECT_EQ(wizard.code, 3) << wizard.out;
  EXPECT_THAT(wizard.out, HasSubstr("the wizard needs a terminal"));
  Result none = Vmsetup("--root " + t.str());
  EXPECT_EQ(none.code, 3) << none.out;
  EXPECT_THAT(none.out, HasSubstr("a command is required"));
  EXPECT_THAT(none.out, HasSubstr("usage: vmsetup"));
  EXPECT_TRUE(fs::is_empty(t.dir())) << "nothing may be written";
}

// A transaction recorded by the engine, then listed and undone by the binary.
class VmsetupHistory : public ::testing::Test {
 protected:
  void SetUp() override {
    Spill(t_ / "/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
    EditSet plan;
    FileEdit grub;
    grub.path = "/etc/default/grub";
    grub.before = "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n";
    grub.after = "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on\"\n";
    grub.fixer = "kernel-cmdline";
    FileEdit conf;
    conf.path = "/etc/modules-load.d/vmprep.conf";
    conf.after = "vhost_net\n";
    conf.fixer = "modules-load";
    plan.edits = {grub, conf};
    plan.actions.push_back({{"update-grub"}, "regenerate the boot menu"});
    auto host = Host::Open(t_.str(), t_.str());
    ASSERT_TRUE(host.has_value());
    auto applied = ApplyEditSet(*host, plan);
    ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
    id_ = applied->record.id;
  }
  std::string Root() const { return " --root " + t_.str(); }
  TempDir t_;
  std::string id_;
};

TEST_F(VmsetupHistory, HistoryListsAndUndoRestores) {
  Result h = Vmsetup("history" + Root());
  EXPECT_EQ(h.code, 0);
  EXPECT_THAT(h.out, HasSubstr(id_));
  EXPECT_THAT(h.out, HasSubstr("applied"));
  EXPECT_THAT(h.out, HasSubstr("kernel-cmdline,modules-load"));
  EXPECT_THAT(h.out, HasSubstr("/etc/default/grub /etc/modules-load.d/vmprep.conf"));
  Result j = Vmsetup("history --json" + Root());
  auto doc = nlohmann::json::parse(j.out);
  ASSERT_EQ(doc.size(), 1u);
  EXPECT_EQ(doc[0]["id"], id_);
  EXPECT_EQ(doc[0]["state"], "applied");

  Result u = Vmsetup("undo --no-regenerate" + Root());
  EXPECT_EQ(u.code, 0) << u.out;
  EXPECT_THAT(u.out, HasSubstr("Undid transaction " + id_));
  EXPECT_THAT(u.out, HasSubstr("Skipped (--no-regenerate): update-grub"));
  EXPECT_EQ(Slurp(t_ / "/etc/default/grub"), "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
  EXPECT_FALSE(fs::exists(t_ / "/etc/modules-load.d/vmprep.conf"));
  EXPECT_THAT(Vmsetup("history" + Root()).out, HasSubstr("undone"));

  Result again = Vmsetup("undo" + Root());
  EXPECT_EQ(again.code, 0);
  EXPECT_THAT(again.out, HasSubstr("Nothing to undo"));
  Result named = Vmsetup("undo " + id_ + Root());
  EXPECT_EQ(named.code, 1) << named.out;
  EXPECT_THAT(named.out, HasSubstr("already undone"));
}

TEST_F(VmsetupHistory, UndoRefusesAChangedFileAndNamesIt) {
  Spill(t_ / "/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"splash\"\n");
  Result u = Vmsetup("undo --no-regenerate" + Root());
  EXPECT_EQ(u.code, 1) << u.out;
  EXPECT_THAT(u.out, HasSubstr("/etc/default/grub: was changed after transaction " + id_));
  EXPECT_TRUE(fs::exists(t_ / "/etc/modules-load.d/vmprep.conf"));  // nothing restored
}

// The recorded post-action is run again after undo; in a tree without update-grub it fails
// clearly, after the files were restored.
TEST_F(VmsetupHistory, UndoRunsThePostActionsAndReportsAFailedOne) {
  Result u = Vmsetup("undo" + Root());
  EXPECT_EQ(u.code, 5) << u.out;
  EXPECT_THAT(u.out, HasSubstr("Running: update-grub"));
  EXPECT_THAT(u.out, HasSubstr("update-grub: not found in the config root"));
  EXPECT_EQ(Slurp(t_ / "/etc/default/grub"), "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
}

TEST_F(VmsetupHistory, HeldLockExitsThree) {
  int fd = ::open((t_ / "/var/lib/vmprep/lock").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  Result u = Vmsetup("undo --no-regenerate" + Root());
  EXPECT_EQ(u.code, 3) << u.out;
  EXPECT_THAT(u.out, HasSubstr("/var/lib/vmprep/lock: another vmsetup run holds the lock"));
  ::close(fd);
  EXPECT_EQ(Vmsetup("undo --no-regenerate" + Root()).code, 0);
}

// plan, apply, plan again, undo through the binary with a real fixer: the qemu bridge
// helper's allow list is the smallest complete case.
TEST(VmsetupCli, PlanApplyUndoWithARealFixer) {
  ASSERT_TRUE(HasFixer("qemu-bridge"));
  TempDir t;
  fs::create_directories(t / "/etc");
  const std::string args = " --enable bridge=br0 --root " + t.str();
  Result plan = Vmsetup("plan" + args);
  EXPECT_EQ(plan.code, 0) << plan.out;
  EXPECT_THAT(plan.out, HasSubstr("+++ b/etc/qemu/bridge.conf"));
  EXPECT_THAT(plan.out, HasSubstr("+allow br0"));
  EXPECT_FALSE(fs::exists(t / "/etc/qemu/bridge.conf"));  // plan changes nothing
  auto json = nlohmann::json::parse(Vmsetup("plan --json" + args).out);
  EXPECT_EQ(json["schema"], "vmprep.plan/1");
  EXPECT_EQ(json["edits"][0]["path"], "/etc/qemu/bridge.conf");

  // No terminal and no --yes: refused, nothing written.
  Result no_tty = Vmsetup("apply" + args);
  EXPECT_EQ(no_tty.code, 3) << no_tty.out;
  EXPECT_THAT(no_tty.out, HasSubstr("--yes"));
  EXPECT_FALSE(fs::exists(t / "/etc/qemu/bridge.conf"));

  // On a terminal: "n" declines (exit 4), "y" applies.
  Result declined = VmsetupOnTerminal("apply --no-regenerate" + args, "n\\n");
  EXPECT_EQ(declined.code, 4) << declined.out;
  EXPECT_THAT(declined.out, HasSubstr("Apply these changes? [y/N]"));
  EXPECT_FALSE(fs::exists(t / "/etc/qemu/bridge.conf"));
  Result accepted = VmsetupOnTerminal("apply --no-regenerate" + args, "y\\n");
  EXPECT_EQ(accepted.code, 0) << accepted.out;
  EXPECT_THAT(Slurp(t / "/etc/qemu/bridge.conf"), HasSubstr("allow br0"));

  Result again = Vmsetup("apply --yes --no-regenerate" + args);
  EXPECT_EQ(again.code, 0) << again.out;
  EXPECT_THAT(again.out, HasSubstr("Nothing to do"));
  EXPECT_EQ(Vmsetup("undo --no-regenerate --root " + t.str()).code, 0);
  EXPECT_FALSE(fs::exists(t / "/etc/qemu/bridge.conf"));
}

// An apply records what vmcheck-boot.service must find passing after the reboot, inside the
// transaction: undo takes the expectation away with the files.
TEST(VmsetupCli, ApplyWritesTheExpectedStateAndUndoRemovesIt) {
  TempDir t;
  fs::create_directories(t / "/etc");
  const std::string args = " --enable vhost_net --root " + t.str();
  Result applied = Vmsetup("apply --yes --no-regenerate" + args);
  ASSERT_EQ(applied.code, 0) << applied.out;
  EXPECT_THAT(applied.out, HasSubstr("wrote /var/lib/vmprep/expected.json"));
  auto expected = nlohmann::json::parse(Slurp(t / "/var/lib/vmprep/expected.json"));
  EXPECT_EQ(expected["schema"], "vmprep.expected/1");
  EXPECT_EQ(expected["pass"], nlohmann::json::array({"vhost_net.module"}));
  EXPECT_THAT(Vmsetup("plan" + args).out, HasSubstr("Nothing to do"));
  EXPECT_EQ(Vmsetup("undo --no-regenerate --root " + t.str()).code, 0);
  EXPECT_FALSE(fs::exists(t / "/var/lib/vmprep/expected.json"));
}

// Expectations accumulate: a second transaction adds its ids to the first one's, and undoing
// it (newest first) leaves exactly the first one's. An older transaction cannot be undone
// before a newer one that changed the same file; the refusal names the newer one.
TEST(VmsetupCli, ExpectationsAccumulateAndUndoGoesNewestFirst) {
  TempDir t;
  Spill(t / "/etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
  Spill(t / "/proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\n");  // the vendor
  const std::string root = " --root " + t.str();
  ASSERT_EQ(Vmsetup("apply --yes --no-regenerate --enable vhost_net" + root).code, 0);
  const std::string first = Slurp(t / "/var/lib/vmprep/expected.json");
  Result second = Vmsetup("apply --yes --no-regenerate --json --enable bridge=br0" + root);
  ASSERT_EQ(second.code, 0) << second.out;
  auto expected = nlohmann::json::parse(Slurp(t / "/var/lib/vmprep/expected.json"));
  // bridge= has no finding of its own to expect; the earlier expectation stays.
  EXPECT_EQ(expected["pass"], nlohmann::json::array({"vhost_net.module"}));
  Result third = Vmsetup("apply --yes --no-regenerate --json --enable iommu" + root);
  ASSERT_EQ(third.code, 0) << third.out;
  expected = nlohmann::json::parse(Slurp(t / "/var/lib/vmprep/expected.json"));
  EXPECT_EQ(expected["pass"],
            nlohmann::json::array({"vhost_net.module", "iommu.kernel", "iommu.cmdline"}));

  auto history = nlohmann::json::parse(Vmsetup("history --json" + root).out);
  ASSERT_EQ(history.size(), 3u);
  const std::string oldest = history[0]["id"], newest = history[2]["id"];
  Result blocked = Vmsetup("undo --no-regenerate " + oldest + root);
  EXPECT_EQ(blocked.code, 1) << blocked.out;
  EXPECT_THAT(blocked.out,
              HasSubstr("not undoing " + oldest + ": the newer transaction(s) " + newest +
                        " changed the same file(s) "
                        "(/var/lib/vmprep/expected.json)"));
  EXPECT_THAT(blocked.out, HasSubstr("vmsetup undo " + newest));
  ASSERT_EQ(Vmsetup("undo --no-regenerate " + newest + root).code, 0);
  EXPECT_EQ(Slurp(t / "/var/lib/vmprep/expected.json"), first);
  // The bridge transaction did not touch expected.json: the oldest can now go.
  EXPECT_EQ(Vmsetup("undo --no-regenerate " + oldest + root).code, 0);
  EXPECT_FALSE(fs::exists(t / "/var/lib/vmprep/expected.json"));
}

// An expected.json that is not ours is replaced with a warning (its bytes stay in the backup).
TEST(VmsetupCli, AForeignExpectedFileIsReplacedWithAWarning) {
  TempDir t;
  Spill(t / "/var/lib/vmprep/expected.json", "{not json\n");
  Result plan = Vmsetup("plan --enable vhost_net --root " + t.str());
  EXPECT_EQ(plan.code, 0) << plan.out;
  EXPECT_THAT(plan.out, HasSubstr("/var/lib/vmprep/expected.json: not a vmprep.expected/1 "
                                  "document"));
}

// One fixer refusing (a command substitution it cannot edit) stops the whole apply: the
// refusal names file and line, and the other fixer's file is not written either.
TEST(VmsetupCli, ARefusalAppliesNothingAndNamesFileAndLine) {
  ASSERT_TRUE(HasFixer("kernel-cmdline") && HasFixer("qemu-bridge"));
  TempDir t;
  Spill(t / "/etc/default/grub",
        "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"$(cat /etc/opts)\"\n");
  const std::string before = Slurp(t / "/etc/default/grub");
  Result r = Vmsetup("apply --yes --no-regenerate --enable iommu,bridge=br0 --root " + t.str());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("kernel-cmdline refused: /etc/default/grub:2: "));
  EXPECT_THAT(r.out, HasSubstr("nothing applied"));
  EXPECT_EQ(Slurp(t / "/etc/default/grub"), before);
  EXPECT_FALSE(fs::exists(t / "/etc/qemu/bridge.conf"));
  EXPECT_FALSE(fs::exists(t / "/var/lib/vmprep/transactions"));
  Result plan = Vmsetup("plan --enable iommu,bridge=br0 --root " + t.str());
  EXPECT_EQ(plan.code, 1);
}

// The file changes while vmsetup waits at its prompt (someone edits it in another terminal):
// apply refuses, exit 1 as documented for a refusal, names the file, and writes nothing.
TEST(VmsetupCli, AFileChangedAtThePromptIsARefusal) {
  TempDir t;
  Spill(t / "/etc/qemu/bridge.conf", "allow virbr0\n");
  const std::string cmd =
      std::string(VMSETUP_BINARY) + " apply --no-regenerate --enable bridge=br0 --root " + t.str();
  testing::Child child({"/usr/bin/script", "-qec", cmd, "/dev/null"});
  ASSERT_TRUE(child.ReadUntil("Apply these changes? [y/N]")) << child.output();
  Spill(t / "/etc/qemu/bridge.conf", "allow virbr0\nallow virbr1\n");
  child.Write("y\n");
  int code = child.Wait();
  EXPECT_EQ(code, 1) << child.output();
  EXPECT_THAT(child.output(), HasSubstr("/etc/qemu/bridge.conf: was changed after the plan"));
  EXPECT_THAT(child.output(), HasSubstr("nothing applied"));
  EXPECT_EQ(Slurp(t / "/etc/qemu/bridge.conf"), "allow virbr0\nallow virbr1\n");
  EXPECT_FALSE(fs::exists(t / "/var/lib/vmprep/expected.json"));
}

// Bad arguments print the usage line; a run that cannot go on for another reason prints only
// its reason.
TEST(VmsetupCli, OnlyBadArgumentsPrintTheUsageLine) {
  TempDir t;
  fs::create_directories(t / "/etc");
  const std::string root = " --root " + t.str();
  for (std::string args : {std::string("frobnicate"), "plan --enable warp" + root}) {
    Result r = Vmsetup(args);
    EXPECT_EQ(r.code, 3) << args;
    EXPECT_THAT(r.out, HasSubstr("usage: vmsetup")) << args;
  }
  // Lock held, no such transaction, a state directory that cannot be listed.
  fs::create_directories(t / "/var/lib/vmprep");
  int fd = ::open((t / "/var/lib/vmprep/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  for (std::string args : {"apply --yes --enable bridge=br0" + root, "undo" + root}) {
    Result r = Vmsetup(args);
    EXPECT_EQ(r.code, 3) << args << "\n" << r.out;
    EXPECT_THAT(r.out, HasSubstr("another vmsetup run holds the lock")) << args;
    EXPECT_THAT(r.out, Not(HasSubstr("usage:"))) << args;
  }
  ::close(fd);
  Result unknown = Vmsetup("undo 20260101T000000Z-0000" + root);
  EXPECT_EQ(unknown.code, 3) << unknown.out;
  EXPECT_THAT(unknown.out, HasSubstr("no transaction named"));
  EXPECT_THAT(unknown.out, Not(HasSubstr("usage:")));
  Spill(t / "/var/lib/vmprep/transactions", "not a directory\n");
  Result history = Vmsetup("history" + root);
  EXPECT_EQ(history.code, 3) << history.out;
  EXPECT_THAT(history.out, HasSubstr("/var/lib/vmprep/transactions"));
  EXPECT_THAT(history.out, Not(HasSubstr("usage:")));
}

// One manifest that cannot be read as one: history lists it as corrupt, naming the file and
// what is wrong; the other transactions stay listed and undoable; undoing the corrupt one is
// refused, naming the file.
TEST_F(VmsetupHistory, ACorruptManifestBlocksOnlyItsOwnTransaction) {
  // A second transaction, on another file, newer than the first.
  auto host = Host::Open(t_.str(), t_.str());
  ASSERT_TRUE(host.has_value());
  EditSet plan;
  FileEdit bridge;
  bridge.path = "/etc/qemu/bridge.conf";
  bridge.after = "allow br0\n";
  bridge.fixer = "qemu-bridge";
  plan.edits = {bridge};
  auto second = ApplyEditSet(*host, plan);
  ASSERT_TRUE(second.has_value()) << second.error().ToString();
  const std::string manifest = "/var/lib/vmprep/transactions/" + id_ + "/manifest.json";
  Spill(t_ / manifest, "{\"schema\": \"vmprep.transaction/1\", \"id\": ");  // cut short

  Result h = Vmsetup("history" + Root());
  EXPECT_EQ(h.code, 0) << h.out;
  EXPECT_THAT(h.out, HasSubstr(id_ + "  corrupt"));
  EXPECT_THAT(h.out, HasSubstr(manifest + ": not a transaction manifest"));
  EXPECT_THAT(h.out, HasSubstr(second->record.id));
  auto doc = nlohmann::json::parse(Vmsetup("history --json" + Root()).out);
  ASSERT_EQ(doc.size(), 2u);
  EXPECT_EQ(doc[0]["id"], id_);
  EXPECT_EQ(doc[0]["state"], "corrupt");
  EXPECT_THAT(doc[0]["problem"].get<std::string>(), HasSubstr(manifest));
  EXPECT_EQ(doc[1]["state"], "applied");

  Result bad = Vmsetup("undo --no-regenerate " + id_ + Root());
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_THAT(bad.out, HasSubstr(manifest));
  EXPECT_EQ(Slurp(t_ / "/etc/default/grub"),
            "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on\"\n");

  Result good = Vmsetup("undo --no-regenerate" + Root());
  EXPECT_EQ(good.code, 0) << good.out;
  EXPECT_THAT(good.out, HasSubstr("Undid transaction " + second->record.id));
  EXPECT_FALSE(fs::exists(t_ / "/etc/qemu/bridge.conf"));
  // Now the newest one not undone is the corrupt one: undo without a name refuses, naming it.
  Result next = Vmsetup("undo --no-regenerate" + Root());
  EXPECT_EQ(next.code, 1) << next.out;
  EXPECT_THAT(next.out, HasSubstr(manifest));
}

// Where a config file or directory should be there is something vmsetup must not write
// through: plan refuses (exit 1) naming the path and why, apply refuses with the same words,
// and nothing at all is written. (Before, plan exited 0, and apply failed or read a FIFO as
// an empty file.)
TEST(VmsetupCli, PlanAndApplyRefuseWhatCannotBeEdited) {
  struct Case {
    std::string name;
    std::function<void(const TempDir&)> make;
    std::string expected;  // in the refusal
  };
  auto socket_at = [](const fs::path& path) {
    int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string p = path.string();
    std::copy(p.begin(), p.end(), addr.sun_path);
    EXPECT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << p;
    ::close(sock);  // the socket file stays
  };
  std::vector<Case> cases = {
      {"fifo",
       [](const TempDir& t) {
         ASSERT_EQ(::mkfifo((t / "/etc/qemu/bridge.conf").c_str(), 0644), 0);
       },
       "/etc/qemu/bridge.conf: is a FIFO (named pipe), expected a regular file"},
      {"device",
       [](const TempDir& t) {
         ASSERT_EQ(::mknod((t / "/etc/qemu/bridge.conf").c_str(), S_IFCHR | 0644, ::makedev(1, 3)),
                   0);
       },
       "/etc/qemu/bridge.conf: is a character device, expected a regular file"},
      {"socket", [&](const TempDir& t) { socket_at(t / "/etc/qemu/bridge.conf"); },
       "/etc/qemu/bridge.conf: is a socket, expected a regular file"},
      {"directory", [](const TempDir& t) { fs::create_directories(t / "/etc/qemu/bridge.conf"); },
       "/etc/qemu/bridge.conf: is a directory, expected a regular file"},
      {"absolute link out",
       [](const TempDir& t) {
         fs::remove(t / "/etc/qemu");
         fs::create_directory_symlink(t / "/outside", t / "/etc/qemu");
       },
       "/etc/qemu: is a symbolic link to " + (fs::path(::testing::TempDir())).string()},
      {"relative link out",
       [](const TempDir& t) {
         fs::remove(t / "/etc/qemu");
         fs::create_directory_symlink("../../../../../../../../../outside", t / "/etc/qemu");
       },
       "/etc/qemu: is a symbolic link to ../../../../../../../../../outside, which leads out of "
       "the config root"},
      {"dangling link",
       [](const TempDir& t) {
         fs::remove(t / "/etc/qemu");
         fs::create_directory_symlink("qemu.d", t / "/etc/qemu");
       },
       "/etc/qemu: is a symbolic link to qemu.d, which does not exist inside the config root"},
      {"parent is a file",
       [](const TempDir& t) {
         fs::remove(t / "/etc/qemu");
         Spill(t / "/etc/qemu", "not a directory\n");
       },
       "/etc/qemu: is a regular file, expected a directory"},
  };
  for (const auto& c : cases) {
    TempDir t;
    fs::create_directories(t / "/etc/qemu");
    fs::create_directories(t / "/outside");  // beside the root's /etc: outside the config root?
    c.make(t);
    const std::string args = " --no-regenerate --enable bridge=br0 --root " + t.str();
    Result plan = Vmsetup("plan" + args);
    EXPECT_EQ(plan.code, 1) << c.name << "\n" << plan.out;
    EXPECT_THAT(plan.out, HasSubstr(c.expected)) << c.name;
    Result apply = Vmsetup("apply --yes" + args);
    EXPECT_EQ(apply.code, 1) << c.name << "\n" << apply.out;
    EXPECT_THAT(apply.out, HasSubstr(c.expected)) << c.name;
    EXPECT_FALSE(fs::exists(t / "/var/lib/vmprep/transactions")) << c.name;
    EXPECT_TRUE(fs::is_empty(t / "/outside")) << c.name;
  }
}

// --- post-actions ---

Host RealRoot() { return *Host::Open("/", "/"); }

TEST(PostActions, RunsByExecveAndReportsStatus) {
  EXPECT_TRUE(RunPostAction(RealRoot(), {{"true"}, ""}).has_value());
  auto failed = RunPostAction(RealRoot(), {{"false"}, ""});
  ASSERT_FALSE(failed.has_value());
  EXPECT_THAT(failed.error().message, HasSubstr("`false` exited with status 1"));
  auto missing = RunPostAction(RealRoot(), {{"vmprep-no-such-command"}, ""});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().errno_value, ENOENT);
  // A program's own status 127 is its status, not "could not be started".
  auto status127 = RunPostAction(RealRoot(), {{"sh", "-c", "exit 127"}, ""});
  ASSERT_FALSE(status127.has_value());
  EXPECT_THAT(status127.error().message, HasSubstr("exited with status 127"));
}

TEST(PostActions, NoShellEverReadsTheWords) {
  TempDir t;
  // Through a shell this would create "pwned"; by execve it is one literal file name.
  std::string odd = t.str() + "/$(echo pwned);x";
  ASSERT_TRUE(RunPostAction(RealRoot(), {{"touch", odd}, ""}).has_value());
  EXPECT_TRUE(fs::exists(odd));
  EXPECT_FALSE(fs::exists(t / "/pwned"));
  EXPECT_FALSE(fs::exists(t / "/pwned;x"));
  EXPECT_EQ(FormatArgv({"update-initramfs", "-u", "-k", "all"}), "update-initramfs -u -k all");
  EXPECT_EQ(FormatArgv({"echo", "a b", "it's", ""}), "echo 'a b' 'it'\\''s' ''");
}

// A config root that is not "/": the program is found in that tree and runs chrooted there.
TEST(PostActions, RunsInsideTheConfigRoot) {
  TempDir t;
  // A tree holding only `touch` under another name, and the libraries ldd says it needs.
  fs::create_directories(t / "/usr/sbin");
  fs::copy_file("/usr/bin/touch", t / "/usr/sbin/vmprep-test-touch");
  Result ldd = testing::RunCommand("ldd /usr/bin/touch");
  ASSERT_EQ(ldd.code, 0);
  std::istringstream lines(ldd.out);
  for (std::string line; std::getline(lines, line);) {
    std::size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string lib = line.substr(slash, line.find(' ', slash) - slash);
    fs::create_directories((t / lib).parent_path());
    fs::copy_file(lib, t / lib, fs::copy_options::overwrite_existing);
  }
  auto host = Host::Open("/", t.str());
  ASSERT_TRUE(host.has_value());
  auto r = RunPostAction(*host, {{"vmprep-test-touch", "/vmprep-marker"}, ""});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_TRUE(fs::exists(t / "/vmprep-marker"));
  EXPECT_FALSE(fs::exists("/vmprep-marker"));
  // Not in the real root's PATH, so only the config root could have provided it.
  EXPECT_FALSE(RunPostAction(RealRoot(), {{"vmprep-test-touch", "/tmp/x"}, ""}).has_value());
}

}  // namespace
}  // namespace vmprep
