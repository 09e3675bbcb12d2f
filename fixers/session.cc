/// The session: request parsing, planning across all fixers, apply/undo with progress.
#include "fixers/session.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "fixers/kvmfr.h"
#include "fixers/net_bridge.h"
#include "fixers/post_actions.h"
#include "system/vfio_selection.h"

namespace vmprep {
namespace {

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

Error ArgumentError(std::string message) { return Error{"", 0, std::move(message)}; }

// One --enable item into `options`.
std::expected<void, Error> ParseEnableItem(std::string_view raw, FixerOptions* options) {
  std::string item(Trim(raw));
  if (item.empty()) return {};
  const auto eq = item.find('=');
  const bool has_value = eq != std::string::npos;
  const std::string key = item.substr(0, eq);
  const std::string value = has_value ? item.substr(eq + 1) : "";
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
    FixerOptions::Hugepages pages;
    if (size == "2m" || size == "2048k") {
      pages.page_kb = 2048;
    } else if (size == "1g" || size == "1048576k") {
      pages.page_kb = 1048576;
    }
    if (pages.page_kb == 0 || !ParseCount(value.substr(colon + 1), &pages.count)) {
      return std::unexpected(ArgumentError(
          fmt::format("--enable {}: expected hugepages=SIZE:COUNT with SIZE 2M or 1G and "
                      "COUNT a positive number, e.g. hugepages=1G:8",
                      item)));
    }
    options->hugepages = pages;
  } else if (key == "bridge" && has_value) {
    // bridge=NAME allows NAME for the helper; bridge=NAME:IFACE also makes it, with IFACE.
    const auto colon = value.find(':');
    const std::string name = value.substr(0, colon);
    const std::string iface = colon == std::string::npos ? "" : value.substr(colon + 1);
    auto valid = [](const std::string& n) {
      bool ok = !n.empty() && n.size() <= 15;
      for (char c : n)
        ok =
            ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
      return ok;
    };
    if (!valid(name) || (colon != std::string::npos && (!valid(iface) || iface == name))) {
      return std::unexpected(ArgumentError(
          fmt::format("--enable {}: expected bridge=NAME or bridge=NAME:IFACE, interface names "
                      "of 1 to 15 letters, digits, '-', '_' or '.'",
                      item)));
    }
    if (std::find(options->bridges.begin(), options->bridges.end(), name) ==
        options->bridges.end()) {
      options->bridges.push_back(name);
    }
    if (!iface.empty()) options->net_bridge = FixerOptions::NetBridge{name, iface};
  } else if ((key == "qemu-user" || key == "access") && has_value) {
    bool ok = !value.empty() && value.size() <= 32 && value[0] != '-';
    for (char c : value)
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
    if (!ok)
      return std::unexpected(ArgumentError(
          fmt::format("--enable {}: expected {}=NAME, a user name of /etc/passwd", item, key)));
    (key == "access" ? options->access_user : options->qemu_user) = value;
  } else if (key == "kvmfr" && has_value) {
    auto kvmfr = ParseKvmfrRequest(value);
    if (!kvmfr)
      return std::unexpected(
          ArgumentError(fmt::format("--enable {}: {}", item, kvmfr.error().message)));
    options->kvmfr = *kvmfr;
  } else {
    return std::unexpected(
        ArgumentError(fmt::format("--enable: unknown item '{}' (known: iommu, iommu-pt, vfio, "
                                  "vhost_net, hugepages=SIZE:COUNT, xorg, bridge=NAME[:IFACE], "
                                  "qemu-user=NAME, access=NAME, kvmfr=SIZE[:USER])",
                                  item)));
  }
  return {};
}

std::expected<void, Error> AddAddresses(std::string_view option,
                                        const std::vector<std::string>& texts,
                                        std::vector<PciAddress>* out) {
  for (const auto& text : texts) {
    auto address = PciAddress::Parse(text);
    if (!address) {
      return std::unexpected(ArgumentError(
          fmt::format("{} {}: expected a PCI address such as 0000:01:00.0", option, text)));
    }
    if (std::find(out->begin(), out->end(), *address) == out->end()) out->push_back(*address);
  }
  return {};
}

// The finding ids that must pass once the machine has rebooted with this plan applied.
std::vector<std::string> ExpectedToPass(const FixerOptions& options) {
  std::vector<std::string> pass;
  if (options.iommu) {
    pass.push_back("iommu.kernel");
    pass.push_back("iommu.cmdline");
  }
  for (const auto& d : options.devices) pass.push_back("vfio.binding." + d.ToString());
  if (options.vfio) pass.push_back("vfio.early");
  if (options.vhost_net) pass.push_back("vhost_net.module");
  if (options.hugepages) pass.push_back("hugepages.reserved");
  return pass;
}

// The ids an earlier transaction's expected.json already lists (kept: expectations accumulate
// across transactions); a file that is not ours to read is replaced, with a warning.
std::vector<std::string> EarlierExpectations(const std::string& path,
                                             const std::optional<std::string>& text,
                                             SessionPlan* plan) {
  std::vector<std::string> pass;
  if (!text) return pass;
  auto doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  bool ours = doc.is_object() && doc.value("schema", "") == "vmprep.expected/1" &&
              doc.contains("pass") && doc["pass"].is_array();
  if (ours) {
    for (const auto& id : doc["pass"]) {
      if (!id.is_string()) {
        ours = false;
        break;
      }
      pass.push_back(id.get<std::string>());
    }
  }
  if (!ours) {
    plan->warnings.push_back(fmt::format(
        "{}: not a vmprep.expected/1 document (a \"pass\" array of finding ids); replaced by "
        "this transaction's expectations (the old file is kept in its backup)",
        path));
    pass.clear();
  }
  return pass;
}

// What vmcheck-boot.service compares against after the reboot (/var/lib/vmprep/expected.json,
// systemd/README.md): the ids every applied transaction expects to pass, this one's added to
// the earlier ones. Part of the transaction, so undo restores the previous expectation.
void AddExpectedState(const Host& host, const FixerOptions& options, SessionPlan* plan) {
  if (EffectiveEdits(plan->edits).empty()) return;
  std::vector<std::string> added = ExpectedToPass(options);
  if (added.empty()) return;
  const std::string path(kExpectedStatePath);
  auto existing = ReadIfExists(host, path);
  if (!existing) {
    plan->refusals.push_back({"vmsetup", existing.error()});
    return;
  }
  std::vector<std::string> pass = EarlierExpectations(path, *existing, plan);
  for (auto& id : added) {
    if (std::find(pass.begin(), pass.end(), id) == pass.end()) pass.push_back(std::move(id));
  }
  nlohmann::ordered_json doc{{"schema", "vmprep.expected/1"},
                             {"transaction", nullptr},  // the id is made when applying
                             {"pass", pass}};
  FileEdit edit;
  edit.path = path;
  edit.before = std::move(*existing);
  edit.after = doc.dump(2) + "\n";
  edit.mode = 0644;
  edit.fixer = "vmsetup";
  edit.why = "what vmcheck-boot.service expects to pass after the reboot";
  if (edit.before == edit.after) return;
  plan->edits.edits.push_back(std::move(edit));
}

void Report(const ApplyOptions& options, ProgressEvent::Kind kind, std::string text,
            bool ok = true) {
  if (options.progress) options.progress({kind, std::move(text), ok});
}

// Runs (or, without regenerate, reports) the post-actions; false when one failed.
bool RunActions(const Host& host, const std::vector<PostAction>& actions,
                const ApplyOptions& options, std::vector<Error>* errors) {
  bool ok = true;
  const std::string& config = host.root_path(Root::kConfig);
  if (options.regenerate && !actions.empty() && config != "/" &&
      !host.Exists(Root::kConfig, "/proc/self")) {
    // The commands run chrooted there; initramfs and GRUB tools read /proc, /sys and /dev.
    Report(options, ProgressEvent::Kind::kWarning,
           fmt::format("no /proc mounted in {}; the commands below usually need /proc, /sys "
                       "and /dev bind-mounted there",
                       config));
  }
  for (const auto& a : actions) {
    std::string shown = FormatArgv(a.argv);
    if (!options.regenerate) {
      Report(options, ProgressEvent::Kind::kActionSkipped, shown);
      continue;
    }
    Report(options, ProgressEvent::Kind::kActionStarted, shown);
    auto ran = RunPostAction(host, a, [&](std::string_view line) {
      Report(options, ProgressEvent::Kind::kActionOutput, std::string(line));
    });
    Report(options, ProgressEvent::Kind::kActionFinished, shown, ran.has_value());
    if (!ran) {
      errors->push_back(ran.error());
      ok = false;
    }
  }
  return ok;
}

}  // namespace

