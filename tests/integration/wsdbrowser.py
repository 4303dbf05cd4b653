# SPDX-License-Identifier: MIT
"""A real browser for the tests: Debian's headless Chromium driven by
chromedriver through python3-selenium (contrib/install-deps installs the
three). Browser() starts one with a profile of its own in a temporary
folder and a log that keeps every console message; close() stops it and
every process it started."""

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


class Browser:
    def __init__(self, width=1280, height=900):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

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
        self.driver = webdriver.Chrome(service=self.service, options=opts)
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

    def close(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)
