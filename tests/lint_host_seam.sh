#!/bin/sh
# The Host seam: product code (core/, formats/, system/, checks/, fixers/, wizard/, iso/) reads
# and writes files only through vmprep::Host. Fails, naming file and line, when anything else
# calls the file system directly.
#
# Exempt, each for one reason:
#   core/host.cc           the Host itself
#   iso/live/devlinks.cc   makes the /dev/disk/by-* symlinks udev would make on the live ISO
#                          (device management of the live system's own /dev, outside any root;
#                          Host::MakeSymlink makes links inside the config root, for fixers)
# The live ISO's mounting and block-device probing go through libmount and libblkid (mnt_*,
# blkid_*), which this lint does not match: they open device nodes, not configuration.
set -eu
top=${1:-.}
cd "$top"
pattern='(^|[^A-Za-z0-9_.>])(open|openat|openat2|fopen|freopen|opendir|fdopendir|stat|lstat|fstatat|access|creat|mkdir|unlink|rename|renameat|readlink|realpath|popen|symlink|symlinkat|mount|umount|umount2)[[:space:]]*\(|std::(i|o)?fstream|std::filesystem|<filesystem>|<fstream>|::syscall'
found=$(find core formats system checks fixers wizard iso -name '*.cc' -o -name '*.h' 2>/dev/null |
  grep -v -e '^core/host\.cc$' -e '^iso/live/devlinks\.cc$' | sort |
  xargs -r grep -nE "$pattern" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true)
if [ -n "$found" ]; then
  echo "Direct file-system calls outside core/host.cc (use vmprep::Host instead):"
  echo "$found"
  exit 1
fi
echo "host seam: clean"
