#include "formats/xorg_conf.h"

#include <cctype>
#include <charconv>

namespace vmprep {
namespace {

std::string Fold(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != '_' && c != ' ' && c != '\t')
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace

bool XorgNameEqual(std::string_view a, std::string_view b) { return Fold(a) == Fold(b); }

std::string BusIdFromPci(unsigned bus, unsigned dev, unsigned fn, unsigned domain) {
  std::string out = "PCI:" + std::to_string(bus);
  if (domain != 0) out += "@" + std::to_string(domain);
  return out + ":" + std::to_string(dev) + ":" + std::to_string(fn);
}

std::expected<PciBusId, std::string> ParseBusId(std::string_view text) {
  std::string_view s = text;
  if (s.size() >= 4 && Fold(s.substr(0, 4)) == "pci:") s.remove_prefix(4);
  auto number = [&](std::string_view part, unsigned* out) {
    if (part.empty()) return false;
    for (char c : part)
      if (c < '0' || c > '9') return false;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), *out);
    return ec == std::errc() && p == part.data() + part.size();
  };
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t colon = s.find(':', start);
    parts.push_back(s.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  const std::string expected =
      "expected PCI:bus:device:function or PCI:bus@domain:device:function in "
      "decimal, saw \"" +
      std::string(text) + "\"";
  if (parts.size() != 3) return std::unexpected(expected);
  PciBusId id;
  std::string_view bus = parts[0];
  if (size_t at = bus.find('@'); at != std::string_view::npos) {
    if (!number(bus.substr(at + 1), &id.domain)) return std::unexpected(expected);
    bus = bus.substr(0, at);
  }
  if (!number(bus, &id.bus) || !number(parts[1], &id.dev) || !number(parts[2], &id.fn))
    return std::unexpected(expected);
  if (id.dev > 31 || id.fn > 7 || id.bus > 255)
    return std::unexpected(expected + " (device <= 31, function <= 7)");
  return id;
}

std::optional<std::string> XorgSection::First(std::string_view keyword) const {
  for (const XorgEntry& e : entries)
    if (XorgNameEqual(e.keyword, keyword) && !e.args.empty()) return e.args[0];
  return std::nullopt;
}

std::optional<std::string> XorgSection::Identifier() const { return First("Identifier"); }

std::optional<std::string> XorgSection::Option(std::string_view name) const {
  std::optional<std::string> value;
  for (const XorgEntry& e : entries)
    if (XorgNameEqual(e.keyword, "Option") && !e.args.empty() && XorgNameEqual(e.args[0], name))
      value = e.args.size() > 1 ? e.args[1] : "";
  return value;
}

std::expected<XorgConf, Error> XorgConf::Parse(std::string_view text, std::string_view path) {
  XorgConf c;
  c.text_ = std::string(text);
  c.path_ = std::string(path);
  auto ok = c.ParseAll();
  if (!ok) return std::unexpected(ok.error());
  return c;
}

std::expected<XorgConf::Line, Error> XorgConf::LexLine(size_t* at, int number) const {
  const std::string& t = text_;
  size_t i = *at;
  Line ln;
  ln.begin = i;
  ln.line = number;
  while (i < t.size() && t[i] != '\n') {
    char c = t[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
    } else if (c == '#') {
      while (i < t.size() && t[i] != '\n') ++i;
    } else if (c == '"') {
      size_t close = t.find_first_of("\"\n", i + 1);
      if (close == std::string::npos || t[close] != '"')
        return std::unexpected(At(ln.line,
                                  "unterminated string; expected a closing '\"' on "
                                  "the same line"));
      ln.tokens.push_back({i, close + 1, t.substr(i + 1, close - i - 1), true});
      i = close + 1;
    } else {
      size_t end = i;
      while (end < t.size() && t[end] != ' ' && t[end] != '\t' && t[end] != '\r' &&
             t[end] != '\n' && t[end] != '"' && t[end] != '#')
        ++end;
      ln.tokens.push_back({i, end, t.substr(i, end - i), false});
      i = end;
    }
  }
  ln.end = i;
  if (i < t.size()) ++i;
  *at = i;
  return ln;
}

std::expected<void, Error> XorgConf::ParseStructure(Line* ln, size_t index, int* section,
                                                    int* depth) {
  if (ln->tokens.empty()) {
    if (*depth > 0) {
      ln->section = *section;
      ln->depth = *depth;
    }
    return {};
  }
  const Token& kw = ln->tokens[0];
  if (kw.quoted)
    return std::unexpected(
        At(ln->line, "a line starts with the string \"" + kw.text + "\"; expected a keyword"));
  if (XorgNameEqual(kw.text, "Section")) {
    if (*depth != 0)
      return std::unexpected(At(ln->line, "Section inside a Section; expected EndSection first"));
    if (ln->tokens.size() < 2 || !ln->tokens[1].quoted)
      return std::unexpected(At(ln->line, "Section without a quoted name"));
    *section = static_cast<int>(sections_.size());
    sections_.push_back({ln->tokens[1].text, ln->line, {}});
    section_open_.push_back(index);
    section_close_.push_back(0);
    *depth = 1;
  } else if (XorgNameEqual(kw.text, "EndSection")) {
    if (*depth != 1)
      return std::unexpected(At(ln->line, *depth == 0 ? "EndSection without a Section"
                                                      : "EndSection inside a SubSection; "
                                                        "expected EndSubSection first"));
    section_close_[*section] = index;
    ln->section = *section;
    ln->depth = 1;
    *depth = 0;
  } else if (XorgNameEqual(kw.text, "SubSection")) {
    if (*depth != 1) return std::unexpected(At(ln->line, "SubSection outside a Section or nested"));
    *depth = 2;
  } else if (XorgNameEqual(kw.text, "EndSubSection")) {
    if (*depth != 2) return std::unexpected(At(ln->line, "EndSubSection without a SubSection"));
    *depth = 1;
  } else if (*depth == 0) {
    return std::unexpected(At(ln->line, "'" + kw.text +
                                            "' outside any Section; Xorg rejects such a file "
                                            "(expected Section \"Name\")"));
  } else if (*depth == 1) {
    XorgEntry e;
    e.line = ln->line;
    e.keyword = kw.text;
    for (size_t k = 1; k < ln->tokens.size(); ++k) e.args.push_back(ln->tokens[k].text);
    sections_[*section].entries.push_back(std::move(e));
  }
  if (ln->section < 0 && *depth > 0) {
    ln->section = *section;
    ln->depth = *depth;
  }
  return {};
}

std::expected<void, Error> XorgConf::ParseAll() {
  lines_.clear();
  sections_.clear();
  section_open_.clear();
  section_close_.clear();
  int section = -1;
  int depth = 0;
  int number = 1;
  for (size_t i = 0; i < text_.size();) {
    auto ln = LexLine(&i, number++);
    if (!ln) return std::unexpected(ln.error());
    if (auto ok = ParseStructure(&*ln, lines_.size(), &section, &depth); !ok) return ok;
    lines_.push_back(std::move(*ln));
  }
  if (depth != 0)
    return std::unexpected(At(sections_.back().line, "Section \"" + sections_.back().name +
                                                         "\" is not closed; expected EndSection"));
  return {};
}

std::string XorgConf::Newline() const {
  return text_.find("\r\n") != std::string::npos ? "\r\n" : "\n";
}

std::string XorgConf::IndentFor(size_t s) const {
  // Copy the indentation of the section's last direct entry.
  for (size_t li = section_close_[s]; li-- > section_open_[s] + 1;) {
    const Line& ln = lines_[li];
    if (ln.depth == 1 && !ln.tokens.empty())
      return text_.substr(ln.begin, ln.tokens[0].begin - ln.begin);
  }
  return "    ";
}

std::expected<bool, Error> XorgConf::Commit(const Splice& splice, size_t changed_section,
                                            std::string_view what,
                                            const std::function<bool(const XorgConf&)>& check) {
  std::string text = text_;
  text.replace(splice.begin, splice.end - splice.begin, splice.text);
  if (text == text_) return false;
  auto reparsed = Parse(text, path_);
  if (!reparsed) return std::unexpected(reparsed.error());
  if (!check(*reparsed))
    return std::unexpected(At(0, std::string(what) + " did not read back as intended; file "
                                                     "left unchanged"));
  // Every other section must read back the same.
  auto same = [](const XorgSection& a, const XorgSection& b) {
    if (a.name != b.name || a.entries.size() != b.entries.size()) return false;
    for (size_t i = 0; i < a.entries.size(); ++i)
      if (a.entries[i].keyword != b.entries[i].keyword || a.entries[i].args != b.entries[i].args)
        return false;
    return true;
  };
  for (size_t s = 0; s < sections_.size(); ++s)
    if (s != changed_section &&
        (s >= reparsed->sections_.size() || !same(sections_[s], reparsed->sections_[s])))
      return std::unexpected(At(0, std::string(what) + " would change another section; file "
                                                       "left unchanged"));
  *this = std::move(*reparsed);
  return true;
}

std::expected<bool, Error> XorgConf::SetOption(std::string_view section, std::string_view option,
                                               std::string_view value, bool create) {
  std::string what = "setting Option \"" + std::string(option) + "\" in " + std::string(section);
  std::string want(value);
  auto check = [&](const XorgConf& c) {
    for (const XorgSection& s : c.sections_)
      if (XorgNameEqual(s.name, section)) return s.Option(option) == want;
    return false;
  };
  for (size_t s = 0; s < sections_.size(); ++s) {
    if (!XorgNameEqual(sections_[s].name, section)) continue;
    if (sections_[s].Option(option) == want) return false;
    // Replace the value of the last matching Option line (the one that wins).
    for (size_t li = section_close_[s]; li-- > section_open_[s] + 1;) {
      const Line& ln = lines_[li];
      if (ln.depth != 1 || ln.tokens.size() < 2 || !XorgNameEqual(ln.tokens[0].text, "Option") ||
          !XorgNameEqual(ln.tokens[1].text, option))
        continue;
      if (ln.tokens.size() >= 3)
        return Commit({ln.tokens[2].begin, ln.tokens[2].end, Quoted(value)}, s, what, check);
      return Commit({ln.tokens[1].end, ln.tokens[1].end, " " + Quoted(value)}, s, what, check);
    }
    const Line& close = lines_[section_close_[s]];
    return Commit({close.begin, close.begin,
                   IndentFor(s) + "Option " + Quoted(option) + " " + Quoted(value) + Newline()},
                  s, what, check);
  }
  if (!create)
    return std::unexpected(
        At(0, "no Section \"" + std::string(section) + "\"; expected one to add the Option to"));
  std::string nl = Newline();
  std::string prefix;
  if (!text_.empty() && text_.back() != '\n') prefix = nl;
  if (!text_.empty()) prefix += nl;
  return Commit({text_.size(), text_.size(),
                 prefix + "Section " + Quoted(section) + nl + "    Option " + Quoted(option) + " " +
                     Quoted(value) + nl + "EndSection" + nl},
                sections_.size(), what, check);
}

std::expected<bool, Error> XorgConf::SetBusId(std::string_view identifier,
                                              std::string_view bus_id) {
  if (auto parsed = ParseBusId(bus_id); !parsed) return std::unexpected(At(0, parsed.error()));
  std::string what = "setting BusID of Device \"" + std::string(identifier) + "\"";
  std::optional<size_t> found;
  for (size_t s = 0; s < sections_.size(); ++s) {
    if (!XorgNameEqual(sections_[s].name, "Device")) continue;
    auto id = sections_[s].Identifier();
    if (!id || !XorgNameEqual(*id, identifier)) continue;
    if (found)
      return std::unexpected(
          At(sections_[s].line,
             "two Device sections are named \"" + std::string(identifier) + "\"; expected one"));
    found = s;
  }
  if (!found)
    return std::unexpected(
        At(0, "no Device section with Identifier \"" + std::string(identifier) + "\""));
  size_t s = *found;
  std::string want(bus_id);
  auto check = [&, s](const XorgConf& c) {
    return s < c.sections_.size() && c.sections_[s].First("BusID") == want;
  };
  if (sections_[s].First("BusID") == want) return false;
  std::optional<size_t> busid_line, identifier_line;
  for (size_t li = section_open_[s] + 1; li < section_close_[s]; ++li) {
    const Line& ln = lines_[li];
    if (ln.depth != 1 || ln.tokens.empty()) continue;
    if (XorgNameEqual(ln.tokens[0].text, "BusID") && !busid_line) busid_line = li;
    if (XorgNameEqual(ln.tokens[0].text, "Identifier") && !identifier_line) identifier_line = li;
  }
  if (busid_line) {
    const Line& ln = lines_[*busid_line];
    if (ln.tokens.size() >= 2)
      return Commit({ln.tokens[1].begin, ln.tokens[1].end, Quoted(bus_id)}, s, what, check);
    return Commit({ln.tokens[0].end, ln.tokens[0].end, " " + Quoted(bus_id)}, s, what, check);
  }
  const Line& after = lines_[*identifier_line];
  size_t at = after.end;
  std::string indent = text_.substr(after.begin, after.tokens[0].begin - after.begin);
  // Insert after the Identifier line, keeping its line ending.
  std::string nl = Newline();
  if (at < text_.size()) {
    at += 1;  // past '\n'
    return Commit({at, at, indent + "BusID " + Quoted(bus_id) + nl}, s, what, check);
  }
  return Commit({at, at, nl + indent + "BusID " + Quoted(bus_id)}, s, what, check);
}

}  // namespace vmprep
