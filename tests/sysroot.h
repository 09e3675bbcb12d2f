// Test helper: extracts a captured sysroot tarball (tests/sysroots/NAME.tar.xz) into a fresh
// temporary directory, keeping modes and owners, and removes it afterwards.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace vmprep::testing {

class Sysroot {
 public:
  explicit Sysroot(const std::string& name) {
    static int counter = 0;
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("sysroot-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::string tarball = std::string(VMPREP_SOURCE_DIR) + "/tests/sysroots/" + name + ".tar.xz";
    std::string cmd = "tar -C '" + dir_.string() + "' --same-owner -xpJf '" + tarball + "'";
    ok_ = std::filesystem::exists(tarball) && std::system(cmd.c_str()) == 0;
    std::filesystem::create_directories(config());
  }
  ~Sysroot() { std::filesystem::remove_all(dir_); }
  Sysroot(const Sysroot&) = delete;
  Sysroot& operator=(const Sysroot&) = delete;

  bool ok() const { return ok_; }
  std::filesystem::path dir() const { return dir_; }
  std::string runtime() const { return (dir_ / "runtime").string(); }
  std::string config() const { return (dir_ / "config").string(); }

 private:
  std::filesystem::path dir_;
  bool ok_ = false;
};

}  // namespace vmprep::testing
