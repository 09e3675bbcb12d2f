// Huge page facts and the one memory limit vmcheck and vmsetup share: a reservation must
// leave the host 10% of its memory, and at least 2 GiB (half of it on a machine with less
// than 4 GiB).
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/evidence.h"
#include "core/host.h"
#include "formats/cmdline.h"
#include "system/mounts.h"

namespace vmprep {

inline constexpr std::uint64_t kKbPerGiB = 1024 * 1024;

// "2M", "1G", "2048k" (and bytes) -> kB; 0 when not understood.
std::uint64_t HugepageSizeKb(std::string_view text);
// "1 GiB", "2 MiB", "512 KiB".
std::string HumanKb(std::uint64_t kb);

// What a kernel command line asks for: hugepagesz=/hugepages= pairs and the default size.
struct HugepageRequest {
  std::map<std::uint64_t, std::uint64_t> pages;  // page kB -> count
  std::uint64_t default_kb = 0;
};
HugepageRequest ParseHugepageRequest(const Cmdline& cmdline, std::uint64_t default_kb);

// vm.nr_hugepages as systemd-sysctl applies it: /etc/sysctl.conf, then *.conf from
// /usr/lib, /lib, /run and /etc sysctl.d by name (a name in /etc hides the same name
// further down); the last assignment wins. The value and where it was set.
std::optional<std::pair<std::uint64_t, Evidence>> SysctlHugepages(const Host& host);

// One huge page pool of the running kernel (/sys/kernel/mm/hugepages/hugepages-<kB>kB).
struct HugepagePool {
  std::uint64_t page_kb = 0;
  std::uint64_t total = 0, free = 0, reserved = 0, surplus = 0;
  std::string path;  // the sysfs directory, for evidence
};
// Every pool, by page size; an error when the kernel has no huge page support.
std::expected<std::vector<HugepagePool>, Error> ReadHugepagePools(const Host& host);
// Hugepagesize from /proc/meminfo (the size hugepages= and a bare hugetlbfs use), 0 unknown.
std::uint64_t DefaultHugepageKb(const Host& host);
// The page size of each hugetlbfs mount (pagesize=, else the default size), with evidence.
std::vector<std::pair<std::uint64_t, Evidence>> HugetlbfsMounts(
    const std::vector<MountEntry>& mounts, std::uint64_t default_kb);

// MemTotal from the runtime root's /proc/meminfo, in kB.
std::expected<std::uint64_t, Error> MemTotalKb(const Host& host);

// The memory a reservation must leave the host: max(10%, min(2 GiB, 50%)) of MemTotal.
std::uint64_t HugepageHostKeepKb(std::uint64_t mem_total_kb);
// Why reserving `reserve_kb` of `mem_total_kb` leaves the host too little, or nullopt.
std::optional<std::string> HugepageReservationProblem(std::uint64_t reserve_kb,
                                                      std::uint64_t mem_total_kb);

}  // namespace vmprep