bool Request::empty() const {
  const FixerOptions& o = options;
  return !o.iommu && !o.vfio && !o.vhost_net && !o.hugepages && !o.xorg && o.bridges.empty() &&
         o.qemu_user.empty() && !o.net_bridge && o.access_user.empty() && !o.kvmfr;
}

bool SessionPlan::NothingToDo() const {
  return refusals.empty() && EffectiveEdits(edits).empty() && edits.actions.empty();
}

std::expected<Request, Error> ParseRequest(const std::vector<std::string>& devices,
                                           const std::vector<std::string>& enable,
                                           const std::vector<std::string>& allow_host_devices) {
  Request request;
  if (auto ok = AddAddresses("--device", devices, &request.options.devices); !ok)
    return std::unexpected(ok.error());
  if (auto ok = AddAddresses("--allow-host-device", allow_host_devices,
                             &request.options.allow_host_devices);
      !ok)
    return std::unexpected(ok.error());
  for (const auto& list : enable) {
    std::size_t pos = 0;
    while (pos <= list.size()) {
      std::size_t comma = std::min(list.find(',', pos), list.size());
      if (auto ok =
              ParseEnableItem(std::string_view(list).substr(pos, comma - pos), &request.options);
          !ok)
        return std::unexpected(ok.error());
      pos = comma + 1;
    }
  }
  if (!request.options.devices.empty()) request.options.vfio = true;
  if (request.options.vfio && request.options.devices.empty()) {
    return std::unexpected(
        ArgumentError("--enable vfio needs the devices: --device ADDRESS (one or more)"));
  }
  return request;
}

