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

}  // namespace

std::string_view HugepagesProbe::Name() const { return "hugepages"; }

std::string_view HugepagesProbe::Description() const {
  return "huge pages reserved per size and NUMA node, fits in memory, hugetlbfs mounted";
}

std::vector<Finding> HugepagesProbe::Run(const Host& host, const ProbeContext& context) const {
  std::vector<Finding> out;
  auto make = [&](std::string_view name, Severity severity, std::string summary) -> Finding& {
    return AddFinding(out, "hugepages", name, severity, std::move(summary));
  };

  auto read_pools = ReadHugepagePools(host);
  if (!read_pools) {
    Finding& f = make("reserved", Severity::kSkip,
                      "the kernel has no huge page support (no /sys/kernel/mm/hugepages)");
    f.evidence.push_back({std::string(kSysfs), read_pools.error().message});
    return out;
  }
  const std::vector<HugepagePool>& pools = *read_pools;
  std::vector<Evidence> pool_evidence;
  for (const auto& p : pools)
    pool_evidence.push_back(
        {p.path, fmt::format("{} pages of {} ({} free)", p.total, HumanKb(p.page_kb), p.free)});
  // Per NUMA node, so a guest pinned to one node can be seen to fit there.
  if (auto nodes = host.List(Root::kRuntime, "/sys/devices/system/node")) {
    for (const auto& node : *nodes) {
      if (!node.starts_with("node")) continue;
      for (const auto& p : pools) {
        if (p.total == 0) continue;
        std::string path =
            fmt::format("/sys/devices/system/node/{}/hugepages/hugepages-{}kB", node, p.page_kb);
        auto nr = host.Read(Root::kRuntime, path + "/nr_hugepages", 64);
        auto fr = host.Read(Root::kRuntime, path + "/free_hugepages", 64);
        if (nr)
          pool_evidence.push_back(
              {path, fmt::format("{} pages ({} free)", ToNumber(*nr), fr ? ToNumber(*fr) : 0)});
      }
    }
  }

  const std::uint64_t default_kb = DefaultHugepageKb(host);
  const std::uint64_t mem_total_kb = MemTotalKb(host).value_or(0);
  const SystemFacts& facts = context.Facts(host);
  const KernelParams& params = facts.Params();
  HugepageRequest boot = ParseHugepageRequest(params.cmdline, default_kb);
  auto sysctl = SysctlHugepages(host);
  if (sysctl && default_kb)
    boot.pages[default_kb] = std::max(boot.pages[default_kb], sysctl->first);

  std::uint64_t reserved_kb = 0;
  for (const auto& p : pools) reserved_kb += p.total * p.page_kb;

  // --- hugepages.reserved
  {
    Finding* f;
    std::vector<std::string> shortfalls;
    for (const auto& [kb, count] : boot.pages) {
      for (const auto& p : pools) {
        if (p.page_kb == kb && p.total < count) {
          shortfalls.push_back(
              fmt::format("{} × {} asked, {} reserved", count, HumanKb(kb), p.total));
        }
      }
    }
    if (reserved_kb == 0) {
      f = &make("reserved", Severity::kNote,
                "no huge pages are reserved (optional: they speed up guest memory)");
      f->hint =
          "To back guests with huge pages, reserve them at boot: `vmsetup plan --enable "
          "hugepages=1G:16` plans 16 GiB of 1 GiB pages on the kernel command line (the "
          "count is yours to choose: the memory of the guests that run at once).";
      PendingOnNextBoot(
          facts,
          [&](const Cmdline& next) {
            for (const auto& [kb, count] : ParseHugepageRequest(next, default_kb).pages)
              if (count > 0) return true;
            return false;
          },
          "a huge page reservation", *f);
    } else if (auto problem = mem_total_kb > 0
                                  ? HugepageReservationProblem(reserved_kb, mem_total_kb)
                                  : std::nullopt) {
      // The same limit vmsetup's hugepages fixer refuses to plan past.
      f = &make("reserved", Severity::kFail,
                fmt::format("too much memory is reserved in huge pages: {}", *problem));
      f->hint = fmt::format(
          "Reserve at most {} (the memory of the guests that run at once): lower hugepages= on "
          "the kernel command line or vm.nr_hugepages.",
          HumanKb(mem_total_kb - HugepageHostKeepKb(mem_total_kb)));
    } else if (!shortfalls.empty()) {
      f = &make("reserved", Severity::kWarn,
                "fewer huge pages are reserved than the command line or sysctl asks for");
      for (std::size_t i = 0; i < shortfalls.size(); ++i)
        f->summary += (i ? "; " : ": ") + shortfalls[i];
      f->hint =
          "Memory was too fragmented or too small at boot: lower the count, or reserve 1 GiB pages "
          "on the command line, where they are taken before memory fragments.";
    } else {
      f = &make(
          "reserved", Severity::kPass,
          fmt::format("{} of memory is reserved in huge pages{}", HumanKb(reserved_kb),
                      mem_total_kb ? fmt::format(" ({} of memory)", HumanKb(mem_total_kb)) : ""));
    }
    f->evidence = pool_evidence;
    if (mem_total_kb)
      f->evidence.push_back({"/proc/meminfo", fmt::format("MemTotal {} kB", mem_total_kb)});
    if (!boot.pages.empty() || boot.default_kb != default_kb)
      f->evidence.push_back(params.AsEvidence());
    if (sysctl) f->evidence.push_back(sysctl->second);
  }

  // --- hugepages.mount: QEMU and libvirt allocate guest memory from a hugetlbfs mount.
  if (reserved_kb > 0) {
    const auto& mounts = facts.Mounts();
    std::vector<Evidence> evidence;
    std::vector<std::uint64_t> mounted_sizes;
    if (mounts) {
      for (auto& [kb, seen] : HugetlbfsMounts(*mounts, default_kb)) {
        mounted_sizes.push_back(kb);
        evidence.push_back(std::move(seen));
      }
    } else {
      evidence.push_back({"/proc/self/mountinfo", mounts.error().message});
    }
    std::vector<const HugepagePool*> unmounted;
    for (const auto& p : pools) {
      if (p.total == 0) continue;
      if (std::find(mounted_sizes.begin(), mounted_sizes.end(), p.page_kb) == mounted_sizes.end())
        unmounted.push_back(&p);
    }
    Finding* f;
    if (!mounts) {
      f = &make("mount", Severity::kSkip, "cannot read the mount table");
    } else if (unmounted.empty()) {
      f = &make("mount", Severity::kPass, "a hugetlbfs is mounted for every reserved page size");
    } else {
      std::vector<std::string> names;
      for (const auto* p : unmounted) names.push_back(HumanKb(p->page_kb));
      const HugepagePool& first = *unmounted.front();
      const std::string size = first.page_kb == kKbPerGiB ? "1G"
                               : first.page_kb == 2048    ? "2M"
                                                          : "";
      f = &make(
          "mount", Severity::kWarn,
          fmt::format("no hugetlbfs is mounted for the reserved {} pages", Join(names, ", ")));
      f->hint = fmt::format(
          "Mount one, e.g. `mkdir -p /dev/hugepages{0} && mount -t hugetlbfs -o pagesize={0} none "
          "/dev/hugepages{0}`, and make it permanent (systemd mounts /dev/hugepages for the "
          "default size only).",
          size.empty() ? HumanKb(first.page_kb) : size);
      // vmsetup installs and enables a mount unit for 1 GiB pages (2 MiB ones are systemd's).
      if (first.page_kb == kKbPerGiB)
        f->SetFix(kFixHugepages, {"--enable", fmt::format("hugepages=1G:{}", first.total)});
    }
    if (evidence.empty()) evidence.push_back({"/proc/self/mountinfo", "no hugetlbfs mount"});
    f->evidence = std::move(evidence);
  }
  return out;
}

}  // namespace vmprep
