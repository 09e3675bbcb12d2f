/// /proc/cmdline of the runtime root, cut where init's arguments begin.
#include "system/kernel_params.h"

namespace vmprep {

std::string KernelPart(std::string_view text) {
  Cmdline all(text);
  std::string out;
  for (const auto& token : all.Tokens()) {
    if (token == "--") break;
    if (!out.empty()) out += ' ';
    out += token;
  }
  return out;
}

KernelParams ReadKernelParams(const Host& host) {
  KernelParams params;
  auto text = host.Read(Root::kRuntime, "/proc/cmdline", 1 << 16);
  if (!text) {
    params.error = text.error().message;
    return params;
  }
  params.readable = true;
  params.text = KernelPart(*text);
  params.cmdline = Cmdline(params.text);
  return params;
}

Evidence KernelParams::AsEvidence() const { return {"/proc/cmdline", readable ? text : error}; }

}  // namespace vmprep
