#!/usr/bin/python3
"""vmcheck's monitoring outputs read back by real parsers, on every captured machine.

--format prometheus: `promtool check metrics` (Prometheus' own parser and linter, from
Debian's prometheus package) must accept it without a word, and the Python client's parser
(python3-prometheus-client) must read one vmprep_finding sample per finding of the same
machine's JSON report, valued by severity, with check/id/severity labels and no sample
timestamps (node_exporter's textfile collector rejects files that have them).
--format nagios: the first line follows the monitoring-plugin guidelines' grammar
("SERVICE STATUS: text | 'label'=value[UOM];[warn];[crit];[min];[max] ..."), the status
word matches the exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), and the perfdata
counts equal the JSON report's. --output writes the same bytes atomically.

Usage: check_monitoring.py SOURCE_DIR BUILD_DIR
"""
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

from prometheus_client.parser import text_string_to_metric_families

SRC, BUILD = sys.argv[1], sys.argv[2]
VMCHECK = os.path.join(BUILD, "vmcheck")
RANK = {"skip": 0, "pass": 1, "note": 2, "warn": 3, "fail": 4}
STATE = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}
failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


# The plugin guidelines' grammar, first line: "SERVICE STATUS: text" then optionally
# " | " and space-separated perfdata. A label is quoted when it holds spaces; it never holds
# '=' or "'"; value, min and max are [-0-9.]; warn and crit are ranges
# ([@][start:][end], start may be ~); UOM is s, ms, us, %, B, KB, MB, TB, c or nothing.
NUMBER = r"-?[0-9]+(\.[0-9]+)?"
RANGE = r"@?(~|%s)?:?(%s)?" % (NUMBER, NUMBER)
PERF_ITEM = re.compile(r"(?P<label>'[^'=]+'|[^'= ]+)=(?P<value>%s)(?P<uom>s|ms|us|%%|B|KB|MB|TB|c)?"
                       r"(;(%s)?){0,2}(;(%s)?){0,2}$" % (NUMBER, RANGE, NUMBER))
FIRST_LINE = re.compile(r"^(?P<service>[A-Z][A-Z0-9_]*) (?P<state>OK|WARNING|CRITICAL|UNKNOWN): "
                        r"(?P<text>[^|\n]+?)(?: \| (?P<perf>[^|\n]+))?$")


def check_nagios(out, code, report, what):
    lines = out.split("\n")
    m = FIRST_LINE.match(lines[0])
    if not m:
        fail("%s: first line does not follow the plugin grammar: %r" % (what, lines[0]))
        return
    if m.group("state") != STATE[code]:
        fail("%s: state %s with exit code %d" % (what, m.group("state"), code))
    if any("|" in line for line in lines[1:]):
        fail("%s: '|' in the long output" % what)
    if report is None:
        return
    perf = {}
    for item in (m.group("perf") or "").split(" "):
        pm = PERF_ITEM.match(item)
        if not pm:
            fail("%s: perfdata item %r does not follow label=value[UOM];warn;crit;min;max" %
                 (what, item))
            continue
        perf[pm.group("label").strip("'")] = float(pm.group("value"))
    counts = report["summary"]["counts"]
    for key in ("pass", "note", "warn", "fail", "skip", "accepted"):
        if perf.get(key) != counts[key]:
            fail("%s: perfdata %s=%s, the JSON report counts %s" % (what, key, perf.get(key),
                                                                   counts[key]))
    if perf.get("stale") != len(report["stale_accepts"]):
        fail("%s: perfdata stale=%s" % (what, perf.get("stale")))
    shown = [line.split(" ")[1].rstrip(":") for line in lines[1:] if line and
             not line.startswith("stale ")]
    wanted = [f["id"] for f in report["findings"] if f["severity"] not in ("pass", "skip")]
    if shown != wanted:
        fail("%s: long output lists %s, want %s" % (what, shown, wanted))


