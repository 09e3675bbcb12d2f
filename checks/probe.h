// Probe: a read-only check of one aspect of a passthrough host.
#pragma once

#include <sys/types.h>

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "checks/finding.h"
#include "core/host.h"
#include "formats/libvirt_domain.h"
#include "system/accounts.h"

namespace vmprep {

class SystemFacts;

// A libvirt domain to judge against the host (vmcheck vm, vmcheck --vm): the name or file
// as given, and its definition or why it could not be read.
struct DomainInput {
  std::string name;
  std::expected<Domain, Error> domain;
  std::string key;  // the VM part of its finding ids, unique in one run (VmKey when empty)
};

// What the caller asks of the probes.
struct ProbeContext {
  Identity identity;                 // defaults to the user running vmcheck
  std::vector<std::string> devices;  // PCI addresses named with --device ("0000:01:00.0")
  bool guest = false;                // vmcheck --guest: checks for running inside a VM
  std::vector<DomainInput> domains;  // vmcheck vm / --vm: the vm check judges these
  // Facts shared by the probes of one run; made on first use when the caller gives none.
  mutable std::shared_ptr<SystemFacts> facts;
  const SystemFacts& Facts(const Host& host) const;
};

class Probe {
 public:
  virtual ~Probe() = default;
  // The check name: the first part of every finding id it returns ("kvm").
  virtual std::string_view Name() const = 0;
  // One line for `vmcheck --list`.
  virtual std::string_view Description() const = 0;
  // Never throws, never prints: an unreadable file is a finding with the reason.
  virtual std::vector<Finding> Run(const Host& host, const ProbeContext& context) const = 0;
};

// Every probe, in report order. Explicit table: adding a probe means adding it here.
std::vector<std::unique_ptr<Probe>> MakeAllProbes();

// Runs the probes in report order: all of them, or those named in `only`; the guest probe
// only with context.guest, and then none of the host's. Evidence repeated within a finding
// is shown once. `checks_run`, when given, receives the names of the checks that ran.
std::vector<Finding> RunProbes(const Host& host, const ProbeContext& context,
                               const std::set<std::string, std::less<>>& only = {},
                               std::vector<std::string>* checks_run = nullptr);

}  // namespace vmprep
