/// Shell variable-assignment files as bash sources them: /etc/default/grub and
/// grub.d/*.cfg, mkinitcpio.conf(.d), dracut.conf(.d). Lossless: Serialize()
/// returns the parsed bytes until an edit, and an edit rewrites only the bytes
/// of the value it changes, in the quoting style already used there. Values
/// built from expansions ($VAR, $(...), backticks, globs in arrays) are refused
/// per variable, so an unknowable GRUB_DISTRIBUTOR does not block
/// GRUB_CMDLINE_*.
#pragma once

#include <expected>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace vmprep {

// One shell word (a scalar value or an array element) with the map from each
// decoded character back to the bytes that produced it.
struct ShellWord {
  size_t begin = 0;  // raw byte range in the file
  size_t end = 0;
  bool is_static = true;  // false: depends on an expansion
  std::string why_not_static;
  int line = 0;
  std::string value;  // decoded, meaningful when is_static
  struct Char {
    size_t begin, end;  // raw bytes of this character (escape included)
    char context;       // 'u' unquoted, 'd' double quotes, 's' single quotes
  };
  std::vector<Char> chars;
  // Where to insert when the value is empty, and in which quoting context.
  size_t empty_insert = 0;
  char empty_context = 'u';
};

struct ShellAssignment {
  std::string name;
  bool append = false;    // NAME+=
  bool is_array = false;  // NAME=( ... )
  bool exported = false;
  int line = 0;
  int depth = 0;  // > 0: inside if/for/while/case/{ }, so only maybe executed
  ShellWord scalar;
  std::vector<ShellWord> elements;
  size_t open_paren = 0, close_paren = 0;  // for arrays
};

// A command we do not interpret (a for loop, a function, `[ -f x ] && X=1`).
struct ShellOpaque {
  size_t begin = 0, end = 0;
  int line = 0;
  std::string text;
};

// How a new assignment is written when the variable is not assigned yet.
struct ShellNewStyle {
  bool array = false;   // NAME=(a b) instead of NAME="a b"
  bool append = false;  // NAME+=" a b " (dracut.conf.d convention)
};

class ShellVarsFile {
 public:
  static std::expected<ShellVarsFile, Error> Parse(std::string_view text, std::string_view path);

  const std::string& Serialize() const { return text_; }
  const std::string& path() const { return path_; }
  const std::vector<ShellAssignment>& assignments() const { return assignments_; }
  const std::vector<ShellOpaque>& opaque() const { return opaque_; }

  // Lines of uninterpreted commands that run other shell code (`source`, `.`,
  // `eval`): what they assign is not seen here. Garuda's /etc/default/grub
  // sources grub.d/*.cfg this way; callers read those files themselves.
  std::vector<int> SourcingLines() const;

  // Names assigned at least once (in first-assignment order).
  std::vector<std::string> Names() const;
  bool IsAssigned(std::string_view name) const;
  // The value "$NAME" has after bash sources the file alone (element 0 for
  // arrays), or an Error naming the line that makes it unknowable. GRUB's
  // GRUB_CMDLINE_* values are also refused when a double quote in them is
  // never closed (grub.cfg could not be generated from them), naming the
  // line where that quote opens, and GRUB_CMDLINE_LINUX when it holds a bare
  // "--" (GRUB_CMDLINE_LINUX_DEFAULT, written after it, would go to init).
  std::expected<std::string, Error> Value(std::string_view name) const;
  // Array elements, or the scalar value split on blanks (how mkinitcpio and
  // dracut use their string-style variables).
  std::expected<std::vector<std::string>, Error> Words(std::string_view name) const;
  std::expected<bool, Error> IsArray(std::string_view name) const;

  // Edits return true when the text changed, false when already as asked.
  // Every edit re-parses its result and checks that the variable now holds what
  // was asked and that no other variable changed; otherwise nothing is changed.

  // Sets a scalar value (e.g. GRUB_CMDLINE_LINUX_DEFAULT after a Cmdline edit).
  std::expected<bool, Error> SetValue(std::string_view name, std::string_view value);
  // Makes Words(name) equal `words`.
  std::expected<bool, Error> SetWords(std::string_view name, const std::vector<std::string>& words,
                                      ShellNewStyle style = {});
  // Adds the tokens that Words(name) lacks, at the end. With `module_names`,
  // '-' and '_' are equivalent when comparing (vfio-pci == vfio_pci).
  std::expected<bool, Error> AddTokens(std::string_view name,
                                       const std::vector<std::string>& tokens,
                                       bool module_names = false, ShellNewStyle style = {});
  std::expected<bool, Error> RemoveTokens(std::string_view name,
                                          const std::vector<std::string>& tokens,
                                          bool module_names = false);

 private:
  struct Splice {
    size_t begin, end;
    std::string text;
  };
  struct State {
    bool set = false;
    bool array = false;
    std::vector<std::string> elements;
  };

  std::expected<void, Error> ParseAll();
  std::expected<State, Error> Evaluate(std::string_view name) const;
  // Indexes of the assignments that make up the current value: the last plain
  // assignment and the += after it.
  std::vector<size_t> Chain(std::string_view name) const;
  std::expected<Splice, Error> ReplaceDecoded(const ShellWord& word, std::string_view value) const;
  // Removes elements first..last of an array with the blanks around them.
  Splice RemoveElements(const ShellAssignment& a, size_t first, size_t last) const;
  std::string NewAssignmentText(std::string_view name, const std::vector<std::string>& words,
                                ShellNewStyle style) const;
  // Applies splices (non-overlapping), re-parses, and keeps the result only if
  // `check` accepts it and every other variable kept its value.
  std::expected<bool, Error> Commit(std::vector<Splice> splices, std::string_view name,
                                    const std::function<bool(const ShellVarsFile&)>& check,
                                    std::string_view op);
  Error At(int line, std::string message) const;
  // The line of the byte that gave character `offset` of a scalar's value.
  int LineOfValueChar(std::string_view name, size_t offset) const;

  std::string text_;
  std::string path_;
  std::vector<size_t> line_starts_;
  std::vector<ShellAssignment> assignments_;
  std::vector<ShellOpaque> opaque_;
};

// Quotes a word for bash so that it reads back as `word`: unchanged when it has
// only safe characters, else in double quotes with \ " $ ` escaped.
std::string ShellQuote(std::string_view word);

}  // namespace vmprep
