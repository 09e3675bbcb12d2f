/// The explicit table of probes, in report order.
#include "checks/probe.h"
#include "checks/probes/kvm.h"

namespace vmprep {

std::vector<std::unique_ptr<Probe>> MakeAllProbes() {
  std::vector<std::unique_ptr<Probe>> probes;
  probes.push_back(std::make_unique<KvmProbe>());
  return probes;
}

}  // namespace vmprep
