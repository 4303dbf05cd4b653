# SPDX-License-Identifier: MIT
"""GET /metrics against the real daemon, as Prometheus and an operator
read it: promtool's own check of the exposition; the naming conventions
(counters end in _total, byte counts in _bytes or _bytes_total, one
vocabulary for the direction label); what each counter tells apart
(refusals and scanners are no unclean closes; failed TLS handshakes,
permessage-deflate, timeouts by kind); the histograms of message size
and WebSocket length; Prometheus' standard process metrics of the master
and of each worker, against what the test reads from /proc itself;
reloads counted apart from worker crashes.

Only loopback and kernel-chosen ports. Without promtool (Debian's
prometheus package) its test point is skipped, which CI counts as a
failure.
"""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile

import wsdtest
from wsdtest import timeout

tap = wsdtest.Tap()

PROMTOOL = os.environ.get("PROMTOOL") or shutil.which("promtool")


def traffic(port):
    """One whole connection with an echo each way and a clean close."""
    s = wsdtest.open_ws(port)
    try:
        s.sendall(wsdtest.frame(1, b"hello"))
        wsdtest.read_message(s)
        wsdtest.send_close(s, 1000)
        wsdtest.read_close(s)
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()


def t_promtool(text):
    """promtool check metrics reads the exposition from stdin and exits
    non-zero on a format error or a lint problem (a counter without
    _total, a unit that is not a base unit, a missing HELP, ...)."""
    if not PROMTOOL:
        tap.ok(True, "promtool check metrics # SKIP promtool not installed "
                     "(Debian package prometheus)")
        return
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=timeout(30))
    tap.ok(r.returncode == 0, "promtool check metrics accepts /metrics",
           (r.stdout + r.stderr).decode("utf-8", "replace"))


def t_names(families):
    bad = []
    for name, f in families.items():
        if not f["help"]:
            bad.append("%s: no HELP text" % name)
        if f["type"] not in ("counter", "gauge", "histogram"):
            bad.append("%s: type %r" % (name, f["type"]))
        if f["type"] == "counter" and not name.endswith("_total"):
            bad.append("%s: a counter not named *_total" % name)
        if f["type"] != "counter" and name.endswith("_total"):
            bad.append("%s: *_total but a %s" % (name, f["type"]))
        if "octets" in name:
            bad.append("%s: bytes are called bytes" % name)
        if "bytes" in name and not (name.endswith("_bytes") or
                                    name.endswith("_bytes_total")):
            bad.append("%s: a byte count ends in _bytes or _bytes_total"
                       % name)
    tap.eq(bad, [], "metrics: HELP and TYPE for each; counters *_total; "
                    "byte counts *_bytes or *_bytes_total")
    directions = {}
    for name, f in families.items():
        for _, labels, _ in f["samples"]:
            if "direction" in labels:
                directions.setdefault(name, set()).add(labels["direction"])
    odd = {n: sorted(v) for n, v in directions.items()
           if not v <= {"received", "sent"}}
    tap.eq(odd, {}, "metrics: every direction label says received or sent")
    tap.ok({"wsd_messages_total", "wsd_frames_total", "wsd_bytes_total",
            "wsd_close_codes_total"} <= set(directions),
           "metrics: messages, frames, bytes and close codes have a "
           "direction", sorted(directions))
    tap.ok("wsd_octets_total" not in families and
           wsd_bytes_total_named(families),
           "metrics: wsd_bytes_total, not wsd_octets_total")


def wsd_bytes_total_named(families):
    f = families.get("wsd_bytes_total")
    return f is not None and f["type"] == "counter"


def settled(port):
    """/metrics once no connection is open (bounded wait)."""
    wsdtest.wait_until(
        lambda: wsdtest.admin_stats(port)["totals"]["active"] == 0, 5)
    families, _, _ = wsdtest.admin_metrics(port)
    return families


def closes(families, outcome):
    return wsdtest.metric(families, "wsd_closes_total", outcome=outcome)


