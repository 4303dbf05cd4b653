# SPDX-License-Identifier: MIT
"""wsd as a daemon: reload on SIGHUP (new connections see the new
configuration while an existing one keeps echoing; a bad configuration
changes nothing), graceful shutdown on SIGQUIT (close 1001 after the
message in flight, before the TCP close), the pidfile (atomic, locked,
refuses a second wsd, removed at exit), log and access log files reopened
on SIGUSR1 after a rename, syslog, keepalive pings and the idle timeout,
detaching, privilege drop, the descriptor limit, sd_notify and process
titles.

Real processes on 127.0.0.1 ports the kernel picks; every wait bounded.
"""
import ctypes
import os
import select
import pwd
import re
import shutil
import signal
import socket
import ssl
import stat
import struct
import subprocess
import tempfile
import time

import wsdtest
from wsdtest import echo_raw, timeout

tap = wsdtest.Tap()
TMP = tempfile.mkdtemp(prefix="wsd-daemon-")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().rstrip(b"\0").replace(b"\0", b" ").decode()
    except OSError:
        return None


def status_of(port, path):
    """The HTTP status of an upgrade request for path."""
    s = wsdtest.connect(port)
    try:
        s.sendall(wsdtest.handshake_request(path))
        return wsdtest.read_http_response(s)[0]
    finally:
        s.close()


def close_exchange(s, seconds=5):
    """Reads frames until the server's close; answers it. Returns the code
    and reason, or (None, error text)."""
    s.settimeout(timeout(seconds))
    try:
        code, reason, _ = wsdtest.read_close(s)
        s.sendall(wsdtest.frame(8, wsdtest.close_payload(code or 1000)))
        return code, reason
    except (OSError, EOFError, ValueError) as e:
        return None, str(e)


# Reload ----------------------------------------------------------------------

def t_reload():
    conf = os.path.join(TMP, "reload.conf")
    write(conf, "path /one\nshutdown_timeout_ms 60000\n")
    with wsdtest.Wsd(tap, args=["-c", conf], workers=2) as w:
        wsdtest.wait_until(lambda: len(w.workers()) == 2, 5)
        old = set(w.workers())
        a = wsdtest.open_ws(w.port, path="/one")
        tap.ok(echo_raw(a), "reload: a connection on /one echoes before HUP")
        owner = wsdtest.conn_owner(a, old)

        write(conf, "path /two\nshutdown_timeout_ms 60000\n")
        w.signal(signal.SIGHUP)
        tap.ok(wsdtest.wait_until(lambda: len(set(w.workers()) - old) == 2,
                                  5), "reload: two new workers start",
               w.workers())
        new = set(w.workers()) - old
        wsdtest.wait_until(lambda: all((cmdline(p) or "").startswith("wsd: w")
                                       for p in new), 5)
        tap.eq(sorted(cmdline(p) for p in new),
               ["wsd: worker 0", "wsd: worker 1"],
               "reload: the new workers are titled by their number, 0 and 1, "
               "not by their slot")
        tap.ok(echo_raw(a), "reload: the existing connection keeps echoing")
        tap.ok(echo_raw(a), "reload: ... and again")
        tap.ok(owner is not None and "(retiring)" in (cmdline(owner) or ""),
               "reload: its worker is titled 'wsd: worker N (retiring)'",
               cmdline(owner) if owner else None)
        other = (old - {owner}).pop() if owner in old else None
        tap.ok(other is not None and wsdtest.wait_until(
            lambda: not wsdtest.alive(other), 5),
            "reload: the old worker without connections exits")
        tap.eq(status_of(w.port, "/one"), 404,
               "reload: new connections see the new path (/one: 404)")
        b = wsdtest.open_ws(w.port, path="/two")
        tap.ok(echo_raw(b), "reload: /two echoes")
        tap.ok(wsdtest.conn_owner(b, new) is not None,
               "reload: a new worker holds the new connection")
        b.close()

        # A configuration with an error changes nothing.
        write(conf, "path /three\nmax_message_bytes banana\n")
        w.signal(signal.SIGHUP)
        tap.ok(wsdtest.wait_until(lambda: "reload refused" in w.log(), 5),
               "reload: a bad value is logged as refused")
        tap.ok("max_message_bytes" in w.log(),
               "reload: the log names the bad directive")
        time.sleep(timeout(0.3))
        tap.eq(set(w.workers()), new | {owner},
               "reload refused: the same workers run")
        tap.eq(status_of(w.port, "/two"), 101, "reload refused: /two still")
        tap.ok(echo_raw(a), "reload refused: the old connection echoes")

        # Restart-only directives refuse a reload too.
        write(conf, "path /two\nstats_cases 10\n")
        w.signal(signal.SIGHUP)
        tap.ok(wsdtest.wait_until(
            lambda: "stats_cases: a changed value needs a restart" in w.log(),
            5), "reload: stats_cases needs a restart, and the log says so")

        # A reload while the previous generation still drains: that one
        # closes now (1001), then the reload happens.
        write(conf, "path /four\n")
        w.signal(signal.SIGHUP)
        code, reason = close_exchange(a)
        tap.eq(code, 1001, "second reload: the oldest connection gets 1001")
        tap.ok(wsdtest.expect_eof(a, 3), "... then its TCP close")
        a.close()
        tap.ok(wsdtest.wait_until(lambda: status_of(w.port, "/four") == 101,
                                  5), "second reload: /four is served")
        tap.ok(wsdtest.wait_until(lambda: len(w.workers()) == 2, 5),
               "second reload: two workers in the end", w.workers())


def t_reload_grace():
    """Old workers serve their connections for shutdown_timeout_ms, then
    close them with 1001 and exit."""
    conf = os.path.join(TMP, "grace.conf")
    write(conf, "shutdown_timeout_ms 300\n")
    with wsdtest.Wsd(tap, args=["-c", conf]) as w:
        old = w.workers()
        a = wsdtest.open_ws(w.port)
        tap.ok(echo_raw(a), "reload grace: echo before HUP")
        w.signal(signal.SIGHUP)
        t0 = time.monotonic()
        code, reason = close_exchange(a)
        tap.eq((code, reason), (1001, b"server reloading"),
               "reload grace: 1001 'server reloading' once "
               "shutdown_timeout_ms is over")
        tap.ok(time.monotonic() - t0 >= 0.25,
               "reload grace: not before shutdown_timeout_ms")
        tap.ok(wsdtest.expect_eof(a, 3), "reload grace: then the TCP close")
        tap.ok(wsdtest.wait_until(
            lambda: not any(wsdtest.alive(p) for p in old), 5),
            "reload grace: the old worker exits")
        tap.ok(wsdtest.wait_until(
            lambda: len(w.workers()) == 1 and not set(w.workers()) & set(old),
            5), "reload grace: one new worker serves")
        a.close()

        # Many connections: their 1001s are spread over a second, so that
        # their clients do not all reconnect in the same moment.
        conns = [wsdtest.open_ws(w.port) for _ in range(20)]
        w.signal(signal.SIGHUP)
        arrivals = {}
        end = time.monotonic() + timeout(5)
        for c in conns:
            c.setblocking(False)
        while len(arrivals) < len(conns) and time.monotonic() < end:
            ready, _, _ = select.select(
                [c for c in conns if c not in arrivals], [], [], 0.05)
            for c in ready:
                arrivals[c] = time.monotonic()
        for c in conns:
            c.setblocking(True)
        codes = [close_exchange(c) for c in conns]
        tap.eq(codes, [(1001, b"server reloading")] * len(conns),
               "reload grace: each of 20 connections gets 1001 'server "
               "reloading'")
        spread = (max(arrivals.values()) - min(arrivals.values())
                  if arrivals else 0)
        tap.ok(spread >= 0.4, "reload grace: the 1001s are spread out, not "
                              "sent at once (%.2f s between the first and "
                              "the last)" % spread)
        for c in conns:
            c.close()


