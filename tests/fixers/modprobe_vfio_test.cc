// modprobe-vfio and modules-load on every modprobe.d corpus file, with the
// captured intel-iommu machine (two identical e1000e NICs at 01:00.0 and
// 02:00.0; the audio function 05:02.0 shares IOMMU group 10 with the serial
// card 05:01.0). After apply, `modprobe -C DIR
// --showconfig` (kmod itself) must show exactly one ids= in effect for vfio_pci
// holding the ids, and the softdeps.
#include "fixers/modprobe_vfio.h"

#include <gtest/gtest.h>

#include "tests/fixers/vfio_fixers_test_util.h"

namespace vmprep {
namespace {

using fixers_test::Machine;
using fixers_test::VfioOptions;

// kmod's view: the options it passes vfio_pci, and its softdep lines.
std::string ShowConfig(const Machine& m) {
  int status = 0;
  auto out = fixers_test::Shell(
      "modprobe -C " + m.Path("/etc/modprobe.d").string() + " --showconfig 2>/dev/null", &status);
  EXPECT_EQ(status, 0);
  return out;
}

std::string EffectiveIds(const std::string& showconfig) {
  std::string ids;
  int count = 0;
  for (auto& l : fixers_test::Lines(showconfig)) {
    if (!l.starts_with("options vfio_pci ")) continue;
    for (auto w : SplitWords(l))
      if (w.starts_with("ids=")) {
        ids = std::string(w.substr(4));
        ++count;
      }
  }
  return count == 0 ? "" : ids;
}

// Group 10 (serial 05:01.0 + HD audio 05:02.0): ids 1b36:0002 and 8086:293e,
// softdep on the audio driver; the serial card is bound to "serial" (built in:
// no module link, no softdep).
TEST(ModprobeVfioFixer, EveryModprobeCorpusFile) {
  int cases = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(fixers_test::CorpusDir() / "modprobe")) {
    std::string name = entry.path().filename();
    if (name.find("modprobe.d_") == std::string::npos) continue;  // /etc/modules, modules-load.d
    Machine m("intel-iommu");
    ASSERT_TRUE(m.ok());
    std::string path = "/etc/modprobe.d/" + name.substr(name.find("modprobe.d_") + 11);
    if (!path.ends_with(".conf")) path = path.substr(0, path.rfind(".conf") + 5);
    m.PutCorpus(path, "modprobe/" + name);
    std::string original = m.Get(path);
    Host host = m.OpenHost();
    auto fixer = MakeModprobeVfioFixer();
    auto opts = VfioOptions({"0000:05:02.0"});
    auto plan = fixer->Plan(host, opts);
    ASSERT_TRUE(plan.has_value()) << name << ": " << plan.error().ToString();
    ASSERT_FALSE(plan->edits.empty()) << name;
    std::string before_ids = EffectiveIds(ShowConfig(m));
    std::string id = fixers_test::Apply(host, *plan);
    std::string config = ShowConfig(m);
    std::string ids = EffectiveIds(config);
    EXPECT_NE(ids.find("1b36:0002"), std::string::npos) << name << "\n" << config;
    EXPECT_NE(ids.find("8086:293e"), std::string::npos) << name << "\n" << config;
    // Ids that were in effect stay in effect (merged, not shadowed).
    size_t p = 0;
    while (!before_ids.empty() && p <= before_ids.size()) {
      size_t c = before_ids.find(',', p);
      if (c == std::string::npos) c = before_ids.size();
      EXPECT_NE(ids.find(before_ids.substr(p, c - p)), std::string::npos) << name;
      p = c + 1;
    }
    EXPECT_NE(config.find("softdep snd_hda_intel pre: vfio"), std::string::npos) << name << "\n"
                                                                                 << config;
    auto again = fixer->Plan(host, opts);
    ASSERT_TRUE(again.has_value()) << name;
    EXPECT_TRUE(again->edits.empty()) << name << "\n" << fixers_test::Describe(*again);
    fixers_test::Undo(host, id);
    EXPECT_EQ(m.Get(path), original) << name;
    EXPECT_FALSE(m.Has(kModprobeVfioConf) && path != kModprobeVfioConf) << name;
    ++cases;
  }
  EXPECT_GE(cases, 50);
}

TEST(ModprobeVfioFixer, MergesIntoTheIdsLineInEffect) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.PutCorpus("/etc/modprobe.d/vfio.conf", "modprobe/user-swannmr_modprobe.d_vfio.conf");
  Host host = m.OpenHost();
  auto plan = MakeModprobeVfioFixer()->Plan(host, VfioOptions({"0000:05:02.0"}));
  ASSERT_TRUE(plan.has_value());
  bool edited_theirs = false;
  for (auto& e : plan->edits) {
    if (e.path == "/etc/modprobe.d/vfio.conf") {
      edited_theirs = true;
      EXPECT_NE(e.after->find("ids=1002:6811,1002:aab0,8086:8cb1,1b36:0002,8086:293e"),
                std::string::npos)
          << *e.after;
    } else {
      EXPECT_EQ(e.after->find("ids="), std::string::npos) << e.path << ": a competing ids=";
    }
  }
  EXPECT_TRUE(edited_theirs);
}

