#!/usr/bin/python3
"""Real output against the published JSON Schemas and the finding-id documentation.

For every captured machine (tests/sysroots/expected/*.txt names the machine and the
--device/--only/--guest it is run with): `vmcheck --json` must validate against
docs/schema/vmprep.report-1.schema.json, every finding id it emits must be documented in
docs/man/vmprep-report.5.scd (ids holding a PCI address are documented as patterns,
isolation.ADDRESS), and `vmcheck groups --json` must validate against vmprep.groups-1.
`vmsetup plan --json`, `apply --json`, `history --json` and `undo --json` on a copy of a
machine validate against theirs, and so does the Ansible fact's output.

Usage: validate_outputs.py SOURCE_DIR BUILD_DIR
Uses Debian's python3-jsonschema (Draft 2020-12).
"""
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

import jsonschema

SRC, BUILD = sys.argv[1], sys.argv[2]
VMCHECK = os.path.join(BUILD, "vmcheck")
VMSETUP = os.path.join(BUILD, "vmsetup")
SCHEMAS = os.path.join(SRC, "docs", "schema")
failures = []
checked = 0


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


def load_schemas():
    store = {}
    for name in os.listdir(SCHEMAS):
        with open(os.path.join(SCHEMAS, name)) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        store[schema["$id"]] = schema
        store[name] = schema
    return store


STORE = load_schemas()


def validate(document, schema_name, what):
    global checked
    schema = STORE[schema_name]
    resolver = jsonschema.RefResolver.from_schema(schema, store=STORE)
    validator = jsonschema.Draft202012Validator(schema, resolver=resolver)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    for e in errors[:5]:
        fail("%s: %s at %s" % (what, e.message, "/".join(str(p) for p in e.path)))
    checked += 1


def run(argv, codes=(0, 1, 2), env=None):
    r = subprocess.run(argv, capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})))
    if r.returncode not in codes:
        fail("%s exited %d: %s" % (" ".join(argv), r.returncode, r.stderr.strip()))
        return None
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError as e:
        fail("%s: not JSON (%s): %r" % (" ".join(argv), e, r.stdout[:200]))
        return None


# The documented ids: each definition term of the FINDINGS section, "*id*" at the start of
# a line ("*a*, *b*" lists several); "*isolation.*_ADDRESS_" is a pattern.
def documented_ids():
    with open(os.path.join(SRC, "docs", "man", "vmprep-report.5.scd")) as f:
        text = f.read()
    section = text[text.index("# FINDINGS"):text.index("# ACCEPT.CONF")]
    ids = set()
    for line in section.splitlines():
        if not line.startswith("*"):
            continue
        for term in line.split(", "):
            term = term.replace("\\_", "_")
            m = re.fullmatch(r"\*([a-z0-9_]+\.[A-Za-z0-9_.:-]*)\*(_VM_)?(\.?_ADDRESS_|\._USB_)?",
                             term.strip())
            if m and m.group(3) == "._USB_":
                ids.add(m.group(1) + "VM.USB")
            elif m:
                ids.add(m.group(1) + ("VM" if m.group(2) else "") +
                        ((".ADDRESS" if m.group(2) else "ADDRESS") if m.group(3) else ""))
    return ids


