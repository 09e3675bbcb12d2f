// A user's access to /dev/kvm (kvm.device) and to the VFIO nodes (vfio.access), judged for
// `--user alice` on captured trees: the failure names the node, its mode and owner, and the
// device-access fixer's request; that request's plan mends it (pass, or pending until udev
// applies the rule), and the nodes as udev then leaves them pass.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "checks/probes/kvm.h"
#include "checks/probes/vfio.h"
#include "fixers/session.h"
#include "system/device_access.h"
#include "tests/fixers/vfio_fixers_test_util.h"
#include "tests/probe_test_util.h"

namespace vmprep {
namespace {

namespace fs = std::filesystem;
using fixers_test::Machine;
using ::testing::HasSubstr;

void Accounts(const Machine& m) {
  m.Put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n");
  m.Put("/etc/group", "root:x:0:\nkvm:x:105:\nalice:x:1000:\n");
  m.Put("/etc/gshadow", "root:*::\nkvm:!::\nalice:!::\n", 0640);
}

// The finding `id` of `probe` for `user` (looked up again each time: group files change).
Finding Judge(const Probe& probe, const Host& host, const std::string& user, std::string_view id,
              std::vector<std::string> devices = {}) {
  ProbeContext context;
  auto who = LookupIdentity(host, user);
  EXPECT_TRUE(who.has_value());
  context.identity = *who;
  context.devices = std::move(devices);
  auto findings = probe.Run(host, context);
  const Finding* f = testing::FindById(findings, id);
  EXPECT_NE(f, nullptr) << id;
  return f ? *f : Finding{};
}

// Applies the finding's own request; returns the transaction id.
std::string ApplyItsRequest(const Host& host, const Finding& f) {
  auto request = ParseRequestArgs(f.vmsetup_args);
  EXPECT_TRUE(request.has_value());
  SessionPlan plan = MakePlan(host, *request);
  EXPECT_TRUE(plan.refusals.empty());
  EXPECT_FALSE(plan.NothingToDo()) << f.id << ": the request plans nothing";
  auto applied = Apply(host, *request, {.regenerate = false});
  EXPECT_EQ(applied.outcome, Outcome::kDone);
  return applied.record.id;
}

// What udev does with the rule: the node's group and mode.
void Udev(const Machine& m, const std::string& node, gid_t gid, mode_t mode) {
  fs::path p = fs::path(m.runtime()) / node.substr(1);
  ASSERT_EQ(::chown(p.c_str(), 0, gid), 0) << p;
  fs::permissions(p, static_cast<fs::perms>(mode));
}

TEST(KvmDeviceForAUser, NotInTheGroupNamesTheAccessFixerWhosePlanMendsIt) {
  Machine m("kvm-svm");  // /dev/kvm 0660 root:105
  ASSERT_TRUE(m.ok());
  Accounts(m);
  Host host = m.OpenHost();
  KvmProbe kvm;
  Finding f = Judge(kvm, host, "alice", "kvm.device");
  EXPECT_EQ(f.severity, Severity::kFail);
  EXPECT_THAT(f.summary, HasSubstr("alice may not open it"));
  EXPECT_THAT(f.hint, HasSubstr("`vmsetup apply --enable access=alice`"));
  EXPECT_EQ(f.fixer, "device-access");
  std::string id = ApplyItsRequest(host, f);
  EXPECT_EQ(Judge(kvm, host, "alice", "kvm.device").severity, Severity::kPass);
  EXPECT_EQ(Undo(host, id, {.regenerate = false}).outcome, Outcome::kDone);
  EXPECT_EQ(Judge(kvm, host, "alice", "kvm.device").severity, Severity::kFail);
  EXPECT_EQ(Judge(kvm, host, "root", "kvm.device").severity, Severity::kPass);
}

TEST(KvmDeviceForAUser, ANodeWithoutAGroupGetsTheRuleAndIsPendingUntilUdev) {
  Machine m("kvm-svm");
  ASSERT_TRUE(m.ok());
  Accounts(m);
  Udev(m, "/dev/kvm", 0, 0600);
  Host host = m.OpenHost();
  KvmProbe kvm;
  Finding f = Judge(kvm, host, "alice", "kvm.device");
  EXPECT_EQ(f.severity, Severity::kFail);
  EXPECT_THAT(f.hint, HasSubstr("mode 0600 group root"));
  ApplyItsRequest(host, f);
  EXPECT_THAT(m.Get(std::string(kDeviceAccessRules)),
              HasSubstr("KERNEL==\"kvm\", GROUP=\"kvm\", MODE=\"0660\""));
  Finding pending = Judge(kvm, host, "alice", "kvm.device");
  EXPECT_TRUE(pending.pending);
  EXPECT_EQ(pending.severity, Severity::kWarn);
  EXPECT_THAT(pending.hint, HasSubstr("udevadm trigger --sysname-match=kvm"));
  Udev(m, "/dev/kvm", 105, 0660);
  EXPECT_EQ(Judge(kvm, host, "alice", "kvm.device").severity, Severity::kPass);
}

TEST(VfioAccess, ARootOnlyGroupNodeFailsNamingItThenPendingThenPasses) {
  Machine m("vfio-bound");  // /dev/vfio/8 0600 root:root, /dev/vfio/vfio 0666
  ASSERT_TRUE(m.ok());
  Accounts(m);
  Host host = m.OpenHost();
  VfioProbe vfio;
  EXPECT_EQ(Judge(vfio, host, "root", "vfio.access").severity, Severity::kPass);
  Finding f = Judge(vfio, host, "alice", "vfio.access");
  EXPECT_EQ(f.severity, Severity::kFail);
  EXPECT_EQ(f.summary, "alice may not open /dev/vfio/8 read-write");
  EXPECT_THAT(testing::Text(f), HasSubstr("/dev/vfio/8: captured node, mode 0600, owner root"));
  EXPECT_THAT(testing::Text(f), HasSubstr("/dev/vfio/vfio: captured node, mode 0666"));
  EXPECT_THAT(f.hint, HasSubstr("vmsetup apply --enable access=alice"));
  std::string id = ApplyItsRequest(host, f);
  Finding pending = Judge(vfio, host, "alice", "vfio.access");
  EXPECT_TRUE(pending.pending) << pending.summary;
  EXPECT_THAT(pending.summary, HasSubstr(std::string(kDeviceAccessRules)));
  EXPECT_EQ(Undo(host, id, {.regenerate = false}).outcome, Outcome::kDone);
  EXPECT_EQ(Judge(vfio, host, "alice", "vfio.access").severity, Severity::kFail);
  ApplyItsRequest(host, f);
  Udev(m, "/dev/vfio/8", 105, 0660);
  EXPECT_EQ(Judge(vfio, host, "alice", "vfio.access").severity, Severity::kPass);
}

TEST(VfioAccess, AGroupNodeNotMadeYetIsAWarningUntilTheRuleGivesIt) {
  Machine m("intel-iommu");  // 02:00.0 on e1000e: no /dev/vfio/N yet
  ASSERT_TRUE(m.ok());
  Accounts(m);
  Host host = m.OpenHost();
  VfioProbe vfio;
  Finding f = Judge(vfio, host, "alice", "vfio.access", {"0000:02:00.0"});
  EXPECT_EQ(f.severity, Severity::kWarn);
  EXPECT_FALSE(f.pending);
  EXPECT_THAT(f.summary, HasSubstr("will not be able to open /dev/vfio/"));
  EXPECT_EQ(f.fixer, "device-access");
  ApplyItsRequest(host, f);
  EXPECT_EQ(Judge(vfio, host, "alice", "vfio.access", {"0000:02:00.0"}).severity, Severity::kPass);
}

}  // namespace
}  // namespace vmprep