def t_outcomes(w, port):
    """A scanner's probes (another path: 404; plain HTTP: 426; a
    connection closed before sending anything) end no WebSocket, so they
    are not unclean closes: counted as refused (by status) and unopened.
    Of two WebSockets, one closed cleanly and one dropped by its peer,
    only the second is unclean."""
    before = settled(port)
    st0 = wsdtest.admin_stats(port)["totals"]
    probes = [(wsdtest.handshake_request(path="/nope"), 404),
              (wsdtest.handshake_request(drop=("Upgrade",)), 426)]
    for req, want in probes:
        r = wsdtest.http_exchange(w.port, req)
        tap.eq(r["status"], want, "outcomes: the probe gets %d" % want)
    wsdtest.connect(w.port).close()
    traffic(w.port)
    s = wsdtest.open_ws(w.port)
    s.sendall(wsdtest.frame(2, b"abc"))
    wsdtest.read_message(s)
    s.close()
    after = settled(port)
    st1 = wsdtest.admin_stats(port)["totals"]

    def delta(fn):
        return (fn(after) or 0) - (fn(before) or 0)
    tap.eq([delta(lambda f: closes(f, o))
            for o in ("clean", "unclean", "unopened")], [1, 1, 3],
           "outcomes: wsd_closes_total: clean 1, unclean 1 (the dropped "
           "WebSocket), unopened 3 (the probes)")
    tap.eq([delta(lambda f: wsdtest.metric(
        f, "wsd_handshakes_refused_total", status=c)) for c in (404, 426)],
        [1, 1], "outcomes: the refusals counted by status")
    tap.eq([st1[k] - st0[k] for k in ("clean", "unclean", "unopened")],
           [1, 1, 3], "outcomes: /v1/stats: clean, unclean and unopened")
    tap.eq(st1["accepted"],
           st1["active"] + st1["clean"] + st1["unclean"] + st1["unopened"],
           "outcomes: accepted == active + clean + unclean + unopened")


SIZES = [0, 10, 64, 65, 1024, 1025, 100000]
BOUNDS = ["64", "1024", "16384", "262144", "1048576", "16777216", "+Inf"]


def t_histograms(w, port):
    """Messages of known sizes, on either side of the bucket bounds, each
    way: the buckets count them cumulatively, the sum is their bytes;
    every WebSocket's length is in the histogram of lengths."""
    before = settled(port)
    s = wsdtest.open_ws(w.port)
    for n in SIZES:
        s.sendall(wsdtest.frame(2, b"m" * n))
        op, payload, _ = wsdtest.read_message(s)
        tap.eq((op, len(payload)), (2, n), "histograms: %d bytes echoed" % n)
    close_both_ways(s)
    after = settled(port)

    def delta(name, **labels):
        return ((wsdtest.metric(after, name, **labels) or 0) -
                (wsdtest.metric(before, name, **labels) or 0))
    for d in ("received", "sent"):
        got = [delta("wsd_message_size_bytes_bucket", direction=d, le=le)
               for le in BOUNDS]
        want = [sum(1 for n in SIZES if le == "+Inf" or n <= int(le))
                for le in BOUNDS]
        tap.eq(got, want, "histograms: message sizes %s, cumulative by "
                          "bound" % d)
        tap.eq((delta("wsd_message_size_bytes_sum", direction=d),
                delta("wsd_message_size_bytes_count", direction=d)),
               (sum(SIZES), len(SIZES)),
               "histograms: their sum and count (%s)" % d)
    websockets = (wsdtest.metric(after, "wsd_closes_total", outcome="clean") +
                  wsdtest.metric(after, "wsd_closes_total",
                                 outcome="unclean"))
    count = wsdtest.metric(after, "wsd_connection_duration_seconds_count")
    tap.ok(count == websockets and count > 0,
           "histograms: the length of every WebSocket, no other connection",
           (count, websockets))
    tap.eq(wsdtest.metric(after, "wsd_connection_duration_seconds_bucket",
                          le="3600"), count,
           "histograms: none lasted an hour")
    t = wsdtest.admin_stats(port)["totals"]
    tap.eq(list(t["rxMessageBytes"]["buckets"]),
           ["64", "1024", "16384", "262144", "1048576", "16777216", "+Inf"],
           "/v1/stats: rxMessageBytes buckets in order of size")
    tap.eq(t["connectionDurationMs"]["buckets"]["+Inf"], count,
           "/v1/stats: connectionDurationMs counts the same WebSockets")


