// MakeAllFixers: every fixer, in apply order. Explicit, so a fixer cannot go
// missing silently (tests/fixers/registry_test.cc checks the ids against
// checks/fixer_ids.h).
#include "fixers/fixer.h"
#include "fixers/fixer_bridge.h"
#include "fixers/fixer_cmdline.h"
#include "fixers/fixer_hugepages.h"
#include "fixers/fixer_initramfs.h"
#include "fixers/fixer_modprobe.h"
#include "fixers/fixer_vfio_bind.h"
#include "fixers/fixer_xorg.h"

namespace vmprep {

std::vector<std::unique_ptr<Fixer>> MakeAllFixers() {
  std::vector<std::unique_ptr<Fixer>> fixers;
  // Boot files first; the initramfs fixer comes after modprobe.d and
  // vfio-bind.conf because the image it asks to rebuild copies them in
  // (post-actions run after every file anyway).
  fixers.push_back(MakeCmdlineFixer());
  fixers.push_back(MakeModprobeVfioFixer());
  fixers.push_back(MakeModulesLoadFixer());
  fixers.push_back(MakeVfioBindFixer());
  fixers.push_back(MakeInitramfsFixer());
  fixers.push_back(MakeHugepagesFixer());
  fixers.push_back(MakeXorgFixer());
  fixers.push_back(MakeBridgeFixer());
  return fixers;
}

} // namespace vmprep
