// The initramfs fixer on every mkinitcpio, dracut, initramfs-tools and booster
// file of the corpus, on a 6.1 runtime (intel-iommu: vfio_virqfd still a
// module) and a 6.18 one (pvm-host: vfio_virqfd merged into vfio). Each case:
// plan -> apply (ApplyEditSet) -> the real tool's own reading of the file (bash
// sources mkinitcpio/dracut files; initramfs-tools' add_modules_from_file loop;
// booster.yaml through a YAML parser) -> plan again is empty -> undo is
// byte-identical.
#include "fixers/initramfs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "system/modules.h"
#include "tests/fixers/vfio_fixers_test_util.h"

namespace vmprep {
namespace {

using fixers_test::Machine;
using fixers_test::VfioOptions;

struct Kernel {
  const char* sysroot;
  bool virqfd;  // the kernel still has vfio_virqfd as a module
};
constexpr Kernel kKernels[] = {{"intel-iommu", true}, {"pvm-host", false}};

bool IsGpu(const std::string& m) {
  std::string n = ModuleName(m);
  return n == "amdgpu" || n == "radeon" || n == "nouveau" || n == "i915" || n.starts_with("nvidia");
}

// The vfio modules are all there, each before the first GPU driver, and
// vfio_virqfd exactly when the kernel has it.
void ExpectVfioFirst(const std::vector<std::string>& modules, bool virqfd,
                     const std::string& what) {
  auto find = [&](std::string_view m) {
    return std::find_if(modules.begin(), modules.end(),
                        [&](const std::string& x) { return ModuleName(x) == m; });
  };
  auto gpu = std::find_if(modules.begin(), modules.end(), IsGpu);
  for (std::string_view m : {"vfio_pci", "vfio", "vfio_iommu_type1"}) {
    auto it = find(m);
    ASSERT_NE(it, modules.end()) << what << ": " << m << " missing";
    EXPECT_LT(it - modules.begin(), gpu - modules.begin())
        << what << ": " << m << " after a GPU driver";
  }
  EXPECT_EQ(find("vfio_virqfd") != modules.end(), virqfd) << what;
}

// One full cycle; returns the plan's error text for a refusal ("" when it
// planned).
std::string Cycle(const Machine& m, const std::string& what,
                  const std::vector<std::string>& watched,
                  const std::function<std::vector<std::string>()>& read_modules, bool virqfd,
                  std::vector<std::string> expected_argv,
                  std::vector<std::string> only_paths = {}) {
  Host host = m.OpenHost();
  auto fixer = MakeInitramfsFixer();
  std::map<std::string, std::optional<std::string>> original;
  for (const auto& p : watched)
    original[p] = m.Has(p) ? std::optional<std::string>(m.Get(p)) : std::nullopt;
  auto plan = fixer->Plan(host, VfioOptions());
  if (!plan) return plan.error().ToString();
  if (!plan->edits.empty()) {
    bool found = false;
    for (const auto& a : plan->actions) found |= a.argv == expected_argv;
    EXPECT_TRUE(found) << what << "\n" << fixers_test::Describe(*plan);
    for (const auto& e : plan->edits) {
      if (!only_paths.empty()) {
        EXPECT_NE(std::find(only_paths.begin(), only_paths.end(), e.path), only_paths.end())
            << what << ": unexpected edit of " << e.path;
      }
    }
  }
  std::string id = plan->edits.empty() ? "" : fixers_test::Apply(host, *plan);
  ExpectVfioFirst(read_modules(), virqfd, what);
  auto again = fixer->Plan(host, VfioOptions());
  EXPECT_TRUE(again.has_value()) << what;
  if (again) {
    EXPECT_TRUE(again->edits.empty()) << what << "\n" << fixers_test::Describe(*again);
  }
  if (!id.empty()) fixers_test::Undo(host, id);
  for (const auto& [p, bytes] : original) {
    EXPECT_EQ(m.Has(p), bytes.has_value()) << what << ": " << p;
    if (bytes && m.Has(p)) {
      EXPECT_EQ(m.Get(p), *bytes) << what << ": undo of " << p;
    }
  }
  return "";
}

std::vector<std::string> BashWords(const std::string& script) {
  int status = 0;
  auto out = fixers_test::Shell("bash -c '" + script + "' 2>/dev/null", &status);
  EXPECT_EQ(status, 0) << script;
  std::vector<std::string> words;
  for (auto& l : fixers_test::Lines(out))
    for (auto w : SplitWords(l)) words.emplace_back(w);
  return words;
}

// --- mkinitcpio
// -----------------------------------------------------------------------

// Corpus mkinitcpio files that are not a mkinitcpio.conf: not for this fixer.
const std::map<std::string, std::string> kMkinitcpioNotApplicable = {
    {"arch_user-danrichardson_mkinitcpio.d_linux-vfio.preset",
     "a preset (/etc/mkinitcpio.d): names images and options, never MODULES"},
    {"arch_user-sondrehusevold_etc-cmdline.d_hugepage.conf",
     "/etc/cmdline.d: a kernel command line (the cmdline fixer's file)"},
};
const std::string kDropIn = "endeavouros_iso-airootfs_mkinitcpio.conf.d_archiso.conf";
// Refused files, with why the refusal is right. Empty: every mkinitcpio.conf is
// edited.
const std::map<std::string, std::string> kMkinitcpioRefused = {};

TEST(InitramfsFixer, EveryMkinitcpioCorpusFile) {
  int cases = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(fixers_test::CorpusDir() / "mkinitcpio")) {
    std::string name = entry.path().filename();
    if (kMkinitcpioNotApplicable.contains(name)) continue;
    for (const Kernel& k : kKernels) {
      Machine m(k.sysroot);
      ASSERT_TRUE(m.ok());
      m.Put("/usr/bin/mkinitcpio", "");
      std::vector<std::string> watched = {"/etc/mkinitcpio.conf"};
      std::string script = "set -a; . " + m.Path("/etc/mkinitcpio.conf").string();
      if (name == kDropIn) {
        m.PutCorpus("/etc/mkinitcpio.conf", "mkinitcpio/arch_mkinitcpio-v39.2_default.conf");
        m.PutCorpus("/etc/mkinitcpio.conf.d/archiso.conf", "mkinitcpio/" + name);
        watched.push_back("/etc/mkinitcpio.conf.d/archiso.conf");
        script += "; . " + m.Path("/etc/mkinitcpio.conf.d/archiso.conf").string();
      } else {
        m.PutCorpus("/etc/mkinitcpio.conf", "mkinitcpio/" + name);
      }
      script += "; printf \"%s\\n\" \"${MODULES[@]}\"";
      std::string what = name + " @" + k.sysroot;
      std::vector<std::string> only;
      if (name == kDropIn)
        only = {"/etc/mkinitcpio.conf.d/archiso.conf"};  // it assigns MODULES last
      std::string refused = Cycle(
          m, what, watched, [&] { return BashWords(script); }, k.virqfd, {"mkinitcpio", "-P"},
          only);
      if (kMkinitcpioRefused.contains(name)) {
        EXPECT_NE(refused, "") << what << " was expected to be refused";
      } else {
        EXPECT_EQ(refused, "") << what;
      }
      ++cases;
    }
  }
  EXPECT_GE(cases, 2 * 22);
}

// --- dracut
// ---------------------------------------------------------------------------

// Where each dracut corpus file lives on a system.
std::string DracutPath(const std::string& name) {
  if (name.find("fedora.conf.example") != std::string::npos)
    return "/usr/lib/dracut/dracut.conf.d/01-dist.conf";
  if (name.find("suse.conf.example") != std::string::npos)
    return "/usr/lib/dracut/dracut.conf.d/01-dist.conf";
  auto at = name.find("dracut.conf.d_");
  if (at != std::string::npos) return "/etc/dracut.conf.d/" + name.substr(at + 14);
  return "/etc/dracut.conf";  // dracut.conf and the user's backup copy of one
}

TEST(InitramfsFixer, EveryDracutCorpusFile) {
  int cases = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(fixers_test::CorpusDir() / "dracut")) {
    std::string name = entry.path().filename();
    for (const Kernel& k : kKernels) {
      Machine m(k.sysroot);
      ASSERT_TRUE(m.ok());
      m.Put("/usr/bin/dracut", "");
      std::string path = DracutPath(name);
      m.PutCorpus(path, "dracut/" + name);
      std::string etc = m.Path("/etc").string(), lib = m.Path("/usr/lib/dracut").string();
      // dracut: dracut.conf, then *.conf of both directories by name (/etc
      // hides /usr/lib).
      std::string script = "set -a; [ -f " + etc + "/dracut.conf ] && . " + etc +
                           "/dracut.conf; "
                           "for n in $(ls " +
                           lib + "/dracut.conf.d " + etc +
                           "/dracut.conf.d 2>/dev/null | grep "
                           "\"\\.conf$\" | sort -u); do if [ -f " +
                           etc + "/dracut.conf.d/$n ]; then . " + etc +
                           "/dracut.conf.d/$n; else . " + lib +
                           "/dracut.conf.d/$n; fi; done; "
                           "printf \"%s\\n\" $force_drivers; printf \"%s\\n\" $add_drivers >&2";
      std::string what = name + " @" + k.sysroot;
      auto read = [&] {
        auto words = BashWords(script);
        if (!k.virqfd) {
          // add_drivers (only included) must not name the vanished module
          // either.
          auto add = fixers_test::Shell("bash -c '" + script + "' 2>&1 >/dev/null");
          EXPECT_EQ(add.find("virqfd"), std::string::npos) << what << ": " << add;
        }
        return words;
      };
      std::string refused = Cycle(m, what, {path, "/etc/dracut.conf.d/10-vmprep-vfio.conf"}, read,
                                  k.virqfd, {"dracut", "--regenerate-all", "--force"});
      EXPECT_EQ(refused, "") << what;
      ++cases;
    }
  }
  EXPECT_EQ(cases, 2 * 15);
}

