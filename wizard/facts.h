// What the wizard shows, asked of the session API (history, plans), the probes (the same
// findings as vmcheck) and the device-selection rule (system/vfio_selection.h). Gathered
// here, judged nowhere here: every verdict comes from those.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "checks/finding.h"
#include "checks/readiness.h"
#include "core/host.h"
#include "fixers/session.h"
#include "system/host_needs.h"
#include "system/pci_scan.h"
#include "system/vfio_selection.h"

namespace vmprep::wizard {

// One PCI function that is not a bridge, as the devices screen lists it.
struct DeviceRow {
  PciDevice device;                // with class and device names from pci.ids
  std::string isolation;           // IsolationName of its verdict
  std::string verdict;             // IsolationVerdict::Summary()
  std::vector<std::string> group;  // the other members of its IOMMU group: "05:01.0 Serial..."
  bool selectable = false;         // the selection rule accepts it on its own
  std::string refusal;             // why it does not (the rule's words)
  std::vector<PciAddress> brings;  // what vfio-pci takes when it is chosen
  std::vector<std::string> warnings, notes;  // the rule's, for it alone
  std::string host_need;                     // why the host needs it, "" when it does not
  bool console = false;                      // the console GPU (boot_vga)
  std::vector<std::string> twins;            // identical cards (same vendor:device), by address
};

struct Facts {
  // Before the welcome screen.
  std::vector<TransactionRecord> history;  // oldest first
  std::optional<Error> history_error;
  std::optional<TransactionRecord> awaiting;  // applied, waiting for a reboot
  std::vector<Finding> findings;
  Readiness readiness;
  std::vector<std::string> recovered;  // what the session finished for an interrupted run
  bool drift_checked = false;
  // The scan.
  std::optional<PciScan> scan;
  std::optional<Error> scan_error;
  FoundNeeds needs;
  std::vector<DeviceRow> devices;  // address order
  std::optional<std::uint64_t> mem_total_kb;
  std::optional<Error> mem_error;
  Request defaults;  // what the findings' own vmsetup requests ask for, merged
};

// Reads the history and the transaction waiting for its reboot (after an apply or an undo
// again).
void LoadHistory(const Host& host, Facts* facts);
// When no transaction waits and an expected state exists: the findings and the drift from
// it (the checks vmcheck makes, so the welcome screen asks for it once it is drawn).
void LoadDrift(const Host& host, Facts* facts);

// The scan: every probe, then the PCI devices, each judged by the selection rule.
// `progress(what, done, total)` is called before each step and once at the end.
using ScanProgress = std::function<void(const std::string& what, int done, int total)>;
void Scan(const Host& host, Facts* facts, const ScanProgress& progress);

// What vfio-pci takes for the devices chosen, or the rule's refusal.
std::expected<VfioSelection, Error> Selection(const Facts& facts,
                                              const std::vector<PciAddress>& chosen);

// The request as vmsetup parses it (ParseRequestArgs over RequestArgs): what the review
// plans is exactly what `vmsetup plan` with those arguments plans.
std::expected<Request, Error> Normalized(const Request& request);
// "vmsetup plan --device 0000:02:00.0 --enable iommu,vhost_net"
std::string CommandLine(std::string_view command, const Request& request);

}  // namespace vmprep::wizard
