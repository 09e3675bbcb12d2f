// accept.conf: entries, lossless text, and every bad line named by file:line with what was
// expected there.
#include "formats/accept_conf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vmprep {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kPath = "/etc/vmprep/accept.conf";

TEST(AcceptConf, ReadsIdsAndReasonsSkippingCommentsAndBlankLines) {
  const std::string text =
      "# accepted by the admins\n"
      "\n"
      "qemu.ovmf   NIC passthrough only # no UEFI guests\n"
      "  \t# indented comment\n"
      "isolation.0000:01:00.0\tthe audio function shares the group, passed through too\r\n"
      "vhost_net.boot loaded on demand";
  auto conf = AcceptConf::Parse(text, kPath);
  ASSERT_TRUE(conf.has_value()) << conf.error().ToString();
  ASSERT_EQ(conf->entries().size(), 3u);
  EXPECT_EQ(conf->entries()[0].line, 3);
  EXPECT_EQ(conf->entries()[0].id, "qemu.ovmf");
  // '#' inside the reason is part of it; the reason is trimmed.
  EXPECT_EQ(conf->entries()[0].reason, "NIC passthrough only # no UEFI guests");
  EXPECT_EQ(conf->entries()[1].line, 5);
  EXPECT_EQ(conf->entries()[1].id, "isolation.0000:01:00.0");
  EXPECT_EQ(conf->entries()[1].reason, "the audio function shares the group, passed through too");
  EXPECT_EQ(conf->entries()[2].id, "vhost_net.boot");
  EXPECT_EQ(conf->Serialize(), text);  // lossless
}

TEST(AcceptConf, EmptyFileHasNoEntries) {
  auto conf = AcceptConf::Parse("", kPath);
  ASSERT_TRUE(conf.has_value());
  EXPECT_TRUE(conf->entries().empty());
}

TEST(AcceptConf, BadLinesNameFileLineAndWhatWasExpected) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"qemu.ovmf ok\nqemu ovmf\n",
                "/etc/vmprep/accept.conf:2: 'qemu' is not a finding id; expected 'ID REASON'"},
           Case{"\n\nqemu.ovmf\n",
                "/etc/vmprep/accept.conf:3: qemu.ovmf has no reason; expected 'qemu.ovmf REASON'"},
           Case{"qemu.ovmf a\nkvm.cpu b\nqemu.ovmf c\n",
                "/etc/vmprep/accept.conf:3: qemu.ovmf is already accepted on line 1"},
           Case{"QEMU.ovmf reason\n", "/etc/vmprep/accept.conf:1: 'QEMU.ovmf' is not a finding id"},
           Case{"qemu.ovmf/x reason\n", "accept.conf:1: 'qemu.ovmf/x' is not a finding id"},
           Case{".ovmf reason\n", "accept.conf:1: '.ovmf' is not a finding id"},
           Case{"qemu. reason\n", "accept.conf:1: 'qemu.' is not a finding id"},
       }) {
    auto conf = AcceptConf::Parse(c.text, kPath);
    ASSERT_FALSE(conf.has_value()) << c.text;
    EXPECT_THAT(conf.error().ToString(), HasSubstr(c.message)) << c.text;
  }
}

TEST(AcceptConf, FindingIdsAsVmcheckPrintsThem) {
  for (const char* id : {"kvm.device", "iommu.interrupt-remapping", "vfio.binding.0000:02:00.0",
                         "vhost_net.module", "guest.virtio_blk", "isolation.0000:01:00.0"}) {
    EXPECT_TRUE(IsFindingId(id)) << id;
  }
  for (const char* id : {"", "kvm", "kvm.", ".device", "Kvm.device", "kvm.dev ice", "kvm.dev/x"}) {
    EXPECT_FALSE(IsFindingId(id)) << id;
  }
}

}  // namespace
}  // namespace vmprep
