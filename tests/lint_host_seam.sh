#!/bin/sh
# The Host seam: product code (core/, formats/, system/, checks/, fixers/, wizard/) reads and writes files only through
# vmprep::Host. Fails, naming file and line, when anything else calls the file system directly.
set -eu
top=${1:-.}
cd "$top"
pattern='(^|[^A-Za-z0-9_.>])(open|openat|openat2|fopen|freopen|opendir|fdopendir|stat|lstat|fstatat|access|creat|mkdir|unlink|rename|renameat|readlink|realpath|popen)[[:space:]]*\(|std::(i|o)?fstream|std::filesystem|<filesystem>|<fstream>|::syscall'
found=$(find core formats system checks fixers wizard -name '*.cc' -o -name '*.h' 2>/dev/null | grep -v '^core/host\.cc$' | sort |
  xargs -r grep -nE "$pattern" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true)
if [ -n "$found" ]; then
  echo "Direct file-system calls outside core/host.cc (use vmprep::Host instead):"
  echo "$found"
  exit 1
fi
echo "host seam: clean"
