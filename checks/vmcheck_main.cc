// vmcheck: the health report. Parses arguments, runs the probes, prints; nothing else.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "checks/groups_report.h"
#include "checks/probe.h"
#include "checks/report.h"
#include "system/accounts.h"
#include "system/facts.h"
#include "system/pci_scan.h"

namespace {

constexpr const char* kUsageHint =
    "usage: vmcheck [--json] [--quiet] [--root DIR] [--only CHECK]... [--list] "
    "(see 'vmcheck --help')";

int CouldNotRun(const std::string& message) {
  std::fprintf(stderr, "vmcheck: %s\n%s\n", message.c_str(), kUsageHint);
  return vmprep::kExitCouldNotRun;
}

bool WantColor() {
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  if (no_color != nullptr) return false;
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return ::isatty(STDOUT_FILENO) == 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vmcheck: is this machine ready for KVM/VFIO passthrough? Prints one finding per fact, "
      "with the evidence and the exact fix.\n"
      "Exit status: 0 all pass (notes and skips allowed), 1 warnings, 2 failures, 3 could not run.",
      "vmcheck"};
  std::string root, runtime_root, config_root, user;
  std::vector<std::string> only;
  std::vector<std::string> devices;
  bool json = false, list = false, quiet = false, version = false, guest = false;
  app.add_option("--root", root, "Both roots: a captured or mounted system instead of /");
  app.add_option("--runtime-root", runtime_root, "Where /sys, /proc and /dev are read (default /)");
  app.add_option("--config-root", config_root,
                 "Where /etc, /boot and /usr/lib/modules are read (default /)");
  app.add_option("--only", only, "Run only this check (repeatable; see --list)");
  app.add_option("--user", user,
                 "Judge device access for this user instead of the one running vmcheck");
  app.add_option("--device", devices,
                 "A PCI device meant for passthrough, e.g. 0000:01:00.0 (repeatable)");
  app.add_flag("--guest", guest,
               "Run inside a VM: check the guest's virtio drivers instead of the host");
  app.add_flag("--json", json, "Print one JSON document (schema vmprep.report/1)");
  app.add_flag("--list", list, "List the checks, one line each");
  app.add_flag("-q,--quiet", quiet, "Print only findings that are not pass");
  app.add_flag("-V,--version", version, "Print the version");

  CLI::App* groups = app.add_subcommand(
      "groups",
      "List every IOMMU group and its devices as lspci -nn names them (with --json: JSON)");
  groups->fallthrough();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    return CouldNotRun(what);
  }
  if (version) {
    std::printf("vmcheck %s\n", VMPREP_VERSION);
    return 0;
  }

  auto probes = vmprep::MakeAllProbes();
  if (list) {
    for (const auto& p : probes)
      std::printf("%-12s %s\n", std::string(p->Name()).c_str(),
                  std::string(p->Description()).c_str());
    return 0;
  }
  std::set<std::string, std::less<>> wanted(only.begin(), only.end());
  for (const auto& name : wanted) {
    bool known = false;
    std::string names;
    for (const auto& p : probes) {
      known = known || p->Name() == name;
      names += (names.empty() ? "" : ", ") + std::string(p->Name());
    }
    if (!known)
      return CouldNotRun(fmt::format("unknown check '{}' for --only (known: {})", name, names));
  }

  auto host = vmprep::Host::OpenFromOptions(root, runtime_root, config_root);
  if (!host) return CouldNotRun(fmt::format("cannot use root {}", host.error().ToString()));

  if (groups->parsed()) {
    auto scan = vmprep::ScanPci(*host);
    if (!scan) return CouldNotRun(scan.error().ToString());
    vmprep::PciNames names;
    std::string text =
        json ? vmprep::RenderGroupsJson(*scan, names) : vmprep::RenderGroupsText(*scan, names);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }

  vmprep::ProbeContext context;
  context.guest = guest;
  context.devices = devices;
  if (!user.empty()) {
    auto identity = vmprep::LookupIdentity(*host, user);
    if (!identity) return CouldNotRun(identity.error().ToString());
    context.identity = std::move(*identity);
  } else {
    context.identity = vmprep::CurrentIdentity(*host);
  }

  vmprep::Report report;
  context.facts = std::make_shared<vmprep::SystemFacts>(*host);
  report.host = vmprep::CollectHostInfo(*context.facts);
  for (const auto& p : probes) {
    if (!wanted.empty() && !wanted.contains(p->Name())) continue;
    // --guest checks the VM from inside; the host checks do not apply there.
    if (guest != (p->Name() == "guest")) continue;
    auto findings = p->Run(*host, context);
    report.findings.insert(report.findings.end(), findings.begin(), findings.end());
  }
  report.devices = vmprep::CollectDevices(*context.facts);

  std::string text = json ? vmprep::RenderJson(report)
                          : vmprep::RenderText(report, {.color = WantColor(), .quiet = quiet});
  std::fwrite(text.data(), 1, text.size(), stdout);
  return vmprep::ExitCodeFor(report.findings);
}
