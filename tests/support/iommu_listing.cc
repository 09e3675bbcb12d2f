#include "tests/support/iommu_listing.h"

#include <fmt/format.h>

#include <map>
#include <regex>
#include <utility>

#include "tests/support/pci_class_names.h"

namespace vmprep {
namespace {

// A PCI address as listings print it: short "bb:dd.f" or with a 4-5 digit domain.
#define VMPREP_ADDR "((?:[0-9a-fA-F]{4,5}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7])"

// Compiled once, never destroyed (no non-trivial static destructors).
struct Patterns {
  const std::regex header{R"(^(?:IOMMU [Gg]roup (\d{1,9}):?|IOMMU GROUP (\d{1,9})|)"
                          R"(### Group (\d{1,9}) ###|\s+IOMMU Group: (\d{1,9}))$)"};
  const std::regex flat{"^IOMMU [Gg]roup (\\d{1,9}) " VMPREP_ADDR " (.*)$"};
  const std::regex gist{R"(^Group\s+(\d{1,9}):\s+(\[.*)$)"};
  const std::regex gist_continuation{R"(^\s+(\[[0-9a-fA-F]{4}:[0-9a-fA-F]{4}\]\s.*)$)"};
  const std::regex gist_row{
      "^\\[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\\]\\s+(?:\\[R\\]\\s+)?" VMPREP_ADDR
      "\\s+(\\S.*?)(?:\\s{2,}(.*))?$"};
  const std::regex gist_usb{R"(^USB:\s)"};
  const std::regex dmar_unit{R"(^IOMMU: (\S+)$)"};
  const std::regex dmar_device{"^\\s+Group Device: " VMPREP_ADDR " - (.*)$"};
  const std::regex indented_device{"^\\s+(?:\\((\\d{1,9})\\)\\s+)?" VMPREP_ADDR " (.*)$"};
  const std::regex dmesg_add{"^(?:\\[\\s*\\d+\\.\\d+\\]\\s+)?(?:pci " VMPREP_ADDR
                             ": Adding to iommu group (\\d{1,9})|iommu: Adding device " VMPREP_ADDR
                             " to group (\\d{1,9}))$"};
  const std::regex dmesg_ids{"^\\[\\s*\\d+\\.\\d+\\]\\s+pci " VMPREP_ADDR
                             ": \\[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\\] type [0-9a-fA-F]{2} "
                             "class 0x([0-9a-fA-F]{6})( .*)?$"};
  const std::regex dmesg_cmdline{R"(^\[\s*\d+\.\d+\]\s+Kernel command line: (.*)$)"};
  const std::regex dmesg{R"(^\[\s*\d+\.\d+\]( |$))"};
  // user@host at the start (optionally inside "[...]"), as bash, zsh and fish prompts print.
  const std::regex prompt{
      R"(^\s*\[?[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+[^ ]*( [^\]]*\])?\s*[#$>%](\s|$))"};
  const std::regex lspci_record{"^" VMPREP_ADDR " (.*)$"};

