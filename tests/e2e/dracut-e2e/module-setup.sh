#!/bin/sh
# Test-only dracut module for boot-hook.sh: accepts the dummy root= and, in pre-mount (after
# the vmprep-vfio pre-udev hook and udev), prints the verdict and powers off.
# shellcheck disable=SC2154 # moddir and inst_hook come from dracut.
check() { return 255; }
depends() { return 0; }
install() {
  inst_hook cmdline 99 "$moddir/e2e-cmdline.sh"
  inst_hook pre-mount 99 "$moddir/guest-verdict.sh"
}
