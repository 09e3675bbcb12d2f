// vmsetup: the command line over the session API (fixers/session.h). Parses the arguments
// and calls the command (fixers/vmsetup_commands.h), which prints and asks; the session does
// the rest.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "core/cli.h"
#include "core/host.h"
#include "fixers/fixer.h"
#include "fixers/session.h"
#include "fixers/vm_snippet.h"
#include "fixers/vmsetup_commands.h"
#include "wizard/wizard.h"

namespace {

namespace cmd = vmprep::vmsetup;
using vmprep::vmsetup::CannotRun;
using vmprep::vmsetup::kExitCannotRun;
using vmprep::vmsetup::kExitOk;

constexpr const char* kUsageHint =
    "usage: vmsetup plan|apply|undo [ID]|history|fixers|wizard [--device BDF]... [--enable LIST] "
    "[--root DIR] [--yes] [--no-regenerate] (see 'vmsetup --help')";

constexpr const char* kFooter = R"(
--enable takes a comma list (repeatable):
  iommu              IOMMU on at boot (intel_iommu=on on Intel)
  iommu-pt           iommu=pt as well (implies iommu)
  vfio               give the --device devices to vfio-pci at boot (implied by --device)
  vhost_net          load vhost_net at boot
  hugepages=SIZE:N   reserve N pages of SIZE (2M or 1G) at boot, e.g. hugepages=1G:8
  xorg               keep Xorg off the passed-through GPU
  bridge=NAME        allow NAME in /etc/qemu/bridge.conf

Examples:
  vmsetup                                     on a terminal: the setup wizard, step by step
  vmsetup plan --enable iommu                 the diff that turning the IOMMU on would make
  vmsetup apply --device 0000:01:00.0 --enable iommu,vhost_net
                                              give a GPU to vfio-pci at boot; asks first
  vmsetup apply --yes --json --enable iommu   from Ansible and other tools: one JSON document;
                                              "changed" is false when there was nothing to do
  vmsetup history                             the transactions, oldest first
  vmsetup undo                                restore the files of the newest transaction
  vmsetup plan --root /mnt --enable iommu     a system mounted at /mnt (e.g. from a live ISO)
  vmcheck -q                                  what is still missing (finding ids name fixers)

Exit status:
  0  done, or nothing to do
  1  refused: a fixer could not plan a file (file:line printed), a file changed after
     the plan or (undo) after the transaction, or its record cannot be trusted; nothing
     was written
  2  apply or undo failed; every file apply had written was restored (the message says
     so, or says exactly what could not be)
  3  bad arguments or cannot run (root unreadable, lock held, no terminal without --yes)
  4  declined at the prompt
  5  the files were written but a post-action (regenerate command) failed: run it by hand

Every command first finishes what an interrupted vmsetup left unfinished (killed, power
cut): it rolls back an apply, finishes an undo, removes temporary files, and says so.
See vmsetup(8).)";

int BadArguments(const std::string& message) {
  std::fprintf(stderr, "vmsetup: %s\n%s\n", message.c_str(), kUsageHint);
  return kExitCannotRun;
}

// What the command line asks for, as CLI11 fills it in.
struct Args {
  std::string root, runtime_root, config_root, undo_id;
  std::vector<std::string> devices, enable, allow;
  bool yes = false, no_regenerate = false, json = false, version = false, network = false;
  vmprep::VmSnippetRequest snippet;
  CLI::App *plan = nullptr, *apply = nullptr, *undo = nullptr, *history = nullptr,
           *fixers = nullptr, *wizard = nullptr, *vm_snippet = nullptr;
};

void AddOptions(CLI::App& app, Args* a) {
  app.add_option("--root", a->root, "Both roots: a mounted or captured system instead of /");
  app.add_option("--runtime-root", a->runtime_root,
                 "Where /sys, /proc and /dev are read (default /)");
  app.add_option("--config-root", a->config_root, "Where /etc and /boot are edited (default /)");
  app.add_option("--device", a->devices,
                 "A PCI device for vfio-pci, e.g. 0000:01:00.0 (repeatable)");
  app.add_option("--enable", a->enable, "What to set up, a comma list (see below)");
  app.add_option("--allow-host-device", a->allow,
                 "Give away a device the host itself needs (boot disk, default-route NIC); "
                 "the plan prints what the host loses first (repeatable)");
  app.add_flag("--allow-network-change", a->network,
               "Let apply make a bridge=NAME:IFACE bridge (it moves IFACE's address: from a "
               "console)");
  app.add_flag("-y,--yes", a->yes, "Apply without asking (required when there is no terminal)");
  app.add_flag("--no-regenerate", a->no_regenerate,
               "Do not run the post-actions; print them instead");
  app.add_flag("--json", a->json,
               "plan, history, apply, undo: print one JSON document (apply and undo: with "
               "\"changed\", for Ansible and other configuration tools; apply needs --yes)");
  app.add_flag("-V,--version", a->version, "Print the version");
}

