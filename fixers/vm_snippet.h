// vmsetup vm-snippet: the domain XML that gives a libvirt domain what vmcheck vm asks for —
// every function of each device's IOMMU group as <hostdev>, huge page memory backing, and
// virtiofs shares with the shared memory they need. Printed for `virsh edit`; libvirt's files
// are never edited behind libvirt's back.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/host.h"

namespace vmprep {

struct VmSnippetRequest {
  std::vector<std::string> devices;      // PCI addresses, as --device
  std::optional<std::string> hugepages;  // "" (the host's default size), "2M", "1G"
  std::vector<std::string> virtiofs;     // DIR or DIR:TAG
};

struct VmSnippet {
  std::string xml;
  std::vector<std::string> notes;  // what else the host needs for it to work
};

// Refuses a device that does not exist, that the host needs, or whose group holds one; a
// page size the kernel cannot have; a share that is not an absolute directory.
std::expected<VmSnippet, Error> MakeVmSnippet(const Host& host, const VmSnippetRequest& request);

}  // namespace vmprep
