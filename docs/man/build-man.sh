#!/bin/sh
# Builds one man page: scdoc SOURCE -> OUT (roff) and OUT.gz (gzip -9n, for installing).
# scdoc turns hyphenation off before .TH, which re-enables it; turn it off after .TH so that
# finding ids such as vfio.binding.0000:01:00.0 are never broken across lines.
# Usage: build-man.sh SCDOC SOURCE OUT
set -eu
scdoc=$1 src=$2 out=$3
mkdir -p "$(dirname "$out")"
"$scdoc" <"$src" >"$out.tmp"
sed '/^\.TH /a .nh' "$out.tmp" >"$out"
rm -f "$out.tmp"
gzip -9n -c "$out" >"$out.gz"
