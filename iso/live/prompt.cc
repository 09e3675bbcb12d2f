/// Console questions of the live helper.
#include "iso/live/prompt.h"

#include <fmt/format.h>

#include <cstdio>

#include "core/text.h"
#include "iso/live/block.h"
#include "system/topology.h"

namespace vmprep::live {

std::optional<std::string> Ask(const std::string& question) {
  std::printf("%s", question.c_str());
  std::fflush(stdout);
  char buf[512] = {};
  if (std::fgets(buf, sizeof buf, stdin) == nullptr) return std::nullopt;
  return std::string(Trim(buf));
}

bool IsYes(const std::optional<std::string>& answer) {
  return answer && (*answer == "y" || *answer == "Y" || *answer == "yes");
}

std::optional<std::size_t> AskChoice(const std::vector<std::string>& choices,
                                     const std::string& question) {
  for (std::size_t i = 0; i < choices.size(); ++i)
    std::printf("  %zu) %s\n", i + 1, choices[i].c_str());
  for (;;) {
    auto answer = Ask(fmt::format("{} (1-{}, empty to go back)? ", question, choices.size()));
    if (!answer || answer->empty()) return std::nullopt;
    std::size_t n = 0;
    for (char c : *answer) n = (c >= '0' && c <= '9' && n < 1000) ? n * 10 + (c - '0') : 9999;
    if (n >= 1 && n <= choices.size()) return n - 1;
  }
}

bool AskPciDevices(const std::string& question, std::vector<std::string>* devices) {
  for (;;) {
    auto answer = Ask(question);
    if (!answer) return false;
    devices->clear();
    bool ok = true;
    for (auto word : SplitWords(*answer)) {
      auto address = PciAddress::Parse(word);
      if (!address) {
        std::printf("'%s' is not a PCI address such as 01:00.0\n", Printable(word).c_str());
        ok = false;
        break;
      }
      devices->push_back(address->ToString());
    }
    if (ok) return true;
  }
}

}  // namespace vmprep::live
