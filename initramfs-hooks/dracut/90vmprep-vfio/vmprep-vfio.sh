#!/bin/sh
# dracut pre-udev hook (sourced by the initramfs init): bind configured devices to vfio-pci
# before udev loads host drivers.
if [ -r /usr/lib/vmprep/vfio-bind.sh ]; then
  # shellcheck disable=SC1091
  . /usr/lib/vmprep/vfio-bind.sh
  vmprep_vfio_bind || :
fi
