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

#include "core/dropins.h"
#include "system/facts.h"
#include "system/fixer_ids.h"
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

// "2M", "1G", "2048k" -> kB; 0 when not understood.
std::uint64_t SizeToKb(std::string_view text) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc()) return 0;
  std::string_view unit = text.substr(static_cast<std::size_t>(p - text.data()));
  if (unit == "k" || unit == "K" || unit == "kB") return v;
  if (unit == "M" || unit == "m" || unit == "MB") return v * 1024;
  if (unit == "G" || unit == "g" || unit == "GB") return v * 1024 * 1024;
  if (unit.empty()) return v / 1024;  // bytes
  return 0;
}

std::string HumanKb(std::uint64_t kb) {
  if (kb % (1024 * 1024) == 0) return fmt::format("{} GiB", kb / (1024 * 1024));
  if (kb % 1024 == 0) return fmt::format("{} MiB", kb / 1024);
  return fmt::format("{} KiB", kb);
}

struct PoolSize {
  std::uint64_t page_kb = 0;
  std::uint64_t total = 0, free = 0, reserved = 0, surplus = 0;
};

// What the boot command line asks for: hugepagesz=/hugepages= pairs, default size.
struct BootRequest {
  std::map<std::uint64_t, std::uint64_t> pages;  // page kB -> count
  std::uint64_t default_kb = 0;
};

BootRequest ParseBootRequest(const Cmdline& cmd, std::uint64_t default_kb) {
  BootRequest req;
  req.default_kb = default_kb;
  std::uint64_t current = 0;
  for (const auto& token : cmd.Tokens()) {
    std::string key = CmdlineKey(token), value = CmdlineValue(token);
    if (key == "default_hugepagesz") req.default_kb = SizeToKb(value);
    if (key == "hugepagesz") current = SizeToKb(value);
    if (key == "hugepages") req.pages[current ? current : req.default_kb] = ToNumber(value);
  }
  return req;
}

