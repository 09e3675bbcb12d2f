// What `vmcheck vm NAME|FILE...` and `vmcheck --vm NAME|FILE` name, loaded for the vm probe.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "checks/probe.h"
#include "core/host.h"

namespace vmprep {

// Each argument is a domain NAME, read from the config root's /etc/libvirt/qemu/NAME.xml, or
// a FILE (it ends in ".xml" or holds a '/'), read as given from this machine, relative to
// the working directory (`virsh dumpxml NAME > FILE`). With no arguments and `all`, every
// domain defined under /etc/libvirt/qemu. A name or file that does not exist is an error;
// one that cannot be read or parsed is loaded as such, for the probe to report.
std::expected<std::vector<DomainInput>, Error> LoadDomainInputs(
    const Host& host, const std::vector<std::string>& args, bool all);

}  // namespace vmprep
