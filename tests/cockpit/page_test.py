#!/usr/bin/python3
"""vmprep's Cockpit page in a real browser.

Installs the page with `cmake --install --component cockpit` into a staging prefix and
copies it where Cockpit finds a user's pages (~/.local/share/cockpit/vmprep) for a throwaway
system user made for this run (useradd, a random password set with chpasswd). Starts Debian's
cockpit-ws on 127.0.0.1 with its normal authentication: the login form posts the password,
cockpit-ws runs cockpit-session, which authenticates through PAM (/etc/pam.d/cockpit) and
starts the bridge as that user. Headless Chromium (Selenium) fills the login form, opens the
page, and the test asserts that what it renders is what vmcheck prints for the same user:
every finding of `vmcheck --json` (id, severity, summary, in order), each domain of `vmcheck
vm --json` with its verdict, and the IOMMU groups of `vmcheck groups --json`. vmcheck judges
a captured machine (vfio-bound) with two libvirt domains defined in its config root, through
a one-line wrapper that adds the roots. cockpit-session clears the environment and gives the
bridge a fixed PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin), so the
wrapper is put where `cmake --install` puts vmcheck by default, /usr/local/bin/vmcheck, for
the run (the test refuses to start when something is there already). The wrapper, the user,
its home and its processes are removed at the end, also on failure. The screenshot is kept as
BUILD_DIR/cockpit/vmprep.png.

Usage: page_test.py SOURCE_DIR BUILD_DIR    (as root: it adds and removes a system user)
Needs (Debian 12): cockpit-ws cockpit-bridge cockpit-system chromium chromium-driver
python3-selenium, passwd (useradd, chpasswd, userdel).
"""
import json
import os
import pwd
import secrets
import shutil
import signal
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


def vmcheck_json(wrapper, args, user):
    # As the user the page's bridge runs as: the same identity sees the same tree.
    r = subprocess.run([wrapper] + args, capture_output=True, text=True, user=user.pw_uid,
                       group=user.pw_gid, extra_groups=[], env={"PATH": "/usr/bin:/bin"})
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


def check(driver, wrapper, user):
    report = vmcheck_json(wrapper, ["--json"], user)
    vm_report = vmcheck_json(wrapper, ["vm", "--json"], user)
    groups_doc = vmcheck_json(wrapper, ["groups", "--json"], user)
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


# Where the session's fixed PATH finds vmcheck (cmake --install's default prefix).
SESSION_VMCHECK = "/usr/local/bin/vmcheck"


def make_user(stage):
    """A throwaway user with a password and the page in its home."""
    name = "vmpc%d" % os.getpid()
    password = secrets.token_urlsafe(18)
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True)
    subprocess.run(["chpasswd"], input="%s:%s\n" % (name, password), text=True, check=True)
    user = pwd.getpwnam(name)
    pages = os.path.join(user.pw_dir, ".local", "share", "cockpit")
    os.makedirs(pages)
    shutil.copytree(os.path.join(stage, "share", "cockpit", "vmprep"),
                    os.path.join(pages, "vmprep"))
    for root, dirs, files in os.walk(os.path.join(user.pw_dir)):
        for n in dirs + files:
            os.chown(os.path.join(root, n), user.pw_uid, user.pw_gid)
    return user, password


def remove_user(user):
    """Ends what the login started as the user (bridge, ssh-agent, dbus), then the user."""
    for attempt in range(20):
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and _uid_of(p) == user.pw_uid]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM if attempt < 10 else signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
    r = subprocess.run(["userdel", "--remove", user.pw_name], capture_output=True, text=True)
    if r.returncode not in (0, 12):  # 12: no mail spool to remove
        fail("userdel %s: %s" % (user.pw_name, r.stderr.strip()))


def _uid_of(pid):
    try:
        return os.stat("/proc/" + pid).st_uid
    except OSError:
        return None


def log_in(driver, port, user, password):
    driver.get("http://127.0.0.1:%d/" % port)
    WebDriverWait(driver, 60).until(EC.visibility_of_element_located(
        (By.ID, "login-user-input"))).send_keys(user.pw_name)
    driver.find_element(By.ID, "login-password-input").send_keys(password)
    driver.find_element(By.ID, "login-button").click()
    # The shell replaces the login page once cockpit-session has opened the PAM session.
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "login-error-message") and
                                    d.find_element(By.ID, "login-error-message").text or
                                    d.find_elements(By.CSS_SELECTOR, "iframe"))
    errors = driver.find_elements(By.ID, "login-error-message")
    if errors and errors[0].text:
        raise RuntimeError("the login form says: " + errors[0].text)


def open_page(driver, port, wrapper, user):
    driver.get("http://127.0.0.1:%d/vmprep" % port)
    frame = WebDriverWait(driver, 60).until(EC.presence_of_element_located(
        (By.CSS_SELECTOR, "iframe[name='cockpit1:localhost/vmprep']")))
    driver.switch_to.frame(frame)
    status = WebDriverWait(driver, 90).until(lambda d: d.find_element(
        By.ID, "status") if d.find_element(By.ID, "status").get_attribute(
            "data-state") != "loading" else False)
    if status.get_attribute("data-state") != "done":
        fail("the page says: " + status.text)
        return None
    return check(driver, wrapper, user)


def browser(tmp):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,2200",
                "--user-data-dir=" + os.path.join(tmp, "chr")):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    return driver


def main():
    for tool in ("/usr/lib/cockpit/cockpit-ws", "/usr/lib/cockpit/cockpit-session",
                 "/usr/bin/cockpit-bridge", "/usr/bin/chromium", "/usr/bin/chromedriver",
                 "/usr/sbin/useradd"):
        if not os.path.exists(tool):
            print("FAIL: %s missing (apt-get install cockpit-ws cockpit-bridge cockpit-system "
                  "chromium chromium-driver python3-selenium passwd)" % tool)
            return 1
    if os.geteuid() != 0:
        print("FAIL: needs root to add the throwaway login user (useradd, chpasswd)")
        return 1
    counts = None
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)  # the user's session runs the wrapper and reads the tree
        stage, wrapper = prepare(tmp)
        if os.path.lexists(SESSION_VMCHECK):
            print("FAIL: %s exists: the test puts its wrapper there for the session's PATH and "
                  "does not replace an installed vmcheck" % SESSION_VMCHECK)
            return 1
        shutil.copy(wrapper, SESSION_VMCHECK)
        user, password = make_user(stage)
        port = free_port()
        ws = driver = None
        try:
            ws = subprocess.Popen(["/usr/lib/cockpit/cockpit-ws", "--no-tls", "--port", str(port),
                                   "--address", "127.0.0.1"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
            wait_for_port(port, ws)
            driver = browser(tmp)
            log_in(driver, port, user, password)
            counts = open_page(driver, port, wrapper, user)
            os.makedirs(os.path.join(BUILD, "cockpit"), exist_ok=True)
            shot = os.path.join(BUILD, "cockpit", "vmprep.png")
            driver.switch_to.default_content()
            driver.save_screenshot(shot)
            print("screenshot: " + shot)
        finally:
            if driver is not None:
                driver.quit()
            if ws is not None:
                ws.terminate()
                ws.wait(timeout=10)
            remove_user(user)
            os.remove(SESSION_VMCHECK)
    if failures or counts is None:
        return 1
    print("cockpit page, logged in as %s through PAM: %d findings, %d domains, %d IOMMU groups "
          "rendered as vmcheck prints them" % ((user.pw_name,) + counts))
    return 0


sys.exit(main())
