#!/bin/sh
# Every shell script we ship or test with is shellcheck-clean.
set -eu
top=${1:-.}
cd "$top"
files=$(git ls-files 2>/dev/null | grep -E '\.sh$|^initramfs-hooks/|^\.ci/run$|^build\.sh$' | grep -vE '\.(md|conf|cmake|in)$' | while read -r f; do
  [ -f "$f" ] && head -n 1 "$f" | grep -qE '^#!.*(sh|bash)' && echo "$f"; done)
[ -n "$files" ] || { echo "no shell scripts found"; exit 1; }
# shellcheck disable=SC2086
shellcheck -x $files
echo "shellcheck: $(echo "$files" | wc -l) scripts clean"
