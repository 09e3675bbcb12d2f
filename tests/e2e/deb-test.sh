#!/bin/sh
# The Debian package, built as ./build.sh deb builds it and installed into a clean Debian 12:
#  - the build: a tree configured with CMAKE_INSTALL_PREFIX=/usr, CPack's DEB generator with
#    dpkg-shlibdeps;
#  - Depends names the package of every library the binaries need (objdump NEEDED -> dpkg -S),
#    plus libkmod2 (dlopen) and jq (vmcheck-boot);
#  - installed with apt into a copy of the cached minbase chroot of the boot tests
#    (make-chroot.sh; the copy shares /usr by hard links, /etc /var /boot are copied, the
#    cache is never written), which pulls the Depends from the Debian mirror: the files land
#    where Debian and the initramfs generators look, vmcheck --version and vmsetup --version
#    run there, and with an address listed in /etc/vmprep/vfio-bind.conf `vmcheck --only
#    vfio` finds the early-binding hook installed for initramfs-tools and dracut
#    (vfio.bind-hook pass; fail before the package is installed);
#  - dpkg -r removes every file it installed.
# Usage: deb-test.sh SOURCE_DIR WORK_DIR (WORK_DIR keeps the package build between runs)
set -eu
src=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in dpkg-shlibdeps dpkg-deb objdump file debootstrap; do
  command -v $tool >/dev/null || fail "$tool missing (apt-get install dpkg-dev binutils file debootstrap)"
done
[ "$(id -u)" = 0 ] || fail "needs root (chroot, apt in the chroot)"

t0=$(date +%s)
bdir=$work/deb-build
mkdir -p "$bdir"
"$src/build.sh" deb "$bdir" >"$work/deb-build.log" 2>&1 || { tail -n 40 "$work/deb-build.log"; fail "package build"; }
deb=$(ls "$bdir"/vmprep_*_amd64.deb)
t1=$(date +%s)
echo "built $(basename "$deb") in $((t1 - t0))s"

# Depends: every NEEDED library's package, and what dlopen and the scripts use.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for bin in "$bdir/vmcheck" "$bdir/vmsetup"; do
  for lib in $(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}'); do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')
    [ -n "$path" ] || fail "$lib (needed by $bin) not found by ldconfig"
    # dpkg knows a file by the path its package ships (/lib or /usr/lib with merged /usr).
    real=$(readlink -f "$path")
    pkg=""
    for p in "$path" "$real" "${path#/usr}" "${real#/usr}" "/usr${path#/usr}" "/usr${real#/usr}"; do
      pkg=$(dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1)
      [ -z "$pkg" ] || break
    done
    [ -n "$pkg" ] || fail "no Debian package ships $lib ($real)"
    case ", $depends," in
      *", $pkg "* | *", $pkg,"* | *" $pkg ("* | "$pkg "*) ;;
      *) fail "Depends lacks $pkg, the package of $lib that $(basename "$bin") links" ;;
    esac
  done
done
for pkg in libkmod2 jq; do
  case ", $depends," in *", $pkg,"* | *", $pkg "*) ;; *) fail "Depends lacks $pkg" ;; esac
done

# A fresh Debian 12 from the cache, copied without touching it.
base=$(sh "$here/make-chroot.sh")
root=$(mktemp -d "${VMPREP_CACHE:-/var/cache/vmprep-tests}/deb-test.XXXXXX")
cleanup() { rm -rf "$root"; }
trap cleanup EXIT
rmdir "$root"
cp -al "$base" "$root" 2>/dev/null || cp -a "$base" "$root"
for d in etc var boot; do
  rm -rf "${root:?}/$d"
  cp -a "$base/$d" "$root/$d"
done
rm -f "$root/etc/resolv.conf"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/vmprep.deb"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }

# Before the package: the hook is missing for both generators of this Debian (the built
# vmcheck judging the chroot as its config root).
mkdir -p "$root/etc/vmprep"
printf '# deb-test\n0000:01:00.0 8086:10d3\n' >"$root/etc/vmprep/vfio-bind.conf"
outside_verdict() {
  "$bdir/vmcheck" --runtime-root / --config-root "$root" --only vfio --json >"$work/outside.json" ||
    [ $? -le 2 ] || fail "vmcheck --config-root on the chroot"
  jq -r '.findings[] | select(.id == "vfio.bind-hook") | .severity' "$work/outside.json"
}
before=$(outside_verdict)
[ "$before" = fail ] || fail "vfio.bind-hook is '$before' before the package is installed, want fail"

