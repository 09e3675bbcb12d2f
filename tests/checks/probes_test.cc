// Probes on captured trees with one fact changed in the exact shape a real system has it:
// a line in a config file, a token on the command line, a kernel release.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "checks/probes/hugepages.h"
#include "checks/probes/iommu.h"
#include "checks/probes/isolation.h"
#include "checks/probes/vfio.h"
#include "tests/probe_test_util.h"
#include "tests/sysroot.h"

namespace vmprep {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using vmprep::testing::FindById;
using vmprep::testing::Sysroot;
using vmprep::testing::Text;
using vmprep::testing::Verdicts;

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

void AppendToCmdline(const Sysroot& root, const std::string& tokens) {
  fs::path p = fs::path(root.runtime()) / "proc/cmdline";
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  WriteFile(p, line + " " + tokens + "\n");
}

std::vector<Finding> RunProbe(const Probe& probe, const Sysroot& root,
                              std::vector<std::string> devices = {}) {
  auto host = Host::Open(root.runtime(), root.config());
  EXPECT_TRUE(host.has_value());
  ProbeContext context;
  context.identity = {0, {0}, "root"};
  context.devices = std::move(devices);
  return probe.Run(*host, context);
}

TEST(IommuProbe, FlagsAmdIommuOnAndIommuOneAsMistakes) {
  Sysroot root("amd-iommu");
  ASSERT_TRUE(root.ok());
  AppendToCmdline(root, "amd_iommu=on iommu=1 intel_iommu=on");
  auto findings = RunProbe(IommuProbe(), root);
  const Finding* f = FindById(findings, "iommu.cmdline");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kWarn);
  EXPECT_THAT(f->hint, HasSubstr("`amd_iommu=on` is not an option"));
  EXPECT_THAT(f->hint, HasSubstr("`iommu=1` is not an x86 iommu= option"));
  EXPECT_THAT(f->hint, HasSubstr("`intel_iommu=on` has no effect on an AMD-Vi IOMMU"));
  EXPECT_EQ(f->fixer, "kernel-cmdline");
  // The AMD IOMMU is on by default; no finding may ever suggest amd_iommu=on.
  for (const auto& finding : findings) {
    EXPECT_THAT(finding.hint, ::testing::Not(HasSubstr("add `amd_iommu=on`"))) << finding.id;
  }
}

TEST(IommuProbe, InterruptRemappingSwitchedOffOnTheCommandLine) {
  Sysroot root("intel-iommu");
  ASSERT_TRUE(root.ok());
  AppendToCmdline(root, "intremap=off");
  auto findings = RunProbe(IommuProbe(), root);
  const Finding* f = FindById(findings, "iommu.interrupt-remapping");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kWarn);
  EXPECT_THAT(f->hint, HasSubstr("Remove `intremap=off`"));
}

TEST(IommuProbe, OffStateTellsIntelToAddIntelIommuOn) {
  Sysroot root("intel-iommu-off");
  ASSERT_TRUE(root.ok());
  auto findings = RunProbe(IommuProbe(), root);
  const Finding* f = FindById(findings, "iommu.kernel");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kFail);
  EXPECT_THAT(f->hint, HasSubstr("`intel_iommu=off` switches the Intel IOMMU off: replace it with "
                                 "`intel_iommu=on`"));
  EXPECT_THAT(Text(*f), HasSubstr("DMAR: IOMMU disabled"));
}

TEST(IsolationProbe, AcsOverrideMakesAnIsolatedGroupAWarning) {
  Sysroot root("intel-iommu");
  ASSERT_TRUE(root.ok());
  AppendToCmdline(root, "pcie_acs_override=downstream,multifunction");
  auto findings = RunProbe(IsolationProbe(), root, {"0000:02:00.0"});
  EXPECT_THAT(Verdicts(findings), ElementsAre("isolation.0000:02:00.0:warn"));
  EXPECT_THAT(findings[0].summary, HasSubstr("only because pcie_acs_override"));
}