def t_close_window(sig):
    """A graceful stop (QUIT) or a reload's end (HUP) has at most
    close_window close handshakes under way: the next 1001 goes out as
    one of them ends, not on the spread's clock, nor all at once."""
    name = "reload window" if sig == signal.SIGHUP else "QUIT window"
    reason = (b"server reloading" if sig == signal.SIGHUP
              else b"server shutting down")
    conf = os.path.join(TMP, "window.conf")
    write(conf, "shutdown_timeout_ms %d\nclose_timeout_ms 20000\n"
          "close_window 3\n" % (300 if sig == signal.SIGHUP else 30000))
    w = wsdtest.Wsd(tap, args=["-c", conf]).start()
    try:
        old = w.workers()
        conns = [wsdtest.open_ws(w.port) for _ in range(8)]
        w.signal(sig)

        def told(pending):
            return select.select(pending, [], [], 0)[0]

        tap.ok(wsdtest.wait_until(lambda: len(told(conns)) >= 3, 5),
               "%s: three connections get their 1001" % name)
        # Past a reload's grace and its whole spread: without the window
        # all eight would have theirs by now.
        time.sleep(0.3 + 1.0 + 0.7)
        tap.eq(len(told(conns)), 3, "%s: no more than three while none of "
               "them is answered" % name)
        pending = list(conns)
        codes = []
        for _ in range(len(conns)):
            wsdtest.wait_until(lambda: told(pending), 5)
            ready = told(pending)
            if not ready:
                break
            c = ready[0]
            codes.append(close_exchange(c))
            wsdtest.expect_eof(c, 3)
            c.close()  # the TCP close ends the close handshake
            pending.remove(c)
            if len(pending) >= 3:
                # The answered close made room for exactly one more.
                wsdtest.wait_until(lambda: len(told(pending)) >= 3, 5)
                if len(told(pending)) != 3:
                    break
        tap.eq(codes, [(1001, reason)] * len(conns),
               "%s: each answer lets one more 1001 go, and all eight get "
               "theirs" % name)
        tap.ok(wsdtest.wait_until(
            lambda: not any(wsdtest.alive(p) for p in old), 5),
            "%s: the worker exits with its last connection" % name)
        if sig == signal.SIGQUIT:
            tap.eq(w.wait_exit(10), 0, "%s: wsd exits with status 0" % name)
        for c in conns:
            c.close()
        w.check_log()
    finally:
        w.kill_all()


def t_close_window_shared():
    """close_window is the workers' together: with two workers and a
    window of 2, each worker has one close handshake under way."""
    conf = os.path.join(TMP, "shared-window.conf")
    write(conf, "shutdown_timeout_ms 30000\nclose_timeout_ms 20000\n"
          "close_window 2\n")
    w = wsdtest.Wsd(tap, args=["-c", conf], workers=2).start()
    try:
        wsdtest.wait_until(lambda: len(w.workers()) == 2, 5)
        pids = w.workers()
        conns = [wsdtest.open_ws(w.port) for _ in range(12)]
        owners = {wsdtest.conn_owner(c, pids) for c in conns}
        w.signal(signal.SIGQUIT)
        tap.ok(wsdtest.wait_until(
            lambda: len(select.select(conns, [], [], 0)[0]) >= len(owners),
            5), "shared window: a 1001 from each worker")
        time.sleep(1.0)
        told = select.select(conns, [], [], 0)[0]
        tap.eq(len(told), len(owners), "shared window: one close under way "
               "per worker, %d workers holding the 12" % len(owners))
        for c in conns:
            c.close()
        tap.eq(w.wait_exit(10), 0, "shared window: wsd exits with status 0")
    finally:
        w.kill_all()


def t_reload_close_paced():
    """Closes paced by the window may take longer than the spread and
    close_timeout_ms: the old worker has shutdown_timeout_ms for them."""
    conf = os.path.join(TMP, "paced.conf")
    write(conf, "shutdown_timeout_ms 4000\nclose_timeout_ms 1000\n"
          "close_window 1\n")
    with wsdtest.Wsd(tap, args=["-c", conf]) as w:
        conns = [wsdtest.open_ws(w.port) for _ in range(4)]
        w.signal(signal.SIGHUP)
        codes = []
        pending = list(conns)
        for _ in range(len(conns)):
            if not wsdtest.wait_until(
                    lambda: select.select(pending, [], [], 0)[0], 8):
                break
            c = select.select(pending, [], [], 0)[0][0]
            # Each answer comes late, though within close_timeout_ms: the
            # four take 2.4 s, past one second plus close_timeout_ms.
            time.sleep(0.6)
            codes.append(close_exchange(c))
            wsdtest.expect_eof(c, 3)
            c.close()
            pending.remove(c)
        tap.eq(codes, [(1001, b"server reloading")] * len(conns),
               "reload paced: each of four connections told in turn gets "
               "its 1001")
        tap.ok("dropping" not in w.log(), "reload paced: none was dropped",
               w.log()[-500:])
        for c in conns:
            c.close()


def t_quit_during_spread():
    """QUIT while a reload's spread closes the old worker's connections:
    that worker keeps the spread's deadline (QUIT does not restart it),
    so the master waits for it past a short shutdown_timeout_ms rather
    than killing it."""
    conf = os.path.join(TMP, "spread.conf")
    write(conf, "shutdown_timeout_ms 300\nclose_timeout_ms 3000\n")
    w = wsdtest.Wsd(tap, args=["-c", conf]).start()
    try:
        a = wsdtest.open_ws(w.port)
        tap.ok(echo_raw(a), "QUIT in a spread: echo before HUP")
        w.signal(signal.SIGHUP)
        code, _, _ = wsdtest.read_close(a)  # the spread's 1001, unanswered
        tap.eq(code, 1001, "QUIT in a spread: the old worker sent 1001")
        w.signal(signal.SIGQUIT)
        tap.eq(w.wait_exit(15), 0, "QUIT in a spread: exit status 0")
        tap.ok("did not stop in time" not in w.log(),
               "QUIT in a spread: the old worker was not killed while its "
               "peer had close_timeout_ms to answer", w.log()[-500:])
        a.close()
        w.check_log()
    finally:
        w.kill_all()


def t_reload_listen_and_tls_change():
    """A changed listen address is bound anew; a changed certificate is
    read anew; an unreadable one refuses the reload."""
    conf = os.path.join(TMP, "listen.conf")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port2 = probe.getsockname()[1]
    probe.close()
    write(conf, "")
    with wsdtest.Wsd(tap, args=["-c", conf]) as w:
        write(conf, "listen 127.0.0.1:%d\n" % port2)
        w.signal(signal.SIGHUP)
        # Polled by connecting: a probe binding port2 itself would make
        # the reload's bind fail while it holds the port.
        tap.ok(wsdtest.wait_until(lambda: wsdtest.port_accepts(port2), 5),
               "reload: the new listen address is bound", w.log()[-1500:])
        tap.ok(wsdtest.wait_until(lambda: status_of(port2, "/ws") == 101, 5),
               "reload: the new address serves WebSocket")
        tap.ok(wsdtest.wait_until(lambda: wsdtest.port_is_free(w.port), 5),
               "reload: the old address is released")
        write(conf, "listen 127.0.0.1:%d\ntls_certificate /nonexistent.pem\n"
              "tls_certificate_key /nonexistent.key\n" % port2)
        w.signal(signal.SIGHUP)
        tap.ok(wsdtest.wait_until(
            lambda: w.log().count("reload refused") >= 1, 5),
            "reload: a missing certificate refuses the reload")
        tap.ok("/nonexistent.pem" in w.log(),
               "reload: the log names the certificate file")
        tap.eq(status_of(port2, "/ws"), 101,
               "reload refused: the address still serves")


# A worker killed under load ------------------------------------------------------

def t_kill_under_load():
    """SIGKILL of a worker while every connection is busy echoing: a
    replacement runs within a second, and the other worker's connections
    do not miss an echo."""
    import threading
    with wsdtest.Wsd(tap, workers=2) as w:
        wsdtest.wait_until(lambda: len(w.workers()) == 2, 5)
        workers = w.workers()
        conns = []
        for _ in range(64):
            conns.append(wsdtest.open_ws(w.port))
            owners = [wsdtest.conn_owner(c, workers) for c in conns]
            if len(conns) >= 8 and len(set(owners)) == 2:
                break
        victim = owners[0]
        stop = threading.Event()
        results = {}

        def pump(c):
            n, err = 0, None
            while not stop.is_set() and err is None:
                if echo_raw(c, os.urandom(512)):
                    n += 1
                else:
                    err = "echo failed after %d" % n
            results[c] = (n, err)
        threads = [threading.Thread(target=pump, args=(c,)) for c in conns]
        for t in threads:
            t.start()
        time.sleep(0.3)
        os.kill(victim, signal.SIGKILL)
        t0 = time.monotonic()
        replaced = wsdtest.wait_until(
            lambda: len(w.workers()) == 2 and victim not in w.workers(), 1,
            step=0.005)
        took = time.monotonic() - t0
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout(10))
        tap.ok(replaced, "under load: the killed worker is replaced within "
                         "1 s (%.3f s)" % took)
        survivors = [c for c, o in zip(conns, owners) if o != victim]
        tap.ok(survivors and all(results[c][1] is None and results[c][0] > 0
                                 for c in survivors),
               "under load: %d connections on the other worker never missed "
               "an echo" % len(survivors),
               [results.get(c) for c in survivors])
        doomed = [c for c, o in zip(conns, owners) if o == victim]
        tap.ok(all(results[c][1] is not None for c in doomed),
               "under load: the killed worker's %d connections end"
               % len(doomed))
        fresh = wsdtest.open_ws(w.port)
        tap.ok(echo_raw(fresh), "under load: new connections are served")
        for c in conns + [fresh]:
            c.close()


