// libvirt's side of this host: the domains defined under /etc/libvirt/qemu, its networks
// (defined, autostarted), and qemu.conf (the user QEMU runs as, the device ACL). The vm
// probe and vm-snippet ask here. Everything is read from the config root.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/host.h"
#include "formats/libvirt_domain.h"
#include "system/accounts.h"

namespace vmprep {

inline constexpr std::string_view kLibvirtQemuDir = "/etc/libvirt/qemu";
inline constexpr std::string_view kQemuConf = "/etc/libvirt/qemu.conf";

// A domain name libvirt stores as a file: non-empty, no '/', not "." or "..".
bool ValidDomainName(std::string_view name);
// "/etc/libvirt/qemu/NAME.xml".
std::string DomainConfigPath(std::string_view name);
// The names of the domains defined here (/etc/libvirt/qemu/*.xml), sorted.
std::expected<std::vector<std::string>, Error> ListDefinedDomains(const Host& host);
// Reads and parses a domain file of `root`.
std::expected<Domain, Error> ReadDomain(const Host& host, Root root, std::string_view path);

struct LibvirtNetwork {
  std::string path;  // /etc/libvirt/qemu/networks/NAME.xml
  bool defined = false;
  bool autostart = false;  // networks/autostart/NAME.xml exists
};
LibvirtNetwork NetworkState(const Host& host, std::string_view name);

// What qemu.conf says (libvirt's defaults where it says nothing).
struct QemuConf {
  std::string path;  // kQemuConf
  bool exists = false;
  std::string user;  // as written, or the distribution's default (see user_set)
  bool user_set = false;
  int user_line = 0;
  std::vector<std::string> cgroup_device_acl;  // empty: libvirt's default list
  bool acl_set = false;
  std::optional<Error> error;  // the file could not be read or parsed
};
QemuConf ReadQemuConf(const Host& host);
// The identity QEMU runs with: the user's from /etc/passwd ("root" is uid 0 even without one).
std::expected<Identity, Error> QemuIdentity(const Host& host, const QemuConf& conf);
// The device nodes libvirt's default cgroup_device_acl allows.
const std::vector<std::string>& DefaultCgroupDeviceAcl();

}  // namespace vmprep
