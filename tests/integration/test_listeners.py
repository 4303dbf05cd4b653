# SPDX-License-Identifier: MIT
"""Listening addresses are wsd's own (issue 16): a second wsd, or any other
process, already listening on a `listen`, `tls_listen` or `admin_listen`
address stops wsd at start-up with exit status 2 and a message naming the
directive and the address, instead of the kernel splitting clients between
the two (SO_REUSEPORT); a socket only bound, not listening, is no obstacle;
two wsd started at the same moment on one port end with exactly one
serving, as the port's lock serializes their checks; a reload onto a taken
address is refused, logged, and the running listeners keep serving; port 0
still lets the kernel choose. The start-up line names every listener.

Real processes on 127.0.0.1 ports the kernel picks at run time; every
wait is bounded and waits for an event (a ready line, an exit, a log
line), never for a time.
"""
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import wsdtest as W
from wsdtest import echo_raw, timeout

tap = W.Tap()
TMP = tempfile.mkdtemp(prefix="wsd-listeners-")
IN_USE = "address already in use"
OTHER = "another process holds it"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class Second:
    """Another wsd started with args and --ready_fd, which either gets
    ready (.ready is the line) or exits (.status, .err) first."""

    def __init__(self, args, seconds=10):
        self.ready = None
        self.status = None
        self.err_path = os.path.join(TMP, "second-%d.log" % time.monotonic_ns())
        rfd, wfd = os.pipe()
        with open(self.err_path, "wb") as log:
            self.proc = subprocess.Popen(
                [W.WSD, "--workers", "1"] + list(args) +
                ["--ready_fd", str(wfd)], stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, pass_fds=(wfd,))
        os.close(wfd)
        line = W.read_ready_line(rfd, seconds)  # short if it exited
        os.close(rfd)
        if line.startswith(b"ready "):
            self.ready = line.decode().strip()
        else:
            try:
                self.status = self.proc.wait(timeout=timeout(10))
            except subprocess.TimeoutExpired:
                pass

    @property
    def err(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        """Ends exactly this wsd and its workers."""
        pids = [self.proc.pid] + W.children(self.proc.pid)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=timeout(10))
        except subprocess.TimeoutExpired:
            pass
        W.wait_until(lambda: not any(W.alive(p) for p in pids), 5)

    def refused(self, what, message):
        """One test point: it exited 2 with message on stderr."""
        ok = tap.ok(self.status == 2 and message in self.err,
                    "%s: the second wsd exits 2 with \"%s\"" % (what, message),
                    "ready %r, status %r, stderr %r"
                    % (self.ready, self.status, self.err[-600:]))
        if self.ready is not None:
            self.stop()
        return ok


