// The initramfs fixer for booster: the vfio modules in /etc/booster.yaml's
// modules_force_load.
#include <algorithm>

#include "core/text.h"
#include "fixers/initramfs_internal.h"

namespace vmprep {

// booster.yaml's `modules_force_load: a,b,c`. Only that one-line comma form is
// edited; YAML lists, quotes and comments on the line are refused.
std::expected<void, Error> PlanBooster(const Host& host, const KernelVersion& kernel,
                                       EditSet* set) {
  const std::string path = "/etc/booster.yaml";
  auto text = ReadIfExists(host, path);
  if (!text) return std::unexpected(text.error());
  std::string t = text->value_or("");
  bool drop_virqfd = kernel.known() && !kernel.has_virqfd_module();
  constexpr std::string_view kKey = "modules_force_load:";
  for (const TextLine& text_line : Lines(t)) {
    const std::string_view line = text_line.text;
    const size_t pos = text_line.begin, end = text_line.end;
    if (line.starts_with(kKey)) {
      size_t vstart = kKey.size();
      while (vstart < line.size() && (line[vstart] == ' ' || line[vstart] == '\t')) ++vstart;
      std::string_view value = line.substr(vstart);
      bool cr = !value.empty() && value.back() == '\r';
      if (cr) value.remove_suffix(1);
      if (value.find_first_of("[]{}\"'#&*!|>") != std::string_view::npos ||
          (value.empty() && Trim(std::string_view(t).substr(text_line.next)).starts_with("-"))) {
        return std::unexpected(Error{path, text_line.number,
                                     "modules_force_load is not a plain comma list; expected "
                                     "'modules_force_load: mod1,mod2'"});
      }
      std::vector<std::string> items;
      bool spaced = value.find(", ") != std::string_view::npos;
      size_t p = 0;
      while (p <= value.size() && !value.empty()) {
        size_t c = value.find(',', p);
        if (c == std::string_view::npos) c = value.size();
        auto item = Trim(value.substr(p, c - p));
        if (!item.empty()) items.emplace_back(item);
        p = c + 1;
      }
      bool append_only = false;
      auto wanted = WantedModules(items, VfioEarlyModules(kernel), kernel, &append_only);
      if (!drop_virqfd) {
        // Order does not matter to booster (it loads them all before udev).
        wanted = items;
        for (const auto& m : VfioEarlyModules(kernel))
          if (std::none_of(items.begin(), items.end(), [&](auto& w) { return SameModule(w, m); }))
            wanted.push_back(m);
      }
      if (wanted == items) return {};
      std::string joined = Join(wanted, spaced ? ", " : ",");
      std::string after = t.substr(0, pos + vstart) + joined + (cr ? "\r" : "") + t.substr(end);
      if (vstart == kKey.size()) after.insert(pos + vstart, " ");
      set->edits.push_back(
          MakeEdit(path, text.value(), after, "booster force-loads the vfio modules"));
      return {};
    }
  }
  std::string joined = Join(VfioEarlyModules(kernel), ",");
  std::string after = t;
  if (!after.empty() && after.back() != '\n') after += '\n';
  after += std::string(kKey) + " " + joined + "\n";
  set->edits.push_back(MakeEdit(path, *text, after, "booster force-loads the vfio modules"));
  return {};
}

}  // namespace vmprep
