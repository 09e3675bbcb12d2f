// CDK and curses for the wizard's .cc files, after the C++ headers: curses' function-like
// macros (erase, clear, move, timeout, ...) would otherwise replace std:: member names.
#pragma once

#define NCURSES_NOMACROS 1
#include <cdk.h>

#undef erase
#undef clear
#undef move
#undef refresh
#undef timeout
