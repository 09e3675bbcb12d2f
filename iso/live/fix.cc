/// "Fix an installed system": find it, mount it read-only, run vmcheck and vmsetup plan with
/// runtime root "/" (this hardware) and config root = that system, ask, then remount it
/// read-write and run vmsetup apply (which runs the regenerate commands chrooted there), and
/// unmount everything. vmcheck and vmsetup are the installed binaries, run by execvp.
#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/host.h"
#include "core/text.h"
#include "iso/live/block.h"
#include "iso/live/devlinks.h"
#include "iso/live/flows.h"
#include "iso/live/installed.h"
#include "iso/live/mount.h"
#include "iso/live/run.h"
#include "system/topology.h"

namespace vmprep::live {
namespace {

// One line from stdin, trimmed; nullopt at end of input.
std::optional<std::string> Ask(const std::string& question) {
  std::printf("%s", question.c_str());
  std::fflush(stdout);
  char buf[512] = {};
  if (std::fgets(buf, sizeof buf, stdin) == nullptr) return std::nullopt;
  return std::string(Trim(buf));
}

void PrintLog(std::vector<std::string>* log) {
  for (const auto& line : *log) std::printf("  %s\n", line.c_str());
  std::fflush(stdout);
  log->clear();
}

std::string Describe(const InstalledSystem& s) {
  return fmt::format("{} ({}{}, {}){}", s.fs.device, s.fs.type,
                     s.subvol.empty() ? "" : ", subvolume " + Printable(s.subvol),
                     HumanSize(s.fs.size_bytes), s.pretty_name.empty() ? "" : ": " + s.pretty_name);
}

// Asks for the PCI devices to give to vfio-pci; false at end of input.
bool AskDevices(std::vector<std::string>* devices) {
  for (;;) {
    auto answer =
        Ask("PCI devices to give to vfio-pci at boot, as `vmcheck groups` shows them "
            "(e.g. 01:00.0 01:00.1; empty for none): ");
    if (!answer) return false;
    devices->clear();
    bool ok = true;
    for (auto word : SplitWords(*answer)) {
      auto address = PciAddress::Parse(word);
      if (!address) {
        std::printf("'%s' is not a PCI address such as 01:00.0\n", Printable(word).c_str());
        ok = false;
        break;
      }
      devices->push_back(address->ToString());
    }
    if (ok) return true;
  }
}

}  // namespace

int ListRoots(const std::string& work_dir) {
  auto host = Host::Open("/", "/");
  if (!host) {
    std::fprintf(stderr, "vmprep-live: %s\n", host.error().ToString().c_str());
    return 3;
  }
  std::vector<std::string> notes;
  if (!SettleBlockDevices(*host, 10)) notes.push_back("disks were still appearing after 10 s");
  auto filesystems = ProbeFilesystems(*host, &notes);
  if (auto r = host->MakeDirs(Root::kRuntime, work_dir + "/probe"); !r) {
    std::fprintf(stderr, "vmprep-live: %s\n", r.error().ToString().c_str());
    return 3;
  }
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
  const bool interactive = !request.yes;
  auto host = Host::Open("/", "/");
  if (!host) {
    std::fprintf(stderr, "vmprep-live: %s\n", host.error().ToString().c_str());
    return 3;
  }
  const std::string probe_dir = request.work_dir + "/probe";
  const std::string target_dir = request.work_dir + "/target";
  for (const auto& d : {probe_dir, target_dir}) {
    if (auto r = host->MakeDirs(Root::kRuntime, d); !r) {
      std::fprintf(stderr, "vmprep-live: %s\n", r.error().ToString().c_str());
      return 3;
    }
  }

  std::printf("Looking for installed Linux systems...\n");
  std::fflush(stdout);
  std::vector<std::string> notes;
  if (!SettleBlockDevices(*host, 10)) notes.push_back("disks were still appearing after 10 s");
  auto filesystems = ProbeFilesystems(*host, &notes);
  auto systems = FindInstalledSystems(filesystems, probe_dir, &notes);
  for (const auto& n : notes) std::printf("note: %s\n", n.c_str());

  const InstalledSystem* chosen = nullptr;
  if (!request.root_spec.empty()) {
    auto fs = ResolveSpec(filesystems, request.root_spec);
    if (!fs) {
      std::fprintf(stderr, "vmprep-live: %s\n", fs.error().message.c_str());
      return 3;
    }
    for (const auto& s : systems)
      if (s.fs.device == fs->device) chosen = &s;
    if (chosen == nullptr) {
      std::fprintf(stderr,
                   "vmprep-live: %s (%s) holds no installed Linux system (no /etc/fstab and "
                   "os-release found on it)\n",
                   fs->device.c_str(), fs->type.c_str());
      return 3;
    }
  } else {
    if (systems.empty()) {
      std::printf("No installed Linux system found on this machine's disks.\n");
      return 3;
    }
    for (std::size_t i = 0; i < systems.size(); ++i)
      std::printf("  %zu) %s\n", i + 1, Describe(systems[i]).c_str());
    for (;;) {
      auto answer = Ask(fmt::format("Which system (1-{}, empty to go back)? ", systems.size()));
      if (!answer || answer->empty()) return 4;
      std::size_t n = 0;
      for (char c : *answer) n = (c >= '0' && c <= '9' && n < 1000) ? n * 10 + (c - '0') : 9999;
      if (n >= 1 && n <= systems.size()) {
        chosen = &systems[n - 1];
        break;
      }
    }
  }
  std::printf("Installed system: %s\n", Describe(*chosen).c_str());

  std::vector<std::string> log;
  auto mounted = MountedSystem::Open(filesystems, *chosen, target_dir, &log);
  PrintLog(&log);
  if (!mounted) {
    std::fprintf(stderr, "vmprep-live: cannot mount the installed system: %s\n",
                 mounted.error().ToString().c_str());
    // Whatever was mounted before the failure goes again.
    if (auto left = UnmountTree(*host, target_dir); !left.empty()) {
      for (const auto& l : left)
        std::fprintf(stderr, "vmprep-live: still mounted: %s\n", l.c_str());
      return kExitNotUnmounted;
    }
    return 3;
  }
  const std::string& root = (*mounted)->dir();

  std::vector<std::string> devices = request.devices;
  std::vector<std::string> enable;
  for (const auto& e : request.enable)
    if (!e.empty()) enable.push_back(e);
  if (!request.enable_given) enable = {"iommu"};
  auto finish = [&](int status) {
    auto left = (*mounted)->Close();
    if (left.empty()) {
      std::printf("Unmounted %s and everything mounted below %s.\n", chosen->fs.device.c_str(),
                  root.c_str());
      return status;
    }
    for (const auto& l : left) std::fprintf(stderr, "vmprep-live: still mounted: %s\n", l.c_str());
    std::fprintf(stderr,
                 "vmprep-live: power off from the menu (it unmounts what is left below %s) or "
                 "run /usr/lib/vmprep/live/shutdown from the shell, which does the same\n",
                 request.work_dir.c_str());
    return status == 0 ? kExitNotUnmounted : status;
  };
  if (interactive && !request.devices_given) {
    std::printf("\nIOMMU groups of this machine:\n");
    if (auto r = RunProgram({"vmcheck", "groups"}); !r)
      std::printf("%s\n", r.error().ToString().c_str());
    if (!AskDevices(&devices)) return finish(4);
  }
  if (interactive && !request.enable_given) {
    auto answer = Ask("Turn the IOMMU on at boot (intel_iommu=on on Intel)? [Y/n] ");
    if (!answer) return finish(4);
    if (*answer == "n" || *answer == "N" || *answer == "no") enable.clear();
  }
  std::vector<std::string> select;
  for (const auto& d : devices) select.insert(select.end(), {"--device", d});
  if (!enable.empty()) select.insert(select.end(), {"--enable", Join(enable, ",")});
  if (select.empty()) {
    std::printf("Nothing asked: no device for vfio-pci and the IOMMU left as it is.\n");
    return finish(0);
  }
  std::vector<std::string> roots = {"--runtime-root", "/", "--config-root", root};

  std::printf("\n== vmcheck: this machine with %s's configuration\n", chosen->fs.device.c_str());
  std::vector<std::string> check = {"vmcheck", "--quiet"};
  check.insert(check.end(), roots.begin(), roots.end());
  for (const auto& d : devices) check.insert(check.end(), {"--device", d});
  if (auto r = RunProgram(check); !r) std::printf("%s\n", r.error().ToString().c_str());

  std::vector<std::string> plan = {"vmsetup", "plan"};
  plan.insert(plan.end(), roots.begin(), roots.end());
  plan.insert(plan.end(), select.begin(), select.end());
  if (interactive) {
    // What will be written, before the question (without asking, apply prints it anyway).
    std::printf("\n== vmsetup plan\n");
    if (auto shown = RunProgram(plan); !shown) {
      std::fprintf(stderr, "vmprep-live: %s\n", shown.error().ToString().c_str());
      return finish(3);
    }
  }
  std::vector<std::string> plan_json = plan;
  plan_json.push_back("--json");
  auto json = RunProgram(plan_json, true);
  if (!json) {
    std::fprintf(stderr, "vmprep-live: %s\n", json.error().ToString().c_str());
    return finish(3);
  }
  if (!request.plan_json.empty()) {
    if (auto w = host->WriteAtomic(Root::kRuntime, request.plan_json, json->output, {}); !w)
      std::fprintf(stderr, "vmprep-live: %s\n", w.error().ToString().c_str());
  }
  auto doc = nlohmann::json::parse(json->output, nullptr, false);
  if (json->status != 0 || doc.is_discarded()) {
    if (!interactive) RunProgram(plan);  // its messages say why
    std::fprintf(stderr, "vmprep-live: vmsetup plan exited with status %d; nothing changed\n",
                 json->status);
    return finish(json->status != 0 ? json->status : 3);
  }
  const bool empty = doc.value("edits", nlohmann::json::array()).empty() &&
                     doc.value("actions", nlohmann::json::array()).empty();
  if (empty) {
    std::printf("%s already has what was asked; nothing to write.\n", chosen->fs.device.c_str());
    return finish(0);
  }

  if (interactive) {
    auto answer = Ask(fmt::format("Write these changes to {}? [y/N] ", chosen->fs.device));
    if (!answer || (*answer != "y" && *answer != "Y" && *answer != "yes")) {
      std::printf("Nothing written.\n");
      return finish(4);
    }
  }

  std::printf("\n== vmsetup apply\n");
  if (auto w = (*mounted)->MakeWritable(&log); !w) {
    PrintLog(&log);
    std::fprintf(stderr, "vmprep-live: %s; nothing written\n", w.error().ToString().c_str());
    return finish(3);
  }
  PrintLog(&log);
  // The installed system's tools look its disks up by UUID (grub-mkconfig's root=UUID=).
  for (const auto& p : MakeDiskLinks(*host, filesystems)) std::printf("  note: %s\n", p.c_str());
  std::vector<std::string> apply = {"vmsetup", "apply"};
  apply.insert(apply.end(), roots.begin(), roots.end());
  apply.insert(apply.end(), select.begin(), select.end());
  apply.push_back("--yes");
  auto applied = RunProgram(apply);
  if (!applied) {
    std::fprintf(stderr, "vmprep-live: %s\n", applied.error().ToString().c_str());
    return finish(3);
  }
  if (applied->status == 0) {
    std::printf("\n%s is ready: reboot into it to use the new configuration.\n",
                chosen->fs.device.c_str());
  } else {
    std::fprintf(stderr, "vmprep-live: vmsetup apply exited with status %d\n", applied->status);
  }
  return finish(applied->status);
}

}  // namespace vmprep::live
