// vm: a libvirt domain judged against this host (vmcheck vm NAME|FILE, vmcheck --vm NAME).
// Each rule is its own function over one domain, so a test can give it one input state.
// Finding ids: vm.RULE.VM, vm.hostdev.VM.ADDRESS, and vm.usb.VM.VENDOR:PRODUCT[@BUS.DEVICE]
// (vm.usb.VM.BUS.DEVICE without ids); VM is the domain's name with bytes
// outside [A-Za-z0-9_.-] replaced by '_'.
#pragma once

#include <string>
#include <vector>

#include "checks/probe.h"
#include "system/libvirt_host.h"

namespace vmprep {

class VmProbe final : public Probe {
 public:
  std::string_view Name() const override;
  std::string_view Description() const override;
  // Judges context.domains; nothing when none is given.
  std::vector<Finding> Run(const Host& host, const ProbeContext& context) const override;
};

// One domain and what every rule needs to judge it.
struct VmSubject {
  const Host& host;
  const SystemFacts& facts;
  const Domain& domain;
  const QemuConf& qemu_conf;
  std::string key;  // the VM part of the finding ids
  // Appends "vm.<rule>.<key>" (and ".<item>" when given).
  Finding& Add(std::vector<Finding>& out, std::string_view rule, Severity severity,
               std::string summary, std::string_view item = {}) const;
  // "/etc/libvirt/qemu/win10.xml:42" for evidence.
  std::string Where(int line) const;
};

// Gathers the problems one finding reports: the worst decides severity and summary; every
// hint is kept, in order.
struct VmVerdict {
  Severity severity = Severity::kPass;
  std::string summary;
  std::vector<std::string> hints;
  std::vector<Evidence> evidence;
  void Raise(Severity s, std::string text, std::string hint = {});
  // Adds the finding (its summary `pass_summary` when nothing was raised).
  Finding& Emit(const VmSubject& vm, std::vector<Finding>& out, std::string_view rule,
                std::string pass_summary, std::string_view item = {});
};

// The VM part of finding ids for a domain name.
std::string VmKey(std::string_view name);
// The key of a loaded domain: its own, else VmKey of its name.
std::string KeyOf(const DomainInput& input);

// Every rule, in report order.
std::vector<Finding> JudgeDomain(const VmSubject& vm);

void JudgeHostdevs(const VmSubject& vm, std::vector<Finding>& out);     // vm.hostdev
void JudgeUsbHostdevs(const VmSubject& vm, std::vector<Finding>& out);  // vm.usb
void JudgeFirmware(const VmSubject& vm, std::vector<Finding>& out);     // vm.firmware
void JudgeHugepages(const VmSubject& vm, std::vector<Finding>& out);    // vm.hugepages
void JudgeHugetlbfs(const VmSubject& vm, std::vector<Finding>& out);    // vm.hugetlbfs
void JudgeVirtiofs(const VmSubject& vm, std::vector<Finding>& out);     // vm.virtiofs-*
void JudgeDisks(const VmSubject& vm, std::vector<Finding>& out);        // vm.disk-bus
void JudgeNics(const VmSubject& vm, std::vector<Finding>& out);         // vm.nic-model
void JudgeAddresses(const VmSubject& vm, std::vector<Finding>& out);    // vm.address
void JudgeBridges(const VmSubject& vm, std::vector<Finding>& out);      // vm.bridge
void JudgeNetworks(const VmSubject& vm, std::vector<Finding>& out);     // vm.network
void JudgeAudio(const VmSubject& vm, std::vector<Finding>& out);        // vm.audio
// vm.shmem, vm.looking-glass, vm.kvmfr-acl
void JudgeLookingGlass(const VmSubject& vm, std::vector<Finding>& out);
// vm.shmem: a Looking Glass buffer of `bytes` (declared at `line`) against the resolutions.
void JudgeLookingGlassSize(const VmSubject& vm, std::uint64_t bytes, int line,
                           std::vector<Finding>& out);
// The size a kvmfr memory-backend argument gives (JSON "size":N or size=N[KMG]).
std::optional<std::uint64_t> KvmfrSize(const std::vector<std::string>& args);

}  // namespace vmprep
