#!/bin/sh
# The Ansible local fact under a real `ansible -m setup -c local localhost` (ansible-core from
# Debian): with the fact in fact_path, ansible_local.vmprep is the vmcheck report of the
# machine, equal to vmcheck --json run directly, and valid against vmprep.report/1; on this
# host as it is, and on a captured machine through VMCHECK_ARGS. A vmcheck that cannot run
# makes the fact fail, which Ansible records as the fact's value.
# Usage: ansible-fact-test.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1 build=$2
command -v ansible >/dev/null || { echo "FAIL: ansible missing (apt-get install ansible-core)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/facts" "$tmp/home"
cp "$build/ansible/vmprep.fact" "$tmp/facts/vmprep.fact"
chmod 755 "$tmp/facts/vmprep.fact"
tar -C "$tmp" -xJf "$src/tests/sysroots/vfio-bound.tar.xz"
export VMCHECK="$build/vmcheck" HOME="$tmp/home" ANSIBLE_LOCAL_TEMP="$tmp/home/.ansible/tmp"
# ansible-core's minimal callback: "localhost | SUCCESS => {JSON result}".
export ANSIBLE_STDOUT_CALLBACK=minimal ANSIBLE_NOCOLOR=1
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0

gather() {  # -> $tmp/$1.json: the result of the setup module
  ansible localhost -c local -m setup \
    -a "fact_path=$tmp/facts gather_subset=!all,!min,local filter=ansible_local" >"$tmp/$1.out" 2>"$tmp/$1.err" ||
    { cat "$tmp/$1.out" "$tmp/$1.err"; echo "FAIL: ansible -m setup ($1)"; exit 1; }
  sed -n '1s/^localhost | SUCCESS => //p; 2,$p' "$tmp/$1.out" >"$tmp/$1.json"
}
status=0
compare() {  # NAME ARGS: the fact equals vmcheck --json ARGS and validates
  /usr/bin/python3 - "$src" "$tmp/$1.json" "$tmp/$1.direct.json" "$1" <<'PY' || status=1
import json, os, sys
import jsonschema
src, result, direct, name = sys.argv[1:]
host = json.load(open(result))
fact = host["ansible_facts"]["ansible_local"]["vmprep"]
schema = json.load(open(os.path.join(src, "docs/schema/vmprep.report-1.schema.json")))
jsonschema.Draft202012Validator(schema).validate(fact)
want = json.load(open(direct))
strip = lambda r: [(f["id"], f["severity"], f["summary"]) for f in r["findings"]]
if strip(fact) != strip(want) or fact["summary"] != want["summary"]:
    print("FAIL: %s: the fact differs from vmcheck --json" % name)
    sys.exit(1)
print("ok %s: ansible_local.vmprep has %d findings, worst %s" %
      (name, len(fact["findings"]), fact["summary"]["worst"]))
PY
}

# This machine, as a managed host would run it.
unset VMCHECK_ARGS
gather live
"$VMCHECK" --json >"$tmp/live.direct.json" || [ $? -le 2 ]
compare live

# A captured machine, through VMCHECK_ARGS.
VMCHECK_ARGS="--runtime-root $tmp/runtime --config-root $tmp/config"
export VMCHECK_ARGS
gather captured
# shellcheck disable=SC2086
"$VMCHECK" $VMCHECK_ARGS --json >"$tmp/captured.direct.json" || [ $? -le 2 ]
compare captured

# vmcheck cannot run: the fact fails and Ansible says so in its value.
VMCHECK_ARGS="--root /nonexistent/vmprep"
gather broken
/usr/bin/python3 - "$tmp/broken.json" <<'PY' || status=1
import json, sys
host = json.load(open(sys.argv[1]))
value = host["ansible_facts"]["ansible_local"]["vmprep"]
if not (isinstance(value, str) and "Failure executing fact script" in value and
        "could not run (exit 3)" in value):
    print("FAIL: a vmcheck that cannot run gives ansible_local.vmprep = %r" % (value,))
    sys.exit(1)
print("ok broken: ansible_local.vmprep = %r" % value[:100])
PY
exit $status
