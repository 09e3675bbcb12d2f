// vmsetup: the command line over the session API (fixers/session.h). Parses arguments,
// prints plans and progress, asks; the session does the rest.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/host.h"
#include "core/text.h"
#include "fixers/edit.h"
#include "fixers/fixer.h"
#include "fixers/post_actions.h"
#include "fixers/session.h"
#include "fixers/transaction.h"
#include "fixers/vm_snippet.h"
#include "system/topology.h"
#include "wizard/wizard.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitApplyFailed = 2;
constexpr int kExitCannotRun = 3;
constexpr int kExitDeclined = 4;
constexpr int kExitPostActionFailed = 5;

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

// A run that cannot go on for a reason other than its arguments: no usage line.
int CannotRun(const std::string& message) {
  std::fprintf(stderr, "vmsetup: %s\n", message.c_str());
  return kExitCannotRun;
}

void PrintRefusals(const vmprep::SessionPlan& plan) {
  for (const auto& r : plan.refusals) {
    std::fprintf(stderr, "vmsetup: %s refused: %s\n", r.fixer.c_str(), r.error.ToString().c_str());
  }
}

void PrintPlanText(const vmprep::SessionPlan& plan) {
  std::string out;
  for (const auto& w : plan.warnings) out += fmt::format("WARNING: {}\n", w);
  if (!plan.warnings.empty()) out += "\n";
  for (const vmprep::FileEdit* e : vmprep::EffectiveEdits(plan.edits)) {
    out += fmt::format("# {}: {}\n", e->fixer, e->why);
    out += vmprep::UnifiedDiff(*e);
  }
  if (!plan.edits.actions.empty()) {
    out += "\nThen run:\n";
    for (const auto& a : plan.edits.actions) {
      out += fmt::format("  {}{}\n", vmprep::FormatArgv(a.argv),
                         a.why.empty() ? "" : "    # " + a.why);
    }
  }
  for (const auto& note : plan.edits.notes) out += fmt::format("Note: {}\n", note);
  std::fwrite(out.data(), 1, out.size(), stdout);
}

nlohmann::json EditsJson(const vmprep::SessionPlan& plan) {
  using Json = nlohmann::json;
  Json edits = Json::array();
  for (const vmprep::FileEdit* e : vmprep::EffectiveEdits(plan.edits)) {
    edits.push_back({{"path", e->path},
                     {"fixer", e->fixer},
                     {"why", e->why},
                     {"change", !e->before  ? "create"
                                : !e->after ? "remove"
                                            : "modify"},
                     {"diff", vmprep::UnifiedDiff(*e)}});
  }
  return edits;
}

nlohmann::json RefusalsJson(const vmprep::SessionPlan& plan) {
  using Json = nlohmann::json;
  Json refusals = Json::array();
  for (const auto& r : plan.refusals) {
    refusals.push_back({{"fixer", r.fixer},
                        {"path", r.error.path},
                        {"line", r.error.line},
                        {"message", r.error.message}});
  }
  return refusals;
}

void PrintPlanJson(const vmprep::SessionPlan& plan) {
  using Json = nlohmann::json;
  Json actions = Json::array();
  for (const auto& a : plan.edits.actions) actions.push_back({{"argv", a.argv}, {"why", a.why}});
  Json edits = EditsJson(plan), refusals = RefusalsJson(plan);
  Json doc = {{"schema", "vmprep.plan/1"}, {"edits", edits},
              {"actions", actions},        {"notes", plan.edits.notes},
              {"warnings", plan.warnings}, {"refusals", refusals}};
  std::string text = doc.dump(2) + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
}

