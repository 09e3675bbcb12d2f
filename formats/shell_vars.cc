#include "formats/shell_vars.h"

#include <algorithm>
#include <map>

#include "core/text.h"
#include "formats/cmdline.h"

namespace vmprep {
namespace {

bool IsNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsBlank(char c) { return c == ' ' || c == '\t'; }

bool IsSafeUnquoted(char c) {
  return IsNameChar(c) || c == '.' || c == '/' || c == ':' || c == ',' || c == '=' || c == '+' ||
         c == '@' || c == '%' || c == '-';
}

std::string DoubleQuoteBody(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\' || c == '$' || c == '`') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string SingleQuoteBody(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out.push_back(c);
  }
  return out;
}

std::vector<std::string> SplitBlanks(std::string_view s) {
  // IFS default: space, tab, newline.
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// A reader over the file text that knows enough bash to find where words,
// quotes, command substitutions and statements end.
class Reader {
 public:
  Reader(const std::string& t, const std::vector<size_t>& line_starts, const std::string& path)
      : t_(t), n_(t.size()), line_starts_(line_starts), path_(path) {}

  int LineOf(size_t pos) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), pos);
    return static_cast<int>(it - line_starts_.begin());
  }
  Error Err(size_t pos, std::string msg) const {
    return Error{path_, LineOf(pos), std::move(msg), 0};
  }
  bool AtCrLf(size_t i) const { return i + 1 < n_ && t_[i] == '\r' && t_[i + 1] == '\n'; }
  // Unquoted characters that end a word.
  bool EndsWord(size_t i) const {
    char c = t_[i];
    return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '<' ||
           c == '>' || c == '(' || c == ')';
  }

  // Skips "...": i points after the opening quote; returns after the closing.
  std::expected<size_t, Error> SkipDouble(size_t i, size_t open) const {
    while (i < n_) {
      char c = t_[i];
      if (c == '\\') {
        i += 2;
      } else if (c == '"') {
        return i + 1;
      } else if (c == '`') {
        auto r = SkipBacktick(i + 1, i);
        if (!r) return r;
        i = *r;
      } else if (c == '$' && i + 1 < n_ && (t_[i + 1] == '(' || t_[i + 1] == '{')) {
        auto r = SkipNested(i + 2, i, t_[i + 1]);
        if (!r) return r;
        i = *r;
      } else {
        ++i;
      }
    }
    return std::unexpected(Err(open, "unterminated double quote; expected a closing '\"'"));
  }
  std::expected<size_t, Error> SkipSingle(size_t i, size_t open) const {
    size_t close = t_.find('\'', i);
    if (close == std::string::npos)
      return std::unexpected(Err(open, "unterminated single quote; expected a closing \"'\""));
    return close + 1;
  }
  // Skips to after `close`, a backslash escaping the next character (backquotes, $'...').
  std::expected<size_t, Error> SkipEscapedUntil(size_t i, size_t open, char close,
                                                std::string_view unterminated) const {
    while (i < n_) {
      if (t_[i] == '\\') {
        i += 2;
      } else if (t_[i] == close) {
        return i + 1;
      } else {
        ++i;
      }
    }
    return std::unexpected(Err(open, std::string(unterminated)));
  }
  std::expected<size_t, Error> SkipBacktick(size_t i, size_t open) const {
    return SkipEscapedUntil(i, open, '`', "unterminated backquote; expected a closing '`'");
  }
  // Skips $( ... ) or ${ ... }: i points after the opening bracket.
  std::expected<size_t, Error> SkipNested(size_t i, size_t open, char kind) const {
    char opener = kind, closer = kind == '(' ? ')' : '}';
    int depth = 1;
    while (i < n_) {
      char c = t_[i];
      if (c == '\\') {
        i += 2;
        continue;
      }
      std::expected<size_t, Error> r = i + 1;
      if (c == '\'' && kind == '(') {
        r = SkipSingle(i + 1, i);
      } else if (c == '"') {
        r = SkipDouble(i + 1, i);
      } else if (c == '`') {
        r = SkipBacktick(i + 1, i);
      } else if (c == '$' && i + 1 < n_ && (t_[i + 1] == '(' || t_[i + 1] == '{')) {
        r = SkipNested(i + 2, i, t_[i + 1]);
      } else if (c == opener) {
        ++depth;
      } else if (c == closer) {
        if (--depth == 0) return i + 1;
      }
      if (!r) return r;
      i = *r;
    }
    return std::unexpected(
        Err(open, std::string("unterminated '$") + kind + "'; expected '" + closer + "'"));
  }

  // Handles '$' at i (unquoted or in double quotes). Returns the position after
  // the expansion and sets `expansion`; a lone '$' is literal.
  std::expected<size_t, Error> Dollar(size_t i, bool in_double, std::string* expansion) const {
    if (i + 1 >= n_) return i;  // literal
    char c = t_[i + 1];
    if (c == '(' || c == '{') {
      auto r = SkipNested(i + 2, i, c);
      if (r) *expansion = t_.substr(i, std::min<size_t>(*r - i, 40));
      return r;
    }
    if (IsNameStart(c)) {
      size_t j = i + 1;
      while (j < n_ && IsNameChar(t_[j])) ++j;
      *expansion = t_.substr(i, j - i);
      return j;
    }
    if ((c >= '0' && c <= '9') || std::string_view("@*#?-$!").find(c) != std::string_view::npos) {
      *expansion = t_.substr(i, 2);
      return i + 2;
    }
    if (!in_double && (c == '\'' || c == '"')) {
      *expansion = c == '\'' ? "$'...' (ANSI-C quoting)" : "$\"...\" (locale)";
      return c == '\'' ? SkipAnsi(i + 2, i) : SkipDouble(i + 2, i);
    }
    return i;  // '$' followed by anything else is a literal '$'
  }
  std::expected<size_t, Error> SkipAnsi(size_t i, size_t open) const {
    return SkipEscapedUntil(i, open, '\'', "unterminated $'...'");
  }

  // Marks `w` as depending on an expansion at `at` (the first reason is kept).
  void NotStatic(ShellWord* w, size_t at, std::string why) const {
    if (w->is_static) {
      w->is_static = false;
      w->why_not_static = std::move(why);
      w->line = LineOf(at);
    }
  }
  static void Add(ShellWord* w, char c, size_t b, size_t e, char ctx) {
    w->value.push_back(c);
    w->chars.push_back({b, e, ctx});
  }
  // The first quote of a word is where an empty value is inserted.
  static void QuoteAt(ShellWord* w, bool* saw_quote, size_t inside, char ctx) {
    if (!*saw_quote) {
      w->empty_insert = inside;
      w->empty_context = ctx;
    }
    *saw_quote = true;
  }

  // A '$' or backquote at `at`, inside double quotes or not: a literal '$' when nothing
  // expands, else the word is not static. Returns where scanning goes on.
  std::expected<size_t, Error> Expansion(ShellWord* w, size_t at, bool quoted) const {
    if (t_[at] == '`') {
      auto r = SkipBacktick(at + 1, at);
      if (!r) return std::unexpected(r.error());
      NotStatic(w, at, "runs a command in backquotes");
      return *r;
    }
    std::string exp;
    auto r = Dollar(at, quoted, &exp);
    if (!r) return std::unexpected(r.error());
    if (exp.empty()) {
      Add(w, '$', at, at + 1, quoted ? 'd' : 'u');
      return at + 1;
    }
    NotStatic(w, at, "uses the expansion " + exp);
    return *r;
  }

  // A backslash outside quotes at `i`. Returns where scanning goes on.
  size_t Backslash(ShellWord* w, size_t i) const {
    if (i + 1 >= n_) {
      Add(w, '\\', i, i + 1, 'u');
      return i + 1;
    }
    if (t_[i + 1] == '\n') return i + 2;  // line continuation: produces nothing
    Add(w, t_[i + 1], i, i + 2, 'u');
    return i + 2;
  }

  // The double-quoted part that opens at `open`. Returns where scanning goes on.
  std::expected<size_t, Error> DoubleQuoted(ShellWord* w, size_t open) const {
    size_t i = open + 1;
    while (i < n_) {
      char d = t_[i];
      if (d == '"') return i + 1;
      if (d == '\\' && i + 1 < n_) {
        char e = t_[i + 1];
        if (e == '\n') {
          i += 2;
        } else if (e == '$' || e == '`' || e == '"' || e == '\\') {
          Add(w, e, i, i + 2, 'd');
          i += 2;
        } else {
          Add(w, '\\', i, i + 1, 'd');
          ++i;
        }
      } else if (d == '$' || d == '`') {
        auto r = Expansion(w, i, true);
        if (!r) return std::unexpected(r.error());
        i = *r;
      } else {
        Add(w, d, i, i + 1, 'd');
        ++i;
      }
    }
    return std::unexpected(Err(open, "unterminated double quote; expected a closing '\"'"));
  }

  // An unquoted character at `i` of the word that starts at `begin`.
  void Unquoted(ShellWord* w, size_t i, size_t begin, bool in_array) const {
    char c = t_[i];
    if (c == '~' && (i == begin || t_[i - 1] == ':'))
      NotStatic(w, i, "starts with '~' (tilde expansion)");
    if (in_array && (c == '*' || c == '?' || c == '[' || c == '{'))
      NotStatic(
          w, i,
          std::string("has an unquoted '") + c + "' in an array element (glob or brace expansion)");
    Add(w, c, i, i + 1, 'u');
  }

  // Reads one word starting at i (which must not end a word).
  std::expected<ShellWord, Error> Word(size_t i, bool in_array) const {
    ShellWord w;
    w.begin = i;
    w.line = LineOf(i);
    w.empty_insert = i;
    w.empty_context = 'u';
    bool saw_quote = false;
    while (i < n_ && !EndsWord(i)) {
      char c = t_[i];
      std::expected<size_t, Error> next = i + 1;
      if (c == '\\') {
        next = Backslash(&w, i);
      } else if (c == '\'') {
        next = SkipSingle(i + 1, i);
        if (!next) return std::unexpected(next.error());
        QuoteAt(&w, &saw_quote, i + 1, 's');
        for (size_t j = i + 1; j + 1 < *next; ++j) Add(&w, t_[j], j, j + 1, 's');
      } else if (c == '"') {
        QuoteAt(&w, &saw_quote, i + 1, 'd');
        next = DoubleQuoted(&w, i);
      } else if (c == '$' || c == '`') {
        next = Expansion(&w, i, false);
      } else {
        Unquoted(&w, i, w.begin, in_array);
      }
      if (!next) return std::unexpected(next.error());
      i = *next;
    }
    w.end = i;
    if (w.value.find('\r') != std::string::npos)
      NotStatic(&w, w.begin,
                "contains a carriage return (a CRLF line ending?), which bash "
                "keeps in the value");
    return w;
  }

  // The end of an uninterpreted command: the next unquoted newline.
  std::expected<size_t, Error> CommandEnd(size_t i) const {
    bool word_start = true;
    while (i < n_) {
      char c = t_[i];
      std::expected<size_t, Error> r = i + 1;
      if (c == '\n') return i;
      if (c == '#' && word_start) {
        size_t nl = t_.find('\n', i);
        return nl == std::string::npos ? n_ : nl;
      }
      if (c == '\\') {
        r = i + 2;
      } else if (c == '\'') {
        r = SkipSingle(i + 1, i);
      } else if (c == '"') {
        r = SkipDouble(i + 1, i);
      } else if (c == '`') {
        r = SkipBacktick(i + 1, i);
      } else if (c == '$' && i + 1 < n_ && (t_[i + 1] == '(' || t_[i + 1] == '{')) {
        r = SkipNested(i + 2, i, t_[i + 1]);
      }
      if (!r) return std::unexpected(r.error());
      word_start = IsBlank(c) || c == ';' || c == '&' || c == '|' || c == '(';
      i = std::min(*r, n_);
    }
    return n_;
  }

  const std::string& t_;
  size_t n_;
  const std::vector<size_t>& line_starts_;
  const std::string& path_;
};

