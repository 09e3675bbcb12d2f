#!/bin/sh
# Dependencies point one way: core <- formats <- system <- {checks, fixers} <- {wizard, iso}.
# Each folder may include only its own headers and those of the layers below it; iso/ holds
# vmprep-live, the live ISO's helper, on the session API. A main (*_main.cc) sits above every
# layer. The wizard holds no rule of its own: besides its own headers it may include only the
# session API, the findings and probes, and the device-selection facts (the list below), and
# of the system's headers only CDK, curses, fmt and the C++ library. Fails naming the file,
# the line and the include that breaks the rule.
set -eu
if [ "${1:-}" = --self-test ]; then
  # The lint must catch an upward include (a system/ header that includes checks/), and a
  # wizard file that reaches past the session API or includes a system header.
  t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
  mkdir -p "$t/system" "$t/checks" "$t/wizard"
  printf '#include "core/host.h"\n#include "checks/finding.h"\n' >"$t/system/bad.h"
  printf '#include "fixers/session.h"\n#include "fixers/kernel_cmdline.h"\n#include <string>\n#include <sys/stat.h>\n#include <cdk/cdk.h>\n' >"$t/wizard/bad.cc"
  if "$0" "$t" >"$t/out"; then echo "self-test: an upward include was not caught"; exit 1; fi
  for want in 'system/bad.h:2: system/ may not include "checks/finding.h"' \
    'wizard/bad.cc:2: wizard/ may not include "fixers/kernel_cmdline.h"' \
    'wizard/bad.cc:4: wizard/ may not include <sys/stat.h>'; do
    grep -qF "$want" "$t/out" || { echo "self-test: missing: $want"; cat "$t/out"; exit 1; }
  done
  [ "$(wc -l <"$t/out")" -eq 3 ] || { echo "self-test: unexpected messages:"; cat "$t/out"; exit 1; }
  echo "layers self-test: an upward include and a wizard include past the session are caught"
  exit 0
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
    wizard) echo "core checks fixers system wizard" ;;
    iso) echo "core formats system checks fixers iso" ;;
  esac
}
# The headers the wizard may use: the session API, findings and probes, device selection.
wizard_headers="core/host.h core/error.h checks/finding.h checks/probe.h checks/readiness.h
  fixers/session.h fixers/edit.h fixers/transaction.h fixers/post_actions.h
  system/vfio_selection.h system/host_needs.h system/topology.h system/pci_scan.h
  system/mounts.h system/hugepages.h"
wizard_may() {
  for h in $wizard_headers; do [ "$h" = "$1" ] && return 0; done
  return 1
}
fail="${TMPDIR:-/tmp}/lint_layers.$$"
: >"$fail"
for layer in core formats system checks fixers wizard iso; do
  [ -d "$layer" ] || continue
  ok=$(allowed "$layer")
  for f in $(find "$layer" \( -name '*.cc' -o -name '*.h' \) ! -name '*_main.cc' | sort); do
    grep -n '^#include ' "$f" | while IFS= read -r hit; do
      line=${hit%%:*}
      inc=$(printf '%s' "$hit" | sed 's/^[0-9]*:#include *//; s/ *\/\/.*//')
      case $inc in
        \"*)
          path=${inc#\"}; path=${path%\"}; top_dir=${path%%/*}
          case " $ok " in *" $top_dir "*) good=1 ;; *) good=0 ;; esac
          if [ "$layer" = wizard ] && [ "$top_dir" != wizard ]; then
            wizard_may "$path" || good=0
          fi
          [ $good = 1 ] || { echo "$f:$line: $layer/ may not include $inc (allowed: $ok)"; echo x >>"$fail"; }
          ;;
        \<*)
          [ "$layer" = wizard ] || continue
          name=${inc#<}; name=${name%>}
          case $name in
            cdk.h | cdk/* | curses.h | ncurses.h | fmt/*) ;;
            */* | *.*) echo "$f:$line: wizard/ may not include $inc (allowed: CDK, curses, fmt, the C++ library)"; echo x >>"$fail" ;;
          esac
          ;;
      esac
    done
  done
done
status=0
[ -s "$fail" ] && status=1
rm -f "$fail"
[ $status -eq 0 ] && echo "layers: clean"
exit $status
