/// Prometheus textfile and monitoring-plugin renderings of a report.
#include "checks/monitoring.h"

#include <fmt/format.h>

#include <map>
#include <vector>

namespace vmprep {
namespace {

constexpr Severity kAll[] = {Severity::kSkip, Severity::kPass, Severity::kNote, Severity::kWarn,
                             Severity::kFail};

// A label value of the exposition format: backslash, double quote and newline escaped.
std::string LabelValue(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Family(std::string* out, std::string_view name, std::string_view help) {
  *out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
}

// Plugin output may not hold '|' (it starts the perfdata) and each finding is one line.
std::string PluginText(std::string_view text) {
  std::string out;
  for (char c : text) out += (c == '|') ? '/' : (c == '\n' || c == '\r') ? ' ' : c;
  return out;
}

std::string IdList(const std::vector<std::string>& ids) {
  constexpr std::size_t kShown = 5;
  std::vector<std::string> shown(ids.begin(), ids.begin() + std::min(ids.size(), kShown));
  std::string list = Join(shown, ", ");
  if (ids.size() > kShown) list += fmt::format(" and {} more", ids.size() - kShown);
  return list;
}

}  // namespace

std::string RenderPrometheus(const Report& report, std::int64_t unix_time) {
  std::string out;
  Family(&out, "vmprep_finding",
         "Severity of one vmcheck finding: 0 skip, 1 pass, 2 note, 3 warn, 4 fail. "
         "accepted=\"1\" marks findings listed in /etc/vmprep/accept.conf or --accept.");
  for (const auto& f : report.findings) {
    out +=
        fmt::format("vmprep_finding{{check=\"{}\",id=\"{}\",severity=\"{}\",accepted=\"{}\"}} {}\n",
                    LabelValue(f.check), LabelValue(f.id), SeverityName(f.severity),
                    report.AcceptanceOf(f) ? 1 : 0, SeverityRank(f.severity));
  }
  Severity worst = WorstUnaccepted(report);
  Family(&out, "vmprep_worst_severity",
         "Worst severity among the findings that are not accepted (as vmprep_finding).");
  out += fmt::format("vmprep_worst_severity{{severity=\"{}\"}} {}\n", SeverityName(worst),
                     SeverityRank(worst));
  std::map<Severity, int> counts;
  for (const auto& f : report.findings) {
    if (!report.AcceptanceOf(f)) ++counts[f.severity];
  }
  Family(&out, "vmprep_findings", "Number of findings of each severity that are not accepted.");
  for (Severity s : kAll) {
    out += fmt::format("vmprep_findings{{severity=\"{}\"}} {}\n", SeverityName(s), counts[s]);
  }
  Family(&out, "vmprep_accepted_findings",
         "Number of findings reported as note, warn or fail that are accepted.");
  out += fmt::format("vmprep_accepted_findings {}\n", report.accepted.size());
  Family(&out, "vmprep_stale_accepts",
         "Number of accepted ids whose finding is no longer reported, or now passes.");
  out += fmt::format("vmprep_stale_accepts {}\n", report.stale.size());
  Family(&out, "vmprep_exit_code",
         "vmcheck's exit status for this report: 0 ok, 1 warnings, 2 failures.");
  out += fmt::format("vmprep_exit_code {}\n", ReportExitCode(report));
  Family(&out, "vmprep_report_timestamp_seconds", "Unix time at which vmcheck made this report.");
  out += fmt::format("vmprep_report_timestamp_seconds {}\n", unix_time);
  Family(&out, "vmprep_info", "vmprep version and the kernel it judged; always 1.");
  out += fmt::format("vmprep_info{{version=\"{}\",kernel=\"{}\",hostname=\"{}\"}} 1\n",
                     LabelValue(VMPREP_VERSION), LabelValue(report.host.kernel),
                     LabelValue(report.host.hostname));
  return out;
}

std::string RenderNagios(const Report& report) {
  std::map<Severity, std::vector<std::string>> ids;
  for (const auto& f : report.findings) {
    if (!report.AcceptanceOf(f)) ids[f.severity].push_back(f.id);
  }
  auto count = [&](Severity s) { return ids[s].size(); };
  const char* state = "OK";
  std::vector<std::string> parts;
  if (count(Severity::kFail) > 0) {
    state = "CRITICAL";
    parts.push_back(
        fmt::format("{} failed ({})", count(Severity::kFail), IdList(ids[Severity::kFail])));
  }
  if (count(Severity::kWarn) > 0) {
    if (count(Severity::kFail) == 0) state = "WARNING";
    parts.push_back(fmt::format("{} warning{} ({})", count(Severity::kWarn),
                                count(Severity::kWarn) == 1 ? "" : "s",
                                IdList(ids[Severity::kWarn])));
  }
  if (parts.empty()) {
    parts.push_back(fmt::format("{} passed, {} notes, {} skipped", count(Severity::kPass),
                                count(Severity::kNote), count(Severity::kSkip)));
  }
  if (!report.accepted.empty()) parts.push_back(fmt::format("{} accepted", report.accepted.size()));
  if (!report.stale.empty()) {
    parts.push_back(fmt::format("{} stale acceptance{}", report.stale.size(),
                                report.stale.size() == 1 ? "" : "s"));
  }
  // Perfdata: label=value;warn;crit;min — a warning above 0 warnings, critical above 0 fails.
  std::string perf = fmt::format(
      "pass={};;;0 note={};;;0 warn={};0;;0 fail={};;0;0 skip={};;;0 accepted={};;;0 stale={};;;0",
      count(Severity::kPass), count(Severity::kNote), count(Severity::kWarn),
      count(Severity::kFail), count(Severity::kSkip), report.accepted.size(), report.stale.size());
  std::string out =
      fmt::format("VMCHECK {}: {} | {}\n", state, PluginText(Join(parts, ", ")), perf);
  // Long output: one line per finding that needs attention (or is accepted), then stale ones.
  for (const auto& f : report.findings) {
    if (f.severity == Severity::kPass || f.severity == Severity::kSkip) continue;
    const Acceptance* a = report.AcceptanceOf(f);
    out += PluginText(fmt::format("{} {}: {}{}", SeverityName(f.severity), f.id, f.summary,
                                  a ? fmt::format(" (accepted: {})", a->reason) : ""));
    out += "\n";
  }
  for (const auto& s : report.stale) {
    out += PluginText(
        fmt::format("stale acceptance {} ({}): {}", s.acceptance.id, s.acceptance.source, s.why));
    out += "\n";
  }
  return out;
}

std::string NagiosUnknown(const std::string& message) {
  return fmt::format("VMCHECK UNKNOWN: {}\n", PluginText(message));
}

}  // namespace vmprep
