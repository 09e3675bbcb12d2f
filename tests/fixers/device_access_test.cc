// device-access: one member added to the kvm group's lines (the group of the captured
// /dev/kvm, gid 105), the VFIO udev rule, plan again empty, undo byte-identical; and the
// group-file edit on its own.
#include "fixers/device_access.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixers/session.h"
#include "formats/group_file.h"
#include "system/device_access.h"
#include "tests/fixers/vfio_fixers_test_util.h"

namespace vmprep {
namespace {

using fixers_test::Machine;
using ::testing::HasSubstr;

const char* kGroup = "root:x:0:\nkvm:x:105:bob\nalice:x:1000:\n";
const char* kGshadow = "root:*::\nkvm:!::bob\nalice:!::\n";

void Accounts(Machine& m) {
  m.Put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n");
  m.Put("/etc/group", kGroup);
  m.Put("/etc/gshadow", kGshadow, 0640);
}

TEST(DeviceAccessFixer, JoinsTheGroupOfDevKvmAndGivesItVfio) {
  Machine m("kvm-svm");
  ASSERT_TRUE(m.ok());
  Accounts(m);
  Host host = m.OpenHost();
  auto request = ParseRequestArgs({"--enable", "access=alice"});
  ASSERT_TRUE(request.has_value()) << request.error().ToString();
  auto plan = MakeDeviceAccessFixer()->Plan(host, request->options);
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  ASSERT_EQ(plan->edits.size(), 3u);
  EXPECT_EQ(*plan->edits[0].after, "root:x:0:\nkvm:x:105:bob,alice\nalice:x:1000:\n");
  EXPECT_EQ(*plan->edits[1].after, "root:*::\nkvm:!::bob,alice\nalice:!::\n");
  EXPECT_EQ(plan->edits[2].path, kDeviceAccessRules);
  EXPECT_THAT(*plan->edits[2].after,
              HasSubstr("SUBSYSTEM==\"vfio\", GROUP=\"kvm\", MODE=\"0660\""));
  std::string id = fixers_test::Apply(host, *plan);
  EXPECT_EQ(
      std::filesystem::status(m.Path("/etc/gshadow")).permissions() & std::filesystem::perms::all,
      static_cast<std::filesystem::perms>(0640));
  auto again = MakeDeviceAccessFixer()->Plan(host, request->options);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->empty());
  fixers_test::Undo(host, id);
  EXPECT_EQ(m.Get("/etc/group"), kGroup);
  EXPECT_EQ(m.Get("/etc/gshadow"), kGshadow);
  EXPECT_FALSE(m.Has(std::string(kDeviceAccessRules)));
}

TEST(DeviceAccessFixer, RefusesAnUnknownUserOrAMissingGroup) {
  Machine m("kvm-unloaded");  // no /dev/kvm
  ASSERT_TRUE(m.ok());
  Accounts(m);
  FixerOptions o;
  o.access_user = "carol";
  EXPECT_THAT(MakeDeviceAccessFixer()->Plan(m.OpenHost(), o).error().message,
              HasSubstr("no user 'carol'"));
  o.access_user = "alice";
  EXPECT_TRUE(MakeDeviceAccessFixer()->Plan(m.OpenHost(), o).has_value());  // kvm by name
  m.Put("/etc/group", "root:x:0:\n");
  EXPECT_THAT(MakeDeviceAccessFixer()->Plan(m.OpenHost(), o).error().message,
              HasSubstr("no kvm group"));
}

TEST(GroupFile, AddsOneMemberAndKeepsEveryOtherByte) {
  EXPECT_EQ(AddGroupMember("a:x:1:\nkvm:x:2:\n", "g", "kvm", "u").value(),
            std::optional<std::string>("a:x:1:\nkvm:x:2:u\n"));
  EXPECT_EQ(AddGroupMember("kvm:x:2:u,v", "g", "kvm", "v").value(), std::nullopt);
  EXPECT_EQ(AddGroupMember("kvmx:x:3:\nkvm:x:2:a", "g", "kvm", "u").value(),
            std::optional<std::string>("kvmx:x:3:\nkvm:x:2:a,u"));
  auto short_line = AddGroupMember("kvm:x\n", "/etc/group", "kvm", "u");
  ASSERT_FALSE(short_line.has_value());
  EXPECT_EQ(short_line.error().line, 1);
  EXPECT_FALSE(AddGroupMember("a:x:1:\n", "/etc/group", "kvm", "u").has_value());
}

}  // namespace
}  // namespace vmprep
