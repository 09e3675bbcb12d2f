/// Mount table through libmount: the bytes come from the Host (the runtime root's
/// /proc/self/mountinfo); libmount parses them from memory.
#include "system/mounts.h"

#include <libmount.h>
#include <sys/sysmacros.h>

#include <cstdio>

namespace vmprep {

std::expected<std::vector<MountEntry>, Error> ParseMountinfo(std::string_view text,
                                                             std::string_view path) {
  std::string copy(text);
  FILE* stream = ::fmemopen(copy.data(), copy.size(), "r");
  if (stream == nullptr)
    return std::unexpected(Error{std::string(path), 0, "cannot buffer the mount table"});
  struct libmnt_table* table = mnt_new_table();
  int rc = mnt_table_parse_stream(table, stream, std::string(path).c_str());
  std::fclose(stream);
  if (rc != 0) {
    mnt_unref_table(table);
    return std::unexpected(Error{std::string(path), 0, "not a mountinfo table libmount can parse"});
  }
  std::vector<MountEntry> mounts;
  struct libmnt_iter* it = mnt_new_iter(MNT_ITER_FORWARD);
  struct libmnt_fs* fs = nullptr;
  while (mnt_table_next_fs(table, it, &fs) == 0) {
    auto str = [](const char* s) { return s ? std::string(s) : std::string(); };
    MountEntry e;
    e.source = str(mnt_fs_get_source(fs));
    e.target = str(mnt_fs_get_target(fs));
    e.fstype = str(mnt_fs_get_fstype(fs));
    e.options = str(mnt_fs_get_options(fs));
    dev_t dev = mnt_fs_get_devno(fs);
    e.major = major(dev);
    e.minor = minor(dev);
    mounts.push_back(std::move(e));
  }
  mnt_free_iter(it);
  mnt_unref_table(table);
  return mounts;
}

std::expected<std::vector<MountEntry>, Error> ReadMounts(const Host& host) {
  const char* path = "/proc/self/mountinfo";
  auto text = host.Read(Root::kRuntime, path, 4u << 20);
  if (!text) return std::unexpected(text.error());
  return ParseMountinfo(*text, path);
}

std::string MountOption(std::string_view options, std::string_view key) {
  std::size_t pos = 0;
  while (pos <= options.size()) {
    std::size_t comma = options.find(',', pos);
    if (comma == std::string_view::npos) comma = options.size();
    auto item = options.substr(pos, comma - pos);
    if (item.size() > key.size() && item.substr(0, key.size()) == key && item[key.size()] == '=') {
      return std::string(item.substr(key.size() + 1));
    }
    pos = comma + 1;
  }
  return "";
}

}  // namespace vmprep
