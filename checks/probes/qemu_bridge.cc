/// qemu.bridge-helper and qemu.bridge-conf: may unprivileged QEMU join a bridge? The setuid
/// qemu-bridge-helper and its ACL /etc/qemu/bridge.conf (root's, not writable by others),
/// judged against the bridges this machine has (/sys/class/net/NAME/bridge). Part of the qemu
/// check (checks/probes/qemu.cc).
#include <fmt/format.h>

#include <algorithm>

#include "checks/probes/qemu_internal.h"
#include "core/text.h"
#include "system/fixer_ids.h"
#include "system/net_links.h"

namespace vmprep::qemu_internal {
namespace {

constexpr std::string_view kBridgeHelpers[] = {
    "/usr/lib/qemu/qemu-bridge-helper",  // Debian, Ubuntu, Arch
    "/usr/libexec/qemu-bridge-helper",   // Fedora, openSUSE, Arch (newer)
};
constexpr std::string_view kBridgeConf = "/etc/qemu/bridge.conf";

// The installed helper ("" when none); the last known place wins.
std::string FindHelper(const Host& host) {
  std::string helper;
  for (auto p : kBridgeHelpers) {
    if (host.Exists(Root::kConfig, p)) helper = p;
  }
  return helper;
}

void AddHelperFinding(std::vector<Finding>& out, const Host& host, const std::string& helper) {
  auto st = host.Stat(Root::kConfig, helper);
  bool setuid = st && (st->mode & 04000) && st->uid == 0;
  Finding& f = AddFinding(
      out, "qemu", "bridge-helper", setuid ? Severity::kPass : Severity::kNote,
      setuid ? "qemu-bridge-helper is setuid root: unprivileged QEMU can join bridges"
             : "qemu-bridge-helper is not setuid root: only root's QEMU can join bridges");
  f.evidence.push_back({helper, st ? fmt::format("mode {:04o}, owner uid {}", st->mode, st->uid)
                                   : st.error().message});
  if (!setuid)
    f.hint = fmt::format("If unprivileged users start VMs on a bridge: `chmod u+s {}`.", helper);
}

void AddConfMissingFinding(std::vector<Finding>& out, const Error& error,
                           const std::vector<std::string>& bridges) {
  Finding& c = AddFinding(out, "qemu", "bridge-conf", Severity::kNote,
                          "no /etc/qemu/bridge.conf: the bridge helper allows no bridge");
  c.evidence.push_back({std::string(kBridgeConf), error.message});
  c.hint = fmt::format(
      "To let guests join bridge {0}: `vmsetup plan --enable bridge={0}` "
      "writes `allow {0}` to /etc/qemu/bridge.conf (root's, mode 0644).",
      bridges.empty() ? "br0" : bridges.front());
  if (!bridges.empty()) c.SetFix(kFixQemuBridge, {"--enable", "bridge=" + bridges.front()});
}

// An allowed bridge that does not exist: a VM that names it cannot start.
void NoteMissingBridges(Finding& c, const Host& host, const std::vector<std::string>& allowed,
                        const std::vector<std::string>& bridges) {
  std::vector<std::string> missing;
  for (const auto& a : allowed)
    if (a != "all" && !IsBridge(host, a)) missing.push_back(a);
  if (missing.empty() || c.severity != Severity::kPass || !c.fixer.empty()) return;
  c.severity = Severity::kNote;
  c.summary += fmt::format("; {} {} not exist here", Join(missing, ", "),
                           missing.size() == 1 ? "does" : "do");
  c.evidence.push_back({"/sys/class/net", "bridges: " + (bridges.empty() ? std::string("none")
                                                                         : Join(bridges, ", "))});
  c.hint = "Create the bridge in the host's network configuration, or remove its allow line.";
}

void AddConfFinding(std::vector<Finding>& out, const Host& host, const std::string& text,
                    const std::vector<std::string>& bridges) {
  std::vector<std::string> allowed;
  for (auto line : SplitLines(text)) {
    auto words = SplitWords(line);
    if (words.size() >= 2 && words[0] == "allow") allowed.emplace_back(words[1]);
  }
  auto fst = host.Stat(Root::kConfig, kBridgeConf);
  auto dst = host.Stat(Root::kConfig, "/etc/qemu");
  bool unsafe = (fst && (fst->uid != 0 || (fst->mode & 022))) ||
                (dst && (dst->uid != 0 || (dst->mode & 022)));
  Severity sev = unsafe ? Severity::kFail : allowed.empty() ? Severity::kNote : Severity::kPass;
  Finding& c = AddFinding(
      out, "qemu", "bridge-conf", sev,
      unsafe            ? "/etc/qemu/bridge.conf can be changed by users other than root: a setuid "
                          "helper trusts it"
      : allowed.empty() ? "/etc/qemu/bridge.conf allows no bridge"
                        : fmt::format("/etc/qemu/bridge.conf allows {}", Join(allowed, ", ")));
  if (fst)
    c.evidence.push_back(
        {std::string(kBridgeConf), fmt::format("mode {:04o}, owner uid {}; {} allow line(s)",
                                               fst->mode, fst->uid, allowed.size())});
  if (dst)
    c.evidence.push_back(
        {"/etc/qemu", fmt::format("mode {:04o}, owner uid {}", dst->mode, dst->uid)});
  if (unsafe)
    c.hint =
        "Run `chown root:root /etc/qemu /etc/qemu/bridge.conf && chmod 755 /etc/qemu && chmod "
        "644 /etc/qemu/bridge.conf`.";
  else if (allowed.empty())
    c.hint = fmt::format("Add a line `allow {}` (your bridge's name) to /etc/qemu/bridge.conf.",
                         bridges.empty() ? "br0" : bridges.front());
  // vmsetup can add a bridge that exists here and is not allowed yet.
  auto is_allowed = [&](const std::string& b) {
    return std::find(allowed.begin(), allowed.end(), b) != allowed.end();
  };
  for (const auto& b : bridges) {
    if (unsafe || is_allowed(b) || is_allowed("all")) continue;
    c.SetFix(kFixQemuBridge, {"--enable", "bridge=" + b});
    break;
  }
  NoteMissingBridges(c, host, allowed, bridges);
}

}  // namespace

void AddBridgeFindings(std::vector<Finding>& out, const Host& host) {
  const std::string helper = FindHelper(host);
  if (helper.empty()) return;
  AddHelperFinding(out, host, helper);
  std::vector<std::string> bridges = ListBridges(host);
  auto text = host.Read(Root::kConfig, kBridgeConf, 1 << 16);
  if (!text) {
    AddConfMissingFinding(out, text.error(), bridges);
  } else {
    AddConfFinding(out, host, *text, bridges);
  }
}

}  // namespace vmprep::qemu_internal
