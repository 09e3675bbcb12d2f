// The hugepages fixer on captured runtime roots: validation against the machine
// (memory, pdpe1gb), the 1 GiB hugetlbfs mount unit, and the reservation
// planned with the kernel command line (the kernel-cmdline fixer owns those
// files) on a real GRUB file.
#include "fixers/hugepages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fixers/kernel_cmdline.h"
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

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A captured runtime root (optionally with a real 24 GiB host's meminfo, see
// tests/fixers/data/README.md) and the capture's config root.
struct Env {
  Env(const std::string& name, bool big_memory) : sr(name) {
    EXPECT_TRUE(sr.ok());
    if (big_memory)
      fs::copy_file(fs::path(VMPREP_SOURCE_DIR) / "tests/fixers/data/meminfo-24g",
                    fs::path(sr.runtime()) / "proc/meminfo", fs::copy_options::overwrite_existing);
    auto h = Host::Open(sr.runtime(), sr.config());
    EXPECT_TRUE(h.has_value());
    host.emplace(std::move(*h));
  }
  fs::path Config(const std::string& p) const { return fs::path(sr.config()) / p.substr(1); }
  Sysroot sr;
  std::optional<Host> host;
};

FixerOptions Huge(std::uint64_t page_kb, std::uint64_t count) {
  FixerOptions o;
  o.hugepages = FixerOptions::Hugepages{page_kb, count};
  return o;
}

TEST(HugepagesFixer, ValidationErrors) {
  Env intel("intel-iommu", /*big_memory=*/false);  // ~960 MiB guest, no pdpe1gb
  auto fixer = MakeHugepagesFixer();
  auto r = fixer->Plan(*intel.host, Huge(1048576, 1));
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().ToString(), HasSubstr("pdpe1gb"));
  // 128 MiB of 960 leaves the host more than half: fine. 448 MiB leaves less than half.
  EXPECT_TRUE(ValidateHugepages(*intel.host, {2048, 64}).has_value());
  r = fixer->Plan(*intel.host, Huge(2048, 300));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().path, "/proc/meminfo");
  EXPECT_THAT(r.error().message, HasSubstr("it needs at least 480 MiB"));
  EXPECT_THAT(r.error().message, HasSubstr("expected at most 240 pages"));
  r = fixer->Plan(*intel.host, Huge(4096, 1));
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("2048"));
  r = fixer->Plan(*intel.host, Huge(2048, 0));
  ASSERT_FALSE(r.has_value());

  Env big("amd-iommu", /*big_memory=*/true);  // pdpe1gb, 23.5 GiB
  EXPECT_TRUE(ValidateHugepages(*big.host, {1048576, 16}).has_value());
  // 22 GiB would leave 1.5 GiB: refused, and the message says how many fit.
  auto v = ValidateHugepages(*big.host, {1048576, 22});
  ASSERT_FALSE(v.has_value());
  EXPECT_THAT(v.error().message, HasSubstr("at most 21 pages"));
  EXPECT_TRUE(ValidateHugepages(*big.host, {1048576, 21}).has_value());
  EXPECT_FALSE(ValidateHugepages(*big.host, {2048, std::uint64_t{1} << 40}).has_value());
  // Nothing asked: nothing planned.
  auto none = fixer->Plan(*big.host, FixerOptions{});
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST(HugepagesFixer, MountUnitEqualsTheShippedOne) {
  EXPECT_EQ(std::string(kHugepages1GMountUnit),
            ReadAll(fs::path(VMPREP_SOURCE_DIR) / "systemd/dev-hugepages1G.mount"));
}