TEST(InitramfsFixer, DracutDropInHasSpacesInsideQuotes) {
  Machine m("pvm-host");
  ASSERT_TRUE(m.ok());
  m.Put("/usr/bin/dracut", "");
  Host host = m.OpenHost();
  auto plan = MakeInitramfsFixer()->Plan(host, VfioOptions());
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(plan->edits.size(), 1u);
  EXPECT_EQ(plan->edits[0].path, "/etc/dracut.conf.d/10-vmprep-vfio.conf");
  EXPECT_FALSE(plan->edits[0].before.has_value());
  EXPECT_NE(plan->edits[0].after->find("force_drivers+=\" vfio_pci vfio vfio_iommu_type1 \"\n"),
            std::string::npos)
      << *plan->edits[0].after;
}

// --- initramfs-tools
// ------------------------------------------------------------------

const std::map<std::string, std::string> kInitramfsToolsNotApplicable = {
    {"debian9_user-skeen_hooks_vfio-pci-override",
     "a hook script (a program), not the modules list; vmprep ships its own "
     "hook"},
};

TEST(InitramfsFixer, EveryInitramfsToolsCorpusFile) {
  int cases = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(fixers_test::CorpusDir() / "initramfs-tools")) {
    std::string name = entry.path().filename();
    if (kInitramfsToolsNotApplicable.contains(name)) continue;
    for (const Kernel& k : kKernels) {
      Machine m(k.sysroot);
      ASSERT_TRUE(m.ok());
      m.Put("/usr/sbin/update-initramfs", "");
      m.PutCorpus("/etc/initramfs-tools/modules", "initramfs-tools/" + name);
      std::string original = m.Get("/etc/initramfs-tools/modules");
      // hook-functions' add_modules_from_file: lines not starting with '#',
      // first word.
      std::string script = "grep \"^[^#]\" " + m.Path("/etc/initramfs-tools/modules").string() +
                           " | while read -r module args; do [ -n \"$module\" ] && echo "
                           "\"$module\"; done";
      std::string what = name + " @" + k.sysroot;
      Host host = m.OpenHost();
      auto plan = MakeInitramfsFixer()->Plan(host, VfioOptions());
      ASSERT_TRUE(plan.has_value()) << what;
      ASSERT_LE(plan->edits.size(), 1u) << what;
      // Already listing every module (kchoudhu's file on 6.1) is "already
      // applied".
      std::string after = plan->edits.empty() ? original : *plan->edits[0].after;
      // Only whole lines are added (and vfio_virqfd lines removed on 6.2+):
      // every other line stays byte-identical and in order.
      std::string kept;
      for (auto& l : fixers_test::Lines(after))
        if (!l.starts_with("vfio")) kept += l + "\n";
      std::string orig_kept;
      for (auto& l : fixers_test::Lines(original))
        if (!l.starts_with("vfio")) orig_kept += l + "\n";
      EXPECT_EQ(kept, orig_kept) << what;
      EXPECT_TRUE(after.starts_with(original.substr(0, original.find("vfio")))) << what;
      std::string refused =
          Cycle(m, what, {"/etc/initramfs-tools/modules"}, [&] { return BashWords(script); },
                k.virqfd, {"update-initramfs", "-u", "-k", "all"});
      EXPECT_EQ(refused, "") << what;
      ++cases;
    }
  }
  EXPECT_EQ(cases, 2 * 5);
}

