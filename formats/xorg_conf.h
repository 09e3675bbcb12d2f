/// xorg.conf and xorg.conf.d/*.conf: Section/SubSection blocks of keyword lines
/// (`Identifier`, `Option "Name" "value"`, `BusID "PCI:b:d:f"`). Keeps every
/// byte; edits (an Option in ServerLayout/ServerFlags, a Device's BusID) change
/// or insert one line. Keywords and option names compare as Xorg does: case,
/// '_' and blanks ignored. A file Xorg would reject is refused.
#pragma once

#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace vmprep {

// Xorg's BusID is decimal ("PCI:bus@domain:dev:fn"); lspci prints hex. Takes
// the numbers lspci shows (already converted from hex) and writes Xorg's form;
// the domain part appears only when it is not 0.
std::string BusIdFromPci(unsigned bus, unsigned dev, unsigned fn, unsigned domain = 0);
struct PciBusId {
  unsigned domain = 0, bus = 0, dev = 0, fn = 0;
  bool operator==(const PciBusId&) const = default;
};
// Parses "PCI:1:0:0" and "PCI:1@0:0:0" (decimal; the "PCI:" prefix optional, as
// Xorg allows). Hex digits or a '.' ("PCI:01:00.0", lspci style) are refused
// with a message saying what was expected.
std::expected<PciBusId, std::string> ParseBusId(std::string_view text);

// Xorg's xf86nameCompare: equal ignoring case, '_' and blanks.
bool XorgNameEqual(std::string_view a, std::string_view b);

struct XorgEntry {
  int line = 0;
  std::string keyword;            // as written
  std::vector<std::string> args;  // strings without quotes, numbers as written
};

struct XorgSection {
  std::string name;  // "Device", "ServerLayout", ...
  int line = 0;
  std::vector<XorgEntry> entries;  // direct entries, not those of SubSections
  std::optional<std::string> Identifier() const;
  // The value of the last `Option "name" ...` entry (empty when it has none).
  std::optional<std::string> Option(std::string_view name) const;
  std::optional<std::string> First(std::string_view keyword) const;
};

class XorgConf {
 public:
  static std::expected<XorgConf, Error> Parse(std::string_view text, std::string_view path);
  const std::string& Serialize() const { return text_; }
  const std::vector<XorgSection>& sections() const { return sections_; }

  // Sets `Option "option" "value"` in the first section named `section` (Xorg
  // uses the first ServerLayout). When there is no such section: creates it if
  // `create` (harmless for ServerFlags), else refuses.
  std::expected<bool, Error> SetOption(std::string_view section, std::string_view option,
                                       std::string_view value, bool create);
  // Sets BusID in the Device section whose Identifier is `identifier`.
  std::expected<bool, Error> SetBusId(std::string_view identifier, std::string_view bus_id);

 private:
  struct Token {
    size_t begin, end;  // raw bytes, quotes included
    std::string text;   // without quotes
    bool quoted;
  };
  struct Line {
    size_t begin, end;  // raw bytes without the newline
    int line;
    std::vector<Token> tokens;
    int section = -1;  // index of the enclosing section, -1 at top level
    int depth = 0;     // 1 in a Section, 2 in a SubSection
  };
  struct Splice {
    size_t begin, end;
    std::string text;
  };

  std::expected<void, Error> ParseAll();
  // The tokens of the line that starts at `*i`, which moves past its newline.
  std::expected<Line, Error> LexLine(size_t* i, int number) const;
  // The line's place in the Section/SubSection nesting (`*section`, `*depth`); a Section's
  // entries are recorded.
  std::expected<void, Error> ParseStructure(Line* ln, size_t index, int* section, int* depth);
  std::expected<bool, Error> Commit(const Splice& splice, size_t changed_section,
                                    std::string_view what,
                                    const std::function<bool(const XorgConf&)>& check);
  std::string IndentFor(size_t section_index) const;
  std::string Newline() const;
  Error At(int line, std::string message) const {
    return Error{path_, line, std::move(message), 0};
  }

  std::string text_;
  std::string path_;
  std::vector<Line> lines_;
  std::vector<XorgSection> sections_;
  std::vector<size_t> section_open_, section_close_;  // line indexes
};

}  // namespace vmprep
