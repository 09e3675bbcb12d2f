// vmsetup vm-snippet: its XML parses, and a domain that holds it is judged passing by the vm
// check on the captured machine it was made for.
#include "fixers/vm_snippet.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libxml/parser.h>

#include "tests/checks/vm_test_util.h"
#include "tests/run_command.h"

namespace vmprep {
namespace {

using testing::DomainXml;
using ::testing::Each;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using testing::VmMachine;

std::string Inner(const std::string& xml, const std::string& element) {
  std::size_t open = xml.find("<" + element + ">");
  std::size_t close = xml.find("</" + element + ">");
  if (open == std::string::npos || close == std::string::npos) return "";
  open += element.size() + 2;
  return xml.substr(open, close - open);
}

// A domain of `memory_kib` that holds the snippet's parts where it puts them.
std::string Merged(const std::string& snippet, long memory_kib = 131072) {
  return DomainXml(Inner(snippet, "devices"), Inner(snippet, "memoryBacking"), "", memory_kib);
}

std::expected<VmSnippet, Error> Make(VmMachine& m, VmSnippetRequest r) {
  auto host = Host::Open(m.Runtime(""), m.Config(""));
  EXPECT_TRUE(host.has_value());
  return MakeVmSnippet(*host, r);
}

TEST(VmSnippet, WholeGroupOfADeviceParsesAndPasses) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  auto s = Make(m, {.devices = {"0000:05:02.0"}});
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  xmlDoc* doc = xmlReadMemory(s->xml.data(), static_cast<int>(s->xml.size()), "snippet.xml",
                              nullptr, XML_PARSE_NONET);
  ASSERT_NE(doc, nullptr) << s->xml;
  xmlFreeDoc(doc);
  EXPECT_THAT(s->xml, HasSubstr("bus=\"0x05\" slot=\"0x01\" function=\"0x0\""));
  EXPECT_THAT(s->xml, HasSubstr("bus=\"0x05\" slot=\"0x02\" function=\"0x0\""));
  EXPECT_THAT(m.Rule(Merged(s->xml), "vm.hostdev"), Each(EndsWith(":pass")));
  EXPECT_EQ(m.Rule(Merged(s->xml), "vm.hostdev").size(), 2u);
}

TEST(VmSnippet, HugepagesAndVirtiofsPassWhereTheHostHasThem) {
  VmMachine m("hugepages");
  ASSERT_TRUE(m.ok());
  m.PutConfig("/usr/libexec/virtiofsd", "");
  std::filesystem::create_directories(m.Config("/srv/share"));
  auto s = Make(m, {.hugepages = "2M", .virtiofs = {"/srv/share"}});
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_THAT(s->xml, HasSubstr("<page size=\"2048\" unit=\"KiB\"/>"));
  EXPECT_THAT(s->xml, HasSubstr("<target dir=\"share\"/>"));
  auto verdicts = m.Rule(Merged(s->xml), "vm.");
  EXPECT_THAT(verdicts, Each(EndsWith(":pass")));
  EXPECT_THAT(verdicts, ::testing::IsSupersetOf({"vm.hugepages.t:pass", "vm.hugetlbfs.t:pass",
                                                 "vm.virtiofs-memory.t:pass"}));
  // The same snippet with more memory than the host reserved is judged failing.
  EXPECT_THAT(m.Rule(Merged(s->xml, 1048576), "vm.hugepages"),
              ::testing::ElementsAre("vm.hugepages.t:fail"));
}

TEST(VmSnippet, RefusesHostDevicesMissingDevicesAndBadValues) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  auto host_nic = Make(m, {.devices = {"0000:01:00.0"}});
  ASSERT_FALSE(host_nic.has_value());
  EXPECT_THAT(host_nic.error().message, HasSubstr("the host needs it"));
  EXPECT_FALSE(Make(m, {.devices = {"0000:09:00.0"}}).has_value());
  EXPECT_FALSE(Make(m, {.hugepages = "3M"}).has_value());
  EXPECT_FALSE(Make(m, {.virtiofs = {"relative/dir"}}).has_value());
  EXPECT_FALSE(Make(m, {}).has_value());
  auto notes = Make(m, {.hugepages = "", .virtiofs = {"/srv/none:tag"}});
  ASSERT_TRUE(notes.has_value());
  EXPECT_THAT(notes->notes, ::testing::Contains(HasSubstr("/srv/none is not a directory")));
  EXPECT_THAT(notes->notes, ::testing::Contains(HasSubstr("apt install virtiofsd")));
}

TEST(VmSnippet, TheRealVmsetupPrintsItAndChangesNothing) {
  VmMachine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  auto r = testing::RunCommand(std::string(VMSETUP_BINARY) + " vm-snippet --runtime-root " +
                               m.Runtime("").string() + " --config-root " + m.Config("").string() +
                               " --device 0000:02:00.0 --hugepages 2>/dev/null");
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("<hostdev mode=\"subsystem\" type=\"pci\" managed=\"yes\">"));
  EXPECT_THAT(r.out, HasSubstr("<hugepages/>"));
  EXPECT_FALSE(std::filesystem::exists(m.Config("/etc/libvirt")));
  auto bad = testing::RunCommand(std::string(VMSETUP_BINARY) + " vm-snippet --root " +
                                 m.Runtime("").string() + " --device 0000:01:00.0 2>&1");
  EXPECT_NE(bad.code, 0);
  EXPECT_THAT(bad.out, HasSubstr("the host needs it"));
}

}  // namespace
}  // namespace vmprep
