#!/bin/sh
# Dependencies point one way: core <- formats <- system <- {checks, fixers} <- wizard <- iso.
# Each folder may include only its own headers and those of the layers below it (iso/ holds
# vmprep-live, the live ISO's helper, on top of everything). Fails naming the file, the line
# and the include that breaks the rule.
set -eu
if [ "${1:-}" = --self-test ]; then
  # The lint must catch an upward include: a system/ header that includes checks/.
  t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
  mkdir -p "$t/system" "$t/checks"
  printf '#include "core/host.h"\n#include "checks/finding.h"\n' >"$t/system/bad.h"
  if "$0" "$t" >"$t/out"; then echo "self-test: an upward include was not caught"; exit 1; fi
  grep -q 'system/bad.h:2: system/ may not include "checks/finding.h"' "$t/out" ||
    { echo "self-test: unexpected message:"; cat "$t/out"; exit 1; }
  echo "layers self-test: an upward include is caught"; exit 0
fi
top=${1:-.}
cd "$top"
allowed() {
  case $1 in
    core) echo "core" ;;
    formats) echo "core formats" ;;
    system) echo "core formats system" ;;
    checks) echo "core formats system checks" ;;
    fixers) echo "core formats system fixers" ;;
    wizard) echo "core formats system checks fixers wizard" ;;
    iso) echo "core formats system checks fixers wizard iso" ;;
  esac
}
status=0
for layer in core formats system checks fixers wizard iso; do
  [ -d "$layer" ] || continue
  ok=$(allowed "$layer")
  for f in $(find "$layer" -name '*.cc' -o -name '*.h' | sort); do
    grep -n '^#include "' "$f" | while IFS= read -r hit; do
      inc=$(printf '%s' "$hit" | sed 's/^[0-9]*:#include "\([^/"]*\)\/.*/\1/')
      case " $ok " in
        *" $inc "*) ;;
        *) echo "$f:${hit%%:*}: $layer/ may not include ${hit#*:#include } (allowed: $ok)"; echo x >&3 ;;
      esac
    done 3>>"${TMPDIR:-/tmp}/lint_layers.$$"
  done
done
if [ -s "${TMPDIR:-/tmp}/lint_layers.$$" ]; then status=1; fi
rm -f "${TMPDIR:-/tmp}/lint_layers.$$"
[ $status -eq 0 ] && echo "layers: clean"
exit $status
