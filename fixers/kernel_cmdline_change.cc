/// The kernel-cmdline fixer's token planner: ApplyCmdlineChange edits a command line split
/// over several segments (see fixers/kernel_cmdline.h), token by token.
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "fixers/kernel_cmdline_internal.h"

namespace vmprep {
namespace cmdline_internal {

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<CmdlineChange> SplitChange(const CmdlineChange& c) {
  std::vector<CmdlineChange> parts;
  for (const auto& t : c.remove_tokens) parts.push_back({.remove_tokens = {t}});
  if (c.remove_if) parts.push_back({.remove_if = c.remove_if});
  for (const auto& l : c.lists) parts.push_back({.lists = {l}});
  for (const auto& t : c.set) parts.push_back({.set = {t}});
  if (!c.group.empty()) parts.push_back({.group = c.group});
  return parts;
}

void TokenDiff(const std::vector<std::string>& before, const std::vector<std::string>& after,
               std::vector<std::string>* removed, std::vector<std::string>* added) {
  std::multiset<std::string> a(before.begin(), before.end()), b(after.begin(), after.end());
  for (const auto& t : before)
    if (auto it = b.find(t); it != b.end())
      b.erase(it);
    else
      removed->push_back(t);
  for (const auto& t : after)
    if (auto it = a.find(t); it != a.end())
      a.erase(it);
    else
      added->push_back(t);
}

}  // namespace cmdline_internal

namespace {

using cmdline_internal::Contains;

bool SameToken(std::string_view a, std::string_view b) {
  return CmdlineKey(a) == CmdlineKey(b) && CmdlineHasValue(a) == CmdlineHasValue(b) &&
         CmdlineValue(a) == CmdlineValue(b);
}

// Drops every token `match` accepts. Token spans are recovered from Tokens()
// (each token is written verbatim and in order, separated only by white space),
// and the separating blanks are taken as Cmdline::Remove takes them.
bool RemoveMatching(Cmdline& c, const std::function<bool(std::string_view)>& match) {
  bool changed = false;
  for (;;) {
    auto tokens = c.Tokens();
    auto it =
        std::find_if(tokens.begin(), tokens.end(), [&](const std::string& t) { return match(t); });
    if (it == tokens.end()) return changed;
    size_t index = it - tokens.begin();
    std::string text = c.text();
    std::vector<std::pair<size_t, size_t>> spans;
    size_t pos = 0;
    for (const auto& t : tokens) {
      size_t b = text.find(t, pos);
      spans.emplace_back(b, b + t.size());
      pos = b + t.size();
    }
    size_t begin = spans[index].first, end = spans[index].second;
    if (index > 0) {
      begin = spans[index - 1].second;
    } else if (spans.size() > 1) {
      end = spans[1].first;
    }
    text.erase(begin, end - begin);
    c = Cmdline(text);
    changed = true;
  }
}

// The token that wins for `key` over all segments (the last one), if any.
std::optional<std::string> Winner(const std::vector<Cmdline>& segments, std::string_view key) {
  for (size_t i = segments.size(); i-- > 0;) {
    int at = segments[i].FindLast(key);
    if (at >= 0) return segments[i].Tokens()[at];
  }
  return std::nullopt;
}

// Sets `token` in every segment that has its key, or appends it to the target.
bool SetEverywhere(std::vector<Cmdline>& segments, size_t target, std::string_view token) {
  bool changed = false, found = false;
  for (auto& s : segments) {
    if (!s.Has(CmdlineKey(token))) continue;
    found = true;
    changed |= s.Set(token);
  }
  if (!found) changed |= segments[target].Set(token);
  return changed;
}

}  // namespace

std::expected<bool, std::string> ApplyCmdlineChange(std::vector<Cmdline>& segments, size_t target,
                                                    const CmdlineChange& change) {
  if (target >= segments.size()) return std::unexpected("no segment to add tokens to");
  bool changed = false;
  for (const auto& token : change.remove_tokens)
    for (auto& s : segments)
      changed |= RemoveMatching(s, [&](std::string_view t) { return SameToken(t, token); });
  if (change.remove_if)
    for (auto& s : segments) changed |= RemoveMatching(s, change.remove_if);

  for (const auto& list : change.lists) {
    auto win = Winner(segments, list.key);
    std::vector<std::string> items;
    std::string key = list.key;
    if (win) {
      items = SplitCommaList(CmdlineValue(*win));
      std::string written = win->substr(0, win->find('='));
      written.erase(std::remove(written.begin(), written.end(), '"'), written.end());
      key = written;
    }
    bool ok = win &&
              std::all_of(list.add.begin(), list.add.end(),
                          [&](const std::string& a) { return Contains(items, a); }) &&
              std::none_of(list.drop.begin(), list.drop.end(),
                           [&](const std::string& d) { return Contains(items, d); });
    if (ok) continue;
    std::vector<std::string> next;
    for (const auto& item : items)
      if (!Contains(list.drop, item) && !Contains(next, item)) next.push_back(item);
    for (const auto& item : list.add)
      if (!Contains(next, item)) next.push_back(item);
    if (next.empty()) {
      for (auto& s : segments) changed |= s.Remove(list.key);
      continue;
    }
    changed |= SetEverywhere(segments, target, key + "=" + Join(next, ","));
  }

  for (const auto& token : change.set) {
    auto win = Winner(segments, CmdlineKey(token));
    if (win && SameToken(*win, token)) continue;
    changed |= SetEverywhere(segments, target, token);
  }

  if (!change.group.empty()) {
    std::vector<std::string> keys;
    for (const auto& t : change.group) keys.push_back(CmdlineKey(t));
    std::vector<std::string> seen;  // group-key tokens in command-line order
    std::map<std::string, std::set<std::string>> values;
    for (const auto& s : segments)
      for (const auto& t : s.Tokens())
        if (Contains(keys, CmdlineKey(t))) {
          seen.push_back(t);
          values[CmdlineKey(t)].insert(CmdlineValue(t));
        }
    for (const auto& [key, vals] : values)
      if (vals.size() > 1) {
        std::vector<std::string> v(vals.begin(), vals.end());
        return std::unexpected(
            fmt::format("{} is given {} times with different values ({}); expected at most "
                        "one value, so "
                        "the change cannot be made by token edits: edit it by hand",
                        key, vals.size(), Join(v, ", ")));
      }
    bool satisfied = seen.size() == change.group.size();
    for (size_t i = 0; satisfied && i < seen.size(); ++i)
      satisfied = SameToken(seen[i], change.group[i]);
    if (!satisfied) {
      for (auto& s : segments)
        for (const auto& key : keys) changed |= s.Remove(key);
      for (const auto& t : change.group) changed |= segments[target].Set(t);
    }
  }
  return changed;
}

}  // namespace vmprep
