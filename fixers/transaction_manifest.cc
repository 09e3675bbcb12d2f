/// Transactions: ids, the manifest (JSON, checked before it is trusted to restore files) and
/// the transaction directories under /var/lib/vmprep/transactions. Part of
/// fixers/transaction.cc.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>

#include "fixers/transaction_internal.h"

namespace vmprep::txn {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kStateCorrupt = "corrupt";
constexpr std::string_view kManifestSchema = "vmprep.transaction/1";

std::vector<std::string> PathComponents(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    out.emplace_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

bool IsSha256(std::string_view hex) {
  return hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Json ToJson(const Manifest& m) {
  Json files = Json::array();
  for (const auto& f : m.files) {
    files.push_back({{"path", f.path},
                     {"existed", f.existed},
                     {"sha256_before", f.existed ? Json(f.sha_before) : Json(nullptr)},
                     {"sha256_after", f.sha_after ? Json(*f.sha_after) : Json(nullptr)},
                     {"mode", f.mode},
                     {"uid", f.uid},
                     {"gid", f.gid},
                     {"backup", f.backup.empty() ? Json(nullptr) : Json(f.backup)},
                     {"fixer", f.fixer},
                     {"link", f.link}});
  }
  Json actions = Json::array();
  for (const auto& a : m.actions) actions.push_back({{"argv", a.argv}, {"why", a.why}});
  return Json{{"schema", kManifestSchema}, {"id", m.id},     {"created", m.created},
              {"state", m.state},          {"files", files}, {"created_dirs", m.created_dirs},
              {"actions", actions}};
}

// nlohmann's message without its "[json.exception.type_error.302] " prefix.
std::string JsonWhat(const Json::exception& e) {
  std::string_view what = e.what();
  if (what.starts_with("[json.exception.")) {
    if (auto end = what.find("] "); end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  return std::string(what);
}

// Reads a manifest and checks it can be trusted to restore files: `id` is the name of its
// directory, `where` its path (named in every error, with what is wrong).
std::expected<Manifest, Error> ParseManifest(std::string_view text, const std::string& id,
                                             const std::string& where) {
  auto corrupt = [&](std::string what) {
    return std::unexpected(MakeError(where, fmt::format("not a transaction manifest: {}", what)));
  };
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {
    return corrupt(fmt::format("not valid JSON ({})", JsonWhat(e)));
  }
  if (!j.is_object() || j.value("schema", "") != kManifestSchema) {
    return corrupt(fmt::format("expected a JSON object with schema {}", kManifestSchema));
  }
  try {
    Manifest m;
    m.id = j.at("id").get<std::string>();
    m.created = j.at("created").get<std::string>();
    m.state = j.at("state").get<std::string>();
    if (m.id != id) return corrupt(fmt::format("its id is '{}', its directory '{}'", m.id, id));
    if (m.state != kStateApplying && m.state != kStateApplied && m.state != kStateRolledBack &&
        m.state != kStateUndoing && m.state != kStateUndone) {
      return corrupt(fmt::format("unknown state '{}'", m.state));
    }
    for (const auto& f : j.at("files")) {
      FileEntry e;
      e.path = f.at("path").get<std::string>();
      e.existed = f.at("existed").get<bool>();
      if (e.existed) e.sha_before = f.at("sha256_before").get<std::string>();
      if (!f.at("sha256_after").is_null()) e.sha_after = f.at("sha256_after").get<std::string>();
      e.mode = f.at("mode").get<mode_t>();
      e.uid = f.at("uid").get<uid_t>();
      e.gid = f.at("gid").get<gid_t>();
      if (!f.at("backup").is_null()) e.backup = f.at("backup").get<std::string>();
      e.fixer = f.value("fixer", "");
      e.link = f.value("link", false);  // manifests before links were supported lack it
      const std::string backup = fmt::format("files/{}", m.files.size());
      if (!PlainAbsolute(e.path)) return corrupt(fmt::format("file path '{}'", e.path));
      if ((e.existed && (!IsSha256(e.sha_before) || e.backup != backup)) ||
          (!e.existed && !e.backup.empty()) || (e.sha_after && !IsSha256(*e.sha_after))) {
        return corrupt(fmt::format("the entry of {} (expected sha256 hashes and backup {})", e.path,
                                   e.existed ? backup : "null"));
      }
      m.files.push_back(std::move(e));
    }
    m.created_dirs = j.at("created_dirs").get<std::vector<std::string>>();
    for (const auto& d : m.created_dirs) {
      if (!PlainAbsolute(d)) return corrupt(fmt::format("created directory '{}'", d));
    }
    for (const auto& a : j.at("actions")) {
      m.actions.push_back({a.at("argv").get<std::vector<std::string>>(), a.value("why", "")});
    }
    return m;
  } catch (const Json::exception& e) {
    return corrupt(fmt::format("a field is missing or of the wrong type ({})", JsonWhat(e)));
  }
}

}  // namespace

std::string Parent(std::string_view path) {
  std::size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  return std::string(path.substr(0, slash));
}

bool PlainAbsolute(std::string_view path) {
  auto parts = PathComponents(path);
  if (path.size() < 2 || path.front() != '/') return false;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].empty() || parts[i] == "." || parts[i] == "..") return false;
  }
  return true;
}

std::pair<std::string, std::string> NewIdAndTime() {
  auto now = std::chrono::system_clock::now();
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  std::random_device rd;
  std::string id =
      fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z-{:04x}", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rd() & 0xffff);
  std::string created =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros % 1000000);
  return {id, created};
}

