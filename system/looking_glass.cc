#include "system/looking_glass.h"

#include <fmt/format.h>

#include <bit>
#include <charconv>

#include "core/text.h"
#include "formats/modprobe_conf.h"
#include "system/fixer_ids.h"
#include "system/modules.h"
#include "system/vfio_config.h"

namespace vmprep {

std::uint64_t LookingGlassBytes(std::uint64_t width, std::uint64_t height) {
  return std::bit_ceil(width * height * 4 * 2 + 10 * kLookingGlassMiB);
}

std::string LookingGlassFits(std::uint64_t bytes) {
  struct Mode {
    int w, h;
  };
  constexpr Mode kModes[] = {{1920, 1080}, {2560, 1440}, {3440, 1440}, {3840, 2160}};
  std::string fits;
  for (const auto& m : kModes)
    if (LookingGlassBytes(m.w, m.h) <= bytes) fits = fmt::format("{}x{}", m.w, m.h);
  return fits;
}

std::uint64_t KvmfrSizeMb(std::uint64_t bytes) {
  return std::bit_ceil((bytes + kLookingGlassMiB - 1) / kLookingGlassMiB);
}

std::string KvmfrUdevRule(std::string_view user) {
  return user.empty() || user == "root"
             ? std::string("SUBSYSTEM==\"kvmfr\", GROUP=\"kvm\", MODE=\"0660\"")
             : fmt::format("SUBSYSTEM==\"kvmfr\", OWNER=\"{}\", GROUP=\"kvm\", MODE=\"0660\"",
                           user);
}

std::optional<std::uint64_t> ParseKvmfrMb(std::string_view text) {
  text = Trim(text);
  std::uint64_t mb = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), mb);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return mb;
}

KvmfrSetup ReadKvmfrSetup(const Host& host) {
  KvmfrSetup setup;
  for (const auto& path : ModprobeFiles(host)) {
    auto text = host.Read(Root::kConfig, path, 1 << 20);
    auto conf = text ? ModprobeConf::Parse(*text, path)
                     : std::expected<ModprobeConf, Error>(std::unexpected(text.error()));
    if (!conf) {
      setup.evidence.push_back({path, conf.error().ToString()});
      continue;
    }
    auto size = conf->Param("kvmfr", "static_size_mb");
    if (!size) continue;
    setup.static_size_mb = ParseKvmfrMb(*size);
    setup.size_source = path;
    auto info = host.Stat(Root::kConfig, path);
    setup.size_mtime = info ? info->mtime : 0;
    setup.evidence.push_back({path, "options kvmfr static_size_mb=" + *size});
  }
  setup.loads_at_boot = FindBootLoadEntries(host, "kvmfr");
  const std::string rules(kKvmfrUdevRules);
  if (auto text = host.Read(Root::kConfig, rules, 1 << 16)) {
    for (auto line : SplitLines(*text))
      if (Trim(line).starts_with("SUBSYSTEM==\"kvmfr\"")) setup.udev_rule = std::string(Trim(line));
    setup.evidence.push_back({rules, setup.udev_rule.empty() ? "no kvmfr rule" : setup.udev_rule});
  }
  return setup;
}

}  // namespace vmprep
