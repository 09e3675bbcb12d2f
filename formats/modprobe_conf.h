/// modprobe.d files (`options`, `softdep`, `blacklist`, `install`, `remove`,
/// `alias`), read the way kmod reads them: backslash-newline joins lines, a
/// line is a comment only when it starts with '#', module names fold '-' to
/// '_'. Edits (vfio-pci `ids=`, softdep pre:) touch only the tokens they
/// change.
#pragma once

#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/text.h"

namespace vmprep {

// One command as kmod stores it.
struct ModprobeRecord {
  int line = 0;         // first physical line, 1-based
  std::string command;  // options, softdep, blacklist, install, remove, alias
  std::string module;   // underscored module (alias: the alias pattern, as is)
  std::string target;   // alias: the underscored module it names
  std::string rest;     // options/install/remove/softdep text as kmod keeps it
};

struct ModprobeSoftdep {
  int line = 0;
  std::vector<std::string> pre, post;  // as written (kmod does not fold them)
};

class ModprobeConf {
 public:
  static std::expected<ModprobeConf, Error> Parse(std::string_view text, std::string_view path);
  const std::string& Serialize() const { return text_; }

  // Valid commands in file order. Lines kmod would reject (unknown command,
  // missing arguments) are kept in the text but not listed here; see
  // ignored_lines().
  const std::vector<ModprobeRecord>& records() const { return records_; }
  const std::vector<int>& ignored_lines() const { return ignored_lines_; }

  // The `options` texts for `module` in order (kmod passes them joined by
  // spaces).
  std::vector<std::string> OptionTexts(std::string_view module) const;
  // The value the module would see for `param` (last one wins), if set.
  // Parameter names compare with '-' == '_' as the kernel does.
  std::optional<std::string> Param(std::string_view module, std::string_view param) const;
  // The softdep kmod uses for `module` (the first line naming it), if any.
  std::optional<ModprobeSoftdep> Softdep(std::string_view module) const;
  bool IsBlacklisted(std::string_view module) const;
  std::optional<std::string> InstallCommand(std::string_view module) const;

  // Edits: true when the text changed, false when it already said so.
  // Sets `param=value` for `module`: replaces the winning token, else appends
  // to the module's last options line, else adds "options <module> p=v".
  std::expected<bool, Error> SetParam(std::string_view module, std::string_view param,
                                      std::string_view value);
  // Adds `items` to the comma list of `param` (vfio-pci ids=): in the winning
  // token, without duplicates; as SetParam when the parameter is not set.
  std::expected<bool, Error> MergeListParam(std::string_view module, std::string_view param,
                                            const std::vector<std::string>& items);
  // Makes `dep` a pre: dependency of `module` in the softdep kmod uses.
  std::expected<bool, Error> AddSoftdepPre(std::string_view module, std::string_view dep);

 private:
  struct Token {
    size_t begin, end;  // raw bytes
    std::string text;   // after kmod's backslash handling
  };
  struct Line {
    size_t begin, end;  // raw bytes, without the terminating newline
    int line;
    std::vector<Token> tokens;
    int record = -1;  // index into records_, or -1
  };
  struct Splice {
    size_t begin, end;
    std::string text;
  };
  struct ParamHit {
    size_t line_index, token_index;
  };

  std::expected<void, Error> ParseAll();
  std::optional<ParamHit> FindParam(std::string_view module, std::string_view param) const;
  std::optional<size_t> LastOptionsLine(std::string_view module) const;
  // Applies the splice, re-parses, and keeps the result only if `check`
  // accepts it and no record of another module changed.
  std::expected<bool, Error> Commit(const Splice& splice, std::string_view module,
                                    std::string_view what,
                                    const std::function<bool(const ModprobeConf&)>& check);
  std::string AppendLineSplicePrefix() const;
  bool HasCr(const Line& ln) const;
  Error At(int line, std::string message) const {
    return Error{path_, line, std::move(message), 0};
  }

  std::string text_;
  std::string path_;
  std::vector<Line> lines_;
  std::vector<ModprobeRecord> records_;
  std::vector<int> ignored_lines_;
};

}  // namespace vmprep
