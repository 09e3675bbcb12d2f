#!/bin/sh
# Runs shellcheck (POSIX sh) over the hooks, the systemd helper scripts and these tests.
# Usage: tests/e2e/shellcheck-hooks.sh SOURCE_DIR
set -eu
cd "$1"
command -v shellcheck >/dev/null || { echo "FAIL: shellcheck missing (apt-get install shellcheck)" >&2; exit 1; }
set -- initramfs-hooks/vfio-bind.sh \
  initramfs-hooks/initramfs-tools/hooks/vmprep-vfio \
  initramfs-hooks/initramfs-tools/scripts/init-top/00vmprep-vfio \
  initramfs-hooks/dracut/90vmprep-vfio/module-setup.sh \
  initramfs-hooks/dracut/90vmprep-vfio/vmprep-vfio.sh \
  initramfs-hooks/mkinitcpio/install/vmprep-vfio \
  initramfs-hooks/mkinitcpio/hooks/vmprep-vfio \
  systemd/vmcheck-boot.in systemd/vmprep-hugepages.in \
  tests/e2e/*.sh tests/e2e/dracut-e2e/*.sh
shellcheck -s sh -x -P SCRIPTDIR "$@"
echo "shellcheck: $# files clean"
