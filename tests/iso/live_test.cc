// The live ISO helper's pure parts: boot options, device specs, fstab selection, and the
// mount-point check on a tree with hostile symlinks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "core/host.h"
#include "iso/live/block.h"
#include "iso/live/devlinks.h"
#include "iso/live/fstab.h"
#include "iso/live/installed.h"
#include "iso/live/options.h"

namespace vmprep::live {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(LiveOptions, ReadsOurKeysFromEverySource) {
  auto parsed = ParseLiveOptions(
      {"BOOT_IMAGE=/boot/vmlinuz quiet vmprep.fix=UUID=0b5c-11 vmprep.device=01:00.0,01:00.1\n",
       "vmprep.device=0000:01:00.0 vmprep.enable=iommu,hugepages=1G:4 vmprep.save=LABEL=VMPREP "
       "vmprep.then=poweroff"});
  EXPECT_THAT(parsed.problems, IsEmpty());
  const LiveOptions& o = parsed.options;
  EXPECT_EQ(o.fix, "UUID=0b5c-11");
  EXPECT_THAT(o.devices, ElementsAre("0000:01:00.0", "0000:01:00.1"));
  EXPECT_THAT(o.enable, ElementsAre("iommu", "hugepages=1G:4"));
  EXPECT_EQ(o.save, "LABEL=VMPREP");
  EXPECT_EQ(o.then, "poweroff");
  EXPECT_EQ(FormatOptions(o),
            "fix=UUID=0b5c-11\ndevice=0000:01:00.0\ndevice=0000:01:00.1\n"
            "enable=iommu,hugepages=1G:4\nsave=LABEL=VMPREP\nthen=poweroff\n");
}

TEST(LiveOptions, RefusesValuesAShellCouldMisread) {
  auto parsed = ParseLiveOptions(
      {"vmprep.fix=/dev/sda1;reboot vmprep.fix=/dev/../etc/shadow vmprep.save=$(id) "
       "vmprep.device=01:00.0x vmprep.then=shell vmprep.enable=iommu,`x` vmprep.colour=red "
       "vmprep.fix"});
  const LiveOptions& o = parsed.options;
  EXPECT_EQ(o.fix, "");
  EXPECT_EQ(o.save, "");
  EXPECT_THAT(o.devices, IsEmpty());
  EXPECT_EQ(o.then, "");
  EXPECT_THAT(o.enable, ElementsAre("iommu"));
  ASSERT_EQ(parsed.problems.size(), 8u);
  EXPECT_THAT(parsed.problems[0], HasSubstr("'vmprep.fix=/dev/sda1;reboot'"));
  EXPECT_THAT(parsed.problems[3], HasSubstr("'01:00.0x' is not a PCI address"));
  EXPECT_THAT(parsed.problems[6], HasSubstr("unknown option"));
  // Nothing that is not ours is printed for the init script.
  EXPECT_EQ(FormatOptions(o), "enable=iommu\n");
}

TEST(LiveOptions, DeviceSpecs) {
  for (const char* good : {"/dev/sda1", "/dev/nvme0n1p2", "/dev/mapper/vg-root", "UUID=abcd-EF01",
                           "LABEL=VMPREP", "PARTUUID=0b5c11-03", "PARTLABEL=ESP"}) {
    EXPECT_TRUE(IsDeviceSpec(good)) << good;
  }
  for (const char* bad : {"", "/dev/", "/dev/../sda", "/dev//sda", "/etc/fstab", "sda1",
                          "UUID=", "LABEL=a b", "TYPE=ext4", "LABEL=x;y", "/dev/sda1\n"}) {
    EXPECT_FALSE(IsDeviceSpec(bad)) << bad;
  }
}

std::vector<BlockFs> Machine() {
  auto fs = [](std::string name, std::string type, std::string label, std::string uuid,
               std::string partuuid, std::string partlabel) {
    BlockFs b;
    b.name = name;
    b.device = "/dev/" + name;
    b.type = std::move(type);
    b.label = std::move(label);
    b.uuid = std::move(uuid);
    b.partuuid = std::move(partuuid);
    b.partlabel = std::move(partlabel);
    return b;
  };
  return {fs("vda1", "vfat", "ESP", "A1B2-C3D4", "aa-01", "EFI system"),
          fs("vda2", "ext4", "boot", "1111-aaaa", "aa-02", ""),
          fs("vda3", "ext4", "root", "2222-bbbb", "aa-03", "root"),
          fs("vdb1", "ext4", "root", "3333-cccc", "bb-01", "")};
}

TEST(LiveBlock, ResolvesSpecsAsFstabAndUdevNameThem) {
  auto m = Machine();
  EXPECT_EQ(ResolveSpec(m, "UUID=a1b2-c3d4")->device, "/dev/vda1");  // case-insensitive
  EXPECT_EQ(ResolveSpec(m, "UUID=\"1111-aaaa\"")->device, "/dev/vda2");
  EXPECT_EQ(ResolveSpec(m, "PARTUUID=AA-03")->device, "/dev/vda3");
  EXPECT_EQ(ResolveSpec(m, "PARTLABEL=root")->device, "/dev/vda3");
  EXPECT_EQ(ResolveSpec(m, "/dev/disk/by-partlabel/EFI\\x20system")->device, "/dev/vda1");
  EXPECT_EQ(ResolveSpec(m, "/dev/disk/by-uuid/2222-bbbb")->device, "/dev/vda3");
  EXPECT_EQ(ResolveSpec(m, "/dev/vdb1")->device, "/dev/vdb1");
  auto twice = ResolveSpec(m, "LABEL=root");
  ASSERT_FALSE(twice);
  EXPECT_THAT(twice.error().message, HasSubstr("more than one device (/dev/vda3, /dev/vdb1)"));
  auto none = ResolveSpec(m, "UUID=ffff");
  ASSERT_FALSE(none);
  EXPECT_THAT(none.error().message, HasSubstr("no file system on this machine matches"));
  EXPECT_FALSE(ResolveSpec(m, "TYPE=ext4"));
  EXPECT_FALSE(ResolveSpec(m, "/dev/sda9"));
}

TEST(LiveBlock, PrintableAndSizes) {
  EXPECT_EQ(Printable("ok \x1b[31mred\x07\xc3\xa9"), "ok ?[31mred???");
  EXPECT_EQ(HumanSize(512), "512 B");
  EXPECT_EQ(HumanSize(64ull << 20), "64 MiB");
  EXPECT_EQ(HumanSize(1536ull << 20), "1.5 GiB");
}

TEST(LiveDevLinks, NamesAsUdevEncodesThem) {
  EXPECT_EQ(UdevEncode("EFI system"), "EFI\\x20system");
  EXPECT_EQ(UdevEncode("../etc"), "..\\x2fetc");
  EXPECT_EQ(UdevEncode("A1B2-C3D4"), "A1B2-C3D4");
  EXPECT_EQ(UdevEncode("r@o_t#1+:=."), "r@o_t#1+:=.");
  EXPECT_EQ(UdevEncode("\xc3\xa9"), "\\xc3\\xa9");
}

TEST(LiveFstab, TakesOnlyTheBootConfigurationMounts) {
  // A Debian fstab (escapes, comments, swap) plus entries a hostile or odd system could add.
  std::string fstab =
      "# /etc/fstab: static file system information.\n"
      "UUID=2222-bbbb /               ext4    errors=remount-ro 0       1\n"
      "# /boot/efi was on /dev/vda1 during installation\n"
      "UUID=A1B2-C3D4  /boot/efi       vfat    umask=0077      0       1\n"
      "UUID=1111-aaaa /boot/ ext4 defaults 0 2\n"
      "/dev/vdb1 /home ext4 defaults 0 2\n"
      "UUID=9999 none swap sw 0 0\n"
      "/srv/usr /usr none bind 0 0\n"
      "server:/export /efi nfs defaults 0 0\n"
      "/dev/disk/by-label/my\\040data /mnt/data ext4 defaults 0 2\n"
      "tmpfs /tmp tmpfs defaults 0 0\n";
  auto plan = PlanFstabMounts(fstab, "/etc/fstab");
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->root_spec, "UUID=2222-bbbb");
  ASSERT_EQ(plan->mounts.size(), 2u);
  EXPECT_EQ(plan->mounts[0].target, "/boot");
  EXPECT_EQ(plan->mounts[0].spec, "UUID=1111-aaaa");
  EXPECT_EQ(plan->mounts[0].fstype, "ext4");
  EXPECT_EQ(plan->mounts[1].target, "/boot/efi");
  EXPECT_EQ(plan->mounts[1].spec, "UUID=A1B2-C3D4");
  EXPECT_EQ(plan->mounts[1].options, "");  // umask is not ours to pass on
  EXPECT_THAT(plan->notes, ElementsAre(HasSubstr("/srv/usr on /usr: a bind mount"),
                                       HasSubstr("server:/export on /efi: not a local disk")));
}

