// The Host seam: reads stay inside their root, whatever the tree's symlinks say.
#include "core/host.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
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

// A FIFO, a device node or a socket where a file is expected: refused at once with the path
// and the type, never read (a FIFO would block or read as empty, a device has side effects).
TEST_F(HostTest, ReadRefusesFilesThatAreNotRegular) {
  ASSERT_EQ(::mkfifo((root_ / "etc/default/fifo").c_str(), 0644), 0);
  ASSERT_EQ(::mknod((root_ / "etc/default/null").c_str(), S_IFCHR | 0644, ::makedev(1, 3)), 0);
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string sock_path = (root_ / "etc/default/sock").string();
  ASSERT_LT(sock_path.size(), sizeof addr.sun_path);
  std::copy(sock_path.begin(), sock_path.end(), addr.sun_path);
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  for (auto [name, type] : {std::pair{"fifo", "FIFO (named pipe)"},
                            std::pair{"null", "character device"}, std::pair{"sock", "socket"}}) {
    std::string path = std::string("/etc/default/") + name;
    auto text = host_->Read(Root::kConfig, path);
    ASSERT_FALSE(text.has_value()) << path << " was read";
    EXPECT_EQ(text.error().path, path);
    EXPECT_NE(text.error().message.find(std::string("is a ") + type), std::string::npos)
        << text.error().ToString();
    EXPECT_NE(text.error().message.find("expected a regular file"), std::string::npos)
        << text.error().ToString();
  }
  ::close(sock);
}

// The fault hook reaches every kind of access, reads included, with the path asked for.
TEST_F(HostTest, FaultHookReachesReadsListsStatsAndLinks) {
  std::vector<std::string> seen;
  std::string fail;
  host_->SetFaultHookForTesting([&](std::string_view op, std::string_view path) {
    seen.push_back(std::string(op) + " " + std::string(path));
    return op == fail ? EIO : 0;
  });
  fail = "read";
  auto text = host_->Read(Root::kConfig, "/etc/passwd");
  ASSERT_FALSE(text.has_value());
  EXPECT_EQ(text.error().errno_value, EIO);
  EXPECT_EQ(text.error().path, "/etc/passwd");
  fail = "list";
  auto names = host_->List(Root::kRuntime, "/sys/bus/pci/devices");
  ASSERT_FALSE(names.has_value());
  EXPECT_EQ(names.error().errno_value, EIO);
  fail = "stat";
  EXPECT_EQ(host_->Stat(Root::kConfig, "/etc/passwd").error().errno_value, EIO);
  EXPECT_EQ(host_->LStat(Root::kConfig, "/etc/passwd").error().errno_value, EIO);
  fail = "readlink";
  EXPECT_EQ(host_->ReadLink(Root::kConfig, "/etc/abs-inside").error().errno_value, EIO);
  fail = "";
  EXPECT_TRUE(host_->Read(Root::kConfig, "/etc/passwd").has_value());
  EXPECT_THAT(seen, ::testing::IsSupersetOf({"read /etc/passwd", "list /sys/bus/pci/devices",
                                             "stat /etc/passwd", "readlink /etc/abs-inside"}));
}

