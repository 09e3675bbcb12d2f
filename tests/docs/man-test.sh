#!/bin/sh
# Every man page built from docs/man/*.scd renders with man-db at 80 columns without a
# single warning from groff (`man --warnings`), and names itself in its header.
# Usage: man-test.sh MAN_DIR (build/man)
set -eu
dir=$1
command -v man >/dev/null || { echo "FAIL: man missing (apt-get install man-db)"; exit 1; }
status=0
count=0
for page in vmcheck.8 vmsetup.8 vmprep-report.5; do
  for f in "$dir/$page" "$dir/$page.gz"; do
    [ -f "$f" ] || { echo "FAIL: $f not built"; status=1; continue; }
    out=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$f" 2>"$dir/.man-test.err") || {
      echo "FAIL: man -l $f exited non-zero"; status=1; }
    if [ -s "$dir/.man-test.err" ]; then
      echo "FAIL: $f: warnings:"; cat "$dir/.man-test.err"; status=1
    fi
    name=${page%.*} section=${page##*.}
    printf '%s\n' "$out" | head -n 1 | grep -q "^$name($section) " ||
      { echo "FAIL: $f: header is not $name($section)"; status=1; }
    # No line wider than MANWIDTH (a table or literal block that does not fit).
    wide=$(printf '%s\n' "$out" | awk 'length($0) > 80' | head -n 3)
    [ -z "$wide" ] || { echo "FAIL: $f: lines wider than 80 columns:"; echo "$wide"; status=1; }
    count=$((count + 1))
  done
done
rm -f "$dir/.man-test.err"
[ $status -eq 0 ] && echo "man: $count pages render without warnings"
exit $status
