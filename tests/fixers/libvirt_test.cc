// libvirt: on a config tree holding Debian 12's libvirt-daemon-system unit files
// (tests/corpus/systemd), the plan is the links `systemctl enable libvirtd.service` makes
// (WantedBy= of the unit and of every Also= unit); applied, they are symbolic links to the
// unit files and qemu.libvirt passes; planned again, nothing; undone, the tree is as before.
// And the transaction's side of links: a target that is not a unit file inside the root, a
// file where the link goes, and a failure half-way (rolled back, no temporary link left).
#include "fixers/libvirt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checks/probes/qemu.h"
#include "fixers/session.h"
#include "tests/fixers/vfio_fixers_test_util.h"
#include "tests/probe_test_util.h"

namespace vmprep {
namespace {

namespace fs = std::filesystem;
using fixers_test::Machine;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const char* kUnits = "systemd/debian-12_libvirt-daemon-system_9.0.0-4+deb12u2";
const char* kWants = "/etc/systemd/system/sockets.target.wants";

// The package's unit files where Debian installs them (the sysroot's /lib is usr/lib).
void InstallLibvirt(const Machine& m) {
  for (const auto& e : fs::directory_iterator(fixers_test::CorpusDir() / kUnits)) {
    std::string name = e.path().filename().string();
    m.PutCorpus("/lib/systemd/system/" + name, std::string(kUnits) + "/" + name);
  }
}

const Finding* LibvirtFinding(const Host& host, std::vector<Finding>& keep) {
  keep = QemuHostProbe().Run(host, ProbeContext{});
  return testing::FindById(keep, "qemu.libvirt");
}

std::vector<std::string> Links(const EditSet& set) {
  std::vector<std::string> out;
  for (const auto& e : set.edits)
    out.push_back(e.path + " -> " + e.after.value_or("") + (e.symlink ? "" : " (not a link)"));
  return out;
}

// A captured runtime with Debian 12's libvirt unit files installed in its config root.
class LibvirtTree : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(m.ok());
    InstallLibvirt(m);
  }
  Machine m{"kvm-svm"};
  Host host = m.OpenHost();
};

TEST_F(LibvirtTree, MakesTheLinksSystemctlEnableMakesAndUndoesThem) {
  std::vector<Finding> keep;
  const Finding* before = LibvirtFinding(host, keep);
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(before->severity, Severity::kWarn);
  EXPECT_EQ(before->fixer, "libvirt");
  EXPECT_THAT(before->hint, HasSubstr("vmsetup apply --enable libvirt"));
  auto request = ParseRequestArgs(before->vmsetup_args);
  ASSERT_TRUE(request.has_value());
  SessionPlan plan = MakePlan(host, *request);
  ASSERT_TRUE(plan.refusals.empty());
  EXPECT_THAT(
      Links(plan.edits),
      ElementsAre(
          "/etc/systemd/system/multi-user.target.wants/libvirtd.service -> "
          "/lib/systemd/system/libvirtd.service",
          std::string(kWants) + "/virtlockd.socket -> /lib/systemd/system/virtlockd.socket",
          std::string(kWants) + "/virtlogd.socket -> /lib/systemd/system/virtlogd.socket",
          std::string(kWants) + "/libvirtd.socket -> /lib/systemd/system/libvirtd.socket",
          std::string(kWants) + "/libvirtd-ro.socket -> /lib/systemd/system/libvirtd-ro.socket"));
  EXPECT_TRUE(plan.edits.actions.empty()) << "a captured tree is not the running system";
  EXPECT_THAT(UnifiedDiff(plan.edits.edits[1]),
              HasSubstr("+symbolic link -> /lib/systemd/system/virtlockd.socket"));
  EXPECT_FALSE(fs::exists(m.Path("/etc/systemd")));

  auto applied = Apply(host, *request, {.regenerate = false});
  ASSERT_EQ(applied.outcome, Outcome::kDone);
  EXPECT_EQ(fs::read_symlink(m.Path(std::string(kWants) + "/virtlogd.socket")),
            "/lib/systemd/system/virtlogd.socket");
  EXPECT_TRUE(
      fs::is_symlink(m.Path("/etc/systemd/system/multi-user.target.wants/libvirtd.service")));
  const Finding* after = LibvirtFinding(host, keep);
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->severity, Severity::kPass) << after->summary;
  EXPECT_TRUE(MakePlan(host, *request).NothingToDo());

  auto undone = Undo(host, applied.record.id, {.regenerate = false});
  EXPECT_EQ(undone.outcome, Outcome::kDone);
  EXPECT_FALSE(fs::exists(m.Path("/etc/systemd"))) << "links and the directories made for them";
  EXPECT_EQ(LibvirtFinding(host, keep)->severity, Severity::kWarn);
}

