// Report: what vmcheck prints, as text for people and JSON for scripts.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "checks/accept.h"
#include "checks/finding.h"
#include "core/host.h"

namespace vmprep {

inline constexpr std::string_view kReportSchema = "vmprep.report/1";

struct HostInfo {
  std::string hostname;
  std::string kernel;  // /proc/sys/kernel/osrelease
  std::string os;      // PRETTY_NAME of the config root's os-release
  std::string cpu_vendor;
  std::string cpu_model;
  std::string runtime_root;
  std::string config_root;
  bool live = false;  // runtime root is this machine's "/"
};

struct DeviceSummary {
  std::string address;               // "0000:01:00.0"
  std::string vendor_id, device_id;  // "10de", "1b80"
  std::string class_code;            // "030000"
  std::string driver;                // "" when unbound
  int iommu_group = -1;
};

// A libvirt domain the report judged (vmcheck vm, --vm); its findings are the vm.* ids whose
// VM part is `key`.
struct VmSummary {
  std::string name;  // the domain's <name>, or the argument when it could not be read
  std::string key;   // the VM part of its finding ids
  std::string path;  // where it was read
};

struct Report {
  HostInfo host;
  std::vector<Finding> findings;
  std::vector<DeviceSummary> devices;
  std::vector<std::string> checks;  // the checks that ran, in order
  std::vector<VmSummary> vms;
  // Acceptances (checks/accept.h): by id, of findings reported as note, warn or fail; and those
  // whose finding is no longer reported or now passes.
  std::map<std::string, Acceptance, std::less<>> accepted;
  std::vector<StaleAcceptance> stale;

  const Acceptance* AcceptanceOf(const Finding& f) const {
    auto it = accepted.find(f.id);
    return it == accepted.end() ? nullptr : &it->second;
  }
};

class SystemFacts;
HostInfo CollectHostInfo(const SystemFacts& facts);
// PCI devices from /sys/bus/pci/devices of the runtime root, sorted by address.
std::vector<DeviceSummary> CollectDevices(const SystemFacts& facts);

struct DomainInput;
std::vector<VmSummary> CollectVms(const std::vector<DomainInput>& domains);
// True when finding `id` is about the VM whose ids carry `key`.
bool IsVmFinding(std::string_view id, std::string_view key);

struct TextOptions {
  bool color = false;
  bool quiet = false;  // only findings that are not pass (or skip)
};

std::string RenderText(const Report& report, const TextOptions& options);
std::string RenderJson(const Report& report);

// 0: only pass/note/skip; 1: worst is warn; 2: worst is fail.
int ExitCodeFor(const std::vector<Finding>& findings);
// The same over the findings that are not accepted.
int ReportExitCode(const Report& report);
// The worst severity among the findings that are not accepted (kSkip when none).
Severity WorstUnaccepted(const Report& report);
inline constexpr int kExitCouldNotRun = 3;

}  // namespace vmprep
