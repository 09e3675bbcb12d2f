# shellcheck shell=sh
# vmprep early vfio-pci binding: the one mechanism behind the mkinitcpio, dracut and
# initramfs-tools front ends. Sourced, never executed: dracut and mkinitcpio source their hooks
# into PID 1's shell, so this file only defines functions and must not call exit.
#
# Uses shell builtins plus modprobe only, so it runs under busybox ash, dash and klibc sh.
# Variables are prefixed (no `local` in POSIX sh) to stay out of the init shell's way.
#
# Overridable for tests: VMPREP_SYSFS (default /sys), VMPREP_VFIO_CONF
# (default /etc/vmprep/vfio-bind.conf), VMPREP_KMSG (default /dev/kmsg),
# VMPREP_MODPROBE (default modprobe).

vmprep_vfio_log() {
  _vv_kmsg=${VMPREP_KMSG:-/dev/kmsg}
  # <5> = notice: shown on the console unless `quiet`, always in dmesg.
  if ! { echo "<5>vmprep-vfio: $*" >"$_vv_kmsg"; } 2>/dev/null; then
    echo "vmprep-vfio: $*" >&2
  fi
}

# Prints the name of the driver bound to the device directory $1, or nothing.
vmprep_vfio_driver() {
  [ -e "$1/driver" ] || return 0
  _vv_d=$(cd -P "$1/driver" 2>/dev/null && pwd) || return 0
  echo "${_vv_d##*/}"
}

# Reads a one-line sysfs attribute ($1) into _vv_val; empty when unreadable.
vmprep_vfio_read() {
  _vv_val=
  [ -r "$1" ] || return 1
  read -r _vv_val <"$1" || [ -n "$_vv_val" ]
}

vmprep_vfio_bind() {
  _vv_sys=${VMPREP_SYSFS:-/sys}
  _vv_conf=${VMPREP_VFIO_CONF:-/etc/vmprep/vfio-bind.conf}
  _vv_rc=0
  _vv_todo=

  if [ ! -r "$_vv_conf" ]; then
    vmprep_vfio_log "no $_vv_conf; nothing to bind"
    return 0
  fi

  set -- "$_vv_sys"/kernel/iommu_groups/*
  if [ ! -e "$1" ]; then
    vmprep_vfio_log "IOMMU is off ($_vv_sys/kernel/iommu_groups is empty); not binding anything (enable VT-d or AMD-Vi in the firmware setup, and add intel_iommu=on on Intel)"
    return 0
  fi

  while read -r _vv_addr _vv_want _vv_rest || [ -n "$_vv_addr" ]; do
    case $_vv_addr in '' | '#'*) continue ;; esac
    case $_vv_addr in *:*:*.*) ;; *:*.*) _vv_addr=0000:$_vv_addr ;; esac
    _vv_dev=$_vv_sys/bus/pci/devices/$_vv_addr
    if [ -z "$_vv_want" ] || [ -n "$_vv_rest" ]; then
      vmprep_vfio_log "$_vv_addr: bad line in $_vv_conf (want: ADDRESS VENDOR:DEVICE); skipped"
      _vv_rc=1
      continue
    fi
    if [ ! -d "$_vv_dev" ]; then
      vmprep_vfio_log "$_vv_addr: no such PCI device; skipped"
      _vv_rc=1
      continue
    fi
    vmprep_vfio_read "$_vv_dev/vendor"
    _vv_ven=${_vv_val#0x}
    vmprep_vfio_read "$_vv_dev/device"
    _vv_have=$_vv_ven:${_vv_val#0x}
    if [ "$_vv_have" != "$_vv_want" ]; then
      # A card moved to another slot must not bind whatever now sits at the address.
      vmprep_vfio_log "$_vv_addr: holds $_vv_have, expected $_vv_want; not binding (device moved? run vmsetup again)"
      _vv_rc=1
      continue
    fi
    if [ ! -d "$_vv_dev/iommu_group/devices" ]; then
      vmprep_vfio_log "$_vv_addr: has no IOMMU group; not binding"
      _vv_rc=1
      continue
    fi
    vmprep_vfio_log "$_vv_addr: $_vv_have matches; binding its IOMMU group"
    for _vv_f in "$_vv_dev"/iommu_group/devices/*; do
      _vv_fa=${_vv_f##*/}
      vmprep_vfio_read "$_vv_f/class"
      case $_vv_val in
        0x06*)
          # Bridges stay with their host driver (pcieport); vfio-pci refuses them anyway.
          vmprep_vfio_log "$_vv_fa: bridge ($_vv_val) in the group; left on the host"
          continue
          ;;
      esac
      case " $_vv_todo " in *" $_vv_fa "*) continue ;; esac
      _vv_todo="$_vv_todo $_vv_fa"
    done
  done <"$_vv_conf"

  if [ -z "$_vv_todo" ]; then
    vmprep_vfio_log "nothing to bind"
    return "$_vv_rc"
  fi

  for _vv_fa in $_vv_todo; do
    _vv_f=$_vv_sys/bus/pci/devices/$_vv_fa
    if ! { echo vfio-pci >"$_vv_f/driver_override"; } 2>/dev/null; then
      vmprep_vfio_log "$_vv_fa: cannot write driver_override"
      _vv_rc=1
      continue
    fi
    vmprep_vfio_log "$_vv_fa: driver_override=vfio-pci"
    _vv_drv=$(vmprep_vfio_driver "$_vv_f")
    if [ -n "$_vv_drv" ] && [ "$_vv_drv" != vfio-pci ]; then
      if { echo "$_vv_fa" >"$_vv_f/driver/unbind"; } 2>/dev/null; then
        vmprep_vfio_log "$_vv_fa: unbound from $_vv_drv"
      else
        vmprep_vfio_log "$_vv_fa: failed to unbind from $_vv_drv"
        _vv_rc=1
      fi
    fi
  done

  if ${VMPREP_MODPROBE:-modprobe} vfio-pci 2>/dev/null; then
    vmprep_vfio_log "loaded vfio-pci"
  else
    vmprep_vfio_log "modprobe vfio-pci failed; devices stay unbound"
    return 1
  fi

  for _vv_fa in $_vv_todo; do
    _vv_f=$_vv_sys/bus/pci/devices/$_vv_fa
    # Loading vfio-pci already binds overridden devices; probing again covers a built-in
    # or previously loaded vfio-pci.
    [ -n "$(vmprep_vfio_driver "$_vv_f")" ] ||
      { echo "$_vv_fa" >"$_vv_sys/bus/pci/drivers_probe"; } 2>/dev/null
    _vv_drv=$(vmprep_vfio_driver "$_vv_f")
    if [ "$_vv_drv" = vfio-pci ]; then
      vmprep_vfio_log "$_vv_fa: bound to vfio-pci"
    else
      vmprep_vfio_log "$_vv_fa: not bound to vfio-pci (driver: ${_vv_drv:-none})"
      _vv_rc=1
    fi
  done
  return "$_vv_rc"
}