TEST(LibvirtFixer, KeepsALinkThatPointsElsewhereAndRefusesWithoutLibvirt) {
  Machine m("kvm-svm");
  ASSERT_TRUE(m.ok());
  FixerOptions o;
  o.libvirt = true;
  auto none = MakeLibvirtFixer()->Plan(m.OpenHost(), o);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().path, "/lib/systemd/system/libvirtd.service");
  InstallLibvirt(m);
  fs::create_directories(m.Path(kWants));
  fs::create_symlink("/dev/null", m.Path(std::string(kWants) + "/virtlogd.socket"));  // masked
  auto plan = MakeLibvirtFixer()->Plan(m.OpenHost(), o);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->edits.size(), 4u);
  EXPECT_THAT(fixers_test::Describe(*plan), HasSubstr("virtlogd.socket exists (-> /dev/null)"));
}

FileEdit Link(std::string path, std::string target) {
  FileEdit e{std::move(path), std::nullopt, std::move(target), 0777, "test", "a link"};
  e.symlink = true;
  return e;
}

TEST_F(LibvirtTree, ALinksTargetMustBeAFileInsideTheRootAndNothingMayStandInTheWay) {
  const std::string at = std::string(kWants) + "/libvirtd.socket";
  for (const char* bad : {"/lib/systemd/system/nothing.socket", "../../../etc/passwd",
                          "/lib/systemd/../systemd/system/libvirtd.socket", "/lib/systemd"}) {
    EditSet set;
    set.edits.push_back(Link(at, bad));
    auto r = ApplyEditSet(host, set);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_THAT(r.error().message, HasSubstr("expected an absolute plain path to a regular file"))
        << bad;
    EXPECT_FALSE(fs::is_symlink(m.Path(at)));
  }
  m.Put(at, "a file\n");
  EditSet set;
  set.edits.push_back(Link(at, "/lib/systemd/system/libvirtd.socket"));
  auto r = CheckEditSet(host, set);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("is a regular file, expected a symbolic link"));
  EXPECT_EQ(m.Get(at), "a file\n");
}

TEST_F(LibvirtTree, AFailureHalfWayRemovesTheLinksMadeSoFar) {
  EditSet set;
  for (const char* unit : {"virtlockd.socket", "virtlogd.socket", "libvirtd.socket"})
    set.edits.push_back(
        Link(std::string(kWants) + "/" + unit, std::string("/lib/systemd/system/") + unit));
  host.SetFaultHookForTesting([](std::string_view op, std::string_view path) {
    return op == "rename" && path.ends_with("/libvirtd.socket") ? EIO : 0;
  });
  auto r = ApplyEditSet(host, set);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("rolled back"));
  EXPECT_FALSE(fs::exists(m.Path("/etc/systemd"))) << "links, temporary links and directories";
  host.SetFaultHookForTesting(nullptr);
  auto ok = ApplyEditSet(host, set);
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_EQ(fs::read_symlink(m.Path(std::string(kWants) + "/libvirtd.socket")),
            "/lib/systemd/system/libvirtd.socket");
}

}  // namespace
}  // namespace vmprep