def check_prometheus(path, code, report, what):
    with open(path) as f:
        text = f.read()
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                          text=True)
    if lint.returncode != 0 or lint.stdout.strip() or lint.stderr.strip():
        fail("%s: promtool check metrics: %s %s" % (what, lint.stdout, lint.stderr))
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for family in families.values():
        if family.type != "gauge":
            fail("%s: %s is a %s, want gauge" % (what, family.name, family.type))
        for s in family.samples:
            if s.timestamp is not None:
                fail("%s: %s has a sample timestamp" % (what, s.name))
    got = {}
    for s in families["vmprep_finding"].samples:
        if set(s.labels) != {"check", "id", "severity", "accepted"}:
            fail("%s: vmprep_finding labels %s" % (what, sorted(s.labels)))
        got[s.labels["id"]] = (s.labels["check"], s.labels["severity"], s.value)
    want = {f["id"]: (f["check"], f["severity"], float(RANK[f["severity"]]))
            for f in report["findings"]}
    if got != want:
        fail("%s: vmprep_finding samples %s, want %s" % (what, got, want))
    worst = families["vmprep_worst_severity"].samples[0]
    if worst.labels["severity"] != report["summary"]["worst"] or \
            worst.value != RANK[report["summary"]["worst"]]:
        fail("%s: vmprep_worst_severity %s" % (what, worst))
    if families["vmprep_exit_code"].samples[0].value != code:
        fail("%s: vmprep_exit_code is not vmcheck's exit code %d" % (what, code))
    stamp = families["vmprep_report_timestamp_seconds"].samples[0].value
    if not 1.6e9 < stamp < 4e9:
        fail("%s: vmprep_report_timestamp_seconds %s" % (what, stamp))


machines = 0
for tarball in sorted(os.listdir(os.path.join(SRC, "tests", "sysroots"))):
    if not tarball.endswith(".tar.xz"):
        continue
    machine = tarball[:-7]
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(os.path.join(SRC, "tests", "sysroots", tarball)) as t:
            t.extractall(tmp)
        os.makedirs(os.path.join(tmp, "config", "etc", "vmprep"), exist_ok=True)
        # Accept one warning of the machine, if it has one, and one id it does not report.
        roots = ["--runtime-root", os.path.join(tmp, "runtime"),
                 "--config-root", os.path.join(tmp, "config")]
        first = json.loads(subprocess.run([VMCHECK, "--json"] + roots, capture_output=True,
                                          text=True).stdout)
        warns = [f["id"] for f in first["findings"] if f["severity"] == "warn"]
        with open(os.path.join(tmp, "config", "etc", "vmprep", "accept.conf"), "w") as f:
            f.write("# test\nkvm.no-such-finding gone\n")
            if warns:
                f.write("%s accepted by the test\n" % warns[0])
        r = subprocess.run([VMCHECK, "--json"] + roots, capture_output=True, text=True)
        report = json.loads(r.stdout)
        code = r.returncode
        if report["summary"]["exit_code"] != code:
            fail("%s: summary.exit_code %s, exit %d" % (machine, report["summary"], code))
        outdir = os.path.join(tmp, "textfile")
        os.mkdir(outdir)
        prom = os.path.join(outdir, "vmprep.prom")
        r = subprocess.run([VMCHECK, "--format", "prometheus", "--output", prom] + roots,
                           capture_output=True, text=True)
        if r.returncode != code or r.stdout:
            fail("%s: --output exit %d, stdout %r" % (machine, r.returncode, r.stdout[:100]))
        if os.listdir(outdir) != ["vmprep.prom"]:
            fail("%s: files left beside the output: %s" % (machine, os.listdir(outdir)))
        check_prometheus(prom, code, report, machine + " prometheus")
        r = subprocess.run([VMCHECK, "--format", "nagios"] + roots, capture_output=True,
                           text=True)
        if r.returncode != code:
            fail("%s: nagios exit %d, json exit %d" % (machine, r.returncode, code))
        check_nagios(r.stdout, r.returncode, report, machine + " nagios")
        machines += 1

# Cannot run: UNKNOWN, exit 3.
r = subprocess.run([VMCHECK, "--format", "nagios", "--root", "/nonexistent/vmprep"],
                   capture_output=True, text=True)
if r.returncode != 3:
    fail("nagios on a missing root: exit %d" % r.returncode)
check_nagios(r.stdout, 3, None, "nagios on a missing root")
if not r.stdout.startswith("VMCHECK UNKNOWN: "):
    fail("nagios on a missing root: %r" % r.stdout)

if machines < 10:
    fail("only %d machines checked" % machines)
print("monitoring: promtool, prometheus_client and the plugin grammar accept the output of "
      "%d captured machines" % machines)
sys.exit(1 if failures else 0)
