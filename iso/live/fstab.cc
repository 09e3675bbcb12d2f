/// The installed system's fstab, parsed by libmount from bytes read through the Host seam.
/// Its lines are untrusted: only four well-known mount points are taken from it, each
/// mounted later at a path checked to be a plain directory inside the installed system.
#include "iso/live/fstab.h"

#include <fmt/format.h>
#include <libmount.h>

#include <algorithm>
#include <cstdio>

#include "iso/live/block.h"
#include "system/mounts.h"

namespace vmprep::live {
namespace {

constexpr std::string_view kTargets[] = {"/usr", "/boot", "/boot/efi", "/efi"};

std::string Normalise(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// Whether the comma list holds `flag` as a word of its own.
bool HasFlag(std::string_view options, std::string_view flag) {
  std::size_t pos = 0;
  while (pos <= options.size()) {
    std::size_t comma = options.find(',', pos);
    if (comma == std::string_view::npos) comma = options.size();
    if (options.substr(pos, comma - pos) == flag) return true;
    pos = comma + 1;
  }
  return false;
}

bool IsPlainValue(std::string_view value) {
  return !value.empty() && value.size() <= 255 &&
         std::all_of(value.begin(), value.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '@' || c == '/' || c == '.' || c == '_' || c == '-';
         });
}

struct ParseErrors {
  std::vector<int> lines;
};

int OnParseError(struct libmnt_table* table, const char* /*filename*/, int line) {
  auto* errors = static_cast<ParseErrors*>(mnt_table_get_userdata(table));
  if (errors != nullptr) errors->lines.push_back(line);
  return 1;  // skip the line, keep parsing
}

}  // namespace

std::expected<FstabPlan, Error> PlanFstabMounts(std::string_view text, std::string_view path) {
  FstabPlan plan;
  std::string copy(text);
  if (copy.empty()) return plan;
  FILE* stream = ::fmemopen(copy.data(), copy.size(), "r");
  if (stream == nullptr) return std::unexpected(Error{std::string(path), 0, "cannot buffer it"});
  struct libmnt_table* table = mnt_new_table();
  ParseErrors errors;
  mnt_table_set_userdata(table, &errors);
  mnt_table_set_parser_errcb(table, OnParseError);
  int rc = mnt_table_parse_stream(table, stream, std::string(path).c_str());
  std::fclose(stream);
  if (rc != 0 && errors.lines.empty()) {
    mnt_unref_table(table);
    return std::unexpected(Error{std::string(path), 0, "libmount cannot parse it as an fstab"});
  }
  for (int line : errors.lines)
    plan.notes.push_back(fmt::format("{}:{}: not an fstab line; skipped", path, line));

  struct libmnt_iter* it = mnt_new_iter(MNT_ITER_FORWARD);
  struct libmnt_fs* fs = nullptr;
  while (mnt_table_next_fs(table, it, &fs) == 0) {
    auto str = [](const char* s) { return s ? std::string(s) : std::string(); };
    std::string source = str(mnt_fs_get_source(fs));
    std::string target = Normalise(str(mnt_fs_get_target(fs)));
    std::string fstype = str(mnt_fs_get_fstype(fs));
    std::string options = str(mnt_fs_get_options(fs));
    if (target == "/") {
      plan.root_spec = source;
      continue;
    }
    if (std::find(std::begin(kTargets), std::end(kTargets), target) == std::end(kTargets)) continue;
    std::string shown = fmt::format("{} on {}", Printable(source), target);
    if (HasFlag(options, "bind") || HasFlag(options, "rbind")) {
      plan.notes.push_back(fmt::format("{}: a bind mount; not mounted", shown));
      continue;
    }
    if (mnt_fs_is_swaparea(fs) || mnt_fs_is_netfs(fs) || mnt_fs_is_pseudofs(fs)) {
      plan.notes.push_back(fmt::format("{}: not a local disk file system; not mounted", shown));
      continue;
    }
    FstabMount m;
    m.spec = source;
    m.target = target;
    m.fstype = (fstype == "auto" || fstype == "none") ? "" : fstype;
    for (std::string_view key : {"subvol", "subvolid"}) {
      std::string value = MountOption(options, key);
      if (!value.empty() && !IsPlainValue(value)) {
        mnt_free_iter(it);
        mnt_unref_table(table);
        return std::unexpected(Error{std::string(path), 0,
                                     fmt::format("{}: {}= holds characters other than letters, "
                                                 "digits and @/._-; refusing to guess",
                                                 shown, key)});
      }
      if (!value.empty()) {
        if (!m.options.empty()) m.options += ',';
        m.options += fmt::format("{}={}", key, value);
      }
    }
    // A later line for the same mount point wins, as mount -a would leave it on top.
    auto same = std::find_if(plan.mounts.begin(), plan.mounts.end(),
                             [&](const FstabMount& x) { return x.target == target; });
    if (same != plan.mounts.end()) plan.mounts.erase(same);
    plan.mounts.push_back(std::move(m));
  }
  mnt_free_iter(it);
  mnt_unref_table(table);
  std::stable_sort(
      plan.mounts.begin(), plan.mounts.end(), [](const FstabMount& a, const FstabMount& b) {
        auto rank = [](const std::string& t) {
          return std::find(std::begin(kTargets), std::end(kTargets), t) - std::begin(kTargets);
        };
        return rank(a.target) < rank(b.target);
      });
  return plan;
}

}  // namespace vmprep::live
