// One truth: what vmcheck says a fixer mends, that fixer's plan mends.
//
// On every captured sysroot, under three config trees shaped like real installations
// (Debian: GRUB + initramfs-tools; Arch: GRUB + mkinitcpio; systemd-boot entries + dracut),
// with no device chosen and with a device chosen for passthrough, every finding that names a
// fixer must give a non-empty plan for its own request (vmsetup_args), and after that plan is
// applied the same finding must pass or be pending (configured, waiting for a regenerate
// command or a reboot). The vfio fixers must agree with each other on the devices.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "checks/probe.h"
#include "core/text.h"
#include "fixers/session.h"
#include "formats/cmdline.h"
#include "formats/modprobe_conf.h"
#include "formats/shell_vars.h"
#include "system/accounts.h"
#include "system/fixer_ids.h"
#include "system/pci_scan.h"
#include "system/vfio_selection.h"
#include "tests/checks/vm_test_util.h"
#include "tests/fixers/vfio_fixers_test_util.h"

namespace vmprep {
namespace {

using fixers_test::Machine;
using ::testing::HasSubstr;

enum class Distro { kDebian, kArch, kBlsDracut };

std::string_view DistroName(Distro d) {
  switch (d) {
    case Distro::kDebian:
      return "debian(grub,initramfs-tools)";
    case Distro::kArch:
      return "arch(grub,mkinitcpio)";
    case Distro::kBlsDracut:
      return "bls(systemd-boot,dracut)";
  }
  return "";
}

// The files a real installation of each kind has where vmprep looks; the tools themselves
// as executables in their real places (their contents are never run by these tests).
void MakeConfigTree(const Machine& m, Distro d) {
  switch (d) {
    case Distro::kDebian:
      m.PutCorpus("/etc/default/grub", "grub/debian-12_grub2-common_2.06-13+deb12u2.grub");
      m.PutCorpus("/etc/initramfs-tools/modules",
                  "initramfs-tools/debian-12_initramfs-tools-core_0.142+deb12u3_usr-share-"
                  "template.modules");
      m.Put("/usr/sbin/update-grub", "", 0755);
      m.Put("/usr/sbin/update-initramfs", "", 0755);
      break;
    case Distro::kArch:
      m.PutCorpus("/etc/default/grub", "grub/arch_grub-package_svntogit-trunk_grub.default");
      m.PutCorpus("/etc/mkinitcpio.conf", "mkinitcpio/arch_mkinitcpio-v39.2_default.conf");
      m.Put("/usr/bin/grub-mkconfig", "", 0755);
      m.Put("/usr/bin/mkinitcpio", "", 0755);
      break;
    case Distro::kBlsDracut:
      m.PutCorpus("/boot/loader/entries/arch-lts.conf",
                  "systemd-boot/arch_user-droserasprout_loader-entries_arch-lts.conf");
      m.PutCorpus("/etc/dracut.conf", "dracut/debian-12_dracut-core_059-4_dracut.conf");
      m.Put("/usr/bin/dracut", "", 0755);
      break;
  }
}

// As `user` (vmcheck --user): root, or a user of the tree's /etc/passwd, looked up again on
// each run as vmcheck would (a plan may change the groups).
std::vector<Finding> RunAll(const Host& host, const std::vector<std::string>& devices,
                            const std::string& user = "root") {
  ProbeContext context;
  context.identity = {0, {0}, "root"};
  if (user != "root") {
    auto who = LookupIdentity(host, user);
    EXPECT_TRUE(who.has_value()) << user;
    if (who) context.identity = *who;
  }
  context.devices = devices;
  std::vector<Finding> out;
  for (const auto& probe : MakeAllProbes()) {
    auto found = probe->Run(host, context);
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

const Finding* ById(const std::vector<Finding>& findings, const std::string& id) {
  for (const auto& f : findings)
    if (f.id == id) return &f;
  return nullptr;
}

const char* kSysroots[] = {"intel-iommu",  "intel-iommu-pt", "intel-iommu-off", "amd-iommu",
                           "no-iommu",     "vfio-bound",     "kvm-svm",         "kvm-nocpu",
                           "kvm-unloaded", "hugepages",      "amd-cpu-dmar",    "boot-shared"};

// One sysroot under one config tree, with `devices` chosen: every fixable finding, planned,
// applied, judged again, undone.
void CheckInvariant(const std::string& sysroot, Distro distro,
                    const std::vector<std::string>& devices, int* fixable,
                    const std::string& user = "root", std::set<std::string>* fixers = nullptr) {
  Machine m(sysroot);
  ASSERT_TRUE(m.ok());
  MakeConfigTree(m, distro);
  if (user != "root") {
    m.Put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n" + user + ":x:1000:1000::/home/" +
                             user + ":/bin/sh\n");
    m.Put("/etc/group", "root:x:0:\nkvm:x:105:\n" + user + ":x:1000:\n");
  }
  Host host = m.OpenHost();
  const std::string where = fmt::format("{} under {} with devices [{}] as {}", sysroot,
                                        DistroName(distro), Join(devices, " "), user);
  for (const Finding& f : RunAll(host, devices, user)) {
    if (f.fixer.empty()) {
      EXPECT_TRUE(f.vmsetup_args.empty()) << where << ": " << f.id;
      continue;
    }
    ++*fixable;
    if (fixers) fixers->insert(f.fixer);
    const std::string what = where + ": " + f.id + " (" + f.summary + ")";
    ASSERT_FALSE(f.vmsetup_args.empty()) << what;
    auto request = ParseRequestArgs(f.vmsetup_args);
    ASSERT_TRUE(request.has_value()) << what << ": " << request.error().ToString();
    SessionPlan plan = MakePlan(host, *request);
    for (const auto& r : plan.refusals)
      ADD_FAILURE() << what << ": " << r.fixer << " refused: " << r.error.ToString();
    ASSERT_FALSE(plan.NothingToDo()) << what << ": the request plans nothing\n"
                                     << fixers_test::Describe(plan.edits);
    auto applied = Apply(host, *request, {.regenerate = false});
    ASSERT_EQ(applied.outcome, Outcome::kDone) << what;
    const std::vector<Finding> again = RunAll(host, devices, user);  // `after` points into it
    const Finding* after = ById(again, f.id);
    if (after) {
      EXPECT_TRUE(after->severity == Severity::kPass || after->severity == Severity::kSkip ||
                  after->pending)
          << what << "\nafter apply: " << SeverityName(after->severity) << " " << after->summary
          << "\n"
          << after->hint;
    }
    auto undone = Undo(host, applied.record.id, {.regenerate = false});
    EXPECT_EQ(undone.outcome, Outcome::kDone) << what;
  }
}

TEST(OneTruth, EveryFindingThatNamesAFixerIsMendedByItsPlan) {
  int fixable = 0;
  for (const char* sysroot : kSysroots) {
    for (Distro distro : {Distro::kDebian, Distro::kArch, Distro::kBlsDracut}) {
      for (const std::vector<std::string>& devices :
           {std::vector<std::string>{}, std::vector<std::string>{"0000:02:00.0"}}) {
        CheckInvariant(sysroot, distro, devices, &fixable);
      }
    }
  }
  // The matrix must exercise the rule, not pass by finding nothing to fix.
  EXPECT_GT(fixable, 50);
}

// The same as a user who may not open /dev/kvm (gid 105 on kvm-svm) or the VFIO nodes
// (vfio-bound's /dev/vfio/8 is root's 0600; intel-iommu's 02:00.0 has no node yet): the
// access findings name the device-access fixer, and its request mends them.
TEST(OneTruth, AsAUserTheAccessFindingsAreMendedByTheirPlan) {
  int fixable = 0;
  std::set<std::string> fixers;
  for (const char* sysroot : {"kvm-svm", "vfio-bound", "intel-iommu"}) {
    for (const std::vector<std::string>& devices :
         {std::vector<std::string>{}, std::vector<std::string>{"0000:02:00.0"}}) {
      CheckInvariant(sysroot, Distro::kDebian, devices, &fixable, "alice", &fixers);
    }
  }
  EXPECT_TRUE(fixers.contains(std::string(kFixDeviceAccess)));
  EXPECT_GT(fixable, 10);
}

// The same rule for a libvirt domain's findings: on a captured machine in each state that
// raises one, every domain finding that names a fixer is mended (pass or pending) by the plan
// of its own request, and undone.
TEST(OneTruth, DomainFindingsThatNameAFixerAreMendedByTheirPlans) {
  struct Case {
    std::string what, xml;
    std::function<void(testing::VmMachine&)> setup;
  };
  const std::string pulse = testing::DomainXml(
      "<audio id='1' type='pulseaudio' serverName='/run/user/1000/pulse/native'/>\n");
  const std::vector<Case> cases = {
      {"kvmfr loaded by hand, nothing configured", testing::KvmfrDomain(),
       [](testing::VmMachine& m) {
         m.PutConfig("/etc/libvirt/qemu.conf", "user = \"alice\"\n");
         m.AddLoadedKvmfr(1000, 105, 0660);
       }},
      {"kvmfr configured too small, /dev/kvmfr0 root's", testing::KvmfrDomain(),
       [](testing::VmMachine& m) {
         m.AddLoadedKvmfr(0, 0, 0600);
         m.PutConfig("/etc/modprobe.d/kvmfr.conf", "options kvmfr static_size_mb=16\n");
         m.DateBeforeBoot("/etc/modprobe.d/kvmfr.conf");
       }},
      {"sound server of another user", pulse,
       [](testing::VmMachine& m) {
         m.PutConfig("/etc/libvirt/qemu.conf", "user = \"libvirt-qemu\"\n");
         m.AddSocket("/run/user/1000/pulse/native", 1000);
       }},
  };
  int fixable = 0;
  for (const auto& c : cases) {
    testing::VmMachine m("intel-iommu");
    ASSERT_TRUE(m.ok());
    m.AddUsers();
    c.setup(m);
    auto host = Host::Open(m.Runtime("").string(), m.Config("").string());
    ASSERT_TRUE(host.has_value());
    for (const Finding& f : m.Judge(c.xml)) {
      if (f.fixer.empty()) continue;
      ++fixable;
      const std::string what = c.what + ": " + f.id + " (" + f.summary + ")";
      auto request = ParseRequestArgs(f.vmsetup_args);
      ASSERT_TRUE(request.has_value()) << what << ": " << request.error().ToString();
      SessionPlan plan = MakePlan(*host, *request);
      for (const auto& r : plan.refusals)
        ADD_FAILURE() << what << ": " << r.fixer << " refused: " << r.error.ToString();
      ASSERT_FALSE(plan.NothingToDo()) << what;
      auto applied = Apply(*host, *request, {.regenerate = false});
      ASSERT_EQ(applied.outcome, Outcome::kDone) << what;
      const std::vector<Finding> again = m.Judge(c.xml);
      const Finding* after = ById(again, f.id);
      ASSERT_NE(after, nullptr) << what;
      EXPECT_TRUE(after->severity == Severity::kPass || after->pending)
          << what << "\nafter apply: " << SeverityName(after->severity) << " " << after->summary;
      EXPECT_EQ(Undo(*host, applied.record.id, {.regenerate = false}).outcome, Outcome::kDone);
    }
  }
  EXPECT_EQ(fixable, 3);
}

// The planned bytes of `path`, "" when the plan does not touch it.
std::string Planned(const SessionPlan& plan, std::string_view path) {
  for (const auto& e : plan.edits.edits)
    if (e.path == path && e.after) return *e.after;
  return "";
}

std::set<std::string> Ids(const std::string& list) {
  std::set<std::string> out;
  for (const auto& id : SplitCommaList(list)) out.insert(id);
  return out;
}

// Which devices go to vfio-pci is one rule: on every captured machine with IOMMU groups, for
// every endpoint chosen (with the host's own devices explicitly allowed, so every group is
// planned), the command line, modprobe.d and vfio-bind.conf name the same devices, and no
// bridge of any kind is ever given to vfio-pci.
TEST(OneTruth, TheVfioFixersGiveTheSameDevicesAndNeverABridge) {
  int cases = 0;
  for (const char* sysroot :
       {"intel-iommu", "amd-iommu", "vfio-bound", "boot-shared", "amd-cpu-dmar", "no-iommu"}) {
    Machine m(sysroot);
    ASSERT_TRUE(m.ok());
    MakeConfigTree(m, Distro::kDebian);
    Host host = m.OpenHost();
    auto scan = ScanPci(host);
    ASSERT_TRUE(scan.has_value());
    const Topology& topo = scan->topology;
    for (const auto& [address, device] : topo.devices()) {
      if (device.BaseClass() == 0x06) continue;
      Request request;
      request.options.vfio = true;
      request.options.devices = {address};
      for (const auto& [other, d] : topo.devices())
        request.options.allow_host_devices.push_back(other);
      SessionPlan plan = MakePlan(host, request);
      const std::string what = std::string(sysroot) + " --device " + address.ToString();
      for (const auto& r : plan.refusals) {
        // Only a group that holds a bound bridge may be refused (vfio never takes it).
        EXPECT_THAT(r.error.message, HasSubstr("vfio-pci never takes bridges")) << what;
      }
      if (!plan.refusals.empty()) continue;
      ++cases;
      // vfio-bind.conf: every endpoint of the group (or of the slot without groups).
      std::set<std::string> bound;
      for (auto line : SplitLines(Planned(plan, kVfioBindConf))) {
        auto words = SplitWords(line);
        if (words.size() == 2 && words[0].front() != '#') bound.insert(std::string(words[0]));
      }
      ASSERT_TRUE(bound.contains(address.ToString())) << what;
      std::set<std::string> expected;
      for (const auto& [other, d] : topo.devices()) {
        bool same =
            device.iommu_group >= 0 ? d.iommu_group == device.iommu_group : other.SameSlot(address);
        if (same && d.BaseClass() != 0x06) expected.insert(other.ToString());
      }
      EXPECT_EQ(bound, expected) << what;
      // The command line and modprobe.d: the same ids, and no device outside the selection.
      auto grub = ShellVarsFile::Parse(Planned(plan, "/etc/default/grub"), "grub");
      ASSERT_TRUE(grub.has_value()) << what;
      std::string cmdline_ids = Cmdline(grub->Value("GRUB_CMDLINE_LINUX_DEFAULT").value_or("") +
                                        " " + grub->Value("GRUB_CMDLINE_LINUX").value_or(""))
                                    .Get("vfio_pci.ids");
      auto modprobe = ModprobeConf::Parse(Planned(plan, kModprobeVfioConf), "modprobe");
      ASSERT_TRUE(modprobe.has_value()) << what;
      std::string modprobe_ids = modprobe->Param("vfio_pci", "ids").value_or("");
      EXPECT_EQ(Ids(cmdline_ids), Ids(modprobe_ids)) << what;
      for (const auto& [other, d] : topo.devices()) {
        std::string id = VendorDeviceText(d);
        if (!Ids(cmdline_ids).contains(id)) continue;
        EXPECT_TRUE(bound.contains(other.ToString()))
            << what << ": ids= would also take " << other.ToString();
        EXPECT_NE(d.BaseClass(), std::optional<std::uint8_t>(0x06)) << what << ": a bridge";
      }
    }
  }
  EXPECT_GT(cases, 40);
}

// A plan never takes what the host needs: on the capture whose root disk (05:03.0) shares
// IOMMU group 9 with the HD audio (05:02.0), asking for the audio is refused, naming the disk
// controller and why, and nothing is written; the explicit override plans it with the
// consequence printed first.
TEST(OneTruth, ThePlanRefusesTheBootDiskInASharedGroup) {
  Machine m("boot-shared");
  ASSERT_TRUE(m.ok());
  MakeConfigTree(m, Distro::kDebian);
  Host host = m.OpenHost();
  const std::string grub = m.Get("/etc/default/grub");
  auto request = ParseRequestArgs({"--device", "0000:05:02.0"});
  ASSERT_TRUE(request.has_value());
  SessionPlan plan = MakePlan(host, *request);
  ASSERT_EQ(plan.refusals.size(), 1u);
  EXPECT_EQ(plan.refusals[0].error.path, "/sys/bus/pci/devices/0000:05:03.0");
  EXPECT_THAT(plan.refusals[0].error.message, HasSubstr("controller of the root file system"));
  EXPECT_THAT(plan.refusals[0].error.message, HasSubstr("--allow-host-device 0000:05:03.0"));
  auto applied = Apply(host, *request, {.regenerate = false});
  EXPECT_EQ(applied.outcome, Outcome::kRefused);
  EXPECT_EQ(m.Get("/etc/default/grub"), grub);
  EXPECT_FALSE(m.Has(std::string(kVfioBindConf)));

  auto allowed =
      ParseRequestArgs({"--device", "0000:05:02.0", "--allow-host-device", "0000:05:03.0"});
  ASSERT_TRUE(allowed.has_value());
  plan = MakePlan(host, *allowed);
  EXPECT_TRUE(plan.refusals.empty());
  ASSERT_FALSE(plan.warnings.empty());
  EXPECT_THAT(plan.warnings[0], HasSubstr("would not boot"));
  const std::string bind = Planned(plan, kVfioBindConf);
  for (const char* a : {"0000:05:01.0", "0000:05:02.0", "0000:05:03.0"})
    EXPECT_THAT(bind, HasSubstr(a)) << "the whole group, never a part of it";
}

// The NIC of the default route and the console GPU: the first is refused, the second
// planned with what the host loses.
TEST(OneTruth, DefaultRouteNicIsRefusedConsoleGpuIsWarned) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  MakeConfigTree(m, Distro::kDebian);
  Host host = m.OpenHost();
  SessionPlan nic = MakePlan(host, *ParseRequestArgs({"--device", "0000:01:00.0"}));
  ASSERT_EQ(nic.refusals.size(), 1u);
  EXPECT_THAT(nic.refusals[0].error.message, HasSubstr("default route"));
  SessionPlan gpu = MakePlan(host, *ParseRequestArgs({"--device", "0000:00:02.0"}));
  EXPECT_TRUE(gpu.refusals.empty());
  ASSERT_EQ(gpu.warnings.size(), 1u);
  EXPECT_THAT(gpu.warnings[0], HasSubstr("loses its console"));
  EXPECT_THAT(gpu.warnings[0], HasSubstr("single-GPU"));
}

// The IOMMU's vendor comes from the firmware's table for both vmcheck and vmsetup: an AMD
// CPU on a board with an Intel DMAR table needs intel_iommu=on.
TEST(OneTruth, IntelTableUnderAnAmdCpuGetsIntelIommuOn) {
  Machine m("amd-cpu-dmar");
  ASSERT_TRUE(m.ok());
  MakeConfigTree(m, Distro::kDebian);
  Host host = m.OpenHost();
  SessionPlan plan = MakePlan(host, *ParseRequestArgs({"--enable", "iommu"}));
  ASSERT_TRUE(plan.refusals.empty());
  EXPECT_THAT(Planned(plan, "/etc/default/grub"), HasSubstr("intel_iommu=on"));
  auto findings = RunAll(host, {});
  const Finding* firmware = ById(findings, "iommu.firmware");
  ASSERT_NE(firmware, nullptr);
  EXPECT_THAT(firmware->summary, HasSubstr("Intel VT-d"));
}

}  // namespace
}  // namespace vmprep
