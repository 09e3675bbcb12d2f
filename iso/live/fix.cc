/// "Fix an installed system": find it, mount it read-only, show vmcheck's report and the
/// session's plan for this hardware (runtime root "/") and that system (config root = where
/// it is mounted), ask, then remount it read-write and apply the plan through the session
/// API (fixers/session.h), which records the transaction and runs the regenerate commands
/// chrooted there; unmount everything on every way out.
#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <memory>

#include "core/host.h"
#include "core/text.h"
#include "fixers/session.h"
#include "iso/live/block.h"
#include "iso/live/devlinks.h"
#include "iso/live/fix_plan.h"
#include "iso/live/flows.h"
#include "iso/live/installed.h"
#include "iso/live/mount.h"
#include "iso/live/prompt.h"
#include "iso/live/run.h"

namespace vmprep::live {
namespace {

constexpr int kExitCannotRun = 3;
constexpr int kExitDeclined = 4;

void PrintLog(std::vector<std::string>* log) {
  for (const auto& line : *log) std::printf("  %s\n", line.c_str());
  std::fflush(stdout);
  log->clear();
}

int CannotRun(const std::string& message) {
  std::fprintf(stderr, "vmprep-live: %s\n", message.c_str());
  return kExitCannotRun;
}

std::string Describe(const InstalledSystem& s) {
  return fmt::format("{} ({}{}, {}){}", s.fs.device, s.fs.type,
                     s.subvol.empty() ? "" : ", subvolume " + Printable(s.subvol),
                     HumanSize(s.fs.size_bytes), s.pretty_name.empty() ? "" : ": " + s.pretty_name);
}

// One run of the flow: the live system's Host, what was found, what is mounted. Every way
// out goes through Finish, which unmounts.
class FixFlow {
 public:
  FixFlow(const FixRequest& request, Host live) : request_(request), live_(std::move(live)) {}
  int Run();

 private:
  int Finish(int status);
  int MountChosen();
  int MakeWritable();
  int RunWizard();
  const InstalledSystem* Choose();
  bool AskSelection();
  int PlanAndApply(const Request& request);
  int Apply(const Request& request, const SessionPlan& shown);