  const std::regex prog_if{R"(\s*\(prog-if ([0-9a-fA-F]{2})(?: \[[^\]]*\])?\)$)"};
  const std::regex rev{R"(\s*\(rev(?: [0-9a-fA-F]{0,2})?\)?$)"};
  const std::regex ids{R"(\s*\[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\]$)"};
  const std::regex truncated_ids{R"(\s*\[([0-9a-fA-F]{4}):[0-9a-fA-F]{0,3}\.\.\.$)"};
  const std::regex class_code{R"(^(.*?)\s*\[([0-9a-fA-F]{4})\]$)"};
  // lspci attribute lines.
  const std::regex subsystem{R"(^\s+Subsystem: .*\[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\]$)"};
  const std::regex driver{R"(^\s+Kernel driver in use: (\S+)$)"};
  const std::regex flags_group{R"(^\s+Flags: .*\bIOMMU group (\d{1,9})\b.*$)"};
  const std::regex unnamed_device{R"( Device [0-9a-fA-F]{4}$)"};
};

const Patterns& Re() {
  static const Patterns* patterns = new Patterns();
  return *patterns;
}
#undef VMPREP_ADDR

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

std::uint16_t Hex16(const std::string& text) {
  return static_cast<std::uint16_t>(std::stoul(text, nullptr, 16));
}

int Int(const std::string& text) { return std::stoi(text); }

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    if (end == std::string_view::npos) {
      lines.push_back(text);
      break;
    }
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  return lines;
}

Error LineError(std::string_view file, int line, std::string message) {
  return Error{.path = std::string(file), .line = line, .message = std::move(message)};
}

// Gist rows: "[vvvv:dddd] [R] bb:dd.f  Class name   Device name" (columns padded with
// spaces; the class column is at least two spaces from the name).
std::expected<PciDevice, std::string> ParseGistRow(const std::string& row) {
  std::smatch m;
  if (!std::regex_match(row, m, Re().gist_row)) {
    return std::unexpected("expected \"[vvvv:dddd] [R] bb:dd.f  Class  Name\"");
  }
  PciDevice device;
  auto address = PciAddress::Parse(m[3].str());
  if (!address) return std::unexpected(address.error().message);
  device.address = *address;
  device.vendor_id = Hex16(m[1].str());
  device.device_id = Hex16(m[2].str());
  device.class_name = m[4].str();
  device.description = m[5].str();
  device.class_code = vmprep::testing::ClassCodeFromName(device.class_name);
  if (!device.class_code) {
    return std::unexpected(fmt::format("unknown device class \"{}\"", device.class_name));
  }
  return device;
}

}  // namespace

std::string_view SkipReasonName(SkipReason reason) {
  switch (reason) {
    case SkipReason::kBlank:
      return "blank";
    case SkipReason::kShellPrompt:
      return "shell-prompt";
    case SkipReason::kComment:
      return "comment";
    case SkipReason::kKernelCmdline:
      return "kernel-cmdline";
    case SkipReason::kDmesg:
      return "dmesg";
    case SkipReason::kUsbDevice:
      return "usb-device";
    case SkipReason::kDmarUnit:
      return "dmar-unit";
  }
  return "blank";
}

std::expected<void, std::string> ParseLspciRow(std::string_view row_view, PciDevice& device) {
  std::string row(TrimRight(row_view));
  std::size_t colon = row.find(": ");
  if (colon == std::string::npos) {
    return std::unexpected("expected \"<class> [cccc]: <vendor> <device> [vvvv:dddd]\"");
  }
  std::string class_part = row.substr(0, colon);
  std::string rest = row.substr(colon + 2);
  std::smatch m;
  if (std::regex_match(class_part, m, Re().class_code)) {
    device.class_name = m[1].str();
    device.class_code = static_cast<std::uint32_t>(Hex16(m[2].str())) << 8;
  } else {
    device.class_name = class_part;
    device.class_code = vmprep::testing::ClassCodeFromName(class_part);
    if (!device.class_code) {
      return std::unexpected(fmt::format("unknown device class \"{}\"", class_part));
    }
  }
  if (std::regex_search(rest, m, Re().prog_if)) {
    *device.class_code = (*device.class_code & 0xffff00) | Hex16(m[1].str());
    rest.erase(static_cast<std::size_t>(m.position(0)));
  }
  if (std::regex_search(rest, m, Re().rev)) rest.erase(static_cast<std::size_t>(m.position(0)));
  if (std::regex_search(rest, m, Re().ids)) {
    device.vendor_id = Hex16(m[1].str());
    device.device_id = Hex16(m[2].str());
    rest.erase(static_cast<std::size_t>(m.position(0)));
  } else if (std::regex_search(rest, m, Re().truncated_ids)) {
    // Copied from a narrow terminal: the vendor survived, the device id did not.
    device.vendor_id = Hex16(m[1].str());
    rest.erase(static_cast<std::size_t>(m.position(0)));
  }
  device.description = std::string(TrimRight(rest));
  return {};
}

