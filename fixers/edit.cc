/// EditSet merging and the unified diff that `vmsetup plan` prints: Myers' O(ND) line diff,
/// three lines of context, GNU diff's hunk-header and "\ No newline at end of file" rules, so
/// the output applies with `patch -p1` from the config root.
#include "fixers/edit.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <utility>

namespace vmprep {
namespace {

constexpr std::size_t kContext = 3;
// Past this many differences the diff stops minimising and replaces the rest as one block;
// still correct, just not minimal, and memory stays bounded.
constexpr long kMaxEditDistance = 4000;

// A line with its newline (when it has one): "a" and "a\n" differ, as they do for diff.
std::vector<std::string_view> LinesWithNewline(std::string_view text) {
  std::vector<std::string_view> out;
  for (const TextLine& line : Lines(text)) out.push_back(line.WithNewline(text));
  return out;
}

enum class Op { kKeep, kDelete, kInsert };

struct Step {
  Op op;
  std::size_t a;  // index into the old lines (kKeep, kDelete)
  std::size_t b;  // index into the new lines (kKeep, kInsert)
};

// Myers' greedy algorithm on a[lo_a, hi_a) and b[lo_b, hi_b); appends the script to `out`.
void MyersScript(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b,
                 std::size_t lo_a, std::size_t hi_a, std::size_t lo_b, std::size_t hi_b,
                 std::vector<Step>* out) {
  const long n = static_cast<long>(hi_a - lo_a);
  const long m = static_cast<long>(hi_b - lo_b);
  const long max = std::min(n + m, kMaxEditDistance);
  const long offset = max + 1;
  std::vector<long> v(2 * static_cast<std::size_t>(max) + 3, 0);
  std::vector<std::vector<long>> trace;
  long found_d = -1;
  for (long d = 0; d <= max && found_d < 0; ++d) {
    trace.push_back(v);
    for (long k = -d; k <= d; k += 2) {
      long x;
      if (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1])) {
        x = v[offset + k + 1];  // down: insertion
      } else {
        x = v[offset + k - 1] + 1;  // right: deletion
      }
      long y = x - k;
      while (x < n && y < m && a[lo_a + x] == b[lo_b + y]) ++x, ++y;
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found_d = d;
        break;
      }
    }
  }
  if (found_d < 0) {
    // Too different: delete everything, insert everything.
    for (std::size_t i = lo_a; i < hi_a; ++i) out->push_back({Op::kDelete, i, 0});
    for (std::size_t j = lo_b; j < hi_b; ++j) out->push_back({Op::kInsert, 0, j});
    return;
  }
  // Walk back from (n, m) through the saved V arrays.
  std::vector<Step> reversed;
  long x = n, y = m;
  for (long d = found_d; d > 0; --d) {
    const std::vector<long>& pv = trace[static_cast<std::size_t>(d)];
    long k = x - y;
    long prev_k;
    if (k == -d || (k != d && pv[offset + k - 1] < pv[offset + k + 1])) {
      prev_k = k + 1;
    } else {
      prev_k = k - 1;
    }
    long prev_x = pv[offset + prev_k];
    long prev_y = prev_x - prev_k;
    while (x > prev_x && y > prev_y) {
      --x, --y;
      reversed.push_back({Op::kKeep, lo_a + x, lo_b + y});
    }
    if (x == prev_x) {
      --y;
      reversed.push_back({Op::kInsert, 0, lo_b + y});
    } else {
      --x;
      reversed.push_back({Op::kDelete, lo_a + x, 0});
    }
  }
  while (x > 0 && y > 0) {
    --x, --y;
    reversed.push_back({Op::kKeep, lo_a + x, lo_b + y});
  }
  out->insert(out->end(), reversed.rbegin(), reversed.rend());
}

std::vector<Step> Script(const std::vector<std::string_view>& a,
                         const std::vector<std::string_view>& b) {
  std::vector<Step> out;
  // Common prefix and suffix first: a fixer usually changes a line or two of a long file.
  std::size_t pre = 0;
  while (pre < a.size() && pre < b.size() && a[pre] == b[pre]) ++pre;
  std::size_t suf = 0;
  while (suf < a.size() - pre && suf < b.size() - pre &&
         a[a.size() - 1 - suf] == b[b.size() - 1 - suf]) {
    ++suf;
  }
  for (std::size_t i = 0; i < pre; ++i) out.push_back({Op::kKeep, i, i});
  MyersScript(a, b, pre, a.size() - suf, pre, b.size() - suf, &out);
  for (std::size_t i = suf; i > 0; --i) {
    out.push_back({Op::kKeep, a.size() - i, b.size() - i});
  }
  return out;
}

// GNU diff's range: "start,count", "start" when count is 1, and the line before when empty.
std::string Range(std::size_t first_index, std::size_t count) {
  if (count == 1) return fmt::format("{}", first_index + 1);
  if (count == 0) return fmt::format("{},0", first_index);
  return fmt::format("{},{}", first_index + 1, count);
}

void AppendLine(std::string* out, char sign, std::string_view line) {
  out->push_back(sign);
  out->append(line);
  if (line.empty() || line.back() != '\n') {
    out->append("\n\\ No newline at end of file\n");
  }
}

std::string DiffPath(std::string_view prefix, std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return fmt::format("{}{}", prefix, path);
}

}  // namespace

