/// The session's answers for a front end that shows before it asks (the wizard): what an
/// undo restores, which transaction waits for a reboot, whether a plan is still the one
/// shown, and the vmsetup arguments of a request.
#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "core/text.h"
#include "fixers/post_actions.h"
#include "fixers/session.h"
#include "system/next_boot.h"

namespace vmprep {
namespace {

// "2026-11-24T07:15:30.123456Z" (TransactionRecord::created) as seconds since the epoch.
std::optional<std::int64_t> ParseCreated(const std::string& created) {
  std::tm tm{};
  const char* end = ::strptime(created.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) return std::nullopt;
  return static_cast<std::int64_t>(::timegm(&tm));
}

}  // namespace

UndoPlan PlanUndo(const Host& host, std::string_view id, const ProgressFn& progress) {
  for (const auto& r : RecoverInterrupted(host)) {
    if (progress) progress({ProgressEvent::Kind::kRecovered, r.message, r.complete});
  }
  UndoPlan out;
  auto preview = PreviewUndo(host, id);
  if (!preview) {
    out.plan.refusals.push_back({"vmsetup", preview.error()});
    return out;
  }
  out.record = std::move(preview->record);
  out.plan.edits = std::move(preview->edits);
  return out;
}

std::optional<TransactionRecord> AwaitingReboot(const Host& host,
                                                const std::vector<TransactionRecord>& history) {
  auto booted = BootTime(host);
  if (!booted) return std::nullopt;
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    if (it->state != "applied") continue;
    auto created = ParseCreated(it->created);
    if (created && *created >= *booted) return *it;
    return std::nullopt;  // the newest applied one is older than this boot: in effect
  }
  return std::nullopt;
}

bool SameChanges(const SessionPlan& a, const SessionPlan& b) {
  auto ea = EffectiveEdits(a.edits), eb = EffectiveEdits(b.edits);
  if (ea.size() != eb.size() || a.edits.actions.size() != b.edits.actions.size()) return false;
  for (std::size_t i = 0; i < ea.size(); ++i) {
    if (ea[i]->path != eb[i]->path || ea[i]->before != eb[i]->before ||
        ea[i]->after != eb[i]->after || ea[i]->mode != eb[i]->mode)
      return false;
  }
  for (std::size_t i = 0; i < a.edits.actions.size(); ++i) {
    if (a.edits.actions[i].argv != b.edits.actions[i].argv) return false;
  }
  return a.refusals.empty() == b.refusals.empty();
}

std::vector<std::string> RequestArgs(const Request& request) {
  const FixerOptions& o = request.options;
  std::vector<std::string> args;
  for (const auto& d : o.devices) {
    args.push_back("--device");
    args.push_back(d.ToString());
  }
  for (const auto& d : o.allow_host_devices) {
    args.push_back("--allow-host-device");
    args.push_back(d.ToString());
  }
  std::vector<std::string> enable;
  if (o.iommu_pt) {
    enable.push_back("iommu-pt");
  } else if (o.iommu) {
    enable.push_back("iommu");
  }
  if (o.vhost_net) enable.push_back("vhost_net");
  if (o.hugepages) {
    enable.push_back(fmt::format("hugepages={}:{}", o.hugepages->page_kb == 1048576 ? "1G" : "2M",
                                 o.hugepages->count));
  }
  if (o.xorg) enable.push_back("xorg");
  for (const auto& b : o.bridges) {
    const bool made = o.net_bridge && o.net_bridge->name == b;
    enable.push_back("bridge=" + b + (made ? ":" + o.net_bridge->iface : ""));
  }
  if (o.kvmfr) {
    enable.push_back(fmt::format("kvmfr={}{}", o.kvmfr->size_mb,
                                 o.kvmfr->user.empty() ? "" : ":" + o.kvmfr->user));
  }
  if (!o.qemu_user.empty()) enable.push_back("qemu-user=" + o.qemu_user);
  if (!o.access_user.empty()) enable.push_back("access=" + o.access_user);
  if (o.libvirt) enable.push_back("libvirt");
  if (!enable.empty()) {
    args.push_back("--enable");
    args.push_back(Join(enable, ","));
  }
  return args;
}

}  // namespace vmprep