std::expected<IommuListing, Error> ParseIommuListing(std::string_view text, std::string_view file) {
  IommuListing listing;
  IommuSnapshot current;
  std::string heading;
  std::string cmdline;
  int group = -1;
  bool prompt_continues = false;
  // dmesg prints ids and class when it enumerates the bus, before the group lines.
  std::map<PciAddress, PciDevice> enumerated;
  auto finish_snapshot = [&] {
    if (current.topology.device_count() == 0) return;
    listing.snapshots.push_back(std::move(current));
    current = IommuSnapshot{};
    group = -1;
  };
  auto add = [&](PciDevice device, int line) -> std::expected<void, Error> {
    if (current.topology.device_count() == 0) {
      current.first_line = line;
      current.heading = heading;
      current.kernel_cmdline = cmdline;
    }
    auto added = current.topology.Add(std::move(device));
    if (!added) return std::unexpected(LineError(file, line, added.error().message));
    return {};
  };
  auto skip = [&](int line, SkipReason reason) { listing.skipped.push_back({line, reason}); };

  std::vector<std::string_view> lines = SplitLines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const int number = static_cast<int>(i) + 1;
    std::string line(TrimRight(lines[i]));
    std::smatch m;
    if (prompt_continues) {
      // The second line of a command the user split with a trailing backslash.
      prompt_continues = line.ends_with('\\');
      skip(number, SkipReason::kShellPrompt);
      continue;
    }
    if (line.empty()) {
      skip(number, SkipReason::kBlank);
      continue;
    }
    if (std::regex_match(line, m, Re().header)) {
      for (int g = 1; g <= 4; ++g) {
        if (m[g].matched) group = Int(m[g].str());
      }
      continue;
    }
    if (std::regex_match(line, m, Re().flat)) {
      PciDevice device;
      auto address = PciAddress::Parse(m[2].str());
      if (!address) return std::unexpected(LineError(file, number, address.error().message));
      device.address = *address;
      device.iommu_group = Int(m[1].str());
      if (auto row = ParseLspciRow(m[3].str(), device); !row) {
        return std::unexpected(LineError(file, number, row.error()));
      }
      if (auto added = add(std::move(device), number); !added)
        return std::unexpected(added.error());
      continue;
    }
    if (std::regex_match(line, m, Re().gist) || std::regex_match(line, m, Re().gist_continuation)) {
      bool is_header = m.size() == 3;
      if (is_header) group = Int(m[1].str());
      if (group < 0) {
        return std::unexpected(LineError(file, number, "device row before any \"Group N:\""));
      }
      auto device = ParseGistRow(is_header ? m[2].str() : m[1].str());
      if (!device) return std::unexpected(LineError(file, number, device.error()));
      device->iommu_group = group;
      if (auto added = add(std::move(*device), number); !added)
        return std::unexpected(added.error());
      continue;
    }
    if (std::regex_search(line, m, Re().gist_usb)) {
      skip(number, SkipReason::kUsbDevice);
      continue;
    }
    if (std::regex_match(line, m, Re().dmar_unit)) {
      skip(number, SkipReason::kDmarUnit);
      group = -1;
      continue;
    }
    if (std::regex_match(line, m, Re().dmar_device) ||
        std::regex_match(line, m, Re().indented_device)) {
      bool dmar = m.size() == 3;
      std::string address_text = dmar ? m[1].str() : m[2].str();
      std::string row = dmar ? m[2].str() : m[3].str();
      if (group < 0) {
        return std::unexpected(
            LineError(file, number, "device line before any IOMMU group header"));
      }
      if (!dmar && m[1].matched && Int(m[1].str()) != group) {
        return std::unexpected(LineError(
            file, number,
            fmt::format("device says group ({}) under the header of group {}", m[1].str(), group)));
      }
      PciDevice device;
      auto address = PciAddress::Parse(address_text);
      if (!address) return std::unexpected(LineError(file, number, address.error().message));
      device.address = *address;
      device.iommu_group = group;
      if (auto parsed = ParseLspciRow(row, device); !parsed) {
        return std::unexpected(LineError(file, number, parsed.error()));
      }
      if (auto added = add(std::move(device), number); !added)
        return std::unexpected(added.error());
      continue;
    }
    if (std::regex_match(line, m, Re().dmesg_add)) {
      PciDevice device;
      bool pci_form = m[1].matched;
      auto address = PciAddress::Parse(pci_form ? m[1].str() : m[3].str());
      if (!address) return std::unexpected(LineError(file, number, address.error().message));
      device.address = *address;
      if (auto it = enumerated.find(device.address); it != enumerated.end()) {
        device.vendor_id = it->second.vendor_id;
        device.device_id = it->second.device_id;
        device.class_code = it->second.class_code;
      }
      device.iommu_group = Int(pci_form ? m[2].str() : m[4].str());
      if (auto added = add(std::move(device), number); !added)
        return std::unexpected(added.error());
      continue;
    }
    if (std::regex_match(line, m, Re().dmesg_ids)) {
      auto address = PciAddress::Parse(m[1].str());
      if (!address) return std::unexpected(LineError(file, number, address.error().message));
      PciDevice& device = enumerated[*address];
      device.vendor_id = Hex16(m[2].str());
      device.device_id = Hex16(m[3].str());
      device.class_code = static_cast<std::uint32_t>(std::stoul(m[4].str(), nullptr, 16));
      continue;
    }
    if (std::regex_match(line, m, Re().dmesg_cmdline)) {
      cmdline = m[1].str();
      if (current.topology.device_count() > 0) current.kernel_cmdline = cmdline;
      skip(number, SkipReason::kKernelCmdline);
      continue;
    }
    if (std::regex_search(line, m, Re().dmesg)) {
      skip(number, SkipReason::kDmesg);
      continue;
    }
    if (std::regex_search(line, m, Re().prompt)) {
      finish_snapshot();
      prompt_continues = line.ends_with('\\');
      skip(number, SkipReason::kShellPrompt);
      continue;
    }
    if (line.starts_with('#')) {
      finish_snapshot();
      heading = line;
      skip(number, SkipReason::kComment);
      continue;
    }
    if (line.starts_with("BOOT_IMAGE=")) {
      cmdline = line;
      if (current.topology.device_count() > 0) current.kernel_cmdline = cmdline;
      skip(number, SkipReason::kKernelCmdline);
      continue;
    }
    return std::unexpected(LineError(
        file, number,
        fmt::format("cannot read \"{}\": expected an IOMMU group header, a device line "
                    "(\"IOMMU Group N bb:dd.f ...\", an indented \"bb:dd.f ...\"), a dmesg "
                    "group line, a shell prompt, a '#' comment or a BOOT_IMAGE= line",
                    line.substr(0, 80))));
  }
  finish_snapshot();
  if (listing.snapshots.empty()) {
    return std::unexpected(
        Error{.path = std::string(file), .message = "no IOMMU group listing found"});
  }
  return listing;
}

