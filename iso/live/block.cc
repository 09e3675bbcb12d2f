/// Block devices and file systems through libblkid. libblkid opens each /dev node itself
/// (read-only); everything else (sizes, read-only flags, the disk a partition belongs to) is
/// read from /sys through the Host seam.
#include "iso/live/block.h"

#include <blkid.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

#include "core/text.h"

namespace vmprep::live {
namespace {

std::string SysValue(const Host& host, const std::string& path) {
  auto text = host.Read(Root::kRuntime, path, 4096);
  return text ? std::string(Trim(*text)) : std::string();
}

std::uint64_t ToNumber(std::string_view text) {
  std::uint64_t n = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), n);
  return r.ec == std::errc() ? n : 0;
}

std::string Lookup(blkid_probe probe, const char* key) {
  const char* value = nullptr;
  std::size_t length = 0;
  if (blkid_probe_lookup_value(probe, key, &value, &length) != 0 || value == nullptr) return "";
  // libblkid counts the terminating NUL in length.
  return std::string(value, length > 0 && value[length - 1] == '\0' ? length - 1 : length);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// udev escapes bytes in /dev/disk/by-label names as \xNN; labels here are compared decoded.
std::string DecodeUdev(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '\\' && i + 3 < name.size() && name[i + 1] == 'x') {
      unsigned value = 0;
      auto r = std::from_chars(name.data() + i + 2, name.data() + i + 4, value, 16);
      if (r.ec == std::errc() && r.ptr == name.data() + i + 4) {
        out += static_cast<char>(value);
        i += 3;
        continue;
      }
    }
    out += name[i];
  }
  return out;
}

bool ModprobeRunning(const Host& host) {
  auto pids = host.List(Root::kRuntime, "/proc");
  if (!pids) return false;
  for (const auto& pid : *pids) {
    if (pid.empty() || !std::all_of(pid.begin(), pid.end(), ::isdigit)) continue;
    auto comm = host.Read(Root::kRuntime, "/proc/" + pid + "/comm", 256);
    if (comm && Trim(*comm) == "modprobe") return true;
  }
  return false;
}

// A USB storage interface whose SCSI scan has not produced a block device yet.
bool UsbStorageScanning(const Host& host) {
  const std::string drv = "/sys/bus/usb/drivers/usb-storage";
  auto names = host.List(Root::kRuntime, drv);
  if (!names) return false;
  for (const auto& iface : *names) {
    if (iface.find(':') == std::string::npos) continue;  // bind, unbind, module, ...
    bool has_block = false;
    auto hosts = host.List(Root::kRuntime, drv + "/" + iface);
    if (!hosts) continue;
    for (const auto& h : *hosts) {
      if (!h.starts_with("host")) continue;
      auto targets = host.List(Root::kRuntime, drv + "/" + iface + "/" + h);
      if (!targets) continue;
      for (const auto& t : *targets) {
        if (!t.starts_with("target")) continue;
        auto luns = host.List(Root::kRuntime, drv + "/" + iface + "/" + h + "/" + t);
        if (!luns) continue;
        for (const auto& lun : *luns) {
          if (host.Exists(Root::kRuntime,
                          drv + "/" + iface + "/" + h + "/" + t + "/" + lun + "/block"))
            has_block = true;
        }
      }
    }
    if (!has_block) return true;
  }
  return false;
}

}  // namespace

bool SettleBlockDevices(const Host& host, int max_seconds) {
  std::vector<std::string> last;
  int stable_ticks = 0;
  for (int tick = 0; tick < max_seconds * 4; ++tick) {
    auto now = host.List(Root::kRuntime, "/sys/class/block");
    std::vector<std::string> names = now ? *now : std::vector<std::string>{};
    stable_ticks = names == last ? stable_ticks + 1 : 0;
    last = std::move(names);
    if (stable_ticks >= 4 && !ModprobeRunning(host) && !UsbStorageScanning(host)) return true;
    ::usleep(250 * 1000);
  }
  return false;
}

std::vector<BlockFs> SettledFilesystems(const Host& host, std::vector<std::string>* notes) {
  if (!SettleBlockDevices(host, 10)) notes->push_back("disks were still appearing after 10 s");
  return ProbeFilesystems(host, notes);
}

std::optional<Host> OpenLiveHost() {
  auto host = Host::Open("/", "/");
  if (host) return std::move(*host);
  std::fprintf(stderr, "vmprep-live: %s\n", host.error().ToString().c_str());
  return std::nullopt;
}

