/// Readiness: blocking failures and drift from the expected state (see readiness.h).
#include "checks/readiness.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace vmprep {
namespace {

// The ids expected.json lists to pass, or why it cannot be used; nullopt without the file.
std::optional<std::expected<std::vector<std::string>, Error>> ExpectedPass(const Host& host) {
  const std::string path(kExpectedStatePath);
  if (!host.Exists(Root::kConfig, path)) return std::nullopt;
  auto text = host.Read(Root::kConfig, path, 1 << 20);
  if (!text) return std::unexpected(text.error());
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  auto bad = [&] {
    return std::unexpected(Error{path, 0,
                                 "expected a vmprep.expected/1 JSON document with a \"pass\" list "
                                 "of finding ids (written by vmsetup apply)"});
  };
  if (doc.is_discarded() || !doc.is_object() || doc.value("schema", "") != "vmprep.expected/1")
    return bad();
  auto pass = doc.find("pass");
  if (pass == doc.end() || !pass->is_array()) return bad();
  std::vector<std::string> ids;
  for (const auto& id : *pass) {
    if (!id.is_string()) return bad();
    ids.push_back(id.get<std::string>());
  }
  return ids;
}

}  // namespace

Readiness JudgeReadiness(const Host& host, const std::vector<Finding>& findings) {
  Readiness r;
  for (const auto& f : findings) {
    if (f.severity != Severity::kFail || !f.fixer.empty() || f.pending) continue;
    if (f.check == "kvm") r.no_kvm.push_back(f);
    if (f.id == "iommu.firmware") r.no_iommu.push_back(f);
  }
  // A missing /dev/kvm follows from the other KVM failures: name the causes first.
  std::stable_partition(r.no_kvm.begin(), r.no_kvm.end(),
                        [](const Finding& f) { return f.id != "kvm.device"; });
  // The expected state is what that system's own kernel should show after its reboot; the
  // live ISO's kernel looking at an installed system cannot drift from it.
  if (host.config_is_foreign()) return r;
  auto expected = ExpectedPass(host);
  if (!expected) return r;
  if (!*expected) {
    r.expected_error = expected->error();
    return r;
  }
  for (const auto& id : **expected) {
    const Finding* seen = nullptr;
    for (const auto& f : findings) {
      if (f.id == id) seen = &f;
    }
    if (seen == nullptr) {
      r.drift.push_back(fmt::format("{} is missing, expected pass", id));
    } else if (seen->severity != Severity::kPass && !seen->pending) {
      r.drift.push_back(fmt::format("{} is {}, expected pass", id, SeverityName(seen->severity)));
    }
  }
  return r;
}

}  // namespace vmprep
