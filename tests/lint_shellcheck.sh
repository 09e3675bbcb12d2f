#!/bin/sh
# Every shell script in the repository is shellcheck-clean: *.sh files (sourced libraries
# carry a "# shellcheck shell=" line) and every tracked file that starts with a sh/bash
# shebang (hooks, .ci/run, build.sh).
set -eu
top=${1:-.}
cd "$top"
files=$(git ls-files 2>/dev/null | while read -r f; do
  [ -f "$f" ] || continue
  case $f in
    tests/corpus/*) ;;  # third-party files, kept byte-exact
    *.sh) echo "$f" ;;
    *.md | *.txt | *.cmake | *.cc | *.h | *.tsv | *.xz | *.json) ;;
    *) if head -n 1 "$f" | grep -qE '^#!.*[/ ](sh|bash)$'; then echo "$f"; fi ;;
  esac
done)
[ -n "$files" ] || { echo "no shell scripts found"; exit 1; }
# shellcheck disable=SC2086
shellcheck -x -P SCRIPTDIR $files
echo "shellcheck: $(echo "$files" | wc -l) scripts clean"