PROCESS_METRICS = ["process_cpu_seconds_total",
                   "process_resident_memory_bytes",
                   "process_virtual_memory_bytes", "process_open_fds",
                   "process_max_fds", "process_start_time_seconds"]


def proc_start_s(pid):
    """When pid started, Unix time in s, from /proc as proc(5) has it."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    with open("/proc/stat") as f:
        btime = int(re.search(r"^btime (\d+)$", f.read(), re.M).group(1))
    return btime + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def proc_max_fds(pid):
    with open("/proc/%d/limits" % pid) as f:
        return int(re.search(r"^Max open files\s+(\d+)", f.read(),
                             re.M).group(1))


def process_series(families, name):
    """{(process, worker): value} of a process_* family."""
    f = families.get(name) or {"samples": []}
    return {(ls.get("process"), ls.get("worker")): v
            for _, ls, v in f["samples"]}


def t_processes(w, port):
    """process_* for the master and each worker, labelled
    {process="master"} and {process="worker",worker="SLOT"}; the
    descriptor limit (set low by the test) below max_connections, which
    is what an operator alerts on; a respawned worker's series are the new
    process's."""
    wsdtest.wait_until(lambda: len(w.workers()) == 2, 5)
    slots = {str(x["slot"]): x["pid"]
             for x in wsdtest.admin_stats(port)["workers"]}
    pids = {("master", None): w.pid}
    pids.update({("worker", k): v for k, v in slots.items()})
    families, _, _ = wsdtest.admin_metrics(port)
    for name in PROCESS_METRICS:
        series = process_series(families, name)
        tap.eq(sorted(series, key=str), sorted(pids, key=str),
               "processes: %s for the master and each worker" % name)
    max_fds = process_series(families, "process_max_fds")
    tap.eq(max_fds, {k: proc_max_fds(p) for k, p in pids.items()},
           "processes: process_max_fds is each one's RLIMIT_NOFILE")
    tap.ok(all(v < wsdtest.metric(families, "wsd_connections_max")
               for v in max_fds.values()),
           "processes: below wsd_connections_max, for an alert to see",
           (max_fds, wsdtest.metric(families, "wsd_connections_max")))
    starts = process_series(families, "process_start_time_seconds")
    off = {k: abs(starts.get(k, 0) - proc_start_s(p))
           for k, p in pids.items()}
    tap.ok(all(d < 0.02 for d in off.values()),
           "processes: process_start_time_seconds as /proc/PID/stat says",
           off)
    workers = {k: p for k, p in pids.items() if k[0] == "worker"}
    want = {k: wsdtest.fd_count_settled(p) for k, p in workers.items()}
    families, _, _ = wsdtest.admin_metrics(port)
    fds = process_series(families, "process_open_fds")
    tap.eq({k: fds.get(k) for k in workers}, want,
           "processes: process_open_fds of each idle worker, as "
           "/proc/PID/fd lists them")
    rss = process_series(families, "process_resident_memory_bytes")
    cpu = process_series(families, "process_cpu_seconds_total")
    tap.ok(all(rss[k] > 0 and 0 <= cpu[k] < 3600 for k in pids),
           "processes: resident memory and CPU time are there", (rss, cpu))

    victim = slots["0"]
    os.kill(victim, signal.SIGKILL)

    def respawned():
        x = wsdtest.admin_stats(port)["workers"][0]
        return x["pid"] not in (None, victim) and x["generation"] == 2
    tap.ok(wsdtest.wait_until(respawned, 5), "processes: worker 0 respawned")
    w.workers()
    fresh = wsdtest.admin_stats(port)["workers"][0]["pid"]
    families, _, _ = wsdtest.admin_metrics(port)
    starts = process_series(families, "process_start_time_seconds")
    tap.ok(abs(starts.get(("worker", "0"), 0) - proc_start_s(fresh)) < 0.02,
           "processes: worker 0's series are the new process's",
           (starts, proc_start_s(fresh)))


