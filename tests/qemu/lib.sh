# shellcheck shell=sh
# Helpers for booting real Debian kernels in QEMU (TCG) from tests. Source this file.
#
# Two independent parts:
#   1. vmq_initramfs_*: build a small busybox-static initramfs with chosen kernel modules.
#   2. vmq_run: boot qemu-system-x86_64 under TCG with a kernel, an initrd, a command line
#      and extra device arguments, a time limit, and two serial ports captured to files
#      (ttyS0 = console, ttyS1 = data channel). Usable with any initrd (update-initramfs,
#      dracut, ...).
#   vmq_serial_extract decodes a block a guest sent over ttyS1 with guest.sh's vmq_send.
#   vmq_make_disk makes a raw MBR disk with one ext4 partition from a folder (no root needed).
#
# Example (any initrd, e.g. one made by update-initramfs):
#   VMQ_LIB_DIR=tests/qemu; . tests/qemu/lib.sh
#   k=$(vmq_kernel_dir)
#   VMQ_CPU=max vmq_run /tmp/run 120 "$k/vmlinuz" /tmp/initrd.img "console=ttyS0 panic=-1" \
#     -device e1000e || echo "boot failed or timed out ($?)"
#   vmq_serial_extract /tmp/run/serial1.out result /tmp/result   # sent with vmq_send
#
# Read results from ttyS1 (serial1.out), never from console.log: the kernel writes its log to
# the console whenever it likes, and one of its lines can land in the middle of a marker.
#
# All functions return non-zero on failure and print the reason on stderr; none calls exit.
# POSIX sh has no "local": internal variables are prefixed _vmq_.

# Set VMQ_LIB_DIR to this folder (tests/qemu) before calling the functions: sh cannot tell a
# sourced file where it is. The default fits scripts in a sibling folder (tests/<x>/y.sh).
VMQ_LIB_DIR=${VMQ_LIB_DIR:-$(dirname "$0")/../qemu}

vmq_die() {
  echo "vmq: $*" >&2
  return 1
}

# vmq_kernel_dir: prints the directory fetch-kernel.sh prepared (vmlinuz, lib/modules/<rel>,
# config, release).
vmq_kernel_dir() {
  sh "$VMQ_LIB_DIR/fetch-kernel.sh"
}

# vmq_initramfs_new STAGE
# Creates STAGE with busybox-static, applet symlinks and the usual mount points.
vmq_initramfs_new() {
  _vmq_stage=$1
  _vmq_bb=$(command -v busybox) || { vmq_die "busybox not found (apt-get install busybox-static)"; return 1; }
  case $(file -b "$_vmq_bb" 2>/dev/null) in
    *statically*|*static-pie*) ;;
    *) if [ -x /bin/busybox ]; then _vmq_bb=/bin/busybox; fi ;;
  esac
  rm -rf "$_vmq_stage"
  mkdir -p "$_vmq_stage/bin" "$_vmq_stage/sbin" "$_vmq_stage/proc" "$_vmq_stage/sys" "$_vmq_stage/dev" "$_vmq_stage/run" \
    "$_vmq_stage/tmp" "$_vmq_stage/etc" "$_vmq_stage/lib/modules" "$_vmq_stage/newroot" "$_vmq_stage/usr/bin" \
    "$_vmq_stage/usr/sbin" || return 1
  cp "$_vmq_bb" "$_vmq_stage/bin/busybox" || return 1
  # Pitfall (QEMU-NOTES): linking every applet, "busybox" included, would replace
  # bin/busybox by a symlink to itself and init fails with ELOOP.
  for _vmq_applet in $("$_vmq_stage/bin/busybox" --list); do
    [ "$_vmq_applet" = busybox ] && continue
    [ -e "$_vmq_stage/bin/$_vmq_applet" ] || ln -s busybox "$_vmq_stage/bin/$_vmq_applet" || return 1
  done
  if [ -L "$_vmq_stage/bin/busybox" ] || [ ! -f "$_vmq_stage/bin/busybox" ]; then
    vmq_die "bin/busybox is not a regular file"
    return 1
  fi
  cp "$VMQ_LIB_DIR/guest.sh" "$_vmq_stage/lib/vmq-guest.sh"
}