// Prints what an apply or undo does as it happens (warnings and recoveries to stderr).
void PrintProgressTo(std::FILE* out, const vmprep::ProgressEvent& e) {
  using Kind = vmprep::ProgressEvent::Kind;
  switch (e.kind) {
    case Kind::kPlanned:
    case Kind::kApplied:
    case Kind::kFileWritten:
      break;
    case Kind::kActionStarted:
      std::fprintf(out, "Running: %s\n", e.text.c_str());
      break;
    case Kind::kActionOutput:
      std::fprintf(out, "  %s\n", e.text.c_str());
      break;
    case Kind::kActionFinished:
      if (!e.ok) std::fprintf(out, "Failed: %s\n", e.text.c_str());
      break;
    case Kind::kActionSkipped:
      std::fprintf(out, "Skipped (--no-regenerate): %s\n", e.text.c_str());
      break;
    case Kind::kWarning:
      std::fprintf(stderr, "vmsetup: warning: %s\n", e.text.c_str());
      break;
    case Kind::kRecovered:
      std::fprintf(stderr, "vmsetup: %s%s\n", e.ok ? "" : "RECOVERY INCOMPLETE: ", e.text.c_str());
      break;
  }
  std::fflush(out);
}

void PrintProgress(const vmprep::ProgressEvent& e) { PrintProgressTo(stdout, e); }

bool Confirm() {
  std::printf("Apply these changes? [y/N] ");
  std::fflush(stdout);
  char buf[64] = {};
  if (std::fgets(buf, sizeof buf, stdin) == nullptr) return false;
  std::string answer(vmprep::Trim(buf));
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES" || answer == "Yes";
}

int ExitCode(vmprep::Outcome outcome) {
  switch (outcome) {
    case vmprep::Outcome::kNothingToDo:
    case vmprep::Outcome::kDone:
      return kExitOk;
    case vmprep::Outcome::kRefused:
      return kExitRefused;
    case vmprep::Outcome::kDeclined:
      return kExitDeclined;
    case vmprep::Outcome::kFailed:
      return kExitApplyFailed;
    case vmprep::Outcome::kActionFailed:
      return kExitPostActionFailed;
    case vmprep::Outcome::kCannotRun:
      return kExitCannotRun;
  }
  return kExitCannotRun;
}

void PrintErrors(const vmprep::SessionResult& r, std::string_view what) {
  for (const auto& e : r.errors) {
    std::fprintf(stderr, "vmsetup: %.*s%s\n", static_cast<int>(what.size()), what.data(),
                 e.ToString().c_str());
  }
  if (r.outcome == vmprep::Outcome::kActionFailed)
    std::fprintf(stderr, "vmsetup: the files are written; run the failed command(s) by hand\n");
}

// apply --json, undo --json: one vmprep.apply/1 document on stdout whatever the outcome
// (docs/schema/vmprep.apply-1.schema.json), so that configuration tools read one result:
// `changed` tells "applied" from "nothing to do" (both exit 0). Progress goes to stderr.
struct JsonActions {
  nlohmann::json list = nlohmann::json::array();
  void Record(const vmprep::ProgressEvent& e) {
    using Kind = vmprep::ProgressEvent::Kind;
    if (e.kind == Kind::kActionFinished || e.kind == Kind::kActionSkipped) {
      list.push_back({{"command", e.text},
                      {"result", e.kind == Kind::kActionSkipped ? "skipped"
                                 : e.ok                         ? "ok"
                                                                : "failed"}});
    }
  }
};

void PrintProgressToStderr(const vmprep::ProgressEvent& e) { PrintProgressTo(stderr, e); }

