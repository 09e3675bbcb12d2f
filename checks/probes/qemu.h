#pragma once

#include "checks/probe.h"

namespace vmprep {

class QemuHostProbe final : public Probe {
 public:
  std::string_view Name() const override;
  std::string_view Description() const override;
  std::vector<Finding> Run(const Host& host, const ProbeContext& context) const override;
};

}  // namespace vmprep
