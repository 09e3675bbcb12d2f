// Runs vmcheck (the report, the groups listing) from the live helper: argv by fork + execvp, never
// a shell.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "core/error.h"

namespace vmprep::live {

struct RunResult {
  int status = 0;      // exit status (128 + signal when killed)
  std::string output;  // stdout when captured
};

// Runs argv[0] (found on PATH) with this process's stdin and stderr; its stdout is this
// process's too, or captured when `capture` is set. Error only when it cannot be started.
std::expected<RunResult, Error> RunProgram(const std::vector<std::string>& argv,
                                           bool capture = false);

}  // namespace vmprep::live
