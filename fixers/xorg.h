// The Xorg fixer: keep the X server on the host GPU.
#pragma once

#include <memory>

#include "fixers/fixer.h"
#include "system/fixer_ids.h"

namespace vmprep {

std::unique_ptr<Fixer> MakeXorgFixer();

}  // namespace vmprep