  const FixRequest& request_;
  const bool interactive_ = !request_.yes;
  Host live_;
  std::vector<BlockFs> filesystems_;
  std::vector<InstalledSystem> systems_;
  const InstalledSystem* chosen_ = nullptr;
  std::unique_ptr<MountedSystem> mounted_;
  std::vector<std::string> devices_ = request_.devices;
  std::vector<std::string> enable_;
};

int FixFlow::Finish(int status) {
  if (!mounted_) return status;
  auto left = mounted_->Close();
  if (left.empty()) {
    std::printf("Unmounted %s and everything mounted below %s.\n", chosen_->fs.device.c_str(),
                mounted_->dir().c_str());
    return status;
  }
  for (const auto& l : left) std::fprintf(stderr, "vmprep-live: still mounted: %s\n", l.c_str());
  std::fprintf(stderr,
               "vmprep-live: power off from the menu (it unmounts what is left below %s) or "
               "run /usr/lib/vmprep/live/shutdown from the shell, which does the same\n",
               request_.work_dir.c_str());
  return status == 0 ? kExitNotUnmounted : status;
}

const InstalledSystem* FixFlow::Choose() {
  if (request_.root_spec.empty()) {
    std::vector<std::string> shown;
    for (const auto& s : systems_) shown.push_back(Describe(s));
    auto i = AskChoice(shown, "Which system");
    return i ? &systems_[*i] : nullptr;
  }
  auto fs = ResolveSpec(filesystems_, request_.root_spec);
  if (!fs) {
    std::fprintf(stderr, "vmprep-live: %s\n", fs.error().message.c_str());
    return nullptr;
  }
  for (const auto& s : systems_)
    if (s.fs.device == fs->device) return &s;
  std::fprintf(stderr,
               "vmprep-live: %s (%s) holds no installed Linux system (no /etc/fstab and "
               "os-release found on it)\n",
               fs->device.c_str(), fs->type.c_str());
  return nullptr;
}

// The devices and --enable items: from the request, else asked. False at end of input.
bool FixFlow::AskSelection() {
  for (const auto& e : request_.enable)
    if (!e.empty()) enable_.push_back(e);
  if (!request_.enable_given) enable_ = {"iommu"};
  if (interactive_ && !request_.devices_given) {
    std::printf("\nIOMMU groups of this machine:\n");
    if (auto r = RunProgram({"vmcheck", "groups"}); !r)
      std::printf("%s\n", r.error().ToString().c_str());
    if (!AskPciDevices("PCI devices to give to vfio-pci at boot, as `vmcheck groups` shows them "
                       "(e.g. 01:00.0 01:00.1; empty for none): ",
                       &devices_))
      return false;
  }
  if (interactive_ && !request_.enable_given) {
    auto answer = Ask("Turn the IOMMU on at boot (intel_iommu=on on Intel)? [Y/n] ");
    if (!answer) return false;
    if (*answer == "n" || *answer == "N" || *answer == "no") enable_.clear();
  }
  return true;
}

// Finds the installed systems, takes the one asked for and mounts it read-only: 0, or the
// exit status to end with.
int FixFlow::MountChosen() {
  for (const auto& d : {request_.work_dir + "/probe", request_.work_dir + "/target"}) {
    if (auto r = live_.MakeDirs(Root::kRuntime, d); !r) return CannotRun(r.error().ToString());
  }
  std::printf("Looking for installed Linux systems...\n");
  std::fflush(stdout);
  std::vector<std::string> notes;
  filesystems_ = SettledFilesystems(live_, &notes);
  systems_ = FindInstalledSystems(filesystems_, request_.work_dir + "/probe", &notes);
  for (const auto& n : notes) std::printf("note: %s\n", n.c_str());
  if (request_.root_spec.empty() && systems_.empty()) {
    std::printf("No installed Linux system found on this machine's disks.\n");
    return kExitCannotRun;
  }
  chosen_ = Choose();
  if (chosen_ == nullptr) return request_.root_spec.empty() ? kExitDeclined : kExitCannotRun;
  std::printf("Installed system: %s\n", Describe(*chosen_).c_str());

  std::vector<std::string> log;
  auto mounted = MountedSystem::Open(filesystems_, *chosen_, request_.work_dir + "/target", &log);
  PrintLog(&log);
  if (!mounted) {
    std::fprintf(stderr, "vmprep-live: cannot mount the installed system: %s\n",
                 mounted.error().ToString().c_str());
    // Whatever was mounted before the failure goes again.
    auto left = UnmountTree(live_, request_.work_dir + "/target");
    for (const auto& l : left) std::fprintf(stderr, "vmprep-live: still mounted: %s\n", l.c_str());
    return left.empty() ? kExitCannotRun : kExitNotUnmounted;
  }
  mounted_ = std::move(*mounted);
  return 0;
}

int FixFlow::Run() {
  if (int status = MountChosen(); status != 0 || !mounted_) return status;
  if (request_.wizard) return Finish(RunWizard());
  if (!AskSelection()) return Finish(kExitDeclined);
  auto parsed = ParseRequest(devices_, enable_, {});
  if (!parsed) return Finish(CannotRun(parsed.error().ToString()));
  if (parsed->empty()) {
    std::printf("Nothing asked: no device for vfio-pci and the IOMMU left as it is.\n");
    return Finish(0);
  }
  return Finish(PlanAndApply(*parsed));
}

// Makes the mounted system writable and ready for chrooted commands: 0 or an exit status.
int FixFlow::MakeWritable() {
  std::vector<std::string> log;
  auto writable = mounted_->MakeWritable(&log);
  PrintLog(&log);
  if (!writable) return CannotRun(writable.error().ToString() + "; nothing written");
  // The installed system's tools look its disks up by UUID (grub-mkconfig's root=UUID=).
  for (const auto& p : MakeDiskLinks(live_, filesystems_)) std::printf("  note: %s\n", p.c_str());
  return 0;
}

// The wizard plans and asks by itself, so the system is mounted read-write before it starts.
int FixFlow::RunWizard() {
  std::printf("\n== The wizard on %s (mounted read-write: it writes only what you confirm in it)\n",
              chosen_->fs.device.c_str());
  if (int status = MakeWritable(); status != 0) return status;
  auto r =
      RunProgram({"vmsetup", "wizard", "--runtime-root", "/", "--config-root", mounted_->dir()});
  if (!r) return CannotRun(r.error().ToString());
  return r->status;
}

int FixFlow::PlanAndApply(const Request& request) {
  const std::string& root = mounted_->dir();
  std::printf("\n== vmcheck: this machine with %s's configuration\n", chosen_->fs.device.c_str());
  std::vector<std::string> check = {"vmcheck", "--quiet",       "--runtime-root",
                                    "/",       "--config-root", root};
  for (const auto& d : devices_) check.insert(check.end(), {"--device", d});
  if (auto r = RunProgram(check); !r) std::printf("%s\n", r.error().ToString().c_str());

  // As vmsetup --runtime-root / --config-root ROOT: this hardware, that system's files.
  auto host = Host::OpenFromOptions("", "/", root);
  if (!host) return CannotRun(fmt::format("cannot use root {}", host.error().ToString()));
  SessionPlan plan = MakePlan(*host, request, ShowProgress);
  if (!request_.plan_json.empty()) {
    if (auto w = live_.WriteAtomic(Root::kRuntime, request_.plan_json, PlanJson(plan), {}); !w)
      std::fprintf(stderr, "vmprep-live: %s\n", w.error().ToString().c_str());
  }
  std::printf("\n== The plan for %s\n%s", chosen_->fs.device.c_str(), PlanText(plan).c_str());
  if (!plan.refusals.empty()) {
    std::fprintf(stderr, "vmprep-live: the plan was refused (see above); nothing written\n");
    return ExitStatus(Outcome::kRefused);
  }
  if (plan.NothingToDo()) {
    std::printf("%s already has what was asked; nothing to write.\n", chosen_->fs.device.c_str());
    return 0;
  }
  if (interactive_ &&
      !IsYes(Ask(fmt::format("Write these changes to {}? [y/N] ", chosen_->fs.device)))) {
    std::printf("Nothing written.\n");
    return kExitDeclined;
  }
  return Apply(request, plan);
}

int FixFlow::Apply(const Request& request, const SessionPlan& shown) {
  std::printf("\n== Writing to %s\n", chosen_->fs.device.c_str());
  if (int status = MakeWritable(); status != 0) return status;
  auto host = Host::OpenFromOptions("", "/", mounted_->dir());
  if (!host) return CannotRun(fmt::format("cannot use root {}", host.error().ToString()));
  bool changed_since = false;
  // The session plans again under its lock: what is written must be what was shown.
  auto confirm = [&](const SessionPlan& now) {
    changed_since = !SameChanges(now, shown);
    return !changed_since;
  };
  SessionResult r = vmprep::Apply(*host, request, {.confirm = confirm, .progress = ShowProgress});
  for (const auto& e : r.errors) std::fprintf(stderr, "vmprep-live: %s\n", e.ToString().c_str());
  if (changed_since) {
    std::fprintf(stderr,
                 "vmprep-live: the installed system's files changed after the plan was shown; "
                 "nothing written (run the fix again to see the new plan)\n");
    return ExitStatus(Outcome::kRefused);
  }
  if (r.outcome == Outcome::kDone) {
    std::printf("\n%s is ready: reboot into it to use the new configuration.\n",
                chosen_->fs.device.c_str());
  } else if (r.outcome == Outcome::kActionFailed) {
    std::fprintf(stderr,
                 "vmprep-live: the files are written; a regenerate command failed: run "
                 "it in the installed system by hand\n");
  }
  return ExitStatus(r.outcome);
}

}  // namespace

int ListRoots(const std::string& work_dir) {
  auto host = OpenLiveHost();
  if (!host) return kExitCannotRun;
  std::vector<std::string> notes;
  auto filesystems = SettledFilesystems(*host, &notes);
  if (auto r = host->MakeDirs(Root::kRuntime, work_dir + "/probe"); !r)
    return CannotRun(r.error().ToString());
  auto systems = FindInstalledSystems(filesystems, work_dir + "/probe", &notes);
  if (systems.empty()) std::printf("No installed Linux system found.\n");
  for (const auto& s : systems) std::printf("%s\n", Describe(s).c_str());
  for (const auto& n : notes) std::printf("note: %s\n", n.c_str());
  return systems.empty() ? 1 : 0;
}

int RunFix(const FixRequest& request) {
  // Ctrl-C must not leave the installed system mounted: this process ignores it (the
  // programs it runs do not) and unmounts on every way out.
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGQUIT, SIG_IGN);
  auto host = OpenLiveHost();
  if (!host) return kExitCannotRun;
  return FixFlow(request, std::move(*host)).Run();
}

}  // namespace vmprep::live
