// Kernel module state: loaded, built in, available on disk, or missing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/evidence.h"
#include "core/host.h"
#include "system/kernel_config.h"

struct kmod_ctx;

namespace vmprep {

// kUnknown: nothing could tell (no module index, no kernel configuration): never "missing".
enum class ModuleState { kLoaded, kBuiltin, kAvailable, kMissing, kUnknown };

std::string_view ModuleStateName(ModuleState state);  // "loaded", "built in", ...

// Kernel release order: "6.1.0-9-amd64" < "6.1.0-28-amd64" (digit runs compare as numbers).
bool VersionLess(std::string_view a, std::string_view b);

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

  // The kernel module questions are about: the running kernel, except on the live ISO looking
  // at an installed system that lacks it (a live runtime root, another config root): then the
  // newest kernel installed there. Loaded state and /proc/config.gz describe only the running
  // kernel and are not used for another one.
  const std::string& kernel_release() const { return release_; }
  bool running_kernel() const { return running_; }
  // Where the modules directory is (e.g. "/usr/lib/modules/6.1.0-26-amd64"), or empty.
  const std::string& modules_dir() const { return modules_dir_; }
  // `config_symbol` (e.g. "VHOST_NET") lets the kernel configuration settle what sysfs and
  // the module index cannot: built in (=y) or not built at all.
  ModuleInfo Query(std::string_view name, std::string_view config_symbol = "") const;
  const KernelConfig& kernel_config() const;  // read on first use
  // The modules whose aliases match a device's modalias (as udev would load them), from the
  // index; empty without one.
  std::vector<std::string> ForAlias(std::string_view modalias) const;

 private:
  const Host& host_;
  std::string release_;
  bool running_ = true;
  std::string modules_dir_;
  std::string proc_modules_;
  bool have_proc_modules_ = false;
  ::kmod_ctx* Context() const;  // libkmod over modules_dir_, made on first use
  mutable std::optional<KernelConfig> config_;
  mutable ::kmod_ctx* ctx_ = nullptr;
  mutable bool ctx_tried_ = false;
};

}  // namespace vmprep

namespace vmprep {

// Lines that load `name` at boot: /etc/modules-load.d, /run/modules-load.d,
// /usr/lib/modules-load.d (*.conf, a file in /etc masks the same name further down) and
// Debian's /etc/modules. Each match is evidence: file and line.
std::vector<Evidence> FindBootLoadEntries(const Host& host, std::string_view name);

}  // namespace vmprep
