/// Kernel module state through the Host seam plus libkmod over the config root.
#include "system/modules.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <libkmod.h>

#include <cctype>
#include <map>
#include <type_traits>

#include "core/dropins.h"

namespace vmprep {
namespace {

void SilentLog(void*, int, const char*, int, const char*, const char*, va_list) {}

// libkmod is opened on first use: it pulls in libcrypto, liblzma and libzstd, whose loading
// cost more than the rest of a report, and a ready host (kvm, vfio-pci, vhost_net loaded or
// built in) never needs the on-disk index.
struct KmodApi {
  decltype(&kmod_new) new_ctx = nullptr;
  decltype(&kmod_unref) unref = nullptr;
  decltype(&kmod_set_log_fn) set_log_fn = nullptr;
  decltype(&kmod_module_new_from_name_lookup) lookup = nullptr;
  decltype(&kmod_module_get_path) get_path = nullptr;
  decltype(&kmod_module_unref) module_unref = nullptr;
  decltype(&kmod_module_new_from_lookup) alias_lookup = nullptr;
  decltype(&kmod_list_next) list_next = nullptr;
  decltype(&kmod_module_get_module) list_module = nullptr;
  decltype(&kmod_module_get_name) get_name = nullptr;
  decltype(&kmod_module_unref_list) unref_list = nullptr;
  bool ok() const {
    return new_ctx && unref && set_log_fn && lookup && get_path && module_unref && alias_lookup &&
           list_next && list_module && get_name && unref_list;
  }

  static const KmodApi& Get() {
    static const KmodApi api = [] {
      KmodApi a;
      void* lib = ::dlopen("libkmod.so.2", RTLD_NOW | RTLD_LOCAL);
      if (lib == nullptr) return a;
      auto sym = [lib](auto& fn, const char* name) {
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib, name));
      };
      sym(a.new_ctx, "kmod_new");
      sym(a.unref, "kmod_unref");
      sym(a.set_log_fn, "kmod_set_log_fn");
      sym(a.lookup, "kmod_module_new_from_name_lookup");
      sym(a.get_path, "kmod_module_get_path");
      sym(a.module_unref, "kmod_module_unref");
      sym(a.alias_lookup, "kmod_module_new_from_lookup");
      sym(a.list_next, "kmod_list_next");
      sym(a.list_module, "kmod_module_get_module");
      sym(a.get_name, "kmod_module_get_name");
      sym(a.unref_list, "kmod_module_unref_list");
      return a;
    }();
    return api;
  }
};

}  // namespace

std::string_view ModuleStateName(ModuleState state) {
  switch (state) {
    case ModuleState::kLoaded:
      return "loaded";
    case ModuleState::kBuiltin:
      return "built in";
    case ModuleState::kAvailable:
      return "available, not loaded";
    case ModuleState::kMissing:
      return "missing";
    case ModuleState::kUnknown:
      return "unknown";
  }
  return "missing";
}

namespace {

// "/usr/lib/modules/<release>" (or /lib/modules) holding a module index, "" when none.
std::string ModulesDirFor(const Host& host, std::string_view release) {
  if (release.empty() || release.find('/') != std::string_view::npos || release == "." ||
      release == "..")
    return "";
  for (const char* base : {"/usr/lib/modules/", "/lib/modules/"}) {
    auto resolved = host.Resolve(Root::kConfig, std::string(base) + std::string(release));
    if (resolved && host.Exists(Root::kConfig, *resolved + "/modules.dep.bin")) return *resolved;
  }
  return "";
}

// The newest kernel with a module index in the config root ("6.1.0-28-amd64" after
// "6.1.0-9-amd64": numbers compare as numbers).
std::string NewestInstalledKernel(const Host& host) {
  std::string best;
  for (const char* base : {"/usr/lib/modules", "/lib/modules"}) {
    auto names = host.List(Root::kConfig, base);
    if (!names) continue;
    for (const auto& n : *names) {
      if (ModulesDirFor(host, n).empty()) continue;
      if (best.empty() || VersionLess(best, n)) best = n;
    }
    if (!best.empty()) break;
  }
  return best;
}

}  // namespace