ADDRESS = re.compile(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")


def pattern_of(finding_id, vm_keys=()):
    m = ADDRESS.search(finding_id)
    if m:
        finding_id = finding_id[:m.start()] + "ADDRESS"
    # vm.RULE.VM[.ITEM]: the domain's key stands as VM.
    for key in vm_keys:
        parts = finding_id.split(".", 2)
        if parts[0] == "vm" and len(parts) == 3 and (parts[2] == key or
                                                     parts[2].startswith(key + ".")):
            item = parts[2][len(key):]
            # A USB hostdev's item (VENDOR:PRODUCT[@BUS.DEVICE] or BUS.DEVICE) is USB.
            return "vm.%s.VM%s" % (parts[1], ".USB" if parts[1] == "usb" and item else item)
    return finding_id


DOCUMENTED = documented_ids()
# A broken extraction must not pass silently: the page documents every check's ids.
if len(DOCUMENTED) < 30:
    fail("only %d finding ids found in vmprep-report.5.scd: %s" % (len(DOCUMENTED),
                                                                   sorted(DOCUMENTED)))
checks = {line.split()[0] for line in subprocess.run(
    [VMCHECK, "--list"], capture_output=True, text=True, check=True).stdout.splitlines()}
for doc_id in sorted(DOCUMENTED):
    if doc_id.split(".")[0] not in checks:
        fail("vmprep-report(5) documents %s, but vmcheck has no check %s" %
             (doc_id, doc_id.split(".")[0]))

expected_dir = os.path.join(SRC, "tests", "sysroots", "expected")
emitted = set()
machines = 0
for name in sorted(os.listdir(expected_dir)):
    if not name.endswith(".txt"):
        continue
    machine = name[:-4].split(".")[0]
    args = []
    with open(os.path.join(expected_dir, name)) as f:
        for line in f:
            if line.startswith("# devices:"):
                args += [a for d in line[10:].split() for a in ("--device", d)]
            elif line.startswith("# only:"):
                args += [a for c in line[7:].split() for a in ("--only", c)]
            elif line.strip() == "# guest":
                args.append("--guest")
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(os.path.join(SRC, "tests", "sysroots", machine + ".tar.xz")) as t:
            t.extractall(tmp)
        os.makedirs(os.path.join(tmp, "config"), exist_ok=True)
        roots = ["--runtime-root", os.path.join(tmp, "runtime"),
                 "--config-root", os.path.join(tmp, "config")]
        report = run([VMCHECK, "--json"] + roots + args)
        if report is None:
            continue
        machines += 1
        validate(report, "vmprep.report-1.schema.json", "vmcheck --json on " + name)
        for finding in report["findings"]:
            emitted.add(finding["id"])
            if not finding["id"].startswith(finding["check"] + "."):
                fail("%s: id %s does not start with its check %s" %
                     (name, finding["id"], finding["check"]))
            if pattern_of(finding["id"]) not in DOCUMENTED:
                fail("%s: finding id %s is not documented in docs/man/vmprep-report.5.scd "
                     "(as %s)" % (name, finding["id"], pattern_of(finding["id"])))
        if "--guest" in args or "--only" in args:
            continue
        groups = run([VMCHECK, "groups", "--json"] + roots, codes=(0,))
        if groups is not None:
            validate(groups, "vmprep.groups-1.schema.json", "vmcheck groups --json on " + machine)
        plan = run([VMSETUP, "plan", "--json", "--enable", "iommu,vhost_net,hugepages=2M:16",
                    "--device", "0000:02:00.0"] + roots, codes=(0, 1))
        if plan is not None:
            validate(plan, "vmprep.plan-1.schema.json", "vmsetup plan --json on " + machine)

if machines < 10:
    fail("only %d captured machines were checked" % machines)

# apply, history and undo on a copy of one machine.
with tempfile.TemporaryDirectory() as tmp:
    with tarfile.open(os.path.join(SRC, "tests", "sysroots", "vfio-bound.tar.xz")) as t:
        t.extractall(tmp)
    roots = ["--runtime-root", os.path.join(tmp, "runtime"),
             "--config-root", os.path.join(tmp, "config")]
    for argv in (["apply", "--yes", "--json", "--no-regenerate", "--enable", "vhost_net",
                  "--device", "0000:02:00.0"],
                 ["apply", "--yes", "--json", "--enable", "vhost_net"],
                 ["apply", "--json", "--enable", "iommu"],  # no --yes: an error document
                 ["undo", "--json", "--no-regenerate"], ["undo", "--json"]):
        doc = run([VMSETUP] + argv + roots, codes=(0, 1, 3))
        if doc is not None:
            validate(doc, "vmprep.apply-1.schema.json", "vmsetup " + " ".join(argv))
    history = run([VMSETUP, "history", "--json"] + roots, codes=(0,))
    if history is not None:
        validate(history, "vmprep.history-1.schema.json", "vmsetup history --json")
        if len(history) != 1 or history[0]["state"] != "undone":
            fail("history after apply and undo: %s" % history)

# vmcheck vm on every domain of tests/corpus/libvirt, judged against one captured machine:
# the document validates, every vm.* id is documented with its domain's key as VM.
corpus = os.path.join(SRC, "tests", "corpus", "libvirt")
domains = sorted(os.path.join(corpus, n) for n in os.listdir(corpus) if n.endswith(".xml"))
vm_ids = set()
with tempfile.TemporaryDirectory() as tmp:
    with tarfile.open(os.path.join(SRC, "tests", "sysroots", "vfio-bound.tar.xz")) as t:
        t.extractall(tmp)
    roots = ["--runtime-root", os.path.join(tmp, "runtime"),
             "--config-root", os.path.join(tmp, "config")]
    report = run([VMCHECK, "vm", "--json"] + domains + roots)
    if report is not None:
        validate(report, "vmprep.report-1.schema.json", "vmcheck vm --json on the corpus")
        keys = sorted((vm["key"] for vm in report["vms"]), key=len, reverse=True)
        if len(report["vms"]) != len(domains):
            fail("vmcheck vm: %d domains given, %d in 'vms'" % (len(domains), len(report["vms"])))
        for finding in report["findings"]:
            vm_ids.add(finding["id"])
            if finding["check"] != "vm":
                fail("vmcheck vm reported a finding of check %s" % finding["check"])
            if pattern_of(finding["id"], keys) not in DOCUMENTED:
                fail("vmcheck vm: finding id %s is not documented in vmprep-report.5.scd (as %s)"
                     % (finding["id"], pattern_of(finding["id"], keys)))
if len({pattern_of(i, keys) for i in vm_ids}) < 10:
    fail("vmcheck vm on the corpus gave only these ids: %s" % sorted(vm_ids))

# The Ansible fact prints the report itself.
fact = run(["sh", os.path.join(BUILD, "ansible", "vmprep.fact")], codes=(0,),
           env={"VMCHECK": VMCHECK})
if fact is not None:
    validate(fact, "vmprep.report-1.schema.json", "ansible/vmprep.fact on this machine")

print("%d documents validated; %d finding ids from %d captured machines, all documented "
      "(%d documented ids)" % (checked, len(emitted), machines, len(DOCUMENTED)))
sys.exit(1 if failures else 0)