// vm.nr_hugepages as systemd-sysctl applies it: /etc/sysctl.conf, then *.conf from
// /usr/lib, /lib, /run and /etc sysctl.d by name (a name in /etc hides the same name
// further down); the last assignment wins.
std::optional<std::pair<std::uint64_t, Evidence>> SysctlHugepages(const Host& host) {
  std::vector<std::string> files =
      DropInFiles(host, Root::kConfig,
                  {"/usr/lib/sysctl.d", "/lib/sysctl.d", "/run/sysctl.d", "/etc/sysctl.d"});
  files.push_back("/etc/sysctl.conf");
  std::optional<std::pair<std::uint64_t, Evidence>> found;
  for (const auto& path : files) {
    auto text = host.Read(Root::kConfig, path, 1 << 20);
    if (!text) continue;
    int n = 0;
    for (auto line : SplitLines(*text)) {
      ++n;
      auto t = Trim(line);
      if (t.empty() || t.front() == '#' || t.front() == ';') continue;
      auto eq = t.find('=');
      if (eq == std::string_view::npos) continue;
      auto key = Trim(t.substr(0, eq));
      if (key == "vm.nr_hugepages" || key == "vm/nr_hugepages") {
        found = std::pair{ToNumber(t.substr(eq + 1)),
                          Evidence{fmt::format("{}:{}", path, n), std::string(t)}};
      }
    }
  }
  return found;
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

  auto sizes = host.List(Root::kRuntime, kSysfs);
  if (!sizes) {
    Finding& f = make("reserved", Severity::kSkip,
                      "the kernel has no huge page support (no /sys/kernel/mm/hugepages)");
    f.evidence.push_back({std::string(kSysfs), sizes.error().message});
    return out;
  }
  std::vector<PoolSize> pools;
  std::vector<Evidence> pool_evidence;
  for (const auto& dir : *sizes) {
    if (!dir.starts_with("hugepages-") || !dir.ends_with("kB")) continue;
    PoolSize p;
    p.page_kb = ToNumber(std::string_view(dir).substr(10, dir.size() - 12));
    std::string base = std::string(kSysfs) + "/" + dir;
    auto read = [&](const char* name) {
      auto t = host.Read(Root::kRuntime, base + "/" + name, 64);
      return t ? ToNumber(*t) : 0;
    };
    p.total = read("nr_hugepages");
    p.free = read("free_hugepages");
    p.reserved = read("resv_hugepages");
    p.surplus = read("surplus_hugepages");
    pool_evidence.push_back(
        {base, fmt::format("{} pages of {} ({} free)", p.total, HumanKb(p.page_kb), p.free)});
    pools.push_back(p);
  }
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

  std::uint64_t mem_total_kb = 0, default_kb = 0;
  if (auto meminfo = host.Read(Root::kRuntime, "/proc/meminfo", 1 << 16)) {
    for (auto line : SplitLines(*meminfo)) {
      if (line.starts_with("MemTotal:")) mem_total_kb = ToNumber(SplitWords(line)[1]);
      if (line.starts_with("Hugepagesize:")) default_kb = ToNumber(SplitWords(line)[1]);
    }
  }
  const SystemFacts& facts = context.Facts(host);
  const KernelParams& params = facts.Params();
  BootRequest boot = ParseBootRequest(params.cmdline, default_kb);
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
          "To back guests with huge pages, reserve them at boot, e.g. `hugepagesz=1G hugepages=16` "
          "on the kernel command line for 16 GiB, or `vm.nr_hugepages = 8192` (2 MiB pages) in "
          "/etc/sysctl.d/40-hugepages.conf.";
      f->fixer = std::string(kFixHugepages);
    } else if (mem_total_kb > 0 && reserved_kb * 10 > mem_total_kb * 9) {
      f = &make("reserved", Severity::kFail,
                fmt::format(
                    "{} of huge pages are reserved, {}% of the {} of memory: the host is left "
                    "almost nothing",
                    HumanKb(reserved_kb), reserved_kb * 100 / mem_total_kb, HumanKb(mem_total_kb)));
      f->hint =
          "Reserve at most the memory of the guests that run at once, and leave the host several "
          "GiB.";
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
      for (const auto& m : *mounts) {
        if (m.fstype != "hugetlbfs") continue;
        std::string ps = MountOption(m.options, "pagesize");
        mounted_sizes.push_back(ps.empty() ? default_kb : SizeToKb(ps));
        evidence.push_back(
            {"/proc/self/mountinfo", fmt::format("hugetlbfs on {} ({})", m.target, m.options)});
      }
    } else {
      evidence.push_back({"/proc/self/mountinfo", mounts.error().message});
    }
    std::vector<std::string> unmounted;
    for (const auto& p : pools) {
      if (p.total == 0) continue;
      if (std::find(mounted_sizes.begin(), mounted_sizes.end(), p.page_kb) == mounted_sizes.end()) {
        unmounted.push_back(HumanKb(p.page_kb));
      }
    }
    Finding* f;
    if (!mounts) {
      f = &make("mount", Severity::kSkip, "cannot read the mount table");
    } else if (unmounted.empty()) {
      f = &make("mount", Severity::kPass, "a hugetlbfs is mounted for every reserved page size");
    } else {
      std::string sizes_text;
      for (std::size_t i = 0; i < unmounted.size(); ++i)
        sizes_text += (i ? ", " : "") + unmounted[i];
      f = &make("mount", Severity::kWarn,
                fmt::format("no hugetlbfs is mounted for the reserved {} pages", sizes_text));
      f->hint = fmt::format(
          "Mount one, e.g. `mkdir -p /dev/hugepages{0} && mount -t hugetlbfs -o pagesize={0} none "
          "/dev/hugepages{0}`, and add the same to /etc/fstab (systemd mounts /dev/hugepages for "
          "the "
          "default size only).",
          unmounted.front() == "1 GiB"   ? "1G"
          : unmounted.front() == "2 MiB" ? "2M"
                                         : unmounted.front());
      f->fixer = std::string(kFixHugepages);
    }
    if (evidence.empty()) evidence.push_back({"/proc/self/mountinfo", "no hugetlbfs mount"});
    f->evidence = std::move(evidence);
  }
  return out;
}

}  // namespace vmprep