int PrintResultJson(std::string_view command, const vmprep::SessionResult& r,
                    const JsonActions& ran, int code, const std::string& error = "") {
  using Json = nlohmann::ordered_json;
  std::string errors = error;
  for (const auto& e : r.errors) errors += (errors.empty() ? "" : "; ") + e.ToString();
  // Each planned post-action with what became of it (matched by its command line).
  Json actions = Json::array();
  for (const auto& a : r.plan.edits.actions) {
    std::string shown = vmprep::FormatArgv(a.argv), result = "not run";
    for (const auto& x : ran.list) {
      if (x["command"] == shown) result = x["result"];
    }
    actions.push_back(Json{{"argv", a.argv}, {"why", a.why}, {"result", result}});
  }
  if (r.plan.edits.actions.empty()) {
    for (const auto& x : ran.list) {
      actions.push_back(
          Json{{"argv", Json::array({x["command"]})}, {"why", ""}, {"result", x["result"]}});
    }
  }
  bool changed = r.outcome != vmprep::Outcome::kNothingToDo && !r.record.id.empty();
  Json doc{{"schema", "vmprep.apply/1"},
           {"command", command},
           {"changed", changed},
           {"transaction", r.record.id.empty() ? Json(nullptr) : Json(r.record.id)},
           {"files", r.changed},
           {"edits", Json::parse(EditsJson(r.plan).dump())},
           {"warnings", r.plan.warnings},
           {"actions", std::move(actions)},
           {"refusals", Json::parse(RefusalsJson(r.plan).dump())},
           {"error", errors.empty() ? Json(nullptr) : Json(errors)},
           {"exit_code", code}};
  std::printf("%s\n", doc.dump(2).c_str());
  return code;
}

int RunHistory(const vmprep::Host& host, bool json) {
  auto list = vmprep::History(host, PrintProgress);
  if (!list) return CannotRun(list.error().ToString());
  if (json) {
    nlohmann::json doc = nlohmann::json::array();
    for (const auto& r : *list) {
      nlohmann::json entry = {{"id", r.id},
                              {"created", r.created},
                              {"state", r.state},
                              {"files", r.files},
                              {"fixers", r.fixers}};
      if (!r.problem.empty()) entry["problem"] = r.problem;
      doc.push_back(std::move(entry));
    }
    std::printf("%s\n", doc.dump(2).c_str());
    return kExitOk;
  }
  if (list->empty()) std::printf("No transactions recorded.\n");
  for (const auto& r : *list) {
    if (!r.problem.empty()) {
      std::printf("%s  corrupt: %s\n", r.id.c_str(), r.problem.c_str());
      continue;
    }
    std::string fixers = vmprep::Join(r.fixers, ","), files = vmprep::Join(r.files, " ");
    std::printf("%s  %s  %-11s %s  %s\n", r.id.c_str(), r.created.substr(0, 19).c_str(),
                r.state.c_str(), fixers.c_str(), files.c_str());
  }
  return kExitOk;
}

int RunUndo(const vmprep::Host& host, const std::string& id, bool regenerate, bool json) {
  if (json) {
    JsonActions ran;
    auto r = vmprep::Undo(host, id, {.regenerate = regenerate, .progress = [&](const auto& e) {
                                       PrintProgressToStderr(e);
                                       ran.Record(e);
                                     }});
    PrintErrors(r, "");
    return PrintResultJson("undo", r, ran, ExitCode(r.outcome));
  }
  auto r = vmprep::Undo(host, id, {.regenerate = regenerate, .progress = PrintProgress});
  if (r.outcome == vmprep::Outcome::kNothingToDo) {
    std::printf("Nothing to undo.\n");
    return kExitOk;
  }
  if (!r.record.id.empty()) {
    std::printf("Undid transaction %s:\n", r.record.id.c_str());
    for (const auto& f : r.changed) std::printf("  restored %s\n", f.c_str());
  }
  PrintErrors(r, "");
  return ExitCode(r.outcome);
}

