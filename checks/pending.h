// The pending state: configuration that is written but not yet in effect. A finding that
// would fail or warn becomes a pending warning, naming the command still to run (from
// system/next_boot.h: the same commands vmsetup runs), and loses its fixer: planning again
// would change nothing.
#pragma once

#include <functional>
#include <string>

#include "checks/finding.h"
#include "formats/cmdline.h"
#include "system/facts.h"

namespace vmprep {

// When every place the next boot's command line comes from satisfies `wanted`, turns `f`
// into a pending finding ("<what> is configured in <source>; ..."), adds the evidence and
// returns true. An unreadable place is evidence and leaves `f` as it is.
bool PendingOnNextBoot(const SystemFacts& facts, const std::function<bool(const Cmdline&)>& wanted,
                       std::string_view what, Finding& f);

}  // namespace vmprep
