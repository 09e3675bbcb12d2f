// The running kernel's command line, as the kernel sees its own parameters.
#pragma once

#include <string>

#include "core/evidence.h"
#include "core/host.h"
#include "formats/cmdline.h"

namespace vmprep {

struct KernelParams {
  bool readable = false;
  std::string error;
  std::string text;  // the kernel's part: everything before a lone "--" (the rest is init's)
  Cmdline cmdline{""};
  Evidence AsEvidence() const;
};

KernelParams ReadKernelParams(const Host& host);
// Cuts a command line at the first lone "--" token.
std::string KernelPart(std::string_view cmdline);

}  // namespace vmprep
