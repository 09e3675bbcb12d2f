/// Hugepages: validation of the asked reservation, its command-line tokens
/// (planned by the kernel-cmdline fixer), and the hugetlbfs mount for 1 GiB
/// pages
/// (/etc/systemd/system/dev-hugepages1G.mount, enabled by the link `systemctl enable` would
/// make, as an undoable edit).
#include "fixers/hugepages.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "system/hugepages.h"
#include "system/mounts.h"
#include "system/system_info.h"
#include "system/systemd_units.h"

namespace vmprep {

// Kept equal to systemd/dev-hugepages1G.mount (a test compares them).
const std::string_view kHugepages1GMountUnit = R"([Unit]
Description=vmprep: 1 GiB hugepages file system
Documentation=https://docs.kernel.org/admin-guide/mm/hugetlbpage.html
DefaultDependencies=no
Before=sysinit.target
ConditionPathExists=/sys/kernel/mm/hugepages/hugepages-1048576kB
ConditionCapability=CAP_SYS_ADMIN
ConditionVirtualization=!private-users

[Mount]
What=hugetlbfs
Where=/dev/hugepages1G
Type=hugetlbfs
Options=pagesize=1G,nosuid,nodev

[Install]
WantedBy=sysinit.target
)";

namespace {

constexpr std::string_view kUnitName = "dev-hugepages1G.mount";

std::string SizeName(std::uint64_t page_kb) { return page_kb == kKbPerGiB ? "1G" : "2M"; }

}  // namespace

std::expected<void, Error> ValidateHugepages(const Host& host, const FixerOptions::Hugepages& h) {
  if (h.page_kb != 2048 && h.page_kb != kKbPerGiB)
    return std::unexpected(Error{"", 0,
                                 fmt::format("hugepage size {} kB is not supported; "
                                             "expected 2048 (2M) or 1048576 (1G)",
                                             h.page_kb)});
  if (h.count == 0)
    return std::unexpected(Error{"", 0, "hugepage count 0; expected at least one page"});
  if (h.page_kb == kKbPerGiB) {
    auto cpu = ReadCpuInfo(host);
    if (!cpu) return std::unexpected(cpu.error());
    if (!cpu->has("pdpe1gb"))
      return std::unexpected(Error{"/proc/cpuinfo", 0,
                                   "the CPU has no pdpe1gb flag, so it cannot map 1 GiB pages; "
                                   "expected pdpe1gb in flags (use 2M pages instead)"});
  }
  // The same limit the hugepages probe judges a reservation by.
  auto total_kb = MemTotalKb(host);
  if (!total_kb) return std::unexpected(total_kb.error());
  const std::uint64_t reserve = h.count * h.page_kb;
  if (h.count > *total_kb / h.page_kb || HugepageReservationProblem(reserve, *total_kb)) {
    const std::uint64_t keep = HugepageHostKeepKb(*total_kb);
    return std::unexpected(Error{
        "/proc/meminfo", 0,
        fmt::format("{} pages of {}: {}; expected at most {} pages", h.count, SizeName(h.page_kb),
                    HugepageReservationProblem(reserve, *total_kb).value_or("more than MemTotal"),
                    *total_kb > keep ? (*total_kb - keep) / h.page_kb : 0)});
  }
  return {};
}

std::expected<CmdlineChange, Error> HugepagesCmdlineChange(const Host& host,
                                                           const FixerOptions::Hugepages& h) {
  if (auto v = ValidateHugepages(host, h); !v) return std::unexpected(v.error());
  std::string size = SizeName(h.page_kb);
  CmdlineChange change;
  // Boot-time reservation: 1 GiB pages must be taken before memory fragments,
  // and hugepages= counts for the hugepagesz= before it, so the three go
  // together in order.
  change.group = {"default_hugepagesz=" + size, "hugepagesz=" + size,
                  fmt::format("hugepages={}", h.count)};
  change.why = fmt::format("reserve {} hugepages of {} at boot", h.count, size);
  return change;
}

std::string_view HugepagesFixer::Id() const { return kFixHugepages; }

std::string_view HugepagesFixer::Description() const {
  return "hugepages: validate the reservation and mount hugetlbfs for its page "
         "size";
}

std::expected<EditSet, Error> HugepagesFixer::Plan(const Host& host,
                                                   const FixerOptions& options) const {
  EditSet plan;
  if (!options.hugepages) return plan;
  if (auto v = ValidateHugepages(host, *options.hugepages); !v) return std::unexpected(v.error());
  auto mounts = ReadMounts(host);
  auto mounted = [&](std::string_view pagesize) {
    if (!mounts) return false;
    return std::any_of(mounts->begin(), mounts->end(), [&](const MountEntry& m) {
      return m.fstype == "hugetlbfs" && MountOption(m.options, "pagesize") == pagesize;
    });
  };
  if (options.hugepages->page_kb != kKbPerGiB) {
    // 2M is the x86 default size: systemd's dev-hugepages.mount mounts it on
    // /dev/hugepages.
    bool unit = false;
    for (std::string_view d : {"/usr/lib/systemd/system/", "/lib/systemd/system/"})
      unit |= host.Exists(Root::kConfig, std::string(d) + "dev-hugepages.mount");
    if (!unit && !mounted("2M"))
      plan.notes.push_back(
          "no hugetlbfs mount for 2M pages and no systemd dev-hugepages.mount: "
          "mount hugetlbfs on /dev/hugepages (e.g. an /etc/fstab line)");
    return plan;
  }
  if (mounted("1G")) return plan;
  const std::string etc_unit = fmt::format("{}/{}", kSystemdEtc, kUnitName);
  std::string unit_file = FindUnitFile(host, kUnitName).value_or(etc_unit);
  std::string unit_text(kHugepages1GMountUnit);
  if (unit_file == etc_unit) {
    auto current = host.Read(Root::kConfig, etc_unit);
    if (!current || *current != kHugepages1GMountUnit) {
      FileEdit e;
      e.path = etc_unit;
      if (current) e.before = *current;
      e.after = unit_text;
      e.mode = 0644;
      e.fixer = std::string(kFixHugepages);
      e.why = "hugetlbfs with pagesize=1G on /dev/hugepages1G, for VMs backed by 1 GiB pages";
      plan.edits.push_back(std::move(e));
    }
  } else {
    auto installed = host.Read(Root::kConfig, unit_file, 1 << 20);
    if (!installed) return std::unexpected(installed.error());
    unit_text = std::move(*installed);
  }
  // Enabled as `systemctl enable` would (WantedBy=sysinit.target), as an edit undo removes.
  auto links = InstallLinks(kUnitName, unit_file, unit_text);
  if (!links) return std::unexpected(links.error());
  for (const EnableLink& l : *links) {
    if (host.LStat(Root::kConfig, l.path)) continue;
    FileEdit e{l.path,
               std::nullopt,
               l.target,
               0777,
               std::string(kFixHugepages),
               "mount the 1 GiB hugetlbfs at every boot"};
    e.symlink = true;
    plan.edits.push_back(std::move(e));
  }
  return plan;
}

std::unique_ptr<Fixer> MakeHugepagesFixer() { return std::make_unique<HugepagesFixer>(); }

}  // namespace vmprep
