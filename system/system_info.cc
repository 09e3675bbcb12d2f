/// CPU identity and the kernel log, read through the Host seam.
#include "system/system_info.h"

namespace vmprep {

CpuInfo ParseCpuInfo(std::string_view text) {
  CpuInfo info;
  bool have_flags = false;
  for (auto line : SplitLines(text)) {
    if (Trim(line).empty() && have_flags) break;  // only the first processor block
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto key = Trim(line.substr(0, colon));
    auto value = Trim(line.substr(colon + 1));
    if (key == "vendor_id" && info.vendor.empty()) {
      info.vendor = std::string(value);
    } else if (key == "model name" && info.model_name.empty()) {
      info.model_name = std::string(value);
    } else if (key == "flags" && !have_flags) {
      have_flags = true;
      for (auto flag : SplitWords(value)) info.flags.emplace(flag);
    }
  }
  return info;
}

std::expected<CpuInfo, Error> ReadCpuInfo(const Host& host) {
  auto text = host.Read(Root::kRuntime, "/proc/cpuinfo");
  if (!text) return std::unexpected(text.error());
  return ParseCpuInfo(*text);
}

std::vector<std::string> ParseKmsg(std::string_view text) {
  std::vector<std::string> messages;
  for (auto line : SplitLines(text)) {
    if (line.empty() || line.front() == ' ') continue;  // dictionary continuation lines
    auto semi = line.find(';');
    messages.emplace_back(semi == std::string_view::npos ? line : line.substr(semi + 1));
  }
  return messages;
}

std::expected<std::vector<std::string>, Error> ReadKernelLog(const Host& host) {
  auto text = host.ReadRecords(Root::kRuntime, "/dev/kmsg");
  if (!text) return std::unexpected(text.error());
  return ParseKmsg(*text);
}

}  // namespace vmprep
