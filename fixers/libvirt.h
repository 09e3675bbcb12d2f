// The libvirt fixer.
#pragma once

#include <memory>

#include "fixers/fixer.h"

namespace vmprep {

std::unique_ptr<Fixer> MakeLibvirtFixer();

}  // namespace vmprep