// --- booster
// --------------------------------------------------------------------------

TEST(InitramfsFixer, BoosterCorpusFileAndNewFile) {
  for (bool corpus : {true, false}) {
    for (const Kernel& k : kKernels) {
      Machine m(k.sysroot);
      ASSERT_TRUE(m.ok());
      m.Put("/usr/bin/booster", "");
      if (corpus) m.PutCorpus("/etc/booster.yaml", "booster/manjaro_user-madhavpcm_booster.yaml");
      // booster reads YAML: read modules_force_load back with a YAML parser.
      std::string script =
          "python3 -c \"import yaml,sys; d=yaml.safe_load(open(sys.argv[1])); "
          "print(chr(10).join(str(d[chr(109)+\\\"odules_force_load\\\"]).split("
          "chr(44))))\" " +
          m.Path("/etc/booster.yaml").string();
      std::string what = std::string(corpus ? "corpus" : "new") + " @" + k.sysroot;
      auto read = [&] {
        int status = 0;
        auto out = fixers_test::Shell(script, &status);
        EXPECT_EQ(status, 0) << what;
        std::vector<std::string> mods;
        for (auto& l : fixers_test::Lines(out)) mods.emplace_back(Trim(l));
        return mods;
      };
      std::string refused = Cycle(m, what, {"/etc/booster.yaml"}, read, k.virqfd,
                                  {"/usr/lib/booster/regenerate_images"});
      EXPECT_EQ(refused, "") << what;
    }
  }
}

