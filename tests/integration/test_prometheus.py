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
import subprocess
import tempfile
import urllib.parse
import urllib.request

import wsdtest
from wsdtest import timeout

tap = wsdtest.Tap()

PROMETHEUS = os.environ.get("PROMETHEUS") or shutil.which("prometheus")
PROMTOOL = os.environ.get("PROMTOOL") or shutil.which("promtool")
CONTRIB = os.path.join(os.environ.get("WSD_SRCDIR") or os.path.join(
    os.path.dirname(__file__), "..", ".."), "contrib", "prometheus",
    "prometheus.yml")


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


def config_for(targets):
    """A configuration scraping targets ("HOST:PORT" of admin endpoints)
    every second."""
    return ("global:\n"
            "  scrape_interval: 1s\n"
            "  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: wsd\n"
            "    static_configs:\n"
            "      - targets: [%s]\n" % ", ".join("'%s'" % t for t in targets))


class Prometheus:
    """Prometheus with the configuration config (config_for's, or another
    text), in a scratch directory; a context manager that stops it by its
    pid."""

    def __init__(self, config):
        self.dir = tempfile.mkdtemp(prefix="wsd-prometheus-")
        self.port = wsdtest.free_port()
        self.proc = None
        self.log_path = os.path.join(self.dir, "prometheus.log")
        self.config_path = conf = os.path.join(self.dir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write(config)
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
    with Prometheus(config_for(targets)) as p:
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


def contrib_config(targets, token_file):
    """contrib/prometheus/prometheus.yml with the test's targets and
    token file, scraping every second; each text replaced must be there
    once, so that the file cannot drift from what is tested."""
    with open(CONTRIB, encoding="utf-8") as f:
        text = f.read()
    subs = [("  scrape_interval: 15s\n",
             "  scrape_interval: 1s\n  scrape_timeout: 1s\n"),
            ("/etc/prometheus/wsd-admin-token", token_file),
            ("          - 10.0.0.11:8890\n          - 10.0.0.12:8890\n",
             "".join("          - %s\n" % t for t in targets))]
    for old, new in subs:
        if text.count(old) != 1:
            raise ValueError("%s no longer holds %r once" % (CONTRIB, old))
        text = text.replace(old, new)
    return text


def targets_health(p):
    """{scrape URL: (health, last error)} of Prometheus p's targets."""
    doc = api(p.port, "/api/v1/targets")
    if doc is None:
        return {}
    return {t["scrapeUrl"]: (t["health"], t.get("lastError"))
            for t in doc["data"]["activeTargets"]}


def worker_fd_limits(w):
    """The soft RLIMIT_NOFILE of each of w's workers, from /proc."""
    out = []
    for pid in w.workers():
        with open("/proc/%d/limits" % pid) as f:
            for line in f:
                if line.startswith("Max open files"):
                    out.append(int(line.split()[3]))
    return out


def t_contrib(a, b, tmp):
    """contrib/prometheus/prometheus.yml, as shipped but for its targets,
    its token file and its interval, against two daemons that take a
    token: promtool passes it, both targets are up, the query it gives
    for a descriptor limit below max_connections matches each worker
    whose limit is, and the wrong token leaves both down."""
    token = os.path.join(tmp, "token")
    wrong = os.path.join(tmp, "wrong")
    with open(wrong, "w") as f:
        f.write("not-the-token\n")
    targets = ["127.0.0.1:%d" % wsdtest.admin_port(w) for w in (a, b)]
    with Prometheus(contrib_config(targets, token)) as p:
        if PROMTOOL:
            r = subprocess.run([PROMTOOL, "check", "config", p.config_path],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               timeout=timeout(30))
            tap.ok(r.returncode == 0 and "SUCCESS" in r.stdout,
                   "contrib prometheus.yml: promtool check config passes",
                   r.stdout)
        else:
            tap.ok(True, "contrib prometheus.yml: promtool check config "
                         "# SKIP the promtool command is not installed")
        tap.ok(wsdtest.wait_until(
            lambda: sorted(h for h, _ in targets_health(p).values()) ==
            ["up", "up"], 60, step=0.2),
            "contrib prometheus.yml: both instances are up, the token "
            "sent from its file", (targets_health(p), p.log()))
        want = sum(1 for w in (a, b) for n in worker_fd_limits(w)
                   if n < w.max_connections)
        expr = ('count(process_max_fds{process="worker"} < on (instance) '
                'group_left wsd_connections_max) or vector(0)')
        got = [None]

        def counted():
            got[0] = query(p.port, expr)
            return got[0] == want
        tap.ok(wsdtest.wait_until(counted, 30, step=0.2),
               "contrib prometheus.yml: its query for a descriptor limit "
               "below max_connections finds the %d workers whose limit is"
               % want, (got[0], p.log()))
    with Prometheus(contrib_config(targets, wrong)) as p:
        tap.ok(wsdtest.wait_until(
            lambda: [h for h, _ in targets_health(p).values()] ==
            ["down", "down"], 60, step=0.2) and
            all("401" in (e or "") for _, e in targets_health(p).values()),
            "contrib prometheus.yml: with another token both are down "
            "(HTTP 401)", (targets_health(p), p.log()))


def main():
    if not PROMETHEUS:
        tap.ok(True, "prometheus scrapes two wsd # SKIP the prometheus "
                     "command is not installed (Debian package prometheus)")
        tap.done()
    with wsdtest.Wsd(tap) as a:
        with wsdtest.Wsd(tap, workers=2) as b:
            wsdtest.guard(tap, "scrape", t_scrape, a, b)
    tmp = tempfile.mkdtemp()
    try:
        token = os.path.join(tmp, "token")
        with open(token, "w") as f:
            f.write("prometheus-s3cret\n")
        args = ["--admin_token_file", token]
        # b's workers serve more connections than they have descriptors
        # for: the alert the contrib file gives must find them.
        with wsdtest.Wsd(tap, args) as a:
            with wsdtest.Wsd(tap, args + ["--max_connections", "1000000"],
                             workers=2) as b:
                a.max_connections, b.max_connections = 10000, 1000000
                wsdtest.guard(tap, "contrib", t_contrib, a, b, tmp)
    finally:
        shutil.rmtree(tmp)
    tap.done()


if __name__ == "__main__":
    main()