TEST(ModprobeVfioFixer, IdenticalNicsAreNotBoundById) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  Host host = m.OpenHost();
  auto plan = MakeModprobeVfioFixer()->Plan(host, VfioOptions({"0000:02:00.0"}));
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(plan->edits.size(), 1u);
  EXPECT_EQ(plan->edits[0].path, kModprobeVfioConf);
  EXPECT_EQ(plan->edits[0].after->find("ids="), std::string::npos) << *plan->edits[0].after;
  // e1000e is a module here: vfio-pci still loads before it.
  EXPECT_NE(plan->edits[0].after->find("softdep e1000e pre: vfio-pci"), std::string::npos);
  ASSERT_FALSE(plan->notes.empty());
  EXPECT_NE(plan->notes[0].find("0000:01:00.0"), std::string::npos) << plan->notes[0];
  // Both chosen (01:00.0 carries the default route: an explicit override): the id is safe
  // again.
  FixerOptions both_options = VfioOptions({"0000:01:00.0", "0000:02:00.0"});
  both_options.allow_host_devices = {*PciAddress::Parse("0000:01:00.0")};
  auto both = MakeModprobeVfioFixer()->Plan(host, both_options);
  ASSERT_TRUE(both.has_value());
  ASSERT_EQ(both->edits.size(), 1u);
  EXPECT_NE(both->edits[0].after->find("options vfio_pci ids=8086:10d3"), std::string::npos)
      << *both->edits[0].after;
}

TEST(ModulesLoadFixer, VhostNetOnceAndRespectsEtcModules) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  Host host = m.OpenHost();
  FixerOptions o;
  o.vhost_net = true;
  auto fixer = MakeModulesLoadFixer();
  auto plan = fixer->Plan(host, o);
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(plan->edits.size(), 1u);
  EXPECT_EQ(plan->edits[0].path, kModulesLoadConf);
  std::string id = fixers_test::Apply(host, *plan);
  auto again = fixer->Plan(host, o);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->empty());
  fixers_test::Undo(host, id);
  EXPECT_FALSE(m.Has(kModulesLoadConf));
  // Debian's /etc/modules listing it already is enough (a real Proxmox
  // /etc/modules + line). (that file has no final newline)
  m.Put("/etc/modules",
        fixers_test::ReadAll(fixers_test::CorpusDir() / "modprobe/user-dstait_etc-modules") +
            "\nvhost_net\n");
  auto debian = fixer->Plan(host, o);
  ASSERT_TRUE(debian.has_value());
  EXPECT_TRUE(debian->empty());
}

}  // namespace
}  // namespace vmprep
