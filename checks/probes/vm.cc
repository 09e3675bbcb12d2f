/// vm: whether a libvirt domain will start and run well on this host. A host that passes
/// every other check still fails at VM start when the domain names a device that is not
/// there or not free, huge pages that are not reserved, a bridge that does not exist...
/// Reads the domain (/etc/libvirt/qemu/NAME.xml or a file), /etc/libvirt/qemu.conf and
/// networks/, and the runtime facts the other probes read (PCI, huge pages, mounts, links).
#include "checks/probes/vm.h"

#include <fmt/format.h>

#include <cctype>

#include "core/text.h"
#include "system/facts.h"

namespace vmprep {

std::string VmKey(std::string_view name) {
  std::string key;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    key += (std::isalnum(u) && u < 0x80) || c == '_' || c == '.' || c == '-' ? c : '_';
  }
  return key.empty() ? "_" : key;
}

Finding& VmSubject::Add(std::vector<Finding>& out, std::string_view rule, Severity severity,
                        std::string summary, std::string_view item) const {
  std::string name = fmt::format("{}.{}", rule, key);
  if (!item.empty()) name += fmt::format(".{}", item);
  return AddFinding(out, "vm", name, severity, fmt::format("{}: {}", domain.name, summary));
}

std::string VmSubject::Where(int line) const {
  return line > 0 ? fmt::format("{}:{}", domain.path, line) : domain.path;
}

void VmVerdict::Raise(Severity s, std::string text, std::string hint) {
  if (SeverityRank(s) > SeverityRank(severity)) {
    severity = s;
    summary = std::move(text);
  }
  if (!hint.empty()) hints.push_back(std::move(hint));
}

Finding& VmVerdict::Emit(const VmSubject& vm, std::vector<Finding>& out, std::string_view rule,
                         std::string pass_summary, std::string_view item) {
  Finding& f = vm.Add(out, rule, severity,
                      severity == Severity::kPass ? std::move(pass_summary) : summary, item);
  f.hint = Join(hints, " ");
  f.evidence = std::move(evidence);
  return f;
}

std::vector<Finding> JudgeDomain(const VmSubject& vm) {
  std::vector<Finding> out;
  const Domain& d = vm.domain;
  Finding& f = vm.Add(
      out, "domain", Severity::kPass,
      fmt::format("the domain's definition reads ({} memory, {} PCI device(s) "
                  "passed through)",
                  d.memory_kb ? fmt::format("{} MiB", d.memory_kb / 1024) : std::string("no"),
                  d.hostdevs.size()));
  f.evidence.push_back({d.path, fmt::format("<domain type='{}'> <name>{}</name>", d.type, d.name)});
  for (auto* rule : {JudgeHostdevs, JudgeUsbHostdevs, JudgeFirmware, JudgeHugepages, JudgeHugetlbfs,
                     JudgeVirtiofs, JudgeDisks, JudgeNics, JudgeAddresses, JudgeBridges,
                     JudgeNetworks, JudgeAudio, JudgeLookingGlass})
    rule(vm, out);
  return out;
}

std::string KeyOf(const DomainInput& input) {
  if (!input.key.empty()) return input.key;
  return VmKey(input.domain ? input.domain->name : input.name);
}

std::string_view VmProbe::Name() const { return "vm"; }

std::string_view VmProbe::Description() const {
  return "a libvirt domain against this host (with vmcheck vm or --vm): hostdevs, huge pages, "
         "virtiofs, firmware, bridges, networks, audio, Looking Glass";
}

std::vector<Finding> VmProbe::Run(const Host& host, const ProbeContext& context) const {
  std::vector<Finding> out;
  if (context.domains.empty()) return out;
  const SystemFacts& facts = context.Facts(host);
  const QemuConf qemu_conf = ReadQemuConf(host);
  for (const auto& input : context.domains) {
    if (!input.domain) {
      const Error& e = input.domain.error();
      Finding& f =
          AddFinding(out, "vm", "domain." + KeyOf(input), Severity::kFail,
                     fmt::format("{}: the domain's definition cannot be read", input.name));
      f.evidence.push_back({e.path.empty() ? input.name : e.path, e.ToString()});
      f.hint = e.errno_value != 0
                   ? "Run vmcheck as root (libvirt's files are root's), or judge a copy: "
                     "`virsh dumpxml NAME > NAME.xml && vmcheck vm NAME.xml`."
                   : "Fix the XML at that line: `virsh edit NAME` checks it as it saves.";
      continue;
    }
    VmSubject vm{host, facts, *input.domain, qemu_conf, KeyOf(input)};
    for (auto& f : JudgeDomain(vm)) out.push_back(std::move(f));
  }
  return out;
}

}  // namespace vmprep