// Net change of compound-command nesting in an uninterpreted command.
int DepthChange(std::string_view text) {
  int d = 0;
  std::string word;
  auto flush = [&] {
    if (word == "if" || word == "for" || word == "while" || word == "until" || word == "case" ||
        word == "select" || word == "{")
      ++d;
    else if (word == "fi" || word == "done" || word == "esac" || word == "}")
      --d;
    word.clear();
  };
  for (char c : text) {
    if (IsBlank(c) || c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '\n' ||
        c == '\r') {
      flush();
    } else {
      word.push_back(c);
    }
  }
  flush();
  return d;
}

bool RunsOtherCode(std::string_view text) {
  std::string word;
  bool found = false;
  auto flush = [&] {
    found = found || word == "source" || word == "." || word == "eval";
    word.clear();
  };
  for (char c : text) {
    if (IsBlank(c) || c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '\n') {
      flush();
    } else {
      word.push_back(c);
    }
  }
  flush();
  return found;
}

bool MentionsName(std::string_view text, std::string_view name) {
  for (size_t pos = text.find(name); pos != std::string_view::npos;
       pos = text.find(name, pos + 1)) {
    bool left = pos == 0 || !IsNameChar(text[pos - 1]);
    size_t after = pos + name.size();
    bool right = after >= text.size() || !IsNameChar(text[after]);
    if (left && right) return true;
  }
  return false;
}

}  // namespace

