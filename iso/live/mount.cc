/// libmount contexts for each mount and unmount; the mount table comes from the runtime
/// root's /proc/self/mountinfo through the Host seam.
#include "iso/live/mount.h"

#include <fmt/format.h>
#include <libmount.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "system/mounts.h"

namespace vmprep::live {
namespace {

// Runs one libmount operation; the error quotes the mount(8)-style command it stands for.
std::expected<void, Error> Run(const std::string& what, const std::string& source,
                               const std::string& target, const std::string& fstype,
                               const std::string& options, bool unmount) {
  struct libmnt_context* cxt = mnt_new_context();
  if (cxt == nullptr) return std::unexpected(Error{target, 0, "libmount: out of memory"});
  // No /etc/fstab or utab on the live system: take the arguments as given.
  mnt_context_disable_canonicalize(cxt, 1);
  if (!source.empty()) mnt_context_set_source(cxt, source.c_str());
  mnt_context_set_target(cxt, target.c_str());
  if (!fstype.empty()) mnt_context_set_fstype(cxt, fstype.c_str());
  if (!options.empty()) mnt_context_set_options(cxt, options.c_str());
  int rc = unmount ? mnt_context_umount(cxt) : mnt_context_mount(cxt);
  std::string message;
  int err = 0;
  if (rc != 0 || mnt_context_get_status(cxt) != 1) {
    err = mnt_context_get_syscall_errno(cxt);
    char buf[512] = {};
    if (mnt_context_get_excode(cxt, rc, buf, sizeof buf) != 0 && buf[0] != '\0') {
      message = buf;
    } else if (err != 0) {
      message = std::strerror(err);
    } else {
      message = fmt::format("libmount error {}", rc);
    }
  }
  mnt_free_context(cxt);
  if (message.empty()) return {};
  return std::unexpected(Error{target, 0, fmt::format("{}: {}", what, message), err});
}

}  // namespace

std::expected<void, Error> MountDevice(const std::string& device, const std::string& target,
                                       const std::string& fstype, const std::string& options,
                                       bool read_only) {
  std::string opts = read_only ? "ro" : "rw";
  if (!options.empty()) opts += "," + options;
  return Run(fmt::format("mount -t {} -o {} {} {}", fstype.empty() ? "auto" : fstype, opts, device,
                         target),
             device, target, fstype, opts, false);
}

std::expected<void, Error> RemountWritable(const std::string& target) {
  return Run(fmt::format("mount -o remount,rw {}", target), "", target, "", "remount,rw", false);
}

std::expected<void, Error> BindMount(const std::string& source, const std::string& target) {
  return Run(fmt::format("mount --rbind {} {}", source, target), source, target, "", "rbind",
             false);
}

std::expected<void, Error> MountTmpfs(const std::string& target) {
  return Run(fmt::format("mount -t tmpfs tmpfs {}", target), "tmpfs", target, "tmpfs",
             "mode=0755,nosuid,nodev", false);
}

std::expected<void, Error> Unmount(const std::string& target) {
  return Run(fmt::format("umount {}", target), "", target, "", "", true);
}

std::expected<std::vector<std::string>, Error> MountsBelow(const Host& host,
                                                           const std::string& top) {
  auto mounts = ReadMounts(host);
  if (!mounts) return std::unexpected(mounts.error());
  std::vector<std::string> out;
  // mountinfo lists mounts in the order they were made; a later one may sit on an earlier
  // one, so unmounting in reverse order takes each off before what it covers.
  for (auto it = mounts->rbegin(); it != mounts->rend(); ++it) {
    const std::string& t = it->target;
    if (t == top || (t.size() > top.size() && t.starts_with(top) && t[top.size()] == '/'))
      out.push_back(t);
  }
  return out;
}

std::vector<std::string> UnmountTree(const Host& host, const std::string& top) {
  std::vector<std::string> failed;
  ::sync();
  for (int pass = 0; pass < 5; ++pass) {
    auto below = MountsBelow(host, top);
    if (!below) return {below.error().ToString()};
    if (below->empty()) return {};
    failed.clear();
    for (const std::string& target : *below) {
      if (auto r = Unmount(target); !r) failed.push_back(r.error().ToString());
    }
    if (failed.empty()) continue;
    ::usleep(300 * 1000);  // a process that just exited may still hold a file there
  }
  return failed;
}

}  // namespace vmprep::live
