#include "formats/unit_install.h"

#include <fmt/format.h>

#include "core/text.h"

namespace vmprep {

std::expected<UnitInstall, Error> ParseUnitInstall(std::string_view text, std::string_view file) {
  UnitInstall install;
  bool in_install = false;
  for (const auto& line : Lines(text)) {
    std::string_view l = Trim(line.text);
    if (l.empty() || l.front() == '#' || l.front() == ';') continue;
    if (l.front() == '[') {
      in_install = l == "[Install]";
      continue;
    }
    if (!in_install) continue;
    auto eq = l.find('=');
    if (eq == std::string_view::npos || l.back() == '\\') {
      return std::unexpected(Error{std::string(file), line.number,
                                   "expected KEY=VALUE in [Install] (no line continuations)"});
    }
    std::string_view key = Trim(l.substr(0, eq));
    std::vector<std::string>* list = key == "WantedBy"     ? &install.wanted_by
                                     : key == "RequiredBy" ? &install.required_by
                                     : key == "Also"       ? &install.also
                                                           : nullptr;
    if (!list) continue;
    auto words = SplitWords(l.substr(eq + 1));
    if (words.empty()) list->clear();
    for (auto w : words) {
      if (w.find('/') != std::string_view::npos || w == "." || w == "..") {
        return std::unexpected(Error{std::string(file), line.number,
                                     fmt::format("{}= names '{}', expected a unit name", key, w)});
      }
      list->emplace_back(w);
    }
  }
  return install;
}

}  // namespace vmprep