TEST(IsolationProbe, FiveDigitDomainAndBadAddressesAreHandled) {
  Sysroot root("intel-iommu");
  ASSERT_TRUE(root.ok());
  auto findings = RunProbe(IsolationProbe(), root, {"10000:00:02.0", "01:00.0x"});
  EXPECT_THAT(Verdicts(findings),
              ElementsAre("isolation.device:fail", "isolation.10000:00:02.0:fail"));
  EXPECT_THAT(findings[1].summary, HasSubstr("not in the PCI topology"));
}

// modprobe.d asks vfio-pci for 8086:10d3, which both identical NICs carry; one is bound.
// The configuration is older than the boot (it was in place when the machine booted), yet
// e1000e holds the device: a failure, with the cause and the exact fix.
TEST(VfioProbe, IdsMatchingIdenticalDevicesAndALateBinding) {
  Sysroot root("vfio-bound");
  ASSERT_TRUE(root.ok());
  const fs::path conf = fs::path(root.config()) / "etc/modprobe.d/vfio.conf";
  WriteFile(conf, "options vfio-pci ids=8086:10d3\n");
  SetMtimeBeforeBoot(root, conf);
  auto findings = RunProbe(VfioProbe(), root);
  EXPECT_THAT(
      Verdicts(findings),
      ElementsAre("vfio.module:pass", "vfio.ids-shared:warn", "vfio.binding.0000:01:00.0:fail",
                  "vfio.binding.0000:02:00.0:pass", "vfio.access:pass", "vfio.early:warn"));
  EXPECT_THAT(
      Text(*FindById(findings, "vfio.ids-shared")),
      HasSubstr(
          "/etc/modprobe.d/vfio.conf:1: 8086:10d3 matches 2 devices: 0000:01:00.0, 0000:02:00.0"));
  const Finding* binding = FindById(findings, "vfio.binding.0000:01:00.0");
  EXPECT_THAT(binding->summary, HasSubstr("e1000e has it"));
  EXPECT_THAT(binding->hint,
              HasSubstr("softdep e1000e pre: vfio-pci` to /etc/modprobe.d/vmprep-vfio.conf"));
  EXPECT_EQ(binding->fixer, "modprobe-vfio");
}

// Without an initramfs generator, vfio.early names the real driver of the device (here the
// NIC's e1000e, not a GPU placeholder), the file, and the fixer that writes that softdep.
TEST(VfioProbe, EarlyHintNamesTheRealDriverAndFixer) {
  Sysroot root("vfio-bound");
  ASSERT_TRUE(root.ok());
  const fs::path conf = fs::path(root.config()) / "etc/vmprep/vfio-bind.conf";
  WriteFile(conf, "0000:01:00.0 8086:10d3\n");
  SetMtimeBeforeBoot(root, conf);
  const Finding* early = nullptr;
  auto findings = RunProbe(VfioProbe(), root);
  early = FindById(findings, "vfio.early");
  ASSERT_NE(early, nullptr);
  EXPECT_EQ(early->severity, Severity::kWarn);
  EXPECT_THAT(early->hint, HasSubstr("Add `softdep e1000e pre: vfio-pci` to "
                                     "/etc/modprobe.d/vmprep-vfio.conf"));
  EXPECT_THAT(early->hint, Not(HasSubstr("DRIVER")));
  EXPECT_EQ(early->fixer, "modprobe-vfio");
  // With that softdep in place the finding passes.
  const fs::path softdep = fs::path(root.config()) / "etc/modprobe.d/vmprep-vfio.conf";
  WriteFile(softdep, "softdep e1000e pre: vfio-pci\n");
  SetMtimeBeforeBoot(root, softdep);
  auto after = RunProbe(VfioProbe(), root);
  EXPECT_EQ(FindById(after, "vfio.early")->severity, Severity::kPass);
}

// A device already on vfio-pci (bound by hand) has no driver module of its own now: the
// module its modalias matches in the kernel's index is the one to order after vfio-pci.
TEST(VfioProbe, EarlyHintForADeviceOnVfioNamesTheDriverOfItsModalias) {
  Sysroot root("vfio-bound");
  ASSERT_TRUE(root.ok());
  auto findings = RunProbe(VfioProbe(), root, {"0000:02:00.0"});
  const Finding* early = FindById(findings, "vfio.early");
  ASSERT_NE(early, nullptr);
  EXPECT_THAT(early->hint, HasSubstr("Add `softdep e1000e pre: vfio-pci`"));
  EXPECT_EQ(early->fixer, "modprobe-vfio");
}

