// Report formats for monitoring systems: Prometheus (node_exporter's textfile collector) and
// the one-line summary of a Nagios/Icinga monitoring plugin. Pure functions of a Report.
#pragma once

#include <cstdint>
#include <string>

#include "checks/report.h"

namespace vmprep {

// Prometheus text exposition format 0.0.4 as node_exporter's textfile collector reads it
// (no sample timestamps: the collector refuses them; the time is a gauge of its own):
//   vmprep_finding{check,id,severity,accepted} = severity rank (0 skip, 1 pass, 2 note,
//     3 warn, 4 fail), one series per finding
//   vmprep_worst_severity{severity} = rank of the worst finding that is not accepted
//   vmprep_findings{severity} = count of findings that are not accepted
//   vmprep_accepted_findings, vmprep_stale_accepts, vmprep_exit_code,
//   vmprep_report_timestamp_seconds = `unix_time`, vmprep_info{version,kernel,hostname} = 1
std::string RenderPrometheus(const Report& report, std::int64_t unix_time);

// The monitoring-plugin output: "VMCHECK OK|WARNING|CRITICAL: text | perfdata" on the first
// line, then one line per finding that is not pass or skip. Its exit status is ReportExitCode.
std::string RenderNagios(const Report& report);

// The line a plugin prints when it cannot run (exit 3): "VMCHECK UNKNOWN: message".
std::string NagiosUnknown(const std::string& message);

}  // namespace vmprep