std::expected<Request, Error> ParseRequestArgs(const std::vector<std::string>& args) {
  std::vector<std::string> devices, enable, allow;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    if (auto eq = name.find('='); eq != std::string::npos && name.starts_with("--")) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return std::unexpected(ArgumentError(fmt::format("{} needs a value", name)));
    }
    if (name == "--device") {
      devices.push_back(value);
    } else if (name == "--enable") {
      enable.push_back(value);
    } else if (name == "--allow-host-device") {
      allow.push_back(value);
    } else {
      return std::unexpected(ArgumentError(fmt::format(
          "unknown request option '{}' (known: --device, --enable, --allow-host-device)", name)));
    }
  }
  return ParseRequest(devices, enable, allow);
}

namespace {

// What RecoverInterrupted did, as progress events.
void ReportRecovery(const std::vector<Recovery>& recovered, const ProgressFn& progress) {
  for (const auto& r : recovered) {
    if (progress) progress({ProgressEvent::Kind::kRecovered, r.message, r.complete});
  }
}

}  // namespace

SessionPlan MakePlan(const Host& host, const Request& request, const ProgressFn& progress) {
  // Inside Apply (lock held, recovery done) this finds nothing unfinished and changes nothing.
  ReportRecovery(RecoverInterrupted(host), progress);
  SessionPlan plan;
  const FixerOptions& options = request.options;
  if (options.vfio) {
    // Every vfio fixer selects the same way; asked once here, a refusal is shown once.
    auto selection = SelectForVfio(host, options.devices, options.allow_host_devices);
    if (!selection) {
      plan.refusals.push_back({"vmsetup", selection.error()});
      return plan;
    }
    plan.warnings = selection->warnings;  // the fixers carry the notes
  }
  for (const auto& fixer : MakeAllFixers()) {
    auto planned = fixer->Plan(host, request.options);
    if (!planned) {
      plan.refusals.push_back({std::string(fixer->Id()), planned.error()});
      continue;
    }
    plan.edits.Append(std::move(*planned));
  }
  if (auto ok = CheckEditSet(host, plan.edits); !ok)
    plan.refusals.push_back({"vmsetup", ok.error()});
  if (plan.refusals.empty()) AddExpectedState(host, request.options, &plan);
  if (options.net_bridge) plan.warnings.push_back(NetBridgeWarning(host, *options.net_bridge));
  return plan;
}

