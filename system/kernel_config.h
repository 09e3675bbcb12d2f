// The running kernel's build configuration: /proc/config.gz of the runtime root, else
// /boot/config-<release> of the config root.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/evidence.h"
#include "core/host.h"

namespace vmprep {

class KernelConfig {
 public:
  // `running`: `release` is the running kernel, so /proc/config.gz of the runtime root
  // describes it; else only /boot/config-<release> of the config root does.
  static KernelConfig Read(const Host& host, std::string_view release, bool running = true);
  static KernelConfig Parse(std::string_view text, std::string source);
  bool known() const { return !source_.empty(); }
  const std::string& source() const { return source_; }
  // 'y', 'm' or 'n' (also for "# CONFIG_X is not set" and symbols absent from a known
  // config); nullopt when no config could be read. `symbol` without the CONFIG_ prefix.
  std::optional<char> Tristate(std::string_view symbol) const;
  Evidence EvidenceFor(std::string_view symbol) const;

 private:
  std::string source_;
  std::string text_;  // searched per symbol: a handful of look-ups do not pay for a map
};

}  // namespace vmprep