Error MakeError(std::string path, std::string message, int err) {
  return Error{std::move(path), 0, std::move(message), err};
}

std::string TransactionDir(std::string_view id) {
  return fmt::format("{}/{}", kTransactionsDir, id);
}

std::expected<void, Error> WriteManifest(const Host& host, const Manifest& m) {
  return host.WriteAtomic(Root::kConfig, TransactionDir(m.id) + "/manifest.json",
                          ToJson(m).dump(2) + "\n", {.mode = 0600});
}

TransactionRecord ToRecord(const Manifest& m) {
  TransactionRecord r;
  r.id = m.id;
  r.created = m.created;
  r.state = m.state;
  r.undone = m.state == kStateUndone || m.state == kStateRolledBack;
  r.actions = m.actions;
  std::set<std::string> seen;
  for (const auto& f : m.files) {
    r.files.push_back(f.path);
    std::size_t pos = 0;
    // An edit credited to several fixers names them "a,b".
    while (pos <= f.fixer.size()) {
      std::size_t comma = f.fixer.find(',', pos);
      if (comma == std::string::npos) comma = f.fixer.size();
      std::string one = f.fixer.substr(pos, comma - pos);
      if (!one.empty() && seen.insert(one).second) r.fixers.push_back(one);
      pos = comma + 1;
    }
  }
  return r;
}

std::expected<std::vector<Loaded>, Error> LoadAll(const Host& host) {
  std::vector<Loaded> out;
  auto present = Present(host, kTransactionsDir);
  if (!present) return std::unexpected(present.error());
  if (!*present) return out;
  auto names = host.List(Root::kConfig, kTransactionsDir);
  if (!names) return std::unexpected(names.error());
  for (const auto& name : *names) {
    if (name.starts_with(".")) continue;
    std::string path = TransactionDir(name) + "/manifest.json";
    Loaded l;
    l.id = name;
    // A directory without a manifest is an apply stopped before touching any file.
    auto has = Present(host, path);
    if (has && !*has) continue;
    auto text = has ? host.Read(Root::kConfig, path)
                    : std::expected<std::string, Error>(std::unexpected(has.error()));
    if (!text) {
      l.problem = MakeError(path, fmt::format("cannot be read: {}", text.error().message),
                            text.error().errno_value);
    } else if (auto m = ParseManifest(*text, name, path); !m) {
      l.problem = m.error();
    } else {
      l.manifest = std::move(*m);
    }
    out.push_back(std::move(l));
  }
  std::sort(out.begin(), out.end(),
            [](const Loaded& a, const Loaded& b) { return a.Key() < b.Key(); });
  return out;
}

TransactionRecord CorruptRecord(const Loaded& l) {
  TransactionRecord r;
  r.id = l.id;
  r.state = std::string(kStateCorrupt);
  r.problem = l.problem->ToString();
  return r;
}

}  // namespace vmprep::txn
