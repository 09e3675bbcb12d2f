// Test helpers for the vm probe: a captured machine (tests/sysroots) plus the files a rule
// reads, a domain given as XML, and the vm findings it gets.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "checks/probes/vm.h"
#include "formats/libvirt_domain.h"
#include "tests/probe_test_util.h"
#include "tests/sysroot.h"

namespace vmprep::testing {

class VmMachine {
 public:
  explicit VmMachine(const std::string& sysroot) : root_(sysroot) {}
  bool ok() const { return root_.ok(); }
  std::filesystem::path Config(const std::string& path) const { return root_.config() + path; }
  std::filesystem::path Runtime(const std::string& path) const { return root_.runtime() + path; }

  void PutConfig(const std::string& path, const std::string& text) { Put(Config(path), text); }
  void PutRuntime(const std::string& path, const std::string& text) { Put(Runtime(path), text); }
  static void Put(const std::filesystem::path& p, const std::string& text) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  // A bridge as the kernel shows it: /sys/devices/virtual/net/NAME with bridge/ and
  // operstate, linked from /sys/class/net/NAME.
  void AddBridge(const std::string& name, const std::string& operstate) {
    auto dir = Runtime("/sys/devices/virtual/net/" + name);
    std::filesystem::create_directories(dir / "bridge");
    Put(dir / "operstate", operstate + "\n");
    std::filesystem::create_symlink("../../devices/virtual/net/" + name,
                                    Runtime("/sys/class/net/" + name));
  }
  // A real listening socket, as a sound server leaves one.
  void AddSocket(const std::string& path, uid_t uid) {
    auto p = Runtime(path);
    std::filesystem::create_directories(p.parent_path());
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string s = p.string();
    ASSERT_LT(s.size(), sizeof addr.sun_path) << s;
    s.copy(addr.sun_path, s.size());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << s;
    ::close(fd);
    ASSERT_EQ(::chown(s.c_str(), uid, uid), 0);
  }
  // Dates a config-root file before the captured boot (configuration already in effect).
  void DateBeforeBoot(const std::string& path) { SetMtimeBeforeBoot(root_, Config(path)); }
  // Looking Glass's kvmfr loaded as a real kernel shows an out-of-tree module: a /proc/modules
  // line tainted (OE), /sys/module/kvmfr without parameters/ (kvmfr.c registers static_size_mb
  // with mode 0000), class kvmfr with kvmfr0, and the node (an empty file with the node's
  // owner and mode, as in the captures' runtime/dev).
  void AddLoadedKvmfr(uid_t uid, gid_t gid, unsigned mode) {
    std::ofstream(Runtime("/proc/modules"), std::ios::app)
        << "kvmfr 20480 0 - Live 0xffffffffc0a7e000 (OE)\n";
    PutRuntime("/sys/module/kvmfr/initstate", "live\n");
    PutRuntime("/sys/module/kvmfr/refcnt", "0\n");
    PutRuntime("/sys/module/kvmfr/taint", "OE\n");
    PutRuntime("/sys/module/kvmfr/version", "0.0.7\n");
    PutRuntime("/sys/devices/virtual/kvmfr/kvmfr0/dev", "241:0\n");
    PutRuntime("/sys/devices/virtual/kvmfr/kvmfr0/uevent", "MAJOR=241\nMINOR=0\nDEVNAME=kvmfr0\n");
    std::filesystem::create_directories(Runtime("/sys/class/kvmfr"));
    std::filesystem::create_symlink("../../devices/virtual/kvmfr/kvmfr0",
                                    Runtime("/sys/class/kvmfr/kvmfr0"));
    PutRuntime("/dev/kvmfr0", "");
    auto node = Runtime("/dev/kvmfr0");
    ASSERT_EQ(::chown(node.c_str(), uid, gid), 0);
    std::filesystem::permissions(node, static_cast<std::filesystem::perms>(mode));
  }
  // /etc/passwd and /etc/group with alice (uid 1000) and the kvm group (gid 105).
  void AddUsers() {
    PutConfig("/etc/passwd",
              "root:x:0:0:root:/root:/bin/bash\n"
              "libvirt-qemu:x:64055:105:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin\n"
              "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n");
    PutConfig("/etc/group", "root:x:0:\nkvm:x:105:alice,libvirt-qemu\nalice:x:1000:\n");
  }

  // The vm findings for one domain.
  std::vector<Finding> Judge(const std::string& xml) {
    auto host = Host::Open(root_.runtime(), root_.config());
    EXPECT_TRUE(host.has_value());
    if (!host) return {};
    ProbeContext context;
    context.identity = {0, {0}, "root"};
    auto domain = ParseDomainXml(xml, "/etc/libvirt/qemu/test.xml");
    EXPECT_TRUE(domain.has_value()) << (domain ? "" : domain.error().ToString());
    context.domains.push_back({"test", std::move(domain), ""});
    return VmProbe().Run(*host, context);
  }
  // The finding `id` for one domain (an empty finding, and a test failure, when there is none).
  Finding Find(const std::string& xml, std::string_view id) {
    auto findings = Judge(xml);
    const Finding* f = FindById(findings, id);
    if (f == nullptr) {
      ADD_FAILURE() << "no finding " << id << " among "
                    << ::testing::PrintToString(Verdicts(findings));
      return Finding{};
    }
    return *f;
  }
  // "id:severity" of the findings of one rule.
  std::vector<std::string> Rule(const std::string& xml, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& v : Verdicts(Judge(xml)))
      if (v.starts_with(prefix)) out.push_back(v);
    return out;
  }

 private:
  Sysroot root_;
};

// A domain named "t" with `memory` KiB, `os` inside <os>, `backing` as <memoryBacking>
// content (none when empty) and `devices` inside <devices>.
inline std::string DomainXml(const std::string& devices, const std::string& backing = "",
                             const std::string& os = "", long memory_kib = 131072) {
  std::string xml = "<domain type='kvm'>\n  <name>t</name>\n  <memory unit='KiB'>" +
                    std::to_string(memory_kib) + "</memory>\n";
  if (!backing.empty()) xml += "  <memoryBacking>" + backing + "</memoryBacking>\n";
  xml += "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n" + os + "  </os>\n";
  xml += "  <devices>\n" + devices + "  </devices>\n</domain>\n";
  return xml;
}

inline std::string Hostdev(const std::string& bus, const std::string& slot, const std::string& fn,
                           bool managed = true) {
  return "<hostdev mode='subsystem' type='pci' managed='" + std::string(managed ? "yes" : "no") +
         "'><source><address domain='0x0000' bus='" + bus + "' slot='" + slot + "' function='" +
         fn + "'/></source></hostdev>\n";
}

// A domain that maps 32 MiB of /dev/kvmfr0 for Looking Glass (a memory-backend-file object on
// QEMU's command line, as Looking Glass's documentation writes it).
inline std::string KvmfrDomain() {
  std::string xml = DomainXml("");
  xml.insert(xml.rfind("</domain>"),
             "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
             "<qemu:arg value='-object'/><qemu:arg value='{&quot;qom-type&quot;:&quot;memory-"
             "backend-file&quot;,&quot;id&quot;:&quot;looking-glass&quot;,&quot;mem-path&quot;:"
             "&quot;/dev/kvmfr0&quot;,&quot;size&quot;:33554432,&quot;share&quot;:true}'/>"
             "</qemu:commandline>\n");
  return xml;
}

}  // namespace vmprep::testing
