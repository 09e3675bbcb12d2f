/// Gathering what the wizard shows (see facts.h).
#include "wizard/facts.h"

#include <algorithm>
#include <set>

#include "checks/probe.h"
#include "system/hugepages.h"
#include "system/mounts.h"

namespace vmprep::wizard {
namespace {

std::vector<Finding> RunAll(const Host& host, ProbeContext& context, const ScanProgress& progress,
                            int* step, int total) {
  std::vector<Finding> out;
  for (const auto& probe : MakeAllProbes()) {
    const std::string name(probe->Name());
    if (progress) progress("Checking " + name, (*step)++, total);
    auto found = RunProbes(host, context, {name});
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

// Every finding's own request (the vmsetup arguments that mend it), merged by the parser.
Request Defaults(const std::vector<Finding>& findings) {
  std::vector<std::string> args;
  for (const auto& f : findings) {
    if (f.fixer.empty() || SeverityRank(f.severity) < SeverityRank(Severity::kWarn)) continue;
    args.insert(args.end(), f.vmsetup_args.begin(), f.vmsetup_args.end());
  }
  auto request = ParseRequestArgs(args);
  return request ? *request : Request{};
}

DeviceRow Judge(const Facts& facts, const PciDevice& device) {
  const Topology& topology = facts.scan->topology;
  DeviceRow row;
  row.device = device;
  IsolationVerdict verdict = JudgeIsolation(topology, device.address, facts.needs.needs);
  row.isolation = std::string(IsolationName(verdict.isolation));
  row.verdict = verdict.Summary();
  if (device.iommu_group >= 0) {
    for (const PciDevice* member : topology.GroupMembers(device.iommu_group)) {
      if (member->address != device.address)
        row.group.push_back(member->address.ShortString() + " " + member->class_name);
    }
  }
  if (const HostNeed* need = facts.needs.needs.Find(device.address)) {
    row.host_need = need->reason;
    row.console = need->kind == NeedKind::kConsole;
  }
  for (const auto& [address, other] : topology.devices()) {
    if (address != device.address && other.vendor_id == device.vendor_id &&
        other.device_id == device.device_id)
      row.twins.push_back(address.ToString());
  }
  auto alone = Selection(facts, {device.address});
  row.selectable = alone.has_value();
  if (!alone) {
    row.refusal = alone.error().message;
    return row;
  }
  for (const auto& d : alone->endpoints) row.brings.push_back(d.address);
  row.warnings = alone->warnings;
  row.notes = alone->notes;
  return row;
}

}  // namespace

void LoadHistory(const Host& host, Facts* facts) {
  facts->history.clear();
  facts->history_error.reset();
  auto history = History(host, [&](const ProgressEvent& e) { facts->recovered.push_back(e.text); });
  if (history) {
    facts->history = std::move(*history);
  } else {
    facts->history_error = history.error();
  }
  facts->awaiting = AwaitingReboot(host, facts->history);
}

void LoadDrift(const Host& host, Facts* facts) {
  facts->drift_checked = true;
  // Drift needs the findings; without an expected state, or while a transaction waits for
  // its reboot, there is none to tell, and the scan runs the checks anyway.
  if (facts->awaiting || !host.Exists(Root::kConfig, kExpectedStatePath)) return;
  ProbeContext context;
  context.identity = CurrentIdentity(host);
  facts->findings = RunProbes(host, context);
  facts->readiness = JudgeReadiness(host, facts->findings);
}

void Scan(const Host& host, Facts* facts, const ScanProgress& progress) {
  const int total = static_cast<int>(MakeAllProbes().size()) + 2;
  int step = 0;
  ProbeContext context;
  context.identity = CurrentIdentity(host);
  facts->findings = RunAll(host, context, progress, &step, total);
  facts->readiness = JudgeReadiness(host, facts->findings);
  facts->defaults = Defaults(facts->findings);
  if (progress) progress("Reading the PCI devices and IOMMU groups", step++, total);
  auto scan = ScanPci(host);
  facts->devices.clear();
  if (!scan) {
    facts->scan.reset();
    facts->scan_error = scan.error();
  } else {
    PciNames names(false);
    names.NameAll(&scan->topology);
    facts->scan = std::move(*scan);
    facts->needs = FindHostNeeds(host, *facts->scan, ReadMounts(host));
    if (progress) progress("Judging each device", step++, total);
    for (const auto& [address, device] : facts->scan->topology.devices()) {
      if (device.IsPciBridge() || device.IsOtherBridge()) continue;
      facts->devices.push_back(Judge(*facts, device));
    }
  }
  auto mem = MemTotalKb(host);
  if (mem) {
    facts->mem_total_kb = *mem;
  } else {
    facts->mem_error = mem.error();
  }
  if (progress) progress("Done", total, total);
}

std::expected<VfioSelection, Error> Selection(const Facts& facts,
                                              const std::vector<PciAddress>& chosen) {
  if (!facts.scan) {
    return std::unexpected(facts.scan_error.value_or(
        Error{"/sys/bus/pci/devices", 0, "the PCI devices were not read"}));
  }
  return SelectFromScan(*facts.scan, facts.needs, chosen, {});
}

std::expected<Request, Error> Normalized(const Request& request) {
  return ParseRequestArgs(RequestArgs(request));
}

std::string CommandLine(std::string_view command, const Request& request) {
  std::string out = "vmsetup " + std::string(command);
  for (const auto& a : RequestArgs(request)) out += " " + a;
  return out;
}

}  // namespace vmprep::wizard
