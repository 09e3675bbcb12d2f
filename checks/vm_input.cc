#include "checks/vm_input.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "checks/probes/vm.h"
#include "system/libvirt_host.h"

namespace vmprep {
namespace {

bool IsFileArgument(const std::string& arg) {
  return arg.ends_with(".xml") || arg.find('/') != std::string::npos;
}

std::expected<DomainInput, Error> LoadFile(const std::string& arg) {
  std::string path = arg;
  if (!path.starts_with('/')) {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) == nullptr)
      return std::unexpected(Error{arg, 0, "cannot tell the working directory", errno});
    path = std::string(cwd) + "/" + arg;
  }
  auto slash = Host::Open("/", "/");
  if (!slash) return std::unexpected(slash.error());
  auto domain = ReadDomain(*slash, Root::kConfig, path);
  if (!domain && domain.error().errno_value == ENOENT)
    return std::unexpected(Error{arg, 0, "no such file", ENOENT});
  if (!domain) domain.error().path = arg;
  if (domain) domain->path = arg;
  return DomainInput{arg, std::move(domain)};
}

std::expected<DomainInput, Error> LoadNamed(const Host& host, const std::string& name) {
  if (!ValidDomainName(name))
    return std::unexpected(Error{"", 0, fmt::format("'{}' is not a domain name", name), 0});
  std::string path = DomainConfigPath(name);
  auto domain = ReadDomain(host, Root::kConfig, path);
  if (!domain && domain.error().errno_value == ENOENT)
    return std::unexpected(
        Error{path, 0,
              fmt::format("no domain '{}' is defined here (give a file from `virsh dumpxml "
                          "{}` instead)",
                          name, name),
              ENOENT});
  return DomainInput{name, std::move(domain)};
}

}  // namespace

std::expected<std::vector<DomainInput>, Error> LoadDomainInputs(
    const Host& host, const std::vector<std::string>& args, bool all) {
  std::vector<std::string> names = args;
  if (names.empty() && all) {
    auto defined = ListDefinedDomains(host);
    if (defined)
      names = std::move(*defined);
    else if (defined.error().errno_value != ENOENT)
      return std::unexpected(defined.error());
  }
  std::vector<DomainInput> out;
  for (const auto& arg : names) {
    auto input = IsFileArgument(arg) ? LoadFile(arg) : LoadNamed(host, arg);
    if (!input) return std::unexpected(input.error());
    out.push_back(std::move(*input));
  }
  // Two files may define domains of the same name: their ids must differ all the same.
  std::set<std::string> used;
  for (auto& in : out) {
    std::string base = VmKey(in.domain ? in.domain->name : in.name);
    in.key = base;
    for (int n = 2; used.contains(in.key); ++n) in.key = fmt::format("{}-{}", base, n);
    used.insert(in.key);
  }
  return out;
}

}  // namespace vmprep
