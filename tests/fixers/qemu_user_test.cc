// qemu-user: the one `user =` line libvirt reads is changed (or one is appended), plan again
// is empty, undo restores the bytes; and it mends the vm.audio finding that names it.
#include "fixers/qemu_user.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixers/session.h"
#include "tests/checks/vm_test_util.h"
#include "tests/fixers/vfio_fixers_test_util.h"

namespace vmprep {
namespace {

using fixers_test::Machine;
using ::testing::HasSubstr;

const char* kConf =
    "# Master configuration file for the QEMU driver.\n#user = \"root\"\n"
    "user = \"libvirt-qemu\"   # Debian's\ngroup = \"kvm\"\n";

void AddUsers(Machine& m) {
  m.Put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n");
  m.Put("/etc/group", "root:x:0:\nkvm:x:105:\n");
}

TEST(QemuUserFixer, ChangesTheLineLibvirtReadsAndUndoes) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  AddUsers(m);
  m.Put("/etc/libvirt/qemu.conf", kConf);
  Host host = m.OpenHost();
  FixerOptions o;
  o.qemu_user = "alice";
  auto plan = MakeQemuUserFixer()->Plan(host, o);
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  ASSERT_EQ(plan->edits.size(), 1u);
  EXPECT_EQ(*plan->edits[0].after,
            "# Master configuration file for the QEMU driver.\n#user = \"root\"\n"
            "user = \"alice\"\ngroup = \"kvm\"\n");
  std::string id = fixers_test::Apply(host, *plan);
  auto again = MakeQemuUserFixer()->Plan(host, o);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->empty());
  fixers_test::Undo(host, id);
  EXPECT_EQ(fixers_test::ReadAll(m.Path("/etc/libvirt/qemu.conf")), kConf);
}

TEST(QemuUserFixer, AppendsWhenUnsetRefusesWhatItCannotDo) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  AddUsers(m);
  Host host = m.OpenHost();
  FixerOptions o;
  o.qemu_user = "alice";
  auto none = MakeQemuUserFixer()->Plan(host, o);
  ASSERT_FALSE(none.has_value());
  EXPECT_THAT(none.error().message, HasSubstr("libvirt is not installed"));
  m.Put("/etc/libvirt/qemu.conf", "#user = \"root\"");
  auto plan = MakeQemuUserFixer()->Plan(host, o);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(*plan->edits[0].after,
            "#user = \"root\"\n# vmprep: QEMU runs as the desktop user (sound server, Looking "
            "Glass)\nuser = \"alice\"\n");
  o.qemu_user = "bob";
  EXPECT_THAT(MakeQemuUserFixer()->Plan(host, o).error().message, HasSubstr("no user 'bob'"));
  o.qemu_user = "alice";
  m.Put("/etc/libvirt/qemu.conf", "user = \"a\"\nsecurity_driver\n");
  auto bad = MakeQemuUserFixer()->Plan(host, o);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().line, 2);
  EXPECT_FALSE(ParseRequestArgs({"--enable", "qemu-user=-x"}).has_value());
}

TEST(QemuUserFixer, MendsTheAudioFindingThatNamesIt) {
  testing::VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.AddUsers();
  m.PutConfig("/etc/libvirt/qemu.conf", kConf);
  m.AddSocket("/run/user/1000/pulse/native", 1000);
  const std::string xml = testing::DomainXml(
      "<audio id='1' type='pulseaudio' serverName='/run/user/1000/pulse/native'/>\n");
  auto before = m.Judge(xml);
  const Finding* f = testing::FindById(before, "vm.audio.t");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kWarn);
  ASSERT_EQ(f->fixer, kFixQemuUser);
  auto request = ParseRequestArgs(f->vmsetup_args);
  ASSERT_TRUE(request.has_value());
  auto host = Host::Open(m.Runtime("").string(), m.Config("").string());
  ASSERT_TRUE(host.has_value());
  auto plan = MakeQemuUserFixer()->Plan(*host, request->options);
  ASSERT_TRUE(plan.has_value());
  fixers_test::Apply(*host, *plan);
  EXPECT_THAT(m.Rule(xml, "vm.audio"), ::testing::ElementsAre("vm.audio.t:pass"));
}

}  // namespace
}  // namespace vmprep