std::vector<BlockFs> ProbeFilesystems(const Host& host, std::vector<std::string>* problems) {
  std::vector<BlockFs> out;
  auto names = host.List(Root::kRuntime, "/sys/class/block");
  if (!names) {
    if (problems) problems->push_back(names.error().ToString());
    return out;
  }
  for (const std::string& name : *names) {
    const std::string sys = "/sys/class/block/" + name;
    BlockFs fs;
    fs.name = name;
    fs.device = "/dev/" + name;
    fs.size_bytes = ToNumber(SysValue(host, sys + "/size")) * 512;
    if (fs.size_bytes == 0) continue;  // empty loop devices, CD drives without a disc
    fs.read_only = SysValue(host, sys + "/ro") == "1";
    fs.disk = name;
    std::string disk_sys = sys;
    if (host.Exists(Root::kRuntime, sys + "/partition")) {
      if (auto real = host.Resolve(Root::kRuntime, sys)) {
        std::string parent = real->substr(0, real->rfind('/'));
        fs.disk = parent.substr(parent.rfind('/') + 1);
        disk_sys = parent;
      }
    }
    fs.removable = SysValue(host, disk_sys + "/removable") == "1";

    blkid_probe probe = blkid_new_probe_from_filename(fs.device.c_str());
    if (probe == nullptr) {
      if (problems) problems->push_back(fmt::format("{}: libblkid cannot open it", fs.device));
      continue;
    }
    blkid_probe_enable_superblocks(probe, 1);
    blkid_probe_set_superblocks_flags(probe,
                                      BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID | BLKID_SUBLKS_TYPE);
    blkid_probe_enable_partitions(probe, 1);
    blkid_probe_set_partitions_flags(probe, BLKID_PARTS_ENTRY_DETAILS);
    int rc = blkid_do_safeprobe(probe);
    if (rc == 0) {
      fs.type = Lookup(probe, "TYPE");
      fs.label = Lookup(probe, "LABEL");
      fs.uuid = Lookup(probe, "UUID");
      fs.partuuid = Lookup(probe, "PART_ENTRY_UUID");
      fs.partlabel = Lookup(probe, "PART_ENTRY_NAME");
    } else if (rc == -2 && problems) {
      problems->push_back(
          fmt::format("{}: more than one file system signature; not used", fs.device));
    }
    blkid_free_probe(probe);
    if (!fs.type.empty()) out.push_back(std::move(fs));
  }
  return out;
}

std::expected<BlockFs, Error> ResolveSpec(const std::vector<BlockFs>& filesystems,
                                          std::string_view spec) {
  std::string tag, value;
  struct ByLink {
    std::string_view prefix, tag;
  };
  for (ByLink link : {ByLink{"/dev/disk/by-uuid/", "UUID"}, ByLink{"/dev/disk/by-label/", "LABEL"},
                      ByLink{"/dev/disk/by-partuuid/", "PARTUUID"},
                      ByLink{"/dev/disk/by-partlabel/", "PARTLABEL"}}) {
    if (spec.starts_with(link.prefix)) {
      tag = link.tag;
      value = DecodeUdev(spec.substr(link.prefix.size()));
    }
  }
  if (tag.empty()) {
    auto eq = spec.find('=');
    if (!spec.starts_with("/") && eq != std::string_view::npos) {
      tag = spec.substr(0, eq);
      value = spec.substr(eq + 1);
      // fstab allows the value in double quotes.
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
    }
  }
  std::vector<const BlockFs*> hits;
  for (const BlockFs& fs : filesystems) {
    bool match = false;
    if (tag.empty()) {
      match = fs.device == spec;
    } else if (tag == "UUID") {
      match = !fs.uuid.empty() && Lower(fs.uuid) == Lower(value);
    } else if (tag == "PARTUUID") {
      match = !fs.partuuid.empty() && Lower(fs.partuuid) == Lower(value);
    } else if (tag == "LABEL") {
      match = !fs.label.empty() && fs.label == value;
    } else if (tag == "PARTLABEL") {
      match = !fs.partlabel.empty() && fs.partlabel == value;
    } else {
      return std::unexpected(Error{"", 0,
                                   fmt::format("'{}': expected /dev/NAME, UUID=, LABEL=, "
                                               "PARTUUID= or PARTLABEL=",
                                               Printable(spec))});
    }
    if (match) hits.push_back(&fs);
  }
  if (hits.empty()) {
    return std::unexpected(
        Error{"", 0,
              fmt::format("no file system on this machine matches '{}' (libblkid found {})",
                          Printable(spec), filesystems.empty() ? "none" : "others: see the list")});
  }
  if (hits.size() > 1) {
    std::vector<std::string> devices;
    for (const BlockFs* fs : hits) devices.push_back(fs->device);
    return std::unexpected(Error{"", 0,
                                 fmt::format("'{}' matches more than one device ({}); name the "
                                             "device instead (/dev/NAME)",
                                             Printable(spec), Join(devices, ", "))});
  }
  return *hits.front();
}

std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u > 0x7e) ? '?' : c;
  }
  return out;
}

std::string HumanSize(std::uint64_t bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes)
                   : fmt::format("{:.{}f} {}", value, value < 10 ? 1 : 0, kUnits[unit]);
}

bool IsLinuxRootType(std::string_view type) {
  return type == "ext4" || type == "ext3" || type == "ext2" || type == "xfs" || type == "btrfs";
}

}  // namespace vmprep::live
