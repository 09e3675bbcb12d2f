// The Host seam: reads stay inside their root, whatever the tree's symlinks say.
#include "core/host.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace vmprep {
namespace {

namespace fs = std::filesystem;

class HostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::path(::testing::TempDir()) / ("host-test-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    root_ = base_ / "root";
    fs::create_directories(root_ / "etc/default");
    fs::create_directories(root_ / "sys/devices/pci0000:00/0000:00:02.0");
    fs::create_directories(root_ / "sys/bus/pci/devices");
    Write(base_ / "secret", "outside the root\n");
    Write(root_ / "etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
    Write(root_ / "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    Write(root_ / "sys/devices/pci0000:00/0000:00:02.0/vendor", "0x8086\n");
    fs::create_directory_symlink("../../../devices/pci0000:00/0000:00:02.0",
                                 root_ / "sys/bus/pci/devices/0000:00:02.0");
    // Hostile links: absolute, relative climbing out, and chains of both.
    fs::create_symlink("/secret", root_ / "etc/abs-escape");
    fs::create_symlink("../../secret", root_ / "etc/rel-escape");
    fs::create_symlink("/etc/../../../../secret", root_ / "etc/dotdot-escape");
    fs::create_symlink("abs-escape", root_ / "etc/chain");
    fs::create_symlink("/etc/passwd", root_ / "etc/abs-inside");
    fs::create_symlink("loop-b", root_ / "etc/loop-a");
    fs::create_symlink("loop-a", root_ / "etc/loop-b");
    auto host = Host::Open(root_.string(), root_.string());
    ASSERT_TRUE(host.has_value()) << host.error().ToString();
    host_.emplace(std::move(*host));
  }
  void TearDown() override { fs::remove_all(base_); }
  static void Write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  fs::path base_, root_;
  std::optional<Host> host_;
};

TEST_F(HostTest, ReadsFilesInsideTheRoot) {
  auto text = host_->Read(Root::kConfig, "/etc/default/grub");
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(*text, "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
  EXPECT_FALSE(host_->live_runtime());
}

TEST_F(HostTest, AbsoluteSymlinkIsResolvedInsideTheRoot) {
  // "/secret" inside the root does not exist; the real /…/secret beside the root must not be read.
  auto text = host_->Read(Root::kConfig, "/etc/abs-escape");
  EXPECT_FALSE(text.has_value());
  auto inside = host_->Read(Root::kConfig, "/etc/abs-inside");
  ASSERT_TRUE(inside.has_value());
  EXPECT_EQ(*inside, "root:x:0:0:root:/root:/bin/bash\n");
}

TEST_F(HostTest, RelativeAndDotDotEscapesAreRefused) {
  for (const char* path : {"/etc/rel-escape", "/etc/dotdot-escape", "/etc/chain", "/../secret",
                           "/../../secret", "/etc/../../secret"}) {
    auto text = host_->Read(Root::kConfig, path);
    EXPECT_FALSE(text.has_value() && text->find("outside") != std::string::npos)
        << path << " read a file outside the root";
  }
  // ".." at the root stays at the root: this names /etc/passwd inside.
  auto text = host_->Read(Root::kConfig, "/../../etc/passwd");
  ASSERT_TRUE(text.has_value());
  EXPECT_NE(text->find("root:x:0:0"), std::string::npos);
}

TEST_F(HostTest, ResolveFollowsSysfsLinksInsideTheRoot) {
  auto r = host_->Resolve(Root::kRuntime, "/sys/bus/pci/devices/0000:00:02.0/vendor");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(*r, "/sys/devices/pci0000:00/0000:00:02.0/vendor");
  auto escape = host_->Resolve(Root::kConfig, "/etc/rel-escape");
  EXPECT_FALSE(escape.has_value());  // "/secret" does not exist inside the root
  auto loop = host_->Resolve(Root::kConfig, "/etc/loop-a");
  ASSERT_FALSE(loop.has_value());
  EXPECT_EQ(loop.error().errno_value, ELOOP);
}

TEST_F(HostTest, ListReadLinkAndStat) {
  auto names = host_->List(Root::kRuntime, "/sys/bus/pci/devices");
  ASSERT_TRUE(names.has_value());
  EXPECT_EQ(*names, std::vector<std::string>{"0000:00:02.0"});
  auto link = host_->ReadLink(Root::kRuntime, "/sys/bus/pci/devices/0000:00:02.0");
  ASSERT_TRUE(link.has_value());
  EXPECT_EQ(*link, "../../../devices/pci0000:00/0000:00:02.0");
  auto lst = host_->LStat(Root::kRuntime, "/sys/bus/pci/devices/0000:00:02.0");
  ASSERT_TRUE(lst.has_value());
  EXPECT_EQ(lst->type, FileType::kSymlink);
  auto st = host_->Stat(Root::kRuntime, "/sys/bus/pci/devices/0000:00:02.0");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->type, FileType::kDirectory);
  EXPECT_FALSE(host_->Exists(Root::kRuntime, "/sys/bus/pci/devices/0000:00:03.0"));
}

TEST_F(HostTest, ErrorsNameThePath) {
  auto text = host_->Read(Root::kConfig, "/etc/missing.conf");
  ASSERT_FALSE(text.has_value());
  EXPECT_EQ(text.error().path, "/etc/missing.conf");
  EXPECT_EQ(text.error().errno_value, ENOENT);
  EXPECT_NE(text.error().ToString().find("/etc/missing.conf: cannot open"), std::string::npos);
  auto dir = host_->Read(Root::kConfig, "/etc");
  EXPECT_FALSE(dir.has_value());
}

TEST_F(HostTest, WriteAtomicStaysInsideTheRootAndKeepsLinks) {
  ASSERT_TRUE(
      host_->WriteAtomic(Root::kConfig, "/etc/new.conf", "hello\n", {.mode = 0640}).has_value());
  EXPECT_EQ(*host_->Read(Root::kConfig, "/etc/new.conf"), "hello\n");
  EXPECT_EQ(fs::status(root_ / "etc/new.conf").permissions(),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  // Writing through a link writes its target inside the root and keeps the link.
  ASSERT_TRUE(host_->WriteAtomic(Root::kConfig, "/etc/abs-inside", "root:x:0:0::/:/bin/sh\n", {})
                  .has_value());
  EXPECT_TRUE(fs::is_symlink(root_ / "etc/abs-inside"));
  EXPECT_EQ(*host_->Read(Root::kConfig, "/etc/passwd"), "root:x:0:0::/:/bin/sh\n");
  // A link that points outside cannot be written through.
  EXPECT_FALSE(host_->WriteAtomic(Root::kConfig, "/etc/rel-escape", "x", {}).has_value());
  std::ifstream secret(base_ / "secret");
  std::string line;
  std::getline(secret, line);
  EXPECT_EQ(line, "outside the root");
  // No temporary files are left behind.
  for (const auto& e : fs::directory_iterator(root_ / "etc")) {
    EXPECT_EQ(e.path().filename().string().find(".vmprep-"), std::string::npos) << e.path();
  }
}

TEST_F(HostTest, MakeDirsAndRemove) {
  ASSERT_TRUE(host_->MakeDirs(Root::kConfig, "/var/lib/vmprep/transactions").has_value());
  EXPECT_TRUE(fs::is_directory(root_ / "var/lib/vmprep/transactions"));
  EXPECT_FALSE(host_->MakeDirs(Root::kConfig, "/var/../../x").has_value());
  ASSERT_TRUE(host_->Remove(Root::kConfig, "/etc/abs-escape").has_value());
  EXPECT_FALSE(fs::exists(fs::symlink_status(root_ / "etc/abs-escape")));
}

TEST(HostOpenTest, MissingRootIsAClearError) {
  auto host = Host::Open("/nonexistent/vmprep-root", "/");
  ASSERT_FALSE(host.has_value());
  EXPECT_NE(host.error().ToString().find("/nonexistent/vmprep-root"), std::string::npos);
}

TEST(HostOpenTest, SlashIsLive) {
  auto host = Host::Open("/", "/");
  ASSERT_TRUE(host.has_value());
  EXPECT_TRUE(host->live_runtime());
}

TEST(TextTest, SplitAndTrim) {
  EXPECT_EQ(SplitLines("a\nb\n").size(), 2u);
  EXPECT_EQ(SplitLines("a\nb").size(), 2u);
  EXPECT_EQ(Trim("  x y \n"), "x y");
  auto words = SplitWords(" a\tbb  c ");
  ASSERT_EQ(words.size(), 3u);
  EXPECT_EQ(words[1], "bb");
}

}  // namespace
}  // namespace vmprep
