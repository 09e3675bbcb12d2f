#include "system/libvirt_host.h"

#include <fmt/format.h>

#include "formats/libvirt_conf.h"
#include "system/accounts.h"

namespace vmprep {

bool ValidDomainName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos;
}

std::string DomainConfigPath(std::string_view name) {
  return fmt::format("{}/{}.xml", kLibvirtQemuDir, name);
}

std::expected<std::vector<std::string>, Error> ListDefinedDomains(const Host& host) {
  auto entries = host.List(Root::kConfig, kLibvirtQemuDir);
  if (!entries) return std::unexpected(entries.error());
  std::vector<std::string> names;
  for (const auto& e : *entries) {
    if (e.size() <= 4 || !e.ends_with(".xml")) continue;
    auto info = host.Stat(Root::kConfig, DomainConfigPath(e.substr(0, e.size() - 4)));
    if (info && info->type == FileType::kRegular) names.push_back(e.substr(0, e.size() - 4));
  }
  return names;
}

std::expected<Domain, Error> ReadDomain(const Host& host, Root root, std::string_view path) {
  auto text = host.Read(root, path, 4u << 20);
  if (!text) return std::unexpected(text.error());
  return ParseDomainXml(*text, path);
}

LibvirtNetwork NetworkState(const Host& host, std::string_view name) {
  LibvirtNetwork n;
  n.path = fmt::format("{}/networks/{}.xml", kLibvirtQemuDir, name);
  if (!ValidDomainName(name)) return n;
  n.defined = host.Exists(Root::kConfig, n.path);
  n.autostart = host.Exists(Root::kConfig,
                            fmt::format("{}/networks/autostart/{}.xml", kLibvirtQemuDir, name));
  return n;
}

std::expected<Identity, Error> QemuIdentity(const Host& host, const QemuConf& conf) {
  auto who = LookupIdentity(host, conf.user);
  if (!who && (conf.user == "root" || conf.user == "+0")) return Identity{0, {0}, "root"};
  return who;
}

const std::vector<std::string>& DefaultCgroupDeviceAcl() {
  static const std::vector<std::string> kAcl = {"/dev/null",   "/dev/full",       "/dev/zero",
                                                "/dev/random", "/dev/urandom",    "/dev/ptmx",
                                                "/dev/kvm",    "/dev/userfaultfd"};
  return kAcl;
}

QemuConf ReadQemuConf(const Host& host) {
  QemuConf conf;
  conf.path = std::string(kQemuConf);
  auto text = host.Read(Root::kConfig, kQemuConf, 1 << 20);
  if (text) {
    conf.exists = true;
    auto parsed = ParseLibvirtConf(*text, kQemuConf);
    if (!parsed) {
      conf.error = parsed.error();
    } else {
      if (auto it = parsed->find("user"); it != parsed->end() && !it->second.items.empty()) {
        conf.user = it->second.items.front();
        conf.user_set = true;
        conf.user_line = it->second.line;
      }
      if (auto it = parsed->find("cgroup_device_acl"); it != parsed->end()) {
        conf.cgroup_device_acl = it->second.items;
        conf.acl_set = true;
      }
    }
  } else if (host.Exists(Root::kConfig, kQemuConf)) {
    conf.error = text.error();
  }
  if (!conf.user_set) {
    // Built-in defaults: Debian and Ubuntu build libvirt with libvirt-qemu, Fedora with qemu.
    conf.user = "root";
    for (const char* candidate : {"libvirt-qemu", "qemu"}) {
      if (LookupIdentity(host, candidate)) {
        conf.user = candidate;
        break;
      }
    }
  }
  return conf;
}

}  // namespace vmprep