bool VersionLess(std::string_view a, std::string_view b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      std::size_t i2 = i, j2 = j;
      while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2]))) ++i2;
      while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2]))) ++j2;
      auto na = a.substr(i, i2 - i), nb = b.substr(j, j2 - j);
      while (na.size() > 1 && na.front() == '0') na.remove_prefix(1);
      while (nb.size() > 1 && nb.front() == '0') nb.remove_prefix(1);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = i2, j = j2;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i, ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

ModuleIndex::ModuleIndex(const Host& host) : host_(host) {
  if (auto rel = host.Read(Root::kRuntime, "/proc/sys/kernel/osrelease")) {
    release_ = std::string(Trim(*rel));
  }
  modules_dir_ = ModulesDirFor(host, release_);
  // The live ISO looking at an installed system: a live runtime root and another config root.
  // A system without the running kernel's modules is then asked about its own kernel. (A
  // captured tree, or a host whose running kernel's modules were removed by an upgrade, keeps
  // the running kernel: its loaded state is still true.)
  if (modules_dir_.empty() && host.config_is_foreign()) {
    if (std::string installed = NewestInstalledKernel(host); !installed.empty()) {
      release_ = installed;
      running_ = false;
      modules_dir_ = ModulesDirFor(host, release_);
    }
  }
  if (!running_) return;
  if (auto mods = host.Read(Root::kRuntime, "/proc/modules")) {
    proc_modules_ = std::move(*mods);
    have_proc_modules_ = true;
  }
}

const KernelConfig& ModuleIndex::kernel_config() const {
  if (!config_) config_ = KernelConfig::Read(host_, release_, running_);
  return *config_;
}

::kmod_ctx* ModuleIndex::Context() const {
  if (ctx_tried_ || modules_dir_.empty()) return ctx_;
  ctx_tried_ = true;
  const KmodApi& kmod = KmodApi::Get();
  if (!kmod.ok()) return nullptr;
  // libkmod opens the index files itself; it gets the directory already resolved inside the
  // root, and only ever reads from it.
  const std::string& root = host_.root_path(Root::kConfig);
  std::string dir = (root == "/" ? "" : root) + modules_dir_;
  std::string conf = (root == "/" ? "" : root) + "/etc/modprobe.d";
  const char* configs[] = {conf.c_str(), nullptr};
  ctx_ = kmod.new_ctx(dir.c_str(), configs);
  if (ctx_ != nullptr) kmod.set_log_fn(ctx_, SilentLog, nullptr);
  return ctx_;
}

ModuleIndex::~ModuleIndex() {
  if (ctx_ != nullptr) KmodApi::Get().unref(ctx_);
}

