// Error: what went wrong, where. Returned through std::expected; never thrown across our API.
#pragma once

#include <string>

namespace vmprep {

struct Error {
  std::string path;     // the file as the machine names it ("/etc/default/grub"), or empty
  int line = 0;         // 1-based line in `path`, 0 when not about a line
  std::string message;  // what was seen and what was expected
  int errno_value = 0;  // errno when a system call failed, else 0

  // "path:line: message" / "path: message" / "message".
  std::string ToString() const;
};

}  // namespace vmprep
