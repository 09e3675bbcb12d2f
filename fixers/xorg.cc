/// xorg: keeps Xorg on the host GPU so it neither grabs nor resets the GPU
/// being passed through. xorg.conf(5): `Option "IsolateDevice" "bus-id"` (a
/// ServerFlags option, which a ServerLayout may also carry and then overrides)
/// restricts device resets to that bus id, and a Device section's `BusID
/// "PCI:bus:dev:fn"` (decimal) pins the device it drives. Edits
/// /etc/X11/xorg.conf and xorg.conf.d/*.conf where they already say which
/// device; when there is no configuration, writes
/// /etc/X11/xorg.conf.d/10-vmprep-host-gpu.conf.
#include "fixers/xorg.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/dropins.h"
#include "fixers/vfio_bind.h"
#include "formats/xorg_conf.h"

namespace vmprep {
namespace {

struct XFile {
  std::string path;
  std::string before;
  XorgConf conf;
  bool changed = false;
};

bool SameBus(const std::optional<std::string>& bus_id, const PciAddress& a) {
  if (!bus_id) return false;
  auto parsed = ParseBusId(*bus_id);
  return parsed && *parsed == PciBusId{a.domain, a.bus, a.device, a.function};
}

XFile* LastWith(std::vector<XFile>& files, std::string_view section) {
  XFile* last = nullptr;
  for (auto& f : files)
    for (const auto& s : f.conf.sections())
      if (XorgNameEqual(s.name, section)) last = &f;
  return last;
}

// The Xorg driver for a Device section we write: the vendor drivers for their
// kernel drivers, modesetting (which drives any KMS device) otherwise.
std::string XorgDriverFor(const PciDevice& gpu) {
  if (gpu.driver == "nvidia") return "nvidia";
  if (gpu.driver == "amdgpu") return "amdgpu";
  return "modesetting";
}

// The display device that stays with the host: the boot VGA one first.
const PciDevice* HostGpu(const VfioSelection& sel) {
  auto is_target = [&](const PciAddress& a) {
    return std::any_of(sel.endpoints.begin(), sel.endpoints.end(),
                       [&](const PciDevice& t) { return t.address == a; });
  };
  const PciDevice* gpu = nullptr;
  for (const PciDevice* d : sel.scan.topology.Displays()) {
    if (is_target(d->address)) continue;
    if (!gpu || (d->boot_vga.value_or(false) && !gpu->boot_vga.value_or(false))) gpu = d;
  }
  return gpu;
}

std::expected<std::vector<XFile>, Error> ReadXorgFiles(const Host& host) {
  std::vector<std::string> paths;
  if (host.Exists(Root::kConfig, "/etc/X11/xorg.conf")) paths.push_back("/etc/X11/xorg.conf");
  for (auto& f : DropInFiles(host, Root::kConfig, {"/etc/X11/xorg.conf.d"})) paths.push_back(f);
  std::vector<XFile> files;
  for (const auto& p : paths) {
    auto text = host.Read(Root::kConfig, p, 1 << 20);
    if (!text) return std::unexpected(text.error());
    auto conf = XorgConf::Parse(*text, p);
    if (!conf) return std::unexpected(conf.error());
    files.push_back({p, *text, std::move(*conf)});
  }
  return files;
}

// The Device section that drives the host GPU: one naming its BusID, or the only one, which
// gets it. Refused when a Device section drives a device that goes to the VM, or several
// could. True when there is no Device section at all (ours must carry one).
std::expected<bool, Error> PinHostDevice(std::vector<XFile>& files,
                                         const std::vector<PciDevice>& endpoints,
                                         const PciAddress& ga, const std::string& bus_id) {
  struct Dev {
    size_t file;
    const XorgSection* section;
  };
  std::vector<Dev> devices;
  for (size_t i = 0; i < files.size(); ++i)
    for (const auto& s : files[i].conf.sections())
      if (XorgNameEqual(s.name, "Device")) devices.push_back({i, &s});
  if (std::any_of(devices.begin(), devices.end(),
                  [&](const Dev& d) { return SameBus(d.section->First("BusID"), ga); }))
    return false;
  for (const Dev& d : devices) {
    auto b = d.section->First("BusID");
    if (!b) continue;
    for (const PciDevice& t : endpoints) {
      if (!SameBus(b, t.address)) continue;
      return std::unexpected(Error{
          files[d.file].path, d.section->line,
          fmt::format("Device \"{}\" drives {} ({}), which goes to the "
                      "VM; expected the "
                      "host GPU's BusID \"{}\" (and its driver) there",
                      d.section->Identifier().value_or("?"), *b, t.address.ToString(), bus_id)});
    }
  }
  if (devices.empty()) return true;
  if (devices.size() == 1 && !devices[0].section->First("BusID")) {
    auto id = devices[0].section->Identifier();
    if (!id) {
      return std::unexpected(Error{files[devices[0].file].path, devices[0].section->line,
                                   "Device section without Identifier; expected one"});
    }
    XFile& f = files[devices[0].file];
    auto r = f.conf.SetBusId(*id, bus_id);
    if (!r) return std::unexpected(r.error());
    f.changed |= *r;
    return false;
  }
  const Dev& d = devices[0];
  return std::unexpected(
      Error{files[d.file].path, d.section->line,
            fmt::format("{} Device sections, none with the host GPU's BusID \"{}\" "
                        "({}); cannot "
                        "tell which one drives it: set BusID \"{}\" in that section",
                        devices.size(), bus_id, ga.ToString(), bus_id)});
}

std::expected<void, Error> SetIsolate(XFile* file, std::string_view section,
                                      const std::string& bus_id, bool add_section) {
  auto r = file->conf.SetOption(section, "IsolateDevice", bus_id, add_section);
  if (!r) return std::unexpected(r.error());
  file->changed |= *r;
  return {};
}

// Our own file, when no configuration can carry IsolateDevice: ServerFlags, and the Device
// section when there is none anywhere.
FileEdit OwnXorgFile(const PciDevice& gpu, const std::string& bus_id, bool with_device) {
  std::string text =
      "# Keep Xorg on the host GPU; the others go to VMs "
      "(written by vmsetup)\n";
  if (with_device) {
    text += fmt::format(
        "Section \"Device\"\n    Identifier "
        "\"vmprep-host-gpu\"\n    Driver \"{}\"\n"
        "    BusID \"{}\"\nEndSection\n\n",
        XorgDriverFor(gpu), bus_id);
  }
  text += fmt::format(
      "Section \"ServerFlags\"\n    Option "
      "\"IsolateDevice\" \"{}\"\nEndSection\n",
      bus_id);
  return FileEdit{std::string(kXorgHostGpuConf),
                  std::nullopt,
                  text,
                  0644,
                  std::string(kFixXorg),
                  fmt::format("Xorg uses and resets only the host GPU {}", gpu.address.ToString())};
}

// IsolateDevice in the first ServerLayout (the one Xorg uses), else in ServerFlags (the
// last one Xorg reads), else a new ServerFlags in xorg.conf or our file. Returns whether the
// host GPU still lacks a Device section (our new file carries one).
std::expected<bool, Error> PlanIsolateDevice(std::vector<XFile>& files, const PciDevice& gpu,
                                             const std::string& bus_id, bool need_own_device,
                                             EditSet* set) {
  XFile* layout = nullptr;
  for (auto& f : files) {
    if (std::any_of(f.conf.sections().begin(), f.conf.sections().end(),
                    [](const XorgSection& s) { return XorgNameEqual(s.name, "ServerLayout"); })) {
      layout = &f;
      break;
    }
  }
  const std::string own(kXorgHostGpuConf);
  auto own_file = std::find_if(files.begin(), files.end(), [&](auto& f) { return f.path == own; });
  std::expected<void, Error> ok;
  if (layout) {
    ok = SetIsolate(layout, "ServerLayout", bus_id, false);
  } else if (XFile* flags = LastWith(files, "ServerFlags")) {
    ok = SetIsolate(flags, "ServerFlags", bus_id, false);
  } else if (!files.empty() && files[0].path == "/etc/X11/xorg.conf") {
    ok = SetIsolate(&files[0], "ServerFlags", bus_id, true);
  } else if (own_file != files.end()) {
    ok = SetIsolate(&*own_file, "ServerFlags", bus_id, true);
  } else {
    set->edits.push_back(OwnXorgFile(gpu, bus_id, need_own_device));
    return false;
  }
  if (!ok) return std::unexpected(ok.error());
  return need_own_device;
}

class XorgFixer : public Fixer {
 public:
  std::string_view Id() const override { return kFixXorg; }
  std::string_view Description() const override {
    return "keep Xorg on the host GPU (IsolateDevice, BusID)";
  }

