#include "tests/support/pci_class_names.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <string>

namespace vmprep::testing {
namespace {

constexpr const char* kPciIds = "/usr/share/misc/pci.ids";  // Debian's pci.ids package

// The class section: "C 02  Network controller", then "\t80  Network controller" for its
// subclasses ("\t\t" lines are programming interfaces).
std::map<std::string, std::uint32_t, std::less<>> ReadClassNames() {
  std::map<std::string, std::uint32_t, std::less<>> subclasses, classes;
  std::ifstream in(kPciIds);
  if (!in) std::fprintf(stderr, "test support: cannot read %s (package pci.ids)\n", kPciIds);
  std::string line;
  int base = -1;
  while (std::getline(in, line)) {
    if (line.starts_with("C ") && line.size() > 6) {
      base = std::stoi(line.substr(2, 2), nullptr, 16);
      classes.emplace(line.substr(6), static_cast<std::uint32_t>(base) << 16);
    } else if (base >= 0 && line.size() > 5 && line[0] == '\t' && line[1] != '\t') {
      int sub = std::stoi(line.substr(1, 2), nullptr, 16);
      subclasses.emplace(line.substr(5), static_cast<std::uint32_t>(base << 16 | sub << 8));
    } else if (!line.empty() && line[0] != '\t' && line[0] != '#') {
      base = -1;
    }
  }
  for (auto& [name, code] : classes) subclasses.emplace(name, code);  // subclass names win
  return subclasses;
}

}  // namespace

std::optional<std::uint32_t> ClassCodeFromName(std::string_view name) {
  static const auto names = ReadClassNames();
  auto it = names.find(name);
  if (it == names.end()) return std::nullopt;
  return it->second;
}

}  // namespace vmprep::testing