def served_cert(port):
    """The DER certificate the wss:// endpoint presents now."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port),
                                  timeout=timeout(5)) as raw:
        with ctx.wrap_socket(raw) as s:
            return s.getpeercert(binary_form=True)


def der_of(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def t_reload_certificate():
    """A renewed certificate is taken on reload, without a restart, while
    a wss:// connection made before keeps echoing."""
    d = tempfile.mkdtemp(prefix="certs-", dir=TMP)
    first = wsdtest.make_cert(d, "first")
    second = wsdtest.make_cert(d, "second")
    live_cert, live_key = os.path.join(d, "live.pem"), os.path.join(d,
                                                                   "live.key")
    shutil.copy(first[0], live_cert)
    shutil.copy(first[1], live_key)
    conf = os.path.join(TMP, "cert.conf")
    write(conf, "tls_listen 127.0.0.1:0\ntls_certificate %s\n"
          "tls_certificate_key %s\n" % (live_cert, live_key))
    with wsdtest.Wsd(tap, args=["-c", conf]) as w:
        tap.eq(served_cert(w.tls_port), der_of(first[0]),
               "certificate reload: the first certificate is served")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", w.tls_port),
                                       timeout=timeout(5))
        old = ctx.wrap_socket(raw)
        old.sendall(wsdtest.handshake_request())
        status = wsdtest.read_http_response(old)[0]
        tap.ok(status == 101 and echo_raw(old, b"before"),
               "certificate reload: a wss:// connection echoes")
        shutil.copy(second[0], live_cert)
        shutil.copy(second[1], live_key)
        w.signal(signal.SIGHUP)
        tap.ok(wsdtest.wait_until(
            lambda: served_cert(w.tls_port) == der_of(second[0]), 5),
            "certificate reload: new connections get the renewed one")
        tap.ok(echo_raw(old, b"after"),
               "certificate reload: the connection made before still echoes")
        old.close()


# Graceful and fast shutdown ----------------------------------------------------

def t_quit():
    w = wsdtest.Wsd(tap, args=["--shutdown_timeout_ms", "5000"],
                    workers=2).start()
    try:
        idle = wsdtest.open_ws(w.port)
        busy = wsdtest.open_ws(w.port)
        tap.ok(echo_raw(idle) and echo_raw(busy), "QUIT: echo before")
        # busy has a message in flight: its first fragment only.
        busy.sendall(wsdtest.frame(1, b"first half ", fin=False))
        wsdtest.record_shows(
            tap, w, busy.getsockname()[1],
            "QUIT: the first fragment reached the worker before QUIT",
            lambda r: r["rxFrameStats"].get("1") == 1)
        w.signal(signal.SIGQUIT)
        code, reason = close_exchange(idle)
        tap.eq((code, reason), (1001, b"server shutting down"),
               "QUIT: an idle connection gets close 1001 'going away'")
        tap.ok(wsdtest.expect_eof(idle, 3),
               "QUIT: ... and the TCP close after it")
        busy.settimeout(timeout(0.3))
        try:
            early = busy.recv(64)
        except (socket.timeout, TimeoutError):
            early = None
        tap.eq(early, None, "QUIT: nothing yet while a message is in flight")
        busy.sendall(wsdtest.frame(0, b"second half"))
        busy.settimeout(timeout(5))
        op, got, _ = wsdtest.read_message(busy)
        tap.eq((op, got), (1, b"first half second half"),
               "QUIT: the message in flight is echoed whole")
        code, reason = close_exchange(busy)
        tap.eq(code, 1001, "QUIT: then close 1001")
        tap.ok(wsdtest.expect_eof(busy, 3), "QUIT: then the TCP close")
        tap.eq(w.wait_exit(), 0, "QUIT: the master exits with status 0")
        tap.ok("graceful shutdown" in w.log(), "QUIT: logged as graceful")
        tap.ok(wsdtest.wait_until(lambda: wsdtest.port_is_free(w.port), 2),
               "QUIT: the port is free")
        w.check_log()
    finally:
        w.kill_all()


def quit_with_half_message(name, shutdown_ms, close_ms):
    """A daemon with these timeouts, one connection that sent half a
    message, then SIGQUIT once the worker has that half (else the stop
    would find no message in flight). Returns (daemon, socket)."""
    w = wsdtest.Wsd(tap, args=["--shutdown_timeout_ms", str(shutdown_ms),
                               "--close_timeout_ms", str(close_ms)]).start()
    s = wsdtest.open_ws(w.port)
    s.sendall(wsdtest.frame(2, b"never finished", fin=False))
    wsdtest.record_shows(
        tap, w, s.getsockname()[1],
        "%s: the half message reached the worker before QUIT" % name,
        lambda r: r["rxFrameStats"].get("2") == 1 and r["state"] == "open")
    w.signal(signal.SIGQUIT)
    return w, s


def silent_peer_dropped(name, w, s, started, bound):
    """After a stop began at `started`: the peer s, which answers nothing,
    gets close 1001 and is dropped, and the master exits with status 0
    within `bound` seconds (not scaled: the bound is the daemon's own
    deadline with room for a slow exit, far below close_timeout_ms)."""
    code, _, _ = wsdtest.read_close(s)
    tap.eq(code, 1001, "%s: close 1001" % name)
    tap.ok(wsdtest.expect_eof(s, 12), "%s: the silent peer is dropped" % name)
    tap.eq(w.wait_exit(), 0, "%s: exit status 0" % name)
    took = time.monotonic() - started
    tap.ok(took < bound, "%s: the stop ends within shutdown_timeout_ms, not "
           "close_timeout_ms later" % name, "%.2f s" % took)


def t_quit_deadline():
    """A message left half-sent does not hold a graceful stop past
    shutdown_timeout_ms: then it is a fast stop (1001 anyway)."""
    w, s = quit_with_half_message("QUIT deadline", 300, 300)
    try:
        code, _ = close_exchange(s)
        tap.eq(code, 1001, "QUIT deadline: close 1001 for a stalled message")
        tap.eq(w.wait_exit(), 0, "QUIT deadline: exit status 0")
        s.close()
        w.check_log()
    finally:
        w.kill_all()
    # A peer that does not answer the 1001 does not hold the stop past
    # shutdown_timeout_ms either: the fast stop is its last part, half of it
    # here since close_timeout_ms is longer. (The worker used to give it
    # close_timeout_ms after shutdown_timeout_ms: 11.5 s here. Before that,
    # the master SIGKILLed it and the case ended as "worker died".)
    w, s = quit_with_half_message("QUIT, silent peer", 1500, 10000)
    started = time.monotonic()
    try:
        # Not scaled: the bound is the daemon's own deadline (1.5 s), with
        # room for a slow exit, and far below the 11.5 s of the old way.
        silent_peer_dropped("QUIT, silent peer", w, s, started, 6.5)
        tap.ok("did not stop in time" not in w.log() and
               "died with" not in w.log(),
               "QUIT, silent peer: the worker was not killed", w.log()[-500:])
        left = re.search(r"\((\d+) ms left for the close handshakes\)",
                         w.log())
        tap.ok(left is not None and int(left.group(1)) <= 750,
               "QUIT, silent peer: the fast stop took at most the second "
               "half", w.log()[-500:])
        s.close()
        w.check_log()
    finally:
        w.kill_all()
    # A SIGTERM in the middle of a graceful stop starts the fast stop at
    # once, with close_timeout_ms (10 s here) cut to what is left of
    # shutdown_timeout_ms (4 s): the stop still ends by then.
    w, s = quit_with_half_message("QUIT then TERM", 4000, 10000)
    started = time.monotonic()
    try:
        time.sleep(0.5)
        w.signal(signal.SIGTERM)
        silent_peer_dropped("QUIT then TERM", w, s, started, 7.5)
        s.close()
        w.check_log()
    finally:
        w.kill_all()