std::string ShellQuote(std::string_view word) {
  bool safe = !word.empty() && std::all_of(word.begin(), word.end(), IsSafeUnquoted);
  if (safe) return std::string(word);
  return "\"" + DoubleQuoteBody(word) + "\"";
}

Error ShellVarsFile::At(int line, std::string message) const {
  return Error{path_, line, std::move(message), 0};
}

std::expected<ShellVarsFile, Error> ShellVarsFile::Parse(std::string_view text,
                                                         std::string_view path) {
  ShellVarsFile f;
  f.text_ = std::string(text);
  f.path_ = std::string(path);
  auto ok = f.ParseAll();
  if (!ok) return std::unexpected(ok.error());
  return f;
}

namespace {

// Walks the statements of a file of assignments: blanks, statement ends and the pieces of an
// assignment (`[export] NAME=value`, `NAME+=value`, `NAME=(words)`).
class StatementScanner {
 public:
  StatementScanner(const std::string& text, const Reader& reader) : t_(text), r_(reader) {}

  size_t SkipBlanks(size_t i) const {
    for (;;) {
      if (i < t_.size() && IsBlank(t_[i])) {
        ++i;
      } else if (i + 1 < t_.size() && t_[i] == '\\' && t_[i + 1] == '\n') {
        i += 2;
      } else {
        return i;
      }
    }
  }

  bool AtStatementEnd(size_t i) const {
    return i >= t_.size() || t_[i] == '\n' || t_[i] == '#' || t_[i] == ';';
  }

  // NAME= or NAME+= at i: returns the position after '=' or npos.
  size_t AssignmentHead(size_t i, size_t* name_end) const {
    const size_t n = t_.size();
    if (i >= n || !IsNameStart(t_[i])) return std::string::npos;
    size_t j = i;
    while (j < n && IsNameChar(t_[j])) ++j;
    *name_end = j;
    if (j < n && t_[j] == '=') return j + 1;
    if (j + 1 < n && t_[j] == '+' && t_[j + 1] == '=') return j + 2;
    return std::string::npos;
  }