// A write is durable only once its directory is synced. When that last step fails the new
// bytes are already in place: the error says so by its step, and the caller must look.
TEST_F(HostTest, WriteAtomicFaultsBeforeAndAfterTheRename) {
  std::string fail;
  std::vector<std::string> steps;
  host_->SetFaultHookForTesting([&](std::string_view op, std::string_view path) {
    if (path == "/etc/default/grub" && op != "stat") steps.push_back(std::string(op));
    return op == fail ? EIO : 0;
  });
  ASSERT_TRUE(host_->WriteAtomic(Root::kConfig, "/etc/default/grub", "v1\n", {}).has_value());
  EXPECT_THAT(steps, ::testing::ElementsAre("write", "fsync", "rename", "fsync-dir"));
  fail = "fsync";
  auto before_rename = host_->WriteAtomic(Root::kConfig, "/etc/default/grub", "v2\n", {});
  ASSERT_FALSE(before_rename.has_value());
  EXPECT_EQ(before_rename.error().errno_value, EIO);
  EXPECT_EQ(*host_->Read(Root::kConfig, "/etc/default/grub"), "v1\n");
  fail = "fsync-dir";
  auto after_rename = host_->WriteAtomic(Root::kConfig, "/etc/default/grub", "v3\n", {});
  ASSERT_FALSE(after_rename.has_value());
  EXPECT_EQ(after_rename.error().errno_value, EIO);
  EXPECT_NE(after_rename.error().message.find("cannot sync directory"), std::string::npos);
  EXPECT_EQ(*host_->Read(Root::kConfig, "/etc/default/grub"), "v3\n");
  for (const auto& e : fs::directory_iterator(root_ / "etc/default")) {
    EXPECT_EQ(e.path().filename().string().find(".vmprep-"), std::string::npos) << e.path();
  }
  // Removing and creating directories sync their parent too.
  fail = "";
  steps.clear();
  host_->SetFaultHookForTesting([&](std::string_view op, std::string_view path) {
    steps.push_back(std::string(op) + " " + std::string(path));
    return 0;
  });
  ASSERT_TRUE(host_->MakeDirs(Root::kConfig, "/etc/new").has_value());
  ASSERT_TRUE(host_->Remove(Root::kConfig, "/etc/new").has_value());
  EXPECT_THAT(steps, ::testing::IsSupersetOf({"mkdir /etc/new", "fsync-dir /etc/new",
                                              "remove /etc/new", "fsync-dir /etc/new"}));
}

// Where an edit lands, and what vmsetup refuses to write through.
TEST_F(HostTest, ResolveForWrite) {
  fs::create_directories(root_ / "etc/sysconfig");
  fs::create_symlink("../default/grub", root_ / "etc/sysconfig/grub");
  auto through = host_->ResolveForWrite(Root::kConfig, "/etc/sysconfig/grub");
  ASSERT_TRUE(through.has_value()) << through.error().ToString();
  EXPECT_EQ(through->path, "/etc/default/grub");
  EXPECT_TRUE(through->exists);
  EXPECT_TRUE(through->is_link);
  auto fresh = host_->ResolveForWrite(Root::kConfig, "/etc/qemu/deep/bridge.conf");
  ASSERT_TRUE(fresh.has_value()) << fresh.error().ToString();
  EXPECT_EQ(fresh->path, "/etc/qemu/deep/bridge.conf");
  EXPECT_FALSE(fresh->exists);
  // Absolute links inside a tree, links climbing out of it, links to nothing, a file where a
  // directory should be: refused, naming the link or the file, with no errno.
  for (auto [path, expected] :
       {std::pair{"/etc/abs-inside",
                  "/etc/abs-inside: is a symbolic link to /etc/passwd, an "
                  "absolute path"},
        std::pair{"/etc/rel-escape",
                  "/etc/rel-escape: is a symbolic link to ../../secret, "
                  "which leads out of the config root"},
        std::pair{"/etc/loop-a", "too many levels of symbolic links"},
        std::pair{"/etc/passwd/x", "/etc/passwd: is a regular file, expected a directory"},
        std::pair{"/etc", "/etc: is a directory, expected a regular file"}}) {
    auto r = host_->ResolveForWrite(Root::kConfig, path);
    ASSERT_FALSE(r.has_value()) << path;
    EXPECT_NE(r.error().ToString().find(expected), std::string::npos) << r.error().ToString();
  }
  fs::create_symlink("nothing-here", root_ / "etc/dangling");
  auto dangling = host_->ResolveForWrite(Root::kConfig, "/etc/dangling/f");
  ASSERT_FALSE(dangling.has_value());
  EXPECT_EQ(dangling.error().errno_value, 0);
  EXPECT_NE(dangling.error().message.find("which does not exist"), std::string::npos);
  // On the real "/" an absolute link means what it says.
  auto slash = Host::Open("/", "/");
  ASSERT_TRUE(slash.has_value());
  auto abs = slash->ResolveForWrite(Root::kConfig, (root_ / "etc/abs-inside").string());
  ASSERT_TRUE(abs.has_value()) << abs.error().ToString();
  EXPECT_EQ(abs->path, "/etc/passwd");
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