def exits(families, reason):
    """{slot: count} of wsd_worker_exits_total for reason, non-zero."""
    f = families.get("wsd_worker_exits_total") or {"samples": []}
    return {ls["worker"]: v for _, ls, v in f["samples"]
            if ls.get("reason") == reason and v}


def t_reloads_and_crashes(w, port, conf):
    """A reload retires its workers, which is no crash; a refused reload
    is counted apart; a worker SIGKILLed is a crash of its slot."""
    families, _, _ = wsdtest.admin_metrics(port)
    tap.eq([wsdtest.metric(families, "wsd_reloads_total", result=r)
            for r in ("done", "refused")], [0, 0],
           "reloads: none at the start")
    old = w.workers()
    with open(conf, "w") as f:
        f.write("idle_timeout_ms 0\n")
    w.signal(signal.SIGHUP)
    tap.ok(wsdtest.wait_until(
        lambda: not any(wsdtest.alive(p) for p in old), 5),
        "reloads: the old workers exit")

    def retired():
        return exits(wsdtest.admin_metrics(port)[0], "retired")
    wsdtest.wait_until(lambda: len(retired()) == 2, 5)
    families, _, _ = wsdtest.admin_metrics(port)
    tap.eq(wsdtest.metric(families, "wsd_reloads_total", result="done"), 1,
           "reloads: wsd_reloads_total{result=\"done\"} 1")
    tap.eq(exits(families, "retired"), {"0": 1, "1": 1},
           "reloads: the old generation's two workers retired")
    tap.eq((exits(families, "crashed"), exits(families, "fatal")), ({}, {}),
           "reloads: no crash")

    with open(conf, "w") as f:
        f.write("max_message_bytes banana\n")
    w.signal(signal.SIGHUP)
    tap.ok(wsdtest.wait_until(lambda: wsdtest.metric(
        wsdtest.admin_metrics(port)[0], "wsd_reloads_total",
        result="refused") == 1, 5),
        "reloads: a bad configuration: wsd_reloads_total{result=\"refused\"}")

    doc = wsdtest.admin_stats(port)
    running = [x for x in doc["workers"] if x["pid"] is not None]
    tap.eq(sorted(x["slot"] for x in running), [2, 3],
           "reloads: the new workers run in slots 2 and 3")
    victim = running[0]
    os.kill(victim["pid"], signal.SIGKILL)

    def respawned():
        for x in wsdtest.admin_stats(port)["workers"]:
            if x["slot"] == victim["slot"]:
                return x["pid"] not in (None, victim["pid"])
        return False
    tap.ok(wsdtest.wait_until(respawned, 5), "crash: the worker respawned")
    w.workers()
    families, _, _ = wsdtest.admin_metrics(port)
    tap.eq(exits(families, "crashed"), {str(victim["slot"]): 1},
           "crash: wsd_worker_exits_total{reason=\"crashed\"} of its slot")
    tap.eq(exits(families, "retired"), {"0": 1, "1": 1},
           "crash: retired unchanged")
    tap.eq([wsdtest.metric(families, "wsd_reloads_total", result=r)
            for r in ("done", "refused")], [1, 1],
           "crash: reloads unchanged")
    doc = wsdtest.admin_stats(port)
    tap.eq(doc["reloads"], {"done": 1, "refused": 1}, "/v1/stats: reloads")
    tap.eq({x["slot"]: x["exits"] for x in doc["workers"]},
           {0: {"crashed": 0, "fatal": 0, "retired": 1},
            1: {"crashed": 0, "fatal": 0, "retired": 1},
            victim["slot"]: {"crashed": 1, "fatal": 0, "retired": 0},
            5 - victim["slot"]: {"crashed": 0, "fatal": 0, "retired": 0}},
           "/v1/stats: each worker's exits")


