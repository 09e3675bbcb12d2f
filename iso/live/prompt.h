// Questions the live helper asks on its console (the menu's flows; never in an automatic run).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace vmprep::live {

// Prints `question`, reads one line from stdin, trimmed; nullopt at end of input.
std::optional<std::string> Ask(const std::string& question);

// True for "y", "Y" and "yes".
bool IsYes(const std::optional<std::string>& answer);

// Lists `choices` numbered from 1 and asks "`question` (1-N, empty to go back)? " until the
// answer is one of them; its index, or nullopt for an empty answer or end of input.
std::optional<std::size_t> AskChoice(const std::vector<std::string>& choices,
                                     const std::string& question);

// Asks for PCI addresses (01:00.0 or 0000:01:00.0) until every word is one; they come back
// as 0000:01:00.0. False at end of input.
bool AskPciDevices(const std::string& question, std::vector<std::string>* devices);

}  // namespace vmprep::live
