// The kernel command-line fixer on every real GRUB file, loader entry and
// cmdline file of the corpus, in a captured runtime root: plan -> apply
// (ApplyEditSet) -> bash/cat read the result -> plan again is empty -> undo is
// byte-identical.
#include "fixers/kernel_cmdline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "fixers/hugepages.h"
#include "fixers/transaction.h"
#include "tests/run_command.h"
#include "tests/sysroot.h"
#include "tests/test_files.h"

namespace vmprep {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::RunCommand;
using testing::Sysroot;

const fs::path kCorpus = vmprep::testing::CorpusDir();

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const fs::path& p, std::string_view bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

// A captured runtime root plus an empty config root to copy files into.
// Each capture is extracted once per run and per memory size (its runtime root
// is only read, so Envs share it); every Env gets a fresh, empty config root.
// big_memory puts a real 24 GiB host's meminfo in place of the guest's 1 GiB
// one.
const Sysroot& Captured(const std::string& name, bool big_memory) {
  static std::map<std::string, std::unique_ptr<Sysroot>> cache;
  auto& sr = cache[name + (big_memory ? "+24g" : "")];
  if (!sr) {
    sr = std::make_unique<Sysroot>(name);
    if (big_memory)
      fs::copy_file(fs::path(VMPREP_SOURCE_DIR) / "tests/fixers/data/meminfo-24g",
                    fs::path(sr->runtime()) / "proc/meminfo", fs::copy_options::overwrite_existing);
  }
  return *sr;
}

struct Env {
  // own_runtime: a private copy of the runtime root, for tests that add to it.
  explicit Env(const std::string& sysroot, bool big_memory = true, bool own_runtime = false) {
    const Sysroot& sr = Captured(sysroot, big_memory);
    EXPECT_TRUE(sr.ok()) << sysroot;
    dir = vmprep::testing::FreshTempDir("cmdline-fixer");
    fs::create_directories(dir / "config");
    runtime = sr.runtime();
    if (own_runtime) {
      fs::copy(sr.runtime(), dir / "runtime",
               fs::copy_options::recursive | fs::copy_options::copy_symlinks);
      runtime = dir / "runtime";
    }
    auto h = Host::Open(runtime.string(), (dir / "config").string());
    EXPECT_TRUE(h.has_value());
    host.emplace(std::move(*h));
  }
  ~Env() { fs::remove_all(dir); }
  fs::path Config(std::string_view path) const {
    return dir / "config" / std::string(path.substr(1));
  }
  fs::path Runtime(std::string_view path) const { return runtime / std::string(path.substr(1)); }
  void Put(std::string_view path, std::string_view bytes) const { WriteAll(Config(path), bytes); }
  std::string Get(std::string_view path) const { return ReadAll(Config(path)); }
  fs::path dir, runtime;
  std::optional<Host> host;
};

std::string Shq(const std::string& s) { return "'" + s + "'"; }

// Sources /etc/default/grub then grub.d/*.cfg as grub-mkconfig does, and prints
// the kernel options of a normal boot entry ($GRUB_CMDLINE_LINUX
// $GRUB_CMDLINE_LINUX_DEFAULT).
std::string GrubBootOptions(const Env& env) {
  std::string dir = env.Config("/etc/default").string();
  auto r = RunCommand("cd " + Shq(dir) +
                      " && env -i bash -c 'set -a; . ./grub; for f in ./grub.d/*.cfg; do "
                      "[ -e \"$f\" ] && . \"$f\"; done; printf \"%s %s\" "
                      "\"$GRUB_CMDLINE_LINUX\" \"$GRUB_CMDLINE_LINUX_DEFAULT\"' 2>/dev/null");
  EXPECT_EQ(r.code, 0) << dir;
  return r.out;
}

// Every other variable the GRUB files set, as bash sees them.
std::string GrubOtherVars(const Env& env) {
  std::string dir = env.Config("/etc/default").string();
  auto r = RunCommand("cd " + Shq(dir) +
                      " && env -i bash -c 'set -a; . ./grub; for f in ./grub.d/*.cfg; do "
                      "[ -e \"$f\" ] && . \"$f\"; done; env' 2>/dev/null | grep -v "
                      "'^GRUB_CMDLINE_LINUX' | grep -v '^PWD=\\|^SHLVL=\\|^_=' | sort");
  return r.out;
}

// The winning token per key and the set of all tokens.
struct Effective {
  std::vector<std::string> tokens;
  std::string Get(std::string_view key) const { return Cmdline(Join()).Get(key); }
  bool Has(std::string_view token) const {
    return std::find(tokens.begin(), tokens.end(), token) != tokens.end();
  }
  std::string Join() const {
    std::string s;
    for (auto& t : tokens) s += t + " ";
    return s;
  }
};
Effective Parse(std::string_view text) { return {Cmdline(text).Tokens()}; }

// Applies with the transaction code, then checks plan-again-empty and undo.
struct Applied {
  std::string id;
};
Applied Apply(const Env& env, const EditSet& plan) {
  auto r = ApplyEditSet(*env.host, plan);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().ToString());
  return {r ? r->record.id : ""};
}

