/// vm.hugepages, vm.hugetlbfs and vm.virtiofs-*: the guest's memory. Huge pages of the size
/// the domain asks for must be reserved and free for all of its memory, from a hugetlbfs of
/// that size, or QEMU fails to start; pages reserved but not used by the domain are memory
/// the host cannot use. virtiofs needs guest memory shared with virtiofsd, virtiofsd itself
/// and the shared directory.
#include <fmt/format.h>

#include <algorithm>

#include "checks/probes/vm.h"
#include "system/facts.h"
#include "system/hugepages.h"
#include "system/qemu_install.h"

namespace vmprep {
namespace {

// The page sizes the domain asks for (the host's default size when none is named).
std::vector<std::uint64_t> AskedPageSizes(const Domain& d, std::uint64_t default_kb) {
  std::vector<std::uint64_t> sizes;
  for (const auto& p : d.memory_backing.pages)
    if (std::find(sizes.begin(), sizes.end(), p.size_kb) == sizes.end()) sizes.push_back(p.size_kb);
  if (sizes.empty()) sizes.push_back(default_kb);
  return sizes;
}

std::string SizeArg(std::uint64_t kb) {
  return kb == kKbPerGiB ? "1G" : kb == 2048 ? "2M" : fmt::format("{}k", kb);
}

void JudgePool(const VmSubject& vm, std::uint64_t page_kb, const HugepagePool* pool, VmVerdict& v) {
  const std::uint64_t need = vm.domain.memory_kb;
  const std::uint64_t pages = page_kb ? (need + page_kb - 1) / page_kb : 0;
  if (pool == nullptr) {
    v.Raise(Severity::kFail, fmt::format("this kernel has no {} huge pages", HumanKb(page_kb)),
            fmt::format("Use a page size the CPU and kernel offer (/sys/kernel/mm/hugepages) in "
                        "<page size=...> at {}.",
                        vm.Where(vm.domain.memory_backing.line)));
    return;
  }
  v.evidence.push_back({pool->path, fmt::format("{} pages of {} ({} free)", pool->total,
                                                HumanKb(page_kb), pool->free)});
  if (pool->total < pages) {
    v.Raise(Severity::kFail,
            fmt::format("{} of memory needs {} huge pages of {}; {} are reserved", HumanKb(need),
                        pages, HumanKb(page_kb), pool->total),
            fmt::format("Reserve them at boot: `vmsetup plan --enable hugepages={}:{}`.",
                        SizeArg(page_kb), pages));
  } else if (pool->free < pages) {
    v.Raise(Severity::kWarn,
            fmt::format("{} huge pages of {} are free; the domain needs {} (other guests, or "
                        "this one while it runs, hold the rest)",
                        pool->free, HumanKb(page_kb), pages),
            "Stop the guests that hold them before starting this one, or reserve more.");
  }
}

}  // namespace

void JudgeHugepages(const VmSubject& vm, std::vector<Finding>& out) {
  auto pools = ReadHugepagePools(vm.host);
  const std::uint64_t default_kb = DefaultHugepageKb(vm.host);
  const DomainMemoryBacking& mb = vm.domain.memory_backing;
  if (!mb.hugepages) {
    std::uint64_t reserved_kb = 0;
    if (pools)
      for (const auto& p : *pools) reserved_kb += p.total * p.page_kb;
    if (reserved_kb == 0) return;
    Finding& f = vm.Add(out, "hugepages", Severity::kNote,
                        fmt::format("{} of memory is reserved in huge pages, but the domain does "
                                    "not use them",
                                    HumanKb(reserved_kb)));
    f.evidence.push_back({vm.Where(mb.line), "no <memoryBacking><hugepages/>"});
    f.hint =
        "Back the guest with them: add <memoryBacking><hugepages/></memoryBacking> (`vmsetup "
        "vm-snippet --hugepages` prints it), or release them for the host.";
    return;
  }
  VmVerdict v;
  v.evidence.push_back({vm.Where(mb.line), "<memoryBacking><hugepages>"});
  for (std::uint64_t kb : AskedPageSizes(vm.domain, default_kb)) {
    const HugepagePool* pool = nullptr;
    if (pools)
      for (const auto& p : *pools)
        if (p.page_kb == kb) pool = &p;
    JudgePool(vm, kb, pool, v);
  }
  v.Emit(vm, out, "hugepages",
         fmt::format("enough huge pages are reserved and free for {} of memory",
                     HumanKb(vm.domain.memory_kb)));
}

void JudgeHugetlbfs(const VmSubject& vm, std::vector<Finding>& out) {
  if (!vm.domain.memory_backing.hugepages) return;
  const auto& mounts = vm.facts.Mounts();
  if (!mounts) {
    Finding& f = vm.Add(out, "hugetlbfs", Severity::kSkip, "the mount table cannot be read");
    f.evidence.push_back({"/proc/self/mountinfo", mounts.error().ToString()});
    return;
  }
  const std::uint64_t default_kb = DefaultHugepageKb(vm.host);
  auto mounted = HugetlbfsMounts(*mounts, default_kb);
  VmVerdict v;
  for (const auto& [kb, seen] : mounted) v.evidence.push_back(seen);
  for (std::uint64_t kb : AskedPageSizes(vm.domain, default_kb)) {
    bool found =
        std::any_of(mounted.begin(), mounted.end(), [&](const auto& m) { return m.first == kb; });
    if (!found)
      v.Raise(Severity::kFail,
              fmt::format("no hugetlbfs is mounted for {} pages: QEMU cannot allocate them",
                          HumanKb(kb)),
              fmt::format("Mount one: `mkdir -p /dev/hugepages{0} && mount -t hugetlbfs -o "
                          "pagesize={0} none /dev/hugepages{0}`{1}, then restart libvirtd.",
                          SizeArg(kb),
                          kb == kKbPerGiB ? " (`vmsetup plan --enable hugepages=1G:N` installs "
                                            "a mount unit)"
                                          : ""));
  }
  if (v.evidence.empty()) v.evidence.push_back({"/proc/self/mountinfo", "no hugetlbfs mount"});
  v.Emit(vm, out, "hugetlbfs", "a hugetlbfs is mounted for the domain's page size");
}

void JudgeVirtiofs(const VmSubject& vm, std::vector<Finding>& out) {
  std::vector<const DomainFilesystem*> shares;
  for (const auto& fs : vm.domain.filesystems)
    if (fs.driver == "virtiofs") shares.push_back(&fs);
  if (shares.empty()) return;
  const DomainMemoryBacking& mb = vm.domain.memory_backing;
  {
    bool shared = mb.access_mode == "shared";
    Finding& f = vm.Add(out, "virtiofs-memory", shared ? Severity::kPass : Severity::kFail,
                        shared ? "guest memory is shared, as virtiofs needs"
                               : "virtiofs needs shared guest memory; the domain does not share "
                                 "it");
    f.evidence.push_back({vm.Where(mb.line), fmt::format("<memoryBacking> access mode '{}', "
                                                         "source '{}'",
                                                         mb.access_mode, mb.source_type)});
    if (!shared)
      f.hint =
          "Add <source type='memfd'/> and <access mode='shared'/> to <memoryBacking> (`vmsetup "
          "vm-snippet --virtiofs DIR` prints it; keep <hugepages/> there if the domain has it).";
  }
  {
    std::string binary = InstalledVirtiofsd(vm.host);
    for (const auto* fs : shares)
      if (!fs->binary_path.empty())
        binary = vm.host.Exists(Root::kConfig, fs->binary_path) ? fs->binary_path : "";
    Finding& f = vm.Add(out, "virtiofsd", binary.empty() ? Severity::kFail : Severity::kPass,
                        binary.empty() ? "virtiofsd is not installed: the shared folder cannot "
                                         "start"
                                       : fmt::format("virtiofsd is installed ({})", binary));
    f.evidence.push_back({binary.empty() ? "/usr/libexec/virtiofsd" : binary,
                          binary.empty() ? "not found" : "present"});
    if (binary.empty())
      f.hint = "Install it: `apt install virtiofsd` (Debian 12), `dnf install virtiofsd`.";
  }
  VmVerdict v;
  for (const auto* fs : shares) {
    auto info = vm.host.Stat(Root::kConfig, fs->source_dir);
    v.evidence.push_back(
        {vm.Where(fs->line),
         fmt::format("source dir '{}' (tag '{}'): {}", fs->source_dir, fs->target_dir,
                     info ? std::string(FileTypeName(info->type)) : info.error().message)});
    if (fs->source_dir.empty() || !info || info->type != FileType::kDirectory)
      v.Raise(Severity::kFail,
              fmt::format("the shared directory '{}' does not exist", fs->source_dir),
              fmt::format("Create it (`mkdir -p {}`) or correct <source dir=...> at {}.",
                          fs->source_dir, vm.Where(fs->line)));
  }
  v.Emit(vm, out, "virtiofs-source", "every shared directory exists");
}

}  // namespace vmprep
