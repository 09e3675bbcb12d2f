// The net-bridge fixer: a persistent bridge with one port, in the host's own network stack.
#pragma once

#include <memory>
#include <string>

#include "fixers/fixer.h"

namespace vmprep {

std::unique_ptr<Fixer> MakeNetBridgeFixer();

// What applying a bridge on `bridge.iface` does to the host's network, for the plan's
// warnings: the address moves to the bridge when the stack next starts; a session over the
// interface (SSH) drops then.
std::string NetBridgeWarning(const Host& host, const FixerOptions::NetBridge& bridge);

}  // namespace vmprep
