// vmsetup's commands over the session API (fixers/session.h): each prints its plan, progress
// and result, asks when it should, and returns vmsetup's exit status. Part of the vmsetup
// front end only (not of the library); vmsetup_main.cc parses the arguments and calls these.
#pragma once

#include <string>

#include "core/host.h"
#include "fixers/session.h"

namespace vmprep::vmsetup {

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitCannotRun = 3;

// A run that cannot go on for a reason other than its arguments: no usage line.
int CannotRun(const std::string& message);

int RunPlan(const Host& host, const Request& request, bool json);
int RunApply(const Host& host, const Request& request, bool yes, bool regenerate, bool json);
int RunUndo(const Host& host, const std::string& id, bool regenerate, bool json);
int RunHistory(const Host& host, bool json);

}  // namespace vmprep::vmsetup
