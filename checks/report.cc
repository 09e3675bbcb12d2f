/// Rendering of findings (text, JSON) and the host facts printed with them.
#include "checks/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "checks/probes/vm.h"
#include "core/text.h"
#include "system/facts.h"
#include "system/pci_scan.h"
#include "system/system_info.h"

namespace vmprep {
namespace {

std::string ReadTrimmed(const Host& host, Root root, std::string_view path) {
  auto text = host.Read(root, path, 1 << 16);
  return text ? std::string(Trim(*text)) : std::string();
}

std::string OsReleaseName(const Host& host) {
  for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
    auto text = host.Read(Root::kConfig, path, 1 << 16);
    if (!text) continue;
    for (auto line : SplitLines(*text)) {
      if (!line.starts_with("PRETTY_NAME=")) continue;
      auto value = Trim(line.substr(12));
      if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
          value.back() == value.front()) {
        value = value.substr(1, value.size() - 2);
      }
      return std::string(value);
    }
  }
  return "";
}

const char* Color(Severity s) {
  switch (s) {
    case Severity::kPass:
      return "\033[32m";
    case Severity::kNote:
      return "\033[36m";
    case Severity::kWarn:
      return "\033[33m";
    case Severity::kFail:
      return "\033[1;31m";
    case Severity::kSkip:
      return "\033[2m";
  }
  return "";
}

}  // namespace

HostInfo CollectHostInfo(const SystemFacts& facts) {
  const Host& host = facts.host();
  HostInfo info;
  info.hostname = ReadTrimmed(host, Root::kRuntime, "/proc/sys/kernel/hostname");
  info.kernel = ReadTrimmed(host, Root::kRuntime, "/proc/sys/kernel/osrelease");
  info.os = OsReleaseName(host);
  if (const auto& cpu = facts.Cpu()) {
    info.cpu_vendor = cpu->vendor;
    info.cpu_model = cpu->model_name;
  }
  info.runtime_root = host.root_path(Root::kRuntime);
  info.config_root = host.root_path(Root::kConfig);
  info.live = host.live_runtime();
  return info;
}

std::vector<DeviceSummary> CollectDevices(const SystemFacts& facts) {
  std::vector<DeviceSummary> devices;
  const auto& scan = facts.Pci();
  if (!scan) return devices;
  for (const auto& [addr, d] : scan->extra) {
    const PciDevice& p = d.device;
    devices.push_back({addr.ToString(), fmt::format("{:04x}", p.vendor_id.value_or(0)),
                       fmt::format("{:04x}", p.device_id.value_or(0)),
                       fmt::format("{:06x}", p.class_code.value_or(0)), p.driver, p.iommu_group});
  }
  return devices;
}

std::vector<VmSummary> CollectVms(const std::vector<DomainInput>& domains) {
  std::vector<VmSummary> vms;
  for (const auto& d : domains) {
    if (d.domain)
      vms.push_back({d.domain->name, KeyOf(d), d.domain->path});
    else
      vms.push_back({d.name, KeyOf(d), d.domain.error().path});
  }
  return vms;
}

bool IsVmFinding(std::string_view id, std::string_view key) {
  if (!id.starts_with("vm.")) return false;
  std::size_t dot = id.find('.', 3);
  if (dot == std::string_view::npos) return false;
  std::string_view rest = id.substr(dot + 1);
  if (!rest.starts_with(key)) return false;
  rest.remove_prefix(key.size());
  // Only vm.hostdev.VM.ITEM has more after the VM part.
  if (rest.empty()) return true;
  if (!id.starts_with("vm.hostdev.") || !rest.starts_with('.')) return false;
  rest.remove_prefix(1);
  return rest == "invalid" || rest == "scan" || PciAddress::Parse(rest).has_value();
}

namespace {
int ExitCodeForSeverity(Severity worst) {
  switch (worst) {
    case Severity::kFail:
      return 2;
    case Severity::kWarn:
      return 1;
    default:
      return 0;
  }
}
}  // namespace