std::expected<Topology, Error> ParseIommuTopology(std::string_view text, std::string_view file) {
  auto listing = ParseIommuListing(text, file);
  if (!listing) return std::unexpected(listing.error());
  if (listing->snapshots.size() != 1) {
    std::string starts;
    for (const IommuSnapshot& snapshot : listing->snapshots) {
      if (!starts.empty()) starts += ", ";
      starts += std::to_string(snapshot.first_line);
    }
    return std::unexpected(
        Error{.path = std::string(file),
              .message = fmt::format("holds {} captures (starting at lines {}); expected one",
                                     listing->snapshots.size(), starts)});
  }
  return std::move(listing->snapshots.front().topology);
}

std::expected<Topology, Error> ParseLspci(std::string_view text, std::string_view file) {
  Topology topology;
  PciDevice current;
  bool have_current = false;
  int current_line = 0;
  auto flush = [&]() -> std::expected<void, Error> {
    if (!have_current) return {};
    have_current = false;
    auto added = topology.Add(current);
    if (!added) return std::unexpected(LineError(file, current_line, added.error().message));
    return {};
  };
  std::vector<std::string_view> lines = SplitLines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const int number = static_cast<int>(i) + 1;
    std::string line(TrimRight(lines[i]));
    std::smatch m;
    if (line.empty()) continue;
    if (std::regex_match(line, m, Re().lspci_record)) {
      if (auto flushed = flush(); !flushed) return std::unexpected(flushed.error());
      current = PciDevice{};
      auto address = PciAddress::Parse(m[1].str());
      if (!address) return std::unexpected(LineError(file, number, address.error().message));
      current.address = *address;
      if (auto row = ParseLspciRow(m[2].str(), current); !row) {
        return std::unexpected(LineError(file, number, row.error()));
      }
      have_current = true;
      current_line = number;
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (!have_current) {
        return std::unexpected(
            LineError(file, number, "indented attribute line before any device record"));
      }
      if (std::regex_match(line, m, Re().driver)) {
        current.driver = m[1].str();
      } else if (std::regex_match(line, m, Re().subsystem)) {
        current.subsystem_vendor_id = Hex16(m[1].str());
        current.subsystem_device_id = Hex16(m[2].str());
      } else if (std::regex_match(line, m, Re().flags_group)) {
        current.iommu_group = Int(m[1].str());
      }
      continue;
    }
    if (std::regex_search(line, m, Re().prompt)) continue;
    return std::unexpected(LineError(
        file, number,
        fmt::format("cannot read \"{}\": expected a device record \"bb:dd.f <class>: ...\", "
                    "an indented attribute line or a shell prompt",
                    TrimLeft(line).substr(0, 80))));
  }
  if (auto flushed = flush(); !flushed) return std::unexpected(flushed.error());
  if (topology.device_count() == 0) {
    return std::unexpected(Error{.path = std::string(file), .message = "no lspci device records"});
  }
  return topology;
}