void AddCommands(CLI::App& app, Args* a) {
  a->plan = app.add_subcommand("plan",
                               "Print the diff of every file and the post-actions; change nothing");
  a->apply = app.add_subcommand(
      "apply", "Print the plan, ask, apply it as one transaction, run the post-actions");
  a->undo =
      app.add_subcommand("undo", "Restore the files of the newest (or the named) transaction");
  a->undo->add_option("transaction", a->undo_id, "Transaction id (see history)");
  a->history = app.add_subcommand("history", "List the recorded transactions, oldest first");
  a->fixers = app.add_subcommand("fixers", "List the fixers");
  a->vm_snippet = app.add_subcommand(
      "vm-snippet",
      "Print the libvirt domain XML for --device (all functions of its IOMMU group), "
      "--hugepages and --virtiofs, to merge with `virsh edit`; change nothing");
  a->vm_snippet
      ->add_option("--hugepages", a->snippet.hugepages,
                   "Back the guest with huge pages: 2M, 1G, or no size for the default")
      ->expected(0, 1);
  a->vm_snippet->add_option("--virtiofs", a->snippet.virtiofs,
                            "Share a host directory: DIR or DIR:TAG (repeatable)");
  a->wizard = app.add_subcommand(
      "wizard", "Set up step by step on the terminal (also vmsetup without a command there)");
  for (auto* sub : {a->plan, a->apply, a->undo, a->history, a->fixers, a->wizard, a->vm_snippet})
    sub->fallthrough();
  app.require_subcommand(0, 1);
}

int ListFixers() {
  for (const auto& f : vmprep::MakeAllFixers()) {
    std::printf("%-16s %s\n", std::string(f->Id()).c_str(), std::string(f->Description()).c_str());
  }
  return kExitOk;
}

int PrintVmSnippet(const Args& a) {
  auto host = vmprep::Host::OpenFromOptions(a.root, a.runtime_root, a.config_root);
  if (!host) return BadArguments(fmt::format("cannot use root {}", host.error().ToString()));
  vmprep::VmSnippetRequest snippet = a.snippet;
  snippet.devices = a.devices;
  auto made = vmprep::MakeVmSnippet(*host, snippet);
  if (!made) return BadArguments(made.error().ToString());
  std::fwrite(made->xml.data(), 1, made->xml.size(), stdout);
  for (const auto& note : made->notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  return kExitOk;
}

// The wizard and the commands that take a request (plan, apply) or none (undo, history).
int RunOnHost(const Args& a, bool wizard) {
  auto request = vmprep::ParseRequest(a.devices, a.enable, a.allow);
  if (!request) return BadArguments(request.error().ToString());
  request->options.allow_network_change = a.network;
  if ((a.plan->parsed() || a.apply->parsed()) && request->empty()) {
    return BadArguments("nothing asked: say what to set up with --enable and/or --device");
  }
  auto host = vmprep::Host::OpenFromOptions(a.root, a.runtime_root, a.config_root);
  if (!host) return BadArguments(fmt::format("cannot use root {}", host.error().ToString()));
  const bool regenerate = !a.no_regenerate;
  if (wizard) return vmprep::wizard::Run(*host, {.regenerate = regenerate});
  if (a.history->parsed()) return cmd::RunHistory(*host, a.json);
  if (a.undo->parsed()) return cmd::RunUndo(*host, a.undo_id, regenerate, a.json);
  if (a.plan->parsed()) return cmd::RunPlan(*host, *request, a.json);
  return cmd::RunApply(*host, *request, a.yes, regenerate, a.json);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vmsetup: plans and applies the boot-configuration changes a KVM/VFIO passthrough host "
      "needs, as diffs you can read first; every apply is a transaction you can undo.",
      "vmsetup"};
  app.footer(kFooter);
  Args a;
  AddOptions(app, &a);
  AddCommands(app, &a);
  if (auto done = vmprep::ParseCommandLine(app, argc, argv, BadArguments)) return *done;
  if (a.version) {
    std::printf("vmsetup %s\n", VMPREP_VERSION);
    return kExitOk;
  }
  const bool terminal = ::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1;
  const bool wizard = a.wizard->parsed() || app.get_subcommands().empty();
  if (app.get_subcommands().empty() && !terminal)
    return BadArguments("a command is required: plan, apply, undo, history or fixers");
  if (wizard && !terminal)
    return CannotRun("the wizard needs a terminal; from a script use plan and apply --yes");
  if (a.fixers->parsed()) return ListFixers();
  if (a.vm_snippet->parsed()) return PrintVmSnippet(a);
  return RunOnHost(a, wizard);
}
