/// /dev/disk/by-* links for the live system, as udev's 60-persistent-storage rules make them.
/// Creating a symlink has no Host call (the Host seam reads and writes configuration); this
/// file is the one place in iso/ allowed to (tests/lint_host_seam.sh): device nodes and their
/// links are the live system's own /dev, which it manages instead of udev.
#include "iso/live/devlinks.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vmprep::live {

std::string UdevEncode(const std::string& name) {
  std::string out;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                std::strchr("#+-.:=@_", c) != nullptr;
    out += keep && c != '\0' ? std::string(1, c) : fmt::format("\\x{:02x}", u);
  }
  return out;
}

std::vector<std::string> MakeDiskLinks(const Host& host, const std::vector<BlockFs>& filesystems) {
  std::vector<std::string> problems;
  for (const BlockFs& fs : filesystems) {
    struct Link {
      const char* dir;
      const std::string& value;
    };
    for (Link link : {Link{"by-uuid", fs.uuid}, Link{"by-partuuid", fs.partuuid},
                      Link{"by-label", fs.label}, Link{"by-partlabel", fs.partlabel}}) {
      if (link.value.empty()) continue;
      std::string encoded = UdevEncode(link.value);
      if (encoded == "." || encoded == "..") continue;
      std::string dir = fmt::format("/dev/disk/{}", link.dir);
      if (auto r = host.MakeDirs(Root::kRuntime, dir); !r) {
        problems.push_back(r.error().ToString());
        continue;
      }
      std::string path = host.root_path(Root::kRuntime) + dir + "/" + encoded;
      if (host.LStat(Root::kRuntime, dir + "/" + encoded)) continue;
      std::string target = "../../" + fs.name;
      if (::symlink(target.c_str(), path.c_str()) != 0) {
        problems.push_back(
            fmt::format("{}: cannot link it to {}: {}", path, target, std::strerror(errno)));
      }
    }
  }
  return problems;
}

}  // namespace vmprep::live
