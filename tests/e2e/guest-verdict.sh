#!/bin/sh
# Runs inside the test guest's initramfs after the vmprep hook (initramfs-tools init-premount,
# dracut pre-mount). Loads the NICs' host driver so it gets a chance to claim both, then
# sends the verdict on the second serial port (ttyS1), a channel the kernel never writes to:
# on the console a kernel line can land in the middle of a marker. The verdict is which
# driver holds each e1000e (8086:10d3) and the kernel log as dmesg prints it, between begin
# and end markers so the host can tell a complete verdict from a cut one. Then powers the
# guest off. Builtins plus modprobe, dmesg and sleep, which busybox, dracut's base module
# and initramfs-tools' busybox all provide.
modprobe e1000e 2>/dev/null
{
  echo "VMPREP-E2E begin"
  for d in /sys/bus/pci/devices/*; do
    read -r v <"$d/vendor"
    read -r p <"$d/device"
    [ "$v:$p" = 0x8086:0x10d3 ] || continue
    drv=none
    if [ -e "$d/driver" ]; then
      drv=$(cd -P "$d/driver" && pwd)
      drv=${drv##*/}
    fi
    echo "VMPREP-E2E device ${d##*/} driver=$drv"
  done
  echo "VMPREP-E2E kernel log"
  # Through a pipe: util-linux's dmesg colours its output when it writes to a terminal.
  dmesg | while IFS= read -r line; do echo "$line"; done
  echo "VMPREP-E2E done"
} >/dev/ttyS1
# Closing ttyS1 above waited until the UART had sent everything; the console copy is for
# people reading console.log.
echo "VMPREP-E2E verdict sent on ttyS1" >/dev/console
echo o >/proc/sysrq-trigger
# Power-off is asynchronous: keep init alive meanwhile so the kernel does not panic.
sleep 60