def tls_client(port):
    """A TLS connection to 127.0.0.1:port (the test's own certificate is
    not verified)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout(5))
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def close_both_ways(s):
    """Our close 1000, the server's answer, its TCP close."""
    wsdtest.send_close(s, 1000)
    wsdtest.read_close(s)
    wsdtest.drain_until_eof(s, 3)
    s.close()


def t_tls_deflate_timeouts(w, port):
    """One of each: a TLS handshake that fails (a ClientHello with
    nothing in it) beside one that succeeds and plain HTTP to the TLS
    port (a wrong protocol, no TLS handshake); a WebSocket with permessage-deflate
    beside one without; the handshake, close and ping timeouts running
    out once each."""
    s = wsdtest.connect(w.tls_port)
    s.sendall(wsdtest.handshake_request())
    tap.ok(wsdtest.expect_eof(s, 3), "tls: plain HTTP to the TLS port ends")
    s.close()
    s = wsdtest.connect(w.tls_port)
    # A handshake record holding a ClientHello of length 0: OpenSSL fails.
    s.sendall(bytes([22, 3, 1, 0, 4, 1, 0, 0, 0]))
    tap.ok(wsdtest.expect_eof(s, 3), "tls: an empty ClientHello ends")
    s.close()
    s = tls_client(w.tls_port)
    s.sendall(wsdtest.handshake_request())
    status, _ = wsdtest.read_http_head(s)
    tap.eq(status, 101, "tls: a TLS client gets its WebSocket")
    close_both_ways(s)

    s = wsdtest.connect(w.port)
    s.sendall(wsdtest.handshake_request(
        extra=["Sec-WebSocket-Extensions: permessage-deflate"]))
    status, headers = wsdtest.read_http_head(s)
    tap.ok(status == 101 and "permessage-deflate" in
           headers.get("sec-websocket-extensions", ""),
           "deflate: granted", headers)
    close_both_ways(s)
    close_both_ways(wsdtest.open_ws(w.port))

    s = wsdtest.connect(w.port)
    s.sendall(b"GET /ws HTTP/1.1\r\n")
    tap.ok(wsdtest.expect_eof(s, 3), "timeout: an unfinished handshake ends")
    s.close()
    s = wsdtest.open_ws(w.port)
    s.sendall(wsdtest.frame(1, b"\xc0\x80"))
    code, _, _ = wsdtest.read_close(s)
    tap.eq(code, 1007, "timeout: invalid UTF-8 fails with 1007")
    tap.ok(wsdtest.expect_eof(s, 3), "timeout: our close never comes: ends")
    s.close()
    s = wsdtest.open_ws(w.port)
    s.settimeout(timeout(3))
    code, reason, before = wsdtest.read_close(s)
    tap.eq((code, reason, [op for op, _ in before]),
           (1001, b"ping timeout", [9]),
           "timeout: an unanswered ping: close 1001 'ping timeout'")
    wsdtest.send_close(s, 1001)
    wsdtest.drain_until_eof(s, 3)
    s.close()

    families = settled(port)
    got = {k: wsdtest.metric(families, "wsd_timeouts_total", kind=k)
           for k in ("handshake", "close", "ping", "idle")}
    tap.eq(got, {"handshake": 1, "close": 1, "ping": 1, "idle": 0},
           "metrics: wsd_timeouts_total by kind")
    tap.eq(wsdtest.metric(families, "wsd_tls_handshakes_failed_total"), 1,
           "metrics: wsd_tls_handshakes_failed_total counts the failure "
           "alone")
    tap.eq(wsdtest.metric(families, "wsd_deflate_negotiated_total"), 1,
           "metrics: wsd_deflate_negotiated_total counts the deflate "
           "WebSocket alone")
    tap.eq(wsdtest.metric(families, "wsd_tls_opened_total"), 1,
           "metrics: wsd_tls_opened_total counts the wss:// WebSocket "
           "alone (not the failed or plain ones on its port)")
    t = wsdtest.admin_stats(port)["totals"]
    tap.eq(t["wrongProtocol"], {"tlsOnPlainPort": 0, "plainOnTlsPort": 1},
           "/v1/stats: plain HTTP to the TLS port is a wrong protocol, not "
           "a failed TLS handshake")
    tap.eq((t["tlsHandshakesFailed"], t["deflateNegotiated"], t["tlsOpened"],
            t["timeouts"]),
           (1, 1, 1, got), "/v1/stats: tlsHandshakesFailed, "
                           "deflateNegotiated, tlsOpened, timeouts")


