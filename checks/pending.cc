#include "checks/pending.h"

#include <fmt/format.h>

#include "core/text.h"

namespace vmprep {

bool PendingOnNextBoot(const SystemFacts& facts, const std::function<bool(const Cmdline&)>& wanted,
                       std::string_view what, Finding& f) {
  const auto& places = facts.NextBootCmdlines();
  if (!places) {
    f.evidence.push_back({places.error().path, places.error().ToString()});
    return false;
  }
  NextBootCmdline next = JudgeNextBootCmdline(*places, wanted);
  if (next.state == NextBootCmdline::State::kNotConfigured) return false;
  for (const auto& p : *places) {
    f.evidence.push_back({p.source, p.options});
    if (!p.menu.empty()) f.evidence.push_back({p.menu, p.menu_options.value_or("(not readable)")});
  }
  f.SetPending(fmt::format("{} is configured in {}, but the running kernel was booted without it",
                           what, Join(next.configured_in, ", ")),
               fmt::format("It takes effect at the next boot: {}.", next.StillToDo()));
  return true;
}

}  // namespace vmprep
