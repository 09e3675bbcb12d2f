// The device-access fixer.
#pragma once

#include <memory>

#include "fixers/fixer.h"

namespace vmprep {

std::unique_ptr<Fixer> MakeDeviceAccessFixer();

}  // namespace vmprep
