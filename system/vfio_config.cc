/// vfio-pci configuration as kmod and the kernel see it.
#include "system/vfio_config.h"

#include <fmt/format.h>

#include <charconv>
#include <map>

#include "core/dropins.h"
#include "formats/modprobe_conf.h"
#include "system/fixer_ids.h"
#include "system/kernel_params.h"
#include "system/topology.h"

namespace vmprep {
namespace {

std::optional<std::uint16_t> Hex16(std::string_view s) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || s.size() > 4)
    return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

}  // namespace

std::vector<VfioId> ParseVfioIds(std::string_view list, const std::string& source,
                                 std::vector<Error>* errors) {
  std::vector<VfioId> ids;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    auto item = Trim(list.substr(pos, comma - pos));
    pos = comma + 1;
    if (item.empty()) continue;
    auto colon = item.find(':');
    auto rest = colon == std::string_view::npos ? std::string_view() : item.substr(colon + 1);
    auto vendor = Hex16(item.substr(0, colon));
    auto device = Hex16(rest.substr(0, rest.find(':')));
    if (!vendor || !device) {
      errors->push_back(Error{
          source, 0,
          fmt::format("vfio-pci id '{}' is not vendor:device in hex (e.g. 10de:1b80)", item)});
      continue;
    }
    ids.push_back({*vendor, *device, std::string(item), source});
  }
  return ids;
}

std::vector<std::string> ModprobeFiles(const Host& host) {
  return DropInFiles(host, Root::kConfig,
                     {"/lib/modprobe.d", "/usr/lib/modprobe.d", "/usr/local/lib/modprobe.d",
                      "/run/modprobe.d", "/etc/modprobe.d"});
}

VfioConfig ReadVfioConfig(const Host& host, const KernelParams& params) {
  VfioConfig config;
  if (params.readable) {
    std::string ids = params.cmdline.Get("vfio_pci.ids");
    auto parsed = ParseVfioIds(ids, "/proc/cmdline", &config.errors);
    config.ids.insert(config.ids.end(), parsed.begin(), parsed.end());
  }
  if (auto text = host.Read(Root::kConfig, kVfioBindConf, 1 << 20)) {
    int n = 0;
    for (auto line : SplitLines(*text)) {
      ++n;
      auto words = SplitWords(line);
      if (words.empty() || words[0].front() == '#') continue;
      auto address = PciAddress::Parse(words[0]);
      if (!address) {
        config.errors.push_back(
            Error{std::string(kVfioBindConf), n,
                  "expected a PCI address such as 0000:01:00.0 and vendor:device"});
        continue;
      }
      config.bind_addresses.emplace_back(address->ToString(),
                                         fmt::format("{}:{}", kVfioBindConf, n));
    }
  }
  config.modprobe_files = ModprobeFiles(host);
  for (const auto& path : config.modprobe_files) {
    auto text = host.Read(Root::kConfig, path, 1 << 20);
    if (!text) {
      config.errors.push_back(text.error());
      continue;
    }
    auto conf = ModprobeConf::Parse(*text, path);
    if (!conf) {
      config.errors.push_back(conf.error());
      continue;
    }
    for (const auto& r : conf->records()) {
      if (r.command == "options" && r.module == "vfio_pci") {
        for (auto word : SplitWords(r.rest)) {
          if (word.starts_with("ids=")) {
            auto parsed =
                ParseVfioIds(word.substr(4), fmt::format("{}:{}", path, r.line), &config.errors);
            config.ids.insert(config.ids.end(), parsed.begin(), parsed.end());
          }
        }
      }
      if (r.command == "softdep") {
        bool pre = false;
        for (auto word : SplitWords(r.rest)) {
          if (word == "pre:")
            pre = true;
          else if (word == "post:")
            pre = false;
          else if (pre && ModuleName(word) == "vfio_pci")
            config.softdeps.emplace_back(r.module, fmt::format("{}:{}", path, r.line));
        }
      }
    }
  }
  return config;
}

std::optional<std::string> VfioConfig::BindSource(std::string_view address) const {
  for (const auto& [a, source] : bind_addresses) {
    if (a == address) return source;
  }
  return std::nullopt;
}

std::optional<std::string> VfioConfig::IdSource(std::uint16_t vendor, std::uint16_t device) const {
  for (const auto& id : ids) {
    if (id.vendor == vendor && id.device == device) return id.source;
  }
  return std::nullopt;
}

}  // namespace vmprep
