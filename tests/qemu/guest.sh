# shellcheck shell=sh
# Guest-side helpers (busybox sh), installed as /lib/vmq-guest.sh by vmq_initramfs_new.

# vmq_send NAME FILE [TTY]: sends FILE base64-encoded between markers on TTY (default the
# second serial port, /dev/ttyS1); vmq_serial_extract on the host decodes and checks it.
vmq_send() {
  _tty=${3:-/dev/ttyS1}
  stty -F "$_tty" raw -echo 2>/dev/null
  _sum=$(sha256sum "$2" | cut -d' ' -f1)
  {
    echo "==VMQ-BEGIN $1=="
    base64 "$2"
    echo "==VMQ-END $1 $_sum=="
  } >"$_tty"
}

# vmq_mount_basics: /proc, /sys, /dev (devtmpfs) and /run (tmpfs), as an init system would.
vmq_mount_basics() {
  [ -r /proc/self/stat ] || mount -t proc -o nosuid,nodev,noexec proc /proc
  [ -d /sys/kernel ] || mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
  [ -c /dev/null ] || mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev
  grep -q ' /run ' /proc/self/mountinfo || mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run
}

# vmq_poweroff: flushes and powers the machine off (qemu -no-reboot then exits).
vmq_poweroff() {
  sync
  poweroff -f
  sleep 5
  echo o >/proc/sysrq-trigger
}
