// Options of the live system's automatic run, from the kernel command line (typed at the
// boot menu) and from QEMU's fw_cfg entry opt/org.vmprep/options (for virtual machines and
// tests). Every value is checked here, so the init script only ever sees known keys with
// values made of a small set of characters.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vmprep::live {

struct LiveOptions {
  std::string fix;                   // root file system to fix: /dev/NAME or UUID=, LABEL=, ...
  std::vector<std::string> devices;  // PCI addresses for vfio-pci, canonical
  std::vector<std::string> enable;   // vmsetup --enable items ("iommu", "hugepages=1G:8")
  bool enable_given = false;         // vmprep.enable= was present (even empty: nothing more)
  std::string save;                  // FAT file system to save the report to (same forms)
  std::string then;                  // after the automatic run: "menu", "poweroff", "reboot"
};

struct ParsedOptions {
  LiveOptions options;
  std::vector<std::string> problems;  // one line per ignored word, saying why
};

// Reads `vmprep.fix=`, `vmprep.device=` (comma list, repeatable), `vmprep.enable=` (comma
// list), `vmprep.save=` and `vmprep.then=` from each source in turn (a later value of a
// single-valued key wins). Other words are not ours and are skipped silently.
ParsedOptions ParseLiveOptions(const std::vector<std::string_view>& sources);

// A block device as a user names it: "/dev/NAME" or UUID=, LABEL=, PARTUUID=, PARTLABEL=
// with a value of letters, digits and ._:+- (at most 128 bytes). Nothing else.
bool IsDeviceSpec(std::string_view spec);

// The lines `vmprep-live options` prints: "fix=...", "device=..." (one per address),
// "enable=a,b", "save=...", "then=...", only for what is set.
std::string FormatOptions(const LiveOptions& options);

}  // namespace vmprep::live
