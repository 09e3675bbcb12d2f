/// Domain XML to add to a libvirt domain, written with libxml2: a <domain> document holding
/// only the parts to merge (memoryBacking, and hostdev and filesystem devices), so that it
/// shows where each part goes and parses as the domain XML it is. vmprep never edits
/// libvirt's files: the administrator merges it with `virsh edit`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "formats/libvirt_domain.h"

namespace vmprep {

struct DomainSnippet {
  std::vector<DomainPciAddress> hostdevs;     // managed='yes' PCI hostdevs
  std::optional<std::uint64_t> hugepages_kb;  // <hugepages/>; 0 = the host's default size
  bool shared_memory = false;                 // <source type='memfd'/><access mode='shared'/>
  struct Share {
    std::string dir, tag;
  };
  std::vector<Share> virtiofs;  // filesystem devices with <driver type='virtiofs'/>
  std::string comment;          // a leading XML comment (no "--" inside)
};

std::string RenderDomainSnippet(const DomainSnippet& snippet);

}  // namespace vmprep
