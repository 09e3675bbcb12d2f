#include "formats/modprobe_conf.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>
#include <vector>

#include "formats/cmdline.h"

namespace vmprep {
namespace {

bool IsDelim(char c) { return c == ' ' || c == '\t'; }

constexpr std::string_view kCrRefusal =
    "line ends with a carriage return (CRLF), which kmod keeps in the last "
    "word; refusing to edit it (expected LF line endings)";

std::string ParamKey(std::string_view token) {
  std::string key;
  for (char c : token.substr(0, token.find('=')))
    if (c != '"') key.push_back(c == '-' ? '_' : c);
  return key;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string QuoteParamValue(std::string_view value) {
  if (value.find_first_of(" \t") == std::string_view::npos) return std::string(value);
  return "\"" + std::string(value) + "\"";
}

// kmod's strtok_r(" \t") over the decoded line: returns [begin, end) of the
// next token at or after `pos`, or npos.
std::pair<size_t, size_t> NextField(const std::string& s, size_t pos) {
  while (pos < s.size() && IsDelim(s[pos])) ++pos;
  if (pos >= s.size()) return {std::string::npos, std::string::npos};
  size_t end = pos;
  while (end < s.size() && !IsDelim(s[end])) ++end;
  return {pos, end};
}

// One logical line decoded like kmod's getline_wrapped(): "\\\n" joins, "\\c" gives c.
struct Decoded {
  std::string text;
  std::vector<std::pair<size_t, size_t>> raw;  // the raw bytes of each decoded char
  size_t end = 0;                              // raw end, without the terminating newline
};

// Decodes the line at `*i` and moves `*i` past its newline, counting physical lines.
Decoded DecodeLine(const std::string& t, size_t* i, int* physical) {
  Decoded d;
  while (*i < t.size() && t[*i] != '\n') {
    if (t[*i] == '\\' && *i + 1 < t.size()) {
      if (t[*i + 1] == '\n') {
        *i += 2;
        ++*physical;
        continue;
      }
      d.text.push_back(t[*i + 1]);
      d.raw.emplace_back(*i, *i + 2);
      *i += 2;
      continue;
    }
    d.text.push_back(t[*i]);
    d.raw.emplace_back(*i, *i + 1);
    ++*i;
  }
  d.end = *i;
  if (*i < t.size()) {
    ++*i;  // the newline
    ++*physical;
  }
  return d;
}

// Tokens for editing, as [begin, end) of the decoded line: blank-separated, double quotes
// group (next_arg()).
std::vector<std::pair<size_t, size_t>> TokenSpans(const std::string& decoded) {
  std::vector<std::pair<size_t, size_t>> spans;
  for (size_t k = 0; k < decoded.size();) {
    if (IsDelim(decoded[k])) {
      ++k;
      continue;
    }
    size_t start = k;
    bool quoted = false;
    for (; k < decoded.size(); ++k) {
      if (!quoted && IsDelim(decoded[k])) break;
      if (decoded[k] == '"') quoted = !quoted;
    }
    spans.emplace_back(start, k);
  }
  return spans;
}

// The command of a decoded line as kmod reads it; `valid` is false for one kmod ignores.
struct Command {
  ModprobeRecord record;
  bool valid = false;
};

// nullopt for a blank line or a comment.
std::optional<Command> ParseCommand(const std::string& decoded, int line) {
  if (decoded.empty() || decoded[0] == '#') return std::nullopt;
  auto [cb, ce] = NextField(decoded, 0);
  if (cb == std::string::npos) return std::nullopt;
  std::string cmd = decoded.substr(cb, ce - cb);
  auto [mb, me] = NextField(decoded, ce);
  Command c;
  ModprobeRecord& rec = c.record;
  rec.line = line;
  rec.command = cmd;
  bool valid = mb != std::string::npos;
  std::string field = valid ? decoded.substr(mb, me - mb) : std::string();
  // strtok_r(NULL, "") returns what follows the delimiter after the module name, or NULL
  // when nothing does.
  std::string rest = me + 1 < decoded.size() && valid ? decoded.substr(me + 1) : std::string();
  if (cmd == "options" || cmd == "install" || cmd == "remove" || cmd == "softdep") {
    valid = valid && !rest.empty();
    rec.module = ModuleName(field);
    if (cmd == "options") std::replace(rest.begin(), rest.end(), '\t', ' ');
    rec.rest = rest;
  } else if (cmd == "blacklist") {
    rec.module = ModuleName(field);
  } else if (cmd == "alias") {
    auto [tb, te] = NextField(decoded, me);
    valid = valid && tb != std::string::npos;
    rec.module = field;
    if (valid) rec.target = ModuleName(decoded.substr(tb, te - tb));
  } else {
    valid = false;
  }
  c.valid = valid;
  return c;
}

}  // namespace

std::expected<ModprobeConf, Error> ModprobeConf::Parse(std::string_view text,
                                                       std::string_view path) {
  ModprobeConf c;
  c.text_ = std::string(text);
  c.path_ = std::string(path);
  auto ok = c.ParseAll();
  if (!ok) return std::unexpected(ok.error());
  return c;
}

std::expected<void, Error> ModprobeConf::ParseAll() {
  lines_.clear();
  records_.clear();
  ignored_lines_.clear();
  size_t i = 0;
  int physical = 1;
  while (i < text_.size()) {
    Line ln;
    ln.begin = i;
    ln.line = physical;
    Decoded d = DecodeLine(text_, &i, &physical);
    ln.end = d.end;
    for (auto [start, end] : TokenSpans(d.text)) {
      ln.tokens.push_back(
          {d.raw[start].first, d.raw[end - 1].second, d.text.substr(start, end - start)});
    }
    if (auto command = ParseCommand(d.text, ln.line)) {
      if (command->valid) {
        ln.record = static_cast<int>(records_.size());
        records_.push_back(std::move(command->record));
      } else {
        ignored_lines_.push_back(ln.line);
      }
    }
    lines_.push_back(std::move(ln));
  }
  return {};
}

std::vector<std::string> ModprobeConf::OptionTexts(std::string_view module) const {
  std::vector<std::string> out;
  std::string m = ModuleName(module);
  for (const auto& r : records_)
    if (r.command == "options" && r.module == m) out.push_back(r.rest);
  return out;
}

std::optional<ModprobeConf::ParamHit> ModprobeConf::FindParam(std::string_view module,
                                                              std::string_view param) const {
  std::optional<ParamHit> hit;
  std::string m = ModuleName(module);
  std::string key = ParamKey(param);
  for (size_t li = 0; li < lines_.size(); ++li) {
    const Line& ln = lines_[li];
    if (ln.record < 0) continue;
    const ModprobeRecord& r = records_[ln.record];
    if (r.command != "options" || r.module != m) continue;
    for (size_t ti = 2; ti < ln.tokens.size(); ++ti)
      if (ParamKey(ln.tokens[ti].text) == key) hit = ParamHit{li, ti};
  }
  return hit;
}

std::optional<std::string> ModprobeConf::Param(std::string_view module,
                                               std::string_view param) const {
  auto hit = FindParam(module, param);
  if (!hit) return std::nullopt;
  return CmdlineValue(lines_[hit->line_index].tokens[hit->token_index].text);
}

std::optional<ModprobeSoftdep> ModprobeConf::Softdep(std::string_view module) const {
  std::string m = ModuleName(module);
  for (const auto& r : records_) {
    if (r.command != "softdep" || r.module != m) continue;
    ModprobeSoftdep sd;
    sd.line = r.line;
    std::vector<std::string>* into = nullptr;
    size_t pos = 0;
    for (;;) {
      auto [b, e] = NextField(r.rest, pos);
      if (b == std::string::npos) break;
      std::string tok = r.rest.substr(b, e - b);
      pos = e;
      if (tok == "pre:")
        into = &sd.pre;
      else if (tok == "post:")
        into = &sd.post;
      else if (into)
        into->push_back(tok);
    }
    return sd;
  }
  return std::nullopt;
}

bool ModprobeConf::IsBlacklisted(std::string_view module) const {
  std::string m = ModuleName(module);
  return std::any_of(records_.begin(), records_.end(),
                     [&](const auto& r) { return r.command == "blacklist" && r.module == m; });
}

std::optional<std::string> ModprobeConf::InstallCommand(std::string_view module) const {
  std::string m = ModuleName(module);
  for (const auto& r : records_)
    if (r.command == "install" && r.module == m) return r.rest;
  return std::nullopt;
}

std::optional<size_t> ModprobeConf::LastOptionsLine(std::string_view module) const {
  std::optional<size_t> last;
  std::string m = ModuleName(module);
  for (size_t li = 0; li < lines_.size(); ++li)
    if (lines_[li].record >= 0 && records_[lines_[li].record].command == "options" &&
        records_[lines_[li].record].module == m)
      last = li;
  return last;
}

bool ModprobeConf::HasCr(const Line& ln) const { return text_.find('\r', ln.begin) < ln.end; }

std::string ModprobeConf::AppendLineSplicePrefix() const {
  if (text_.empty() || text_.back() == '\n') return "";
  return "\n";
}

std::expected<bool, Error> ModprobeConf::Commit(
    const Splice& splice, std::string_view module, std::string_view what,
    const std::function<bool(const ModprobeConf&)>& check) {
  std::string text = text_;
  text.replace(splice.begin, splice.end - splice.begin, splice.text);
  if (text == text_) return false;
  auto reparsed = Parse(text, path_);
  if (!reparsed) return std::unexpected(reparsed.error());
  if (!check(*reparsed))
    return std::unexpected(At(0, std::string(what) + " for " + std::string(module) +
                                     " did not read back as intended; file "
                                     "left unchanged"));
  std::string m = ModuleName(module);
  auto others = [&](const ModprobeConf& c) {
    std::vector<std::string> out;
    for (const auto& r : c.records_)
      if (r.module != m) out.push_back(r.command + " " + r.module + " " + r.target + " " + r.rest);
    return out;
  };
  if (others(*reparsed) != others(*this) ||
      reparsed->ignored_lines_.size() != ignored_lines_.size())
    return std::unexpected(At(0, std::string(what) + " for " + std::string(module) +
                                     " would change other lines; file left "
                                     "unchanged"));
  *this = std::move(*reparsed);
  return true;
}

std::expected<bool, Error> ModprobeConf::SetParam(std::string_view module, std::string_view param,
                                                  std::string_view value) {
  std::string want(value);
  auto check = [&](const ModprobeConf& c) {
    auto v = c.Param(module, param);
    return v && *v == want;
  };
  std::string token = std::string(param) + "=" + QuoteParamValue(value);
  if (auto hit = FindParam(module, param)) {
    const Token& tok = lines_[hit->line_index].tokens[hit->token_index];
    if (CmdlineValue(tok.text) == value) return false;
    if (HasCr(lines_[hit->line_index]))
      return std::unexpected(At(lines_[hit->line_index].line, std::string(kCrRefusal)));
    if (text_.compare(tok.begin, tok.end - tok.begin, tok.text) != 0)
      return std::unexpected(
          At(lines_[hit->line_index].line,
             "'" + tok.text + "' is written with backslashes; refusing to edit it"));
    std::string key_as_written = tok.text.substr(0, tok.text.find('='));
    return Commit({tok.begin, tok.end, key_as_written + "=" + QuoteParamValue(value)}, module,
                  "setting " + std::string(param), check);
  }
  if (auto li = LastOptionsLine(module)) {
    const Line& ln = lines_[*li];
    if (HasCr(ln)) return std::unexpected(At(ln.line, std::string(kCrRefusal)));
    // Insert before a trailing "#..." word so it does not look commented out.
    size_t at = ln.tokens.back().end;
    for (size_t ti = 2; ti < ln.tokens.size(); ++ti)
      if (!ln.tokens[ti].text.empty() && ln.tokens[ti].text[0] == '#') {
        at = ln.tokens[ti - 1].end;
        break;
      }
    return Commit({at, at, " " + token}, module, "setting " + std::string(param), check);
  }
  // Always LF: kmod would keep a '\r' in the last word of the line.
  std::string nl = "\n";
  return Commit({text_.size(), text_.size(),
                 AppendLineSplicePrefix() + "options " + std::string(module) + " " + token + nl},
                module, "setting " + std::string(param), check);
}

std::expected<bool, Error> ModprobeConf::MergeListParam(std::string_view module,
                                                        std::string_view param,
                                                        const std::vector<std::string>& items) {
  auto current = Param(module, param);
  std::vector<std::string> list = current ? SplitCommaList(*current) : std::vector<std::string>{};
  bool changed = false;
  for (const std::string& item : items) {
    if (item.empty()) continue;
    bool have = std::any_of(list.begin(), list.end(),
                            [&](const auto& x) { return Lower(x) == Lower(item); });
    if (!have) {
      list.push_back(item);
      changed = true;
    }
  }
  if (!changed) return false;
  std::string joined = Join(list, ",");
  return SetParam(module, param, joined);
}

std::expected<bool, Error> ModprobeConf::AddSoftdepPre(std::string_view module,
                                                       std::string_view dep) {
  std::string want = ModuleName(dep);
  auto check = [&](const ModprobeConf& c) {
    auto sd = c.Softdep(module);
    return sd && std::any_of(sd->pre.begin(), sd->pre.end(),
                             [&](const auto& p) { return ModuleName(p) == want; });
  };
  if (check(*this)) return false;
  std::string m = ModuleName(module);
  for (const Line& ln : lines_) {
    if (ln.record < 0) continue;
    const ModprobeRecord& r = records_[ln.record];
    if (r.command != "softdep" || r.module != m) continue;
    // The first softdep line for a module is the one kmod uses: extend it.
    if (HasCr(ln)) return std::unexpected(At(ln.line, std::string(kCrRefusal)));
    std::optional<size_t> pre, post;
    for (size_t ti = 2; ti < ln.tokens.size(); ++ti) {
      if (ln.tokens[ti].text == "pre:" && !pre) pre = ti;
      if (ln.tokens[ti].text == "post:" && !post) post = ti;
    }
    if (pre) {
      size_t last = *pre;
      for (size_t ti = *pre + 1;
           ti < ln.tokens.size() && ln.tokens[ti].text != "post:" && ln.tokens[ti].text != "pre:";
           ++ti)
        last = ti;
      size_t at = ln.tokens[last].end;
      return Commit({at, at, " " + std::string(dep)}, module, "adding softdep", check);
    }
    if (ln.tokens.size() <= 2) {
      size_t at = ln.tokens.back().end;
      return Commit({at, at, " pre: " + std::string(dep)}, module, "adding softdep", check);
    }
    size_t at = ln.tokens[2].begin;
    return Commit({at, at, "pre: " + std::string(dep) + " "}, module, "adding softdep", check);
  }
  // Always LF: kmod would keep a '\r' in the last word of the line.
  std::string nl = "\n";
  return Commit({text_.size(), text_.size(),
                 AppendLineSplicePrefix() + "softdep " + std::string(module) +
                     " pre: " + std::string(dep) + nl},
                module, "adding softdep", check);
}

}  // namespace vmprep
