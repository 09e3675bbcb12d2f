// Test helpers: whole files in and out, and the shared corpus.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace vmprep::testing {

inline std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void Spill(const std::filesystem::path& p, const std::string& bytes) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A file of ../shared/corpus (see its PROVENANCE.md).
inline std::string Corpus(std::string_view rel) {
  return Slurp(std::filesystem::path(VMPREP_SHARED_DIR) / "corpus" / std::string(rel));
}

}  // namespace vmprep::testing
