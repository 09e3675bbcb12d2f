// How this system is configured to give devices to vfio-pci: ids on the kernel command line
// and in modprobe.d, softdeps that load vfio-pci before a GPU driver. Read as kmod and the
// kernel read them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/evidence.h"
#include "core/host.h"

namespace vmprep {

struct VfioId {
  std::uint16_t vendor = 0, device = 0;
  std::string text;    // "10de:1b80" as written
  std::string source;  // "/proc/cmdline" or "/etc/modprobe.d/vfio.conf:3"
};

struct VfioConfig {
  std::vector<VfioId> ids;
  // Drivers that load vfio-pci first: module -> where ("/etc/modprobe.d/vfio.conf:2").
  std::vector<std::pair<std::string, std::string>> softdeps;
  std::vector<std::string> modprobe_files;  // in the order kmod reads them
  // Addresses the early-binding hook binds (/etc/vmprep/vfio-bind.conf): address -> "file:line".
  std::vector<std::pair<std::string, std::string>> bind_addresses;
  std::vector<Error> errors;  // files or values that could not be understood

  // Where vendor:device is configured for vfio-pci, or nullopt.
  std::optional<std::string> IdSource(std::uint16_t vendor, std::uint16_t device) const;
  // Where `address` ("0000:01:00.0") is listed for binding by address, or nullopt.
  std::optional<std::string> BindSource(std::string_view address) const;
};

struct KernelParams;
VfioConfig ReadVfioConfig(const Host& host, const KernelParams& params);

// The modprobe.d files kmod reads, in its order: *.conf from /etc/modprobe.d,
// /run/modprobe.d, /usr/local/lib/modprobe.d, /usr/lib/modprobe.d, /lib/modprobe.d, sorted by
// name, a name in an earlier directory hiding the same name later.
std::vector<std::string> ModprobeFiles(const Host& host);

// Parses "vvvv:dddd[:...]" comma lists; bad items are reported in `errors` with `source`.
std::vector<VfioId> ParseVfioIds(std::string_view list, const std::string& source,
                                 std::vector<Error>* errors);

}  // namespace vmprep
