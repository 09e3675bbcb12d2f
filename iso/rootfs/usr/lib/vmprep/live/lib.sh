# shellcheck shell=sh
# Shared by the live system's boot script and menu (sourced).

# The checks about this hardware; the others (guest firmware, what loads at boot) are about
# an installed system and are run on one by "Fix an installed system".
LIVE_CHECKS="--only kvm --only iommu --only isolation --only vfio"

# live_report [--json]: vmcheck's report for this machine; the text has a header naming the
# boot and a last line with vmcheck's exit status.
live_report() {
  if [ "${1:-}" = --json ]; then
    # shellcheck disable=SC2086 # option list
    vmcheck --json $LIVE_CHECKS
    return
  fi
  echo
  echo "vmprep live $(cat /etc/vmprep-version 2>/dev/null) on $(uname -r); kernel command line:"
  echo "  $(cat /proc/cmdline)"
  echo
  # shellcheck disable=SC2086 # option list
  NO_COLOR=1 vmcheck $LIVE_CHECKS
  echo "vmcheck exited with status $? (0 all pass, 1 warnings, 2 failures)"
}

# live_to_consoles: copies stdin to every console the kernel writes to.
live_to_consoles() {
  _targets=
  read -r _consoles </run/vmprep/consoles
  for _c in $_consoles; do _targets="$_targets /dev/$_c"; done
  # shellcheck disable=SC2086 # device list
  tee $_targets >/dev/null
}

# live_automatic_run: what vmprep.fix=, vmprep.save= and vmprep.then= ask for.
live_automatic_run() {
  # Virtual machines can pass options through QEMU's fw_cfg (opt/org.vmprep/options).
  modprobe -q qemu_fw_cfg 2>/dev/null
  if ! vmprep-live options >/run/vmprep/options 2>/run/vmprep/options.err; then
    return 0
  fi
  [ -s /run/vmprep/options.err ] && live_to_consoles </run/vmprep/options.err
  _fix='' _save='' _then='' _enable='' _enable_given='' _devices=
  while IFS= read -r _line; do
    case $_line in
      fix=*) _fix=${_line#fix=} ;;
      save=*) _save=${_line#save=} ;;
      then=*) _then=${_line#then=} ;;
      enable=*) _enable=${_line#enable=} _enable_given=1 ;;
      device=*) _devices="$_devices --device ${_line#device=}" ;;
    esac
  done </run/vmprep/options
  [ -n "$_fix$_save" ] || return 0
  _files="/run/vmprep/report.txt /run/vmprep/report.json"
  if [ -n "$_fix" ]; then
    echo "== vmprep.fix=$_fix: fixing that installed system without asking" | live_to_consoles
    vmprep-live wait "$_fix" 2>&1 | live_to_consoles
    set -- fix --root "$_fix" --yes --plan-json /run/vmprep/plan.json
    # shellcheck disable=SC2086 # "--device ADDR" pairs, checked by vmprep-live options
    set -- "$@" $_devices
    [ -n "$_enable_given" ] && set -- "$@" --enable "$_enable"
    {
      vmprep-live "$@" 2>&1
      echo "vmprep-live fix exited with status $?"
    } | tee /run/vmprep/fix.log | live_to_consoles
    _files="$_files /run/vmprep/fix.log"
    [ -f /run/vmprep/plan.json ] && _files="$_files /run/vmprep/plan.json"
  fi
  if [ -n "$_save" ]; then
    vmprep-live wait "$_save" 2>&1 | live_to_consoles
    # shellcheck disable=SC2086 # file list without spaces
    vmprep-live save --to "$_save" $_files 2>&1 | live_to_consoles
  fi
  case $_then in
    poweroff) echo "== vmprep.then=poweroff" | live_to_consoles; poweroff ;;
    reboot) echo "== vmprep.then=reboot" | live_to_consoles; reboot ;;
  esac
}
