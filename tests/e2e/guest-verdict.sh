#!/bin/sh
# Runs inside the test guest's initramfs after the vmprep hook (initramfs-tools init-premount,
# dracut pre-mount). Loads the NICs' host driver so it gets a chance to claim both, prints
# which driver holds each e1000e (8086:10d3), then powers the guest off. Builtins only, so
# it works whatever shell and tools the generator put in the image.
modprobe e1000e 2>/dev/null
for d in /sys/bus/pci/devices/*; do
  read -r v <"$d/vendor"
  read -r p <"$d/device"
  [ "$v:$p" = 0x8086:0x10d3 ] || continue
  drv=none
  if [ -e "$d/driver" ]; then
    drv=$(cd -P "$d/driver" && pwd)
    drv=${drv##*/}
  fi
  echo "VMPREP-E2E device ${d##*/} driver=$drv" >/dev/console
done
echo "VMPREP-E2E done" >/dev/console
echo o >/proc/sysrq-trigger
# Power-off is asynchronous: keep init alive meanwhile so the kernel does not panic.
sleep 60