namespace {

// lspci prints an unnamed device as "Device 7ab0" without -nn and "Device [8086:7ab0]" with
// it (the ids are cut off before this is compared).
std::string NormalizedDescription(const std::string& description) {
  return std::regex_replace(description, Re().unnamed_device, " Device");
}

}  // namespace

MergeReport MergeLspci(Topology& topology, const Topology& lspci) {
  MergeReport report;
  for (const auto& [address, seen] : lspci.devices()) {
    PciDevice* device = topology.FindMutable(address);
    if (device == nullptr) {
      report.only_in_lspci.push_back(address);
      continue;
    }
    bool ids_differ =
        device->vendor_id && seen.vendor_id && device->device_id && seen.device_id &&
        (*device->vendor_id != *seen.vendor_id || *device->device_id != *seen.device_id);
    // prog-if is printed by some lspci modes only: compare class and subclass.
    bool class_differs = device->class_code && seen.class_code &&
                         (*device->class_code >> 8) != (*seen.class_code >> 8);
    // Without ids on one side the names must agree, or a moved card would take the driver of
    // whatever now sits at its old address.
    bool ids_known = device->vendor_id && seen.vendor_id && device->device_id && seen.device_id;
    bool names_differ =
        !ids_known && !device->description.empty() && !seen.description.empty() &&
        NormalizedDescription(device->description) != NormalizedDescription(seen.description);
    if (ids_differ || class_differs || names_differ) {
      report.conflicts.push_back(fmt::format("{}: listing has {}, lspci has {}", address.ToString(),
                                             device->Label(), seen.Label()));
      continue;
    }
    ++report.merged;
    if (!seen.driver.empty()) device->driver = seen.driver;
    if (seen.subsystem_vendor_id) {
      device->subsystem_vendor_id = seen.subsystem_vendor_id;
      device->subsystem_device_id = seen.subsystem_device_id;
    }
    if (!device->vendor_id) device->vendor_id = seen.vendor_id;
    if (!device->device_id) device->device_id = seen.device_id;
    if (!device->class_code || (seen.class_code && (*seen.class_code & 0xff) != 0)) {
      device->class_code = seen.class_code;
    }
    if (device->class_name.empty()) device->class_name = seen.class_name;
    if (device->description.empty()) device->description = seen.description;
    if (!device->boot_vga) device->boot_vga = seen.boot_vga;
  }
  for (const auto& [address, device] : topology.devices()) {
    if (lspci.Find(address) == nullptr) report.only_in_topology.push_back(address);
  }
  return report;
}

}  // namespace vmprep
