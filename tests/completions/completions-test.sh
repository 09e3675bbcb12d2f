#!/bin/sh
# The bash, zsh and fish completions, run by the real shells (bash-completion's machinery,
# zsh's compinit in a pseudo-terminal, fish's `complete -C`) against the built vmcheck and
# vmsetup and a captured machine: formats, check names, finding ids and PCI addresses of the
# root typed on the line, vmsetup commands, --enable items and transaction ids.
# Usage: completions-test.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1 build=$2
here=$src/tests/completions
comp=$src/completions
for tool in bash zsh fish shellcheck; do
  command -v $tool >/dev/null || { echo "FAIL: $tool missing (apt-get install $tool)"; exit 1; }
done
[ -f /usr/share/bash-completion/bash_completion ] ||
  { echo "FAIL: bash-completion missing (apt-get install bash-completion)"; exit 1; }
shellcheck -s bash "$comp/vmprep.bash" "$here/bash-complete.bash"
zsh -n "$comp/_vmcheck"
zsh -n "$comp/_vmsetup"
fish --no-execute "$comp/vmcheck.fish"
fish --no-execute "$comp/vmsetup.fish"
for f in "$comp"/fish-functions/*.fish; do fish --no-execute "$f"; done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -C "$tmp" -xJf "$src/tests/sysroots/intel-iommu.tar.xz"
rt=$tmp/runtime cf=$tmp/config
PATH=$build:$PATH
export PATH
# One transaction to complete for undo.
vmsetup apply --yes --json --enable vhost_net --runtime-root "$rt" --config-root "$cf" >"$tmp/apply.json"
txn=$(sed -n 's/^ *"transaction": "\([^"]*\)",*$/\1/p' "$tmp/apply.json")
[ -n "$txn" ] || { cat "$tmp/apply.json"; echo "FAIL: no transaction to complete"; exit 1; }

status=0
n=0
# check SHELL LINE EXPECTED...: the candidates for LINE must be exactly EXPECTED.
check() {
  sh_name=$1 line=$2
  shift 2
  case $sh_name in
    bash) got=$(bash "$here/bash-complete.bash" "$comp/vmprep.bash" "$line") ;;
    zsh) got=$(timeout 30 zsh "$here/zsh-complete.zsh" "$comp" "$line") ;;
    fish)
      # Autoloaded as installed: completions by command name, shared functions on their own.
      got=$(fish -c "set -p fish_complete_path $comp; set -p fish_function_path $comp/fish-functions
        complete -C '$line'" |
        cut -f1 | sort -u)
      ;;
  esac
  want=$(printf '%s\n' "$@" | sort -u)
  n=$((n + 1))
  if [ "$got" != "$want" ]; then
    echo "FAIL $sh_name: '$line'"
    echo "  want: $(echo "$want" | tr '\n' ' ')"
    echo "  got:  $(echo "$got" | tr '\n' ' ')"
    status=1
  fi
}

roots="--runtime-root $rt --config-root $cf"
for s in bash zsh fish; do
  check $s "vmcheck --format " text json prometheus nagios
  check $s "vmcheck --only i" iommu isolation
  check $s "vmcheck gr" groups
  check $s "vmcheck v" vm
  check $s "vmcheck $roots --accept vhost" vhost_net.module vhost_net.device vhost_net.boot
  check $s "vmcheck $roots --accept qemu." qemu.system qemu.ovmf qemu.tun
  check $s "vmsetup " plan apply undo history fixers wizard
  check $s "vmsetup wizard --no" --no-regenerate
  check $s "vmsetup $roots undo " "$txn"
done
# Every --enable item vmsetup knows (its own list, from the error for an unknown item) is
# offered by every shell: a new fixer cannot be left out of the completions.
known=$(vmsetup plan --enable vmprep-no-such-item 2>&1 | sed -n 's/.*(known: \(.*\)).*/\1/p' |
  tr ',' '\n' | sed 's/^ *//; s/[=[].*//')
[ -n "$known" ] || { echo "FAIL: vmsetup names no known --enable items"; exit 1; }
for key in $known; do
  for s in bash zsh fish; do
    case $s in
      bash) got=$(bash "$here/bash-complete.bash" "$comp/vmprep.bash" "vmsetup apply --enable $key") ;;
      zsh) got=$(timeout 30 zsh "$here/zsh-complete.zsh" "$comp" "vmsetup apply --enable $key") ;;
      fish)
        got=$(fish -c "set -p fish_complete_path $comp; set -p fish_function_path $comp/fish-functions
          complete -C 'vmsetup apply --enable $key'" | cut -f1)
        ;;
    esac
    n=$((n + 1))
    if ! printf '%s\n' "$got" | grep -Eq "^$key(=|\$|:)"; then
      echo "FAIL $s: --enable $key is not offered (got: $(echo "$got" | tr '\n' ' '))"
      status=1
    fi
  done
done
# A PCI address holds ':', a word break for bash: bash-completion leaves the typed part.
check bash "vmcheck --root $rt --device 0000:05" 05:01.0 05:02.0
check bash "vmcheck --format=p" prometheus
check bash "vmsetup apply --enable iommu,vh" iommu,vhost_net
check fish "vmsetup apply --enable iommu,vh" iommu,vhost_net
# zsh keeps what is typed before the comma and completes the item after it.
check zsh "vmsetup apply --enable iommu,vh" vhost_net
check zsh "vmcheck --root $rt --device 0000:05" 0000:05:01.0 0000:05:02.0
check zsh "vmcheck --format=p" prometheus
check zsh "vmsetup --root $rt apply --device 0000:05" 0000:05:01.0 0000:05:02.0
check fish "vmcheck --root $rt --device 0000:05" 0000:05:01.0 0000:05:02.0
check fish "vmsetup apply --root $rt --device 0000:05" 0000:05:01.0 0000:05:02.0
[ $status -eq 0 ] && echo "completions: $n command lines complete as expected in bash, zsh and fish"
exit $status