  // `export NAME` without a value changes no value: the position after the name (and the
  // blanks after it), or npos when p does not hold such a name.
  size_t SkipExportedName(size_t p) const {
    const size_t n = t_.size();
    if (p >= n || !IsNameStart(t_[p])) return std::string::npos;
    size_t j = p;
    while (j < n && IsNameChar(t_[j])) ++j;
    if (j < n && !IsBlank(t_[j]) && !AtStatementEnd(j)) return std::string::npos;
    return SkipBlanks(j);
  }

  // The words of NAME=( ... ) from the '(' at a.open_paren; the position after ')'.
  std::expected<size_t, Error> ReadArray(ShellAssignment& a) const {
    const size_t n = t_.size();
    size_t i = a.open_paren + 1;
    for (;;) {
      while (i < n && (IsBlank(t_[i]) || t_[i] == '\n')) ++i;
      if (i + 1 < n && t_[i] == '\\' && t_[i + 1] == '\n') {
        i += 2;
        continue;
      }
      if (i >= n)
        return std::unexpected(
            r_.Err(a.open_paren, "array " + a.name + "=( is not closed; expected ')'"));
      if (t_[i] == ')') {
        a.close_paren = i;
        return i + 1;
      }
      if (t_[i] == '#') {
        size_t nl = t_.find('\n', i);
        i = nl == std::string::npos ? n : nl;
        continue;
      }
      if (r_.EndsWord(i))
        return std::unexpected(r_.Err(i, std::string("unexpected '") + t_[i] + "' in array " +
                                             a.name + "; expected words and ')'"));
      auto w = r_.Word(i, true);
      if (!w) return std::unexpected(w.error());
      i = w->end;
      a.elements.push_back(std::move(*w));
    }
  }

  // One assignment whose name starts at p and whose value starts at value_at; the position
  // after its value.
  std::expected<size_t, Error> ReadAssignment(size_t p, size_t name_end, size_t value_at,
                                              bool exported, int depth,
                                              std::vector<ShellAssignment>* found) const {
    ShellAssignment a;
    a.name = t_.substr(p, name_end - p);
    a.append = t_[name_end] == '+';
    a.exported = exported;
    a.line = r_.LineOf(p);
    a.depth = depth;
    size_t after;
    if (value_at < t_.size() && t_[value_at] == '(') {
      a.is_array = true;
      a.open_paren = value_at;
      auto end = ReadArray(a);
      if (!end) return std::unexpected(end.error());
      after = *end;
    } else {
      auto w = r_.Word(value_at, false);
      if (!w) return std::unexpected(w.error());
      a.scalar = std::move(*w);
      after = a.scalar.end;
    }
    found->push_back(std::move(a));
    return after;
  }

  struct Statement {
    std::vector<ShellAssignment> assignments;
    bool is_assignment = true;  // false: a command (maybe with NAME=value for it alone)
    size_t end = 0;             // where the assignments end (when is_assignment)
  };

  // The statement at pos: only assignments, or a command.
  std::expected<Statement, Error> Read(size_t pos, int depth) const {
    Statement st;
    bool exported = false;
    size_t p = pos;
    if (t_.compare(p, 6, "export") == 0 && p + 6 < t_.size() && IsBlank(t_[p + 6])) {
      exported = true;
      p = SkipBlanks(p + 6);
    }
    for (;;) {
      size_t name_end = 0;
      size_t value_at = AssignmentHead(p, &name_end);
      if (value_at == std::string::npos) {
        size_t next = exported ? SkipExportedName(p) : std::string::npos;
        if (next == std::string::npos) {
          st.is_assignment = false;
          break;
        }
        p = next;
        if (AtStatementEnd(p)) break;
        continue;
      }
      auto after = ReadAssignment(p, name_end, value_at, exported, depth, &st.assignments);
      if (!after) return std::unexpected(after.error());
      p = SkipBlanks(*after);
      if (AtStatementEnd(p)) break;
      size_t unused;
      if (AssignmentHead(p, &unused) == std::string::npos) {
        // NAME=value command: the assignment is for that command only.
        st.is_assignment = false;
        break;
      }
    }
    st.end = p;
    return st;
  }

 private:
  const std::string& t_;
  const Reader& r_;
};

}  // namespace