TEST(InitramfsFixer, VirqfdRemovedOnNewKernelEvenWhenNothingElseIsMissing) {
  Machine m("pvm-host");
  ASSERT_TRUE(m.ok());
  m.Put("/usr/bin/mkinitcpio", "");
  m.Put("/etc/mkinitcpio.conf",
        "MODULES=(vfio_pci vfio vfio_iommu_type1 "
        "vfio_virqfd)\nHOOKS=(base udev)\n");
  Host host = m.OpenHost();
  auto plan = MakeInitramfsFixer()->Plan(host, VfioOptions());
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(plan->edits.size(), 1u);
  // The early-binding hook goes in after base and before udev, with modconf after it.
  EXPECT_EQ(*plan->edits[0].after,
            "MODULES=(vfio_pci vfio vfio_iommu_type1)\nHOOKS=(base vmprep-vfio udev modconf)\n");
  ASSERT_EQ(plan->actions.size(), 1u);
  EXPECT_EQ(plan->actions[0].argv, (std::vector<std::string>{"mkinitcpio", "-P"}));
}

// One rule for mkinitcpio's HOOKS: what the fixer writes is what the vfio probe's check
// (CheckBindHook) accepts, and the probe rejects what the fixer would change.
TEST(InitramfsFixer, HooksAreWhatTheProbeAsksFor) {
  struct Case {
    std::string hooks, want;
  };
  const Case cases[] = {
      {"base udev autodetect microcode kms keyboard keymap consolefont block filesystems fsck",
       "base vmprep-vfio udev autodetect modconf microcode kms keyboard keymap consolefont block "
       "filesystems fsck"},
      {"base udev vmprep-vfio modconf block filesystems",
       "base vmprep-vfio udev modconf block filesystems"},
      {"base vmprep-vfio udev autodetect modconf block",
       "base vmprep-vfio udev autodetect modconf block"},
      {"systemd autodetect modconf block sd-vconsole",
       "systemd autodetect modconf block sd-vconsole"},
  };
  for (const auto& c : cases) {
    Machine m("intel-iommu");
    ASSERT_TRUE(m.ok());
    m.Put("/usr/bin/mkinitcpio", "");
    m.Put("/etc/mkinitcpio.conf",
          "MODULES=(vfio_pci vfio vfio_iommu_type1 vfio_virqfd)\nHOOKS=(" + c.hooks + ")\n");
    Host host = m.OpenHost();
    auto gens = ReadInitramfsGenerators(host);
    ASSERT_TRUE(gens.has_value());
    BindHookState before = CheckBindHook(host, gens->front());
    const bool probe_happy = before.listed && before.ordered && before.modconf;
    auto plan = MakeInitramfsFixer()->Plan(host, VfioOptions());
    ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
    const bool systemd = c.hooks.starts_with("systemd");
    EXPECT_EQ(plan->edits.empty(), c.hooks == c.want) << c.hooks;
    EXPECT_EQ(probe_happy || systemd, c.hooks == c.want) << c.hooks;
    if (!plan->edits.empty()) {
      EXPECT_NE(plan->edits[0].after->find("HOOKS=(" + c.want + ")"), std::string::npos)
          << *plan->edits[0].after;
      m.Put("/etc/mkinitcpio.conf", *plan->edits[0].after);
      auto after = ReadInitramfsGenerators(host);
      ASSERT_TRUE(after.has_value());
      BindHookState state = CheckBindHook(host, after->front());
      EXPECT_TRUE(state.listed && state.ordered && state.modconf) << c.hooks;
    }
    if (systemd) {
      EXPECT_THAT(Join(plan->notes, "\n"), ::testing::HasSubstr("does not run vmprep-vfio"));
    }
  }
}

TEST(InitramfsFixer, VfioMovedAheadOfGpuDriverStringStyleKept) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.Put("/usr/bin/mkinitcpio", "");
  m.Put("/etc/mkinitcpio.conf", "MODULES=\"amdgpu vfio\"\n");
  Host host = m.OpenHost();
  auto plan = MakeInitramfsFixer()->Plan(host, VfioOptions());
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  ASSERT_EQ(plan->edits.size(), 1u);
  EXPECT_EQ(*plan->edits[0].after,
            "MODULES=\"vfio_pci vfio vfio_iommu_type1 vfio_virqfd amdgpu\"\n");
}

TEST(InitramfsFixer, NothingWithoutVfioOrGenerator) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  Host host = m.OpenHost();
  auto none = MakeInitramfsFixer()->Plan(host, FixerOptions{});
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  auto nogen = MakeInitramfsFixer()->Plan(host, VfioOptions());
  ASSERT_TRUE(nogen.has_value());
  EXPECT_TRUE(nogen->empty());
  EXPECT_FALSE(nogen->notes.empty());
}

}  // namespace
}  // namespace vmprep
