// The [Install] section of unit files: Debian's libvirtd.service as shipped, and the
// syntax systemd.unit(5) allows (repeated keys, several names, an empty value resetting).
#include "formats/unit_install.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/test_files.h"

namespace vmprep {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(UnitInstall, DebiansLibvirtdServiceWantsMultiUserAndAlsoItsSockets) {
  auto text =
      testing::Corpus("systemd/debian-12_libvirt-daemon-system_9.0.0-4+deb12u2/libvirtd.service");
  auto install = ParseUnitInstall(text, "libvirtd.service");
  ASSERT_TRUE(install.has_value()) << install.error().ToString();
  EXPECT_THAT(install->wanted_by, ElementsAre("multi-user.target"));
  EXPECT_THAT(install->also, ElementsAre("virtlockd.socket", "virtlogd.socket", "libvirtd.socket",
                                         "libvirtd-ro.socket"));
  EXPECT_THAT(install->required_by, IsEmpty());
}

TEST(UnitInstall, RepeatedKeysListsResetsAndOtherSectionsIgnored) {
  auto install = ParseUnitInstall(
      "[Unit]\nWantedBy=ignored.target\n[Install]\n# comment\n; also a comment\n"
      "WantedBy=a.target b.target\nWantedBy=\nWantedBy=c.target\nRequiredBy=d.target\n"
      "Alias=x.service\n[Service]\nAlso=ignored.socket\n",
      "t.service");
  ASSERT_TRUE(install.has_value());
  EXPECT_THAT(install->wanted_by, ElementsAre("c.target"));
  EXPECT_THAT(install->required_by, ElementsAre("d.target"));
  EXPECT_THAT(install->also, IsEmpty());
}

TEST(UnitInstall, RefusesWhatItCannotReadWithTheLine) {
  auto no_eq = ParseUnitInstall("[Install]\nWantedBy\n", "u.service");
  ASSERT_FALSE(no_eq.has_value());
  EXPECT_EQ(no_eq.error().line, 2);
  auto slash = ParseUnitInstall("[Install]\n\nAlso=../../etc/passwd\n", "u.service");
  ASSERT_FALSE(slash.has_value());
  EXPECT_EQ(slash.error().line, 3);
  EXPECT_EQ(slash.error().path, "u.service");
  EXPECT_FALSE(ParseUnitInstall("[Install]\nWantedBy=a.target \\\n b.target\n", "u").has_value());
}

}  // namespace
}  // namespace vmprep
