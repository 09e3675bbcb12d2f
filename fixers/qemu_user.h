// The qemu-user fixer.
#pragma once

#include <memory>

#include "fixers/fixer.h"

namespace vmprep {

std::unique_ptr<Fixer> MakeQemuUserFixer();

}  // namespace vmprep