int ExitCodeFor(const std::vector<Finding>& findings) {
  return ExitCodeForSeverity(WorstSeverity(findings));
}

Severity WorstUnaccepted(const Report& report) {
  Severity worst = Severity::kSkip;
  for (const auto& f : report.findings) {
    if (report.AcceptanceOf(f) != nullptr) continue;
    if (SeverityRank(f.severity) > SeverityRank(worst)) worst = f.severity;
  }
  return worst;
}

int ReportExitCode(const Report& report) { return ExitCodeForSeverity(WorstUnaccepted(report)); }

std::string RenderText(const Report& report, const TextOptions& options) {
  const HostInfo& h = report.host;
  std::string out;
  auto paint = [&](Severity s, std::string_view text) {
    return options.color ? fmt::format("{}{}\033[0m", Color(s), text) : std::string(text);
  };
  out += fmt::format("vmcheck {} on {}{}\n", VMPREP_VERSION,
                     h.hostname.empty() ? "(unknown host)" : h.hostname,
                     h.live ? "" : " (captured tree)");
  out +=
      fmt::format("  kernel {}{}{}\n", h.kernel.empty() ? "unknown" : h.kernel,
                  h.os.empty() ? "" : ", " + h.os, h.cpu_model.empty() ? "" : ", " + h.cpu_model);
  if (h.runtime_root != "/" || h.config_root != "/") {
    out += fmt::format("  runtime root {}, config root {}\n", h.runtime_root, h.config_root);
  }
  std::map<Severity, int> counts;
  std::string current_check;
  for (const auto& f : report.findings) {
    ++counts[f.severity];
    if (options.quiet && (f.severity == Severity::kPass || f.severity == Severity::kSkip)) continue;
    if (f.check != current_check) {
      current_check = f.check;
      out += fmt::format("\n[{}]\n", f.check);
    }
    std::string label = std::string(SeverityName(f.severity));
    std::transform(label.begin(), label.end(), label.begin(), [](char c) { return c - 32; });
    const Acceptance* accepted = report.AcceptanceOf(f);
    out += fmt::format("  {}  {}  ({}{})\n", paint(f.severity, label), f.summary, f.id,
                       accepted ? ", accepted" : "");
    for (const auto& e : f.evidence) out += fmt::format("        seen: {}: {}\n", e.path, e.value);
    // Hints can be long; a report is read in a terminal.
    if (!f.hint.empty()) out += Wrap(f.hint, 100, "        fix:  ", "              ");
    if (!f.fixer.empty()) {
      out += fmt::format("        vmsetup can do this: vmsetup plan {}  (fixer {})\n",
                         Join(f.vmsetup_args, " "), f.fixer);
    }
    if (accepted) {
      out += fmt::format("        accepted: {} ({}); not counted in the exit status\n",
                         accepted->reason, accepted->source);
    }
  }
  out += fmt::format("\n{} pass, {} note, {} warn, {} fail, {} skipped", counts[Severity::kPass],
                     counts[Severity::kNote], counts[Severity::kWarn], counts[Severity::kFail],
                     counts[Severity::kSkip]);
  if (!report.accepted.empty()) out += fmt::format("; {} accepted", report.accepted.size());
  out += "\n";
  if (!report.stale.empty()) {
    out += "Stale acceptances (nothing left to accept; remove them):\n";
    for (const auto& s : report.stale) {
      out += fmt::format("  {} ({}): {}\n", s.acceptance.id, s.acceptance.source, s.why);
    }
  }
  return out;
}

