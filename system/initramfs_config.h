// Which initramfs generators this system has, and which modules each puts in (and loads
// from) the initramfs: mkinitcpio, dracut, initramfs-tools, booster.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/evidence.h"
#include "core/host.h"
#include "system/boot_tools.h"

namespace vmprep {

struct InitramfsGenerator {
  std::string name;  // "mkinitcpio", "dracut", "initramfs-tools", "booster"
  std::string tool;  // the binary found, e.g. "/usr/bin/mkinitcpio"
  // What rebuilds every image this generator made, for every installed kernel.
  BootCommand regenerate;
  std::vector<std::string> modules;   // loaded early (MODULES, force_drivers, modules file, ...)
  std::vector<std::string> included;  // only included (dracut add_drivers)
  std::vector<std::string> hooks;     // mkinitcpio HOOKS
  std::vector<Evidence> evidence;     // file:line of each contribution
  std::vector<Error> errors;          // values that could not be read statically
  bool Loads(std::string_view module) const;  // '-' == '_'
  bool Mentions(std::string_view module) const;
};

// The files of vmprep's early-binding hook (installed by `cmake --install --component
// initramfs`, or by the package) that `generator` needs: the shared script and the
// generator's own front end. Empty for a generator vmprep has no hook for (booster).
std::vector<std::string> BindHookFiles(std::string_view generator);

// The one piece of advice for mkinitcpio's HOOKS: where vmprep-vfio goes, and why.
inline constexpr std::string_view kMkinitcpioHookAdvice =
    "put vmprep-vfio in HOOKS after base and before udev (it must bind the devices before "
    "udev loads their drivers; busybox images only: the systemd hook does not run it)";

// Whether the early-binding hook is complete for this generator.
struct BindHookState {
  std::vector<std::string> missing;  // paths that should exist and do not
  bool listed = true;                // mkinitcpio: "vmprep-vfio" in HOOKS ...
  bool ordered = true;               // ... after base and before udev
  bool modconf = true;               // mkinitcpio: modconf in HOOKS (modprobe.d in the image)
};
BindHookState CheckBindHook(const Host& host, const InitramfsGenerator& generator);

// The files mkinitcpio sources, in order: /etc/mkinitcpio.conf, then conf.d/*.conf.
std::vector<std::string> MkinitcpioFiles(const Host& host);

// Generators whose tool is installed in the config root, in a fixed order. An Error when the
// tool directories cannot be read (a plan must not take "unreadable" for "not installed").
std::expected<std::vector<InitramfsGenerator>, Error> ReadInitramfsGenerators(const Host& host);

// A kernel release's version: "6.1.0-26-amd64" -> 6.1.
struct KernelVersion {
  int major = 0, minor = 0;
  static KernelVersion Parse(std::string_view release);
  bool known() const { return major > 0; }
  // vfio_virqfd was merged into vfio in 6.2; older kernels need it as a module.
  bool has_virqfd_module() const { return known() && (major < 6 || (major == 6 && minor < 2)); }
};

// The modules an initramfs must load before any GPU driver, for this kernel.
std::vector<std::string> VfioEarlyModules(const KernelVersion& kernel);

}  // namespace vmprep
