/// Initramfs configuration as each generator reads it: mkinitcpio sources mkinitcpio.conf
/// then conf.d/*.conf; dracut reads dracut.conf then *.conf from /usr/lib/dracut/dracut.conf.d
/// and /etc/dracut.conf.d by name (/etc hides the same name); initramfs-tools reads
/// /etc/initramfs-tools/modules and modules.d; booster reads /etc/booster.yaml.
#include "system/initramfs_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "core/dropins.h"
#include "core/paths.h"
#include "core/text.h"
#include "formats/shell_vars.h"
#include "system/modules.h"

namespace vmprep {
namespace {

// The first of `paths` that exists; "" when none does; an Error when one cannot be told.
std::expected<std::string, Error> FirstExisting(const Host& host,
                                                std::initializer_list<const char*> paths) {
  for (const char* p : paths) {
    auto exists = CheckExists(host, Root::kConfig, p);
    if (!exists) return std::unexpected(exists.error());
    if (*exists) return std::string(p);
  }
  return std::string();
}

// Applies every top-level assignment of `vars` in `files` (in order) as bash would when
// sourcing them one after another: NAME= resets, NAME+= appends.
void ApplyShellFiles(const Host& host, const std::vector<std::string>& files,
                     const std::vector<std::string>& vars, std::vector<std::string>* out,
                     InitramfsGenerator* gen) {
  for (const auto& path : files) {
    auto text = host.Read(Root::kConfig, path, 1 << 20);
    if (!text) continue;
    auto parsed = ShellVarsFile::Parse(*text, path);
    if (!parsed) {
      gen->errors.push_back(parsed.error());
      continue;
    }
    for (const auto& a : parsed->assignments()) {
      if (std::find(vars.begin(), vars.end(), a.name) == vars.end()) continue;
      std::vector<std::string> words;
      bool ok = true;
      auto take = [&](const ShellWord& w) {
        if (!w.is_static) {
          gen->errors.push_back(Error{path, a.line,
                                      fmt::format("{} is built from an expansion ({}); "
                                                  "expected literal module names",
                                                  a.name, w.why_not_static)});
          ok = false;
          return;
        }
        for (auto word : SplitWords(w.value)) words.emplace_back(word);
      };
      if (a.is_array) {
        for (const auto& e : a.elements) take(e);
      } else {
        take(a.scalar);
      }
      if (!ok) continue;
      if (!a.append) out->clear();
      for (const auto& w : words) {
        out->push_back(w);
        gen->evidence.push_back({fmt::format("{}:{}", path, a.line),
                                 fmt::format("{}{}= {}", a.name, a.append ? "+" : "", w)});
      }
    }
  }
}

}  // namespace

bool InitramfsGenerator::Loads(std::string_view module) const {
  std::string want = ModuleName(module);
  return std::any_of(modules.begin(), modules.end(),
                     [&](const std::string& m) { return ModuleName(m) == want; });
}

bool InitramfsGenerator::Mentions(std::string_view module) const {
  std::string want = ModuleName(module);
  return Loads(module) || std::any_of(included.begin(), included.end(),
                                      [&](const std::string& m) { return ModuleName(m) == want; });
}

std::vector<std::string> BindHookFiles(std::string_view generator) {
  if (generator == "initramfs-tools") {
    return {"/usr/lib/vmprep/vfio-bind.sh", "/usr/share/initramfs-tools/hooks/vmprep-vfio",
            "/usr/share/initramfs-tools/scripts/init-top/00vmprep-vfio"};
  }
  if (generator == "dracut") {
    return {"/usr/lib/vmprep/vfio-bind.sh",
            "/usr/lib/dracut/modules.d/90vmprep-vfio/module-setup.sh",
            "/usr/lib/dracut/modules.d/90vmprep-vfio/vmprep-vfio.sh"};
  }
  if (generator == "mkinitcpio") {
    return {"/usr/lib/vmprep/vfio-bind.sh", "/usr/lib/initcpio/install/vmprep-vfio",
            "/usr/lib/initcpio/hooks/vmprep-vfio"};
  }
  return {};
}

BindHookState CheckBindHook(const Host& host, const InitramfsGenerator& generator) {
  BindHookState state;
  for (const auto& path : BindHookFiles(generator.name)) {
    if (!host.Exists(Root::kConfig, path)) state.missing.push_back(path);
  }
  if (generator.name == "mkinitcpio") {
    const auto& hooks = generator.hooks;
    auto at = [&](std::string_view name) {
      return std::find(hooks.begin(), hooks.end(), name) - hooks.begin();
    };
    const auto ours = at("vmprep-vfio"), base = at("base"), udev = at("udev");
    const auto end = static_cast<std::ptrdiff_t>(hooks.size());
    state.listed = ours != end;
    state.ordered = !state.listed || ((base == end || base < ours) && (udev == end || ours < udev));
    state.modconf = at("modconf") != end || at("systemd") != end;
  }
  return state;
}

std::vector<std::string> MkinitcpioFiles(const Host& host) {
  std::vector<std::string> files = {"/etc/mkinitcpio.conf"};
  for (auto& f : DropInFiles(host, Root::kConfig, {"/etc/mkinitcpio.conf.d"})) files.push_back(f);
  return files;
}

KernelVersion KernelVersion::Parse(std::string_view release) {
  KernelVersion v;
  std::string_view s = Trim(release);
  int major = 0, minor = 0;
  auto r1 = std::from_chars(s.data(), s.data() + s.size(), major);
  if (r1.ec != std::errc() || r1.ptr == s.data() + s.size() || *r1.ptr != '.') return v;
  auto r2 = std::from_chars(r1.ptr + 1, s.data() + s.size(), minor);
  if (r2.ec != std::errc()) return v;
  v.major = major;
  v.minor = minor;
  return v;
}

std::vector<std::string> VfioEarlyModules(const KernelVersion& kernel) {
  std::vector<std::string> m = {"vfio_pci", "vfio", "vfio_iommu_type1"};
  if (kernel.has_virqfd_module()) m.push_back("vfio_virqfd");
  return m;
}

namespace {

InitramfsGenerator MkinitcpioGenerator(const Host& host, const std::string& tool) {
  InitramfsGenerator g{"mkinitcpio",
                       tool,
                       {{"mkinitcpio", "-P"}, "rebuild the initramfs of every mkinitcpio preset"}};
  std::vector<std::string> files = MkinitcpioFiles(host);
  ApplyShellFiles(host, files, {"MODULES"}, &g.modules, &g);
  ApplyShellFiles(host, files, {"HOOKS"}, &g.hooks, &g);
  return g;
}

InitramfsGenerator DracutGenerator(const Host& host, const std::string& tool) {
  // --regenerate-all rebuilds the image of every installed kernel where dracut itself
  // puts it (BLS /boot/<machine-id>/<version>/initrd on kernel-install systems,
  // /boot/initramfs-<version>.img otherwise); --force because the images exist.
  InitramfsGenerator g{"dracut",
                       tool,
                       {{"dracut", "--regenerate-all", "--force"},
                        "rebuild the initramfs of every installed kernel"}};
  std::vector<std::string> files = {"/etc/dracut.conf"};
  for (auto& f :
       DropInFiles(host, Root::kConfig, {"/usr/lib/dracut/dracut.conf.d", "/etc/dracut.conf.d"}))
    files.push_back(f);
  ApplyShellFiles(host, files, {"force_drivers"}, &g.modules, &g);
  ApplyShellFiles(host, files, {"add_drivers"}, &g.included, &g);
  return g;
}

InitramfsGenerator InitramfsToolsGenerator(const Host& host, const std::string& tool) {
  InitramfsGenerator g{
      "initramfs-tools",
      tool,
      {{"update-initramfs", "-u", "-k", "all"}, "rebuild the initramfs of every installed kernel"}};
  std::vector<std::string> files = {"/etc/initramfs-tools/modules"};
  if (auto names = host.List(Root::kConfig, "/etc/initramfs-tools/modules.d")) {
    for (const auto& n : *names) files.push_back("/etc/initramfs-tools/modules.d/" + n);
  }
  for (const auto& path : files) {
    auto text = host.Read(Root::kConfig, path, 1 << 20);
    if (!text) continue;
    int n = 0;
    for (auto line : SplitLines(*text)) {
      ++n;
      auto t = Trim(line);
      if (t.empty() || t.front() == '#') continue;
      std::string m(SplitWords(t)[0]);
      g.modules.push_back(m);
      g.evidence.push_back({fmt::format("{}:{}", path, n), std::string(t)});
    }
  }
  return g;
}

InitramfsGenerator BoosterGenerator(const Host& host, const std::string& tool) {
  InitramfsGenerator g{"booster",
                       tool,
                       {{"/usr/lib/booster/regenerate_images"},
                        "rebuild the booster images of every installed kernel"}};
  const char* path = "/etc/booster.yaml";
  auto text = host.Read(Root::kConfig, path, 1 << 20);
  if (!text) return g;
  int n = 0;
  for (auto line : SplitLines(*text)) {
    ++n;
    auto t = Trim(line);
    for (std::string_view key : {"modules_force_load:", "modules:"}) {
      if (!t.starts_with(key)) continue;
      auto list = Trim(t.substr(key.size()));
      std::size_t pos = 0;
      while (pos <= list.size()) {
        std::size_t comma = list.find(',', pos);
        if (comma == std::string_view::npos) comma = list.size();
        auto item = Trim(list.substr(pos, comma - pos));
        if (!item.empty()) (key == "modules:" ? g.included : g.modules).emplace_back(item);
        pos = comma + 1;
      }
      g.evidence.push_back({fmt::format("{}:{}", path, n), std::string(t)});
    }
  }
  return g;
}

}  // namespace

std::expected<std::vector<InitramfsGenerator>, Error> ReadInitramfsGenerators(const Host& host) {
  std::vector<InitramfsGenerator> gens;
  auto mkinitcpio = FirstExisting(host, {"/usr/bin/mkinitcpio", "/bin/mkinitcpio"});
  if (!mkinitcpio) return std::unexpected(mkinitcpio.error());
  if (!mkinitcpio->empty()) gens.push_back(MkinitcpioGenerator(host, *mkinitcpio));
  auto dracut = FirstExisting(host, {"/usr/bin/dracut", "/usr/sbin/dracut", "/sbin/dracut"});
  if (!dracut) return std::unexpected(dracut.error());
  if (!dracut->empty()) gens.push_back(DracutGenerator(host, *dracut));
  auto itools = FirstExisting(host, {"/usr/sbin/update-initramfs", "/sbin/update-initramfs"});
  if (!itools) return std::unexpected(itools.error());
  if (!itools->empty()) gens.push_back(InitramfsToolsGenerator(host, *itools));
  auto booster = FirstExisting(host, {"/usr/bin/booster"});
  if (!booster) return std::unexpected(booster.error());
  if (!booster->empty()) gens.push_back(BoosterGenerator(host, *booster));
  return gens;
}

}  // namespace vmprep
