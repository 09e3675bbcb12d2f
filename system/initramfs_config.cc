/// Initramfs configuration as each generator reads it: mkinitcpio sources mkinitcpio.conf
/// then conf.d/*.conf; dracut reads dracut.conf then *.conf from /usr/lib/dracut/dracut.conf.d
/// and /etc/dracut.conf.d by name (/etc hides the same name); initramfs-tools reads
/// /etc/initramfs-tools/modules and modules.d; booster reads /etc/booster.yaml.
#include "system/initramfs_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/dropins.h"
#include "formats/shell_vars.h"
#include "system/modules.h"

namespace vmprep {
namespace {

std::string FirstExisting(const Host& host, std::initializer_list<const char*> paths) {
  for (const char* p : paths) {
    if (host.Exists(Root::kConfig, p)) return p;
  }
  return "";
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

BindHookState CheckBindHook(const Host& host, const InitramfsGenerator& generator) {
  std::vector<std::string> wanted = {"/usr/lib/vmprep/vfio-bind.sh"};
  if (generator.name == "initramfs-tools") {
    wanted.push_back("/usr/share/initramfs-tools/hooks/vmprep-vfio");
    wanted.push_back("/usr/share/initramfs-tools/scripts/init-top/00vmprep-vfio");
  } else if (generator.name == "dracut") {
    wanted.push_back("/usr/lib/dracut/modules.d/90vmprep-vfio/module-setup.sh");
  } else if (generator.name == "mkinitcpio") {
    wanted.push_back("/usr/lib/initcpio/install/vmprep-vfio");
    wanted.push_back("/usr/lib/initcpio/hooks/vmprep-vfio");
  }
  BindHookState state;
  for (const auto& path : wanted) {
    if (!host.Exists(Root::kConfig, path)) state.missing.push_back(path);
  }
  if (generator.name == "mkinitcpio") {
    state.listed = std::find(generator.hooks.begin(), generator.hooks.end(), "vmprep-vfio") !=
                   generator.hooks.end();
  }
  return state;
}

std::vector<InitramfsGenerator> ReadInitramfsGenerators(const Host& host) {
  std::vector<InitramfsGenerator> gens;
  if (std::string tool = FirstExisting(host, {"/usr/bin/mkinitcpio", "/bin/mkinitcpio"});
      !tool.empty()) {
    InitramfsGenerator g{"mkinitcpio", tool};
    std::vector<std::string> files = {"/etc/mkinitcpio.conf"};
    for (auto& f : DropInFiles(host, Root::kConfig, {"/etc/mkinitcpio.conf.d"})) files.push_back(f);
    ApplyShellFiles(host, files, {"MODULES"}, &g.modules, &g);
    ApplyShellFiles(host, files, {"HOOKS"}, &g.hooks, &g);
    gens.push_back(std::move(g));
  }
  if (std::string tool =
          FirstExisting(host, {"/usr/bin/dracut", "/usr/sbin/dracut", "/sbin/dracut"});
      !tool.empty()) {
    InitramfsGenerator g{"dracut", tool};
    std::vector<std::string> files = {"/etc/dracut.conf"};
    for (auto& f :
         DropInFiles(host, Root::kConfig, {"/usr/lib/dracut/dracut.conf.d", "/etc/dracut.conf.d"}))
      files.push_back(f);
    ApplyShellFiles(host, files, {"force_drivers"}, &g.modules, &g);
    ApplyShellFiles(host, files, {"add_drivers"}, &g.included, &g);
    gens.push_back(std::move(g));
  }
  if (std::string tool =
          FirstExisting(host, {"/usr/sbin/update-initramfs", "/sbin/update-initramfs"});
      !tool.empty()) {
    InitramfsGenerator g{"initramfs-tools", tool};
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
    gens.push_back(std::move(g));
  }
  if (std::string tool = FirstExisting(host, {"/usr/bin/booster"}); !tool.empty()) {
    InitramfsGenerator g{"booster", tool};
    const char* path = "/etc/booster.yaml";
    if (auto text = host.Read(Root::kConfig, path, 1 << 20)) {
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
    }
    gens.push_back(std::move(g));
  }
  return gens;
}

}  // namespace vmprep
