/// A reader for libvirt's virConf syntax, enough for the keys vmcheck reads.
#include "formats/libvirt_conf.h"

#include <cctype>

namespace vmprep {
namespace {

class Scanner {
 public:
  Scanner(std::string_view text, std::string_view path) : text_(text), path_(path) {}

  bool AtEnd() {
    SkipBlanks(true);
    return pos_ >= text_.size();
  }
  int line() const { return line_; }
  Error Fail(std::string message) const { return Error{std::string(path_), line_, message, 0}; }

  // Skips blanks and comments; newlines too when `newlines`.
  void SkipBlanks(bool newlines) {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (c == '\n' && newlines) {
        ++line_;
        ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else {
        return;
      }
    }
  }
  bool Take(char c) {
    SkipBlanks(false);
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::string Word() {
    SkipBlanks(false);
    std::size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
                                   text_[pos_] == '_' || text_[pos_] == '-' || text_[pos_] == '.'))
      ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }
  std::expected<std::string, Error> Scalar() {
    SkipBlanks(false);
    if (pos_ < text_.size() && (text_[pos_] == '"' || text_[pos_] == '\'')) {
      char quote = text_[pos_++];
      std::size_t end = text_.find(quote, pos_);
      std::size_t nl = text_.find('\n', pos_);
      if (end == std::string_view::npos || (nl != std::string_view::npos && nl < end))
        return std::unexpected(Fail("unterminated string; expected a closing quote"));
      std::string s(text_.substr(pos_, end - pos_));
      pos_ = end + 1;
      return s;
    }
    std::string w = Word();
    if (w.empty()) return std::unexpected(Fail("expected a quoted string, a number or a [list]"));
    return w;
  }
  bool EndOfLine() {
    SkipBlanks(false);
    if (pos_ >= text_.size()) return true;
    if (text_[pos_] == ';') ++pos_;
    SkipBlanks(false);
    return pos_ >= text_.size() || text_[pos_] == '\n';
  }

  std::expected<LibvirtConfValue, Error> Value() {
    LibvirtConfValue v;
    v.line = line_;
    if (!Take('[')) {
      auto s = Scalar();
      if (!s) return std::unexpected(s.error());
      v.items.push_back(std::move(*s));
      return v;
    }
    v.list = true;
    for (;;) {
      SkipBlanks(true);
      if (Take(']')) return v;
      if (pos_ >= text_.size()) return std::unexpected(Fail("unterminated list; expected ']'"));
      auto s = Scalar();
      if (!s) return std::unexpected(s.error());
      v.items.push_back(std::move(*s));
      SkipBlanks(true);
      if (Take(']')) return v;
      if (!Take(',')) return std::unexpected(Fail("expected ',' or ']' in a list"));
    }
  }

 private:
  std::string_view text_, path_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace

std::expected<std::map<std::string, LibvirtConfValue, std::less<>>, Error> ParseLibvirtConf(
    std::string_view text, std::string_view path) {
  std::map<std::string, LibvirtConfValue, std::less<>> out;
  Scanner s(text, path);
  while (!s.AtEnd()) {
    std::string name = s.Word();
    if (name.empty()) return std::unexpected(s.Fail("expected a setting name"));
    if (!s.Take('='))
      return std::unexpected(s.Fail("expected '=' after '" + name + "' (name = value)"));
    auto value = s.Value();
    if (!value) return std::unexpected(value.error());
    if (!s.EndOfLine())
      return std::unexpected(s.Fail("unexpected text after the value of '" + name + "'"));
    out[name] = std::move(*value);
  }
  return out;
}

}  // namespace vmprep
