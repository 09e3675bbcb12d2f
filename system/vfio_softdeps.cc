#include "system/vfio_softdeps.h"

#include <algorithm>

#include "core/text.h"

namespace vmprep {

namespace {

// The drivers a device of this kind usually gets, whether or not one is bound now.
std::vector<std::string> UsualDrivers(const PciDevice& d) {
  std::vector<std::string> usual;
  if (d.IsDisplay()) {
    if (d.vendor_id == 0x10de) usual = {"nouveau", "nvidia"};
    if (d.vendor_id == 0x1002) usual = {"amdgpu", "radeon"};
    if (d.vendor_id == 0x8086) usual = {"i915"};
  }
  if (d.class_code && (*d.class_code >> 8) == 0x0403) usual.push_back("snd_hda_intel");
  return usual;
}

}  // namespace

std::vector<std::string> SoftdepModules(const Host& host, const ModuleIndex& index,
                                        const std::vector<PciDevice>& devices) {
  std::vector<std::string> modules;
  auto add = [&](std::string m) {
    m = ModuleName(m);
    if (m.empty() || m == "vfio_pci" || m == "pcieport") return;
    if (std::find(modules.begin(), modules.end(), m) == modules.end()) modules.push_back(m);
  };
  auto exists = [&](const std::string& m) {
    return index.modules_dir().empty() || index.Query(m).state != ModuleState::kMissing;
  };
  for (const PciDevice& d : devices) {
    if (!d.driver.empty() && d.driver != "vfio-pci") {
      // softdep names a module; the driver's module link says which (none: built in).
      auto link = host.ReadLink(Root::kRuntime, "/sys/bus/pci/drivers/" + d.driver + "/module");
      if (link) add(link->substr(link->rfind('/') + 1));
    } else {
      // On vfio-pci (bound by hand) or on no driver now: the modules udev would load for it
      // at boot, from its modalias.
      const std::string path = "/sys/bus/pci/devices/" + d.address.ToString() + "/modalias";
      if (auto alias = host.Read(Root::kRuntime, path, 4096)) {
        for (const auto& m : index.ForAlias(Trim(*alias))) add(m);
      }
    }
    for (const auto& m : UsualDrivers(d))
      if (exists(m)) add(m);
  }
  return modules;
}

}  // namespace vmprep
