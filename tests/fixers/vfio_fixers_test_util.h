// Shared by the initramfs/modprobe/vfio-bind/xorg/bridge fixer tests: a
// captured runtime root (tests/sysroots) with a fresh config root, corpus files
// placed into it, and the cycle plan -> ApplyEditSet -> plan again ->
// UndoTransaction.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/host.h"
#include "fixers/edit.h"
#include "fixers/fixer.h"
#include "fixers/transaction.h"
#include "tests/sysroot.h"
#include "tests/test_files.h"

namespace vmprep::fixers_test {

inline std::filesystem::path CorpusDir() { return vmprep::testing::CorpusDir(); }

inline std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string Shell(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int rc = pclose(pipe);
  if (status) *status = rc;
  return out;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// A runtime root from tests/sysroots/<name>.tar.xz and its config root (which
// already holds the captured kernel's module indexes).
class Machine {
 public:
  explicit Machine(const std::string& sysroot) : root_(sysroot) {}
  bool ok() const { return root_.ok(); }
  std::string config() const { return root_.config(); }
  std::string runtime() const { return root_.runtime(); }
  std::filesystem::path Path(std::string_view p) const {
    return std::filesystem::path(config()) / std::string(p.substr(1));
  }
  void Put(std::string_view path, std::string_view bytes, mode_t mode = 0644) const {
    auto p = Path(path);
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
    std::filesystem::permissions(p, static_cast<std::filesystem::perms>(mode));
  }
  void PutCorpus(std::string_view path, const std::string& corpus_file) const {
    Put(path, ReadAll(CorpusDir() / corpus_file));
  }
  std::string Get(std::string_view path) const { return ReadAll(Path(path)); }
  bool Has(std::string_view path) const { return std::filesystem::exists(Path(path)); }
  Host OpenHost() const {
    auto h = Host::Open(runtime(), config());
    EXPECT_TRUE(h.has_value()) << (h ? "" : h.error().ToString());
    return std::move(*h);
  }

 private:
  testing::Sysroot root_;
};

// Applies `plan` through the real transaction code; returns the transaction id
// ("" on failure, with a test failure recorded).
inline std::string Apply(const Host& host, const EditSet& plan) {
  auto r = ApplyEditSet(host, plan);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().ToString());
  return r ? r->record.id : "";
}

inline void Undo(const Host& host, const std::string& id) {
  auto r = UndoTransaction(host, id);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().ToString());
}

inline std::string Describe(const EditSet& set) {
  std::string out;
  for (const auto& e : set.edits) out += UnifiedDiff(e);
  for (const auto& a : set.actions) {
    out += "action:";
    for (const auto& w : a.argv) out += " " + w;
    out += "\n";
  }
  for (const auto& n : set.notes) out += "note: " + n + "\n";
  return out;
}

// A vfio request for `devices` (by default the captured machines' free NIC, 02:00.0).
inline FixerOptions VfioOptions(const std::vector<std::string>& devices = {"0000:02:00.0"}) {
  FixerOptions o;
  o.vfio = true;
  for (const auto& d : devices) o.devices.push_back(*PciAddress::Parse(d));
  return o;
}

}  // namespace vmprep::fixers_test