def held_socket(port=0, reuseport=False, listen=True):
    """A socket of this test process on 127.0.0.1:port, listening unless
    told not to: the "other process" holding an address."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    if listen:
        s.listen(8)
    return s


def addr(port):
    return "127.0.0.1:%d" % port


def ws_echoes(port, host="127.0.0.1"):
    try:
        s = socket.create_connection((host, port), timeout=timeout(5))
        s.sendall(W.handshake_request())
        if W.read_http_response(s)[0] != 101:
            s.close()
            return False
    except OSError:
        return False
    try:
        return echo_raw(s)
    finally:
        s.close()


def wss_echoes(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        raw = socket.create_connection(("127.0.0.1", port),
                                       timeout=timeout(5))
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        s.sendall(W.handshake_request())
        status, _, _ = W.read_http_response(s)
    except (OSError, ssl.SSLError):
        return False
    try:
        return status == 101 and echo_raw(s)
    finally:
        s.close()


def admin_answers(port):
    try:
        return W.admin_request(port, "/v1/stats")[0] == 200
    except OSError:
        return False


class Certs:
    def __init__(self):
        self.cert, self.key = W.make_cert(TMP, "localhost")

    def args(self, tls_listen="127.0.0.1:0"):
        return ["--tls_listen", tls_listen, "--tls_certificate", self.cert,
                "--tls_certificate_key", self.key]


# Start-up ------------------------------------------------------------------

def t_second_wsd(certs):
    """A second wsd on an address the first one listens on exits 2, for
    each kind of listener, and the first one keeps serving alone."""
    with W.Wsd(tap, args=certs.args()) as a:
        admin = W.admin_port(a)
        b = Second(["--listen", addr(a.port), "--admin_listen", "off"])
        b.refused("listen taken by another wsd",
                  "listen %s: %s (%s)" % (addr(a.port), IN_USE, OTHER))
        b = Second(["--listen", "127.0.0.1:0", "--admin_listen", "off"] +
                   certs.args(addr(a.tls_port)))
        b.refused("tls_listen taken by another wsd",
                  "tls_listen %s: %s (%s)" % (addr(a.tls_port), IN_USE, OTHER))
        b = Second(["--listen", "127.0.0.1:0", "--admin_listen", addr(admin)])
        b.refused("admin_listen taken by another wsd",
                  "admin_listen %s: %s (%s)" % (addr(admin), IN_USE, OTHER))
        # Across kinds: the first one's wss:// port as ws://, its ws://
        # port as wss://, its admin port as ws://.
        b = Second(["--listen", addr(a.tls_port), "--admin_listen", "off"])
        b.refused("listen on another wsd's tls_listen",
                  "listen %s: %s" % (addr(a.tls_port), IN_USE))
        b = Second(["--listen", "127.0.0.1:0", "--admin_listen", "off"] +
                   certs.args(addr(a.port)))
        b.refused("tls_listen on another wsd's listen",
                  "tls_listen %s: %s" % (addr(a.port), IN_USE))
        b = Second(["--listen", addr(admin), "--admin_listen", "off"])
        b.refused("listen on another wsd's admin_listen",
                  "listen %s: %s" % (addr(admin), IN_USE))
        tap.ok(ws_echoes(a.port), "the first wsd still serves ws://")
        tap.ok(wss_echoes(a.tls_port), "the first wsd still serves wss://")
        tap.ok(admin_answers(admin), "the first wsd still serves admin")


def t_other_process(certs):
    """Another program listening on the address, with or without
    SO_REUSEPORT (an older wsd sets it), stops wsd just the same."""
    for reuseport in (False, True):
        how = "with SO_REUSEPORT" if reuseport else "without SO_REUSEPORT"
        held = held_socket(reuseport=reuseport)
        port = held.getsockname()[1]
        try:
            b = Second(["--listen", addr(port), "--admin_listen", "off"])
            b.refused("listen held by a process %s" % how,
                      "listen %s: %s (%s)" % (addr(port), IN_USE, OTHER))
            b = Second(["--listen", "127.0.0.1:0", "--admin_listen", "off"] +
                       certs.args(addr(port)))
            b.refused("tls_listen held by a process %s" % how,
                      "tls_listen %s: %s (%s)" % (addr(port), IN_USE, OTHER))
            b = Second(["--listen", "127.0.0.1:0", "--admin_listen",
                        addr(port)])
            b.refused("admin_listen held by a process %s" % how,
                      "admin_listen %s: %s (%s)" % (addr(port), IN_USE, OTHER))
        finally:
            held.close()


def t_bound_not_listening():
    """A socket only bound (SO_REUSEADDR, not listening) takes no
    connection: wsd starts next to it, as the kernel allows."""
    held = held_socket(listen=False)
    port = held.getsockname()[1]
    try:
        b = Second(["--listen", addr(port), "--admin_listen", "off"])
        tap.ok(b.ready is not None and ws_echoes(port),
               "a bound socket that does not listen does not stop wsd",
               "status %r, stderr %r" % (b.status, b.err[-600:]))
        if b.ready is not None:
            b.stop()
    finally:
        held.close()


def t_race():
    """Four wsd started at once on one port: exactly one serves, the
    others exit 2 saying the address is in use."""
    # Bound but not listening: no other test's port 0 gets this port, and
    # it does not stop wsd (t_bound_not_listening).
    held = held_socket(listen=False)
    port = held.getsockname()[1]
    rfds, procs = [], []
    try:
        for _ in range(4):
            rfd, wfd = os.pipe()
            procs.append(subprocess.Popen(
                [W.WSD, "--workers", "2", "--listen", addr(port),
                 "--admin_listen", "off", "--ready_fd", str(wfd)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, pass_fds=(wfd,)))
            os.close(wfd)
            rfds.append(rfd)
        lines = {}
        deadline = time.monotonic() + timeout(15)
        while len(lines) < len(rfds) and time.monotonic() < deadline:
            r, _, _ = select.select([f for f in rfds if f not in lines], [],
                                    [], 0.1)
            for f in r:
                lines[f] = os.read(f, 512)  # a ready line, or b"" at exit
        ready = [p for p, f in zip(procs, rfds)
                 if lines.get(f, b"").startswith(b"ready ")]
        losers = [p for p in procs if p not in ready]
        errs = []
        for p in losers:
            try:
                errs.append((p.wait(timeout=timeout(10)),
                             p.stderr.read().decode("utf-8", "replace")))
            except subprocess.TimeoutExpired:
                errs.append((None, ""))
        tap.eq(len(ready), 1, "race: exactly one of four wsd on one port "
               "gets ready")
        tap.ok(len(errs) == 3 and all(st == 2 and "listen %s: %s" % (addr(port), IN_USE) in e
                   for st, e in errs),
               "race: the others exit 2 saying the address is in use", errs)
    finally:
        for f in rfds:
            os.close(f)
        for p in procs:
            for pid in [p.pid] + W.children(p.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                p.wait(timeout=timeout(10))
            except subprocess.TimeoutExpired:
                pass
            p.stderr.close()
        held.close()


def t_port_lock():
    """The check and the listen() calls of two wsd on one port never
    interleave: each holds the port's lock, the abstract Unix socket
    @wsd-listen-port-PORT, meanwhile. Held by this test throughout, it
    keeps wsd from listening, and wsd says so."""
    held = held_socket(listen=False)
    port = held.getsockname()[1]
    lock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        lock.bind("\0wsd-listen-port-%d" % port)
        b = Second(["--listen", addr(port), "--admin_listen", "off"])
        b.refused("listen while another process holds the port's lock",
                  "listen %s: another process has held the lock of port %d "
                  "(the abstract socket @wsd-listen-port-%d)"
                  % (addr(port), port, port))
        lock.close()
        b = Second(["--listen", addr(port), "--admin_listen", "off"])
        tap.ok(b.ready is not None and ws_echoes(port),
               "the lock released, wsd starts on the port",
               "status %r, stderr %r" % (b.status, b.err[-600:]))
        if b.ready is not None:
            b.stop()
    finally:
        lock.close()
        held.close()


def t_port_zero(certs):
    """Port 0 still lets the kernel choose, for two wsd at once and for
    every listener."""
    with W.Wsd(tap, args=certs.args()) as a, W.Wsd(tap, args=certs.args()) as b:
        ports = {a.port, a.tls_port, W.admin_port(a), b.port, b.tls_port,
                 W.admin_port(b)}
        tap.ok(len(ports) == 6 and 0 not in ports and None not in ports,
               "port 0: two wsd get six ports of their own", ports)
        tap.ok(ws_echoes(a.port) and ws_echoes(b.port),
               "port 0: both serve ws://")
        tap.ok(wss_echoes(a.tls_port) and wss_echoes(b.tls_port),
               "port 0: both serve wss://")
        tap.ok(admin_answers(W.admin_port(a)) and
               admin_answers(W.admin_port(b)), "port 0: both serve admin")


def t_startup_line(certs):
    """The start-up line names the ws://, wss:// and admin addresses."""
    with W.Wsd(tap, args=certs.args(), workers=2) as a:
        want = ("listen %s" % addr(a.port), "tls_listen %s" % addr(a.tls_port),
                "admin_listen %s" % addr(W.admin_port(a)))
        line = [l for l in a.log().splitlines() if ": 2 workers" in l]
        tap.ok(len(line) == 1 and all(w in line[0] for w in want),
               "start-up line: one line names %s" % ", ".join(want), line)
    with W.Wsd(tap, args=["--admin_listen", "off"]) as a:
        line = [l for l in a.log().splitlines() if ": 1 worker" in l]
        tap.ok(len(line) == 1 and "listen %s" % addr(a.port) in line[0] and
               "admin_listen" not in line[0] and "tls_listen" not in line[0],
               "start-up line: without TLS nor admin, only listen", line)


