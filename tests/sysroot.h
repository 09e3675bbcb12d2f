// Test helper: extracts a captured sysroot tarball (tests/sysroots/NAME.tar.xz) into a fresh
// temporary directory, keeping modes and owners, and removes it afterwards.
#pragma once

#include <gtest/gtest.h>
#include <sys/time.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/test_files.h"

namespace vmprep::testing {

class Sysroot {
 public:
  explicit Sysroot(const std::string& name) {
    dir_ = vmprep::testing::FreshTempDir("sysroot-" + name);
    std::string tarball = std::string(VMPREP_SOURCE_DIR) + "/tests/sysroots/" + name + ".tar.xz";
    std::string cmd = "tar -C '" + dir_.string() + "' --same-owner -xpJf '" + tarball + "'";
    ok_ = std::filesystem::exists(tarball) && std::system(cmd.c_str()) == 0;
    std::filesystem::create_directories(config());
  }
  ~Sysroot() { std::filesystem::remove_all(dir_); }
  Sysroot(const Sysroot&) = delete;
  Sysroot& operator=(const Sysroot&) = delete;

  bool ok() const { return ok_; }

  // When the captured kernel booted (btime in runtime/proc/stat), 0 when the capture has none.
  long BootTime() const {
    std::ifstream in(dir_ / "runtime/proc/stat");
    for (std::string word; in >> word;) {
      if (word == "btime" && in >> word) return std::stol(word);
    }
    return 0;
  }
  std::filesystem::path dir() const { return dir_; }
  std::string runtime() const { return (dir_ / "runtime").string(); }
  std::string config() const { return (dir_ / "config").string(); }

 private:
  std::filesystem::path dir_;
  bool ok_ = false;
};

// Dates a config file an hour before the capture booted: configuration that was already in
// place at boot (so what the runtime shows is its effect), not a change waiting for one.
inline void SetMtimeBeforeBoot(const Sysroot& root, const std::filesystem::path& file) {
  long boot = root.BootTime();
  ASSERT_GT(boot, 0) << "the capture has no boot time (runtime/proc/stat)";
  struct timeval times[2] = {{boot - 3600, 0}, {boot - 3600, 0}};
  ASSERT_EQ(::utimes(file.c_str(), times), 0) << file;
}

}  // namespace vmprep::testing
