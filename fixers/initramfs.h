// The initramfs fixer, and what the other vfio fixers share with it.
#pragma once

#include <memory>
#include <vector>

#include "core/host.h"
#include "fixers/edit.h"
#include "fixers/fixer.h"

namespace vmprep {

struct KernelVersion {
  int major = 0, minor = 0;
  bool known() const { return major > 0; }
  // vfio_virqfd was merged into vfio in 6.2; older kernels need it as a module.
  bool has_virqfd_module() const { return known() && (major < 6 || (major == 6 && minor < 2)); }
};
// From the runtime root's /proc/sys/kernel/osrelease ("6.1.0-26-amd64" -> 6.1).
KernelVersion RunningKernelVersion(const Host& host);

// The modules the initramfs must load before any GPU driver, for this kernel.
std::vector<std::string> VfioInitramfsModules(const KernelVersion& kernel);

// The commands that rebuild every initramfs, one per generator installed in the
// config root (mkinitcpio -P, dracut --regenerate-all --force, update-initramfs
// -u -k all, booster's regenerate_images). Files copied into the initramfs
// (modprobe.d, vfio-bind.conf) need it.
std::vector<PostAction> InitramfsRegenerateActions(const Host& host);

std::unique_ptr<Fixer> MakeInitramfsFixer();

}  // namespace vmprep
