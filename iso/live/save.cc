/// Saving the report: mount a FAT file system read-write (libmount), write each file through
/// a Host opened on it (atomic: temp file, fsync, rename), sync, unmount.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "core/host.h"
#include "core/text.h"
#include "iso/live/block.h"
#include "iso/live/flows.h"
#include "iso/live/mount.h"
#include "iso/live/prompt.h"

namespace vmprep::live {
namespace {

std::string Describe(const BlockFs& fs) {
  return fmt::format("{} ({}{}{}, {})", fs.device, fs.type,
                     fs.label.empty() ? "" : ", label " + Printable(fs.label),
                     fs.removable ? ", removable" : "", HumanSize(fs.size_bytes));
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

int ListDisks() {
  auto host = OpenLiveHost();
  if (!host) return 3;
  std::vector<std::string> problems;
  for (const auto& fs : SettledFilesystems(*host, &problems)) {
    std::printf("%s%s\n", Describe(fs).c_str(), fs.read_only ? " read-only" : "");
  }
  for (const auto& p : problems) std::printf("note: %s\n", p.c_str());
  return 0;
}

int WaitForDevices(const std::vector<std::string>& specs, int seconds) {
  auto host = OpenLiveHost();
  if (!host) return 3;
  for (int waited = 0;; ++waited) {
    auto all = ProbeFilesystems(*host, nullptr);
    std::string missing;
    for (const auto& spec : specs) {
      if (auto fs = ResolveSpec(all, spec); !fs) missing = fs.error().message;
    }
    if (missing.empty()) return 0;
    if (waited >= seconds * 4) {
      std::fprintf(stderr, "vmprep-live: after %d s: %s\n", seconds, missing.c_str());
      return 1;
    }
    ::usleep(250 * 1000);
  }
}

namespace {

using Files = std::vector<std::pair<std::string, std::string>>;  // name, bytes

int Fail(const std::string& message, int status = 3) {
  std::fprintf(stderr, "vmprep-live: %s\n", message.c_str());
  return status;
}

// The FAT file system to save to: the one --to names, or the one the user picks. 0 or the
// exit status.
int ChooseFat(const Host& host, const SaveRequest& request, BlockFs* chosen) {
  std::vector<std::string> problems;
  auto all = SettledFilesystems(host, &problems);
  for (const auto& p : problems) std::printf("note: %s\n", p.c_str());
  if (!request.spec.empty()) {
    auto fs = ResolveSpec(all, request.spec);
    if (!fs) return Fail(fs.error().message);
    if (fs->type != "vfat" || fs->read_only) {
      return Fail(fmt::format("{} is {}{}, not a writable FAT file system", fs->device, fs->type,
                              fs->read_only ? " (read-only)" : ""));
    }
    *chosen = *fs;
    return 0;
  }
  std::vector<BlockFs> fat;
  for (const auto& fs : all)
    if (fs.type == "vfat" && !fs.read_only) fat.push_back(fs);
  if (fat.empty()) {
    std::printf(
        "No writable FAT file system found. Plug in a USB stick formatted FAT32 (or boot "
        "this ISO from a stick: it has a FAT partition for reports) and try again.\n");
    return 3;
  }
  std::vector<std::string> shown;
  for (const auto& fs : fat) shown.push_back(Describe(fs));
  auto i = AskChoice(shown, "Save to which");
  if (!i) return 4;
  *chosen = fat[*i];
  return 0;
}

// Writes the files into a new folder /vmprep/<time> of the FAT file system mounted at `mnt`.
// 0 or the exit status.
int WriteFiles(const std::string& mnt, const BlockFs& chosen, const Files& files,
               std::string* folder) {
  auto fat_host = Host::Open("/", mnt);
  if (!fat_host) return Fail(fat_host.error().ToString());
  std::time_t now = std::time(nullptr);
  char stamp[32] = {};
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::gmtime(&now));
  *folder = fmt::format("/vmprep/{}", stamp);
  for (int n = 2; fat_host->Exists(Root::kConfig, *folder) && n < 100; ++n)
    *folder = fmt::format("/vmprep/{}-{}", stamp, n);
  if (auto r = fat_host->MakeDirs(Root::kConfig, *folder); !r) return Fail(r.error().ToString());
  for (const auto& [name, bytes] : files) {
    if (auto w = fat_host->WriteAtomic(Root::kConfig, *folder + "/" + name, bytes, {}); !w) {
      return Fail(
          fmt::format("writing {}{}: {}", chosen.device, *folder + "/" + name, w.error().message),
          2);
    }
  }
  return 0;
}

}  // namespace

int RunSave(const SaveRequest& request) {
  auto host = OpenLiveHost();
  if (!host) return 3;
  BlockFs chosen;
  if (int status = ChooseFat(*host, request, &chosen); status != 0) return status;
  // Read everything first: nothing is mounted while a file turns out to be missing.
  Files files;
  for (const auto& path : request.files) {
    auto bytes = host->Read(Root::kRuntime, path);
    if (!bytes) return Fail(bytes.error().ToString());
    files.emplace_back(BaseName(path), std::move(*bytes));
  }
  const std::string mnt = request.work_dir + "/save";
  if (auto r = host->MakeDirs(Root::kRuntime, mnt); !r) return Fail(r.error().ToString());
  // quiet: FAT has no owners or modes; the atomic write's chmod must not fail on it.
  if (auto r = MountDevice(chosen.device, mnt, "vfat", "quiet", false); !r)
    return Fail(r.error().ToString());
  std::string folder;
  int status = WriteFiles(mnt, chosen, files, &folder);
  auto left = UnmountTree(*host, mnt);
  for (const auto& l : left) std::fprintf(stderr, "vmprep-live: still mounted: %s\n", l.c_str());
  if (status != 0) return status;
  if (!left.empty()) return kExitNotUnmounted;
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(f.first);
  std::printf("Saved %s to %s in %s (unmounted; the stick can be pulled).\n",
              Join(names, ", ").c_str(), Describe(chosen).c_str(), folder.substr(1).c_str());
  return 0;
}

}  // namespace vmprep::live
