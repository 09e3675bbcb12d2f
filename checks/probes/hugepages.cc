/// hugepages: memory reserved in huge pages for guests, and a hugetlbfs to allocate it from.
/// Backing a passthrough guest with huge pages cuts TLB misses and keeps its memory pinned
/// in large blocks; reserving more than the machine has starves the host at boot.
/// Reads /sys/kernel/mm/hugepages/*, /sys/devices/system/node/node*/hugepages/*,
/// /proc/meminfo, /proc/self/mountinfo (libmount), /proc/cmdline and sysctl.d files.
#include "checks/probes/hugepages.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "checks/pending.h"
#include "core/dropins.h"
#include "core/text.h"
#include "system/facts.h"
#include "system/fixer_ids.h"
#include "system/hugepages.h"
#include "system/kernel_params.h"
#include "system/mounts.h"

namespace vmprep {
namespace {

constexpr std::string_view kSysfs = "/sys/kernel/mm/hugepages";

std::uint64_t ToNumber(std::string_view text) {
  text = Trim(text);
  std::uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

// The reserved pools, per page size, with evidence per NUMA node.
struct Pools {
  std::vector<HugepagePool> sizes;
  std::vector<Evidence> evidence;
};

std::expected<Pools, Error> ReadPools(const Host& host) {
  auto read = ReadHugepagePools(host);
  if (!read) return std::unexpected(read.error());
  Pools pools;
  pools.sizes = std::move(*read);
  for (const auto& p : pools.sizes)
    pools.evidence.push_back(
        {p.path, fmt::format("{} pages of {} ({} free)", p.total, HumanKb(p.page_kb), p.free)});
  // Per NUMA node, so a guest pinned to one node can be seen to fit there.
  if (auto nodes = host.List(Root::kRuntime, "/sys/devices/system/node")) {
    for (const auto& node : *nodes) {
      if (!node.starts_with("node")) continue;
      for (const auto& p : pools.sizes) {
        if (p.total == 0) continue;
        std::string path =
            fmt::format("/sys/devices/system/node/{}/hugepages/hugepages-{}kB", node, p.page_kb);
        auto nr = host.Read(Root::kRuntime, path + "/nr_hugepages", 64);
        auto fr = host.Read(Root::kRuntime, path + "/free_hugepages", 64);
        if (nr)
          pools.evidence.push_back(
              {path, fmt::format("{} pages ({} free)", ToNumber(*nr), fr ? ToNumber(*fr) : 0)});
      }
    }
  }
  return pools;
}

// What the findings are judged from, read once by HugepagesProbe::Run.
struct HugepageView {
  const SystemFacts& facts;
  const KernelParams& params;
  const Pools& pools;
  std::uint64_t default_kb = 0;
  std::uint64_t mem_total_kb = 0;
  std::uint64_t reserved_kb = 0;
  HugepageRequest boot;  // asked for on the command line and in sysctl.d
  const std::optional<std::pair<std::uint64_t, Evidence>>& sysctl;
};

// hugepages.reserved when nothing is reserved: optional, and maybe pending a reboot.
void AddNoneReservedFinding(std::vector<Finding>& out, const HugepageView& v) {
  Finding& f = AddFinding(out, "hugepages", "reserved", Severity::kNote,
                          "no huge pages are reserved (optional: they speed up guest memory)");
  f.hint =
      "To back guests with huge pages, reserve them at boot: `vmsetup plan --enable "
      "hugepages=1G:16` plans 16 GiB of 1 GiB pages on the kernel command line (the "
      "count is yours to choose: the memory of the guests that run at once).";
  const std::uint64_t default_kb = v.default_kb;
  PendingOnNextBoot(
      v.facts,
      [&](const Cmdline& next) {
        for (const auto& [kb, count] : ParseHugepageRequest(next, default_kb).pages)
          if (count > 0) return true;
        return false;
      },
      "a huge page reservation", f);
}

// hugepages.reserved
void AddReservedFinding(std::vector<Finding>& out, const HugepageView& v) {
  std::vector<std::string> shortfalls;
  for (const auto& [kb, count] : v.boot.pages) {
    for (const auto& p : v.pools.sizes) {
      if (p.page_kb == kb && p.total < count) {
        shortfalls.push_back(
            fmt::format("{} × {} asked, {} reserved", count, HumanKb(kb), p.total));
      }
    }
  }
  const std::uint64_t mem_total_kb = v.mem_total_kb;
  if (v.reserved_kb == 0) {
    AddNoneReservedFinding(out, v);
  } else if (auto problem = mem_total_kb > 0
                                ? HugepageReservationProblem(v.reserved_kb, mem_total_kb)
                                : std::nullopt) {
    // The same limit vmsetup's hugepages fixer refuses to plan past.
    Finding& f = AddFinding(out, "hugepages", "reserved", Severity::kFail,
                            fmt::format("too much memory is reserved in huge pages: {}", *problem));
    f.hint = fmt::format(
        "Reserve at most {} (the memory of the guests that run at once): lower hugepages= on "
        "the kernel command line or vm.nr_hugepages.",
        HumanKb(mem_total_kb - HugepageHostKeepKb(mem_total_kb)));
  } else if (!shortfalls.empty()) {
    Finding& f =
        AddFinding(out, "hugepages", "reserved", Severity::kWarn,
                   "fewer huge pages are reserved than the command line or sysctl asks for");
    for (std::size_t i = 0; i < shortfalls.size(); ++i)
      f.summary += (i ? "; " : ": ") + shortfalls[i];
    f.hint =
        "Memory was too fragmented or too small at boot: lower the count, or reserve 1 GiB pages "
        "on the command line, where they are taken before memory fragments.";
  } else {
    AddFinding(
        out, "hugepages", "reserved", Severity::kPass,
        fmt::format("{} of memory is reserved in huge pages{}", HumanKb(v.reserved_kb),
                    mem_total_kb ? fmt::format(" ({} of memory)", HumanKb(mem_total_kb)) : ""));
  }
  Finding& f = out.back();
  // The pools first; what a pending check added (the configured file) stays after them.
  f.evidence.insert(f.evidence.begin(), v.pools.evidence.begin(), v.pools.evidence.end());
  if (mem_total_kb)
    f.evidence.push_back({"/proc/meminfo", fmt::format("MemTotal {} kB", mem_total_kb)});
  if (!v.boot.pages.empty() || v.boot.default_kb != v.default_kb)
    f.evidence.push_back(v.params.AsEvidence());
  if (v.sysctl) f.evidence.push_back(v.sysctl->second);
}

// hugepages.mount when reserved page sizes have no hugetlbfs.
void AddUnmountedFinding(std::vector<Finding>& out,
                         const std::vector<const HugepagePool*>& unmounted) {
  std::vector<std::string> names;
  for (const auto* p : unmounted) names.push_back(HumanKb(p->page_kb));
  const HugepagePool& first = *unmounted.front();
  const std::string size = first.page_kb == kKbPerGiB ? "1G" : first.page_kb == 2048 ? "2M" : "";
  Finding& f = AddFinding(
      out, "hugepages", "mount", Severity::kWarn,
      fmt::format("no hugetlbfs is mounted for the reserved {} pages", Join(names, ", ")));
  f.hint = fmt::format(
      "Mount one, e.g. `mkdir -p /dev/hugepages{0} && mount -t hugetlbfs -o pagesize={0} none "
      "/dev/hugepages{0}`, and make it permanent (systemd mounts /dev/hugepages for the "
      "default size only).",
      size.empty() ? HumanKb(first.page_kb) : size);
  // vmsetup installs and enables a mount unit for 1 GiB pages (2 MiB ones are systemd's).
  if (first.page_kb == kKbPerGiB)
    f.SetFix(kFixHugepages, {"--enable", fmt::format("hugepages=1G:{}", first.total)});
}

// hugepages.mount: QEMU and libvirt allocate guest memory from a hugetlbfs mount.
void AddMountFinding(std::vector<Finding>& out, const HugepageView& v) {
  if (v.reserved_kb == 0) return;
  const auto& mounts = v.facts.Mounts();
  std::vector<Evidence> evidence;
  std::vector<std::uint64_t> mounted_sizes;
  if (mounts) {
    for (auto& [kb, seen] : HugetlbfsMounts(*mounts, v.default_kb)) {
      mounted_sizes.push_back(kb);
      evidence.push_back(std::move(seen));
    }
  } else {
    evidence.push_back({"/proc/self/mountinfo", mounts.error().message});
  }
  std::vector<const HugepagePool*> unmounted;
  for (const auto& p : v.pools.sizes) {
    if (p.total == 0) continue;
    if (std::find(mounted_sizes.begin(), mounted_sizes.end(), p.page_kb) == mounted_sizes.end())
      unmounted.push_back(&p);
  }
  if (!mounts) {
    AddFinding(out, "hugepages", "mount", Severity::kSkip, "cannot read the mount table");
  } else if (unmounted.empty()) {
    AddFinding(out, "hugepages", "mount", Severity::kPass,
               "a hugetlbfs is mounted for every reserved page size");
  } else {
    AddUnmountedFinding(out, unmounted);
  }
  if (evidence.empty()) evidence.push_back({"/proc/self/mountinfo", "no hugetlbfs mount"});
  out.back().evidence = std::move(evidence);
}

}  // namespace

std::string_view HugepagesProbe::Name() const { return "hugepages"; }

std::string_view HugepagesProbe::Description() const {
  return "huge pages reserved per size and NUMA node, fits in memory, hugetlbfs mounted";
}

std::vector<Finding> HugepagesProbe::Run(const Host& host, const ProbeContext& context) const {
  std::vector<Finding> out;
  auto read = ReadPools(host);
  if (!read) {
    Finding& f = AddFinding(out, "hugepages", "reserved", Severity::kSkip,
                            "the kernel has no huge page support (no /sys/kernel/mm/hugepages)");
    f.evidence.push_back({std::string(kSysfs), read.error().message});
    return out;
  }
  const Pools& pools = *read;
  const std::uint64_t mem_total_kb = MemTotalKb(host).value_or(0);
  const std::uint64_t default_kb = DefaultHugepageKb(host);
  const SystemFacts& facts = context.Facts(host);
  const KernelParams& params = facts.Params();
  HugepageRequest boot = ParseHugepageRequest(params.cmdline, default_kb);
  auto sysctl = SysctlHugepages(host);
  if (sysctl && default_kb)
    boot.pages[default_kb] = std::max(boot.pages[default_kb], sysctl->first);
  std::uint64_t reserved_kb = 0;
  for (const auto& p : pools.sizes) reserved_kb += p.total * p.page_kb;

  const HugepageView view{.facts = facts,
                          .params = params,
                          .pools = pools,
                          .default_kb = default_kb,
                          .mem_total_kb = mem_total_kb,
                          .reserved_kb = reserved_kb,
                          .boot = std::move(boot),
                          .sysctl = sysctl};
  AddReservedFinding(out, view);
  AddMountFinding(out, view);
  return out;
}

}  // namespace vmprep
