/// Kernel build configuration, to tell "not built" from "built in" when sysfs cannot.
#include "system/kernel_config.h"

#include <fmt/format.h>

#include "formats/decompress.h"

namespace vmprep {

KernelConfig KernelConfig::Parse(std::string_view text, std::string source) {
  KernelConfig config;
  config.source_ = std::move(source);
  config.text_.reserve(text.size() + 1);
  config.text_.push_back('\n');
  config.text_.append(text.data(), text.size());
  return config;
}

KernelConfig KernelConfig::Read(const Host& host, std::string_view release, bool running) {
  if (running) {
    if (auto gz = host.Read(Root::kRuntime, "/proc/config.gz", 4u << 20)) {
      if (auto text = Gunzip(*gz, 8u << 20)) return Parse(*text, "/proc/config.gz");
    }
  }
  if (!release.empty() && release.find('/') == std::string_view::npos) {
    std::string path = fmt::format("/boot/config-{}", release);
    if (auto text = host.Read(Root::kConfig, path, 8u << 20)) return Parse(*text, path);
  }
  return {};
}

std::optional<char> KernelConfig::Tristate(std::string_view symbol) const {
  if (!known()) return std::nullopt;
  std::string key = fmt::format("\nCONFIG_{}=", symbol);
  auto at = text_.find(key);
  if (at == std::string::npos) return 'n';  // "# CONFIG_X is not set", or not in this kernel
  char c = at + key.size() < text_.size() ? text_[at + key.size()] : 'n';
  return c == 'y' || c == 'm' ? c : 'n';
}

Evidence KernelConfig::EvidenceFor(std::string_view symbol) const {
  auto t = Tristate(symbol);
  if (!t) return {"/proc/config.gz", "kernel configuration not available"};
  return {source_, *t == 'n' ? fmt::format("CONFIG_{} is not set", symbol)
                             : fmt::format("CONFIG_{}={}", symbol, *t)};
}

}  // namespace vmprep