// The same configuration written after the boot has not had its chance yet: pending, with
// what is still to do, and no fixer (planning again would change nothing).
TEST(VfioProbe, ConfigurationNewerThanTheBootIsPending) {
  Sysroot root("vfio-bound");
  ASSERT_TRUE(root.ok());
  WriteFile(fs::path(root.config()) / "etc/modprobe.d/vfio.conf",
            "options vfio-pci ids=8086:10d3\n");
  auto findings = RunProbe(VfioProbe(), root);
  const Finding* binding = FindById(findings, "vfio.binding.0000:01:00.0");
  ASSERT_NE(binding, nullptr);
  EXPECT_EQ(binding->severity, Severity::kWarn);
  EXPECT_TRUE(binding->pending);
  EXPECT_EQ(binding->fixer, "");
  EXPECT_THAT(binding->summary, HasSubstr("configured for vfio-pci since the last boot"));
  EXPECT_THAT(binding->hint, HasSubstr("reboot"));
}

// The early-binding hook's configuration (written by vmsetup's vfio-bind fixer) counts as
// configuration: a listed address that the hook did not get at boot is a failure.
TEST(VfioProbe, AddressesOfTheEarlyBindingHookAreConfiguration) {
  Sysroot root("vfio-bound");
  ASSERT_TRUE(root.ok());
  const fs::path conf = fs::path(root.config()) / "etc/vmprep/vfio-bind.conf";
  WriteFile(conf, "# written by vmsetup\n0000:01:00.0 8086:10d3\n");
  SetMtimeBeforeBoot(root, conf);
  auto findings = RunProbe(VfioProbe(), root);
  EXPECT_THAT(Verdicts(findings),
              ElementsAre("vfio.module:pass", "vfio.binding.0000:01:00.0:fail",
                          "vfio.binding.0000:02:00.0:pass", "vfio.access:pass", "vfio.early:warn"));
  EXPECT_THAT(Text(*FindById(findings, "vfio.binding.0000:01:00.0")),
              HasSubstr("/etc/vmprep/vfio-bind.conf:2"));
}

// Addresses listed for early binding need the hook inside the initramfs; without its files
// nothing binds them at boot.
TEST(VfioProbe, BindingByAddressNeedsTheHookInstalled) {
  Sysroot root("vfio-bound");
  ASSERT_TRUE(root.ok());
  fs::path config = root.config();
  WriteFile(config / "usr/sbin/update-initramfs", "#!/bin/sh\n");
  WriteFile(config / "etc/vmprep/vfio-bind.conf", "0000:02:00.0 8086:10d3\n");
  auto before = RunProbe(VfioProbe(), root);
  const Finding* missing = FindById(before, "vfio.bind-hook");
  ASSERT_NE(missing, nullptr);
  EXPECT_EQ(missing->severity, Severity::kFail);
  EXPECT_THAT(Text(*missing), HasSubstr("/usr/share/initramfs-tools/hooks/vmprep-vfio: missing"));
  // The files as the package's initramfs component installs them (initramfs-hooks/install.cmake).
  for (const char* f :
       {"usr/lib/vmprep/vfio-bind.sh", "usr/share/initramfs-tools/hooks/vmprep-vfio",
        "usr/share/initramfs-tools/scripts/init-top/00vmprep-vfio"}) {
    WriteFile(config / f, "#!/bin/sh\n");
  }
  auto after = RunProbe(VfioProbe(), root);
  const Finding* present = FindById(after, "vfio.bind-hook");
  ASSERT_NE(present, nullptr);
  EXPECT_EQ(present->severity, Severity::kPass);
}

