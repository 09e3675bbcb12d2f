#!/bin/sh
# Every C++ file follows .clang-format (Google style, 100 columns). Fails listing the files
# that clang-format would change; fix with: clang-format -i FILE.
set -eu
cd "${1:-.}"
bad=""
for f in $(git ls-files '*.cc' '*.h' | grep -v '^tests/corpus/'); do
  [ -f "$f" ] || continue
  clang-format --style=file "$f" | cmp -s - "$f" || bad="$bad $f"
done
if [ -n "$bad" ]; then
  echo "not formatted as .clang-format asks (run clang-format -i on them):"
  for f in $bad; do echo "  $f"; done
  exit 1
fi
echo "format: clean"