FixerOptions AllOptions() {
  FixerOptions o;
  o.iommu = true;
  o.iommu_pt = true;
  o.vfio = true;
  o.devices = {*PciAddress::Parse("0000:05:02.0")};  // ICH9 audio: group 10 with the 16550
  o.hugepages = FixerOptions::Hugepages{2048, 512};
  return o;
}

// What the grub corpus test expects to be refused, and why (a substring of the
// error).
const std::map<std::string, std::string> kExpectedGrubRefusals = {};

struct GrubCase {
  std::string file;       // corpus/grub/<file>
  std::string main = "";  // "" : the file is /etc/default/grub; else that file is
};

std::vector<std::string> GrubCorpus() {
  std::vector<std::string> files;
  for (auto& e : fs::directory_iterator(kCorpus / "grub")) files.push_back(e.path().filename());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(CmdlineFixerCorpus, EveryGrubFile) {
  ASSERT_GE(GrubCorpus().size(), 30u);
  const std::string debian_default = "debian-12_grub2-common_2.06-13+deb12u2.grub";
  int planned = 0, refused = 0;
  for (const std::string& name : GrubCorpus()) {
    SCOPED_TRACE(name);
    Env env("intel-iommu");
    std::string original = ReadAll(kCorpus / "grub" / name);
    std::string edited_path = "/etc/default/grub";
    // grub.d drop-ins sit on top of a stock Debian /etc/default/grub.
    if (name.find("grub.d_") != std::string::npos) {
      env.Put("/etc/default/grub", ReadAll(kCorpus / "grub" / debian_default));
      edited_path = "/etc/default/grub.d/" + name.substr(name.find("grub.d_") + 7);
      if (!edited_path.ends_with(".cfg")) edited_path += ".cfg";
    }
    env.Put(edited_path, original);
    std::string main_before = env.Get("/etc/default/grub");
    std::string others_before = GrubOtherVars(env);
    std::string options_before = GrubBootOptions(env);

    auto fixer = MakeCmdlineFixer();
    auto plan = fixer->Plan(*env.host, AllOptions());
    auto refusal = kExpectedGrubRefusals.find(name);
    if (refusal != kExpectedGrubRefusals.end()) {
      ASSERT_FALSE(plan.has_value());
      EXPECT_THAT(plan.error().ToString(), HasSubstr(refusal->second));
      EXPECT_GT(plan.error().line, 0);
      ++refused;
      continue;
    }
    ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
    ASSERT_FALSE(plan->edits.empty());
    for (const auto& e : plan->edits) {
      EXPECT_EQ(e.fixer, kFixKernelCmdline);
      EXPECT_FALSE(e.why.empty());
      EXPECT_FALSE(UnifiedDiff(e).empty());
    }
    ASSERT_EQ(plan->actions.size(), 1u);
    EXPECT_EQ(plan->actions[0].argv,
              (std::vector<std::string>{"grub-mkconfig", "-o", "/boot/grub/grub.cfg"}));
    Applied applied = Apply(env, *plan);

    // bash reads the files back; the kernel would see these options.
    Effective after = Parse(GrubBootOptions(env));
    EXPECT_EQ(after.Get("intel_iommu").find("off"), std::string::npos);
    EXPECT_THAT(SplitCommaList(after.Get("intel_iommu")), ::testing::Contains("on"));
    EXPECT_EQ(after.Get("iommu"), "pt");
    EXPECT_FALSE(after.Has("amd_iommu=on"));
    EXPECT_FALSE(after.Has("iommu=1"));
    auto ids = SplitCommaList(after.Get("vfio-pci.ids"));
    EXPECT_THAT(ids, ::testing::IsSupersetOf({"1b36:0002", "8086:293e"}));
    EXPECT_EQ(after.Get("hugepages"), "512");
    EXPECT_EQ(after.Get("hugepagesz"), "2M");
    EXPECT_EQ(after.Get("default_hugepagesz"), "2M");
    // Tokens that were there and are not ours stay.
    for (const auto& t : Parse(options_before).tokens) {
      std::string key = CmdlineKey(t);
      if (key == "intel_iommu" || key == "iommu" || key == "vfio_pci.ids" ||
          key.starts_with("hugepage") || key == "default_hugepagesz" || t == "amd_iommu=on")
        continue;
      EXPECT_TRUE(after.Has(t)) << "lost " << t;
    }
    EXPECT_EQ(GrubOtherVars(env), others_before);

    auto again = fixer->Plan(*env.host, AllOptions());
    ASSERT_TRUE(again.has_value()) << again.error().ToString();
    EXPECT_TRUE(again->empty()) << (again->edits.empty() ? "" : UnifiedDiff(again->edits[0]));

    auto undone = UndoTransaction(*env.host, applied.id);
    ASSERT_TRUE(undone.has_value()) << undone.error().ToString();
    EXPECT_EQ(env.Get(edited_path), original);
    EXPECT_EQ(env.Get("/etc/default/grub"), main_before);
    if (std::getenv("VMPREP_SHOW_DIFFS"))
      for (const auto& e : plan->edits)
        std::fprintf(stderr, "== %s\n%s", name.c_str(), UnifiedDiff(e).c_str());
    ++planned;
  }
  EXPECT_EQ(refused, static_cast<int>(kExpectedGrubRefusals.size()));
  EXPECT_EQ(planned + refused, static_cast<int>(GrubCorpus().size()));
}

}  // namespace
}  // namespace vmprep

