// vmcheck: the health report. Parses arguments, runs the probes, prints; nothing else.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <expected>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "checks/accept.h"
#include "checks/groups_report.h"
#include "checks/monitoring.h"
#include "checks/probe.h"
#include "checks/report.h"
#include "checks/vm_input.h"
#include "core/cli.h"
#include "system/accounts.h"
#include "system/facts.h"
#include "system/pci_scan.h"

namespace {

constexpr const char* kUsageHint =
    "usage: vmcheck [--json | --format FORMAT] [--output FILE] [--quiet] [--root DIR] "
    "[--only CHECK]... [--accept ID]... [--list] (see 'vmcheck --help')";

constexpr const char* kFooter = R"(
Examples:
  vmcheck                           report on this machine (text; colour on a terminal)
  vmcheck -q                        only what is not a pass
  vmcheck --only vfio --device 0000:01:00.0
                                    is this device ready to be passed through?
  vmcheck groups                    the IOMMU groups and their devices, as lspci names them
  vmcheck vm win10                  will libvirt domain win10 start and run well here?
  vmcheck vm ./win10.xml --json     the same for a file (virsh dumpxml win10 > win10.xml)
  vmcheck --json | jq '.findings[] | select(.severity == "fail")'
  vmcheck --format prometheus --output /var/lib/prometheus/node-exporter/vmprep.prom
                                    for node_exporter's textfile collector (written atomically)
  vmcheck --format nagios           a monitoring-plugin line with perfdata, exit 0/1/2/3
  vmcheck --accept 'qemu.ovmf=no UEFI guests on this host'
  vmcheck --root /mnt               judge a system mounted at /mnt (or a captured tree)

Accepted findings: /etc/vmprep/accept.conf lists "ID REASON" lines (# comments). An accepted
finding still prints, marked, with its reason, but does not count toward the exit status; an
accepted id that is no longer reported (or now passes) is listed as stale.

Exit status: 0 all pass (notes and skips allowed), 1 warnings, 2 failures, 3 could not run.
See vmcheck(8) and vmprep-report(5) for every finding id and what mends it.)";

// Set once the format is known, so that errors read as a monitoring plugin's.
bool g_nagios = false;

int CouldNotRun(const std::string& message) {
  if (g_nagios) {
    std::string line = vmprep::NagiosUnknown("vmcheck: " + message);
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  std::fprintf(stderr, "vmcheck: %s\n%s\n", message.c_str(), kUsageHint);
  return vmprep::kExitCouldNotRun;
}

// --format nagios asked anywhere on the command line (even when the rest does not parse).
bool AsksNagios(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--format=nagios" ||
        (a == "--format" && i + 1 < argc && std::string_view(argv[i + 1]) == "nagios")) {
      return true;
    }
  }
  return false;
}

// Writes `text` to `path` (relative to the working directory) atomically through the Host
// seam rooted at "/": a collector reading the file sees the old or the new one, never half.
std::string WriteOutput(const std::string& path, const std::string& text) {
  std::string absolute = path;
  if (!path.starts_with('/')) {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) == nullptr) return "--output: cannot tell the working directory";
    absolute = std::string(cwd) + "/" + path;
  }
  auto root = vmprep::Host::Open("/", "/");
  if (!root) return root.error().ToString();
  auto written = root->WriteAtomic(vmprep::Root::kConfig, absolute, text, {.mode = 0644});
  if (!written) return fmt::format("--output {}: {}", path, written.error().ToString());
  return "";
}

bool WantColor() {
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  if (no_color != nullptr) return false;
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return ::isatty(STDOUT_FILENO) == 1;
}

// What the command line asks for, as CLI11 fills it in.
struct Args {
  std::string root, runtime_root, config_root, user, format, output;
  std::vector<std::string> only, devices, accept, vms, vm_args;
  bool json = false, list = false, quiet = false, version = false, guest = false;
  CLI::App *groups = nullptr, *vm = nullptr;
};