# Pidfile ---------------------------------------------------------------------

def t_pidfile():
    pidfile = os.path.join(TMP, "wsd.pid")
    write(pidfile, "999999999\n")  # a stale file, longer than any pid
    w = wsdtest.Wsd(tap, args=["--pidfile", pidfile]).start()
    try:
        tap.eq(read(pidfile), "%d\n" % w.pid,
               "pidfile: holds the master's pid (a stale file is taken over)")
        status, _, err = wsdtest.run_once(
            ["--listen", "127.0.0.1:0", "--pidfile", pidfile,
             "--admin_listen", "off"])
        tap.eq(status, 2, "pidfile: a second wsd exits 2")
        tap.ok("locked by a running wsd (pid %d)" % w.pid in err,
               "pidfile: ... naming the running pid", err)
        tap.eq(read(pidfile), "%d\n" % w.pid,
               "pidfile: the second wsd left it alone")
        w.stop()
        tap.ok(not os.path.exists(pidfile), "pidfile: removed at exit")
    finally:
        w.kill_all()
    rel = subprocess.run([wsdtest.WSD, "--pidfile", "relative.pid", "-t"],
                         capture_output=True, text=True, cwd=TMP,
                         timeout=timeout(10))
    tap.ok(rel.returncode == 0 and "wsd: pidfile %s\n"
           % os.path.join(os.path.realpath(TMP), "relative.pid") in rel.stdout,
           "pidfile: a relative name is taken from the current directory, "
           "and wsd -t shows it absolute", rel.stdout + rel.stderr)


# Logs --------------------------------------------------------------------------

ACCESS_RE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z peer=127\.0\.0\.1:(\d+) "
    r"path=(\S+) status=(\d+) duration_ms=\d+ rx_bytes=(\d+) tx_bytes=(\d+) "
    r"rx_messages=(\d+) tx_messages=(\d+) close_sent=(\S+) "
    r"close_received=(\S+) id=(\d+)( case=\S+)?( agent=\S+)? worker=(\d+) "
    r"clean=(yes|no)( reason=\"[^\"]*\")? user_agent=\"([^\"]*)\""
    r"( close_sent_reason=\"[^\"]*\")?( close_received_reason=\"[^\"]*\")?$")


def t_log_files_and_usr1():
    d = tempfile.mkdtemp(prefix="logs-", dir=TMP)
    log, access = os.path.join(d, "wsd.log"), os.path.join(d, "access.log")
    with wsdtest.Wsd(tap, args=["--log", log, "--access_log", access,
                                "--log_level", "debug"], workers=2) as w:
        w.log_files = [log]
        tap.ok(": 2 workers, path /ws, listen 127.0.0.1:%d" % w.port
               in read(log),
               "log file: the start-up line, with the bound address, is in "
               "it", read(log)[-500:])
        s = wsdtest.open_ws(w.port, path="/ws?case=7&agent=a%20b",
                            extra=['User-Agent: evil "ua"\\ \u00e9'])
        tap.ok(echo_raw(s, b"x" * 10), "access log: echo")
        # A NUL in the reason is valid UTF-8: kept, and escaped.
        s.sendall(wsdtest.frame(8, wsdtest.close_payload(1000, b"b\x00ye")))
        wsdtest.read_close(s)
        wsdtest.expect_eof(s, 3)
        s.close()
        tap.ok(wsdtest.wait_until(lambda: "close_sent" in read(access), 5),
               "access log: a line when the connection closes")
        lines = read(access).splitlines()
        m = ACCESS_RE.match(lines[-1]) if lines else None
        tap.ok(m is not None, "access log: the line has every field",
               lines[-1:] if lines else None)
        if m:
            tap.eq(m.group(2), "/ws", "access log: path")
            tap.eq(m.group(3), "101", "access log: status")
            tap.eq((m.group(6), m.group(7)), ("1", "1"),
                   "access log: one message each way")
            tap.eq((m.group(8), m.group(9), m.group(14)),
                   ("1000", "1000", "yes"),
                   "access log: close codes both ways, clean")
            tap.ok(int(m.group(4)) > 0 and int(m.group(5)) > 0,
                   "access log: bytes each way")
            tap.eq((m.group(11), m.group(12)), (" case=7", " agent=a%20b"),
                   "access log: the query's case and agent, apart from id")
            tap.eq(m.group(16), r"evil \x22ua\x22\x5c \xc3\xa9",
                   "access log: the user agent, quoted and escaped")
            tap.eq((m.group(17), m.group(18)),
                   (None, r' close_received_reason="b\x00ye"'),
                   "access log: the close reason received, quoted, its NUL "
                   "escaped")
            rec = wsdtest.admin_case(wsdtest.admin_port(w), int(m.group(10)))
            tap.ok(rec is not None and rec["case"] == "7" and
                   rec["peer"] == "127.0.0.1:" + m.group(1),
                   "access log: id= is the record's id", rec)
        tap.eq(status_of(w.port, "/nowhere"), 404, "access log: a 404")
        tap.ok(wsdtest.wait_until(lambda: "status=404" in read(access), 5),
               "access log: refusals are logged with their status")

        os.rename(log, log + ".1")
        os.rename(access, access + ".1")
        w.signal(signal.SIGUSR1)
        tap.ok(wsdtest.wait_until(lambda: os.path.exists(log) and
                                  os.path.exists(access), 5),
               "USR1: new log files are created")
        tap.ok(wsdtest.wait_until(
            lambda: "reopened the log files" in read(log), 5),
            "USR1: the master writes to the new log")
        tap.ok(wsdtest.wait_until(lambda: "signal 10" in read(log), 5),
               "USR1: the workers write to the new log too")
        s = wsdtest.open_ws(w.port)
        echo_raw(s)
        s.close()
        tap.ok(wsdtest.wait_until(lambda: "status=101" in read(access), 5),
               "USR1: the next connection goes to the new access log")
        tap.eq(read(access + ".1").count("\n"), 2,
               "USR1: the renamed access log got nothing more")
        w.log_files = [log, log + ".1"]
    status, _, err = wsdtest.run_once(["--log", "/nonexistent/dir/wsd.log",
                                       "--listen", "127.0.0.1:0",
                                       "--admin_listen", "off"])
    tap.ok(status == 2 and "/nonexistent/dir/wsd.log" in err,
           "log: an unwritable file stops start-up, named", err)


def t_access_log_worker_died():
    """A connection whose worker dies has its line too, which the master
    writes from the record, as it writes the case log's."""
    access = os.path.join(TMP, "died.access.log")
    with wsdtest.Wsd(tap, args=["--access_log", access]) as w:
        s = wsdtest.open_ws(w.port, path="/ws?case=doomed")
        tap.ok(echo_raw(s), "access log, worker died: the connection echoes")
        worker = w.workers()[0]
        os.kill(worker, signal.SIGKILL)
        tap.ok(wsdtest.wait_until(lambda: "doomed" in read(access), 5),
               "access log, worker died: the connection has a line",
               read(access))
        s.close()
        lines = read(access).splitlines()
        m = ACCESS_RE.match(lines[0]) if lines else None
        tap.ok(len(lines) == 1 and m is not None and
               m.group(3) == "101" and m.group(11) == " case=doomed" and
               m.group(14) == "no" and
               m.group(15) == ' reason="worker died"',
               "access log, worker died: status 101, unclean, \"worker "
               "died\"", lines)
        if m:
            rec = wsdtest.admin_case(wsdtest.admin_port(w), int(m.group(10)))
            tap.ok(rec is not None and rec["case"] == "doomed",
                   "access log, worker died: id= is the record's id", rec)


def syslog_capture():
    """A datagram socket that receives what wsd sends to /dev/log, and the
    preexec function that makes the daemon's /dev/log be it: the socket is
    bound at /dev/log itself when the machine has none, or bind-mounted
    over it in a mount namespace of the daemon's own. None when neither is
    possible (not root)."""
    if os.geteuid() != 0:
        return None, None, None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if not os.path.exists("/dev/log"):
        sock.bind("/dev/log")
        return sock, None, "/dev/log"
    path = os.path.join(TMP, "log.sock")
    sock.bind(path)

    def private_dev_log():
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong,
                                                       ctypes.c_void_p]
        if (libc.unshare(0x20000) != 0 or  # CLONE_NEWNS
                libc.mount(b"none", b"/", None, 0x4000 | 0x40000, None) != 0
                or libc.mount(path.encode(), b"/dev/log", None, 0x1000,
                              None) != 0):  # MS_REC|MS_PRIVATE, MS_BIND
            raise OSError(ctypes.get_errno(), "private /dev/log")
    return sock, private_dev_log, None


