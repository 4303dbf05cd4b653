# SPDX-License-Identifier: MIT
"""A real browser for the tests: Debian's headless Chromium driven by
chromedriver through python3-selenium (contrib/install-deps installs the
three). Browser() starts one with a profile of its own in a temporary
folder and a log that keeps every console message; close() stops it and
every process it started, even when its page no longer answers."""

import os
import shutil
import tempfile

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


def missing():
    """Why no browser can run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return "%s is not installed (contrib/install-deps)" % path
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "python3-selenium is not installed (contrib/install-deps)"
    return None


def descendants(pid):
    """Every process below pid (whichever of its threads started it)."""
    kids = []
    try:
        for task in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                kids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return [d for k in kids for d in [k] + descendants(k)]


class Browser:
    """command_seconds bounds each WebDriver command on the test's side
    too: chromedriver does not answer a script, whatever its script
    timeout, while the page's one thread is busy, so a hung page would
    hang the test. None: no bound."""

    def __init__(self, width=1280, height=900, command_seconds=None):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.remote.remote_connection import \
            RemoteConnection

        self.profile = tempfile.mkdtemp(prefix="wsd-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--no-first-run",
                    "--disable-extensions", "--disable-background-networking",
                    "--window-size=%d,%d" % (width, height),
                    "--user-data-dir=" + self.profile):
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.service = Service(CHROMEDRIVER)
        # Read when the connection to chromedriver is made, hence set
        # around that and no longer.
        if command_seconds is not None:
            RemoteConnection.set_timeout(command_seconds)
        try:
            self.driver = webdriver.Chrome(service=self.service, options=opts)
        finally:
            RemoteConnection.reset_timeout()
        self.driver.set_page_load_timeout(60)

    def get(self, url):
        self.driver.get(url)

    def console(self):
        """The console messages since the last call: (level, text) each."""
        return [(e["level"], e["message"])
                for e in self.driver.get_log("browser")]

    def errors(self):
        """Console errors and CSP violations since the last call."""
        return [text for level, text in self.console()
                if level == "SEVERE" or "Content Security Policy" in text]

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def _ours(self, pid):
        """Whether pid is still one of this browser's processes (each
        names the profile), not a process that took the number since."""
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                return self.profile.encode() in f.read()
        except OSError:
            return False

    def close(self):
        """Quits the browser, then kills what it left: quit() stops
        chromedriver even when the browser does not answer, which leaves
        the browser's processes behind."""
        import signal
        below = descendants(self.service.process.pid)
        try:
            self.driver.quit()
        finally:
            for pid in below:
                if self._ours(pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            shutil.rmtree(self.profile, ignore_errors=True)
