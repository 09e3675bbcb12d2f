// The vfio-bind fixer, and the device selection every vfio fixer shares.
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/host.h"
#include "fixers/fixer.h"
#include "system/fixer_ids.h"
#include "system/topology.h"
#include "system/vfio_selection.h"

namespace vmprep {

// What goes to vfio-pci for `options` (system/vfio_selection.h: the one rule).
std::expected<VfioSelection, Error> SelectForOptions(const Host& host, const FixerOptions& options);

std::unique_ptr<Fixer> MakeVfioBindFixer();

}  // namespace vmprep
