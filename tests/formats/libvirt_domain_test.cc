// The domain parser on libvirt's own test domains and real users' domains
// (tests/corpus/libvirt, see PROVENANCE.md), and on broken input.
#include "formats/libvirt_domain.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "formats/libvirt_conf.h"

namespace vmprep {
namespace {

using ::testing::HasSubstr;

std::string Corpus(const std::string& name) {
  std::ifstream in(std::string(VMPREP_SOURCE_DIR) + "/tests/corpus/libvirt/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Domain Parse(const std::string& name) {
  auto d = ParseDomainXml(Corpus(name), name);
  EXPECT_TRUE(d.has_value()) << name << ": " << (d ? "" : d.error().ToString());
  return d ? *d : Domain{};
}

TEST(LibvirtDomain, LibvirtsHostdevTest) {
  Domain d = Parse("libvirt-hostdev-vfio.xml");
  EXPECT_EQ(d.name, "QEMUGuest2");
  EXPECT_EQ(d.memory_kb, 219100u);
  ASSERT_EQ(d.hostdevs.size(), 4u);
  EXPECT_EQ(d.hostdevs[0].address, (DomainPciAddress{0, 6, 0x12, 1}));
  EXPECT_TRUE(d.hostdevs[0].managed);
  EXPECT_EQ(d.hostdevs[3].address.function, 4u);
  EXPECT_EQ(d.hostdevs[0].line, 27);
  ASSERT_EQ(d.disks.size(), 1u);
  EXPECT_EQ(d.disks[0].bus, "ide");
  EXPECT_EQ(d.disks[0].address_type, "drive");
}

TEST(LibvirtDomain, HugepagesVirtiofsAudioShmem) {
  Domain hp = Parse("libvirt-hugepages-default.xml");
  EXPECT_TRUE(hp.memory_backing.hugepages);
  EXPECT_TRUE(hp.memory_backing.pages.empty());
  Domain numa = Parse("libvirt-hugepages-numa-default-2M.xml");
  ASSERT_EQ(numa.memory_backing.pages.size(), 1u);
  EXPECT_EQ(numa.memory_backing.pages[0].size_kb, 2048u);
  Domain fs = Parse("libvirt-vhost-user-fs-fd-memory.xml");
  ASSERT_EQ(fs.filesystems.size(), 1u);
  EXPECT_EQ(fs.filesystems[0].driver, "virtiofs");
  EXPECT_EQ(fs.filesystems[0].source_dir, "/path");
  EXPECT_EQ(fs.memory_backing.access_mode, "shared");
  Domain audio = Parse("libvirt-audio-pulseaudio-best.xml");
  ASSERT_EQ(audio.audios.size(), 1u);
  EXPECT_EQ(audio.audios[0].server_name, "acme.example.org");
  Domain shmem = Parse("libvirt-shmem-plain-doorbell.xml");
  ASSERT_EQ(shmem.shmems.size(), 8u);
  EXPECT_FALSE(shmem.shmems[0].size_bytes.has_value());
  EXPECT_EQ(shmem.shmems[1].size_bytes, 128u << 20);
}

TEST(LibvirtDomain, RealUsersDomains) {
  Domain vanilla = Parse("phanen-passthrough-win11-vanilla.xml");
  EXPECT_EQ(vanilla.name, "win11-2");
  EXPECT_EQ(vanilla.os.firmware, "efi");
  EXPECT_EQ(vanilla.os.loader, "/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd");
  EXPECT_EQ(vanilla.os.nvram_template, "/usr/share/edk2/x64/OVMF_VARS.4m.fd");
  EXPECT_EQ(vanilla.hostdevs.size(), 4u);
  EXPECT_EQ(vanilla.qemu_args.size(), 2u);
  Domain lg = Parse("phanen-passthrough-win11-shmem.xml");
  ASSERT_EQ(lg.shmems.size(), 1u);
  EXPECT_EQ(lg.shmems[0].size_bytes, 32u << 20);
  EXPECT_EQ(lg.audios.back().server_name, "/run/user/1000/pulse/native");
  Domain kvmfr = Parse("phanen-passthrough-lg_idd.xml");
  EXPECT_THAT(kvmfr.qemu_args[3], HasSubstr("\"mem-path\":\"/dev/kvmfr0\""));
}

TEST(LibvirtDomain, RefusalsNameFileLineAndWhatWasExpected) {
  auto bad = ParseDomainXml("<domain>\n<name>x</name>\n<devices>\n</domain>\n", "x.xml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().path, "x.xml");
  EXPECT_GT(bad.error().line, 0);
  auto net = ParseDomainXml("<network><name>default</name></network>", "n.xml");
  ASSERT_FALSE(net.has_value());
  EXPECT_THAT(net.error().message, HasSubstr("expected <domain>"));
  auto noname = ParseDomainXml("<domain type='kvm'/>", "y.xml");
  ASSERT_FALSE(noname.has_value());
  EXPECT_THAT(noname.error().message, HasSubstr("no <name>"));
  auto addr = ParseDomainXml(
      "<domain><name>z</name><devices>\n<hostdev mode='subsystem' type='pci'>\n<source>"
      "<address bus='0xzz' slot='0' function='0'/></source></hostdev></devices></domain>",
      "z.xml");
  ASSERT_FALSE(addr.has_value());
  EXPECT_EQ(addr.error().line, 3);
  EXPECT_THAT(addr.error().message, HasSubstr("bus='0xzz'"));
  auto unit =
      ParseDomainXml("<domain><name>u</name>\n<memory unit='parsec'>1</memory></domain>", "u.xml");
  ASSERT_FALSE(unit.has_value());
  EXPECT_EQ(unit.error().line, 2);
}

TEST(LibvirtDomain, UsbHostdevsByIdsAddressOrBoth) {
  Domain lv = Parse("libvirt-hostdev-usb-address.xml");
  EXPECT_TRUE(lv.hostdevs.empty());
  ASSERT_EQ(lv.usb_hostdevs.size(), 1u);
  EXPECT_FALSE(lv.usb_hostdevs[0].vendor.has_value());
  EXPECT_EQ(lv.usb_hostdevs[0].bus, 14u);
  EXPECT_EQ(lv.usb_hostdevs[0].device, 6u);
  EXPECT_EQ(lv.usb_hostdevs[0].line, 28);
  auto d = ParseDomainXml(
      "<domain><name>u</name><devices>\n"
      "<hostdev mode='subsystem' type='usb' managed='no'><source startupPolicy='optional'>"
      "<vendor id='0x046d'/><product id='0xc52b'/></source>"
      "<address type='usb' bus='0' port='1'/></hostdev>\n"
      "<hostdev mode='subsystem' type='usb'><source><vendor id='0x0458'/>"
      "<product id='0x6006'/><address bus='3' device='4'/></source></hostdev>\n"
      "</devices></domain>",
      "u.xml");
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  ASSERT_EQ(d->usb_hostdevs.size(), 2u);
  const DomainUsbHostdev& a = d->usb_hostdevs[0];
  EXPECT_EQ(a.vendor, 0x046du);
  EXPECT_EQ(a.product, 0xc52bu);
  EXPECT_TRUE(a.optional);
  EXPECT_FALSE(a.bus.has_value()) << "the guest-side <address type='usb'> is not the host's";
  EXPECT_EQ(d->usb_hostdevs[1].bus, 3u);
  EXPECT_EQ(d->usb_hostdevs[1].device, 4u);
  EXPECT_EQ(d->usb_hostdevs[1].line, 3);
  for (const char* source : {"<vendor id='0x046d'/>", "", "<address bus='1' device='x'/>"}) {
    auto bad = ParseDomainXml(std::string("<domain><name>b</name><devices>\n<hostdev "
                                          "mode='subsystem' type='usb'><source>") +
                                  source + "</source></hostdev></devices></domain>",
                              "b.xml");
    ASSERT_FALSE(bad.has_value()) << source;
    EXPECT_EQ(bad.error().line, 2) << source;
  }
}

TEST(LibvirtDomain, NoExternalEntitiesOrNetwork) {
  auto d = ParseDomainXml(
      "<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/hostname'>]>"
      "<domain><name>&x;</name></domain>",
      "e.xml");
  // The entity is not expanded: the name stays empty and the domain is refused.
  EXPECT_FALSE(d.has_value());
}

TEST(LibvirtDomain, ScaledBytesAsLibvirtReadsThem) {
  EXPECT_EQ(ScaledBytes("1", "", "KiB"), 1024u);
  EXPECT_EQ(ScaledBytes("1", "KB", "KiB"), 1000u);
  EXPECT_EQ(ScaledBytes("32", "M", "b"), 32u << 20);
  EXPECT_EQ(ScaledBytes("1", "GiB", "b"), 1u << 30);
  EXPECT_EQ(ScaledBytes("2", "bytes", "KiB"), 2u);
  EXPECT_EQ(ScaledBytes("1", "parsec", "KiB"), std::nullopt);
  EXPECT_EQ(ScaledBytes("x", "", "KiB"), std::nullopt);
  EXPECT_EQ(ScaledBytes("99999999999", "E", "b"), std::nullopt);
}

TEST(LibvirtConf, StringsListsCommentsAndRefusals) {
  auto conf = ParseLibvirtConf(
      "# user = \"nobody\"\nuser = \"alice\"\ngroup = 'kvm'\nremember_owner = 0\n"
      "cgroup_device_acl = [\n  \"/dev/null\", # comment\n  \"/dev/kvmfr0\",\n]\n",
      "/etc/libvirt/qemu.conf");
  ASSERT_TRUE(conf.has_value()) << conf.error().ToString();
  EXPECT_EQ(conf->at("user").items, std::vector<std::string>{"alice"});
  EXPECT_EQ(conf->at("user").line, 2);
  EXPECT_EQ(conf->at("remember_owner").items[0], "0");
  EXPECT_EQ(conf->at("cgroup_device_acl").items,
            (std::vector<std::string>{"/dev/null", "/dev/kvmfr0"}));
  auto bad = ParseLibvirtConf("user = \"a\"\nsecurity_driver \"none\"\n", "q.conf");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().ToString(),
            "q.conf:2: expected '=' after 'security_driver' (name = value)");
  EXPECT_FALSE(ParseLibvirtConf("a = [\"x\"\n", "q.conf").has_value());
}

}  // namespace
}  // namespace vmprep