void EditSet::Append(EditSet other) {
  for (auto& edit : other.edits) {
    auto same = std::find_if(edits.begin(), edits.end(),
                             [&](const FileEdit& e) { return e.path == edit.path; });
    if (same == edits.end()) {
      edits.push_back(std::move(edit));
      continue;
    }
    if (same->after == edit.after && same->before == edit.before) {
      // Two fixers want the same bytes: one edit, credited to both.
      if (same->fixer != edit.fixer) same->fixer += "," + edit.fixer;
      if (same->why != edit.why) same->why += "; " + edit.why;
      continue;
    }
    if (edit.before == same->after) {
      // Planned on top of the earlier edit: chain them.
      same->after = std::move(edit.after);
      if (same->fixer != edit.fixer) same->fixer += "," + edit.fixer;
      same->why += "; " + edit.why;
      continue;
    }
    // A real conflict. Keep both: ApplyEditSet refuses a plan that edits a file twice, and
    // CheckEditSet (fixers/transaction.h) names the fixers involved.
    edits.push_back(std::move(edit));
  }
  for (auto& action : other.actions) {
    bool dup = std::any_of(actions.begin(), actions.end(),
                           [&](const PostAction& a) { return a.argv == action.argv; });
    if (!dup) actions.push_back(std::move(action));
  }
  for (auto& note : other.notes) {
    if (std::find(notes.begin(), notes.end(), note) == notes.end())
      notes.push_back(std::move(note));
  }
}

std::string UnifiedDiff(const FileEdit& edit) {
  if (edit.before == edit.after) return "";
  std::string_view before = edit.before ? std::string_view(*edit.before) : std::string_view();
  std::string_view after = edit.after ? std::string_view(*edit.after) : std::string_view();
  auto a = LinesWithNewline(before);
  auto b = LinesWithNewline(after);
  std::string out =
      fmt::format("--- {}\n+++ {}\n", edit.before ? DiffPath("a/", edit.path) : "/dev/null",
                  edit.after ? DiffPath("b/", edit.path) : "/dev/null");
  if (edit.symlink) {
    if (edit.before) out += fmt::format("-symbolic link -> {}\n", *edit.before);
    if (edit.after) out += fmt::format("+symbolic link -> {}\n", *edit.after);
    return out;
  }
  if (a == b) return out;  // e.g. creating an empty file: headers only
  std::vector<Step> script = Script(a, b);

  // Group changes into hunks: a hunk spans from kContext lines before its first change to
  // kContext lines after its last; changes closer than 2*kContext share one hunk.
  std::size_t i = 0;
  while (i < script.size()) {
    while (i < script.size() && script[i].op == Op::kKeep) ++i;
    if (i == script.size()) break;
    std::size_t start = i >= kContext ? i - kContext : 0;
    std::size_t end = i;  // one past the last change in this hunk
    std::size_t j = i;
    while (j < script.size()) {
      if (script[j].op != Op::kKeep) {
        end = j + 1;
        ++j;
        continue;
      }
      std::size_t run = j;
      while (run < script.size() && script[run].op == Op::kKeep) ++run;
      if (run == script.size() || run - j > 2 * kContext) break;
      j = run;
    }
    std::size_t stop = std::min(script.size(), end + kContext);

    std::size_t a_first = 0, b_first = 0, a_count = 0, b_count = 0;
    bool a_set = false, b_set = false;
    // Where each side's range starts, even when a side has no lines in the hunk.
    std::size_t a_pos = 0, b_pos = 0;
    for (std::size_t s = 0; s < start; ++s) {
      if (script[s].op != Op::kInsert) ++a_pos;
      if (script[s].op != Op::kDelete) ++b_pos;
    }
    std::string body;
    for (std::size_t s = start; s < stop; ++s) {
      const Step& step = script[s];
      switch (step.op) {
        case Op::kKeep:
          if (!a_set) a_first = step.a, a_set = true;
          if (!b_set) b_first = step.b, b_set = true;
          ++a_count, ++b_count;
          AppendLine(&body, ' ', a[step.a]);
          break;
        case Op::kDelete:
          if (!a_set) a_first = step.a, a_set = true;
          ++a_count;
          AppendLine(&body, '-', a[step.a]);
          break;
        case Op::kInsert:
          if (!b_set) b_first = step.b, b_set = true;
          ++b_count;
          AppendLine(&body, '+', b[step.b]);
          break;
      }
    }
    if (!a_set) a_first = a_pos;
    if (!b_set) b_first = b_pos;
    out += fmt::format("@@ -{} +{} @@\n", Range(a_first, a_count), Range(b_first, b_count));
    out += body;
    i = stop;
  }
  return out;
}

std::expected<std::optional<std::string>, Error> ReadIfExists(const Host& host,
                                                              const std::string& path) {
  // The check apply makes before writing it (a regular file inside the config root), so a
  // fixer refuses at plan time what apply would refuse.
  auto target = host.ResolveForWrite(Root::kConfig, path);
  if (!target) return std::unexpected(target.error());
  if (!target->exists) return std::optional<std::string>();
  auto text = host.Read(Root::kConfig, path, 1 << 20);
  if (!text) return std::unexpected(text.error());
  return std::optional<std::string>(std::move(*text));
}

}  // namespace vmprep
