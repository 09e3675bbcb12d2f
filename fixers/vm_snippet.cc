#include "fixers/vm_snippet.h"

#include <fmt/format.h>

#include <algorithm>

#include "formats/libvirt_snippet.h"
#include "system/host_needs.h"
#include "system/hugepages.h"
#include "system/mounts.h"
#include "system/pci_scan.h"
#include "system/qemu_install.h"

namespace vmprep {
namespace {

DomainPciAddress ToDomain(const PciAddress& a) { return {a.domain, a.bus, a.device, a.function}; }

// The device and every endpoint that must go with it: its group's other endpoints and the
// other functions of its card.
std::expected<std::vector<PciAddress>, Error> WithItsGroup(const PciScan& scan,
                                                           const FoundNeeds& needs,
                                                           const std::string& text) {
  auto address = PciAddress::Parse(text);
  if (!address) return std::unexpected(address.error());
  IsolationVerdict v = JudgeIsolation(scan.topology, *address, needs.needs);
  auto refuse = [&](std::string why) {
    return std::unexpected(Error{"", 0, fmt::format("--device {}: {}", text, why), 0});
  };
  if (v.isolation == Isolation::kNotFound) return refuse("no such PCI device here");
  if (v.target_needed_by_host) return refuse("the host needs it: " + *v.target_needed_by_host);
  if (v.isolation == Isolation::kNoGroup) return refuse("no IOMMU group (the IOMMU is off)");
  if (v.isolation == Isolation::kSharesWithHostDevice) return refuse(v.Summary());
  std::vector<PciAddress> out{*address};
  for (const auto& m : v.members)
    if (m.role == MemberRole::kOtherEndpoint || m.role == MemberRole::kSameDevice)
      out.push_back(m.device.address);
  for (const auto& fn : v.functions_in_other_groups)
    if (!fn.IsPciBridge() && !needs.needs.Find(fn.address)) out.push_back(fn.address);
  return out;
}

std::expected<void, Error> AddDevices(const Host& host, const VmSnippetRequest& request,
                                      DomainSnippet& snippet) {
  if (request.devices.empty()) return {};
  auto scan = ScanPci(host);
  if (!scan) return std::unexpected(scan.error());
  FoundNeeds needs = FindHostNeeds(host, *scan, ReadMounts(host));
  std::vector<PciAddress> all;
  for (const auto& d : request.devices) {
    auto group = WithItsGroup(*scan, needs, d);
    if (!group) return std::unexpected(group.error());
    all.insert(all.end(), group->begin(), group->end());
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  for (const auto& a : all) snippet.hostdevs.push_back(ToDomain(a));
  return {};
}

std::expected<void, Error> AddHugepages(const Host& host, const std::string& size,
                                        DomainSnippet& snippet, std::vector<std::string>& notes) {
  std::uint64_t kb = size.empty() ? 0 : HugepageSizeKb(size);
  if (!size.empty() && kb != 2048 && kb != kKbPerGiB)
    return std::unexpected(
        Error{"", 0, fmt::format("--hugepages {}: expected 2M or 1G (or no size)", size), 0});
  snippet.hugepages_kb = kb;
  const std::uint64_t page = kb ? kb : DefaultHugepageKb(host);
  std::uint64_t reserved = 0;
  if (auto pools = ReadHugepagePools(host))
    for (const auto& p : *pools)
      if (p.page_kb == page) reserved = p.total;
  if (reserved == 0)
    notes.push_back(fmt::format(
        "No {} huge pages are reserved: `vmsetup plan --enable hugepages={}:N` with N pages "
        "for the guest's memory.",
        HumanKb(page), page == kKbPerGiB ? "1G" : "2M"));
  return {};
}

std::expected<void, Error> AddShares(const Host& host, const std::vector<std::string>& shares,
                                     DomainSnippet& snippet, std::vector<std::string>& notes) {
  for (const auto& s : shares) {
    std::size_t colon = s.find(':');
    std::string dir = s.substr(0, colon);
    std::string tag = colon == std::string::npos ? "" : s.substr(colon + 1);
    while (dir.size() > 1 && dir.ends_with('/')) dir.pop_back();
    if (!dir.starts_with('/') || dir.find("--") != std::string::npos)
      return std::unexpected(
          Error{"", 0, fmt::format("--virtiofs {}: expected an absolute DIR or DIR:TAG", s), 0});
    if (tag.empty()) tag = dir == "/" ? "root" : dir.substr(dir.rfind('/') + 1);
    auto info = host.Stat(Root::kConfig, dir);
    if (!info || info->type != FileType::kDirectory)
      notes.push_back(fmt::format("{} is not a directory here yet: create it.", dir));
    snippet.virtiofs.push_back({dir, tag});
    notes.push_back(fmt::format("In the guest: `mount -t virtiofs {} /mnt`.", tag));
  }
  if (shares.empty()) return {};
  snippet.shared_memory = true;
  if (InstalledVirtiofsd(host).empty())
    notes.push_back("virtiofsd is not installed: `apt install virtiofsd`.");
  return {};
}

}  // namespace

std::expected<VmSnippet, Error> MakeVmSnippet(const Host& host, const VmSnippetRequest& request) {
  DomainSnippet snippet;
  VmSnippet out;
  snippet.comment =
      "vmsetup vm-snippet: merge these parts into your domain with `virsh edit NAME`, each "
      "where it stands here; then check it with `vmcheck vm NAME`.";
  if (auto r = AddDevices(host, request, snippet); !r) return std::unexpected(r.error());
  if (request.hugepages) {
    if (auto r = AddHugepages(host, *request.hugepages, snippet, out.notes); !r)
      return std::unexpected(r.error());
  }
  if (auto r = AddShares(host, request.virtiofs, snippet, out.notes); !r)
    return std::unexpected(r.error());
  if (snippet.hostdevs.empty() && !snippet.hugepages_kb && snippet.virtiofs.empty())
    return std::unexpected(
        Error{"", 0, "nothing asked: give --device, --hugepages and/or --virtiofs", 0});
  out.xml = RenderDomainSnippet(snippet);
  return out;
}

}  // namespace vmprep