  std::expected<EditSet, Error> Plan(const Host& host, const FixerOptions& options) const override {
    EditSet set;
    if (!options.xorg) return set;
    auto sel = SelectForOptions(host, options);
    if (!sel) return std::unexpected(sel.error());
    const PciDevice* gpu = HostGpu(*sel);
    if (!gpu) {
      set.notes.push_back(
          "xorg: no display device stays with the host; "
          "nothing for Xorg to use");
      return set;
    }
    const PciAddress& ga = gpu->address;
    const std::string bus_id = BusIdFromPci(ga.bus, ga.device, ga.function, ga.domain);
    auto files = ReadXorgFiles(host);
    if (!files) return std::unexpected(files.error());
    auto need_own_device = PinHostDevice(*files, sel->endpoints, ga, bus_id);
    if (!need_own_device) return std::unexpected(need_own_device.error());
    auto still_needed = PlanIsolateDevice(*files, *gpu, bus_id, *need_own_device, &set);
    if (!still_needed) return std::unexpected(still_needed.error());
    if (*still_needed) {
      // Configuration exists but names no Device at all: Xorg autoconfigures,
      // so pin it.
      return std::unexpected(
          Error{files->empty() ? std::string(kXorgHostGpuConf) : (*files)[0].path, 0,
                fmt::format("no Device section; expected one with BusID \"{}\" "
                            "for the host GPU",
                            bus_id)});
    }
    for (auto& f : *files) {
      if (!f.changed) continue;
      set.edits.push_back(
          FileEdit{f.path, f.before, f.conf.Serialize(), 0644, std::string(kFixXorg),
                   fmt::format("Xorg uses and resets only the host GPU {}", ga.ToString())});
    }
    return set;
  }
};

}  // namespace

std::unique_ptr<Fixer> MakeXorgFixer() { return std::make_unique<XorgFixer>(); }

}  // namespace vmprep
