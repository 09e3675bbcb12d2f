// Readiness: what a front end must say before it offers any change (the wizard's welcome and
// scan screens). Failures no configuration mends (QEMU without KVM; no IOMMU in the firmware,
// so no device can be passed through), and drift: findings the last applied transaction
// expected to pass after its reboot (/var/lib/vmprep/expected.json, the file
// vmcheck-boot.service compares against) that do not pass now.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "checks/finding.h"
#include "core/error.h"
#include "core/host.h"
#include "system/fixer_ids.h"

namespace vmprep {

struct Readiness {
  // kvm.* failures no vmsetup fixer mends (no vmx/svm, disabled in the firmware, no module),
  // causes before consequences (kvm.device last).
  std::vector<Finding> no_kvm;
  // iommu.firmware failures: the firmware reports no IOMMU, so no device can go to a VM.
  std::vector<Finding> no_iommu;
  // "iommu.kernel is fail, expected pass" for each id in expected.json's `pass` list whose
  // finding does not pass and is not pending ("missing" when no finding has that id).
  std::vector<std::string> drift;
  // expected.json exists but cannot be read or is not a vmprep.expected/1 document.
  std::optional<Error> expected_error;
};

// Judges `findings` (one RunProbes run on `host`) and reads the config root's expected.json.
// No drift is judged when the config root is another system than the running one
// (Host::config_is_foreign: the live ISO fixing an installed system).
Readiness JudgeReadiness(const Host& host, const std::vector<Finding>& findings);

}  // namespace vmprep
