/// Drop-in file discovery shared by modprobe.d, modules-load.d, sysctl.d and dracut.conf.d.
#include "core/dropins.h"

#include <map>

namespace vmprep {

std::vector<std::string> DropInFiles(const Host& host, Root root,
                                     std::initializer_list<std::string_view> dirs_low_to_high,
                                     std::string_view suffix) {
  std::map<std::string, std::string> by_name;
  for (std::string_view dir : dirs_low_to_high) {
    auto names = host.List(root, dir);
    if (!names) continue;
    for (const auto& n : *names) {
      if (n.ends_with(suffix)) by_name[n] = std::string(dir) + "/" + n;
    }
  }
  std::vector<std::string> files;
  for (const auto& [name, path] : by_name) files.push_back(path);
  return files;
}

}  // namespace vmprep
