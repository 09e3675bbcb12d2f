/// Accepted findings: reading accept.conf through the Host seam, --accept arguments, and
/// marking a report's findings.
#include "checks/accept.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "checks/report.h"
#include "formats/accept_conf.h"

namespace vmprep {

std::expected<std::vector<Acceptance>, Error> ReadAcceptConf(const Host& host) {
  std::vector<Acceptance> out;
  auto text = host.Read(Root::kConfig, kAcceptConfPath, 1 << 20);
  if (!text) {
    if (text.error().errno_value == ENOENT) return out;
    return std::unexpected(text.error());
  }
  auto conf = AcceptConf::Parse(*text, kAcceptConfPath);
  if (!conf) return std::unexpected(conf.error());
  for (const auto& e : conf->entries()) {
    out.push_back({e.id, e.reason, fmt::format("{}:{}", kAcceptConfPath, e.line)});
  }
  return out;
}

std::expected<Acceptance, Error> ParseAcceptArgument(std::string_view argument) {
  auto eq = argument.find('=');
  std::string_view id = Trim(argument.substr(0, eq));
  std::string_view reason =
      eq == std::string_view::npos ? std::string_view() : Trim(argument.substr(eq + 1));
  if (!IsFindingId(id)) {
    return std::unexpected(Error{
        "", 0,
        fmt::format("--accept {}: expected a finding id as vmcheck prints it, optionally with a "
                    "reason: --accept qemu.ovmf or --accept 'qemu.ovmf=no UEFI guests'",
                    argument),
        0});
  }
  if (eq != std::string_view::npos && reason.empty()) {
    return std::unexpected(
        Error{"", 0, fmt::format("--accept {}: expected a reason after '='", argument), 0});
  }
  return Acceptance{std::string(id),
                    reason.empty() ? "accepted on the command line" : std::string(reason),
                    "--accept"};
}

void ApplyAcceptances(const std::vector<Acceptance>& acceptances, Report* report) {
  report->accepted.clear();
  report->stale.clear();
  // The last entry for an id wins: --accept after the file.
  std::vector<const Acceptance*> effective;
  for (const auto& a : acceptances) {
    auto same = std::find_if(effective.begin(), effective.end(),
                             [&](const Acceptance* e) { return e->id == a.id; });
    if (same != effective.end()) {
      *same = &a;
    } else {
      effective.push_back(&a);
    }
  }
  for (const Acceptance* a : effective) {
    std::string check = a->id.substr(0, a->id.find('.'));
    if (std::find(report->checks.begin(), report->checks.end(), check) == report->checks.end()) {
      continue;  // not run this time: nothing to say about it
    }
    auto f = std::find_if(report->findings.begin(), report->findings.end(),
                          [&](const Finding& x) { return x.id == a->id; });
    if (f == report->findings.end()) {
      report->stale.push_back({*a, "no longer reported"});
    } else if (f->severity == Severity::kPass || f->severity == Severity::kSkip) {
      report->stale.push_back({*a, fmt::format("now {}", SeverityName(f->severity))});
    } else {
      report->accepted[a->id] = *a;
    }
  }
}

}  // namespace vmprep
