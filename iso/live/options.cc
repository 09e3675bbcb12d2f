/// Options of the live system's automatic run. The words come from the kernel command line
/// and from fw_cfg, so each value is checked against a strict character set: the init
/// script reads the result line by line and never evaluates it.
#include "iso/live/options.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/text.h"
#include "system/topology.h"

namespace vmprep::live {
namespace {

bool AllOf(std::string_view text, std::string_view extra) {
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

std::vector<std::string_view> SplitComma(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    if (comma > pos) out.push_back(text.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

}  // namespace

bool IsDeviceSpec(std::string_view spec) {
  if (spec.starts_with("/dev/")) {
    std::string_view rest = spec.substr(5);
    if (rest.empty() || rest.size() > 128 || !AllOf(rest, "._:+-/")) return false;
    // No empty, "." or ".." component: the name must stay inside /dev.
    std::size_t pos = 0;
    while (pos <= rest.size()) {
      std::size_t slash = rest.find('/', pos);
      if (slash == std::string_view::npos) slash = rest.size();
      std::string_view part = rest.substr(pos, slash - pos);
      if (part.empty() || part == "." || part == "..") return false;
      pos = slash + 1;
    }
    return true;
  }
  for (std::string_view tag : {"UUID=", "LABEL=", "PARTUUID=", "PARTLABEL="}) {
    if (!spec.starts_with(tag)) continue;
    std::string_view value = spec.substr(tag.size());
    return !value.empty() && value.size() <= 128 && AllOf(value, "._:+-");
  }
  return false;
}

ParsedOptions ParseLiveOptions(const std::vector<std::string_view>& sources) {
  ParsedOptions out;
  LiveOptions& o = out.options;
  auto problem = [&](std::string_view word, std::string_view why) {
    out.problems.push_back(fmt::format("ignoring '{}': {}", word, why));
  };
  for (std::string_view source : sources) {
    for (std::string_view word : SplitWords(source)) {
      if (!word.starts_with("vmprep.")) continue;
      std::size_t eq = word.find('=');
      std::string_view key = word.substr(7, eq == std::string_view::npos ? word.npos : eq - 7);
      std::string_view value = eq == std::string_view::npos ? "" : word.substr(eq + 1);
      if (eq == std::string_view::npos) {
        problem(word, "expected vmprep.NAME=VALUE");
      } else if (key == "fix" || key == "save") {
        if (!IsDeviceSpec(value)) {
          problem(word,
                  "expected /dev/NAME, UUID=..., LABEL=..., PARTUUID=... or PARTLABEL=... "
                  "(letters, digits and ._:+-)");
          continue;
        }
        (key == "fix" ? o.fix : o.save) = std::string(value);
      } else if (key == "device") {
        for (std::string_view item : SplitComma(value)) {
          auto address = PciAddress::Parse(item);
          if (!address) {
            problem(word, fmt::format("'{}' is not a PCI address such as 0000:01:00.0", item));
            continue;
          }
          std::string canonical = address->ToString();
          if (std::find(o.devices.begin(), o.devices.end(), canonical) == o.devices.end())
            o.devices.push_back(canonical);
        }
      } else if (key == "enable") {
        o.enable.clear();
        o.enable_given = true;
        for (std::string_view item : SplitComma(value)) {
          if (item.size() > 64 || !AllOf(item, "_=:.-")) {
            problem(word, fmt::format("'{}' is not an item vmsetup --enable takes", item));
            continue;
          }
          o.enable.emplace_back(item);
        }
      } else if (key == "then") {
        if (value != "menu" && value != "poweroff" && value != "reboot") {
          problem(word, "expected menu, poweroff or reboot");
          continue;
        }
        o.then = std::string(value);
      } else {
        problem(word,
                "unknown option (known: vmprep.fix, vmprep.device, vmprep.enable, "
                "vmprep.save, vmprep.then)");
      }
    }
  }
  return out;
}

std::string FormatOptions(const LiveOptions& o) {
  std::string out;
  if (!o.fix.empty()) out += fmt::format("fix={}\n", o.fix);
  for (const auto& d : o.devices) out += fmt::format("device={}\n", d);
  if (o.enable_given) out += fmt::format("enable={}\n", Join(o.enable, ","));
  if (!o.save.empty()) out += fmt::format("save={}\n", o.save);
  if (!o.then.empty()) out += fmt::format("then={}\n", o.then);
  return out;
}

}  // namespace vmprep::live
