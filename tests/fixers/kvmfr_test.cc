// kvmfr: the three files Looking Glass's documentation names, planned on a captured machine
// with the (out-of-tree) module loaded; apply, plan again (empty), undo (byte-identical);
// token edits of files that exist; a refusal when the kernel has no kvmfr module; the request.
#include "fixers/kvmfr.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixers/session.h"
#include "tests/checks/vm_test_util.h"
#include "tests/fixers/vfio_fixers_test_util.h"

namespace vmprep {
namespace {

using ::testing::HasSubstr;
using testing::VmMachine;

Host OpenHost(const VmMachine& m) {
  auto host = Host::Open(m.Runtime("").string(), m.Config("").string());
  EXPECT_TRUE(host.has_value());
  return std::move(*host);
}

FixerOptions Options(std::uint64_t mb, std::string user) {
  FixerOptions o;
  o.kvmfr = FixerOptions::Kvmfr{mb, std::move(user)};
  return o;
}

TEST(KvmfrFixer, WritesTheThreeFilesAppliesPlansNothingMoreUndoes) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.AddUsers();
  m.AddLoadedKvmfr(0, 0, 0600);
  Host host = OpenHost(m);
  auto plan = MakeKvmfrFixer()->Plan(host, Options(64, "alice"));
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  ASSERT_EQ(plan->edits.size(), 3u) << fixers_test::Describe(*plan);
  EXPECT_EQ(plan->edits[0].path, "/etc/modprobe.d/kvmfr.conf");
  EXPECT_EQ(*plan->edits[0].after,
            "# Looking Glass: kvmfr makes /dev/kvmfr0 of this many MiB (vmsetup)\n"
            "options kvmfr static_size_mb=64\n");
  EXPECT_EQ(plan->edits[1].path, "/etc/modules-load.d/kvmfr.conf");
  EXPECT_EQ(*plan->edits[1].after, "# Looking Glass's kvmfr module (vmsetup)\nkvmfr\n");
  EXPECT_EQ(plan->edits[2].path, "/etc/udev/rules.d/99-kvmfr.rules");
  EXPECT_EQ(*plan->edits[2].after,
            "# Looking Glass: /dev/kvmfr0 for QEMU and the client (vmsetup)\n"
            "SUBSYSTEM==\"kvmfr\", OWNER=\"alice\", GROUP=\"kvm\", MODE=\"0660\"\n");
  ASSERT_FALSE(plan->notes.empty());
  EXPECT_THAT(plan->notes.back(), HasSubstr("64 MiB fits Looking Glass up to 3440x1440"));
  const std::string id = fixers_test::Apply(host, *plan);
  auto again = MakeKvmfrFixer()->Plan(host, Options(64, "alice"));
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->empty()) << fixers_test::Describe(*again);
  fixers_test::Undo(host, id);
  for (const char* p : {"/etc/modprobe.d/kvmfr.conf", "/etc/modules-load.d/kvmfr.conf",
                        "/etc/udev/rules.d/99-kvmfr.rules"})
    EXPECT_FALSE(std::filesystem::exists(m.Config(p))) << p;
}

TEST(KvmfrFixer, EditsOnlyTheTokensOfFilesThatExist) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.AddUsers();
  m.AddLoadedKvmfr(0, 0, 0600);
  const std::string modprobe = "# mine\noptions kvmfr static_size_mb=32\n";
  const std::string rules =
      "# mine\nSUBSYSTEM==\"kvmfr\", OWNER=\"bob\", GROUP=\"kvm\", "
      "MODE=\"0660\"\nKERNEL==\"x\"\n";
  m.PutConfig("/etc/modprobe.d/kvmfr.conf", modprobe);
  m.PutConfig("/etc/modules", "# /etc/modules\nkvmfr\n");
  m.PutConfig("/etc/udev/rules.d/99-kvmfr.rules", rules);
  Host host = OpenHost(m);
  auto plan = MakeKvmfrFixer()->Plan(host, Options(128, ""));
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  ASSERT_EQ(plan->edits.size(), 2u) << "Debian's /etc/modules loads it already";
  EXPECT_EQ(*plan->edits[0].after, "# mine\noptions kvmfr static_size_mb=128\n");
  EXPECT_EQ(*plan->edits[1].after,
            "# mine\nSUBSYSTEM==\"kvmfr\", GROUP=\"kvm\", MODE=\"0660\"\nKERNEL==\"x\"\n");
  const std::string id = fixers_test::Apply(host, *plan);
  EXPECT_TRUE(MakeKvmfrFixer()->Plan(host, Options(128, ""))->empty());
  fixers_test::Undo(host, id);
  EXPECT_EQ(fixers_test::ReadAll(m.Config("/etc/modprobe.d/kvmfr.conf")), modprobe);
  EXPECT_EQ(fixers_test::ReadAll(m.Config("/etc/udev/rules.d/99-kvmfr.rules")), rules);
}

TEST(KvmfrFixer, RefusesWhatItCannotDo) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.AddUsers();
  Host host = OpenHost(m);
  // The captured kernel's module index has no kvmfr (it is not part of Linux).
  auto none = MakeKvmfrFixer()->Plan(host, Options(64, "alice"));
  ASSERT_FALSE(none.has_value());
  EXPECT_THAT(none.error().message, HasSubstr("has no kvmfr module"));
  EXPECT_THAT(none.error().message, HasSubstr("DKMS"));
  EXPECT_THAT(none.error().path, HasSubstr("/usr/lib/modules/"));
  m.AddLoadedKvmfr(0, 0, 0600);
  EXPECT_THAT(MakeKvmfrFixer()->Plan(host, Options(64, "bob")).error().message,
              HasSubstr("no user 'bob'"));
  // A later modprobe.d file would win over ours.
  m.PutConfig("/etc/modprobe.d/looking-glass.conf", "options kvmfr static_size_mb=16\n");
  auto later = MakeKvmfrFixer()->Plan(host, Options(64, ""));
  ASSERT_FALSE(later.has_value());
  EXPECT_EQ(later.error().path, "/etc/modprobe.d/looking-glass.conf");
}

TEST(KvmfrFixer, RequestTakesMibOrAResolutionAndAUser) {
  auto size = [](const char* item) -> std::string {
    auto r = ParseRequestArgs({"--enable", item});
    if (!r) return "error: " + r.error().message;
    return std::to_string(r->options.kvmfr->size_mb) + ":" + r->options.kvmfr->user;
  };
  EXPECT_EQ(size("kvmfr=64"), "64:");
  EXPECT_EQ(size("kvmfr=64:alice"), "64:alice");
  EXPECT_EQ(size("kvmfr=1920x1080"), "32:");  // 16.6 MB of frames + 10 MiB -> 32
  EXPECT_EQ(size("kvmfr=2560x1440:alice"), "64:alice");
  EXPECT_EQ(size("kvmfr=3840x2160"), "128:");
  for (const char* bad : {"kvmfr=48", "kvmfr=0", "kvmfr=2048", "kvmfr=64:-x",
                          "kvmfr=64:", "kvmfr=x1080", "kvmfr=big"})
    EXPECT_THAT(size(bad), HasSubstr("expected kvmfr=SIZE[:USER]")) << bad;
}

}  // namespace
}  // namespace vmprep
