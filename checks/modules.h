// Kernel module state: loaded, built in, available on disk, or missing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "checks/finding.h"
#include "checks/host.h"

struct kmod_ctx;

namespace vmprep {

enum class ModuleState { kLoaded, kBuiltin, kAvailable, kMissing };

std::string_view ModuleStateName(ModuleState state);  // "loaded", "built in", ...

struct ModuleInfo {
  std::string name;  // normalised: dashes become underscores
  ModuleState state = ModuleState::kMissing;
  std::string path;  // the .ko file when available, relative to the config root
  std::vector<Evidence> evidence;
};

// Answers module questions for one Host. Loaded state is read through the Host from the
// runtime root (/proc/modules, /sys/module/NAME/initstate) because libkmod reads those from
// fixed paths; what is on disk (modules.dep, modules.builtin) comes from libkmod pointed at
// the config root's /usr/lib/modules/<release>.
class ModuleIndex {
 public:
  explicit ModuleIndex(const Host& host);
  ~ModuleIndex();
  ModuleIndex(const ModuleIndex&) = delete;
  ModuleIndex& operator=(const ModuleIndex&) = delete;

  const std::string& kernel_release() const { return release_; }
  // Where the modules directory is (e.g. "/usr/lib/modules/6.1.0-26-amd64"), or empty.
  const std::string& modules_dir() const { return modules_dir_; }
  ModuleInfo Query(std::string_view name) const;

 private:
  const Host& host_;
  std::string release_;
  std::string modules_dir_;
  std::string proc_modules_;
  bool have_proc_modules_ = false;
  ::kmod_ctx* ctx_ = nullptr;
};

std::string NormalizeModuleName(std::string_view name);

}  // namespace vmprep
