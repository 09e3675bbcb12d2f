#include "system/hugepages.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "core/dropins.h"
#include "core/text.h"

namespace vmprep {
namespace {

std::uint64_t ToNumber(std::string_view text) {
  text = Trim(text);
  std::uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

}  // namespace

std::uint64_t HugepageSizeKb(std::string_view text) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc()) return 0;
  std::string_view unit = text.substr(static_cast<std::size_t>(p - text.data()));
  if (unit == "k" || unit == "K" || unit == "kB") return v;
  if (unit == "M" || unit == "m" || unit == "MB") return v * 1024;
  if (unit == "G" || unit == "g" || unit == "GB") return v * kKbPerGiB;
  if (unit.empty()) return v / 1024;  // bytes
  return 0;
}

std::string HumanKb(std::uint64_t kb) {
  if (kb % kKbPerGiB == 0) return fmt::format("{} GiB", kb / kKbPerGiB);
  if (kb >= kKbPerGiB) return fmt::format("{:.1f} GiB", kb / double(kKbPerGiB));
  if (kb >= 1024) return fmt::format("{:.0f} MiB", kb / 1024.0);
  return fmt::format("{} KiB", kb);
}

HugepageRequest ParseHugepageRequest(const Cmdline& cmdline, std::uint64_t default_kb) {
  HugepageRequest req;
  req.default_kb = default_kb;
  std::uint64_t current = 0;
  for (const auto& token : cmdline.Tokens()) {
    std::string key = CmdlineKey(token), value = CmdlineValue(token);
    if (key == "default_hugepagesz") req.default_kb = HugepageSizeKb(value);
    if (key == "hugepagesz") current = HugepageSizeKb(value);
    if (key == "hugepages") req.pages[current ? current : req.default_kb] = ToNumber(value);
  }
  return req;
}

std::optional<std::pair<std::uint64_t, Evidence>> SysctlHugepages(const Host& host) {
  std::vector<std::string> files =
      DropInFiles(host, Root::kConfig,
                  {"/usr/lib/sysctl.d", "/lib/sysctl.d", "/run/sysctl.d", "/etc/sysctl.d"});
  files.push_back("/etc/sysctl.conf");
  std::optional<std::pair<std::uint64_t, Evidence>> found;
  for (const auto& path : files) {
    auto text = host.Read(Root::kConfig, path, 1 << 20);
    if (!text) continue;
    for (const TextLine& line : Lines(*text)) {
      auto t = Trim(line.text);
      if (t.empty() || t.front() == '#' || t.front() == ';') continue;
      auto eq = t.find('=');
      if (eq == std::string_view::npos) continue;
      auto key = Trim(t.substr(0, eq));
      if (key == "vm.nr_hugepages" || key == "vm/nr_hugepages") {
        found = std::pair{ToNumber(t.substr(eq + 1)),
                          Evidence{fmt::format("{}:{}", path, line.number), std::string(t)}};
      }
    }
  }
  return found;
}

std::expected<std::vector<HugepagePool>, Error> ReadHugepagePools(const Host& host) {
  constexpr std::string_view kSysfs = "/sys/kernel/mm/hugepages";
  auto sizes = host.List(Root::kRuntime, kSysfs);
  if (!sizes) return std::unexpected(sizes.error());
  std::vector<HugepagePool> pools;
  for (const auto& dir : *sizes) {
    if (!dir.starts_with("hugepages-") || !dir.ends_with("kB")) continue;
    HugepagePool p;
    p.page_kb = ToNumber(std::string_view(dir).substr(10, dir.size() - 12));
    p.path = std::string(kSysfs) + "/" + dir;
    auto read = [&](const char* name) {
      auto t = host.Read(Root::kRuntime, p.path + "/" + name, 64);
      return t ? ToNumber(*t) : 0;
    };
    p.total = read("nr_hugepages");
    p.free = read("free_hugepages");
    p.reserved = read("resv_hugepages");
    p.surplus = read("surplus_hugepages");
    pools.push_back(std::move(p));
  }
  return pools;
}

std::uint64_t DefaultHugepageKb(const Host& host) {
  auto meminfo = host.Read(Root::kRuntime, "/proc/meminfo", 1 << 16);
  if (!meminfo) return 0;
  for (auto line : SplitLines(*meminfo)) {
    auto words = SplitWords(line);
    if (words.size() >= 2 && words[0] == "Hugepagesize:") return ToNumber(words[1]);
  }
  return 0;
}

std::vector<std::pair<std::uint64_t, Evidence>> HugetlbfsMounts(
    const std::vector<MountEntry>& mounts, std::uint64_t default_kb) {
  std::vector<std::pair<std::uint64_t, Evidence>> out;
  for (const auto& m : mounts) {
    if (m.fstype != "hugetlbfs") continue;
    std::string ps = MountOption(m.options, "pagesize");
    out.push_back(
        {ps.empty() ? default_kb : HugepageSizeKb(ps),
         {"/proc/self/mountinfo", fmt::format("hugetlbfs on {} ({})", m.target, m.options)}});
  }
  return out;
}

std::expected<std::uint64_t, Error> MemTotalKb(const Host& host) {
  auto meminfo = host.Read(Root::kRuntime, "/proc/meminfo", 1 << 16);
  if (!meminfo) return std::unexpected(meminfo.error());
  for (auto line : SplitLines(*meminfo)) {
    auto words = SplitWords(line);
    if (words.size() >= 2 && words[0] == "MemTotal:") {
      std::uint64_t kb = ToNumber(words[1]);
      if (kb > 0) return kb;
    }
  }
  return std::unexpected(Error{"/proc/meminfo", 0, "no MemTotal line; expected 'MemTotal: N kB'"});
}

std::uint64_t HugepageHostKeepKb(std::uint64_t mem_total_kb) {
  return std::max<std::uint64_t>(mem_total_kb / 10, std::min(2 * kKbPerGiB, mem_total_kb / 2));
}

std::optional<std::string> HugepageReservationProblem(std::uint64_t reserve_kb,
                                                      std::uint64_t mem_total_kb) {
  const std::uint64_t keep = HugepageHostKeepKb(mem_total_kb);
  if (reserve_kb + keep <= mem_total_kb) return std::nullopt;
  return fmt::format(
      "{} of huge pages of {} of memory leaves the host {}; it needs at least {} (10% of its "
      "memory, and at least 2 GiB or half of it)",
      HumanKb(reserve_kb), HumanKb(mem_total_kb),
      HumanKb(mem_total_kb > reserve_kb ? mem_total_kb - reserve_kb : 0), HumanKb(keep));
}

}  // namespace vmprep
