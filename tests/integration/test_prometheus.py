# SPDX-License-Identifier: MIT
"""A real Prometheus (Debian's prometheus package) scrapes two wsd
daemons: both targets are up, and after a known number of connections to
each, sum(wsd_connections_accepted_total) in Prometheus equals the sum of
what both daemons' /v1/stats say.

Prometheus runs with a generated configuration (scrape_interval 1s), its
own temporary storage, and a loopback port the kernel picked (bound to
port 0, then closed, then handed to --web.listen-address); the test
queries its HTTP API with bounded waits and stops it by its pid. Without
the prometheus command the test points are skipped, which CI (which
installs the package) counts as a failure.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import wsdtest
from wsdtest import timeout

tap = wsdtest.Tap()

PROMETHEUS = os.environ.get("PROMETHEUS") or shutil.which("prometheus")


def full_connection(port):
    s = wsdtest.open_ws(port)
    try:
        s.sendall(wsdtest.frame(1, b"x"))
        wsdtest.read_message(s)
        wsdtest.send_close(s, 1000)
        wsdtest.read_close(s)
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()


def free_port():
    """A loopback port the kernel picked: bound to port 0, then closed."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def api(port, path, params=None):
    """GET of Prometheus' HTTP API; the parsed JSON, or None on any error
    (not up yet)."""
    url = "http://127.0.0.1:%d%s" % (port, path)
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=timeout(2)) as r:
            return json.loads(r.read().decode("utf-8"))
    except (OSError, ValueError):
        return None


def query(port, expr):
    """The value of an instant query with one result, or None."""
    doc = api(port, "/api/v1/query", {"query": expr})
    if doc is None or doc.get("status") != "success":
        return None
    result = doc["data"]["result"]
    if len(result) != 1:
        return None
    return float(result[0]["value"][1])


class Prometheus:
    """Prometheus scraping targets ("HOST:PORT" of admin endpoints) every
    second, in a scratch directory; a context manager that stops it by
    its pid."""

    def __init__(self, targets):
        self.dir = tempfile.mkdtemp(prefix="wsd-prometheus-")
        self.port = free_port()
        self.proc = None
        self.log_path = os.path.join(self.dir, "prometheus.log")
        conf = os.path.join(self.dir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n"
                    "  scrape_interval: 1s\n"
                    "  scrape_timeout: 1s\n"
                    "scrape_configs:\n"
                    "  - job_name: wsd\n"
                    "    static_configs:\n"
                    "      - targets: [%s]\n" %
                    ", ".join("'%s'" % t for t in targets))
        self.args = [PROMETHEUS, "--config.file=" + conf,
                     "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                     "--web.listen-address=127.0.0.1:%d" % self.port,
                     "--log.level=warn"]

    def __enter__(self):
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log,
                                         cwd=self.dir)
        return self

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout(20))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout(10))
        tap.ok(self.proc is not None and self.proc.poll() is not None,
               "prometheus: stopped by its pid")
        shutil.rmtree(self.dir, ignore_errors=True)


def t_scrape(a, b):
    counts = {a: 3, b: 4}
    for w, n in counts.items():
        for _ in range(n):
            full_connection(w.port)
    admin = {w: wsdtest.admin_port(w) for w in counts}
    want = sum(wsdtest.admin_stats(admin[w])["totals"]["accepted"]
               for w in counts)
    tap.eq(want, 7, "the two daemons accepted 3 and 4 connections")
    targets = ["127.0.0.1:%d" % admin[w] for w in counts]
    with Prometheus(targets) as p:
        ready = wsdtest.wait_until(
            lambda: p.proc.poll() is None and
            api(p.port, "/api/v1/status/buildinfo") is not None, 60,
            step=0.2)
        tap.ok(ready, "prometheus: its HTTP API answers", p.log())
        if not ready:
            return

        def health():
            doc = api(p.port, "/api/v1/targets")
            if doc is None:
                return {}
            return {t["scrapeUrl"]: t["health"]
                    for t in doc["data"]["activeTargets"]}
        tap.ok(wsdtest.wait_until(
            lambda: sorted(health().values()) == ["up", "up"], 30, step=0.2),
            "prometheus: both targets are up", (health(), p.log()))
        tap.ok(wsdtest.wait_until(
            lambda: query(p.port, 'sum(up{job="wsd"})') == 2, 30, step=0.2),
            "prometheus: sum(up) is 2", p.log())
        got = [None]

        def summed():
            got[0] = query(p.port, "sum(wsd_connections_accepted_total)")
            return got[0] == want
        tap.ok(wsdtest.wait_until(summed, 30, step=0.2),
               "prometheus: sum(wsd_connections_accepted_total) is %d, the "
               "sum of both /v1/stats" % want, (got[0], p.log()))
        tap.ok(query(p.port, "count(count by (instance) "
                             "(process_max_fds{process=\"worker\"}))") == 2,
               "prometheus: both daemons' workers have process_max_fds")


def main():
    if not PROMETHEUS:
        tap.ok(True, "prometheus scrapes two wsd # SKIP the prometheus "
                     "command is not installed (Debian package prometheus)")
        tap.done()
    with wsdtest.Wsd(tap) as a:
        with wsdtest.Wsd(tap, workers=2) as b:
            wsdtest.guard(tap, "scrape", t_scrape, a, b)
    tap.done()


if __name__ == "__main__":
    main()
