// Accepted findings: ids an administrator has judged and accepts (/etc/vmprep/accept.conf of
// the config root, and vmcheck --accept). An accepted finding still prints, marked, with the
// reason, but does not count toward the exit code; an accepted id that its check no longer
// reports (or reports as pass or skip) is stale and is reported as such.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/host.h"

namespace vmprep {

struct Acceptance {
  std::string id;      // "qemu.ovmf"
  std::string reason;  // why it is accepted
  std::string source;  // "/etc/vmprep/accept.conf:3" or "--accept"
};

struct StaleAcceptance {
  Acceptance acceptance;
  std::string why;  // "no longer reported", "now pass", "now skip"
};

// The entries of /etc/vmprep/accept.conf in the config root; none when the file is missing.
// A line that does not parse is an error naming file:line and what was expected.
std::expected<std::vector<Acceptance>, Error> ReadAcceptConf(const Host& host);

// One --accept argument: "ID" or "ID=REASON".
std::expected<Acceptance, Error> ParseAcceptArgument(std::string_view argument);

struct Report;
// Marks the findings of `report` that `acceptances` name (later entries win for the same id)
// and records the stale ones. Acceptances of checks that did not run (--only, --guest) are
// neither.
void ApplyAcceptances(const std::vector<Acceptance>& acceptances, Report* report);

}  // namespace vmprep
