/// kvmfr: Looking Glass's kvmfr module gives QEMU and the client /dev/kvmfr0, shared memory
/// for the guest's frames. The module is out of tree (Looking Glass's DKMS package; Debian
/// has none), so the plan refuses when the kernel has no kvmfr module instead of configuring
/// a module that is not there. Three files, as Looking Glass's documentation names them:
/// `options kvmfr static_size_mb=N` in /etc/modprobe.d/kvmfr.conf (a token edit when the file
/// exists), `kvmfr` in /etc/modules-load.d/kvmfr.conf, and a udev rule giving /dev/kvmfr0 to
/// the user and group kvm in /etc/udev/rules.d/99-kvmfr.rules.
#include "fixers/kvmfr.h"

#include <fmt/format.h>

#include <bit>

#include "core/text.h"
#include "formats/modprobe_conf.h"
#include "system/accounts.h"
#include "system/looking_glass.h"
#include "system/modules.h"

namespace vmprep {
namespace {

constexpr std::uint64_t kMaxKvmfrMb = 1024;

// "64" or "2560x1440" -> MiB.
std::optional<std::uint64_t> SizeMb(std::string_view text) {
  if (auto x = text.find('x'); x != std::string_view::npos) {
    auto w = ParseKvmfrMb(text.substr(0, x)), h = ParseKvmfrMb(text.substr(x + 1));
    if (!w || !h || *w == 0 || *h == 0 || *w > 16384 || *h > 16384) return std::nullopt;
    return KvmfrSizeMb(LookingGlassBytes(*w, *h));
  }
  return ParseKvmfrMb(text);
}

bool ValidUser(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 32 && name[0] != '-';
  for (char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  return ok;
}

// modprobe.d: static_size_mb=N where kmod will read it last.
std::expected<void, Error> PlanOptions(const Host& host, std::uint64_t mb, EditSet& set) {
  const std::string path(kKvmfrModprobeConf);
  const KvmfrSetup setup = ReadKvmfrSetup(host);
  if (setup.static_size_mb == mb) return {};
  auto base = [](std::string_view p) { return p.substr(p.rfind('/') + 1); };
  if (!setup.size_source.empty() && setup.size_source != path &&
      base(setup.size_source) > base(path))
    return std::unexpected(
        Error{setup.size_source, 0,
              fmt::format("sets kvmfr static_size_mb and kmod reads it after {}; expected "
                          "static_size_mb={} there",
                          path, mb),
              0});
  auto before = ReadIfExists(host, path);
  if (!before) return std::unexpected(before.error());
  auto conf = ModprobeConf::Parse(
      before->value_or("# Looking Glass: kvmfr makes /dev/kvmfr0 of this many MiB (vmsetup)\n"),
      path);
  if (!conf) return std::unexpected(conf.error());
  auto changed = conf->SetParam("kvmfr", "static_size_mb", std::to_string(mb));
  if (!changed) return std::unexpected(changed.error());
  if (*changed || !*before)
    set.edits.push_back(FileEdit{path, *before, conf->Serialize(), 0644, std::string(kFixKvmfr),
                                 fmt::format("kvmfr makes a {} MiB /dev/kvmfr0", mb)});
  return {};
}

// modules-load.d: kvmfr at boot, unless a file already loads it.
std::expected<void, Error> PlanBootLoad(const Host& host, EditSet& set) {
  if (!FindBootLoadEntries(host, "kvmfr").empty()) return {};
  const std::string path(kKvmfrModulesLoadConf);
  auto before = ReadIfExists(host, path);
  if (!before) return std::unexpected(before.error());
  std::string after = before->value_or("# Looking Glass's kvmfr module (vmsetup)\n");
  if (!after.empty() && after.back() != '\n') after += '\n';
  after += "kvmfr\n";
  set.edits.push_back(FileEdit{path, *before, after, 0644, std::string(kFixKvmfr),
                               "load kvmfr at boot (Looking Glass's /dev/kvmfr0)"});
  return {};
}

// udev: the rule replaces any SUBSYSTEM=="kvmfr" line of the file, else it is appended.
std::expected<void, Error> PlanUdevRule(const Host& host, const std::string& user, EditSet& set) {
  const std::string path(kKvmfrUdevRules), rule = KvmfrUdevRule(user);
  auto before = ReadIfExists(host, path);
  if (!before) return std::unexpected(before.error());
  const std::string text = before->value_or("");
  std::string after;
  bool placed = false;
  for (const auto& l : Lines(text)) {
    std::string_view whole = l.WithNewline(text);
    if (Trim(l.text).starts_with("SUBSYSTEM==\"kvmfr\"")) {
      if (!placed) after += rule + std::string(whole.substr(l.text.size()));
      placed = true;
    } else {
      after += whole;
    }
  }
  if (!placed) {
    if (!*before) after = "# Looking Glass: /dev/kvmfr0 for QEMU and the client (vmsetup)\n";
    if (!after.empty() && after.back() != '\n') after += '\n';
    after += rule + "\n";
  }
  if (after != *before)
    set.edits.push_back(FileEdit{
        path, *before, after, 0644, std::string(kFixKvmfr),
        fmt::format("/dev/kvmfr0 for {}, group kvm, mode 0660", user.empty() ? "root" : user)});
  return {};
}

class KvmfrFixer : public Fixer {
 public:
  std::string_view Id() const override { return kFixKvmfr; }
  std::string_view Description() const override {
    return "load Looking Glass's kvmfr module at boot with a static size, /dev/kvmfr0 for a user";
  }

  std::expected<EditSet, Error> Plan(const Host& host, const FixerOptions& options) const override {
    EditSet set;
    if (!options.kvmfr) return set;
    const auto& want = *options.kvmfr;
    if (!want.user.empty() && !LookupIdentity(host, want.user))
      return std::unexpected(Error{"/etc/passwd", 0, fmt::format("no user '{}'", want.user), 0});
    const ModuleIndex modules(host);
    const ModuleInfo mod = modules.Query("kvmfr");
    if (mod.state == ModuleState::kMissing)
      return std::unexpected(Error{
          modules.modules_dir(), 0,
          fmt::format("kernel {} has no kvmfr module: it is not part of Linux and Debian has no "
                      "package; install Looking Glass's kvmfr DKMS module (its source's module/ "
                      "directory: `dkms install .`) first, else kvmfr.conf would configure a "
                      "module that is not there",
                      modules.kernel_release()),
          0});
    if (mod.state == ModuleState::kUnknown)
      set.notes.push_back(fmt::format(
          "Could not check that kernel {} has the kvmfr module (no module index): it comes from "
          "Looking Glass's DKMS package.",
          modules.kernel_release()));
    for (auto step : {PlanOptions(host, want.size_mb, set), PlanBootLoad(host, set),
                      PlanUdevRule(host, want.user, set)})
      if (!step) return std::unexpected(step.error());
    if (set.edits.empty()) return set;
    const std::string fits = LookingGlassFits(want.size_mb * kLookingGlassMiB);
    set.notes.push_back(fmt::format(
        "{} MiB fits Looking Glass up to {}. Load it now (guests using it shut down): "
        "`modprobe -r kvmfr; modprobe kvmfr`, or reboot; udev applies the rule when the module "
        "makes /dev/kvmfr0. libvirt must allow \"/dev/kvmfr0\" in qemu.conf's cgroup_device_acl.",
        want.size_mb, fits.empty() ? "no common resolution (1920x1080 needs 32 MiB)" : fits));
    return set;
  }
};

}  // namespace

std::expected<FixerOptions::Kvmfr, Error> ParseKvmfrRequest(std::string_view value) {
  FixerOptions::Kvmfr out;
  const auto colon = value.find(':');
  auto mb = SizeMb(value.substr(0, colon));
  if (colon != std::string_view::npos) out.user = std::string(value.substr(colon + 1));
  if (!mb || *mb == 0 || *mb > kMaxKvmfrMb || !std::has_single_bit(*mb) ||
      (colon != std::string_view::npos && !ValidUser(out.user)))
    return std::unexpected(
        Error{"", 0,
              fmt::format("expected kvmfr=SIZE[:USER]: SIZE in MiB, a power of two up to {} (or a "
                          "resolution such as 2560x1440), USER a user name of /etc/passwd",
                          kMaxKvmfrMb),
              0});
  out.size_mb = *mb;
  return out;
}

std::unique_ptr<Fixer> MakeKvmfrFixer() { return std::make_unique<KvmfrFixer>(); }

}  // namespace vmprep
