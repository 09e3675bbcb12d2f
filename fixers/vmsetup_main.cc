// vmsetup: plans, applies and undoes the fixers' edits. Parses arguments, collects the plans,
// prints diffs, asks, and hands over to the transaction engine; no logic of its own.
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
#include "fixers/transaction.h"
#include "system/topology.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitApplyFailed = 2;
constexpr int kExitCannotRun = 3;
constexpr int kExitDeclined = 4;
constexpr int kExitPostActionFailed = 5;

constexpr const char* kUsageHint =
    "usage: vmsetup plan|apply|undo [ID]|history|fixers [--device BDF]... [--enable LIST] "
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

Exit status:
  0  done, or nothing to do
  1  refused: a fixer could not plan a file (file:line printed), or undo found a file
     changed since; nothing was written
  2  apply or undo failed; every file apply had written was restored (the message says
     so, or says exactly what could not be)
  3  bad arguments or cannot run (root unreadable, lock held, no terminal without --yes)
  4  declined at the prompt
  5  the files were written but a post-action (regenerate command) failed: run it by hand)";

int CannotRun(const std::string& message) {
  std::fprintf(stderr, "vmsetup: %s\n%s\n", message.c_str(), kUsageHint);
  return kExitCannotRun;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool ParseCount(std::string_view text, std::uint64_t* out) {
  if (text.empty() || text.size() > 9) return false;
  std::uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  *out = n;
  return n > 0;
}

// Fills `options` from the --enable items; an error message on anything not understood.
std::string ParseEnable(const std::vector<std::string>& items, vmprep::FixerOptions* options) {
  for (const auto& raw : items) {
    std::string item(vmprep::Trim(raw));
    if (item.empty()) continue;
    std::string key = item.substr(0, item.find('='));
    std::string value = item.find('=') == std::string::npos ? "" : item.substr(item.find('=') + 1);
    bool has_value = item.find('=') != std::string::npos;
    if (!has_value && key == "iommu") {
      options->iommu = true;
    } else if (!has_value && key == "iommu-pt") {
      options->iommu = true;
      options->iommu_pt = true;
    } else if (!has_value && key == "vfio") {
      options->vfio = true;
    } else if (!has_value && (key == "vhost_net" || key == "vhost-net")) {
      options->vhost_net = true;
    } else if (!has_value && key == "xorg") {
      options->xorg = true;
    } else if (key == "hugepages" && has_value) {
      auto colon = value.find(':');
      std::string size = colon == std::string::npos ? "" : Lower(value.substr(0, colon));
      vmprep::FixerOptions::Hugepages pages;
      if (size == "2m" || size == "2048k") {
        pages.page_kb = 2048;
      } else if (size == "1g" || size == "1048576k") {
        pages.page_kb = 1048576;
      }
      if (pages.page_kb == 0 || !ParseCount(value.substr(colon + 1), &pages.count)) {
        return fmt::format(
            "--enable {}: expected hugepages=SIZE:COUNT with SIZE 2M or 1G and "
            "COUNT a positive number, e.g. hugepages=1G:8",
            item);
      }
      options->hugepages = pages;
    } else if (key == "bridge" && has_value) {
      bool ok = !value.empty() && value.size() <= 15;
      for (char c : value) {
        ok =
            ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
      }
      if (!ok) {
        return fmt::format(
            "--enable {}: expected bridge=NAME, an interface name of 1 to 15 "
            "letters, digits, '-', '_' or '.'",
            item);
      }
      if (std::find(options->bridges.begin(), options->bridges.end(), value) ==
          options->bridges.end()) {
        options->bridges.push_back(value);
      }
    } else {
      return fmt::format(
          "--enable: unknown item '{}' (known: iommu, iommu-pt, vfio, vhost_net, "
          "hugepages=SIZE:COUNT, xorg, bridge=NAME)",
          item);
    }
  }
  return "";
}

struct Refusal {
  std::string fixer;
  vmprep::Error error;
};

struct Collected {
  vmprep::EditSet plan;
  std::vector<Refusal> refusals;
};

Collected CollectPlans(const vmprep::Host& host, const vmprep::FixerOptions& options) {
  Collected c;
  for (const auto& fixer : vmprep::MakeAllFixers()) {
    auto planned = fixer->Plan(host, options);
    if (!planned) {
      c.refusals.push_back({std::string(fixer->Id()), planned.error()});
      continue;
    }
    c.plan.Append(std::move(*planned));
  }
  if (auto ok = vmprep::CheckEditSet(c.plan); !ok) c.refusals.push_back({"vmsetup", ok.error()});
  return c;
}

// The findings that must pass once the machine has rebooted with this plan applied, for
// vmcheck-boot.service to compare against (/var/lib/vmprep/expected.json, systemd/README.md).
// Part of the transaction, so undo restores the previous expectation.
void AddExpectedState(const vmprep::Host& host, const vmprep::FixerOptions& options, Collected* c) {
  if (vmprep::EffectiveEdits(c->plan).empty()) return;
  std::vector<std::string> pass;
  if (options.iommu) {
    pass.push_back("iommu.kernel");
    pass.push_back("iommu.cmdline");
  }
  for (const auto& d : options.devices) pass.push_back("vfio.binding." + d.ToString());
  if (options.vfio) pass.push_back("vfio.early");
  if (options.vhost_net) pass.push_back("vhost_net.module");
  if (options.hugepages) pass.push_back("hugepages.reserved");
  if (pass.empty()) return;
  nlohmann::ordered_json doc{{"schema", "vmprep.expected/1"},
                             {"transaction", nullptr},  // the id is made when applying
                             {"pass", pass}};
  const std::string path = "/var/lib/vmprep/expected.json";
  vmprep::FileEdit edit;
  edit.path = path;
  auto existing = vmprep::ReadIfExists(host, path);
  if (!existing) {
    c->refusals.push_back({"vmsetup", existing.error()});
    return;
  }
  edit.before = std::move(*existing);
  edit.after = doc.dump(2) + "\n";
  edit.mode = 0644;
  edit.fixer = "vmsetup";
  edit.why = "what vmcheck-boot.service expects to pass after the reboot";
  if (edit.before == edit.after) return;
  c->plan.edits.push_back(std::move(edit));
}

void PrintRefusals(const Collected& c) {
  for (const auto& r : c.refusals) {
    std::fprintf(stderr, "vmsetup: %s refused: %s\n", r.fixer.c_str(), r.error.ToString().c_str());
  }
}

void PrintPlanText(const Collected& c) {
  std::string out;
  for (const vmprep::FileEdit* e : vmprep::EffectiveEdits(c.plan)) {
    out += fmt::format("# {}: {}\n", e->fixer, e->why);
    out += vmprep::UnifiedDiff(*e);
  }
  if (!c.plan.actions.empty()) {
    out += "\nThen run:\n";
    for (const auto& a : c.plan.actions) {
      out += fmt::format("  {}{}\n", vmprep::FormatArgv(a.argv),
                         a.why.empty() ? "" : "    # " + a.why);
    }
  }
  for (const auto& note : c.plan.notes) out += fmt::format("Note: {}\n", note);
  std::fwrite(out.data(), 1, out.size(), stdout);
}

void PrintPlanJson(const Collected& c) {
  using Json = nlohmann::json;
  Json edits = Json::array();
  for (const vmprep::FileEdit* e : vmprep::EffectiveEdits(c.plan)) {
    edits.push_back({{"path", e->path},
                     {"fixer", e->fixer},
                     {"why", e->why},
                     {"change", !e->before  ? "create"
                                : !e->after ? "remove"
                                            : "modify"},
                     {"diff", vmprep::UnifiedDiff(*e)}});
  }
  Json actions = Json::array();
  for (const auto& a : c.plan.actions) actions.push_back({{"argv", a.argv}, {"why", a.why}});
  Json refusals = Json::array();
  for (const auto& r : c.refusals) {
    refusals.push_back({{"fixer", r.fixer},
                        {"path", r.error.path},
                        {"line", r.error.line},
                        {"message", r.error.message}});
  }
  Json doc = {{"schema", "vmprep.plan/1"},
              {"edits", edits},
              {"actions", actions},
              {"notes", c.plan.notes},
              {"refusals", refusals}};
  std::string text = doc.dump(2) + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
}

// Runs (or, with --no-regenerate, lists) post-actions; false when one failed.
bool RunActions(const vmprep::Host& host, const std::vector<vmprep::PostAction>& actions,
                bool no_regenerate) {
  bool ok = true;
  const std::string& config = host.root_path(vmprep::Root::kConfig);
  if (!no_regenerate && !actions.empty() && config != "/" &&
      !host.Exists(vmprep::Root::kConfig, "/proc/self")) {
    // The commands run chrooted there; initramfs and GRUB tools read /proc, /sys and /dev.
    std::fprintf(stderr,
                 "vmsetup: warning: no /proc mounted in %s; the commands below usually need "
                 "/proc, /sys and /dev bind-mounted there\n",
                 config.c_str());
  }
  for (const auto& a : actions) {
    std::string shown = vmprep::FormatArgv(a.argv);
    if (no_regenerate) {
      std::printf("Skipped (--no-regenerate): %s%s\n", shown.c_str(),
                  a.why.empty() ? "" : ("    # " + a.why).c_str());
      continue;
    }
    std::printf("Running: %s\n", shown.c_str());
    std::fflush(stdout);
    if (auto r = vmprep::RunPostAction(host, a); !r) {
      std::fprintf(stderr, "vmsetup: %s\n", r.error().ToString().c_str());
      ok = false;
    }
  }
  if (!ok)
    std::fprintf(stderr, "vmsetup: the files are written; run the failed command(s) by hand\n");
  return ok;
}

bool Confirm() {
  std::printf("Apply these changes? [y/N] ");
  std::fflush(stdout);
  char buf[64] = {};
  if (std::fgets(buf, sizeof buf, stdin) == nullptr) return false;
  std::string answer = Lower(std::string(vmprep::Trim(buf)));
  return answer == "y" || answer == "yes";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vmsetup: plans and applies the boot-configuration changes a KVM/VFIO passthrough host "
      "needs, as diffs you can read first; every apply is a transaction you can undo.",
      "vmsetup"};
  app.footer(kFooter);
  std::string root, runtime_root, config_root, undo_id;
  std::vector<std::string> device_args, enable_args;
  bool yes = false, no_regenerate = false, json = false, version = false;
  app.add_option("--root", root, "Both roots: a mounted or captured system instead of /");
  app.add_option("--runtime-root", runtime_root, "Where /sys, /proc and /dev are read (default /)");
  app.add_option("--config-root", config_root, "Where /etc and /boot are edited (default /)");
  app.add_option("--device", device_args,
                 "A PCI device for vfio-pci, e.g. 0000:01:00.0 (repeatable)");
  app.add_option("--enable", enable_args, "What to set up, a comma list (see below)")
      ->delimiter(',');
  app.add_flag("-y,--yes", yes, "Apply without asking (required when there is no terminal)");
  app.add_flag("--no-regenerate", no_regenerate, "Do not run the post-actions; print them instead");
  app.add_flag("--json", json, "plan, history: print JSON");
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
  for (auto* sub : {plan_cmd, apply_cmd, undo_cmd, history_cmd, fixers_cmd}) sub->fallthrough();
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    return CannotRun(what);
  }
  if (version) {
    std::printf("vmsetup %s\n", VMPREP_VERSION);
    return kExitOk;
  }
  if (app.get_subcommands().empty())
    return CannotRun("a command is required: plan, apply, undo, history or fixers");

  if (fixers_cmd->parsed()) {
    for (const auto& f : vmprep::MakeAllFixers()) {
      std::printf("%-16s %s\n", std::string(f->Id()).c_str(),
                  std::string(f->Description()).c_str());
    }
    return kExitOk;
  }

  vmprep::FixerOptions options;
  for (const auto& d : device_args) {
    auto address = vmprep::PciAddress::Parse(d);
    if (!address)
      return CannotRun(fmt::format("--device {}: expected a PCI address such as 0000:01:00.0", d));
    if (std::find(options.devices.begin(), options.devices.end(), *address) ==
        options.devices.end()) {
      options.devices.push_back(*address);
    }
  }
  if (std::string bad = ParseEnable(enable_args, &options); !bad.empty()) return CannotRun(bad);
  if (!options.devices.empty()) options.vfio = true;
  if (options.vfio && options.devices.empty()) {
    return CannotRun("--enable vfio needs the devices: --device BDF (one or more)");
  }
  bool asked = options.iommu || options.vfio || options.vhost_net || options.hugepages ||
               options.xorg || !options.bridges.empty();
  if ((plan_cmd->parsed() || apply_cmd->parsed()) && !asked) {
    return CannotRun("nothing asked: say what to set up with --enable and/or --device");
  }

  auto host = vmprep::Host::OpenFromOptions(root, runtime_root, config_root);
  if (!host) return CannotRun(fmt::format("cannot use root {}", host.error().ToString()));

  if (history_cmd->parsed()) {
    auto list = vmprep::ListTransactions(*host);
    if (!list) return CannotRun(list.error().ToString());
    if (json) {
      nlohmann::json doc = nlohmann::json::array();
      for (const auto& r : *list) {
        doc.push_back({{"id", r.id},
                       {"created", r.created},
                       {"state", r.state},
                       {"files", r.files},
                       {"fixers", r.fixers}});
      }
      std::printf("%s\n", doc.dump(2).c_str());
      return kExitOk;
    }
    if (list->empty()) std::printf("No transactions recorded.\n");
    for (const auto& r : *list) {
      std::string fixers = vmprep::Join(r.fixers, ","), files = vmprep::Join(r.files, " ");
      std::printf("%s  %s  %-11s %s  %s\n", r.id.c_str(), r.created.substr(0, 19).c_str(),
                  r.state.c_str(), fixers.c_str(), files.c_str());
    }
    return kExitOk;
  }

  if (undo_cmd->parsed()) {
    auto undone = vmprep::UndoTransaction(*host, undo_id);
    if (!undone) {
      const vmprep::Error& e = undone.error();
      if (vmprep::IsLockHeld(e)) return CannotRun(e.ToString());
      if (e.errno_value == ENOENT && e.path == vmprep::kTransactionsDir) {
        if (undo_id.empty()) {
          std::printf("Nothing to undo.\n");
          return kExitOk;
        }
        return CannotRun(e.ToString());
      }
      std::fprintf(stderr, "vmsetup: %s\n", e.ToString().c_str());
      return e.errno_value == EALREADY ||
                     e.message.find("was changed after") != std::string::npos ||
                     e.message.find("does not match") != std::string::npos
                 ? kExitRefused
                 : kExitApplyFailed;
    }
    std::printf("Undid transaction %s:\n", undone->id.c_str());
    for (const auto& f : undone->files) std::printf("  restored %s\n", f.c_str());
    if (!RunActions(*host, undone->actions, no_regenerate)) return kExitPostActionFailed;
    return kExitOk;
  }

  Collected collected = CollectPlans(*host, options);
  if (collected.refusals.empty()) AddExpectedState(*host, options, &collected);
  if (json && plan_cmd->parsed()) {
    PrintPlanJson(collected);
  } else {
    PrintPlanText(collected);
  }
  PrintRefusals(collected);
  if (!collected.refusals.empty()) {
    if (apply_cmd->parsed()) std::fprintf(stderr, "vmsetup: nothing applied\n");
    return kExitRefused;
  }
  if (vmprep::EffectiveEdits(collected.plan).empty() && collected.plan.actions.empty()) {
    if (!json) std::printf("Nothing to do: this system already has what was asked.\n");
    return kExitOk;
  }
  if (plan_cmd->parsed()) return kExitOk;

  if (!yes) {
    if (::isatty(STDIN_FILENO) != 1) {
      return CannotRun("no terminal to confirm on; pass --yes to apply from a script");
    }
    if (!Confirm()) {
      std::printf("Nothing applied.\n");
      return kExitDeclined;
    }
  }
  auto applied = vmprep::ApplyEditSet(*host, collected.plan);
  if (!applied) {
    if (vmprep::IsLockHeld(applied.error())) return CannotRun(applied.error().ToString());
    std::fprintf(stderr, "vmsetup: apply failed: %s\n", applied.error().ToString().c_str());
    return kExitApplyFailed;
  }
  if (!applied->record.id.empty()) {
    std::printf("Applied transaction %s (undo with: vmsetup undo %s)\n", applied->record.id.c_str(),
                applied->record.id.c_str());
    for (const auto& f : applied->changed) std::printf("  wrote %s\n", f.c_str());
  }
  if (!RunActions(*host, collected.plan.actions, no_regenerate)) return kExitPostActionFailed;
  return kExitOk;
}