void AddOptions(CLI::App& app, Args* a) {
  app.add_option("--root", a->root, "Both roots: a captured or mounted system instead of /");
  app.add_option("--runtime-root", a->runtime_root,
                 "Where /sys, /proc and /dev are read (default /)");
  app.add_option("--config-root", a->config_root,
                 "Where /etc, /boot and /usr/lib/modules are read (default /)");
  app.add_option("--only", a->only, "Run only this check (repeatable; see --list)");
  app.add_option("--user", a->user,
                 "Judge device access for this user instead of the one running vmcheck");
  app.add_option("--device", a->devices,
                 "A PCI device meant for passthrough, e.g. 0000:01:00.0 (repeatable)");
  app.add_option("--vm", a->vms,
                 "Also judge this libvirt domain (NAME or FILE.xml) against the host (repeatable)");
  app.add_flag("--guest", a->guest,
               "Run inside a VM: check the guest's virtio drivers instead of the host");
  app.add_flag("--json", a->json,
               "Print one JSON document (schema vmprep.report/1); --format json");
  app.add_option("--format", a->format,
                 "text (default), json, prometheus (node_exporter textfile), nagios (plugin line)")
      ->check(CLI::IsMember({"text", "json", "prometheus", "nagios"}));
  app.add_option("-o,--output", a->output,
                 "Write the report to FILE atomically (temp file + rename) instead of stdout");
  app.add_option("--accept", a->accept,
                 "Accept finding ID (ID or ID=REASON; repeatable), as in /etc/vmprep/accept.conf");
  app.add_flag("--list", a->list, "List the checks, one line each");
  app.add_flag("-q,--quiet", a->quiet, "Print only findings that are not pass");
  app.add_flag("-V,--version", a->version, "Print the version");
}

void AddCommands(CLI::App& app, Args* a) {
  a->groups = app.add_subcommand(
      "groups",
      "List every IOMMU group and its devices as lspci -nn names them (with --json: JSON)");
  a->groups->fallthrough();
  a->vm = app.add_subcommand(
      "vm",
      "Judge libvirt domains against this host: NAME (/etc/libvirt/qemu/NAME.xml) or FILE.xml; "
      "every defined domain when none is named");
  a->vm->add_option("domain", a->vm_args, "Domain NAME or FILE.xml (repeatable)");
  a->vm->fallthrough();
}

// The checks --only names, or an error naming the unknown one and the known ones.
std::expected<std::set<std::string, std::less<>>, std::string> WantedChecks(
    const Args& a, const std::vector<std::unique_ptr<vmprep::Probe>>& probes) {
  std::set<std::string, std::less<>> wanted(a.only.begin(), a.only.end());
  for (const auto& name : wanted) {
    bool known = false;
    std::string names;
    for (const auto& p : probes) {
      known = known || p->Name() == name;
      names += (names.empty() ? "" : ", ") + std::string(p->Name());
    }
    if (!known)
      return std::unexpected(fmt::format("unknown check '{}' for --only (known: {})", name, names));
  }
  return wanted;
}

// The report on stdout, or in --output FILE.
int Emit(const Args& a, const std::string& text, int code) {
  if (a.output.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return code;
  }
  if (std::string error = WriteOutput(a.output, text); !error.empty()) return CouldNotRun(error);
  return code;
}

int RunGroups(const Args& a, const vmprep::Host& host) {
  if (a.format != "text" && a.format != "json")
    return CouldNotRun(fmt::format("vmcheck groups prints text or json, not {}", a.format));
  auto scan = vmprep::ScanPci(host);
  if (!scan) return CouldNotRun(scan.error().ToString());
  vmprep::PciNames names;
  return Emit(a,
              a.format == "json" ? vmprep::RenderGroupsJson(*scan, names)
                                 : vmprep::RenderGroupsText(*scan, names),
              0);
}