def t_signals_at_birth():
    """A worker takes USR1 (and the master USR2) at any moment: USR1s sent
    while a worker is being replaced must not kill the new one, which
    blocks them until its handlers are in place."""
    with wsdtest.Wsd(tap, workers=2) as w:
        for _ in range(5):
            victim = w.workers()[0]
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + timeout(3)
            sent = 0
            while time.monotonic() < deadline:
                w.signal(signal.SIGUSR1)
                sent += 1
                time.sleep(0.0005)
                kids = w.workers()
                if victim not in kids and len(kids) == 2 and sent > 200:
                    break
        time.sleep(0.2)
        killed = [line for line in w.log().splitlines()
                  if "killed by signal %d" % signal.SIGUSR1 in line]
        tap.ok(not killed, "USR1 during a worker's start-up does not kill it",
               "\n".join(killed[:5]))
        tap.eq(len(w.workers()), 2, "USR1 storm: both workers run")
        w.signal(signal.SIGUSR2)
        tap.ok(wsdtest.wait_until(lambda: "USR2 ignored" in w.log(), 5),
               "USR2 to the master: logged and ignored", w.log()[-300:])
        s = wsdtest.open_ws(w.port)
        tap.ok(echo_raw(s), "USR2 to the master: wsd still serves")
        s.close()


def t_syslog():
    sock, preexec, created = syslog_capture()
    w = wsdtest.Wsd(tap, args=["--log", "syslog", "--log_level", "debug"])
    w.preexec = preexec
    try:
        w.start()
        s = wsdtest.open_ws(w.port)
        tap.ok(echo_raw(s), "syslog: echo")
        s.close()
        time.sleep(timeout(0.2))
        tap.ok("wsd[" not in w.log(), "syslog: nothing on stderr", w.log())
        if sock is None:
            tap.ok(False, "syslog: cannot capture /dev/log without root")
            return
        sock.settimeout(timeout(3))
        got = []
        want = (lambda g: "info: wsd " in g,
                lambda g: "worker 0 started" in g and "as pid" not in g)
        try:
            while not all(any(f(g) for g in got) for f in want):
                got.append(sock.recv(4096).decode("utf-8", "replace"))
        except (socket.timeout, TimeoutError):
            pass
        tap.ok(any(re.match(r"^<27>|^<\d+>.*wsd\[\d+\]: ", g) for g in got),
               "syslog: lines arrive as 'wsd[PID]:' from the daemon facility",
               got[:3])
        tap.ok(any(g.startswith("<30>") and "info: wsd " in g for g in got),
               "syslog: the start-up line at daemon.info (<30>)", got[:3])
        tap.ok(any("worker 0 started" in g and "as pid" not in g and
                   g.startswith("<31>")
                   for g in got),
               "syslog: a worker's own line (daemon.debug, <31>)", got)
        w.stop()
    finally:
        w.kill_all()
        if sock is not None:
            sock.close()
        if created:
            os.unlink(created)


# Keepalive and idle timeout ---------------------------------------------------

def t_keepalive():
    args = ["--ping_interval_ms", "200", "--pong_timeout_ms", "300"]
    with wsdtest.Wsd(tap, args=args) as w:
        mute = wsdtest.open_ws(w.port)
        mute.settimeout(timeout(3))
        fin, rsv, op, payload = wsdtest.read_frame(mute)
        tap.eq(op, 9, "keepalive: a silent peer gets a ping")
        code, reason = close_exchange(mute)
        tap.eq((code, reason), (1001, b"ping timeout"),
               "keepalive: no answer: close 1001 'ping timeout'")
        tap.ok(wsdtest.expect_eof(mute, 3), "keepalive: then the TCP close")
        # live answers every ping: it stays open well past the timeouts.
        live = wsdtest.open_ws(w.port)
        pings = 0
        end = time.monotonic() + 1.2
        live.settimeout(timeout(2))
        while time.monotonic() < end:
            fin, rsv, op, payload = wsdtest.read_frame(live)
            if op == 9:
                pings += 1
                live.sendall(wsdtest.frame(10, payload))
        tap.ok(pings >= 2, "keepalive: an answering peer is pinged again",
               pings)
        tap.ok(echo_raw(live), "keepalive: and stays open")
        live.close()


class SlowReader:
    """A socket read at about `rate` bytes a second, 4 KiB at a time, its
    receive buffer small: what the server sends it waits in the server's
    kernel, as for a client on a slow link."""

    def __init__(self, s, rate):
        self.s, self.pause = s, 4096.0 / rate
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)

    def recv(self, n):
        time.sleep(self.pause)
        return self.s.recv(min(n, 4096))


def t_keepalive_slow_reader():
    """A peer that reads what we send it, slowly, is not silent: while
    our echoes wait in the kernel for its window, a ping would wait
    behind them, and its answer in turn behind its own unread bytes. Its
    reading is heard instead, and it stays, pinged or not, until it
    closes; a peer that stops reading is still closed for it."""
    args = ["--ping_interval_ms", "300", "--pong_timeout_ms", "300",
            "--close_timeout_ms", "500", "--admin_listen", "127.0.0.1:0"]
    import threading
    with wsdtest.Wsd(tap, args=args) as w:
        s = wsdtest.open_ws(w.port)
        slow = SlowReader(s, 256 * 1024)
        s.settimeout(timeout(10))
        n, body = 12, os.urandom(64 * 1024)
        sender = threading.Thread(
            target=lambda: s.sendall(wsdtest.frame(2, body) * n))
        sender.start()
        echoes, close = 0, None
        try:
            while echoes < n:
                fin, rsv, op, payload = wsdtest.read_frame(slow)
                if op == 9:
                    s.sendall(wsdtest.frame(10, payload))
                elif op == 8:
                    close = payload
                    break
                elif op == 2 and payload == body:
                    echoes += 1
        except (OSError, EOFError) as e:
            close = repr(e)
        sender.join()
        tap.eq((echoes, close), (n, None),
               "keepalive: a slow reader gets its %d echoes (768 KiB at "
               "256 KiB/s)" % n)
        if close is None:
            wsdtest.send_close(s, 1000)
            tap.eq(wsdtest.read_close(s)[:2], (1000, b""),
                   "keepalive: then its own close is answered 1000, the "
                   "server's first (not 1001 'ping timeout')")
        s.close()
        # One that sends and stops reading: closed all the same.
        a = wsdtest.admin_port(w)
        mute = wsdtest.open_ws(w.port)
        mute.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        peer = mute.getsockname()[1]
        th, _ = wsdtest.send_in_background(mute, wsdtest.frame(2, body) * n)
        case = None
        ok = wsdtest.wait_until(
            lambda: (wsdtest.case_by_peer(a, peer) or {}).get("state") ==
            "closed", 15)
        case = wsdtest.case_by_peer(a, peer) or {}
        tap.ok(ok and case.get("localCloseReason") == "ping timeout",
               "keepalive: a peer that stops reading is closed, 1001 "
               "'ping timeout'", {k: case.get(k) for k in (
                   "state", "localCloseCode", "localCloseReason")})
        mute.close()
        th.join()


def t_idle_timeout():
    args = ["--idle_timeout_ms", "400", "--ping_interval_ms", "100"]
    with wsdtest.Wsd(tap, args=args) as w:
        s = wsdtest.open_ws(w.port)
        s.settimeout(timeout(3))
        t0 = time.monotonic()
        code = None
        while time.monotonic() - t0 < timeout(3):
            fin, rsv, op, payload = wsdtest.read_frame(s)
            if op == 9:
                s.sendall(wsdtest.frame(10, payload))
            elif op == 8:
                code = struct.unpack("!H", payload[:2])[0]
                reason = payload[2:]
                s.sendall(wsdtest.frame(8, wsdtest.close_payload(code)))
                break
        tap.eq(code, 1001, "idle: pongs alone do not keep a peer: 1001")
        tap.eq(reason if code else None, b"idle timeout",
               "idle: reason 'idle timeout'")
        tap.ok(time.monotonic() - t0 >= 0.35, "idle: not before the timeout")
        s.close()
        t = wsdtest.open_ws(w.port)
        for _ in range(4):
            time.sleep(0.2)
            tap.ok(echo_raw(t), "idle: a peer sending messages stays open")
        t.close()