# Reload --------------------------------------------------------------------

def t_reload_onto_taken(certs):
    """A reload onto an address another process listens on is refused and
    logged; the running listeners keep serving, the workers stay."""
    conf = os.path.join(TMP, "reload.conf")
    write(conf, "")
    held = held_socket(reuseport=True)
    taken = held.getsockname()[1]
    # The file comes after the harness's port-0 addresses, so it sets them.
    with W.Wsd(tap, args=certs.args() + ["-c", conf], workers=2) as a:
        admin = W.admin_port(a)
        W.wait_until(lambda: len(a.workers()) == 2, 5)
        workers = set(a.workers())
        cases = [("listen", "listen %s\n" % addr(taken)),
                 ("tls_listen", "tls_listen %s\n" % addr(taken)),
                 ("admin_listen", "admin_listen %s\n" % addr(taken))]
        for n, (directive, text) in enumerate(cases, 1):
            write(conf, text)
            a.signal(signal.SIGHUP)
            want = ("reload refused, configuration unchanged: %s:1: %s %s: "
                    "%s" % (conf, directive, addr(taken), IN_USE))
            tap.ok(W.wait_until(lambda: a.log().count(want) == 1, 5),
                   "reload onto a taken %s: refused and logged" % directive,
                   a.log()[-800:])
            tap.eq(set(a.workers()), workers,
                   "reload onto a taken %s: the same workers run" % directive)
            tap.ok(ws_echoes(a.port) and wss_echoes(a.tls_port) and
                   admin_answers(admin),
                   "reload onto a taken %s: ws://, wss:// and admin still "
                   "serve on their ports" % directive)
        # Another wsd is in the way just the same.
        held.close()
        with W.Wsd(tap) as b:
            write(conf, "listen %s\n" % addr(b.port))
            a.signal(signal.SIGHUP)
            want = ("reload refused, configuration unchanged: %s:1: listen "
                    "%s: %s" % (conf, addr(b.port), IN_USE))
            tap.ok(W.wait_until(lambda: want in a.log(), 5),
                   "reload onto another wsd's listen: refused and logged",
                   a.log()[-800:])
            tap.ok(ws_echoes(a.port) and ws_echoes(b.port),
                   "... both keep serving their own ports")
        # A free address still reloads, and port 0 still works on reload.
        write(conf, "listen 127.0.0.2:0\nadmin_listen 127.0.0.2:0\n")
        a.signal(signal.SIGHUP)
        tap.ok(W.wait_until(lambda: "reloaded:" in a.log(), 5),
               "a reload onto new port-0 addresses is done", a.log()[-800:])
        m = re.search(r"reloaded: .* listen 127\.0\.0\.2:(\d+)", a.log())
        tap.ok(m is not None and int(m.group(1)) != 0 and
               ws_echoes(int(m.group(1)), "127.0.0.2"),
               "... the kernel chose the new port, which serves",
               a.log()[-800:])
    held.close()


