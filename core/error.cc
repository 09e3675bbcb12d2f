#include "core/error.h"

#include <fmt/format.h>

namespace vmprep {

std::string Error::ToString() const {
  if (path.empty()) return message;
  if (line > 0) return fmt::format("{}:{}: {}", path, line, message);
  return fmt::format("{}: {}", path, message);
}

}  // namespace vmprep