# Detaching, privileges, limits, titles, sd_notify ----------------------------------

def t_daemon():
    d = tempfile.mkdtemp(prefix="daemon-", dir=TMP)
    pidfile, log = os.path.join(d, "wsd.pid"), os.path.join(d, "wsd.log")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    status, _, _ = wsdtest.run_once(
        ["--daemon", "on", "--pidfile", pidfile, "--log", log, "--listen",
         "127.0.0.1:%d" % port, "--workers", "1", "--admin_listen", "off"])
    tap.eq(status, 0, "daemon: the starting command returns 0")
    pid = int(read(pidfile) or 0)
    try:
        tap.ok(pid > 0 and wsdtest.alive(pid), "daemon: the pidfile's pid runs")
        tap.eq(cmdline(pid), "wsd: master", "daemon: titled 'wsd: master'")
        tap.eq(os.getsid(pid), pid, "daemon: in a session of its own")
        tap.eq(os.readlink("/proc/%d/cwd" % pid), "/", "daemon: cwd is /")
        tap.eq(os.readlink("/proc/%d/fd/0" % pid), "/dev/null",
               "daemon: stdin is /dev/null")
        tap.eq(os.readlink("/proc/%d/fd/2" % pid), "/dev/null",
               "daemon: stderr is /dev/null once running")
        s = wsdtest.open_ws(port)
        tap.ok(echo_raw(s), "daemon: serves")
        s.close()
        kids = wsdtest.children(pid)
        os.kill(pid, signal.SIGTERM)
        tap.ok(wsdtest.wait_until(lambda: not wsdtest.alive(pid) and
                                  not any(wsdtest.alive(k) for k in kids), 10),
               "daemon: stops on SIGTERM")
        tap.ok(not os.path.exists(pidfile), "daemon: pidfile removed")
    finally:
        if pid > 0 and wsdtest.alive(pid):
            os.kill(pid, signal.SIGKILL)
    r = subprocess.run([wsdtest.WSD, "--daemon", "on", "-t"],
                       capture_output=True, text=True, timeout=timeout(10))
    tap.ok(r.returncode == 0 and "the log goes to syslog" in r.stdout,
           "daemon with log stderr: -t says the log goes to syslog",
           r.stdout + r.stderr)


def t_daemon_syslog_default():
    """`daemon on` alone works: with log stderr (the default) a daemon logs
    to syslog, and says so on the terminal and in the log."""
    d = tempfile.mkdtemp(prefix="daemon-syslog-", dir=TMP)
    pidfile = os.path.join(d, "wsd.pid")
    sock, preexec, created = syslog_capture()
    try:
        rfd, wfd = os.pipe()
        r = subprocess.run([wsdtest.WSD, "--daemon", "on", "--pidfile",
                            pidfile, "--listen", "127.0.0.1:0",
                            "--workers", "1", "--admin_listen", "off",
                            "--ready_fd", str(wfd)],
                           capture_output=True, text=True, pass_fds=(wfd,),
                           preexec_fn=preexec, timeout=timeout(10))
        os.close(wfd)
        r_ready, _, _ = select.select([rfd], [], [], timeout(5))
        line = os.read(rfd, 512).decode() if r_ready else ""
        os.close(rfd)
        tap.eq(r.returncode, 0, "daemon on alone: starts (%s)"
               % r.stderr.strip())
        if r.returncode != 0:
            return
        tap.ok("the log goes to syslog" in r.stderr,
               "daemon on alone: the terminal is told the log goes to syslog",
               r.stderr)
        pid = int(read(pidfile).strip() or 0)
        tap.ok(pid > 0 and wsdtest.alive(pid), "daemon on alone: runs")
        port = int(line.split("listen=")[1].split()[0].rsplit(":", 1)[1]) \
            if "listen=" in line else 0
        s = wsdtest.open_ws(port)
        tap.ok(echo_raw(s), "daemon on alone: serves")
        s.close()
        if sock is None:
            tap.ok(False, "daemon on alone: cannot capture /dev/log "
                          "without root")
            return
        sock.settimeout(timeout(3))
        got = []
        try:
            while not any("info: wsd " in g for g in got):
                got.append(sock.recv(4096).decode("utf-8", "replace"))
        except (socket.timeout, TimeoutError):
            pass
        tap.ok(any("info: wsd " in g and "wsd[%d]" % pid in g for g in got),
               "daemon on alone: the start-up line goes to syslog", got[:5])
        tap.ok(any(g.startswith("<29>") and "the log goes to syslog" in g
                   for g in got),
               "daemon on alone: which says why, at daemon.notice", got[:5])
    finally:
        stop_by_pidfile(pidfile)
        if sock is not None:
            sock.close()
        if created:
            os.unlink(created)


def stop_by_pidfile(pidfile):
    """Stops the daemon whose pid pidfile holds, if one runs: SIGTERM,
    then SIGKILL after a bounded wait. For tests that expected no daemon
    to start."""
    pid = int(read(pidfile).strip() or 0)
    if pid <= 0 or not wsdtest.alive(pid):
        return
    kids = wsdtest.children(pid)
    os.kill(pid, signal.SIGTERM)
    if not wsdtest.wait_until(lambda: not wsdtest.alive(pid), 10):
        for p in [pid] + kids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


def t_daemon_startup_errors():
    """A detached wsd that fails after the fork, once its log is a file,
    says why on the terminal it was started from, not only in the log,
    and the starting command exits with the daemon's status (2)."""
    d = tempfile.mkdtemp(prefix="daemon-errors-", dir=TMP)
    pidfile, log = os.path.join(d, "wsd.pid"), os.path.join(d, "wsd.log")
    missing = os.path.join(d, "missing-cert.pem")
    base = [wsdtest.WSD, "--daemon", "on", "--pidfile", pidfile, "--log",
            log, "--workers", "1", "--admin_listen", "off"]
    try:
        r = subprocess.run(base + ["--listen", "127.0.0.1:0",
                                   "--tls_listen", "127.0.0.1:0",
                                   "--tls_certificate", missing,
                                   "--tls_certificate_key", missing],
                           capture_output=True, text=True,
                           timeout=timeout(10))
        tap.eq(r.returncode, 2, "daemon, bad certificate: the starting "
                                "command exits 2")
        tap.ok("tls_certificate %s" % missing in r.stderr,
               "daemon, bad certificate: the terminal is told which file",
               r.stderr)
        tap.ok("tls_certificate %s" % missing in read(log),
               "daemon, bad certificate: the log says it too", read(log))
    finally:
        stop_by_pidfile(pidfile)
    busy = socket.socket()
    try:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        addr = "127.0.0.1:%d" % busy.getsockname()[1]
        r = subprocess.run(base + ["--listen", addr],
                           capture_output=True, text=True,
                           timeout=timeout(10))
        tap.eq(r.returncode, 2, "daemon, port in use: the starting command "
                                "exits 2")
        tap.ok(addr in r.stderr and "in use" in r.stderr,
               "daemon, port in use: the terminal is told which address",
               r.stderr)
    finally:
        busy.close()
        stop_by_pidfile(pidfile)


def start_detached(args, cwd):
    """Runs `wsd args --daemon on --ready_fd N` in cwd; returns (status
    of the starting command, its stderr, the ready line's fields)."""
    rfd, wfd = os.pipe()
    try:
        proc = subprocess.Popen([wsdtest.WSD] + args +
                                ["--daemon", "on", "--ready_fd", str(wfd)],
                                cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, pass_fds=(wfd,))
        os.close(wfd)
        wfd = -1
        line = wsdtest.read_ready_line(rfd)
        try:
            _, err = proc.communicate(timeout=timeout(10))
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        ready = dict(w.partition("=")[::2] for w in line.decode().split()[1:])
        return proc.returncode, err.decode("utf-8", "replace"), ready
    finally:
        os.close(rfd)
        if wfd != -1:
            os.close(wfd)