def t_idle(w, port):
    s = wsdtest.open_ws(w.port)
    s.settimeout(timeout(3))
    code, reason, _ = wsdtest.read_close(s)
    tap.eq((code, reason), (1001, b"idle timeout"),
           "idle: a silent peer gets close 1001 'idle timeout'")
    wsdtest.send_close(s, 1001)
    wsdtest.drain_until_eof(s, 3)
    s.close()
    families = settled(port)
    tap.eq(wsdtest.metric(families, "wsd_timeouts_total", kind="idle"), 1,
           "metrics: wsd_timeouts_total{kind=\"idle\"} 1")


def main():
    with wsdtest.Wsd(tap, workers=2) as w:
        port = wsdtest.admin_port(w)
        wsdtest.guard(tap, "traffic", traffic, w.port)
        families, problems, text = wsdtest.admin_metrics(port)
        tap.eq(problems, [], "metrics: the exposition parses")
        wsdtest.guard(tap, "promtool", t_promtool, text)
        wsdtest.guard(tap, "names", t_names, families)
        wsdtest.guard(tap, "outcomes", t_outcomes, w, port)
        wsdtest.guard(tap, "histograms", t_histograms, w, port)
        received = wsdtest.metric(families, "wsd_bytes_total",
                                  direction="received")
        tap.ok(received is not None and received > 0,
               "metrics: wsd_bytes_total counts the bytes received",
               received)
    d = tempfile.mkdtemp(prefix="wsd-metrics-")
    try:
        cert, key = wsdtest.make_cert(d, "localhost")
        args = ["--tls_listen", "127.0.0.1:0", "--tls_certificate", cert,
                "--tls_certificate_key", key, "--handshake_timeout_ms", "300",
                "--close_timeout_ms", "300", "--ping_interval_ms", "200",
                "--pong_timeout_ms", "200"]
        with wsdtest.Wsd(tap, args=args) as w:
            wsdtest.guard(tap, "tls, deflate and timeouts",
                          t_tls_deflate_timeouts, w, wsdtest.admin_port(w))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    w = wsdtest.Wsd(tap, args=["--max_connections", "5000"], workers=2)
    w.preexec = wsdtest.descriptor_limit(300)
    with w:
        wsdtest.guard(tap, "processes", t_processes, w, wsdtest.admin_port(w))
    d = tempfile.mkdtemp(prefix="wsd-metrics-")
    try:
        conf = os.path.join(d, "wsd.conf")
        with open(conf, "w") as f:
            f.write("")
        with wsdtest.Wsd(tap, args=["-c", conf], workers=2) as w:
            wsdtest.wait_until(lambda: len(w.workers()) == 2, 5)
            wsdtest.guard(tap, "reloads and crashes", t_reloads_and_crashes,
                          w, wsdtest.admin_port(w), conf)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    args = ["--idle_timeout_ms", "200", "--ping_interval_ms", "0"]
    with wsdtest.Wsd(tap, args=args) as w:
        wsdtest.guard(tap, "idle", t_idle, w, wsdtest.admin_port(w))
    tap.done()


if __name__ == "__main__":
    main()