ModuleInfo ModuleIndex::Query(std::string_view raw_name, std::string_view config_symbol) const {
  ModuleInfo info;
  info.name = ModuleName(raw_name);
  if (info.name.empty() || info.name.find('/') != std::string::npos) return info;
  const std::string sys = "/sys/module/" + info.name;

  if (have_proc_modules_) {
    for (auto line : SplitLines(proc_modules_)) {
      auto words = SplitWords(line);
      if (!words.empty() && words[0] == info.name) {
        info.state = ModuleState::kLoaded;
        info.evidence.push_back({"/proc/modules", std::string(Trim(line))});
        return info;
      }
    }
  }
  // /sys/module describes only the running kernel.
  auto initstate = running_ ? host_.Read(Root::kRuntime, sys + "/initstate")
                            : std::expected<std::string, Error>(std::unexpected(Error{}));
  if (initstate) {
    info.state = ModuleState::kLoaded;
    info.evidence.push_back({sys + "/initstate", std::string(Trim(*initstate))});
    return info;
  }
  if (running_ && host_.Exists(Root::kRuntime, sys)) {
    // A module directory without initstate belongs to a built-in module.
    info.state = ModuleState::kBuiltin;
    info.evidence.push_back({sys, "present without initstate: built into the kernel"});
    return info;
  }
  if (!config_symbol.empty() && kernel_config().known()) {
    const KernelConfig& config = kernel_config();
    auto tristate = config.Tristate(config_symbol);
    if (tristate == 'y') {
      info.state = ModuleState::kBuiltin;
      info.evidence.push_back(config.EvidenceFor(config_symbol));
      return info;
    }
    if (tristate == 'n') {
      info.evidence.push_back(config.EvidenceFor(config_symbol));
      return info;
    }
  }
  ::kmod_ctx* ctx = Context();
  if (ctx == nullptr) {
    // Neither loaded, nor known built in, and no index to look in: cannot tell.
    info.state = ModuleState::kUnknown;
    info.evidence.push_back(
        {modules_dir_.empty() ? fmt::format("/usr/lib/modules/{}", release_) : modules_dir_,
         release_.empty() ? "kernel release unknown (/proc/sys/kernel/osrelease unreadable)"
                          : "no module index for the running kernel"});
    if (have_proc_modules_) info.evidence.push_back({"/proc/modules", "not listed"});
    return info;
  }
  struct kmod_module* mod = nullptr;
  const KmodApi& kmod = KmodApi::Get();
  if (kmod.lookup(ctx, info.name.c_str(), &mod) == 0 && mod != nullptr) {
    const char* path = kmod.get_path(mod);
    if (path == nullptr) {
      info.state = ModuleState::kBuiltin;
      info.evidence.push_back({modules_dir_ + "/modules.builtin", info.name + " is built in"});
    } else {
      info.state = ModuleState::kAvailable;
      std::string p = path;
      const std::string& root = host_.root_path(Root::kConfig);
      if (root != "/" && p.starts_with(root)) p = p.substr(root.size());
      info.path = p;
      info.evidence.push_back(
          {modules_dir_ + "/modules.dep", fmt::format("{} -> {}", info.name, p)});
    }
    kmod.module_unref(mod);
  } else {
    info.evidence.push_back({modules_dir_ + "/modules.dep", info.name + " not found"});
  }
  if (info.state == ModuleState::kAvailable && have_proc_modules_) {
    info.evidence.push_back({"/proc/modules", "not listed (not loaded)"});
  }
  return info;
}

std::vector<std::string> ModuleIndex::ForAlias(std::string_view modalias) const {
  std::vector<std::string> names;
  ::kmod_ctx* ctx = Context();
  // Only what a device gives as its modalias ("pci:v00008086d000010D3..."), nothing a module
  // option or an install command could make of it.
  if (ctx == nullptr || modalias.empty() || modalias.size() > 256 ||
      modalias.find_first_of(" \t\n/") != std::string_view::npos)
    return names;
  const KmodApi& kmod = KmodApi::Get();
  struct kmod_list* list = nullptr;
  if (kmod.alias_lookup(ctx, std::string(modalias).c_str(), &list) != 0) return names;
  for (auto* it = list; it != nullptr; it = kmod.list_next(list, it)) {
    struct kmod_module* mod = kmod.list_module(it);
    if (mod == nullptr) continue;
    if (const char* name = kmod.get_name(mod)) names.push_back(ModuleName(name));
    kmod.module_unref(mod);
  }
  kmod.unref_list(list);
  return names;
}

}  // namespace vmprep

namespace vmprep {

std::vector<Evidence> FindBootLoadEntries(const Host& host, std::string_view raw_name) {
  const std::string want = ModuleName(raw_name);
  std::vector<Evidence> found;
  auto scan = [&](const std::string& path) {
    auto text = host.Read(Root::kConfig, path, 1 << 20);
    if (!text) return;
    int n = 0;
    for (auto line : SplitLines(*text)) {
      ++n;
      auto t = Trim(line);
      if (t.empty() || t.front() == '#' || t.front() == ';') continue;
      auto words = SplitWords(t);
      if (ModuleName(words[0]) == want)
        found.push_back({fmt::format("{}:{}", path, n), std::string(t)});
    }
  };
  // systemd-modules-load: files by name across the directories, first directory wins.
  for (const auto& path : DropInFiles(host, Root::kConfig,
                                      {"/usr/lib/modules-load.d", "/lib/modules-load.d",
                                       "/run/modules-load.d", "/etc/modules-load.d"})) {
    scan(path);
  }
  scan("/etc/modules");
  return found;
}

}  // namespace vmprep