namespace vmprep {
namespace {

std::string Corpus(std::string_view rel) { return ReadAll(kCorpus / std::string(rel)); }

// Plan, apply, plan again (empty), undo (byte-identical): returns the plan.
EditSet RoundTrip(const Env& env, const FixerOptions& options,
                  const std::vector<std::string>& files,
                  const std::function<void()>& check_applied) {
  std::map<std::string, std::string> before;
  for (const auto& f : files)
    if (fs::exists(env.Config(f))) before[f] = env.Get(f);
  auto fixer = MakeCmdlineFixer();
  auto plan = fixer->Plan(*env.host, options);
  EXPECT_TRUE(plan.has_value()) << plan.error().ToString();
  if (!plan) return {};
  Applied applied = Apply(env, *plan);
  check_applied();
  auto again = fixer->Plan(*env.host, options);
  EXPECT_TRUE(again.has_value() && again->empty());
  auto undone = UndoTransaction(*env.host, applied.id);
  EXPECT_TRUE(undone.has_value()) << undone.error().ToString();
  for (const auto& f : files) {
    if (before.contains(f))
      EXPECT_EQ(env.Get(f), before[f]) << f;
    else
      EXPECT_FALSE(fs::exists(env.Config(f))) << f << " was created and not removed";
  }
  return *plan;
}

FixerOptions IommuOnly() {
  FixerOptions o;
  o.iommu = true;
  o.iommu_pt = true;
  return o;
}

TEST(CmdlineFixer, AmdRemovesAmdIommuOnAndNeverAddsIt) {
  Env env("amd-iommu");
  env.Put("/etc/default/grub", Corpus("grub/ubuntu-x570_user-smartperson_grub"));
  RoundTrip(env, IommuOnly(), {"/etc/default/grub"}, [&] {
    Effective e = Parse(GrubBootOptions(env));
    EXPECT_FALSE(e.Has("amd_iommu=on"));
    EXPECT_FALSE(e.Has("intel_iommu=on"));
    EXPECT_EQ(e.Get("iommu"), "pt");
    EXPECT_TRUE(e.Has("vfio-pci.ids=1002:731f,1002:ab38"));  // the user's own, kept
  });
}

TEST(CmdlineFixer, AmdOnDebianDefaultAddsNothingButIommuPt) {
  Env env("amd-iommu");
  env.Put("/etc/default/grub", Corpus("grub/debian-12_grub2-common_2.06-13+deb12u2.grub"));
  FixerOptions o;
  o.iommu = true;
  auto plan = MakeCmdlineFixer()->Plan(*env.host, o);
  ASSERT_TRUE(plan.has_value());
  EXPECT_TRUE(plan->empty()) << "the AMD IOMMU needs no parameter";
  o.iommu_pt = true;
  plan = MakeCmdlineFixer()->Plan(*env.host, o);
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(plan->edits.size(), 1u);
  EXPECT_THAT(*plan->edits[0].after, HasSubstr("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\""));
}

TEST(CmdlineFixer, IntelAddsIntelIommuOn) {
  Env env("intel-iommu");
  env.Put("/etc/default/grub", Corpus("grub/debian-12_grub2-common_2.06-13+deb12u2.grub"));
  FixerOptions o;
  o.iommu = true;
  RoundTrip(env, o, {"/etc/default/grub"}, [&] {
    Effective e = Parse(GrubBootOptions(env));
    EXPECT_TRUE(e.Has("intel_iommu=on"));
    EXPECT_FALSE(e.Has("iommu=pt"));
  });
}

TEST(CmdlineFixer, TwoIdenticalDevicesAreNotBoundByIds) {
  Env env("intel-iommu");
  env.Put("/etc/default/grub", Corpus("grub/debian-12_grub2-common_2.06-13+deb12u2.grub"));
  FixerOptions o;
  o.vfio = true;
  o.devices = {*PciAddress::Parse("02:00.0")};  // 8086:10d3, and so is 01:00.0
  auto plan = MakeCmdlineFixer()->Plan(*env.host, o);
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  EXPECT_TRUE(plan->edits.empty());
  ASSERT_EQ(plan->notes.size(), 1u);
  EXPECT_THAT(plan->notes[0], HasSubstr("0000:01:00.0"));
  EXPECT_THAT(plan->notes[0], HasSubstr("by address"));
  // Both chosen: ids take exactly the chosen ones.
  // 01:00.0 carries the default route: giving it away takes an explicit override.
  o.devices.push_back(*PciAddress::Parse("01:00.0"));
  o.allow_host_devices.push_back(*PciAddress::Parse("01:00.0"));
  plan = MakeCmdlineFixer()->Plan(*env.host, o);
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(plan->edits.size(), 1u);
  EXPECT_THAT(*plan->edits[0].after, HasSubstr("vfio-pci.ids=8086:10d3\""));
}

TEST(CmdlineFixer, UnknownDeviceIsAnError) {
  Env env("intel-iommu");
  env.Put("/etc/default/grub", Corpus("grub/debian-12_grub2-common_2.06-13+deb12u2.grub"));
  FixerOptions o;
  o.vfio = true;
  o.devices = {*PciAddress::Parse("0000:0a:00.0")};
  auto plan = MakeCmdlineFixer()->Plan(*env.host, o);
  ASSERT_FALSE(plan.has_value());
  EXPECT_THAT(plan.error().ToString(), HasSubstr("0000:0a:00.0"));
}

TEST(CmdlineFixer, ExpansionInGrubDropInIsRefusedWithFileAndLine) {
  Env env("intel-iommu");
  std::string main = Corpus("grub/debian-12_grub2-common_2.06-13+deb12u2.grub");
  env.Put("/etc/default/grub", main);
  // The shape Ubuntu's cloud images and many guides use in grub.d to extend the
  // main value.
  std::string cfg =
      "# added by a "
      "guide\nGRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_"
      "DEFAULT splash\"\n";
  env.Put("/etc/default/grub.d/90-guide.cfg", cfg);
  auto plan = MakeCmdlineFixer()->Plan(*env.host, IommuOnly());
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().path, "/etc/default/grub.d/90-guide.cfg");
  EXPECT_EQ(plan.error().line, 2);
  EXPECT_EQ(env.Get("/etc/default/grub"), main);
}

TEST(CmdlineFixer, GrubDropInThatAssignsLastIsEdited) {
  Env env("intel-iommu");
  std::string main = Corpus("grub/ubuntu-22.04_cloudimg_grub");
  env.Put("/etc/default/grub", main);
  env.Put("/etc/default/grub.d/50-cloudimg-settings.cfg",
          Corpus("grub/ubuntu-22.04_cloudimg_grub.d_50-cloudimg-settings.cfg"));
  auto plan = MakeCmdlineFixer()->Plan(*env.host, IommuOnly());
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(plan->edits.size(), 1u);
  EXPECT_EQ(plan->edits[0].path, "/etc/default/grub.d/50-cloudimg-settings.cfg");
  EXPECT_THAT(plan->edits[0].why, HasSubstr("50-cloudimg-settings.cfg:"));
}

TEST(CmdlineFixer, GrubRegenerationCommandFollowsTheTree) {
  {
    Env env("intel-iommu");
    env.Put("/etc/default/grub", Corpus("grub/debian-12_grub2-common_2.06-13+deb12u2.grub"));
    env.Put("/usr/sbin/update-grub",
            "#!/bin/sh\nexec grub-mkconfig -o /boot/grub/grub.cfg \"$@\"\n");
    env.Put("/usr/sbin/grub-mkconfig", "#!/bin/sh\n");
    auto plan = MakeCmdlineFixer()->Plan(*env.host, IommuOnly());
    ASSERT_TRUE(plan.has_value());
    ASSERT_EQ(plan->actions.size(), 1u);
    EXPECT_EQ(plan->actions[0].argv, std::vector<std::string>{"/usr/sbin/update-grub"});
  }
  {
    Env env("intel-iommu");
    env.Put("/etc/default/grub", Corpus("grub/fedora_user-guru-25_grub"));
    fs::create_directories(env.Config("/boot/grub2"));
    fs::create_directories(env.Config("/boot/efi/EFI/fedora"));
    env.Put("/boot/efi/EFI/fedora/grub.cfg", "configfile $prefix/grub.cfg\n");
    auto plan = MakeCmdlineFixer()->Plan(*env.host, IommuOnly());
    ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
    ASSERT_FALSE(plan->actions.empty());
    for (const auto& a : plan->actions)
      for (const auto& arg : a.argv) EXPECT_EQ(arg.find("/boot/efi"), std::string::npos);
    EXPECT_THAT(plan->actions.back().argv, ::testing::Contains("/boot/grub2/grub.cfg"));
  }
}

TEST(CmdlineFixer, EverySystemdBootEntryIsEdited) {
  Env env("amd-iommu");
  const std::string a = "/boot/loader/entries/arch-lts.conf",
                    c = "/boot/loader/entries/cachyos.conf";
  env.Put(a, Corpus("systemd-boot/arch_user-droserasprout_loader-entries_arch-lts.conf"));
  env.Put(c, Corpus("systemd-boot/cachyos_user-ozzyhelix_loader-entries_cachyos.conf"));
  std::string a0 = env.Get(a), c0 = env.Get(c);
  auto plan = RoundTrip(env, IommuOnly(), {a, c}, [&] {
    for (const auto& [path, orig] : {std::pair{a, a0}, std::pair{c, c0}}) {
      std::string now = env.Get(path);
      auto old_lines = SplitLines(orig), new_lines = SplitLines(now);
      ASSERT_EQ(old_lines.size(), new_lines.size());
      for (size_t i = 0; i < old_lines.size(); ++i) {
        if (!old_lines[i].starts_with("options")) {
          EXPECT_EQ(old_lines[i], new_lines[i]);
          continue;
        }
        Effective e = Parse(new_lines[i].substr(8));
        EXPECT_FALSE(e.Has("amd_iommu=on"));
        EXPECT_FALSE(e.Has("iommu=1"));
        EXPECT_EQ(e.Get("iommu"), "pt");
        // AMD-Vi: intel_iommu= does nothing; the iommu probe calls it a mistake, so the
        // fixer removes it (the Arch entry had intel_iommu=on) and never adds it.
        EXPECT_FALSE(e.Has("intel_iommu"));
        EXPECT_THAT(std::string(new_lines[i]), HasSubstr("root="));
      }
    }
  });
  EXPECT_TRUE(plan.actions.empty());
  ASSERT_EQ(plan.edits.size(), 2u);
}

TEST(CmdlineFixer, KernelCmdlineFileAndKernelInstall) {
  Env env("intel-iommu");
  const std::string p = "/etc/kernel/cmdline";
  env.Put(p, Corpus("systemd-boot/arch_user-vvorth_efistub-cmdline"));
  fs::create_directories(env.Config("/boot/loader/entries"));
  FixerOptions o = IommuOnly();
  o.hugepages = FixerOptions::Hugepages{2048, 1024};
  auto plan = RoundTrip(env, o, {p}, [&] {
    std::string now = env.Get(p);
    Effective e = Parse(now);
    EXPECT_TRUE(e.Has("intel_iommu=on"));
    EXPECT_TRUE(e.Has("iommu=pt"));
    EXPECT_TRUE(e.Has("vfio-pci.ids=10de:1c03,10de:10f1,1022:145c,1022:145a,1022:1456"));
    // 1G x 8 is replaced by the asked reservation, in order.
    EXPECT_THAT(now, HasSubstr("default_hugepagesz=2M hugepagesz=2M hugepages=1024"));
    EXPECT_THAT(now,
                HasSubstr("ipv6.disable_ipv6=1   processor.max_cstate=5"));  // spacing kept
  });
  ASSERT_EQ(plan.edits.size(), 1u);
  // No kernel-install in this tree: nothing to run, and the plan says so.
  EXPECT_TRUE(plan.actions.empty());
  ASSERT_EQ(plan.notes.size(), 1u);
  EXPECT_THAT(plan.notes[0], HasSubstr("/etc/kernel/cmdline"));
  // systemd >= 255 ships kernel-install with add-all (its binary names the
  // verb).
  env.Put("/usr/bin/kernel-install", std::string("\x7f"
                                                 "ELF...add-all...",
                                                 16));
  auto again = MakeCmdlineFixer()->Plan(*env.host, o);
  ASSERT_TRUE(again.has_value());
  ASSERT_EQ(again->actions.size(), 1u);
  EXPECT_EQ(again->actions[0].argv,
            (std::vector<std::string>{"/usr/bin/kernel-install", "add-all"}));
}

TEST(CmdlineFixer, CmdlineDropInsGetOurOwnFile) {
  Env env("intel-iommu");
  const std::string theirs = "/etc/cmdline.d/hugepage.conf", ours = "/etc/cmdline.d/vmprep.conf";
  env.Put(theirs, Corpus("mkinitcpio/arch_user-sondrehusevold_etc-cmdline.d_hugepage.conf"));
  env.Put("/usr/bin/mkinitcpio", "#!/bin/bash\n");
  auto plan = RoundTrip(env, IommuOnly(), {theirs, ours}, [&] {
    auto r = RunCommand("cat " + Shq(env.Config("/etc/cmdline.d").string()) + "/*.conf");
    Effective e = Parse(r.out);
    EXPECT_TRUE(e.Has("transparent_hugepage=madvise"));
    EXPECT_TRUE(e.Has("intel_iommu=on"));
    EXPECT_TRUE(e.Has("iommu=pt"));
  });
  ASSERT_EQ(plan.edits.size(), 1u);
  EXPECT_EQ(plan.edits[0].path, ours);
  EXPECT_FALSE(plan.edits[0].before.has_value());
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].argv, (std::vector<std::string>{"/usr/bin/mkinitcpio", "-P"}));
}

