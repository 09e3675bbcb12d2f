// The Xorg fixer on every xorg corpus file (as /etc/X11/xorg.conf or an
// xorg.conf.d snippet) with the captured intel-iommu machine: host GPU 00:02.0
// (boot_vga=1, "PCI:0:2:0"), passing 02:00.0 through. Plan -> apply -> re-parse
// with our reader (X -config is not available) -> plan again empty -> undo
// byte-identical; refusals are listed with reasons.
#include "fixers/xorg.h"

#include <gtest/gtest.h>

#include <map>

#include "formats/xorg_conf.h"
#include "tests/fixers/vfio_fixers_test_util.h"

namespace vmprep {
namespace {

using fixers_test::Machine;

FixerOptions XorgOptions() {
  FixerOptions o;
  o.xorg = true;
  o.devices = {*PciAddress::Parse("0000:02:00.0")};
  return o;
}

// Configurations whose Device sections all pin GPUs this machine does not have:
// which one should become the host GPU is the human's call, so the fixer
// refuses with file:line.
const std::map<std::string, std::string> kRefused = {
    {"arch_user-alkeryn_nvidia-settings_gtx1080ti_xorg.conf", "only Device pins PCI:1:0:0"},
    {"user-altagir_mining-rig_10-nvidia-gpus_nvidia-xconfig_xorg.conf", "10 Devices, none 0:2:0"},
    {"user-darrynlowe_nvidia-plus-ignored-amd_xorg.conf", "Devices pin other GPUs"},
    {"user-kristianholsheimer_three-nvidia-gpus_xorg.conf", "3 Devices, none 0:2:0"},
    // Line 65 reads "ection" where "Section" was meant: Xorg itself rejects the
    // file.
    {"laptop_user-akoidan_msi-gs40_optimus_xorg.conf.nvidia", "not valid xorg.conf (line 65)"},
};

TEST(XorgFixer, EveryXorgCorpusFile) {
  for (const auto& entry : std::filesystem::directory_iterator(fixers_test::CorpusDir() / "xorg")) {
    std::string name = entry.path().filename();
    Machine m("intel-iommu");
    ASSERT_TRUE(m.ok());
    std::string path = name.find("xorg.conf.d_") != std::string::npos
                           ? "/etc/X11/xorg.conf.d/" + name.substr(name.find("xorg.conf.d_") + 12)
                           : "/etc/X11/xorg.conf";
    m.PutCorpus(path, "xorg/" + name);
    std::string original = m.Get(path);
    Host host = m.OpenHost();
    auto fixer = MakeXorgFixer();
    auto plan = fixer->Plan(host, XorgOptions());
    if (kRefused.contains(name)) {
      ASSERT_FALSE(plan.has_value()) << name << "\n" << fixers_test::Describe(*plan);
      EXPECT_EQ(plan.error().path, path) << name;
      EXPECT_GT(plan.error().line, 0) << name;
      continue;
    }
    ASSERT_TRUE(plan.has_value()) << name << ": " << plan.error().ToString();
    std::string id = plan->edits.empty() ? "" : fixers_test::Apply(host, *plan);
    // Read back: some file has IsolateDevice PCI:0:2:0, and a Device with BusID
    // PCI:0:2:0.
    bool isolate = false, busid = false;
    std::vector<std::string> files = {"/etc/X11/xorg.conf"};
    for (auto& e : plan->edits) files.push_back(e.path);
    files.push_back(path);
    for (const auto& f : files) {
      if (!m.Has(f)) continue;
      auto conf = XorgConf::Parse(m.Get(f), f);
      ASSERT_TRUE(conf.has_value()) << name << ": " << conf.error().ToString();
      for (const auto& s : conf->sections()) {
        if ((XorgNameEqual(s.name, "ServerLayout") || XorgNameEqual(s.name, "ServerFlags")) &&
            s.Option("IsolateDevice") == "PCI:0:2:0")
          isolate = true;
        if (XorgNameEqual(s.name, "Device") && s.First("BusID") &&
            ParseBusId(*s.First("BusID")) == PciBusId{0, 0, 2, 0})
          busid = true;
      }
    }
    EXPECT_TRUE(isolate) << name;
    EXPECT_TRUE(busid) << name;
    auto again = fixer->Plan(host, XorgOptions());
    ASSERT_TRUE(again.has_value()) << name;
    EXPECT_TRUE(again->edits.empty()) << name << "\n" << fixers_test::Describe(*again);
    if (!id.empty()) fixers_test::Undo(host, id);
    EXPECT_EQ(m.Get(path), original) << name;
    EXPECT_FALSE(m.Has(kXorgHostGpuConf)) << name;
  }
}

TEST(XorgFixer, NoConfigurationWritesOwnSnippet) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  Host host = m.OpenHost();
  auto plan = MakeXorgFixer()->Plan(host, XorgOptions());
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(plan->edits.size(), 1u);
  EXPECT_EQ(plan->edits[0].path, kXorgHostGpuConf);
  auto conf = XorgConf::Parse(*plan->edits[0].after, kXorgHostGpuConf);
  ASSERT_TRUE(conf.has_value());
  // bochs-drm is a KMS driver: modesetting drives it.
  EXPECT_NE(plan->edits[0].after->find("Driver \"modesetting\""), std::string::npos);
  EXPECT_NE(plan->edits[0].after->find("BusID \"PCI:0:2:0\""), std::string::npos);
  EXPECT_NE(plan->edits[0].after->find("Option \"IsolateDevice\" \"PCI:0:2:0\""),
            std::string::npos);
}

TEST(XorgFixer, RefusesDeviceThatDrivesThePassedThroughGpu) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.Put("/etc/X11/xorg.conf",
        "Section \"Device\"\n  Identifier \"g\"\n  BusID "
        "\"PCI:2:0:0\"\nEndSection\n");
  Host host = m.OpenHost();
  auto plan = MakeXorgFixer()->Plan(host, XorgOptions());
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().line, 1);
  EXPECT_NE(plan.error().message.find("goes to the VM"), std::string::npos) << plan.error().message;
}

}  // namespace
}  // namespace vmprep