TEST(LiveFstab, KeepsBtrfsSubvolumesAndRefusesOddOnes) {
  auto plan = PlanFstabMounts(
      "UUID=r / btrfs subvol=@,compress=zstd 0 0\nUUID=r /usr btrfs subvol=@usr,ssd 0 0\n",
      "/etc/fstab");
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->mounts.size(), 1u);
  EXPECT_EQ(plan->mounts[0].options, "subvol=@usr");
  auto odd = PlanFstabMounts("UUID=r /boot btrfs subvol=@$(id) 0 0\n", "/etc/fstab");
  ASSERT_FALSE(odd);
  EXPECT_THAT(odd.error().message, HasSubstr("subvol= holds characters"));
  EXPECT_TRUE(PlanFstabMounts("", "/etc/fstab")->mounts.empty());
}

class LiveMountPoint : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vmprep-live-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto host = Host::Open("/", dir_);
    ASSERT_TRUE(host);
    ASSERT_TRUE(host->MakeDirs(Root::kConfig, "/boot/efi"));
    ASSERT_TRUE(host->MakeDirs(Root::kConfig, "/real"));
    ASSERT_TRUE(host->WriteAtomic(Root::kConfig, "/usr", "not a directory\n", {}));
    ASSERT_EQ(::symlink("/real", (dir_ + "/efi").c_str()), 0);
    ASSERT_EQ(::symlink("../../../../../tmp", (dir_ + "/boot/up").c_str()), 0);
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string dir_;
};

TEST_F(LiveMountPoint, OnlyPlainDirectoriesInsideTheTree) {
  EXPECT_TRUE(CheckMountPoint(dir_, "/boot"));
  EXPECT_TRUE(CheckMountPoint(dir_, "/boot/efi"));
  auto link = CheckMountPoint(dir_, "/efi");
  ASSERT_FALSE(link);
  EXPECT_THAT(link.error().message, HasSubstr("/efi in the installed system is not a plain"));
  EXPECT_FALSE(CheckMountPoint(dir_, "/boot/up"));
  EXPECT_FALSE(CheckMountPoint(dir_, "/usr"));
  auto missing = CheckMountPoint(dir_, "/proc");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("has no directory /proc"));
}

}  // namespace
}  // namespace vmprep::live
