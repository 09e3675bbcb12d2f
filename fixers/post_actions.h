// Post-actions: the regenerate commands a plan asks for (update-grub, update-initramfs, ...),
// run with an argv by fork + execve, never through a shell, inside the config root's system.
#pragma once

#include <expected>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/host.h"
#include "fixers/edit.h"

namespace vmprep {

// The argv as one line a person could paste into a shell (each word quoted when needed).
std::string FormatArgv(const std::vector<std::string>& argv);

// Finds argv[0] in the config root (a name is looked up in /usr/local/sbin, /usr/local/bin,
// /usr/sbin, /usr/bin, /sbin, /bin) and runs it with a fixed environment (PATH, LC_ALL=C).
// When the config root is not "/", the child chroots into it first. Without `output` its
// stdout and stderr are the caller's; with it, each line it prints (both streams, in order)
// is handed to `output`. Error when it cannot be found or started, is killed, or exits
// non-zero.
using OutputFn = std::function<void(std::string_view line)>;
std::expected<void, Error> RunPostAction(const Host& host, const PostAction& action,
                                         const OutputFn& output = nullptr);

}  // namespace vmprep
