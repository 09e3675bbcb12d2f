// Test helpers for runs of the real vmsetup on a scratch tree: the tree, what the user sees in
// it, vmsetup's own records, and a request that edits and creates several files.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/run_command.h"
#include "tests/test_files.h"

namespace vmprep::testing {

namespace fs = std::filesystem;

const std::set<long> kWritingCalls = {SYS_write,    SYS_fsync,     SYS_fdatasync, SYS_rename,
                                      SYS_renameat, SYS_renameat2, SYS_mkdir,     SYS_mkdirat,
                                      SYS_unlink,   SYS_unlinkat,  SYS_rmdir,     SYS_fchmod,
                                      SYS_fchown,   SYS_fchmodat,  SYS_fchownat};

class Tree {
 public:
  Tree() { dir_ = vmprep::testing::FreshTempDir("vmsetup-tree"); }
  ~Tree() { fs::remove_all(dir_); }
  fs::path operator/(const std::string& rel) const { return dir_ / rel.substr(rel.front() == '/'); }
  std::string str() const { return dir_.string(); }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

// The machine as the user sees it: every file outside vmsetup's own records, with its mode.
inline std::map<std::string, std::string> Files(const Tree& t) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(t.dir());
       it != fs::recursive_directory_iterator(); ++it) {
    std::string rel = "/" + fs::relative(it->path(), t.dir()).string();
    if (rel.starts_with("/var/lib/vmprep/transactions") || rel == "/var/lib/vmprep/lock" ||
        rel == "/var/lib/vmprep" || rel == "/var/lib" || rel == "/var") {
      continue;
    }
    struct stat st {};
    ::lstat(it->path().c_str(), &st);
    out[rel] =
        S_ISDIR(st.st_mode) ? "d" : std::to_string(st.st_mode & 07777) + ":" + Slurp(it->path());
  }
  return out;
}

inline std::string Diff(const std::map<std::string, std::string>& a,
                        const std::map<std::string, std::string>& b) {
  std::string out;
  for (const auto& [k, v] : a) {
    if (!b.contains(k))
      out += " only-now:" + k;
    else if (b.at(k) != v)
      out += " differs:" + k;
  }
  for (const auto& [k, v] : b) {
    if (!a.contains(k)) out += " missing:" + k;
  }
  return out;
}

inline std::vector<std::string> TempFiles(const Tree& t) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(t.dir())) {
    if (e.path().filename().string().find(".vmprep-") != std::string::npos)
      out.push_back(e.path().string());
  }
  return out;
}

// States of the recorded transactions, and directories without a manifest.
inline std::vector<std::string> Records(const Tree& t) {
  std::vector<std::string> out;
  fs::path dir = t / "/var/lib/vmprep/transactions";
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    fs::path manifest = e.path() / "manifest.json";
    if (!fs::exists(manifest)) {
      out.push_back("no-manifest");
      continue;
    }
    auto doc = nlohmann::json::parse(Slurp(manifest), nullptr, false);
    out.push_back(doc.is_discarded() ? "unparsable" : doc.value("state", "?"));
  }
  return out;
}

inline testing::CommandResult Vmsetup(const Tree& t, const std::string& args) {
  return testing::RunCommand(std::string(VMSETUP_BINARY) + " " + args + " --root " + t.str() +
                             " </dev/null 2>&1");
}

// The scenario: /etc/default/grub (Debian's) and /etc/qemu/bridge.conf edited, a
// modules-load.d file and vmsetup's expected.json created (with their directory).
const std::string kRequest = "--no-regenerate --enable iommu-pt,bridge=br0,vhost_net";

inline void Build(const Tree& t) {
  Spill(t / "/etc/default/grub", Corpus("grub/debian-12_grub2-common_2.06-13+deb12u2.grub"));
  Spill(t / "/etc/qemu/bridge.conf", "allow virbr0\n");
}

inline std::vector<std::string> ApplyArgv(const Tree& t) {
  return {VMSETUP_BINARY,    "apply",    "--yes",
          "--no-regenerate", "--enable", "iommu-pt,bridge=br0,vhost_net",
          "--root",          t.str()};
}

inline std::vector<std::string> UndoArgv(const Tree& t) {
  return {VMSETUP_BINARY, "undo", "--no-regenerate", "--root", t.str()};
}
}  // namespace vmprep::testing