std::expected<void, Error> ShellVarsFile::ParseAll() {
  assignments_.clear();
  opaque_.clear();
  line_starts_ = {0};
  for (size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
  Reader r(text_, line_starts_, path_);
  StatementScanner scan(text_, r);
  const std::string& t = text_;
  const size_t n = t.size();
  size_t pos = 0;
  int depth = 0;
  while (pos < n) {
    pos = scan.SkipBlanks(pos);
    if (pos >= n) break;
    char c = t[pos];
    if (c == '\n' || c == ';' || r.AtCrLf(pos)) {
      ++pos;
      continue;
    }
    if (c == '#') {
      size_t nl = t.find('\n', pos);
      pos = nl == std::string::npos ? n : nl;
      continue;
    }
    auto st = scan.Read(pos, depth);
    if (!st) return std::unexpected(st.error());
    if (st->is_assignment) {
      for (auto& a : st->assignments) assignments_.push_back(std::move(a));
      pos = st->end;
      continue;
    }
    auto end = r.CommandEnd(pos);
    if (!end) return std::unexpected(end.error());
    ShellOpaque o;
    o.begin = pos;
    o.end = *end;
    o.line = r.LineOf(pos);
    o.text = t.substr(pos, *end - pos);
    // A here-document's body would be misread as statements.
    if (o.text.find("<<") != std::string::npos && o.text.find("<<<") == std::string::npos)
      return std::unexpected(r.Err(pos,
                                   "here-document (<<) in a file of assignments; expected only "
                                   "assignments and simple commands"));
    depth += DepthChange(o.text);
    if (depth < 0) depth = 0;
    opaque_.push_back(std::move(o));
    pos = *end;
  }
  return {};
}

std::vector<int> ShellVarsFile::SourcingLines() const {
  std::vector<int> out;
  for (const auto& o : opaque_)
    if (RunsOtherCode(o.text)) out.push_back(o.line);
  return out;
}

std::vector<std::string> ShellVarsFile::Names() const {
  std::vector<std::string> out;
  for (const auto& a : assignments_)
    if (std::find(out.begin(), out.end(), a.name) == out.end()) out.push_back(a.name);
  return out;
}

bool ShellVarsFile::IsAssigned(std::string_view name) const {
  return std::any_of(assignments_.begin(), assignments_.end(),
                     [&](const auto& a) { return a.name == name; });
}

std::expected<ShellVarsFile::State, Error> ShellVarsFile::Evaluate(std::string_view name) const {
  for (const auto& o : opaque_)
    if (MentionsName(o.text, name))
      return std::unexpected(At(o.line, "a command we do not interpret mentions " +
                                            std::string(name) + " ('" + o.text.substr(0, 60) +
                                            "'); expected only plain assignments to it"));
  State s;
  for (const auto& a : assignments_) {
    if (a.name != name) continue;
    if (a.depth > 0)
      return std::unexpected(At(a.line, std::string(name) +
                                            " is assigned inside an if/for/while/case/{ } block, "
                                            "so its value depends on run time; expected a "
                                            "top-level assignment"));
    std::vector<std::string> words;
    if (a.is_array) {
      for (const auto& w : a.elements) {
        if (!w.is_static)
          return std::unexpected(At(
              w.line, std::string(name) + " " + w.why_not_static + "; expected a literal value"));
        words.push_back(w.value);
      }
    } else {
      if (!a.scalar.is_static)
        return std::unexpected(At(a.scalar.line, std::string(name) + " " + a.scalar.why_not_static +
                                                     "; expected a literal value"));
    }
    if (a.is_array) {
      if (!a.append) s.elements.clear();
      for (auto& w : words) s.elements.push_back(std::move(w));
      s.array = true;
    } else {
      // A scalar assignment to an array variable sets element 0.
      if (s.elements.empty()) s.elements.emplace_back();
      if (a.append)
        s.elements[0] += a.scalar.value;
      else
        s.elements[0] = a.scalar.value;
    }
    s.set = true;
  }
  return s;
}

std::expected<std::string, Error> ShellVarsFile::Value(std::string_view name) const {
  auto s = Evaluate(name);
  if (!s) return std::unexpected(s.error());
  std::string value = s->elements.empty() ? std::string() : s->elements[0];
  if (name.starts_with("GRUB_CMDLINE_") && !s->array &&
      std::count(value.begin(), value.end(), '"') % 2 == 1) {
    // grub-mkconfig pastes the value unquoted into grub.cfg's `linux` line, where GRUB's own
    // parser reads double quotes (grub-script-check rejects the file), and the kernel would
    // read everything after it as one word.
    return std::unexpected(
        At(LineOfValueChar(name, value.rfind('"')),
           std::string(name) +
               " has a double quote that is never closed: grub-mkconfig pastes the value into "
               "grub.cfg, whose parser rejects it, and the kernel would read the rest as one "
               "word; expected balanced double quotes (close it or remove it)"));
  }
  if (name == "GRUB_CMDLINE_LINUX" && !s->array) {
    // 10_linux writes "${GRUB_CMDLINE_LINUX} ${GRUB_CMDLINE_LINUX_DEFAULT}": after a "--"
    // here, the default options go to init, not to the kernel.
    Cmdline cmdline(value);
    if (cmdline.End() == Cmdline::EndKind::kDashDash) {
      return std::unexpected(
          At(LineOfValueChar(name, cmdline.EndOffset()),
             "GRUB_CMDLINE_LINUX holds \"--\": grub-mkconfig puts GRUB_CMDLINE_LINUX_DEFAULT after "
             "it, so those options go to init, not to the kernel; expected \"--\" and init's "
             "arguments at the end of GRUB_CMDLINE_LINUX_DEFAULT"));
    }
  }
  return value;
}

int ShellVarsFile::LineOfValueChar(std::string_view name, size_t offset) const {
  // The value of a scalar is its chain's words one after the other.
  for (size_t i : Chain(name)) {
    const ShellWord& w = assignments_[i].scalar;
    if (offset < w.chars.size()) {
      size_t pos = w.chars[offset].begin;
      auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), pos);
      return static_cast<int>(it - line_starts_.begin());
    }
    offset -= w.chars.size();
  }
  auto chain = Chain(name);
  return chain.empty() ? 0 : assignments_[chain.back()].line;
}

