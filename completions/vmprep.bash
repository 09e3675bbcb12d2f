# shellcheck shell=bash
# Bash completion for vmcheck and vmsetup (vmprep), loaded by bash-completion; installed as
# both completions/vmcheck and completions/vmsetup. Completes check names, finding ids,
# PCI addresses, --enable items, transaction ids, formats and paths. Lists that depend on the
# machine come from the commands themselves, pointed at the --root / --runtime-root /
# --config-root already typed on the command line.

# The root options typed so far, to pass on: sets _vmprep_root_args and _vmprep_runtime.
_vmprep_roots() {
  local i
  _vmprep_root_args=()
  _vmprep_runtime=/
  _vmprep_config=/
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      --root | --runtime-root | --config-root)
        _vmprep_root_args+=("${words[i]}" "${words[i + 1]}")
        [[ ${words[i]} == --config-root ]] || _vmprep_runtime=${words[i + 1]}
        [[ ${words[i]} == --runtime-root ]] || _vmprep_config=${words[i + 1]}
        ;;
      --root=* | --runtime-root=* | --config-root=*)
        _vmprep_root_args+=("${words[i]}")
        [[ ${words[i]} == --config-root=* ]] || _vmprep_runtime=${words[i]#*=}
        [[ ${words[i]} == --runtime-root=* ]] || _vmprep_config=${words[i]#*=}
        ;;
    esac
  done
}

# PCI addresses of the runtime root, as the kernel names them (0000:01:00.0).
_vmprep_pci_addresses() {
  local d
  for d in "${_vmprep_runtime%/}"/sys/bus/pci/devices/*; do
    [[ -e $d ]] && printf '%s\n' "${d##*/}"
  done
}

# Finding ids that vmcheck reports on this machine (or the roots given).
_vmprep_finding_ids() {
  vmcheck "${_vmprep_root_args[@]}" --json 2>/dev/null |
    sed -n 's/^ *"id": "\([^"]*\)",\{0,1\}$/\1/p'
}

# The libvirt domains defined in the (typed) config root: /etc/libvirt/qemu/NAME.xml.
_vmprep_domains() {
  local f
  for f in "${_vmprep_config%/}"/etc/libvirt/qemu/*.xml; do
    [[ -f $f ]] && f=${f##*/} && printf '%s\n' "${f%.xml}"
  done
}

_vmprep_reply() {
  mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
  __ltrim_colon_completions "$cur"
}

_vmcheck() {
  # shellcheck disable=SC2034 # split: set by _init_completion -s (--opt=value)
  local cur prev words cword split
  _init_completion -s -n : || return
  _vmprep_roots
  case $prev in
    --only)
      _vmprep_reply "$(vmcheck --list 2>/dev/null | awk '{print $1}')"
      return
      ;;
    --device) _vmprep_reply "$(_vmprep_pci_addresses)"; return ;;
    --accept) _vmprep_reply "$(_vmprep_finding_ids)"; return ;;
    --format) _vmprep_reply "text json prometheus nagios"; return ;;
    --root | --runtime-root | --config-root) _filedir -d; return ;;
    -o | --output) _filedir; return ;;
    --user) mapfile -t COMPREPLY < <(compgen -u -- "$cur"); return ;;
    --vm) _vmprep_reply "$(_vmprep_domains)"; _filedir xml; return ;;
  esac
  if [[ $cur == -* ]]; then
    _vmprep_reply "--json --format --output --quiet --only --device --accept --guest --user
      --vm --root --runtime-root --config-root --list --version --help"
    return
  fi
  local w
  for w in "${words[@]:1:cword-1}"; do
    [[ $w == groups ]] && return
    if [[ $w == vm ]]; then
      _vmprep_reply "$(_vmprep_domains)"
      _filedir xml
      return
    fi
  done
  _vmprep_reply "groups vm"
}

_vmsetup() {
  # shellcheck disable=SC2034 # split: set by _init_completion -s (--opt=value)
  local cur prev words cword split
  _init_completion -s -n : || return
  _vmprep_roots
  local cmd="" i
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      plan | apply | undo | history | fixers | wizard) cmd=${words[i]}; break ;;
    esac
  done
  case $prev in
    --device) _vmprep_reply "$(_vmprep_pci_addresses)"; return ;;
    --enable)
      # A comma list: complete the item after the last comma.
      local done=${cur%"${cur##*,}"} item
      local items="iommu iommu-pt vfio vhost_net hugepages=2M: hugepages=1G: xorg bridge= qemu-user= access= kvmfr= libvirt"
      COMPREPLY=()
      for item in $items; do
        [[ $done$item == "$cur"* ]] && COMPREPLY+=("$done$item")
      done
      [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *[=:] ]] && compopt -o nospace
      __ltrim_colon_completions "$cur"
      return
      ;;
    --root | --runtime-root | --config-root) _filedir -d; return ;;
  esac
  if [[ $cur == -* ]]; then
    case $cmd in
      plan) _vmprep_reply "--device --enable --json --root --runtime-root --config-root" ;;
      apply) _vmprep_reply "--device --enable --yes --json --no-regenerate --root --runtime-root
        --config-root" ;;
      undo) _vmprep_reply "--json --no-regenerate --root --runtime-root --config-root" ;;
      history) _vmprep_reply "--json --root --runtime-root --config-root" ;;
      fixers) _vmprep_reply "--help" ;;
      wizard) _vmprep_reply "--no-regenerate --root --runtime-root --config-root" ;;
      *) _vmprep_reply "--help --version" ;;
    esac
    return
  fi
  case $cmd in
    "") _vmprep_reply "plan apply undo history fixers wizard" ;;
    undo)
      _vmprep_reply "$(vmsetup history "${_vmprep_root_args[@]}" --json 2>/dev/null |
        sed -n 's/^ *"id": "\([^"]*\)",\{0,1\}$/\1/p')"
      ;;
  esac
}

complete -F _vmcheck vmcheck
complete -F _vmsetup vmsetup
