// Test helpers for probes: run one probe on a tree and summarise its findings.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "checks/finding.h"
#include "checks/probe.h"
#include "core/host.h"

namespace vmprep::testing {

// "id:severity" for each finding, in the probe's order.
inline std::vector<std::string> Verdicts(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings) out.push_back(f.id + ":" + std::string(SeverityName(f.severity)));
  return out;
}

inline const Finding* FindById(const std::vector<Finding>& findings, std::string_view id) {
  auto it =
      std::find_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.id == id; });
  return it == findings.end() ? nullptr : &*it;
}

// All evidence and the hint of a finding as one string, for "mentions" assertions.
inline std::string Text(const Finding& f) {
  std::string s = f.summary + "\n" + f.hint + "\n";
  for (const auto& e : f.evidence) s += e.path + ": " + e.value + "\n";
  return s;
}

inline Identity User(uid_t uid, std::vector<gid_t> gids, std::string name) {
  return Identity{uid, std::move(gids), std::move(name)};
}

}  // namespace vmprep::testing
