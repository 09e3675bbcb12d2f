// The setup wizard: `vmsetup wizard`, and `vmsetup` without a command on a terminal. CDK
// screens over the probes, the device-selection rule and the session API (plan, apply, undo
// with progress); it holds no rule of its own (tests/lint_layers.sh keeps its includes to
// those). Screens: welcome, scan, devices, options, review, apply, done, and history.
#pragma once

#include "core/host.h"

namespace vmprep::wizard {

struct Options {
  bool regenerate = true;  // run the post-actions after writing (vmsetup's --no-regenerate)
};

// Runs the wizard on the terminal (stdin and stdout must be one). Returns vmsetup's exit
// status: 0 when it quit or finished, 2 when the last apply or undo failed (and was rolled
// back), 5 when a post-action failed, 3 when the terminal cannot be used.
int Run(const Host& host, const Options& options);

}  // namespace vmprep::wizard
