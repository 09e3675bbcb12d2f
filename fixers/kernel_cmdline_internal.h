#pragma once
// Internals of the kernel-cmdline fixer (fixers/kernel_cmdline.cc): the token helpers
// (kernel_cmdline_change.cc) and the Planner that edits each site (kernel_cmdline_grub.cc,
// kernel_cmdline_sites.cc).

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "fixers/kernel_cmdline.h"
#include "system/boot_tools.h"

namespace vmprep::cmdline_internal {

bool Contains(const std::vector<std::string>& v, std::string_view s);

// The change as single steps, applied in ApplyCmdlineChange's own order.
std::vector<CmdlineChange> SplitChange(const CmdlineChange& c);

// The tokens removed and added between two command lines (multiset difference).
void TokenDiff(const std::vector<std::string>& before, const std::vector<std::string>& after,
               std::vector<std::string>* removed, std::vector<std::string>* added);

// Plans one CmdlineChange site by site (kernel_cmdline_grub.cc, kernel_cmdline_sites.cc).
struct Planner {
  const Host& host;
  const CmdlineChange& change;
  std::string fixer;
  EditSet out;

  FileEdit Edit(std::string path, std::string before, std::string after, std::string why) const {
    FileEdit e;
    e.path = std::move(path);
    e.before = std::move(before);
    e.after = std::move(after);
    e.fixer = fixer;
    e.why = change.why + (change.why.empty() ? "" : "; ") + why;
    return e;
  }

  void Action(std::vector<std::string> argv, std::string why) {
    for (const auto& a : out.actions)
      if (a.argv == argv) return;
    out.actions.push_back({std::move(argv), std::move(why)});
  }

  void Action(const BootCommand& command) { Action(command.argv, command.why); }

  std::expected<void, Error> Grub(bool* grub_bls);
  std::expected<void, Error> GrubMenuActions(bool bls,
                                             const std::vector<std::string>& before_tokens,
                                             const std::vector<std::string>& after_tokens);
  std::expected<void, Error> Kernelstub();
  std::expected<void, Error> LoaderEntries();
  std::expected<void, Error> KernelCmdlineFile();
  std::expected<void, Error> CmdlineD();
  std::expected<void, Error> KernelInstallRegen(std::string_view source);
};

}  // namespace vmprep::cmdline_internal
