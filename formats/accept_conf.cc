#include "formats/accept_conf.h"

#include <fmt/format.h>

#include "core/text.h"

namespace vmprep {
namespace {

bool IsCheckChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

bool IsFindingId(std::string_view id) {
  auto dot = id.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == id.size()) return false;
  for (char c : id.substr(0, dot))
    if (!IsCheckChar(c)) return false;
  for (char c : id.substr(dot + 1))
    if (!IsNameChar(c)) return false;
  return true;
}

std::expected<AcceptConf, Error> AcceptConf::Parse(std::string_view text, std::string_view path) {
  AcceptConf conf;
  conf.text_ = std::string(text);
  conf.path_ = std::string(path);
  auto at = [&](int line, std::string message) {
    return std::unexpected(Error{conf.path_, line, std::move(message), 0});
  };
  for (const TextLine& l : Lines(text)) {
    std::string_view line = l.text;
    if (line.ends_with('\r')) line.remove_suffix(1);
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    std::size_t end = 0;
    while (end < line.size() && !IsBlank(line[end])) ++end;
    std::string_view id = line.substr(0, end);
    std::string_view reason = Trim(line.substr(end));
    if (!IsFindingId(id)) {
      return at(l.number, fmt::format("'{}' is not a finding id; expected 'ID REASON' with an id "
                                      "as vmcheck prints it, e.g. 'qemu.ovmf no UEFI guests here'",
                                      id));
    }
    if (reason.empty()) {
      return at(l.number,
                fmt::format("{} has no reason; expected '{} REASON' (why it is accepted)", id, id));
    }
    for (const auto& e : conf.entries_) {
      if (e.id == id) {
        return at(l.number, fmt::format("{} is already accepted on line {}; expected each id once",
                                        id, e.line));
      }
    }
    conf.entries_.push_back({l.number, std::string(id), std::string(reason)});
  }
  return conf;
}

}  // namespace vmprep