int RunApply(const vmprep::Host& host, const vmprep::Request& request, bool yes, bool regenerate,
             bool json) {
  if (json) {
    if (!yes) {
      std::string message = "apply --json does not ask: pass --yes as well";
      std::fprintf(stderr, "vmsetup: %s\n", message.c_str());
      return PrintResultJson("apply", {}, {}, kExitCannotRun, message);
    }
    JsonActions ran;
    auto r = vmprep::Apply(host, request,
                           {.regenerate = regenerate,
                            .confirm = [](const vmprep::SessionPlan&) { return true; },
                            .progress =
                                [&](const auto& e) {
                                  PrintProgressToStderr(e);
                                  ran.Record(e);
                                }});
    PrintRefusals(r.plan);
    PrintErrors(r, "");
    return PrintResultJson("apply", r, ran, ExitCode(r.outcome));
  }
  if (!yes && ::isatty(STDIN_FILENO) != 1) {
    return CannotRun("no terminal to confirm on; pass --yes to apply from a script");
  }
  auto confirm = [&](const vmprep::SessionPlan& plan) {
    PrintPlanText(plan);
    return yes || Confirm();
  };
  auto r = vmprep::Apply(host, request,
                         {.regenerate = regenerate, .confirm = confirm, .progress = PrintProgress});
  switch (r.outcome) {
    case vmprep::Outcome::kRefused:
      // A fixer refused to plan (the plan says which), or apply refused what it found.
      if (r.errors.empty()) PrintPlanText(r.plan);
      PrintRefusals(r.plan);
      PrintErrors(r, "refused: ");
      std::fprintf(stderr, "vmsetup: nothing applied\n");
      break;
    case vmprep::Outcome::kNothingToDo:
      PrintPlanText(r.plan);
      std::printf("Nothing to do: this system already has what was asked.\n");
      break;
    case vmprep::Outcome::kDeclined:
      std::printf("Nothing applied.\n");
      break;
    case vmprep::Outcome::kFailed:
      PrintErrors(r, "apply failed: ");
      break;
    default:
      PrintErrors(r, "");
      break;
  }
  if (!r.record.id.empty()) {
    std::printf("Applied transaction %s (undo with: vmsetup undo %s)\n", r.record.id.c_str(),
                r.record.id.c_str());
    for (const auto& f : r.changed) std::printf("  wrote %s\n", f.c_str());
  }
  return ExitCode(r.outcome);
}