def t_relative_paths():
    """File names relative to the directory wsd was started in: -t shows
    them made absolute, a detached wsd (working directory /) finds them at
    start-up, and a reload (SIGHUP) finds them again, the -c file too."""
    d = os.path.realpath(tempfile.mkdtemp(prefix="relative-", dir=TMP))
    for sub in ("etc", "certs", "run", "logs"):
        os.mkdir(os.path.join(d, sub))
    cert, key = wsdtest.make_cert(os.path.join(d, "certs"), "rel")
    write(os.path.join(d, "etc", "token"), "s3cret\n")
    conf = os.path.join(d, "etc", "wsd.conf")
    body = ("workers 1\nlisten 127.0.0.1:0\ntls_listen 127.0.0.1:0\n"
            "admin_listen 127.0.0.1:0\nadmin_token_file etc/token\n"
            "tls_certificate certs/rel.pem\ntls_certificate_key certs/rel.key\n"
            "pidfile run/wsd.pid\nlog logs/wsd.log\n"
            "access_log ./logs/access.log\n")
    write(conf, body + "path /one\n")
    pidfile, log = os.path.join(d, "run", "wsd.pid"), os.path.join(d, "logs",
                                                                 "wsd.log")
    r = subprocess.run([wsdtest.WSD, "-t", "-c", "etc/wsd.conf"], cwd=d,
                       capture_output=True, text=True, timeout=timeout(10))
    want = ["configuration file %s" % conf,
            "admin_token_file %s/etc/token" % d,
            "tls_certificate %s" % cert, "tls_certificate_key %s" % key,
            "pidfile %s" % pidfile, "log %s" % log,
            "access_log %s/logs/access.log" % d]
    tap.ok(r.returncode == 0 and
           all("wsd: %s\n" % w in r.stdout for w in want),
           "relative paths: wsd -t accepts them and shows each absolute",
           r.stdout + r.stderr)
    status, err, ready = start_detached(["-c", "etc/wsd.conf"], d)
    try:
        tap.eq(status, 0, "relative paths: a detached wsd starts (%s)"
               % err.strip())
        if status != 0:
            return
        pid = int(read(pidfile).strip() or 0)
        tap.ok(pid > 0 and wsdtest.alive(pid) and
               str(pid) == ready.get("pid"),
               "relative paths: the pidfile is where -t said", read(pidfile))
        tap.ok("certificate %s" % cert in read(log),
               "relative paths: the log file is where -t said, and names "
               "the certificate absolute", read(log)[-400:])
        port = int(ready.get("listen", ":0").rsplit(":", 1)[1])
        tls_port = int(ready.get("tls_listen", ":0").rsplit(":", 1)[1])
        admin = int(ready.get("admin", ":0").rsplit(":", 1)[1])
        tap.eq(served_cert(tls_port), der_of(cert),
               "relative paths: wss:// serves the relative certificate")
        tap.eq(wsdtest.admin_request(admin, "/v1/stats", headers={
            "Authorization": "Bearer s3cret"})[0], 200,
            "relative paths: the admin token came from the relative file")
        write(conf, body + "path /two\n")
        os.kill(pid, signal.SIGHUP)
        tap.ok(wsdtest.wait_until(lambda: "reloaded" in read(log) or
                                  "reload refused" in read(log), 10) and
               "reload refused" not in read(log),
               "relative paths: a reload from / finds the -c file and the "
               "certificate again", read(log)[-600:])
        tap.ok(wsdtest.wait_until(lambda: status_of(port, "/two") == 101, 5),
               "relative paths: the reloaded configuration serves /two")
        tap.eq(served_cert(tls_port), der_of(cert),
               "relative paths: wss:// still serves after the reload")
    finally:
        stop_by_pidfile(pidfile)
    tap.ok(wsdtest.wait_until(lambda: not os.path.exists(pidfile), 10),
           "relative paths: stopped, the pidfile removed")


def t_user():
    nobody = pwd.getpwnam("nobody")
    if os.geteuid() != 0:
        status, _, err = wsdtest.run_once(["--user", "nobody", "--listen",
                                           "127.0.0.1:0", "--admin_listen",
                                           "off"])
        tap.ok(status == 2 and "must start as root" in err,
               "user: without root, refused with a reason", err)
        return
    def ids(pid, key):
        for line in read("/proc/%d/status" % pid).splitlines():
            if line.startswith(key + ":"):
                return [int(x) for x in line.split()[1:]]
        return None
    d = tempfile.mkdtemp(prefix="user-logs-", dir=TMP)
    # nobody must reach the files to reopen them by name
    os.chmod(TMP, 0o711)
    os.chmod(d, 0o755)
    log, access = os.path.join(d, "wsd.log"), os.path.join(d, "access.log")
    with wsdtest.Wsd(tap, args=["--user", "nobody", "--log", log,
                                "--access_log", access,
                                "--log_level", "debug"]) as w:
        w.log_files = [log]
        tap.eq([os.stat(f).st_uid for f in (log, access)],
               [nobody.pw_uid] * 2,
               "user: the log and access log files are given to nobody")
        worker = w.workers()[0]
        # The worker drops root right after fork: wait for it.
        wsdtest.wait_until(lambda: ids(worker, "Uid") != [0] * 4, 5)
        tap.eq(ids(worker, "Uid"), [nobody.pw_uid] * 4,
               "user: the worker runs as nobody (real, effective, saved)")
        tap.eq(ids(worker, "Gid"), [nobody.pw_gid] * 4,
               "user: with nobody's group")
        tap.eq(ids(w.pid, "Uid")[1], 0, "user: the master stays root")
        s = wsdtest.open_ws(w.port)
        tap.ok(echo_raw(s), "user: the unprivileged worker serves")
        s.close()
        os.kill(worker, signal.SIGKILL)
        def replaced():
            ws = w.workers()  # once: the list may change between calls
            return len(ws) == 1 and ws[0] != worker
        tap.ok(wsdtest.wait_until(replaced, 5),
               "user: a killed worker is replaced")
        wsdtest.wait_until(lambda: ids(w.workers()[0], "Uid") != [0] * 4, 5)
        tap.eq(ids(w.workers()[0], "Uid"), [nobody.pw_uid] * 4,
               "user: ... by one that runs as nobody too")
        os.rename(log, log + ".1")
        os.rename(access, access + ".1")
        w.signal(signal.SIGUSR1)
        tap.ok(wsdtest.wait_until(lambda: "signal 10" in read(log), 5),
               "user: after USR1 the unprivileged worker writes to the "
               "new log", read(log)[-400:] + read(log + ".1")[-600:])
        s = wsdtest.open_ws(w.port)
        echo_raw(s)
        s.close()
        tap.ok(wsdtest.wait_until(lambda: "status=101" in read(access), 5),
               "user: ... and to the new access log")
        w.log_files = [log, log + ".1"]
    user_links(d)
    status, _, err = wsdtest.run_once(["--user", "no-such-user-wsd", "-t"])
    tap.ok(status == 2 and "no-such-user-wsd" in err,
           "user: an unknown user is refused by -t", err)


def user_links(d):
    """The master (root) gives the workers' user the files it creates, never
    a file that a name in the log directory points at (a process of that
    user able to write there would get any of root's files), nor a
    device."""
    victim = os.path.join(TMP, "roots-file")
    write(victim, "root's\n")
    os.chmod(victim, 0o600)
    log, access = os.path.join(d, "links.log"), os.path.join(d, "links.acc")
    os.symlink(victim, access)
    dev = os.path.join(d, "null")
    try:
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except OSError as e:
        tap.diag("user links: no device node (%s): /dev/null itself is "
                 "not risked" % e)
        dev = None
    args = ["--user", "nobody", "--log", log, "--access_log", access,
            "--log_level", "debug"]
    with wsdtest.Wsd(tap, args=args + (["--case_log", dev] if dev else [])) \
            as w:
        w.log_files = [log]
        tap.eq(os.stat(victim).st_uid, 0,
               "user links: a file the access log name links to stays root's")
        tap.ok("links.acc: not given to the workers' user: a symbolic link"
               in read(log), "user links: ... and the log says why",
               read(log)[-600:])
        if dev:
            tap.eq(os.stat(dev).st_uid, 0,
                   "user links: a device as case_log stays root's")
        os.rename(log, log + ".1")
        w.signal(signal.SIGUSR1)
        tap.ok(wsdtest.wait_until(lambda: os.path.exists(log) and
                                  "signal 10" in read(log), 5),
               "user links: USR1 handled", read(log + ".1")[-600:])
        tap.eq((os.stat(victim).st_uid, read(victim)), (0, "root's\n"),
               "user links: after USR1 too, the linked file is root's, "
               "untouched")
        if dev:
            tap.eq(os.stat(dev).st_uid, 0, "user links: ... and the device")
        tap.eq(os.stat(log).st_uid, pwd.getpwnam("nobody").pw_uid,
               "user links: the log file wsd created is the user's")
        w.log_files = [log, log + ".1"]