TEST(HugepagesFixer, OneGigPagesInstallAndEnableTheMount) {
  Env env("amd-iommu", true);
  auto fixer = MakeHugepagesFixer();
  auto plan = fixer->Plan(*env.host, Huge(1048576, 8));
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  ASSERT_EQ(plan->edits.size(), 2u);
  EXPECT_EQ(plan->edits[0].path, "/etc/systemd/system/dev-hugepages1G.mount");
  EXPECT_FALSE(plan->edits[0].before.has_value());
  // The link `systemctl enable` makes, as an edit of the same transaction: undo removes it.
  const std::string link = "/etc/systemd/system/sysinit.target.wants/dev-hugepages1G.mount";
  EXPECT_EQ(plan->edits[1].path, link);
  EXPECT_TRUE(plan->edits[1].symlink);
  EXPECT_EQ(plan->edits[1].after, "/etc/systemd/system/dev-hugepages1G.mount");
  EXPECT_TRUE(plan->actions.empty());
  auto applied = ApplyEditSet(*env.host, *plan);
  ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
  // The real systemctl, offline in the config root, sees the unit enabled.
  auto r = RunCommand("systemctl --root='" + env.sr.config() +
                      "' is-enabled dev-hugepages1G.mount 2>&1");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "enabled\n");
  auto again = fixer->Plan(*env.host, Huge(1048576, 8));
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->empty());
  auto undone = UndoTransaction(*env.host, applied->record.id);
  ASSERT_TRUE(undone.has_value()) << undone.error().ToString();
  EXPECT_FALSE(fs::exists(env.Config("/etc/systemd/system/dev-hugepages1G.mount")));
  EXPECT_FALSE(fs::is_symlink(env.Config(link)));
  r = RunCommand("systemctl --root='" + env.sr.config() +
                 "' is-enabled dev-hugepages1G.mount 2>&1");
  EXPECT_NE(r.out, "enabled\n");
}

TEST(HugepagesFixer, TwoMegPagesUseSystemdsMount) {
  Env env("hugepages",
          true);  // hugetlbfs mounted on /dev/hugepages, pagesize=2M
  auto plan = MakeHugepagesFixer()->Plan(*env.host, Huge(2048, 1024));
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  EXPECT_TRUE(plan->empty());
  EXPECT_TRUE(plan->notes.empty());
}

// With the kernel-cmdline fixer (which owns the GRUB file): the reservation
// replaces the capture's own hugepages=64 and reads back through bash.
TEST(HugepagesFixer, ReservationOnTheCommandLine) {
  Env env("amd-iommu", true);
  fs::create_directories(env.Config("/etc/default"));
  fs::copy_file(vmprep::testing::CorpusDir() / "grub/proxmox_user-iroger-trx40_grub",
                env.Config("/etc/default/grub"));
  std::string before = ReadAll(env.Config("/etc/default/grub"));
  FixerOptions o = Huge(1048576, 8);
  EditSet plan;
  for (auto& fixer : {MakeCmdlineFixer(), MakeHugepagesFixer()}) {
    auto p = fixer->Plan(*env.host, o);
    ASSERT_TRUE(p.has_value()) << p.error().ToString();
    plan.Append(std::move(*p));
  }
  ASSERT_EQ(plan.edits.size(), 3u);  // GRUB, the mount unit and its enable link
  auto applied = ApplyEditSet(*env.host, plan);
  ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
  auto r = RunCommand("env -i bash -c 'set -a; . \"" + env.Config("/etc/default/grub").string() +
                      "\"; printf %s \"$GRUB_CMDLINE_LINUX $GRUB_CMDLINE_LINUX_DEFAULT\"'");
  ASSERT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("default_hugepagesz=1G hugepagesz=1G hugepages=8"));
  Cmdline c(r.out);
  EXPECT_EQ(c.Get("hugepages"), "8");
  auto again = MakeCmdlineFixer()->Plan(*env.host, o);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->empty());
  ASSERT_TRUE(UndoTransaction(*env.host, applied->record.id).has_value());
  EXPECT_EQ(ReadAll(env.Config("/etc/default/grub")), before);
}

}  // namespace
}  // namespace vmprep