# vmq_initramfs_add_modules STAGE KDIR KVER MODULE...
# Copies MODULEs and their dependencies (resolved by the host's modprobe against
# KDIR/lib/modules/KVER) into STAGE/lib/modules/KVER and writes modules.dep there with
# depmod, so busybox modprobe works in the guest. Built-in modules are skipped. Soft
# dependencies are copied too, but busybox modprobe ignores them: load those explicitly
# (ext4 needs crc32c_generic first).
vmq_initramfs_add_modules() {
  _vmq_stage=$1 _vmq_kdir=$2 _vmq_kver=$3
  shift 3
  _vmq_src=$_vmq_kdir/lib/modules/$_vmq_kver
  _vmq_dst=$_vmq_stage/lib/modules/$_vmq_kver
  [ -f "$_vmq_src/modules.dep" ] || { vmq_die "no $_vmq_src/modules.dep"; return 1; }
  mkdir -p "$_vmq_dst" || return 1
  for _vmq_f in modules.order modules.builtin modules.builtin.modinfo; do
    [ -f "$_vmq_src/$_vmq_f" ] && cp "$_vmq_src/$_vmq_f" "$_vmq_dst/$_vmq_f"
  done
  for _vmq_mod in "$@"; do
    _vmq_deps=$(modprobe -d "$_vmq_kdir" -S "$_vmq_kver" --show-depends "$_vmq_mod") ||
      { vmq_die "modprobe cannot resolve $_vmq_mod"; return 1; }
    # Lines are "insmod /path/x.ko [opts]" or "builtin x".
    for _vmq_ko in $(printf '%s\n' "$_vmq_deps" | sed -n 's/^insmod \([^ ]*\).*/\1/p'); do
      _vmq_rel=${_vmq_ko#"$_vmq_src"/}
      [ "$_vmq_rel" != "$_vmq_ko" ] || { vmq_die "unexpected module path $_vmq_ko"; return 1; }
      mkdir -p "$_vmq_dst/$(dirname "$_vmq_rel")" || return 1
      cp "$_vmq_ko" "$_vmq_dst/$_vmq_rel" || return 1
    done
  done
  depmod -b "$_vmq_stage" "$_vmq_kver" 2>/dev/null || depmod -b "$_vmq_stage" "$_vmq_kver"
}

# vmq_initramfs_pack STAGE OUT
# Packs STAGE as a newc cpio compressed with zstd (the Debian kernel decompresses it).
vmq_initramfs_pack() {
  _vmq_stage=$1 _vmq_out=$2
  [ -e "$_vmq_stage/init" ] || { vmq_die "$_vmq_stage/init missing"; return 1; }
  (cd "$_vmq_stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | zstd -q -19 -T0 -f -o "$_vmq_out"
}

# vmq_build_initramfs OUT KDIR KVER INIT_SCRIPT [MODULE...]
# One-shot: busybox + INIT_SCRIPT as /init + modules. Leaves the stage in OUT.d for reuse
# (for example as the content of a root disk).
vmq_build_initramfs() {
  _vmq_out=$1 _vmq_kdir=$2 _vmq_kver=$3 _vmq_init=$4
  shift 4
  vmq_initramfs_new "$_vmq_out.d" || return 1
  cp "$_vmq_init" "$_vmq_out.d/init" || return 1
  chmod 755 "$_vmq_out.d/init" || return 1
  vmq_initramfs_add_modules "$_vmq_out.d" "$_vmq_kdir" "$_vmq_kver" "$@" || return 1
  vmq_initramfs_pack "$_vmq_out.d" "$_vmq_out"
}

# vmq_make_disk IMG SRC_DIR
# A 64 MiB raw disk with an MBR, one Linux partition (sector 2048 to the end) holding an ext4
# file system made from SRC_DIR (mke2fs -d). No root privileges or loop devices needed.
vmq_make_disk() {
  _vmq_img=$1 _vmq_src=$2
  rm -f "$_vmq_img"
  truncate -s 64M "$_vmq_img" || return 1
  # Partition entry: not bootable, type 0x83, LBA start 2048, 129024 sectors (0x0001f800).
  printf '\000\376\377\377\203\376\377\377\000\010\000\000\000\370\001\000' |
    dd of="$_vmq_img" bs=1 seek=446 conv=notrunc status=none || return 1
  printf '\125\252' | dd of="$_vmq_img" bs=1 seek=510 conv=notrunc status=none || return 1
  mke2fs -q -F -t ext4 -L vmqroot -d "$_vmq_src" -E offset=1048576 "$_vmq_img" 64512k >/dev/null ||
    { vmq_die "mke2fs failed for $_vmq_img"; return 1; }
}

# vmq_run OUTDIR TIMEOUT KERNEL INITRD APPEND [QEMU_ARG...]
# Boots qemu-system-x86_64 -accel tcg with -nodefaults (the caller adds every device it
# wants), -no-reboot, ttyS0 -> OUTDIR/console.log, ttyS1 -> OUTDIR/serial1.out.
# INITRD may be empty. Environment: VMQ_MACHINE (default q35), VMQ_MEM (MiB, 1024),
# VMQ_SMP (2), VMQ_CPU (qemu default when empty), VMQ_QEMU (qemu-system-x86_64).
# The guest ends the run with "poweroff -f" (or a panic with panic=-1 on the command line).
# Returns qemu's status, 124 when TIMEOUT seconds passed (qemu is killed).
# OUTDIR/qemu.cmd holds the command line, quoted for sh.
vmq_run() {
  _vmq_outdir=$1 _vmq_limit=$2 _vmq_kernel=$3 _vmq_initrd=$4 _vmq_append=$5
  shift 5
  mkdir -p "$_vmq_outdir" || return 1
  : >"$_vmq_outdir/console.log"
  : >"$_vmq_outdir/serial1.out"
  set -- -machine "${VMQ_MACHINE:-q35}" -accel tcg -m "${VMQ_MEM:-1024}" \
    -smp "${VMQ_SMP:-2}" ${VMQ_CPU:+-cpu "$VMQ_CPU"} -nodefaults -no-reboot \
    -display none -monitor none \
    -serial "file:$_vmq_outdir/console.log" -serial "file:$_vmq_outdir/serial1.out" \
    -kernel "$_vmq_kernel" ${_vmq_initrd:+-initrd "$_vmq_initrd"} -append "$_vmq_append" "$@"
  _vmq_qemu=${VMQ_QEMU:-qemu-system-x86_64}
  {
    printf '%s' "$_vmq_qemu"
    for _vmq_a in "$@"; do printf " '%s'" "$(printf '%s' "$_vmq_a" | sed "s/'/'\\\\''/g")"; done
    echo
  } >"$_vmq_outdir/qemu.cmd"
  _vmq_rc=0
  timeout -k 5 "$_vmq_limit" "$_vmq_qemu" "$@" </dev/null >"$_vmq_outdir/qemu.log" 2>&1 || _vmq_rc=$?
  if [ "$_vmq_rc" = 124 ]; then echo "vmq: qemu timed out after ${_vmq_limit}s (see $_vmq_outdir)" >&2; fi
  return "$_vmq_rc"
}

# vmq_serial_extract FILE NAME OUT
# Writes to OUT the block NAME that the guest sent with vmq_send (base64 between markers)
# and checks its SHA-256. Fails when the block is missing, cut short or corrupt.
vmq_serial_extract() {
  _vmq_file=$1 _vmq_name=$2 _vmq_out=$3
  tr -d '\r' <"$_vmq_file" | sed -n "/^==VMQ-BEGIN $_vmq_name==\$/,/^==VMQ-END $_vmq_name /p" >"$_vmq_out.b64"
  _vmq_want=$(sed -n "s/^==VMQ-END $_vmq_name \([0-9a-f]*\)==\$/\1/p" "$_vmq_out.b64")
  [ -n "$_vmq_want" ] || { rm -f "$_vmq_out.b64"; vmq_die "no complete block '$_vmq_name' in $_vmq_file"; return 1; }
  sed '1d;$d' "$_vmq_out.b64" | base64 -d >"$_vmq_out" || { rm -f "$_vmq_out.b64"; return 1; }
  rm -f "$_vmq_out.b64"
  _vmq_got=$(sha256sum "$_vmq_out" | cut -d' ' -f1)
  [ "$_vmq_got" = "$_vmq_want" ] || { vmq_die "block '$_vmq_name' corrupt (sha256 $_vmq_got, guest said $_vmq_want)"; return 1; }
}
