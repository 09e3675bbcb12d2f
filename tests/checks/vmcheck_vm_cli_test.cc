// The real vmcheck binary with `vm` and `--vm`: domains by name from the config root and by
// file, every defined domain, exit codes, the JSON `vms` list.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/run_command.h"
#include "tests/sysroot.h"

namespace vmprep {
namespace {

using ::testing::HasSubstr;
using vmprep::testing::Sysroot;

const std::string kCorpus = std::string(VMPREP_SOURCE_DIR) + "/tests/corpus/libvirt/";

testing::CommandResult Vmcheck(const Sysroot& root, const std::string& args) {
  return testing::RunCommand(std::string(VMCHECK_BINARY) + " --runtime-root " + root.runtime() +
                             " --config-root " + root.config() + " " + args + " 2>&1");
}

void Define(const Sysroot& root, const std::string& name, const std::string& file) {
  std::filesystem::create_directories(root.config() + "/etc/libvirt/qemu");
  std::filesystem::copy_file(kCorpus + file, root.config() + "/etc/libvirt/qemu/" + name + ".xml");
}

TEST(VmcheckVm, ByNameByFileAndEveryDefinedDomain) {
  Sysroot root("intel-iommu");
  ASSERT_TRUE(root.ok());
  Define(root, "win11-2", "phanen-passthrough-win11-vanilla.xml");
  Define(root, "QEMUGuest1", "libvirt-hugepages-default.xml");
  auto named = Vmcheck(root, "vm win11-2");
  EXPECT_EQ(named.code, 2) << named.out;
  EXPECT_THAT(named.out, HasSubstr("[vm]"));
  EXPECT_THAT(named.out, HasSubstr("vm.hostdev.win11-2.0000:01:00.0"));
  EXPECT_THAT(named.out, ::testing::Not(HasSubstr("[kvm]")));
  auto all = Vmcheck(root, "vm --json");
  auto doc = nlohmann::json::parse(all.out);
  ASSERT_EQ(doc["vms"].size(), 2u) << all.out;
  EXPECT_EQ(doc["vms"][0]["name"], "QEMUGuest1");
  EXPECT_EQ(doc["vms"][0]["worst"], "fail");
  EXPECT_EQ(doc["vms"][1]["path"], "/etc/libvirt/qemu/win11-2.xml");
  for (const auto& f : doc["findings"]) EXPECT_EQ(f["check"], "vm");
  auto file = Vmcheck(root, "vm " + kCorpus + "libvirt-shmem-plain-doorbell.xml");
  EXPECT_EQ(file.code, 0) << file.out;
}

TEST(VmcheckVm, WithTheWholeReportAndSameNamedDomainsKeepDistinctIds) {
  Sysroot root("intel-iommu");
  ASSERT_TRUE(root.ok());
  auto r = Vmcheck(root, "--json --vm " + kCorpus + "phanen-passthrough-win11-vanilla.xml --vm " +
                             kCorpus + "phanen-passthrough-win11-shmem.xml");
  auto doc = nlohmann::json::parse(r.out);
  std::set<std::string> ids, checks;
  for (const auto& f : doc["findings"]) {
    EXPECT_TRUE(ids.insert(f["id"]).second) << "duplicate id " << f["id"];
    checks.insert(f["check"]);
  }
  EXPECT_TRUE(checks.contains("kvm"));
  EXPECT_TRUE(ids.contains("vm.domain.win11-2"));
  EXPECT_TRUE(ids.contains("vm.domain.win11-2-2"));
  EXPECT_EQ(doc["vms"][1]["key"], "win11-2-2");
}

TEST(VmcheckVm, UnknownDomainCouldNotRunBrokenDomainIsAFinding) {
  Sysroot root("intel-iommu");
  ASSERT_TRUE(root.ok());
  auto none = Vmcheck(root, "vm");
  EXPECT_EQ(none.code, 0);
  EXPECT_THAT(none.out, HasSubstr("no libvirt domain is defined"));
  auto unknown = Vmcheck(root, "vm nosuch");
  EXPECT_EQ(unknown.code, 3);
  EXPECT_THAT(unknown.out, HasSubstr("no domain 'nosuch'"));
  EXPECT_EQ(Vmcheck(root, "vm /nonexistent/x.xml").code, 3);
  std::filesystem::create_directories(root.config() + "/etc/libvirt/qemu");
  std::ofstream(root.config() + "/etc/libvirt/qemu/broken.xml") << "<domain>\n<name>b</name>\n";
  auto broken = Vmcheck(root, "vm broken");
  EXPECT_EQ(broken.code, 2);
  EXPECT_THAT(broken.out, HasSubstr("vm.domain.broken"));
  EXPECT_THAT(broken.out, HasSubstr("/etc/libvirt/qemu/broken.xml:"));
}

}  // namespace
}  // namespace vmprep
