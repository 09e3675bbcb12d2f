#include "formats/cmdline.h"

#include <algorithm>

namespace vmprep {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string StripQuotes(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != '"') out.push_back(c);
  return out;
}

}  // namespace

std::string CmdlineKey(std::string_view token) {
  size_t eq = token.find('=');
  std::string key = StripQuotes(token.substr(0, eq));
  if (key.find('.') != std::string::npos) std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

bool CmdlineHasValue(std::string_view token) { return token.find('=') != std::string_view::npos; }

std::string CmdlineValue(std::string_view token) {
  size_t eq = token.find('=');
  if (eq == std::string_view::npos) return "";
  std::string_view v = token.substr(eq + 1);
  // The kernel strips one pair of quotes around the value (and a leading quote
  // before the key, which StripQuotes of the whole value covers for us).
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
    v = v.substr(1, v.size() - 2);
  else if (!v.empty() && v.back() == '"' && token.front() == '"')
    v = v.substr(0, v.size() - 1);
  return std::string(v);
}

std::vector<std::string> SplitCommaList(std::string_view list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    if (comma > start) out.emplace_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

Cmdline::Cmdline(std::string_view text) : text_(text) { Split(); }

void Cmdline::Split() {
  tokens_.clear();
  size_t i = 0;
  const size_t n = text_.size();
  while (i < n) {
    while (i < n && IsSpace(text_[i])) ++i;
    if (i >= n) break;
    size_t begin = i;
    bool in_quote = false;
    for (; i < n; ++i) {
      if (!in_quote && IsSpace(text_[i])) break;
      if (text_[i] == '"') in_quote = !in_quote;
    }
    tokens_.push_back({begin, i});
  }
  kernel_end_ = tokens_.size();
  end_kind_ = EndKind::kNone;
  for (size_t t = 0; t < tokens_.size(); ++t) {
    std::string_view tok(text_.data() + tokens_[t].begin, tokens_[t].end - tokens_[t].begin);
    if (std::count(tok.begin(), tok.end(), '"') % 2 == 1) {
      // Only the last token can hold an odd number of quotes: it runs to the end.
      kernel_end_ = t;
      end_kind_ = EndKind::kUnclosedQuote;
      break;
    }
    if (!CmdlineHasValue(tok) && StripQuotes(tok) == "--") {
      kernel_end_ = t;
      end_kind_ = EndKind::kDashDash;
      break;
    }
  }
}

size_t Cmdline::EndOffset() const {
  return kernel_end_ < tokens_.size() ? tokens_[kernel_end_].begin : text_.size();
}

std::vector<std::string> Cmdline::KernelTokens() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < kernel_end_; ++i)
    out.push_back(text_.substr(tokens_[i].begin, tokens_[i].end - tokens_[i].begin));
  return out;
}

std::vector<std::string> Cmdline::Tokens() const {
  std::vector<std::string> out;
  for (const Span& s : tokens_) out.push_back(text_.substr(s.begin, s.end - s.begin));
  return out;
}

int Cmdline::FindLast(std::string_view key) const {
  std::string want = CmdlineKey(key);
  for (int i = static_cast<int>(kernel_end_) - 1; i >= 0; --i) {
    std::string_view tok(text_.data() + tokens_[i].begin, tokens_[i].end - tokens_[i].begin);
    if (CmdlineKey(tok) == want) return i;
  }
  return -1;
}

std::string Cmdline::Get(std::string_view key) const {
  int i = FindLast(key);
  if (i < 0) return "";
  return CmdlineValue(
      std::string_view(text_).substr(tokens_[i].begin, tokens_[i].end - tokens_[i].begin));
}

void Cmdline::ReplaceToken(size_t index, std::string_view replacement) {
  Span s = tokens_[index];
  text_.replace(s.begin, s.end - s.begin, replacement);
  Split();
}

void Cmdline::EraseToken(size_t index) {
  Span s = tokens_[index];
  size_t begin = s.begin, end = s.end;
  // Take the separating whitespace before the token; for the first token take
  // the whitespace after it instead, so "a b" -> "b" and "a b c" -> "a c".
  if (index > 0) {
    begin = tokens_[index - 1].end;
  } else if (tokens_.size() > 1) {
    end = tokens_[1].begin;
  }
  text_.erase(begin, end - begin);
  Split();
}

void Cmdline::Append(std::string_view token) {
  if (kernel_end_ < tokens_.size()) {
    // Where the kernel still reads it: before "--" or the unclosed quote.
    text_.insert(tokens_[kernel_end_].begin, std::string(token) + " ");
    Split();
    return;
  }
  size_t insert_at = tokens_.empty() ? 0 : tokens_.back().end;
  if (tokens_.empty()) {
    // Keep any whitespace the value carried (GRUB_CMDLINE_LINUX=" "): put the
    // token after it.
    insert_at = text_.size();
    text_.insert(insert_at, token);
  } else {
    text_.insert(insert_at, std::string(" ") + std::string(token));
  }
  Split();
}

bool Cmdline::Set(std::string_view token) {
  std::string key = CmdlineKey(token);
  int first = -1;
  bool changed = false;
  for (size_t i = 0; i < kernel_end_;) {
    std::string tok = text_.substr(tokens_[i].begin, tokens_[i].end - tokens_[i].begin);
    if (CmdlineKey(tok) != key) {
      ++i;
      continue;
    }
    if (first < 0) {
      first = static_cast<int>(i);
      if (tok != token) {
        ReplaceToken(i, token);
        changed = true;
      }
      ++i;
    } else {
      EraseToken(i);
      changed = true;
    }
  }
  if (first < 0) {
    Append(token);
    changed = true;
  }
  return changed;
}

bool Cmdline::Remove(std::string_view key) {
  bool changed = false;
  for (int i; (i = FindLast(key)) >= 0;) {
    EraseToken(i);
    changed = true;
  }
  return changed;
}

bool Cmdline::MergeList(std::string_view key, const std::vector<std::string>& items) {
  int i = FindLast(key);
  if (i < 0) {
    std::vector<std::string> unique;
    for (const std::string& item : items)
      if (!item.empty() && std::find(unique.begin(), unique.end(), item) == unique.end())
        unique.push_back(item);
    std::string joined;
    for (const std::string& item : unique) joined += (joined.empty() ? "" : ",") + item;
    if (joined.empty()) return false;
    Append(std::string(key) + "=" + joined);
    return true;
  }
  std::string tok = text_.substr(tokens_[i].begin, tokens_[i].end - tokens_[i].begin);
  std::vector<std::string> have = SplitCommaList(CmdlineValue(tok));
  std::string added;
  for (const std::string& item : items) {
    if (item.empty() || std::find(have.begin(), have.end(), item) != have.end()) continue;
    have.push_back(item);
    added += ',' + item;
  }
  if (added.empty()) return false;
  std::string value = CmdlineValue(tok);
  // Keep the written key spelling; only the list grows.
  std::string key_text = tok.substr(0, tok.find('='));
  if (value.empty()) added.erase(0, 1);
  // "a,b," stays valid: do not introduce ",," when the list ended with a comma.
  if (!value.empty() && value.back() == ',') added.erase(0, 1);
  ReplaceToken(i, key_text + "=" + value + added);
  return true;
}

}  // namespace vmprep
