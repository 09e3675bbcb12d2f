// Evidence: what was seen where. Findings carry it; the facts in system/ return it so a
// finding can show how a fact was established.
#pragma once

#include <string>

namespace vmprep {

struct Evidence {
  std::string path;   // the file as the machine names it, or "(ioctl)" style pseudo-source
  std::string value;  // the value seen there, or why it could not be read
};

}  // namespace vmprep
