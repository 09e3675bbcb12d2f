// The live system's two flows that change something: fixing an installed system and saving
// the report to a FAT file system. Both print for a person and return an exit status.
#pragma once

#include <string>
#include <vector>

namespace vmprep::live {

// Exit statuses of `vmprep-live fix`: vmsetup's (0 done or nothing to do, 1 refused,
// 2 apply failed and rolled back, 3 cannot run, 4 declined, 5 a regenerate command failed)
// plus this one.
inline constexpr int kExitNotUnmounted = 6;  // done as above, but a mount is still there

struct FixRequest {
  std::string root_spec;  // the installed system's "/" (device or UUID=...); empty: ask
  std::vector<std::string> devices;
  bool devices_given = false;  // --device given (or the boot option): do not ask
  std::vector<std::string> enable;
  bool enable_given = false;  // --enable given: do not ask (default without asking: iommu)
  bool yes = false;           // apply without asking (the boot option's automatic run)
  bool wizard = false;        // run `vmsetup wizard` on the chosen system instead of asking here
  std::string plan_json;      // write vmsetup's JSON plan to this file (live system path)
  std::string work_dir = "/run/vmprep";
};

int RunFix(const FixRequest& request);

struct SaveRequest {
  std::string spec;                // FAT file system to save to; empty: ask
  std::vector<std::string> files;  // files of the live system, saved under their names
  std::string work_dir = "/run/vmprep";
};

int RunSave(const SaveRequest& request);

// `vmprep-live roots` / `vmprep-live disks`: what was found, one line each.
int ListRoots(const std::string& work_dir);
int ListDisks();

// `vmprep-live wait SPEC...`: waits until every spec names exactly one file system (disks
// behind USB or slow controllers appear after boot), at most `seconds`. 0 when they do.
int WaitForDevices(const std::vector<std::string>& specs, int seconds);

}  // namespace vmprep::live
