#!/bin/sh
# Installs the systemd component of BUILD_DIR into a scratch root (DESTDIR) and runs
# `systemd-analyze verify --root` on every unit we ship, so ExecStart= paths are checked
# against the files the install actually put there.
# Usage: tests/e2e/systemd-verify.sh BUILD_DIR
set -eu
build=$1
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze missing (apt-get install systemd)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# The units and the binaries they run (vmcheck-metrics.service runs vmcheck itself).
for component in systemd runtime; do
  DESTDIR=$root cmake --install "$build" --component $component >"$root.install.log" 2>&1 ||
    { cat "$root.install.log" >&2; rm -f "$root.install.log"; echo "FAIL: install" >&2; exit 1; }
done
rm -f "$root.install.log"
# The targets and units ours refer to (sysinit.target, local-fs.target, ...) come from the
# host's systemd, copied so that --root sees them.
mkdir -p "$root/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/system"
units=$(find "$root" \( -name '*.service' -o -name '*.mount' -o -name '*.timer' \) ! -path "$root/usr/lib/systemd/*" | sort)
[ -n "$units" ] || { echo "FAIL: no units installed" >&2; exit 1; }
count=0
for u in $units; do
  case $u in
    *@.service)
      # A template verifies through an instance.
      inst=${u%@.service}@2048kB.service
      cp "$u" "$inst"
      u=$inst
      ;;
  esac
  out=$(systemd-analyze verify --man=no --root="$root" "$u" 2>&1) || {
    echo "$out" >&2
    echo "FAIL: ${u#"$root"}" >&2
    exit 1
  }
  # verify also exits 0 on some warnings: treat any output about our unit as a failure.
  if [ -n "$out" ]; then
    echo "$out" >&2
    echo "FAIL: ${u#"$root"} has warnings" >&2
    exit 1
  fi
  echo "ok ${u#"$root"}"
  count=$((count + 1))
done
echo "$count units verified"
