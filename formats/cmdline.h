/// Kernel command line tokens: split like the kernel's next_arg() (double
/// quotes group spaces), compare parameters by key, and edit a command line
/// while keeping every untouched byte (spacing included).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vmprep {

// The parameter name of a token with quotes removed. For a dotted key
// ("vfio-pci.ids") dashes and underscores are folded to '_', as the kernel and
// kmod compare module parameters; plain keys ("intel_iommu") stay exact because
// __setup() handlers compare them byte for byte.
std::string CmdlineKey(std::string_view token);
// The value after the first '=' with surrounding double quotes removed; empty
// when the token has no '='.
std::string CmdlineValue(std::string_view token);
bool CmdlineHasValue(std::string_view token);

// A command line as the kernel reads it. The kernel stops reading parameters at a bare "--"
// (parse_args(): every word after it goes to init) and at a double quote that is never closed
// (next_arg() reads the rest as one word). Words from there on are not parameters: lookups
// never find them, edits never change or remove them, and new tokens are put before them.
class Cmdline {
 public:
  explicit Cmdline(std::string_view text);

  // Tokens in order, each exactly as written (quotes kept), all of them.
  std::vector<std::string> Tokens() const;
  // The tokens the kernel reads as parameters: those before End().
  std::vector<std::string> KernelTokens() const;

  enum class EndKind {
    kNone,           // the kernel reads every token
    kDashDash,       // a bare "--": the rest is init's
    kUnclosedQuote,  // a token opens a double quote that is never closed
  };
  EndKind End() const { return end_kind_; }
  // Where in text() the kernel stops reading parameters (text().size() for kNone).
  size_t EndOffset() const;

  // Index of the last parameter whose key matches `key` (the one that wins), or -1.
  int FindLast(std::string_view key) const;
  bool Has(std::string_view key) const { return FindLast(key) >= 0; }
  // Value of the winning token for `key` (empty when absent).
  std::string Get(std::string_view key) const;

  // Makes `token` the only token with its key: replaces the first occurrence in
  // place and drops later ones; appends when absent. Returns true if changed.
  bool Set(std::string_view token);
  // Removes every token with `key`. Returns true if changed.
  bool Remove(std::string_view key);
  // Adds `items` to the comma list of the winning `key` token (no duplicates,
  // no spaces), or appends `key=items` when absent. Returns true if changed.
  bool MergeList(std::string_view key, const std::vector<std::string>& items);

  const std::string& text() const { return text_; }

 private:
  struct Span {
    size_t begin;
    size_t end;
  };
  void Split();
  void ReplaceToken(size_t index, std::string_view replacement);
  void EraseToken(size_t index);
  void Append(std::string_view token);

  std::string text_;
  std::vector<Span> tokens_;
  size_t kernel_end_ = 0;  // tokens_[0, kernel_end_) are parameters
  EndKind end_kind_ = EndKind::kNone;
};

// Splits a comma list, dropping empty items ("a,,b," -> a, b).
std::vector<std::string> SplitCommaList(std::string_view list);

}  // namespace vmprep