std::expected<std::vector<std::string>, Error> ShellVarsFile::Words(std::string_view name) const {
  auto s = Evaluate(name);
  if (!s) return std::unexpected(s.error());
  if (s->array) return s->elements;
  return SplitBlanks(s->elements.empty() ? "" : s->elements[0]);
}

std::expected<bool, Error> ShellVarsFile::IsArray(std::string_view name) const {
  auto s = Evaluate(name);
  if (!s) return std::unexpected(s.error());
  return s->array;
}

std::vector<size_t> ShellVarsFile::Chain(std::string_view name) const {
  std::vector<size_t> chain;
  for (size_t i = 0; i < assignments_.size(); ++i) {
    if (assignments_[i].name != name) continue;
    if (!assignments_[i].append) chain.clear();
    chain.push_back(i);
  }
  return chain;
}

std::expected<ShellVarsFile::Splice, Error> ShellVarsFile::ReplaceDecoded(
    const ShellWord& w, std::string_view value) const {
  if (!w.is_static)
    return std::unexpected(At(w.line, "value " + w.why_not_static + "; refusing to edit it"));
  const std::string& old = w.value;
  bool all_unquoted =
      w.empty_context == 'u' &&
      std::all_of(w.chars.begin(), w.chars.end(), [](const auto& c) { return c.context == 'u'; });
  if (old == value) return Splice{w.begin, w.begin, ""};
  if (all_unquoted) {
    // NAME=value keeps its bare style unless the new value needs quotes.
    return Splice{w.begin, w.end, ShellQuote(value)};
  }
  size_t p = 0;
  while (p < old.size() && p < value.size() && old[p] == value[p]) ++p;
  size_t s = 0;
  while (s < old.size() - p && s < value.size() - p &&
         old[old.size() - 1 - s] == value[value.size() - 1 - s])
    ++s;
  std::string_view middle = value.substr(p, value.size() - p - s);
  size_t raw_begin, raw_end;
  char ctx;
  if (old.empty()) {
    raw_begin = raw_end = w.empty_insert;
    ctx = w.empty_context;
  } else {
    if (p < old.size() - s) {
      raw_begin = w.chars[p].begin;
      raw_end = w.chars[old.size() - s - 1].end;
      ctx = w.chars[p].context;
    } else if (p > 0) {
      // Pure insertion after character p-1: stay inside its quotes.
      raw_begin = raw_end = w.chars[p - 1].end;
      ctx = w.chars[p - 1].context;
    } else {
      raw_begin = raw_end = w.chars[0].begin;
      ctx = w.chars[0].context;
    }
  }
  std::string body;
  if (ctx == 'd')
    body = DoubleQuoteBody(middle);
  else if (ctx == 's')
    body = SingleQuoteBody(middle);
  else
    body = std::all_of(middle.begin(), middle.end(), IsSafeUnquoted)
               ? std::string(middle)
               : "\"" + DoubleQuoteBody(middle) + "\"";
  return Splice{raw_begin, raw_end, body};
}

ShellVarsFile::Splice ShellVarsFile::RemoveElements(const ShellAssignment& a, size_t first,
                                                    size_t last) const {
  ShellWord w;
  w.begin = a.elements[first].begin;
  w.end = a.elements[last].end;
  const std::string& t = text_;
  size_t before = w.begin;
  while (before > a.open_paren + 1 && IsBlank(t[before - 1])) --before;
  size_t after = w.end;
  while (after < a.close_paren && IsBlank(t[after])) ++after;
  bool first_on_line = t[before - 1] == '\n' || before == a.open_paren + 1;
  bool last_on_line = t[after] == '\n' || after == a.close_paren;
  if (t[before - 1] == '\n' && t[after] == '\n')
    return Splice{before, after + 1, ""};  // the element had its own line
  if (first_on_line && !last_on_line) return Splice{w.begin, after, ""};
  return Splice{before, w.end, ""};
}

std::string ShellVarsFile::NewAssignmentText(std::string_view name,
                                             const std::vector<std::string>& words,
                                             ShellNewStyle style) const {
  std::string out(name);
  out += style.append ? "+=" : "=";
  if (style.array) {
    out += "(";
    for (size_t i = 0; i < words.size(); ++i) out += (i ? " " : "") + ShellQuote(words[i]);
    out += ")";
  } else {
    std::string joined;
    for (size_t i = 0; i < words.size(); ++i) joined += (i ? " " : "") + words[i];
    if (style.append) joined = " " + joined + " ";
    out += "\"" + DoubleQuoteBody(joined) + "\"";
  }
  return out;
}