def t_nofile():
    """max_connections needs descriptors: the limit is raised (root may
    raise the hard limit too), or the log says how far it is short."""
    w = wsdtest.Wsd(tap, args=["--max_connections", "100000"])
    # A limit wsd cannot raise: the "short" path.
    w.preexec = wsdtest.descriptor_limit(256)
    w.start()
    try:
        tap.ok("RLIMIT_NOFILE is 256" in w.log(),
               "nofile: a limit it cannot raise is logged with the figures",
               w.log())
        tap.ok(echo_raw(wsdtest.open_ws(w.port)), "nofile: wsd still serves")
        w.stop()
    finally:
        w.kill_all()
    with wsdtest.Wsd(tap, args=["--max_connections", "5000"]) as w:
        worker = w.workers()[0]
        limits = read("/proc/%d/limits" % worker)
        m = re.search(r"Max open files\s+(\d+)", limits)
        tap.ok(m is not None and int(m.group(1)) >= 5000,
               "nofile: raised to what max_connections 5000 needs",
               m.group(0) if m else limits)


def t_titles():
    with wsdtest.Wsd(tap, workers=2) as w:
        wsdtest.wait_until(lambda: len(w.workers()) == 2, 5)
        tap.eq(cmdline(w.pid), "wsd: master", "title: ps shows 'wsd: master'")
        # A worker names itself first thing after fork (until then it
        # shows the title it inherited): wait for that.
        wsdtest.wait_until(lambda: all((cmdline(p) or "").startswith("wsd: w")
                                       for p in w.workers()), 5)
        titles = sorted(cmdline(p) for p in w.workers())
        tap.ok(all(re.match(r"^wsd: worker [01]$", t or "") for t in titles)
               and len(set(titles)) == 2,
               "title: 'wsd: worker N', one N each", titles)


def t_sd_notify():
    path = os.path.join(TMP, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(timeout(5))
    w = wsdtest.Wsd(tap)
    w.env = dict(os.environ, NOTIFY_SOCKET=path)
    w.start()
    try:
        def get():
            try:
                return sock.recv(4096).decode()
            except (socket.timeout, TimeoutError):
                return None
        tap.eq(get(), "READY=1", "sd_notify: READY=1 once listening")
        w.signal(signal.SIGHUP)
        tap.eq(get(), "RELOADING=1", "sd_notify: RELOADING=1 on HUP")
        tap.eq(get(), "READY=1", "sd_notify: READY=1 after the reload")
        w.stop()
        tap.eq(get(), "STOPPING=1", "sd_notify: STOPPING=1 at shutdown")
    finally:
        w.kill_all()
        sock.close()


def t_check_as_start():
    """wsd -t refuses what a real start refuses of the files wsd writes,
    creates none of them, and a reload is refused for the same reasons
    (a reload that a -t passed must not take the service down)."""
    missing = os.path.join(TMP, "no-such-dir")
    cases = [("access_log", os.path.join(missing, "a.log")),
             ("case_log", os.path.join(missing, "c.log")),
             ("log", os.path.join(missing, "w.log")),
             ("log", TMP),
             ("pidfile", os.path.join(missing, "w.pid"))]
    for name, path in cases:
        args = ["--" + name, path, "--listen", "127.0.0.1:0",
                "--admin_listen", "off"]
        t_status, _, t_err = wsdtest.run_once(["-t"] + args)
        s_status, _, s_err = wsdtest.run_once(args)
        tap.ok(t_status == 2 and (name + ": " + path) in t_err,
               "-t: %s %s refused, naming it" % (name, path), t_err)
        tap.ok(s_status == 2 and path in s_err,
               "start: %s %s refused as -t said" % (name, path), s_err)
    good = [os.path.join(TMP, f) for f in ("t.log", "t-access.log",
                                           "t-case.log", "t.pid")]
    status, out, err = wsdtest.run_once(
        ["-t", "--log", good[0], "--access_log", good[1], "--case_log",
         good[2], "--pidfile", good[3], "--admin_listen", "off"])
    tap.ok(status == 0 and "configuration is valid" in out,
           "-t: files in a writable directory pass", err)
    tap.eq([os.path.exists(f) for f in good], [False] * 4,
           "-t: ... and none of them is created")

    # user while not root: a start refuses it; so must -t and a reload.
    nobody = pwd.getpwnam("nobody")
    as_nobody = None
    if os.geteuid() == 0:
        def as_nobody():
            os.setgid(nobody.pw_gid)
            os.setgroups([])
            os.setuid(nobody.pw_uid)
    d = tempfile.mkdtemp(prefix="check-", dir=TMP)
    os.chmod(TMP, 0o711)
    os.chmod(d, 0o777)
    conf = os.path.join(d, "wsd.conf")
    write(conf, "workers 1\n")
    os.chmod(conf, 0o644)
    r = subprocess.run([wsdtest.WSD, "-t", "-c", conf, "--user", "nobody"],
                       preexec_fn=as_nobody, capture_output=True, text=True,
                       timeout=timeout(10))
    tap.ok(r.returncode == 2 and "must start as root" in r.stderr,
           "-t: user without root refused", r.stderr)
    w = wsdtest.Wsd(tap, args=["-c", conf])
    w.preexec = as_nobody
    w.start()
    try:
        worker = w.workers()[0]
        write(conf, "workers 1\nuser nobody\n")
        w.signal(signal.SIGHUP)
        tap.ok(wsdtest.wait_until(lambda: "reload refused" in w.log(), 5),
               "reload: user without root refused", w.log()[-600:])
        tap.ok("must start as root" in w.log(),
               "reload: ... with start-up's reason", w.log()[-600:])
        tap.eq(w.workers(), [worker], "reload: the workers stay")
        tap.ok(echo_raw(wsdtest.open_ws(w.port)), "reload: wsd still serves")
        w.stop()
    finally:
        w.kill_all()


def main():
    wsdtest.guard(tap, "reload", t_reload)
    wsdtest.guard(tap, "reload grace", t_reload_grace)
    wsdtest.guard(tap, "QUIT in a spread", t_quit_during_spread)
    wsdtest.guard(tap, "reload window", t_close_window, signal.SIGHUP)
    wsdtest.guard(tap, "QUIT window", t_close_window, signal.SIGQUIT)
    wsdtest.guard(tap, "shared window", t_close_window_shared)
    wsdtest.guard(tap, "reload paced", t_reload_close_paced)
    wsdtest.guard(tap, "reload listen/tls", t_reload_listen_and_tls_change)
    wsdtest.guard(tap, "reload certificate", t_reload_certificate)
    wsdtest.guard(tap, "kill under load", t_kill_under_load)
    wsdtest.guard(tap, "QUIT", t_quit)
    wsdtest.guard(tap, "QUIT deadline", t_quit_deadline)
    wsdtest.guard(tap, "pidfile", t_pidfile)
    wsdtest.guard(tap, "log files", t_log_files_and_usr1)
    wsdtest.guard(tap, "access log, worker died", t_access_log_worker_died)
    wsdtest.guard(tap, "signals at birth", t_signals_at_birth)
    wsdtest.guard(tap, "syslog", t_syslog)
    wsdtest.guard(tap, "keepalive", t_keepalive)
    wsdtest.guard(tap, "keepalive slow reader", t_keepalive_slow_reader)
    wsdtest.guard(tap, "idle", t_idle_timeout)
    wsdtest.guard(tap, "daemon", t_daemon)
    wsdtest.guard(tap, "daemon start-up errors", t_daemon_startup_errors)
    wsdtest.guard(tap, "daemon syslog default", t_daemon_syslog_default)
    wsdtest.guard(tap, "relative paths", t_relative_paths)
    wsdtest.guard(tap, "user", t_user)
    wsdtest.guard(tap, "-t as start", t_check_as_start)
    wsdtest.guard(tap, "nofile", t_nofile)
    wsdtest.guard(tap, "titles", t_titles)
    wsdtest.guard(tap, "sd_notify", t_sd_notify)
    shutil.rmtree(TMP, ignore_errors=True)
    tap.done()


if __name__ == "__main__":
    main()