TEST(VfioProbe, InitramfsToolsModulesFileLoadsVfioEarly) {
  Sysroot root("vfio-bound");
  ASSERT_TRUE(root.ok());
  WriteFile(fs::path(root.config()) / "usr/sbin/update-initramfs", "#!/bin/sh\n");
  // Debian's template with the lines a passthrough guide adds.
  WriteFile(fs::path(root.config()) / "etc/initramfs-tools/modules",
            "# List of modules that you want to include in your "
            "initramfs.\nvfio\nvfio_iommu_type1\nvfio_pci\n");
  auto findings = RunProbe(VfioProbe(), root);
  const Finding* early = FindById(findings, "vfio.early");
  ASSERT_NE(early, nullptr);
  EXPECT_EQ(early->severity, Severity::kPass);
  EXPECT_THAT(Text(*early), HasSubstr("/etc/initramfs-tools/modules:4"));
}

TEST(VfioProbe, VirqfdIsStaleOnKernelsFrom62) {
  Sysroot root("vfio-bound");
  ASSERT_TRUE(root.ok());
  WriteFile(fs::path(root.config()) / "usr/bin/mkinitcpio", "#!/bin/bash\n");
  WriteFile(fs::path(root.config()) / "etc/mkinitcpio.conf",
            "MODULES=(vfio_pci vfio vfio_iommu_type1 vfio_virqfd)\n");
  EXPECT_EQ(FindById(RunProbe(VfioProbe(), root), "vfio.virqfd"), nullptr);  // 6.1 still has it
  // The same files under a 6.8 kernel, as Ubuntu 24.04 names its release.
  WriteFile(fs::path(root.runtime()) / "proc/sys/kernel/osrelease", "6.8.0-31-generic\n");
  auto findings = RunProbe(VfioProbe(), root);
  const Finding* f = FindById(findings, "vfio.virqfd");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kWarn);
  EXPECT_THAT(Text(*f), HasSubstr("/etc/mkinitcpio.conf:1"));
}

// Huge pages configured on the command line but not yet booted with: pending, and the
// evidence says where they are configured (the pool evidence does not replace it).
TEST(HugepagesProbe, AReservationOnTheNextBootIsPendingWithItsSource) {
  Sysroot root("intel-iommu");
  ASSERT_TRUE(root.ok());
  WriteFile(fs::path(root.config()) / "etc/default/grub",
            "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet hugepagesz=1G hugepages=4\"\n");
  auto findings = RunProbe(HugepagesProbe(), root);
  const Finding* f = FindById(findings, "hugepages.reserved");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->pending);
  EXPECT_THAT(Text(*f), HasSubstr("/etc/default/grub"));
  EXPECT_THAT(Text(*f), HasSubstr("hugepages=4"));
}

TEST(HugepagesProbe, SysctlAskingForMoreThanReservedIsAWarning) {
  Sysroot root("hugepages");
  ASSERT_TRUE(root.ok());
  EXPECT_THAT(Verdicts(RunProbe(HugepagesProbe(), root)),
              ElementsAre("hugepages.reserved:pass", "hugepages.mount:pass"));
  WriteFile(fs::path(root.config()) / "etc/sysctl.d/40-hugepages.conf",
            "# for the VM\nvm.nr_hugepages = 256\n");
  auto findings = RunProbe(HugepagesProbe(), root);
  EXPECT_THAT(Verdicts(findings), ElementsAre("hugepages.reserved:warn", "hugepages.mount:pass"));
  EXPECT_THAT(findings[0].summary, HasSubstr("256 × 2 MiB asked, 64 reserved"));
  EXPECT_THAT(Text(findings[0]), HasSubstr("/etc/sysctl.d/40-hugepages.conf:2"));
}

TEST(HugepagesProbe, NoMountForReservedPagesIsAWarning) {
  Sysroot root("hugepages");
  ASSERT_TRUE(root.ok());
  // The same mountinfo without its hugetlbfs line.
  fs::path mi = fs::path(root.runtime()) / "proc/self/mountinfo";
  std::ifstream in(mi);
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    if (line.find("hugetlbfs") == std::string::npos) kept += line + "\n";
  }
  in.close();
  WriteFile(mi, kept);
  auto findings = RunProbe(HugepagesProbe(), root);
  EXPECT_THAT(Verdicts(findings), ElementsAre("hugepages.reserved:pass", "hugepages.mount:warn"));
  EXPECT_THAT(findings[1].hint, HasSubstr("mount -t hugetlbfs -o pagesize=2M"));
}

}  // namespace
}  // namespace vmprep