std::expected<bool, Error> ShellVarsFile::Commit(
    std::vector<Splice> splices, std::string_view name,
    const std::function<bool(const ShellVarsFile&)>& check, std::string_view op) {
  // Deletions of neighbouring array elements may share the blank between
  // them: merge overlapping deletions, refuse any other overlap.
  std::sort(splices.begin(), splices.end(),
            [](const Splice& a, const Splice& b) { return a.begin < b.begin; });
  std::vector<Splice> merged;
  for (Splice& s : splices) {
    if (!merged.empty() && s.begin < merged.back().end) {
      if (!s.text.empty() || !merged.back().text.empty())
        return std::unexpected(
            At(0, std::string(op) + " of " + std::string(name) + ": overlapping edits"));
      merged.back().end = std::max(merged.back().end, s.end);
      continue;
    }
    merged.push_back(std::move(s));
  }
  std::string text = text_;
  for (auto it = merged.rbegin(); it != merged.rend(); ++it)
    text.replace(it->begin, it->end - it->begin, it->text);
  if (text == text_) return false;
  auto reparsed = Parse(text, path_);
  if (!reparsed)
    return std::unexpected(At(reparsed.error().line, std::string(op) + " of " + std::string(name) +
                                                         " produced text we cannot parse back (" +
                                                         reparsed.error().message + ")"));
  if (!check(*reparsed))
    return std::unexpected(At(0, std::string(op) + " of " + std::string(name) +
                                     " did not give the expected value when "
                                     "read back; file left unchanged"));
  for (const std::string& other : Names()) {
    if (other == name) continue;
    auto before = Value(other);
    auto after = reparsed->Value(other);
    if (before.has_value() != after.has_value() || (before && *before != *after))
      return std::unexpected(At(0, std::string(op) + " of " + std::string(name) + " would change " +
                                       other + "; file left unchanged"));
  }
  *this = std::move(*reparsed);
  return true;
}

std::expected<bool, Error> ShellVarsFile::SetValue(std::string_view name, std::string_view value) {
  auto current = Evaluate(name);
  if (!current) return std::unexpected(current.error());
  std::string want(value);
  auto check = [&](const ShellVarsFile& f) {
    auto v = f.Value(name);
    return v && *v == want;
  };
  if (current->set && !current->array && current->elements[0] == value) return false;
  std::vector<size_t> chain = Chain(name);
  if (chain.empty()) {
    std::string line = NewAssignmentText(name, {want}, {});
    // Always LF: bash would keep a '\r' in the value.
    std::string nl = "\n";
    std::string prefix = !text_.empty() && text_.back() != '\n' ? nl : "";
    return Commit({{text_.size(), text_.size(), prefix + line + nl}}, name, check, "setting");
  }
  if (chain.size() != 1 || assignments_[chain[0]].append || assignments_[chain[0]].is_array)
    return std::unexpected(At(assignments_[chain.back()].line,
                              std::string(name) +
                                  " is built by several assignments (+=) or is an array; "
                                  "expected one plain NAME=value to replace"));
  auto splice = ReplaceDecoded(assignments_[chain[0]].scalar, value);
  if (!splice) return std::unexpected(splice.error());
  return Commit({*splice}, name, check, "setting");
}

std::expected<bool, Error> ShellVarsFile::AddTokens(std::string_view name,
                                                    const std::vector<std::string>& tokens,
                                                    bool module_names, ShellNewStyle style) {
  auto words = Words(name);
  if (!words) return std::unexpected(words.error());
  auto norm = [&](std::string_view s) { return module_names ? ModuleName(s) : std::string(s); };
  std::vector<std::string> missing;
  for (const std::string& tok : tokens) {
    bool have = false;
    for (const std::string& w : *words) have = have || norm(w) == norm(tok);
    for (const std::string& m : missing) have = have || norm(m) == norm(tok);
    if (!have && !tok.empty()) missing.push_back(tok);
  }
  if (missing.empty()) return false;
  std::vector<std::string> want = *words;
  want.insert(want.end(), missing.begin(), missing.end());
  auto check = [&](const ShellVarsFile& f) {
    auto w = f.Words(name);
    return w && *w == want;
  };
  std::vector<size_t> chain = Chain(name);
  if (chain.empty()) {
    std::string line = NewAssignmentText(name, missing, style);
    // Always LF: bash would keep a '\r' in the value.
    std::string nl = "\n";
    std::string prefix = !text_.empty() && text_.back() != '\n' ? nl : "";
    return Commit({{text_.size(), text_.size(), prefix + line + nl}}, name, check, "adding to");
  }
  const ShellAssignment& last = assignments_[chain.back()];
  if (last.is_array) {
    std::string add;
    for (const std::string& m : missing) add += " " + ShellQuote(m);
    size_t at;
    if (last.elements.empty()) {
      at = last.open_paren + 1;
      add.erase(0, 1);
    } else {
      at = last.elements.back().end;
    }
    return Commit({{at, at, add}}, name, check, "adding to");
  }
  const std::string& old = last.scalar.value;
  size_t core_begin = old.find_first_not_of(" \t\n");
  size_t core_end = old.find_last_not_of(" \t\n");
  std::string joined;
  for (const std::string& m : missing) joined += (joined.empty() ? "" : " ") + m;
  std::string updated;
  if (core_begin == std::string::npos) {
    // Empty or blank value: keep surrounding blanks (dracut's " x " style).
    size_t half = old.size() / 2;
    updated = old.substr(0, half) + joined + old.substr(half);
  } else {
    updated = old.substr(0, core_end + 1) + " " + joined + old.substr(core_end + 1);
  }
  // In a += chain the new token must stay separated from what precedes it.
  auto splice = ReplaceDecoded(last.scalar, updated);
  if (!splice) return std::unexpected(splice.error());
  return Commit({*splice}, name, check, "adding to");
}

