/// The explicit table of probes, in report order.
#include <algorithm>

#include "checks/probe.h"
#include "checks/probes/guest.h"
#include "checks/probes/hugepages.h"
#include "checks/probes/iommu.h"
#include "checks/probes/isolation.h"
#include "checks/probes/kvm.h"
#include "checks/probes/qemu.h"
#include "checks/probes/vfio.h"
#include "checks/probes/vhost_net.h"
#include "checks/probes/vm.h"
#include "system/facts.h"

namespace vmprep {

const SystemFacts& ProbeContext::Facts(const Host& host) const {
  if (!facts || &facts->host() != &host) facts = std::make_shared<SystemFacts>(host);
  return *facts;
}

std::vector<std::unique_ptr<Probe>> MakeAllProbes() {
  std::vector<std::unique_ptr<Probe>> probes;
  probes.push_back(std::make_unique<KvmProbe>());
  probes.push_back(std::make_unique<IommuProbe>());
  probes.push_back(std::make_unique<IsolationProbe>());
  probes.push_back(std::make_unique<VfioProbe>());
  probes.push_back(std::make_unique<VhostNetProbe>());
  probes.push_back(std::make_unique<HugepagesProbe>());
  probes.push_back(std::make_unique<QemuHostProbe>());
  probes.push_back(std::make_unique<VmProbe>());
  probes.push_back(std::make_unique<GuestProbe>());
  return probes;
}

std::vector<Finding> RunProbes(const Host& host, const ProbeContext& context,
                               const std::set<std::string, std::less<>>& only,
                               std::vector<std::string>* checks_run) {
  std::vector<Finding> out;
  for (const auto& p : MakeAllProbes()) {
    if (!only.empty() && !only.contains(p->Name())) continue;
    // --guest checks the VM from inside; the host checks do not apply there.
    if (context.guest != (p->Name() == "guest")) continue;
    if (checks_run) checks_run->emplace_back(p->Name());
    for (auto& f : p->Run(host, context)) {
      std::vector<Evidence> unique;
      for (auto& e : f.evidence) {
        bool seen = std::any_of(unique.begin(), unique.end(), [&](const Evidence& u) {
          return u.path == e.path && u.value == e.value;
        });
        if (!seen) unique.push_back(std::move(e));
      }
      f.evidence = std::move(unique);
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace vmprep
