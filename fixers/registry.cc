// MakeAllFixers: every fixer, in apply order. Explicit, so a fixer cannot go
// missing silently (tests/fixers/registry_test.cc checks the ids against
// system/fixer_ids.h).
#include "fixers/device_access.h"
#include "fixers/fixer.h"
#include "fixers/hugepages.h"
#include "fixers/initramfs.h"
#include "fixers/kernel_cmdline.h"
#include "fixers/kvmfr.h"
#include "fixers/libvirt.h"
#include "fixers/modprobe_vfio.h"
#include "fixers/net_bridge.h"
#include "fixers/qemu_bridge.h"
#include "fixers/qemu_user.h"
#include "fixers/vfio_bind.h"
#include "fixers/xorg.h"

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
  fixers.push_back(MakeQemuUserFixer());
  fixers.push_back(MakeNetBridgeFixer());
  fixers.push_back(MakeDeviceAccessFixer());
  fixers.push_back(MakeLibvirtFixer());
  fixers.push_back(MakeKvmfrFixer());
  return fixers;
}

}  // namespace vmprep
