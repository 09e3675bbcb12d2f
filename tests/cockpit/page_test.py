#!/usr/bin/python3
"""vmprep's Cockpit page in a real browser.

Installs the page with `cmake --install --component cockpit` into a staging prefix, starts
Debian's cockpit-ws on 127.0.0.1 with a local session (the bridge runs as the user running
this test: no login form to fill), opens the page in headless Chromium through Selenium and
asserts that what it renders is what vmcheck prints: every finding of `vmcheck --json` (id,
severity, summary, in order), each domain of `vmcheck vm --json` with its verdict, and the
IOMMU groups of `vmcheck groups --json`. vmcheck judges a captured machine (vfio-bound) with
two libvirt domains defined in its config root, through a one-line wrapper that adds the
roots, so the page and this test run the same binary on the same tree. The screenshot is
kept as BUILD_DIR/cockpit/vmprep.png.

Usage: page_test.py SOURCE_DIR BUILD_DIR
Needs (Debian 12): cockpit-ws cockpit-bridge cockpit-system chromium chromium-driver
python3-selenium.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

SRC, BUILD = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("cockpit-ws exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("cockpit-ws did not listen on %d" % port)


def prepare(tmp):
    with tarfile.open(os.path.join(SRC, "tests", "sysroots", "vfio-bound.tar.xz")) as t:
        t.extractall(tmp)
    qemu = os.path.join(tmp, "config", "etc", "libvirt", "qemu")
    os.makedirs(qemu)
    corpus = os.path.join(SRC, "tests", "corpus", "libvirt")
    shutil.copy(os.path.join(corpus, "phanen-passthrough-win11-vanilla.xml"),
                os.path.join(qemu, "win11-2.xml"))
    shutil.copy(os.path.join(corpus, "libvirt-shmem-plain-doorbell.xml"),
                os.path.join(qemu, "QEMUGuest1.xml"))
    stage = os.path.join(tmp, "stage")
    subprocess.run(["cmake", "--install", BUILD, "--prefix", stage, "--component", "cockpit"],
                   check=True, stdout=subprocess.DEVNULL)
    page = os.path.join(stage, "share", "cockpit", "vmprep")
    for name in ("manifest.json", "index.html", "vmprep.js", "vmprep.css"):
        if not os.path.isfile(os.path.join(page, name)):
            fail("cmake --install did not put %s in %s" % (name, page))
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir)
    wrapper = os.path.join(bindir, "vmcheck")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec "%s" "$@" --runtime-root "%s" --config-root "%s"\n' %
                (os.path.join(BUILD, "vmcheck"), os.path.join(tmp, "runtime"),
                 os.path.join(tmp, "config")))
    os.chmod(wrapper, 0o755)
    return stage, wrapper


def vmcheck_json(wrapper, args):
    r = subprocess.run([wrapper] + args, capture_output=True, text=True)
    if r.returncode not in (0, 1, 2):
        raise RuntimeError("vmcheck %s exited %d: %s" % (args, r.returncode, r.stderr))
    return json.loads(r.stdout)


def rendered(driver):
    rows = driver.find_elements(By.CSS_SELECTOR, "#findings tbody tr.finding")
    findings = [(r.get_attribute("data-id"), r.get_attribute("data-severity"),
                 r.find_element(By.CSS_SELECTOR, ".summary").text) for r in rows]
    vms = [(v.get_attribute("data-vm"), v.get_attribute("data-worst"),
            len(v.find_elements(By.CSS_SELECTOR, "tr.finding")))
           for v in driver.find_elements(By.CSS_SELECTOR, "#vms .vm")]
    groups = [(g.get_attribute("data-group"),
               [li.get_attribute("data-address") for li in g.find_elements(By.TAG_NAME, "li")])
              for g in driver.find_elements(By.CSS_SELECTOR, "#groups .group")]
    return findings, vms, groups


def check(driver, wrapper):
    report = vmcheck_json(wrapper, ["--json"])
    vm_report = vmcheck_json(wrapper, ["vm", "--json"])
    groups_doc = vmcheck_json(wrapper, ["groups", "--json"])
    findings, vms, groups = rendered(driver)
    expected = [(f["id"], f["severity"], f["summary"]) for f in report["findings"]]
    if findings != expected:
        fail("rendered findings differ from vmcheck --json:\n  page:    %s\n  vmcheck: %s" %
             (findings[:5], expected[:5]))
    if len(expected) < 10:
        fail("vmcheck --json gave only %d findings" % len(expected))
    expected_vms = [(v["key"], v["worst"], len(v["findings"])) for v in vm_report["vms"]]
    if vms != expected_vms or len(vms) != 2:
        fail("rendered domains %s, vmcheck vm --json %s" % (vms, expected_vms))
    expected_groups = [(str(g["group"]), [d["address"] for d in g["devices"]])
                       for g in groups_doc["groups"]]
    if groups != expected_groups or not groups:
        fail("rendered groups %s, vmcheck groups --json %s" % (groups, expected_groups))
    return len(findings), len(vms), len(groups)


def main():
    for tool in ("/usr/lib/cockpit/cockpit-ws", "/usr/bin/cockpit-bridge", "/usr/bin/chromium",
                 "/usr/bin/chromedriver"):
        if not os.path.exists(tool):
            print("FAIL: %s missing (apt-get install cockpit-ws cockpit-bridge cockpit-system "
                  "chromium chromium-driver python3-selenium)" % tool)
            return 1
    with tempfile.TemporaryDirectory() as tmp:
        stage, wrapper = prepare(tmp)
        port = free_port()
        env = dict(os.environ,
                   PATH=os.path.dirname(wrapper) + ":" + os.environ.get("PATH", "/usr/bin:/bin"),
                   XDG_DATA_DIRS=os.path.join(stage, "share") + ":/usr/local/share:/usr/share",
                   HOME=tmp)
        ws = subprocess.Popen(["/usr/lib/cockpit/cockpit-ws", "--no-tls", "--port", str(port),
                               "--local-session=cockpit-bridge"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        driver = None
        try:
            wait_for_port(port, ws)
            options = webdriver.ChromeOptions()
            options.binary_location = "/usr/bin/chromium"
            for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                        "--window-size=1400,2200", "--user-data-dir=" + os.path.join(tmp, "chr")):
                options.add_argument(arg)
            driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
            driver.set_page_load_timeout(60)
            driver.get("http://127.0.0.1:%d/vmprep" % port)
            frame = WebDriverWait(driver, 60).until(EC.presence_of_element_located(
                (By.CSS_SELECTOR, "iframe[name='cockpit1:localhost/vmprep']")))
            driver.switch_to.frame(frame)
            status = WebDriverWait(driver, 90).until(lambda d: d.find_element(
                By.ID, "status") if d.find_element(By.ID, "status").get_attribute(
                    "data-state") != "loading" else False)
            if status.get_attribute("data-state") != "done":
                fail("the page says: " + status.text)
            else:
                counts = check(driver, wrapper)
            os.makedirs(os.path.join(BUILD, "cockpit"), exist_ok=True)
            shot = os.path.join(BUILD, "cockpit", "vmprep.png")
            driver.set_window_size(1400, 2200)
            driver.save_screenshot(shot)
            print("screenshot: " + shot)
        finally:
            if driver is not None:
                driver.quit()
            ws.terminate()
            ws.wait(timeout=10)
    if failures:
        return 1
    print("cockpit page: %d findings, %d domains, %d IOMMU groups rendered as vmcheck prints "
          "them" % counts)
    return 0


sys.exit(main())
