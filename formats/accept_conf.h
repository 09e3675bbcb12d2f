/// /etc/vmprep/accept.conf: the findings an administrator has looked at and accepts, each
/// with the reason. One entry a line, `ID REASON...`; a line whose first non-blank character
/// is '#' is a comment; blank lines are ignored. The id is a finding id as vmcheck prints it
/// ("qemu.ovmf", "isolation.0000:01:00.0"); the reason is the rest of the line, kept as
/// written ('#' inside it is part of it). Lossless: Serialize() gives back the bytes parsed.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace vmprep {

inline constexpr std::string_view kAcceptConfPath = "/etc/vmprep/accept.conf";

struct AcceptEntry {
  int line = 0;        // 1-based
  std::string id;      // "qemu.ovmf"
  std::string reason;  // "NIC-only host: no UEFI guests"
};

// True for "<check>.<name>": check of [a-z0-9_], name of [A-Za-z0-9_.:-], both non-empty.
bool IsFindingId(std::string_view id);

class AcceptConf {
 public:
  // Fails on the first bad line with path:line and what was expected there: an id that is
  // not a finding id, an id without a reason, an id accepted twice.
  static std::expected<AcceptConf, Error> Parse(std::string_view text, std::string_view path);
  const std::string& Serialize() const { return text_; }
  const std::vector<AcceptEntry>& entries() const { return entries_; }
  const std::string& path() const { return path_; }

 private:
  std::string text_;
  std::string path_;
  std::vector<AcceptEntry> entries_;
};

}  // namespace vmprep
