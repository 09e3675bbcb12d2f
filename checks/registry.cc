/// The explicit table of probes, in report order.
#include "checks/probe.h"
#include "checks/probes/guest.h"
#include "checks/probes/hugepages.h"
#include "checks/probes/iommu.h"
#include "checks/probes/isolation.h"
#include "checks/probes/kvm.h"
#include "checks/probes/qemu.h"
#include "checks/probes/vfio.h"
#include "checks/probes/vhost_net.h"
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
  probes.push_back(std::make_unique<GuestProbe>());
  return probes;
}

}  // namespace vmprep