namespace {

using Json = nlohmann::ordered_json;

Json HostJson(const HostInfo& h) {
  return Json{{"hostname", h.hostname},
              {"kernel", h.kernel},
              {"os", h.os},
              {"cpu_vendor", h.cpu_vendor},
              {"cpu_model", h.cpu_model},
              {"runtime_root", h.runtime_root},
              {"config_root", h.config_root},
              {"live", h.live},
              {"vmprep_version", VMPREP_VERSION}};
}

Json FindingsJson(const Report& report) {
  Json findings = Json::array();
  for (const auto& f : report.findings) {
    Json evidence = Json::array();
    for (const auto& e : f.evidence) evidence.push_back(Json{{"path", e.path}, {"value", e.value}});
    findings.push_back(Json{{"id", f.id},
                            {"check", f.check},
                            {"severity", SeverityName(f.severity)},
                            {"summary", f.summary},
                            {"hint", f.hint},
                            {"evidence", std::move(evidence)},
                            {"fixer", f.fixer.empty() ? Json(nullptr) : Json(f.fixer)},
                            {"vmsetup_args", f.vmsetup_args},
                            {"pending", f.pending}});
    const Acceptance* a = report.AcceptanceOf(f);
    findings.back()["accepted"] =
        a ? Json{{"reason", a->reason}, {"source", a->source}} : Json(nullptr);
  }
  return findings;
}

Json StaleJson(const Report& report) {
  Json stale = Json::array();
  for (const auto& s : report.stale) {
    stale.push_back(Json{{"id", s.acceptance.id},
                         {"reason", s.acceptance.reason},
                         {"source", s.acceptance.source},
                         {"why", s.why}});
  }
  return stale;
}

// Counts of the findings that are not accepted, as the exit code judges them.
Json SummaryJson(const Report& report) {
  std::map<Severity, int> by_severity;
  for (const auto& f : report.findings) {
    if (!report.AcceptanceOf(f)) ++by_severity[f.severity];
  }
  Json counts = Json::object();
  for (Severity sev :
       {Severity::kPass, Severity::kNote, Severity::kWarn, Severity::kFail, Severity::kSkip}) {
    counts[std::string(SeverityName(sev))] = by_severity[sev];
  }
  counts["accepted"] = report.accepted.size();
  return Json{{"worst", SeverityName(WorstUnaccepted(report))},
              {"exit_code", ReportExitCode(report)},
              {"counts", std::move(counts)}};
}

Json DevicesJson(const Report& report) {
  Json devices = Json::array();
  for (const auto& d : report.devices) {
    devices.push_back(
        Json{{"address", d.address},
             {"vendor_id", d.vendor_id},
             {"device_id", d.device_id},
             {"class", d.class_code},
             {"driver", d.driver.empty() ? Json(nullptr) : Json(d.driver)},
             {"iommu_group", d.iommu_group < 0 ? Json(nullptr) : Json(d.iommu_group)}});
  }
  return devices;
}

Json VmsJson(const Report& report) {
  Json vms = Json::array();
  for (const auto& vm : report.vms) {
    Severity worst = Severity::kSkip;
    Json ids = Json::array();
    for (const auto& f : report.findings) {
      if (!IsVmFinding(f.id, vm.key)) continue;
      ids.push_back(f.id);
      if (!report.AcceptanceOf(f) && SeverityRank(f.severity) > SeverityRank(worst))
        worst = f.severity;
    }
    vms.push_back(Json{{"name", vm.name},
                       {"key", vm.key},
                       {"path", vm.path},
                       {"worst", SeverityName(worst)},
                       {"findings", std::move(ids)}});
  }
  return vms;
}

}  // namespace

std::string RenderJson(const Report& report) {
  Json doc;
  doc["schema"] = kReportSchema;
  doc["host"] = HostJson(report.host);
  doc["findings"] = FindingsJson(report);
  doc["stale_accepts"] = StaleJson(report);
  doc["summary"] = SummaryJson(report);
  doc["devices"] = DevicesJson(report);
  doc["vms"] = VmsJson(report);
  // Replace invalid UTF-8 from the machine's files instead of failing.
  return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace vmprep
