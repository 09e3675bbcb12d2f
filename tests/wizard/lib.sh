#!/bin/bash
# shellcheck shell=bash
# Drives the real vmsetup wizard inside a real tmux (send-keys / capture-pane), for the tests
# in this folder. Every step waits for the text it expects by polling capture-pane (never a
# fixed sleep), with a generous timeout for a loaded 2-core machine, and keeps each screen it
# waited for as a text file: $WIZARD_SCREENS/<test>/NN-name.txt.
#
# Usage (sourced): wz_init TEST VMSETUP; wz_machine SYSROOT; wz_start ARGS...; wz_wait TEXT...;
# wz_keys KEY...; wz_save NAME; wz_fail MESSAGE. Trees: $WZ/runtime, $WZ/config.
set -u

WZ_TIMEOUT=${WZ_TIMEOUT:-90}
wz_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
wz_repo=$(cd "$wz_here/../.." && pwd)

wz_fail() {
  echo "FAIL ($wz_test): $*" >&2
  if [ -n "${WZ_SOCK:-}" ] && tmux -S "$WZ_SOCK" has-session 2>/dev/null; then
    echo "--- the screen now:" >&2
    tmux -S "$WZ_SOCK" capture-pane -p >&2
  fi
  exit 1
}

wz_cleanup() {
  [ -n "${WZ_SOCK:-}" ] && tmux -S "$WZ_SOCK" kill-server 2>/dev/null
  [ -n "${WZ:-}" ] && [ -z "${WZ_KEEP:-}" ] && rm -rf "$WZ"
  return 0
}

# wz_init TEST VMSETUP: scratch directory, screens directory, the binary.
wz_init() {
  wz_test=$1
  VMSETUP=$2
  [ -x "$VMSETUP" ] || { echo "no vmsetup binary at $VMSETUP" >&2; exit 1; }
  command -v tmux >/dev/null || { echo "tmux is missing (apt-get install tmux)" >&2; exit 1; }
  # tmux's server refuses to start when /dev/null is not the null device.
  [ -c /dev/null ] || { echo "/dev/null is not a character device: tmux cannot start" >&2; exit 1; }
  WZ=$(mktemp -d "${TMPDIR:-/tmp}/vmprep-wizard-$wz_test.XXXXXX")
  trap wz_cleanup EXIT
  WZ_SCREENS=${WIZARD_SCREENS:-$PWD/wizard-screens}/$wz_test
  rm -rf "$WZ_SCREENS"
  mkdir -p "$WZ_SCREENS"
  wz_count=0
  WZ_SOCK=$WZ/tmux.sock
}

# wz_machine SYSROOT: the capture as runtime root, and a config root shaped like Debian 12
# (GRUB, initramfs-tools) whose update-grub and update-initramfs are stand-ins that print a
# line (run chrooted, by busybox's sh).
wz_machine() {
  tar -C "$WZ" --same-owner -xpJf "$wz_repo/tests/sysroots/$1.tar.xz" || wz_fail "cannot extract $1"
  local c=$WZ/config
  mkdir -p "$c/etc/default" "$c/etc/initramfs-tools" "$c/usr/sbin" "$c/usr/bin"
  cp "$wz_repo/tests/corpus/grub/debian-12_grub2-common_2.06-13+deb12u2.grub" "$c/etc/default/grub"
  cp "$wz_repo/tests/corpus/initramfs-tools/debian-12_initramfs-tools-core_0.142+deb12u3_usr-share-template.modules" \
    "$c/etc/initramfs-tools/modules"
  cp /bin/busybox "$c/usr/bin/busybox"
  ln -s busybox "$c/usr/bin/sh"
  [ -e "$c/bin" ] || ln -s usr/bin "$c/bin"
  for tool in update-grub update-initramfs; do
    printf '#!/bin/sh\necho "stand-in %s ran: $*"\n' "$tool" >"$c/usr/sbin/$tool"
    chmod 755 "$c/usr/sbin/$tool"
  done
}

# wz_start [ENV=VALUE...] -- ARGS...: vmsetup ARGS --runtime-root --config-root in a new
# 80x24 tmux session; when it ends the pane shows "[exit N]".
wz_start() {
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  [ "${1:-}" = -- ] && shift
  {
    echo '#!/bin/sh'
    printf 'exec env'
    printf " '%s'" "${envs[@]}" "$VMSETUP" "$@" --runtime-root "$WZ/runtime" --config-root "$WZ/config"
    echo
  } >"$WZ/run-vmsetup.sh"
  printf '#!/bin/sh\nsh %s\necho "[exit $?]"\nexec sleep 3600\n' "$WZ/run-vmsetup.sh" >"$WZ/run.sh"
  tmux -S "$WZ_SOCK" -f /dev/null new-session -d -x 80 -y 24 "sh $WZ/run.sh" ||
    wz_fail "tmux cannot start a session"
}

wz_screen() { tmux -S "$WZ_SOCK" capture-pane -p; }

# wz_wait TEXT...: until every TEXT is on the screen at once.
wz_wait() {
  local deadline=$((SECONDS + WZ_TIMEOUT)) screen t missing
  while :; do
    screen=$(wz_screen)
    missing=""
    for t in "$@"; do
      case $screen in *"$t"*) ;; *) missing=$t; break ;; esac
    done
    [ -z "$missing" ] && return 0
    [ $SECONDS -ge $deadline ] && wz_fail "waited ${WZ_TIMEOUT}s for: $missing"
    sleep 0.1
  done
}

# wz_absent TEXT...: none of them is on the screen now.
wz_absent() {
  local screen t
  screen=$(wz_screen)
  for t in "$@"; do
    case $screen in *"$t"*) wz_fail "unexpected on the screen: $t" ;; esac
  done
}

wz_keys() { tmux -S "$WZ_SOCK" send-keys "$@"; }

wz_save() {
  wz_count=$((wz_count + 1))
  wz_screen >"$WZ_SCREENS/$(printf '%02d' $wz_count)-$1.txt"
}

# wz_tree DIR: every path below DIR with its type, mode and content hash, for comparing;
# vmsetup's own records (/var/lib/vmprep: transactions, lock) left out.
wz_tree() {
  (cd "$1" && find . -path ./var/lib/vmprep/transactions -prune -o -path ./var/lib/vmprep/lock \
    -prune -o ! -path ./var ! -path ./var/lib ! -path ./var/lib/vmprep -printf '%p %y %m\n' |
    sort | while read -r p y m; do
    if [ "$y" = f ]; then echo "$p f $m $(sha256sum <"$p" | cut -c1-16)"; else echo "$p $y $m"; fi
  done)
}