int RunPlan(const vmprep::Host& host, const vmprep::Request& request, bool json) {
  vmprep::SessionPlan plan = vmprep::MakePlan(host, request, PrintProgress);
  if (json) {
    PrintPlanJson(plan);
  } else {
    PrintPlanText(plan);
  }
  PrintRefusals(plan);
  if (!plan.refusals.empty()) return kExitRefused;
  if (plan.NothingToDo() && !json)
    std::printf("Nothing to do: this system already has what was asked.\n");
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vmsetup: plans and applies the boot-configuration changes a KVM/VFIO passthrough host "
      "needs, as diffs you can read first; every apply is a transaction you can undo.",
      "vmsetup"};
  app.footer(kFooter);
  std::string root, runtime_root, config_root, undo_id;
  std::vector<std::string> device_args, enable_args, allow_args;
  bool yes = false, no_regenerate = false, json = false, version = false, network = false;
  app.add_option("--root", root, "Both roots: a mounted or captured system instead of /");
  app.add_option("--runtime-root", runtime_root, "Where /sys, /proc and /dev are read (default /)");
  app.add_option("--config-root", config_root, "Where /etc and /boot are edited (default /)");
  app.add_option("--device", device_args,
                 "A PCI device for vfio-pci, e.g. 0000:01:00.0 (repeatable)");
  app.add_option("--enable", enable_args, "What to set up, a comma list (see below)");
  app.add_option("--allow-host-device", allow_args,
                 "Give away a device the host itself needs (boot disk, default-route NIC); "
                 "the plan prints what the host loses first (repeatable)");
  app.add_flag("--allow-network-change", network,
               "Let apply make a bridge=NAME:IFACE bridge (it moves IFACE's address: from a "
               "console)");
  app.add_flag("-y,--yes", yes, "Apply without asking (required when there is no terminal)");
  app.add_flag("--no-regenerate", no_regenerate, "Do not run the post-actions; print them instead");
  app.add_flag("--json", json,
               "plan, history, apply, undo: print one JSON document (apply and undo: with "
               "\"changed\", for Ansible and other configuration tools; apply needs --yes)");
  app.add_flag("-V,--version", version, "Print the version");
  auto* plan_cmd = app.add_subcommand(
      "plan", "Print the diff of every file and the post-actions; change nothing");
  auto* apply_cmd = app.add_subcommand(
      "apply", "Print the plan, ask, apply it as one transaction, run the post-actions");
  auto* undo_cmd =
      app.add_subcommand("undo", "Restore the files of the newest (or the named) transaction");
  undo_cmd->add_option("transaction", undo_id, "Transaction id (see history)");
  auto* history_cmd = app.add_subcommand("history", "List the recorded transactions, oldest first");
  auto* fixers_cmd = app.add_subcommand("fixers", "List the fixers");
  vmprep::VmSnippetRequest snippet;
  auto* snippet_cmd = app.add_subcommand(
      "vm-snippet",
      "Print the libvirt domain XML for --device (all functions of its IOMMU group), "
      "--hugepages and --virtiofs, to merge with `virsh edit`; change nothing");
  snippet_cmd
      ->add_option("--hugepages", snippet.hugepages,
                   "Back the guest with huge pages: 2M, 1G, or no size for the default")
      ->expected(0, 1);
  snippet_cmd->add_option("--virtiofs", snippet.virtiofs,
                          "Share a host directory: DIR or DIR:TAG (repeatable)");
  auto* wizard_cmd = app.add_subcommand(
      "wizard", "Set up step by step on the terminal (also vmsetup without a command there)");
  for (auto* sub :
       {plan_cmd, apply_cmd, undo_cmd, history_cmd, fixers_cmd, wizard_cmd, snippet_cmd})
    sub->fallthrough();
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    return BadArguments(what);
  }
  if (version) {
    std::printf("vmsetup %s\n", VMPREP_VERSION);
    return kExitOk;
  }
  const bool terminal = ::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1;
  const bool wizard = wizard_cmd->parsed() || app.get_subcommands().empty();
  if (app.get_subcommands().empty() && !terminal)
    return BadArguments("a command is required: plan, apply, undo, history or fixers");
  if (wizard && !terminal)
    return CannotRun("the wizard needs a terminal; from a script use plan and apply --yes");

  if (fixers_cmd->parsed()) {
    for (const auto& f : vmprep::MakeAllFixers()) {
      std::printf("%-16s %s\n", std::string(f->Id()).c_str(),
                  std::string(f->Description()).c_str());
    }
    return kExitOk;
  }

  if (snippet_cmd->parsed()) {
    auto host = vmprep::Host::OpenFromOptions(root, runtime_root, config_root);
    if (!host) return BadArguments(fmt::format("cannot use root {}", host.error().ToString()));
    snippet.devices = device_args;
    auto made = vmprep::MakeVmSnippet(*host, snippet);
    if (!made) return BadArguments(made.error().ToString());
    std::fwrite(made->xml.data(), 1, made->xml.size(), stdout);
    for (const auto& note : made->notes) std::fprintf(stderr, "note: %s\n", note.c_str());
    return kExitOk;
  }

  auto request = vmprep::ParseRequest(device_args, enable_args, allow_args);
  if (!request) return BadArguments(request.error().ToString());
  request->options.allow_network_change = network;
  if ((plan_cmd->parsed() || apply_cmd->parsed()) && request->empty()) {
    return BadArguments("nothing asked: say what to set up with --enable and/or --device");
  }

  auto host = vmprep::Host::OpenFromOptions(root, runtime_root, config_root);
  if (!host) return BadArguments(fmt::format("cannot use root {}", host.error().ToString()));

  if (wizard) return vmprep::wizard::Run(*host, {.regenerate = !no_regenerate});
  if (history_cmd->parsed()) return RunHistory(*host, json);
  if (undo_cmd->parsed()) return RunUndo(*host, undo_id, !no_regenerate, json);
  if (plan_cmd->parsed()) return RunPlan(*host, *request, json);
  return RunApply(*host, *request, yes, !no_regenerate, json);
}
