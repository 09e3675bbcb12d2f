// Test helpers: whole files in and out, and the corpus copied into tests/corpus.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace vmprep::testing {

// A missing or unreadable test file is a test failure naming the path (and "" comes back),
// never a crash further on.
inline std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "test file missing or unreadable: " << p.string();
    return "";
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void Spill(const std::filesystem::path& p, const std::string& bytes) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A fresh, empty directory under the test's temporary directory, unique within the run:
// `prefix-PID-N`. The caller removes it.
inline std::filesystem::path FreshTempDir(const std::string& prefix) {
  static int counter = 0;
  std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) /
      (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// tests/corpus: real files from other projects and users, copied byte for byte with their
// sources in tests/corpus/PROVENANCE.md.
inline std::filesystem::path CorpusDir() {
  return std::filesystem::path(VMPREP_SOURCE_DIR) / "tests" / "corpus";
}

// A file of tests/corpus.
inline std::string Corpus(std::string_view rel) { return Slurp(CorpusDir() / std::string(rel)); }

}  // namespace vmprep::testing
