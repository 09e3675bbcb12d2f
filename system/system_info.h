// Small readers shared by probes: CPU identity and flags, the kernel log, the command line.
#pragma once

#include <expected>
#include <set>
#include <string>
#include <vector>

#include "core/host.h"

namespace vmprep {

struct CpuInfo {
  std::string vendor;      // "GenuineIntel", "AuthenticAMD", "HygonGenuine", ...
  std::string model_name;  // "AMD EPYC 7B13"
  std::set<std::string, std::less<>> flags;
  bool has(std::string_view flag) const { return flags.contains(flag); }
  bool is_intel() const { return vendor == "GenuineIntel"; }
  bool is_amd() const { return vendor == "AuthenticAMD" || vendor == "HygonGenuine"; }
};

// Parses /proc/cpuinfo of the runtime root (the first processor's vendor, model and flags).
std::expected<CpuInfo, Error> ReadCpuInfo(const Host& host);
CpuInfo ParseCpuInfo(std::string_view text);

// The kernel log's messages, one per record, from /dev/kmsg of the runtime root
// ("prio,seq,usec,flags;message" records; continuation lines dropped).
std::expected<std::vector<std::string>, Error> ReadKernelLog(const Host& host);
std::vector<std::string> ParseKmsg(std::string_view text);

}  // namespace vmprep