in_root apt-get update -q >"$work/apt.log" 2>&1 || { tail -n 20 "$work/apt.log"; fail "apt-get update in the chroot"; }
in_root apt-get install -y -q --no-install-recommends /tmp/vmprep.deb >>"$work/apt.log" 2>&1 ||
  { tail -n 30 "$work/apt.log"; fail "apt-get install vmprep.deb into a clean Debian 12"; }
grep -E '^(Setting up|Processing triggers)' "$work/apt.log" || true
in_root dpkg -s vmprep | grep -q '^Status: install ok installed$' || fail "vmprep not installed"
in_root dpkg --audit >"$work/audit" 2>&1 || { cat "$work/audit"; fail "dpkg --audit"; }
[ ! -s "$work/audit" ] || { cat "$work/audit"; fail "dpkg --audit reports problems"; }
t2=$(date +%s)
echo "installed with its Depends in $((t2 - t1))s"

# Where Debian and the generators look.
in_root dpkg -L vmprep >"$work/files"
for f in /usr/bin/vmcheck /usr/sbin/vmsetup \
  /usr/share/man/man8/vmcheck.8.gz /usr/share/man/man8/vmsetup.8.gz /usr/share/man/man5/vmprep-report.5.gz \
  /usr/share/bash-completion/completions/vmcheck /usr/share/bash-completion/completions/vmsetup \
  /usr/share/zsh/vendor-completions/_vmcheck /usr/share/fish/vendor_completions.d/vmcheck.fish \
  /usr/share/initramfs-tools/hooks/vmprep-vfio /usr/share/initramfs-tools/scripts/init-top/00vmprep-vfio \
  /usr/lib/dracut/modules.d/90vmprep-vfio/module-setup.sh /usr/lib/dracut/modules.d/90vmprep-vfio/vmprep-vfio.sh \
  /usr/lib/initcpio/install/vmprep-vfio /usr/lib/initcpio/hooks/vmprep-vfio /usr/lib/vmprep/vfio-bind.sh \
  /usr/lib/systemd/system/vmcheck-boot.service /usr/lib/systemd/system/vmcheck-metrics.timer \
  /usr/libexec/vmprep/vmcheck-boot /usr/share/vmprep/schema/vmprep.report-1.schema.json \
  /usr/lib/vmprep/ansible/vmprep.fact /usr/share/doc/vmprep/copyright \
  /usr/share/cockpit/vmprep/manifest.json /usr/share/cockpit/vmprep/vmprep.js; do
  grep -qx "$f" "$work/files" || fail "$f is not in the package"
  [ -f "$root$f" ] || fail "$f not installed"
done
if grep -q '^/usr/local' "$work/files"; then fail "the package installs under /usr/local"; fi
grep -q '^ExecStart=/usr/libexec/vmprep/vmcheck-boot$' "$root/usr/lib/systemd/system/vmcheck-boot.service" ||
  fail "vmcheck-boot.service does not run /usr/libexec/vmprep/vmcheck-boot"
grep -q '/usr/bin/vmcheck' "$root/usr/libexec/vmprep/vmcheck-boot" || fail "vmcheck-boot does not run /usr/bin/vmcheck"

in_root vmcheck --version | grep -qx "vmcheck [0-9.]*" || fail "vmcheck --version in the chroot"
in_root vmsetup --version | grep -qx "vmsetup [0-9.]*" || fail "vmsetup --version in the chroot"
echo "in the chroot: $(in_root vmcheck --version), $(in_root vmsetup --version)"

# The early-binding hook: vmcheck finds it for every generator of this Debian.
hook_verdict() {
  in_root vmcheck --only vfio --json >"$work/vfio.json" || [ $? -le 2 ] || fail "vmcheck --only vfio in the chroot"
  jq -r '.findings[] | select(.id == "vfio.bind-hook") | "\(.severity) \(.summary)"' "$work/vfio.json"
}
verdict=$(hook_verdict)
echo "vfio.bind-hook: $verdict"
case $verdict in pass*) ;; *) fail "vfio.bind-hook is not pass after installing the package" ;; esac

# Remove: every file is gone, and the hook is reported missing again.
in_root dpkg -r vmprep >>"$work/apt.log" 2>&1 || { tail -n 20 "$work/apt.log"; fail "dpkg -r vmprep"; }
while read -r f; do
  [ -d "$root$f" ] || [ ! -e "$root$f" ] || fail "$f left behind by dpkg -r"
done <"$work/files"
[ ! -e "$root/usr/bin/vmcheck" ] || fail "vmcheck left behind"
after=$(outside_verdict)
[ "$after" = fail ] || fail "vfio.bind-hook is '$after' after dpkg -r, want fail"
t3=$(date +%s)
echo "deb: builds, installs with its Depends into a clean Debian 12, runs, finds its hook, removes cleanly ($((t3 - t0))s)"