// The probes' context: guest or host, the devices, whose access, the libvirt domains (vm adds
// the vm check to `wanted`). An error is what could not be read.
std::expected<vmprep::ProbeContext, std::string> MakeContext(
    const Args& a, const vmprep::Host& host, std::set<std::string, std::less<>>* wanted) {
  vmprep::ProbeContext context;
  context.guest = a.guest;
  context.devices = a.devices;
  if (!a.user.empty()) {
    auto identity = vmprep::LookupIdentity(host, a.user);
    if (!identity) return std::unexpected(identity.error().ToString());
    context.identity = std::move(*identity);
  } else {
    context.identity = vmprep::CurrentIdentity(host);
  }
  std::vector<std::string> vms = a.vm->parsed() ? a.vm_args : a.vms;
  if (a.vm->parsed()) *wanted = {"vm"};
  if (a.vm->parsed() || !vms.empty()) {
    auto inputs = vmprep::LoadDomainInputs(host, vms, a.vm->parsed());
    if (!inputs) return std::unexpected(inputs.error().ToString());
    context.domains = std::move(*inputs);
    if (context.domains.empty())
      std::fprintf(stderr,
                   "vmcheck: no libvirt domain is defined under /etc/libvirt/qemu of the config "
                   "root; name a FILE.xml (virsh dumpxml NAME > FILE.xml)\n");
    if (!wanted->empty()) wanted->insert("vm");
  }
  return context;
}

std::string Render(const Args& a, const vmprep::Report& report) {
  if (a.format == "json") return vmprep::RenderJson(report);
  if (a.format == "prometheus")
    return vmprep::RenderPrometheus(report, static_cast<std::int64_t>(std::time(nullptr)));
  if (a.format == "nagios") return vmprep::RenderNagios(report);
  return vmprep::RenderText(report, {.color = a.output.empty() && WantColor(), .quiet = a.quiet});
}

// Runs the probes and prints the report.
int RunReport(const Args& a, const vmprep::Host& host, std::set<std::string, std::less<>> wanted,
              std::vector<vmprep::Acceptance> acceptances) {
  // The administrator's accepted findings first, then --accept (which wins for the same id).
  auto from_file = vmprep::ReadAcceptConf(host);
  if (!from_file) return CouldNotRun(from_file.error().ToString());
  acceptances.insert(acceptances.begin(), from_file->begin(), from_file->end());
  auto context = MakeContext(a, host, &wanted);
  if (!context) return CouldNotRun(context.error());
  vmprep::Report report;
  context->facts = std::make_shared<vmprep::SystemFacts>(host);
  report.host = vmprep::CollectHostInfo(*context->facts);
  report.findings = vmprep::RunProbes(host, *context, wanted, &report.checks);
  report.devices = vmprep::CollectDevices(*context->facts);
  report.vms = vmprep::CollectVms(context->domains);
  vmprep::ApplyAcceptances(acceptances, &report);
  return Emit(a, Render(a, report), vmprep::ReportExitCode(report));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vmcheck: is this machine ready for KVM/VFIO passthrough? Prints one finding per fact, "
      "with the evidence and the exact fix.\n"
      "Exit status: 0 all pass (notes and skips allowed), 1 warnings, 2 failures, 3 could not run.",
      "vmcheck"};
  app.footer(kFooter);
  g_nagios = AsksNagios(argc, argv);
  Args a;
  AddOptions(app, &a);
  AddCommands(app, &a);
  if (auto done = vmprep::ParseCommandLine(app, argc, argv, CouldNotRun)) return *done;
  if (a.version) {
    std::printf("vmcheck %s\n", VMPREP_VERSION);
    return 0;
  }
  if (a.json && !a.format.empty() && a.format != "json")
    return CouldNotRun(fmt::format("--json and --format {} contradict each other", a.format));
  if (a.json) a.format = "json";
  if (a.format.empty()) a.format = "text";
  std::vector<vmprep::Acceptance> acceptances;
  for (const auto& arg : a.accept) {
    auto parsed = vmprep::ParseAcceptArgument(arg);
    if (!parsed) return CouldNotRun(parsed.error().ToString());
    acceptances.push_back(std::move(*parsed));
  }
  auto probes = vmprep::MakeAllProbes();
  if (a.list) {
    for (const auto& p : probes)
      std::printf("%-12s %s\n", std::string(p->Name()).c_str(),
                  std::string(p->Description()).c_str());
    return 0;
  }
  auto wanted = WantedChecks(a, probes);
  if (!wanted) return CouldNotRun(wanted.error());
  auto host = vmprep::Host::OpenFromOptions(a.root, a.runtime_root, a.config_root);
  if (!host) return CouldNotRun(fmt::format("cannot use root {}", host.error().ToString()));
  if (a.groups->parsed()) return RunGroups(a, *host);
  return RunReport(a, *host, std::move(*wanted), std::move(acceptances));
}