std::expected<bool, Error> ShellVarsFile::RemoveTokens(std::string_view name,
                                                       const std::vector<std::string>& tokens,
                                                       bool module_names) {
  auto words = Words(name);
  if (!words) return std::unexpected(words.error());
  auto norm = [&](std::string_view s) { return module_names ? ModuleName(s) : std::string(s); };
  auto drop = [&](std::string_view w) {
    for (const std::string& tok : tokens)
      if (norm(w) == norm(tok)) return true;
    return false;
  };
  std::vector<std::string> want;
  for (const std::string& w : *words)
    if (!drop(w)) want.push_back(w);
  if (want.size() == words->size()) return false;
  auto check = [&](const ShellVarsFile& f) {
    auto w = f.Words(name);
    return w && *w == want;
  };
  std::vector<Splice> splices;
  for (size_t idx : Chain(name)) {
    const ShellAssignment& a = assignments_[idx];
    if (a.is_array) {
      // Remove each run of neighbouring elements as one piece so the blanks
      // around it are handled once.
      for (size_t i = 0; i < a.elements.size();) {
        if (!drop(a.elements[i].value)) {
          ++i;
          continue;
        }
        size_t j = i;
        while (j + 1 < a.elements.size() && drop(a.elements[j + 1].value)) ++j;
        splices.push_back(RemoveElements(a, i, j));
        i = j + 1;
      }
      continue;
    }
    // Scalar: drop each matching blank-separated token with one neighbouring
    // run of blanks, keeping the value's outer blanks.
    const std::string& old = a.scalar.value;
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n'; };
    size_t i = 0;
    while (i < old.size() && blank(old[i])) ++i;
    std::string updated = old.substr(0, i);
    std::vector<std::pair<std::string, std::string>> parts;  // token, gap after
    while (i < old.size()) {
      size_t j = i;
      while (j < old.size() && !blank(old[j])) ++j;
      size_t k = j;
      while (k < old.size() && blank(old[k])) ++k;
      parts.emplace_back(old.substr(i, j - i), old.substr(j, k - j));
      i = k;
    }
    const std::string* gap = nullptr;
    for (const auto& [tok, after] : parts) {
      if (drop(tok)) continue;
      if (gap) updated += *gap;
      updated += tok;
      gap = &after;
    }
    if (!parts.empty()) updated += parts.back().second;
    if (updated == old) continue;
    auto splice = ReplaceDecoded(a.scalar, updated);
    if (!splice) return std::unexpected(splice.error());
    splices.push_back(*splice);
  }
  return Commit(std::move(splices), name, check, "removing from");
}

std::expected<bool, Error> ShellVarsFile::SetWords(std::string_view name,
                                                   const std::vector<std::string>& words,
                                                   ShellNewStyle style) {
  auto have = Words(name);
  if (!have) return std::unexpected(have.error());
  if (*have == words && IsAssigned(name)) return false;
  std::vector<size_t> chain = Chain(name);
  if (chain.empty()) return AddTokens(name, words, false, style);
  const ShellAssignment& last = assignments_[chain.back()];
  auto check = [&](const ShellVarsFile& f) {
    auto w = f.Words(name);
    return w && *w == words;
  };
  if (chain.size() != 1)
    return std::unexpected(At(last.line, std::string(name) +
                                             " is built by several assignments (+=); expected "
                                             "one plain assignment to replace"));
  if (!last.is_array) {
    std::string joined;
    for (const std::string& w : words) joined += (joined.empty() ? "" : " ") + w;
    auto splice = ReplaceDecoded(last.scalar, joined);
    if (!splice) return std::unexpected(splice.error());
    return Commit({*splice}, name, check, "setting");
  }
  // Array: try removing the extra words and appending the missing ones, which
  // keeps the layout; if that does not give the wanted order, rewrite it.
  {
    ShellVarsFile copy = *this;
    std::vector<std::string> extra, missing;
    for (const std::string& w : *have)
      if (std::find(words.begin(), words.end(), w) == words.end()) extra.push_back(w);
    for (const std::string& w : words)
      if (std::find(have->begin(), have->end(), w) == have->end()) missing.push_back(w);
    bool ok = true;
    if (!extra.empty()) ok = copy.RemoveTokens(name, extra).has_value();
    if (ok && !missing.empty()) ok = copy.AddTokens(name, missing).has_value();
    auto got = copy.Words(name);
    if (ok && got && *got == words) {
      *this = std::move(copy);
      return true;
    }
  }
  std::string inner;
  for (const std::string& w : words) inner += (inner.empty() ? "" : " ") + ShellQuote(w);
  return Commit({{last.open_paren + 1, last.close_paren, inner}}, name, check, "setting");
}

}  // namespace vmprep