SessionResult Apply(const Host& host, const Request& request, const ApplyOptions& options) {
  SessionResult result;
  auto lock = TransactionLock::Acquire(host);
  if (!lock) {
    result.outcome = Outcome::kCannotRun;
    result.errors.push_back(lock.error());
    return result;
  }
  ReportRecovery(RecoverInterrupted(host, *lock), options.progress);
  result.plan = MakePlan(host, request);
  Report(options, ProgressEvent::Kind::kPlanned, "");
  if (!result.plan.refusals.empty()) {
    result.outcome = Outcome::kRefused;
    return result;
  }
  if (result.plan.NothingToDo()) return result;
  // A bridge moves the host's own network: shown by plan, applied only when asked for.
  if (request.options.net_bridge && !request.options.allow_network_change) {
    result.outcome = Outcome::kRefused;
    result.errors.push_back(Error{"", 0,
                                  "bridge=NAME:IFACE changes the host's network: read the plan, "
                                  "then apply it with --allow-network-change (from a console)",
                                  0});
    return result;
  }
  if (options.confirm && !options.confirm(result.plan)) {
    result.outcome = Outcome::kDeclined;
    return result;
  }
  auto applied = ApplyEditSet(host, result.plan.edits, *lock);
  if (!applied) {
    result.outcome = IsRefusal(applied.error()) ? Outcome::kRefused : Outcome::kFailed;
    result.errors.push_back(applied.error());
    return result;
  }
  result.record = applied->record;
  result.changed = applied->changed;
  Report(options, ProgressEvent::Kind::kApplied, result.record.id);
  for (const auto& path : result.changed) Report(options, ProgressEvent::Kind::kFileWritten, path);
  result.outcome = RunActions(host, result.plan.edits.actions, options, &result.errors)
                       ? Outcome::kDone
                       : Outcome::kActionFailed;
  return result;
}

SessionResult Undo(const Host& host, std::string_view id, const ApplyOptions& options) {
  SessionResult result;
  auto lock = TransactionLock::Acquire(host);
  if (!lock) {
    result.outcome = Outcome::kCannotRun;
    result.errors.push_back(lock.error());
    return result;
  }
  ReportRecovery(RecoverInterrupted(host, *lock), options.progress);
  if (options.confirm) {
    // Asked with what undo restores, read under the lock. When it cannot be read, undo
    // below fails with the same error.
    if (auto preview = PreviewUndo(host, id)) {
      SessionPlan plan;
      plan.edits = std::move(preview->edits);
      if (!options.confirm(plan)) {
        result.outcome = Outcome::kDeclined;
        result.record = std::move(preview->record);
        return result;
      }
    }
  }
  auto undone = UndoTransaction(host, id, *lock);
  if (!undone) {
    const Error& e = undone.error();
    if (e.errno_value == ENOENT && e.path == kTransactionsDir) {
      result.outcome = id.empty() ? Outcome::kNothingToDo : Outcome::kCannotRun;
      if (!id.empty()) result.errors.push_back(e);
      return result;
    }
    result.errors.push_back(e);
    result.outcome = IsRefusal(e) ? Outcome::kRefused : Outcome::kFailed;
    return result;
  }
  result.record = *undone;
  result.changed = undone->files;
  for (const auto& path : result.changed) Report(options, ProgressEvent::Kind::kFileWritten, path);
  result.outcome = RunActions(host, undone->actions, options, &result.errors)
                       ? Outcome::kDone
                       : Outcome::kActionFailed;
  return result;
}

std::expected<std::vector<TransactionRecord>, Error> History(const Host& host,
                                                             const ProgressFn& progress) {
  ReportRecovery(RecoverInterrupted(host), progress);
  return ListTransactions(host);
}

}  // namespace vmprep
