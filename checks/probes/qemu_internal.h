#pragma once
// Internals of the qemu probe, shared by qemu.cc, qemu_bridge.cc and qemu_libvirt.cc: one
// function per finding, each reading what it needs through the Host, so each can be tested
// one input state at a time.

#include <vector>

#include "checks/finding.h"
#include "core/host.h"

namespace vmprep::qemu_internal {

void AddSystemFinding(std::vector<Finding>& out, const Host& host);
void AddOvmfFinding(std::vector<Finding>& out, const Host& host);
void AddTunFinding(std::vector<Finding>& out, const Host& host);
// qemu.bridge-helper and qemu.bridge-conf: only where the helper is installed.
void AddBridgeFindings(std::vector<Finding>& out, const Host& host);
// qemu.libvirt: only where libvirt is installed.
void AddLibvirtFinding(std::vector<Finding>& out, const Host& host);

}  // namespace vmprep::qemu_internal
