// Internal to the initramfs fixer (fixers/initramfs*.cc): the module list rule and the
// planners of mkinitcpio, dracut and booster, which have a file each.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/host.h"
#include "fixers/edit.h"
#include "system/initramfs_config.h"

namespace vmprep {

// `words` with the vfio modules placed before the first GPU driver (added when missing, moved
// when listed after one) and vfio_virqfd dropped on kernels without it. Returns whether only
// appends at the end were needed.
std::vector<std::string> WantedModules(const std::vector<std::string>& words,
                                       const std::vector<std::string>& vfio,
                                       const KernelVersion& kernel, bool* append_only);

// An edit of the initramfs fixer.
FileEdit MakeEdit(std::string path, std::optional<std::string> before, std::string after,
                  std::string why);

// MODULES (and HOOKS when binding by address) in /etc/mkinitcpio.conf or the conf.d file
// that assigns them last.
std::expected<void, Error> PlanMkinitcpio(const Host& host, const KernelVersion& kernel,
                                          bool bind_hook, EditSet* set);

// force_drivers in our dracut.conf.d drop-in; a stale vfio_virqfd removed from /etc.
std::expected<void, Error> PlanDracut(const Host& host, const InitramfsGenerator& gen,
                                      const KernelVersion& kernel, EditSet* set);

// booster.yaml's `modules_force_load: a,b,c`. Only that one-line comma form is edited; YAML
// lists, quotes and comments on the line are refused.
std::expected<void, Error> PlanBooster(const Host& host, const KernelVersion& kernel, EditSet* set);

}  // namespace vmprep
