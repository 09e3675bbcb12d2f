#!/bin/sh
# dracut module: vfio modules, the shared binder and its config, and a pre-udev hook so the
# binding happens before udev loads host drivers. Sourced by dracut.
# shellcheck disable=SC2154 # kernel, moddir and the inst_* helpers come from dracut.

check() {
  # Include by default only when a fixer configured something; always when asked for.
  [ -f /etc/vmprep/vfio-bind.conf ] || return 255
  return 0
}

depends() {
  return 0
}

installkernel() {
  instmods vfio vfio_pci vfio_iommu_type1
  # vfio_virqfd was folded into vfio in 6.2.
  _major=${kernel%%.*}
  _minor=${kernel#*.}
  _minor=${_minor%%.*}
  if [ "$_major" -lt 6 ] || { [ "$_major" -eq 6 ] && [ "$_minor" -lt 2 ]; }; then
    instmods vfio_virqfd
  fi
}

install() {
  inst_multiple modprobe
  inst_simple /usr/lib/vmprep/vfio-bind.sh /usr/lib/vmprep/vfio-bind.sh
  if [ -f /etc/vmprep/vfio-bind.conf ]; then
    inst_simple /etc/vmprep/vfio-bind.conf /etc/vmprep/vfio-bind.conf
  fi
  inst_hook pre-udev 00 "$moddir/vmprep-vfio.sh"
}