def t_reload_own_address(certs):
    """A reload may give an address the running configuration listens on
    to another listener of the same wsd: ws:// and wss:// swap ports."""
    conf = os.path.join(TMP, "swap.conf")
    write(conf, "")
    with W.Wsd(tap, args=certs.args() + ["-c", conf]) as a:
        ws, wss = a.port, a.tls_port
        write(conf, "listen %s\ntls_listen %s\n" % (addr(wss), addr(ws)))
        a.signal(signal.SIGHUP)
        tap.ok(W.wait_until(lambda: "reloaded:" in a.log(), 5),
               "reload swapping the ws:// and wss:// ports is done",
               a.log()[-800:])
        tap.ok(W.wait_until(lambda: ws_echoes(wss), 5),
               "... ws:// is served on the old wss:// port")
        tap.ok(W.wait_until(lambda: wss_echoes(ws), 5),
               "... and wss:// on the old ws:// port")


def main():
    certs = Certs()
    W.guard(tap, "second wsd", t_second_wsd, certs)
    W.guard(tap, "other process", t_other_process, certs)
    W.guard(tap, "bound, not listening", t_bound_not_listening)
    W.guard(tap, "race", t_race)
    W.guard(tap, "port lock", t_port_lock)
    W.guard(tap, "port 0", t_port_zero, certs)
    W.guard(tap, "start-up line", t_startup_line, certs)
    W.guard(tap, "reload onto a taken address", t_reload_onto_taken, certs)
    W.guard(tap, "reload onto its own address", t_reload_own_address, certs)
    shutil.rmtree(TMP, ignore_errors=True)
    tap.done()


if __name__ == "__main__":
    main()
