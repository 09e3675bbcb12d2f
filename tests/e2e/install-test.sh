#!/bin/sh
# `cmake --install` puts the binaries, the early-binding hooks of all three initramfs
# generators, the systemd units, man pages, completions, schemas and the Ansible fact where
# the tools look for them, and the installed vmcheck runs. Usage: install-test.sh BUILD_DIR PREFIX UNITDIR (as configured)
set -eu
build=$1 prefix=$2 unitdir=$3
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
DESTDIR=$root cmake --install "$build" >"$root.log" 2>&1 || { cat "$root.log"; exit 1; }
rm -f "$root.log"
status=0
for f in "$prefix/bin/vmcheck" "$prefix/sbin/vmsetup" /usr/lib/vmprep/vfio-bind.sh \
  /usr/share/initramfs-tools/hooks/vmprep-vfio /usr/share/initramfs-tools/scripts/init-top/00vmprep-vfio \
  /usr/lib/dracut/modules.d/90vmprep-vfio/module-setup.sh /usr/lib/dracut/modules.d/90vmprep-vfio/vmprep-vfio.sh \
  /usr/lib/initcpio/install/vmprep-vfio /usr/lib/initcpio/hooks/vmprep-vfio \
  "$unitdir/vmcheck-boot.service" "$unitdir/vmprep-hugepages@.service" \
  "$unitdir/vmcheck-metrics.service" "$unitdir/vmcheck-metrics.timer" \
  "$prefix/share/man/man8/vmcheck.8.gz" "$prefix/share/man/man8/vmsetup.8.gz" \
  "$prefix/share/man/man5/vmprep-report.5.gz" \
  "$prefix/share/bash-completion/completions/vmcheck" "$prefix/share/bash-completion/completions/vmsetup" \
  "$prefix/share/zsh/vendor-completions/_vmcheck" "$prefix/share/zsh/vendor-completions/_vmsetup" \
  "$prefix/share/fish/vendor_completions.d/vmcheck.fish" "$prefix/share/fish/vendor_completions.d/vmsetup.fish" \
  "$prefix/share/vmprep/schema/vmprep.report-1.schema.json" "$prefix/lib/vmprep/ansible/vmprep.fact" \
  "$prefix/share/cockpit/vmprep/manifest.json" "$prefix/share/cockpit/vmprep/vmprep.js" \
  "$prefix/share/doc/vmprep/README.md"; do
  [ -f "$root$f" ] || { echo "not installed: $f"; status=1; }
done
"$root$prefix/bin/vmcheck" --version | grep -q '^vmcheck ' || { echo "installed vmcheck does not run"; status=1; }
"$root$prefix/sbin/vmsetup" --version | grep -q '^vmsetup ' || { echo "installed vmsetup does not run"; status=1; }
[ $status -eq 0 ] && echo "install: every file in place"
exit $status