TEST(CmdlineFixer, RpmOstreeGetsKargsNotFileEdits) {
  Env env("intel-iommu", true, /*own_runtime=*/true);
  WriteAll(env.Runtime("/run/ostree-booted"), "");
  env.Put("/etc/default/grub", Corpus("grub/fedora_user-guru-25_grub"));
  FixerOptions o = IommuOnly();
  auto plan = MakeCmdlineFixer()->Plan(*env.host, o);
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  EXPECT_TRUE(plan->edits.empty());
  ASSERT_EQ(plan->actions.size(), 1u);
  // The captured kernel already runs with intel_iommu=on: only iommu=pt is
  // appended.
  EXPECT_EQ(plan->actions[0].argv,
            (std::vector<std::string>{"rpm-ostree", "kargs", "--append-if-missing=iommu=pt"}));
  EXPECT_FALSE(plan->notes.empty());
}

TEST(CmdlineFixer, NothingToEditIsAnError) {
  Env env("intel-iommu");
  auto plan = MakeCmdlineFixer()->Plan(*env.host, IommuOnly());
  ASSERT_FALSE(plan.has_value());
  EXPECT_THAT(plan.error().message, HasSubstr("/etc/default/grub"));
  auto none = MakeCmdlineFixer()->Plan(*env.host, FixerOptions{});
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST(CmdlineChangeTest, GroupWithTwoSizesIsRefused) {
  std::vector<Cmdline> segs{Cmdline("quiet hugepagesz=2M hugepages=512 hugepagesz=1G hugepages=4")};
  CmdlineChange c;
  c.group = {"default_hugepagesz=1G", "hugepagesz=1G", "hugepages=8"};
  auto r = ApplyCmdlineChange(segs, 0, c);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error(), HasSubstr("different values"));
  EXPECT_EQ(segs[0].text(), "quiet hugepagesz=2M hugepages=512 hugepagesz=1G hugepages=4");
}

TEST(CmdlineChangeTest, IntelIommuOffBecomesOnKeepingOtherItems) {
  std::vector<Cmdline> segs{Cmdline("intel_iommu=off"), Cmdline("quiet intel_iommu=igfx_off,off")};
  CmdlineChange c;
  c.lists.push_back({"intel_iommu", {"on"}, {"off"}});
  ASSERT_TRUE(*ApplyCmdlineChange(segs, 1, c));
  EXPECT_EQ(segs[0].text(), "intel_iommu=igfx_off,on");
  EXPECT_EQ(segs[1].text(), "quiet intel_iommu=igfx_off,on");
  EXPECT_FALSE(*ApplyCmdlineChange(segs, 1, c));
}

}  // namespace
}  // namespace vmprep
