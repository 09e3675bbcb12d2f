#include "core/text.h"

#include <algorithm>

namespace vmprep {
namespace {
constexpr const char* kBlanks = " \t\r\n\f\v";
}  // namespace

std::vector<TextLine> Lines(std::string_view text) {
  std::vector<TextLine> lines;
  std::size_t pos = 0;
  int number = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::size_t next = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back({text.substr(pos, end - pos), pos, end, next, ++number});
    pos = next;
  }
  return lines;
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> out;
  for (const TextLine& line : Lines(text)) out.push_back(line.text);
  return out;
}

std::string_view Trim(std::string_view text) {
  std::size_t b = text.find_first_not_of(kBlanks);
  if (b == std::string_view::npos) return {};
  std::size_t e = text.find_last_not_of(kBlanks);
  return text.substr(b, e - b + 1);
}

std::vector<std::string_view> SplitWords(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t pos = text.find_first_not_of(kBlanks);
  while (pos != std::string_view::npos) {
    std::size_t end = text.find_first_of(kBlanks, pos);
    if (end == std::string_view::npos) end = text.size();
    words.push_back(text.substr(pos, end - pos));
    pos = text.find_first_not_of(kBlanks, end);
  }
  return words;
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string Wrap(std::string_view text, std::size_t width, std::string_view first,
                 std::string_view rest) {
  std::string out(first), line;
  std::size_t used = first.size();
  for (auto word : SplitWords(text)) {
    if (!line.empty() && used + 1 + word.size() > width) {
      out += line + "\n" + std::string(rest);
      line.clear();
      used = rest.size();
    }
    if (!line.empty()) {
      line += ' ';
      ++used;
    }
    line += word;
    used += word.size();
  }
  return out + line + "\n";
}

std::string ModuleName(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

bool SameModule(std::string_view a, std::string_view b) { return ModuleName(a) == ModuleName(b); }

}  // namespace vmprep
