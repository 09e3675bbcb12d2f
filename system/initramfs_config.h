// Which initramfs generators this system has, and which modules each puts in (and loads
// from) the initramfs: mkinitcpio, dracut, initramfs-tools, booster.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "core/evidence.h"
#include "core/host.h"

namespace vmprep {

struct InitramfsGenerator {
  std::string name;                   // "mkinitcpio", "dracut", "initramfs-tools", "booster"
  std::string tool;                   // the binary found, e.g. "/usr/bin/mkinitcpio"
  std::vector<std::string> modules;   // loaded early (MODULES, force_drivers, modules file, ...)
  std::vector<std::string> included;  // only included (dracut add_drivers)
  std::vector<std::string> hooks;     // mkinitcpio HOOKS
  std::vector<Evidence> evidence;     // file:line of each contribution
  std::vector<Error> errors;          // values that could not be read statically
  bool Loads(std::string_view module) const;  // '-' == '_'
  bool Mentions(std::string_view module) const;
};

// The files of vmprep's early-binding hook for this generator (installed by the package's
// "initramfs" component), and whether HOOKS names it where the generator needs that.
struct BindHookState {
  std::vector<std::string> missing;  // paths that should exist and do not
  bool listed = true;                // mkinitcpio: "vmprep-vfio" in HOOKS
};
BindHookState CheckBindHook(const Host& host, const InitramfsGenerator& generator);

// Generators whose tool is installed in the config root, in a fixed order.
std::vector<InitramfsGenerator> ReadInitramfsGenerators(const Host& host);

}  // namespace vmprep
