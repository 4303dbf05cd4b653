# SPDX-License-Identifier: MIT
"""wsc, the client on wsd's core, end to end: against wsd (text, binary,
a 16 MiB message, permessage-deflate with the parameters wsd's records
say were granted, its close code, a refusal), over wss:// with a test CA
(accepted, and refused for an unknown CA and for a host name the
certificate does not hold), against raw servers that break the protocol
or the handshake or never answer (exit statuses 3, 4, 5), against
third-party servers from Debian's packages (python3-websockets and node's
ws, each with and without permessage-deflate), and its command line's
refusals. Every server runs on a kernel-chosen loopback port; every
process the test starts is stopped; every wait is bounded."""
import asyncio
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse

import wsdtest as W
from proxies import Meddler

tap = W.Tap()
WSC = os.environ.get("WSC") or os.path.join(
    os.path.dirname(W.WSD), "wsc")
HERE = os.path.dirname(os.path.abspath(__file__))


def wsc(args, data=b"", seconds=30):
    """Runs wsc with args, data on its stdin: (status, stdout, stderr)."""
    try:
        p = subprocess.run([WSC] + list(args), input=data,
                           capture_output=True, timeout=W.timeout(seconds))
    except subprocess.TimeoutExpired as e:
        return None, e.stdout or b"", (e.stderr or b"") + b" (timed out)"
    return p.returncode, p.stdout, p.stderr


def wsc_live(args, data, want_len, seconds=30):
    """Runs wsc with args as a user at a pipe does: writes data, waits
    for want_len bytes of output (the answers), and only then closes
    wsc's input, which makes it close. For servers that drop what they
    still had to send once a close arrives, as RFC 6455 allows (python3-
    websockets does). Returns (status, stdout, stderr); status None when
    the answers did not all come in time."""
    p = subprocess.Popen([WSC] + list(args), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b""
    deadline = time.monotonic() + W.timeout(seconds)
    try:
        p.stdin.write(data)
        p.stdin.flush()
        fd = p.stdout.fileno()
        while len(out) < want_len and time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                out += chunk
        complete = len(out) >= want_len
        # communicate() closes wsc's input, which makes it close.
        rest, err = p.communicate(timeout=W.timeout(seconds))
        return p.returncode if complete else None, out + rest, err
    except (subprocess.TimeoutExpired, OSError) as e:
        p.kill()
        _, err = p.communicate()
        return None, out, err + str(e).encode()


def check(name, res, status, out=None, err=None):
    code, o, e = res
    tap.eq(code, status, "%s: exit status %r" % (name, status))
    if out is not None:
        tap.same(o, out, "%s: output" % name)
    if err is not None:
        tap.ok(err.encode() in e, "%s: stderr says %r" % (name, err),
               "stderr %r" % e[-500:])


def last_case(w):
    """wsd's record of the latest connection, once it is closed (wsc may
    exit as the worker closes it)."""
    port = W.admin_port(w)
    got = {}

    def closed():
        cases = W.admin_cases(port, "?limit=1000").get("cases") or []
        got["case"] = cases[-1] if cases else {}
        return got["case"].get("state") == "closed"
    W.wait_until(closed, 5)
    return got.get("case", {})


def t_wsd(w):
    url = "ws://127.0.0.1:%d/ws" % w.port
    lines = "hello\nwörld\n\nlast line\n".encode()
    check("text lines", wsc([url], lines), 0, lines)
    c = last_case(w)
    tap.eq((c.get("rxMessages"), c.get("remoteCloseCode"),
            c.get("wasClean")), (4, 1000, True),
           "text lines: wsd saw 4 messages and a clean close 1000")
    tap.ok(str(c.get("userAgent", "")).startswith("wsc/"),
           "text lines: the User-Agent is wsc's", c.get("userAgent"))

    records = b"\x00".join([bytes(range(1, 256)), b"\n\xff\xfe", b"x"]) + \
        b"\x00"
    check("binary records, NUL-terminated", wsc(["-b", "-0", url], records),
          0, records)
    tap.eq(last_case(w).get("rxFrameStats"), {"2": 3, "8": 1},
           "binary records: three binary frames and a close")

    check("no trailing newline", wsc([url], b"a\nb"), 0, b"a\nb\n")
    check("empty input", wsc([url], b""), 0, b"")
    check("not UTF-8 without --binary", wsc([url], b"\xff\n"), 2, b"",
          "input record is not UTF-8")

    big = (b"0123456789abcdef" * (1 << 20)) + b"\n"
    check("a 16 MiB message", wsc([url], big, 60), 0, big)
    tap.eq(last_case(w).get("rxPayloadBytes"), 16 << 20,
           "a 16 MiB message: wsd received it whole")

    text = ("permessage-deflate " * 200 + "\n").encode() * 3
    check("deflate", wsc(["--deflate", url], text), 0, text)
    d = last_case(w).get("deflate") or {}
    tap.ok(d.get("granted", "").startswith("permessage-deflate") and
           d.get("rxCompressedBytes", 0) > 0 and
           d.get("rxCompressedBytes", 0) * 10 < d.get("rxInflatedBytes", 0),
           "deflate: granted, and wsc's messages came compressed", d)
    check("deflate with parameters",
          wsc(["--deflate=client_max_window_bits=9; "
               "client_no_context_takeover; server_no_context_takeover",
               url], text), 0, text)
    d = last_case(w).get("deflate") or {}
    tap.eq(d.get("granted"),
           "permessage-deflate; server_no_context_takeover; "
           "client_no_context_takeover; client_max_window_bits=9",
           "deflate with parameters: wsd granted what was asked")

    check("close code and reason",
          wsc(["--close", "4000:bye", url], b"x\n"), 0, b"x\n")
    c = last_case(w)
    tap.eq((c.get("remoteCloseCode"), c.get("remoteCloseReason")),
           (4000, "bye"), "close code and reason: wsd received them")

    check("a path wsd does not serve",
          wsc(["ws://127.0.0.1:%d/x" % w.port], b"x\n"), 3, b"",
          "wsc: handshake refused: HTTP 404 no WebSocket endpoint at /x; "
          "this server's is /ws")
    check("a header wsd keeps", wsc(["-H", "X-Test: yes", "--origin",
                                     "http://example.com", url], b"y\n"),
          0, b"y\n")
    tap.ok("X-Test: yes" in (last_case(w).get("httpRequest") or ""),
           "a header wsd keeps: it is in wsd's copy of the request")


def t_file_input(w):
    """A regular file on standard input, larger than the sockets and both
    ends' queues hold together: wsc sends it all while it reads wsd's
    echoes. (wsc stopped reading once 1 MiB of its own messages waited,
    while wsd, its echoes unread, stopped reading them: both waited for
    ever.)"""
    url = "ws://127.0.0.1:%d/ws" % w.port
    line = b"y" * 999 + b"\n"
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "in")
        with open(path, "wb") as f:
            for _ in range(64):
                f.write(line * 1024)
        with open(path, "rb") as f:
            try:
                p = subprocess.run([WSC, url], stdin=f, capture_output=True,
                                   timeout=W.timeout(60))
                res = (p.returncode, p.stdout, p.stderr)
            except subprocess.TimeoutExpired as e:
                res = (None, e.stdout or b"", b"(timed out)")
    code, out, err = res
    tap.eq(code, 0, "64 MiB of lines from a file: exit status 0 (%r)" % err)
    tap.ok(out == line * (64 * 1024),
           "64 MiB of lines from a file: every echo came back",
           "%d bytes of %d" % (len(out), len(line) * 64 * 1024))


def t_stdout_closed(w):
    """Standard output closed by its reader after the first answer, as
    `wsc URL | head -1` does: wsc says so once, closes with 1001 and
    ends with status 1; the echoes still in flight after its close are
    dropped, not each one another complaint (wsc said "standard output:
    Broken pipe" for every one of them, thousands of lines under `yes |
    wsc URL | head -1`)."""
    url = "ws://127.0.0.1:%d/ws" % w.port
    p = subprocess.Popen([WSC, url], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdin.write(b"first\n")
        p.stdin.flush()
        first = p.stdout.readline()
        p.stdout.close()
        # One write below PIPE_BUF: wsc reads and sends all the lines
        # together, before the first echo finds the pipe closed.
        # Its input stays open: the closed output alone makes it close.
        p.stdin.write(b"more\n" * 100)
        p.stdin.flush()
        err = p.stderr.read()
        p.wait(timeout=W.timeout(10))
    except (subprocess.TimeoutExpired, OSError) as e:
        p.kill()
        p.wait()
        err = str(e).encode()
    finally:
        p.stdin.close()
        p.stderr.close()
    tap.eq(first, b"first\n", "stdout closed: the first answer came")
    tap.eq((p.returncode, err.count(b"standard output")), (1, 1),
           "stdout closed: status 1, said once (%r)" % err[:300])
    tap.ok(b"the server closed with" not in err,
           "stdout closed: the server's echo of our close 1001 is not "
           "news", err[-300:])
    c = last_case(w)
    tap.eq((c.get("remoteCloseCode"), c.get("wasClean")), (1001, True),
           "stdout closed: wsd got a clean close 1001")


def t_signals(w):
    """SIGINT (a ctrl-C) or SIGTERM while connected: wsc closes with
    1001 (going away) and waits for the server's close, as at the end of
    its input, then dies of the signal, so that a shell or a script sees
    it was stopped (130, 143). It used to die at once: the server saw
    the TCP connection drop without a close (1006)."""
    url = "ws://127.0.0.1:%d/ws" % w.port
    for sig in (signal.SIGINT, signal.SIGTERM):
        name = signal.Signals(sig).name
        p = subprocess.Popen([WSC, url], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            p.stdin.write(b"hi\n")
            p.stdin.flush()
            echo = p.stdout.readline()
            p.send_signal(sig)
            p.wait(timeout=W.timeout(10))
        except (subprocess.TimeoutExpired, OSError):
            p.kill()
            p.wait()
        finally:
            p.stdin.close()
            p.stdout.close()
            p.stderr.close()
        tap.eq((echo, p.returncode), (b"hi\n", -sig),
               "%s: the echo came, then wsc died of the signal" % name)
        c = last_case(w)
        tap.eq((c.get("remoteCloseCode"), c.get("wasClean")), (1001, True),
               "%s: wsd got a clean close 1001" % name)


def t_bad_stdio(w):
    """Standard input that cannot be read, and standard output closed
    before wsc starts. A read error on the input is said and is not a
    clean run (wsc said "standard input: Is a directory" and exited 0).
    A closed descriptor must not be taken by another of wsc's files:
    messages for a closed standard output went to libevent's epoll
    descriptor, which took its number ("standard output: Invalid
    argument"), and stderr's closed number went to libevent's signal
    pipe."""
    url = "ws://127.0.0.1:%d/ws" % w.port
    d = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        p = subprocess.run([WSC, url], stdin=d, capture_output=True,
                           timeout=W.timeout(30))
    finally:
        os.close(d)
    tap.eq(p.returncode, 1, "a directory on standard input: status 1")
    tap.ok(b"wsc: standard input: Is a directory" in p.stderr,
           "a directory on standard input: said", p.stderr)
    p = subprocess.run([WSC, url], input=b"hello\n", stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=W.timeout(30),
                       preexec_fn=lambda: os.close(1))
    tap.eq(p.returncode, 1, "standard output closed: status 1")
    tap.ok(b"wsc: standard output: Bad file descriptor" in p.stderr,
           "standard output closed: said as such", p.stderr)


def t_record(w):
    """wsc's records of its connections, and wsd compare pairing them
    with wsd's own: both ends of each wire agree."""
    url = "ws://127.0.0.1:%d/ws" % w.port
    with tempfile.TemporaryDirectory() as d:
        rec = os.path.join(d, "rec")
        check("--record, text", wsc(["--record", rec, url], b"one\ntwo\n"),
              0, b"one\ntwo\n")
        with open(os.path.join(rec, "index.json")) as f:
            index = json.load(f)
        entries = [e for cases in index.values() for e in cases.values()]
        tap.eq(len(entries), 1, "--record: one case in index.json")
        path = os.path.join(rec, entries[0]["reportfile"]) if entries else ""
        with open(path) as f:
            case = json.load(f)
        tap.eq((case.get("isServer"), case.get("wasClean"),
                case.get("droppedByMe"), case.get("txFrameStats"),
                case.get("remoteCloseCode")),
               (False, True, False, {"1": 2, "8": 1}, 1000),
               "--record: the client's side of a clean close")
        tf = [r for r in case.get("wirelog", []) if r[0] == "TF"]
        tap.ok(len(tf) == 3 and all(isinstance(r[5], str) for r in tf) and
               tf[0][1] == [3, "one"],
               "--record: frames sent logged unmasked, with their keys",
               tf)
        tap.ok(os.path.exists(path[:-5] + ".html") and
               os.path.exists(os.path.join(rec, "index.html")),
               "--record: the case's page and the index page")
        out = subprocess.run(
            [W.WSD, "compare", rec, "http://127.0.0.1:%d" % W.admin_port(w)],
            capture_output=True, timeout=W.timeout(30))
        tap.ok(out.returncode == 0 and b": identical" in out.stdout and
               b"1 identical, 0 differ, 0 unpaired" in out.stdout,
               "wsd compare: wsc's record and wsd's agree", out.stdout +
               out.stderr)
        rec2 = os.path.join(d, "rec2")
        text = ("compressible " * 300 + "\n").encode()
        check("--record, deflate", wsc(["--deflate", "--record", rec2, url],
                                       text), 0, text)
        out = subprocess.run(
            [W.WSD, "compare", rec2, "http://127.0.0.1:%d" % W.admin_port(w)],
            capture_output=True, timeout=W.timeout(30))
        tap.ok(out.returncode == 0 and b"1 identical" in out.stdout,
               "wsd compare: the same, compressed", out.stdout + out.stderr)


def t_reset(w):
    """A proxy that resets both TCP connections (meddler.py --mode reset)
    after wsd's first echo: wsc's record says the connection was taken
    from it (droppedByMe false, as the testsuite's client says after a
    reset), not that it closed TCP itself, so that wsd compare finds
    that something between the ends closed it, where wsd too says its
    peer did."""
    with tempfile.TemporaryDirectory() as d, Meddler(w.port, "reset") as m:
        rec = os.path.join(d, "rec")
        # Its input is held open: wsc sends no close of its own.
        p = subprocess.Popen([WSC, "--record", rec,
                              "ws://127.0.0.1:%d/ws" % m.port],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            p.stdin.write(b"hello\n")
            p.stdin.flush()
            p.wait(timeout=W.timeout(10))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        finally:
            p.stdin.close()
            err = p.stderr.read()
            p.stdout.close()
            p.stderr.close()
        tap.ok(p.returncode == 1 and b"reset" in err,
               "reset by a proxy: wsc says the connection was lost",
               (p.returncode, err))
        with open(os.path.join(rec, "index.json")) as f:
            index = json.load(f)
        entry, = [e for cases in index.values() for e in cases.values()]
        with open(os.path.join(rec, entry["reportfile"])) as f:
            case = json.load(f)
        tap.eq((case["droppedByMe"], case["wasClean"]), (False, False),
               "reset by a proxy: wsc's record says the TCP connection was "
               "taken from it, uncleanly")
        key = case["httpRequest"].split("Sec-WebSocket-Key: ", 1)[1]
        q = "/v1/cases?key=" + urllib.parse.quote(key.split("\r\n")[0],
                                                  safe="")

        def closed():
            _, doc, _ = W.admin_json(W.admin_port(w), q)
            cases = (doc or {}).get("cases") or [{}]
            return cases[0].get("state") == "closed"
        W.wait_until(closed, 5)
        out = subprocess.run(
            [W.WSD, "compare", rec, "http://127.0.0.1:%d" % W.admin_port(w)],
            capture_output=True, timeout=W.timeout(30))
        tap.ok(out.returncode == 1 and b"): closing: who closed TCP: each "
               b"end says the other closed the TCP connection first; "
               b"something between them closed it\n" in out.stdout,
               "reset by a proxy: wsd compare says something between the "
               "ends closed TCP, and nothing else differs",
               out.stdout + out.stderr)


def t_usage():
    check("no URL", wsc([]), 2, b"", "wsc: no URL")
    check("another scheme", wsc(["http://127.0.0.1/"]), 2, b"",
          "the URL must begin with ws:// or wss://")
    check("a fragment", wsc(["ws://h/#x"]), 2, b"", "no fragment")
    check("a port out of range", wsc(["ws://h:65536/"]), 2, b"",
          "the port must be a number from 1 to 65535")
    check("--header Host", wsc(["-H", "Host: x", "ws://h/"]), 2, b"",
          "the handshake sets this header field itself")
    check("--header without a colon", wsc(["-H", "nocolon", "ws://h/"]), 2,
          b"", "malformed header field name")
    check("--deflate with a bad parameter",
          wsc(["--deflate=client_max_window_bits=16", "ws://h/"]), 2, b"",
          "--deflate='client_max_window_bits=16'")
    check("--close 1005", wsc(["--close", "1005", "ws://h/"]), 2, b"",
          "--close '1005'")
    check("--origin with a CR LF", wsc(["--origin", "http://a\r\nX: 1",
                                        "ws://h/"]), 2, b"",
          "--origin: control character in header field value")
    check("--user-agent with a control character",
          wsc(["--user-agent", "a\x01b", "ws://h/"]), 2, b"",
          "--user-agent: control character in header field value")
    code, out, _ = wsc(["--help"])
    tap.ok(code == 0 and b"usage: wsc" in out, "--help: usage, status 0")
    # A port nothing listens on: the kernel picked it, then it was closed.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    check("nothing listening", wsc(["ws://127.0.0.1:%d/" % port]), 1, b"",
          "cannot connect to 127.0.0.1 port %d" % port)


class Certs:
    """A test CA, and a certificate it signed for IP:127.0.0.1 alone."""

    def __init__(self, d):
        o = os.environ.get("OPENSSL") or "openssl"
        self.ca = os.path.join(d, "ca.pem")
        cakey = os.path.join(d, "ca.key")
        self.cert = os.path.join(d, "server.pem")
        self.key = os.path.join(d, "server.key")
        req = os.path.join(d, "server.csr")
        ext = os.path.join(d, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        for cmd in (
                [o, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                 "-subj", "/CN=wsc test CA", "-keyout", cakey,
                 "-out", self.ca],
                [o, "req", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
                 "/CN=127.0.0.1", "-keyout", self.key, "-out", req],
                [o, "x509", "-req", "-in", req, "-CA", self.ca, "-CAkey",
                 cakey, "-CAcreateserial", "-days", "1", "-extfile", ext,
                 "-out", self.cert]):
            subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=W.timeout(30))


def t_wss(w, certs):
    url = "wss://127.0.0.1:%d/ws" % w.tls_port
    check("wss with the test CA", wsc(["--cacert", certs.ca, url],
                                      b"secret\n"), 0, b"secret\n")
    c = last_case(w)
    tap.ok((c.get("tls") or {}).get("version", "").startswith("TLSv1."),
           "wss with the test CA: wsd's record is a TLS one", c.get("tls"))
    check("wss with deflate", wsc(["--cacert", certs.ca, "--deflate", url],
                                  b"z" * 5000 + b"\n"), 0, b"z" * 5000 + b"\n")
    check("wss without the test CA", wsc([url], b"x\n"), 6, b"",
          "wsc: TLS: the server's certificate is refused")
    # localhost is 127.0.0.1, but the certificate holds only the address.
    wrong = "wss://localhost:%d/ws" % w.tls_port
    check("wss to a name the certificate does not hold",
          wsc(["--cacert", certs.ca, wrong], b"x\n"), 6, b"",
          "mismatch (host localhost)")
    check("wss --insecure to that name", wsc(["-k", wrong], b"x\n"), 0,
          b"x\n", "warning: --insecure")
    check("--cacert that is not a file",
          wsc(["--cacert", "/nonexistent/ca.pem", url]), 6, b"",
          "--cacert /nonexistent/ca.pem")
    # Who ended a failed TLS handshake, in wsc's record: wsc, when it
    # refused the certificate (its alert, then its close); the server,
    # when wsd answers a ClientHello on its ws:// port with a fatal alert
    # and its close (README, Opening handshake), as wsd's record says.
    plain = "wss://127.0.0.1:%d/ws" % w.port
    for what, args, status, dropped in (
            ("a refused certificate", [url], 6, True),
            ("wss:// to the ws:// port, answered with an alert",
             ["-k", plain], 6, False)):
        with tempfile.TemporaryDirectory() as d:
            rec = os.path.join(d, "rec")
            r = wsc(["--record", rec] + args, b"x\n")
            with open(os.path.join(rec, "index.json")) as f:
                index = json.load(f)
            entry, = [e for cases in index.values() for e in cases.values()]
            with open(os.path.join(rec, entry["reportfile"])) as f:
                case = json.load(f)
        tap.eq((r[0], case.get("droppedByMe")), (status, dropped),
               "%s: exit %d, and wsc's record says %s closed TCP first"
               % (what, status, "wsc" if dropped else "the server"))


# Raw servers: one connection each, scripted ----------------------------------

class RawServer:
    """A TCP server on a kernel-chosen port that takes `conns`
    connections in turn (one unless told), running script(sock,
    request_head) for each in a thread; it keeps what wsc sent."""

    def __init__(self, script, conns=1):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(W.timeout(20))
        self.port = self.sock.getsockname()[1]
        self.script = script
        self.conns = conns
        self.received = b""
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        for _ in range(self.conns):
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(W.timeout(10))
            try:
                head = W.read_http_head_raw(c)
                self.script(self, c, head)
            except OSError:
                pass
            finally:
                c.close()

    def read_rest(self, c):
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                self.received += b
        except OSError:
            pass

    def close(self):
        self.sock.close()
        self.thread.join(W.timeout(10))


def head_key(head):
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            return value.strip().decode()
    return ""


def good_101(head, extra=b""):
    return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " +
            W.accept_key(head_key(head)).encode() + b"\r\n" + extra +
            b"\r\n")


def masked_frame(srv, c, head):
    c.sendall(good_101(head) + b"\x81\x82\x01\x02\x03\x04\x69\x6b")
    srv.read_rest(c)
    c.close()


def wrong_accept(srv, c, head):
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
              b"HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n\r\n")
    srv.read_rest(c)


def extension_not_offered(srv, c, head):
    c.sendall(good_101(head, b"Sec-WebSocket-Extensions: "
                             b"permessage-deflate\r\n"))
    srv.read_rest(c)


def refuses_open(status_and_rest):
    """A refusal whose body does not end (as long as wsc waits), its
    connection kept open, as a keep-alive server keeps it."""
    def script(srv, c, head):
        c.sendall(status_and_rest)
        c.settimeout(W.timeout(60))  # longer than wsc is given
        srv.read_rest(c)
    return script


def silent(srv, c, head):
    srv.read_rest(c)


def drops(srv, c, head):
    """Takes wsc's close frame, never answers it, and closes TCP."""
    c.sendall(good_101(head) + b"\x81\x02hi")
    srv.received = c.recv(64)
    c.shutdown(socket.SHUT_WR)
    srv.read_rest(c)


def ping_flood(srv, c, head):
    """Floods pings and never reads wsc's pongs: a peer wsc must stop
    reading from, or its queue of pongs grows without end."""
    c.sendall(good_101(head))
    c.settimeout(W.timeout(2))
    burst = b"\x89\x7d" + b"p" * 125
    srv.sent = 0
    try:
        while srv.sent < PING_FLOOD:
            c.sendall(burst * 1000)
            srv.sent += 1000
    except OSError:
        pass  # blocked: wsc stopped reading
    srv.flood_done.set()
    srv.hold.wait(W.timeout(20))


def read_client_frame(c, recv):
    """One masked frame from wsc through recv(n): (opcode, payload)."""
    def exact(n):
        b = b""
        while len(b) < n:
            chunk = recv(n - len(b))
            if not chunk:
                raise EOFError("wsc closed TCP")
            b += chunk
        return b
    b0, b1 = exact(2)
    n = b1 & 0x7f
    if n == 126:
        n = int.from_bytes(exact(2), "big")
    elif n == 127:
        n = int.from_bytes(exact(8), "big")
    key = exact(4)
    payload = bytes(x ^ key[i % 4] for i, x in enumerate(exact(n))) \
        if n <= 125 else exact(n)  # data: its bytes are not checked
    return b0 & 0x0f, payload


SLOW_MESSAGES, SLOW_SIZE = 3, 256 * 1024


def slow_reader(srv, c, head):
    """Reads wsc's messages at about 256 KiB/s, 4 KiB at a time, its
    receive buffer small, so that they wait in wsc's kernel; answers each
    with "ok" and each ping with its pong; then answers wsc's close."""
    c.sendall(good_101(head))
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    c.settimeout(W.timeout(20))

    def recv(n):
        time.sleep(4096 / (256 * 1024))
        return c.recv(min(n, 4096))
    srv.pings = srv.messages = 0
    while True:
        op, payload = read_client_frame(c, recv)
        if op == 9:
            srv.pings += 1
            c.sendall(bytes([0x8a, len(payload)]) + payload)
        elif op == 8:
            srv.closed_with = payload
            c.sendall(b"\x88\x02" + payload[:2])
            return
        elif op in (1, 2):
            srv.messages += 1
            c.sendall(b"\x81\x02ok")


def t_slow_reader():
    """A server that reads wsc's messages slowly is not silent: wsc's
    ping would wait behind them in the kernel, so its reading is heard
    instead, and the session ends with wsc's own close, not with 'no
    pong' (a timeout, exit status 5)."""
    srv = RawServer(slow_reader)
    data = (b"m" * (SLOW_SIZE - 1) + b"\n") * SLOW_MESSAGES
    res = wsc_live(["--ping-interval", "300",
                    "ws://127.0.0.1:%d/" % srv.port], data,
                   3 * SLOW_MESSAGES)
    srv.close()
    check("a server reading slowly", res, 0, b"ok\n" * SLOW_MESSAGES)
    tap.eq(getattr(srv, "messages", None), SLOW_MESSAGES,
           "a server reading slowly: it had every message (3 x 256 KiB "
           "at 256 KiB/s, a ping due every 300 ms of silence)")


PING_FLOOD = 1000000  # 127 MB of pings, 131 MB of pongs


def t_ping_flood():
    srv = RawServer(ping_flood)
    srv.flood_done = threading.Event()
    srv.hold = threading.Event()
    p = subprocess.Popen([WSC, "ws://127.0.0.1:%d/" % srv.port],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        srv.flood_done.wait(W.timeout(60))
        peak = None
        try:
            with open("/proc/%d/status" % p.pid) as f:
                m = re.search(r"VmHWM:\s*(\d+) kB", f.read())
                peak = int(m.group(1)) if m else None
        except OSError:
            pass
        tap.ok(srv.flood_done.is_set() and srv.sent < PING_FLOOD,
               "a server that floods pings and never reads: wsc stops "
               "reading (the flood is held back)",
               "%d of %d pings sent" % (getattr(srv, "sent", 0), PING_FLOOD))
        tap.ok(peak is not None and peak < 64 * 1024,
               "... and its memory stays bounded (peak under 64 MB)",
               "VmHWM %r kB" % peak)
    finally:
        srv.hold.set()
        p.kill()
        p.wait()
        srv.close()


def while_stopped(srv):
    """Runs wsc against srv with its input open; once wsc has printed the
    server's "ready", stops wsc (SIGSTOP) and lets the server act
    (srv.go), so that all it sends (srv.acted) waits in wsc's socket
    together and comes in one wakeup; then lets wsc go on. Returns
    (status, stdout, stderr); status None when wsc did not end."""
    p = subprocess.Popen([WSC, "ws://127.0.0.1:%d/" % srv.port],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out = b""
    try:
        line = W.read_ready_line(p.stdout.fileno(), 10)
        out = line or b""
        os.kill(p.pid, signal.SIGSTOP)
        srv.go.set()
        srv.acted.wait(W.timeout(10))
        os.kill(p.pid, signal.SIGCONT)
        p.wait(W.timeout(10))
        rest, err = p.communicate(timeout=W.timeout(10))
        return p.returncode, out + rest, err
    except (subprocess.TimeoutExpired, OSError) as e:
        try:
            os.kill(p.pid, signal.SIGCONT)
        except OSError:
            pass
        p.kill()
        rest, err = p.communicate()
        return None, out + rest, err + str(e).encode()


# Text a hostile server chooses, which wsc shows on its standard error: a
# terminal's escape sequences, a line of its own made to look like
# wsc's, a C1 control (CSI), an invalid byte where one may be, and a
# bidirectional override.
FORGED = "\x1b[31mred\x1b[0m\nwsc: forged line\r\x07\u009b2J\u202eevil"


def shown_plainly(name, err, lines):
    """wsc's standard error, err, is `lines` lines, each from wsc, with
    no control character, C1 control or bidirectional override in it:
    what the server chose shows escaped."""
    text = err.decode("utf-8", "replace")
    got = text.split("\n")
    tap.ok(text.endswith("\n") and len(got) == lines + 1 and
           all(l.startswith("wsc: ") for l in got[:-1]),
           "%s: %d line%s of wsc's own" % (name, lines,
                                          "" if lines == 1 else "s"), text)
    bad = [c for c in text.replace("\n", "") if ord(c) < 0x20 or
           0x7f <= ord(c) < 0xa0 or 0x202a <= ord(c) <= 0x202e or
           0x2066 <= ord(c) <= 0x2069]
    tap.eq(bad, [], "%s: no control character reaches the terminal" % name)


def hostile_close(srv, c, head):
    """A message, then a close whose reason is FORGED; the server closes
    TCP once wsc answers."""
    reason = FORGED.encode()
    c.sendall(good_101(head) + b"\x81\x02hi" +
              bytes([0x88, 2 + len(reason)]) + struct.pack("!H", 4000) +
              reason)
    try:
        read_client_frame(c, c.recv)
    except (EOFError, OSError):
        pass


def fuzzingserver(count):
    """A fuzzingserver (the Autobahn testsuite's) of one case whose
    answers are hostile: count is its answer to /getCaseCount, the case's
    id (/getCaseInfo) is FORGED."""
    def script(srv, c, head):
        path = head.split(b" ")[1]
        msg = b""
        if path.startswith(b"/getCaseCount"):
            msg = count.encode()
        elif path.startswith(b"/getCaseInfo"):
            # Raw, as no JSON encoder would send it: wsc takes what
            # stands between the quotes.
            msg = ('{"id": "%s", "description": "x"}' % FORGED).encode()
        out = good_101(head)
        if msg:
            out += bytes([0x81, len(msg)]) + msg
        c.sendall(out + b"\x88\x02\x03\xe8")
        try:
            read_client_frame(c, c.recv)
        except (EOFError, OSError):
            pass
    return script


def t_hostile_text():
    """What a server chose and wsc says on its standard error (a close's
    reason, an Autobahn case's id, a fuzzingserver's odd case count) is
    shown escaped: it can neither forge a line of wsc's nor drive the
    terminal."""
    srv = RawServer(hostile_close)
    res = wsc(["ws://127.0.0.1:%d/" % srv.port], b"")
    srv.close()
    check("a close reason with control characters", res, 0, b"hi\n",
          "wsc: the server closed with 4000: \\x1b[31mred")
    shown_plainly("a close reason with control characters", res[2], 1)
    srv = RawServer(fuzzingserver("1"), conns=4)
    with tempfile.TemporaryDirectory() as d:
        res = wsc(["autobahn", "--record", d, "ws://127.0.0.1:%d" % srv.port])
        names = sorted(os.listdir(d))
    srv.close()
    check("wsc autobahn: a case id with control characters", res, 0, b"",
          "wsc: case 1/1 \\x1b[31mred")
    shown_plainly("wsc autobahn: a case id with control characters", res[2],
                  2)
    tap.ok(len(names) == 4 and all(re.match(r"^[A-Za-z0-9_.]+$", n)
                                   for n in names),
           "wsc autobahn: the record's files have plain names", names)
    srv = RawServer(fuzzingserver(FORGED), conns=1)
    res = wsc(["autobahn", "ws://127.0.0.1:%d" % srv.port])
    srv.close()
    check("wsc autobahn: a case count with control characters", res, 1, b"",
          "wsc: /getCaseCount: no case count (\\x1b[31mred")
    shown_plainly("wsc autobahn: a case count with control characters",
                  res[2], 1)


def ready_then(act):
    """A script: the 101 and a message "ready", then act(srv, c) once
    srv.go is set."""
    def script(srv, c, head):
        c.sendall(good_101(head) + b"\x81\x05ready")
        srv.go.wait(W.timeout(10))
        act(srv, c)
    return script


def close_and_fin(srv, c):
    """The server's close and its FIN, sent together; then what wsc
    answers, up to its own FIN."""
    c.sendall(b"\x88\x02\x03\xe8")
    c.shutdown(socket.SHUT_WR)
    srv.acted.set()
    try:
        srv.answer = read_client_frame(c, c.recv)
    except (EOFError, OSError):
        srv.answer = None


def message_and_reset(srv, c):
    """A message, then a reset (SO_LINGER 0): both reach wsc at once."""
    c.sendall(b"\x81\x02hi")
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    srv.acted.set()


def raw_stopped(act):
    srv = RawServer(ready_then(act))
    srv.go = threading.Event()
    srv.acted = threading.Event()
    res = while_stopped(srv)
    srv.go.set()
    srv.close()
    return srv, res


def t_stopped():
    """Frames and the end of the connection that reach wsc in one read."""
    srv, res = raw_stopped(close_and_fin)
    check("the server's close and FIN in one read", res, 0, b"ready\n")
    tap.eq(getattr(srv, "answer", None), (8, b"\x03\xe8"),
           "the server's close and FIN in one read: wsc answered the close "
           "(RFC 6455 5.5.1) before closing its socket")
    # Without a timer running (no --ping-interval, input open), nothing
    # but the socket can end wsc here.
    _, res = raw_stopped(message_and_reset)
    check("a message and a reset in one read", res, 1, b"ready\nhi\n",
          "wsc: read: Connection reset by peer")


LARGE = 16 << 20


def large_then_silent(srv, c, head):
    """The 101, a 16 MiB binary message in two fragments (so that wsc
    assembles it), then silence until srv.go; then a close."""
    half = LARGE // 2
    c.sendall(good_101(head))
    for first, fill in ((0x02, b"a"), (0x80, b"b")):
        c.sendall(bytes([first, 127]) + struct.pack("!Q", half) + fill * half)
    srv.go.wait(W.timeout(30))
    c.sendall(b"\x88\x02\x03\xe8")
    try:
        read_client_frame(c, c.recv)
    except (EOFError, OSError):
        pass


def opened_then_silent(srv, c, head):
    """The 101, then silence until srv.go; then a close."""
    c.sendall(good_101(head))
    srv.go.wait(W.timeout(30))
    c.sendall(b"\x88\x02\x03\xe8")
    try:
        read_client_frame(c, c.recv)
    except (EOFError, OSError):
        pass


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def t_large_then_silent():
    """A large message, then a server that falls silent: wsc holds no
    copy of the message once it has written it out (the session's
    buffer is freed at once, not at the next input). wsc's resident
    memory then is compared with a wsc's that got no message."""
    env = W.env_with_asan_options("quarantine_size_mb=0")
    procs, servers = [], []
    try:
        for script in (opened_then_silent, large_then_silent):
            srv = RawServer(script)
            srv.go = threading.Event()
            servers.append(srv)
            procs.append(subprocess.Popen(
                [WSC, "-b", "ws://127.0.0.1:%d/" % srv.port],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=env))
        got = 0
        fd = procs[1].stdout.fileno()
        deadline = time.monotonic() + W.timeout(30)
        while got < LARGE + 1 and time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                got += len(chunk)
        tap.eq(got, LARGE + 1, "a 16 MiB message, then silence: written out")
        sizes = {}

        def settled():
            sizes["idle"], sizes["after"] = (rss_kib(p.pid) for p in procs)
            return None not in sizes.values() and \
                sizes["after"] < sizes["idle"] + LARGE // 2048
        tap.ok(W.wait_until(settled, 5),
               "a 16 MiB message, then silence: wsc holds no copy of it "
               "(resident KiB against a wsc that got none)", sizes)
    finally:
        for srv in servers:
            srv.go.set()
        for p in procs:
            try:
                p.communicate(b"", timeout=W.timeout(10))
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
        for srv in servers:
            srv.close()
    tap.eq([p.returncode for p in procs], [0, 0],
           "a 16 MiB message, then silence: both end with the close")


def t_raw():
    t_stopped()
    t_large_then_silent()
    srv = RawServer(masked_frame)
    check("a masked frame from the server",
          wsc(["ws://127.0.0.1:%d/" % srv.port], b""), 4, b"",
          "protocol error: server frame is masked (closed with 1002)")
    srv.close()
    # wsc's close: masked, code 1002.
    r = srv.received
    ok = len(r) >= 8 and r[0] == 0x88 and r[1] & 0x80
    code = ((r[6] ^ r[2]) << 8 | (r[7] ^ r[3])) if ok else None
    tap.eq(code, 1002, "a masked frame from the server: wsc closed with a "
                       "masked 1002")

    srv = RawServer(wrong_accept)
    check("the Accept of another key",
          wsc(["ws://127.0.0.1:%d/" % srv.port], b""), 3, b"",
          "handshake failed: Sec-WebSocket-Accept does not match the key "
          "sent")
    srv.close()
    srv = RawServer(extension_not_offered)
    check("an extension not offered",
          wsc(["ws://127.0.0.1:%d/" % srv.port], b""), 3, b"",
          "handshake failed: Sec-WebSocket-Extensions answers no offer")
    srv.close()
    # The body's first line is all wsc shows: once it is in, the rest
    # is not waited for (here the whole handshake timeout).
    srv = RawServer(refuses_open(b"HTTP/1.1 403 Forbidden\r\n"
                                 b"Content-Length: 1000\r\n\r\n"
                                 b"no entry here\nand more"))
    check("a refusal whose body does not end",
          wsc(["--handshake-timeout", "60000",
               "ws://127.0.0.1:%d/" % srv.port], b"", 30), 3, b"",
          "wsc: handshake refused: HTTP 403 no entry here\n")
    srv.close()
    # A chunked body: its first line is the chunk's size, not the reason.
    srv = RawServer(refuses_open(b"HTTP/1.1 404 Not Found\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n"
                                 b"9\r\nnot here\n\r\n0\r\n\r\n"))
    check("a refusal with a chunked body",
          wsc(["ws://127.0.0.1:%d/" % srv.port], b""), 3, b"",
          "wsc: handshake refused: HTTP 404 not here\n")
    srv.close()
    # A body that never has a first line: the refusal is still one.
    srv = RawServer(refuses_open(b"HTTP/1.1 404 Not Found\r\n\r\n"))
    check("a refusal without a body, its connection kept open",
          wsc(["--handshake-timeout", "300",
               "ws://127.0.0.1:%d/" % srv.port], b""), 3, b"",
          "wsc: handshake refused: HTTP 404 (no reason given)\n")
    srv.close()
    srv = RawServer(silent)
    check("no answer to the handshake",
          wsc(["--handshake-timeout", "300",
               "ws://127.0.0.1:%d/" % srv.port], b""), 5, b"",
          "no answer to the opening handshake within 300 ms")
    srv.close()
    srv = RawServer(drops)
    check("a server that drops TCP", wsc(["ws://127.0.0.1:%d/" % srv.port],
                                         b""), 1, b"hi\n",
          "the server closed TCP without answering our close frame")
    srv.close()
    t_ping_flood()
    t_slow_reader()
    t_hostile_text()


# Third-party servers -----------------------------------------------------------

def t_python(deflate):
    import websockets.server
    seen = []
    ready = threading.Event()
    state = {}

    async def echo(ws, path=None):
        seen.append(ws.response_headers.get("Sec-WebSocket-Extensions"))
        try:
            async for m in ws:
                await ws.send(m)
        except Exception:
            pass

    async def serve():
        stop = asyncio.get_running_loop().create_future()
        state["stop"] = stop
        state["loop"] = asyncio.get_running_loop()
        async with websockets.server.serve(
                echo, "127.0.0.1", 0, max_size=None, ping_interval=None,
                compression="deflate" if deflate else None) as s:
            state["port"] = s.sockets[0].getsockname()[1]
            ready.set()
            await stop

    th = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    th.start()
    if not ready.wait(W.timeout(10)):
        tap.ok(False, "python3-websockets server started")
        return
    name = "python3-websockets %s" % ("with deflate" if deflate else "plain")
    data = "ünïcode line\n".encode() + b"x" * 3000 + b"\n"
    url = "ws://127.0.0.1:%d/" % state["port"]
    check(name, wsc_live(["--deflate", url], data, len(data)), 0, data)
    bin_data = bytes(range(256)) * 40 + b"\n"
    check(name + ", binary", wsc_live(["-b", "--deflate", url], bin_data,
                                      len(bin_data)), 0, bin_data)
    state["loop"].call_soon_threadsafe(state["stop"].set_result, None)
    th.join(W.timeout(10))
    tap.ok(bool(seen[0]) == deflate if seen else False,
           "%s: permessage-deflate %s" % (name, "negotiated" if deflate
                                          else "declined"), seen)


def t_node(deflate):
    node = os.environ.get("NODE") or "node"
    env = dict(os.environ)
    env.setdefault("NODE_PATH", "/usr/share/nodejs")
    name = "node ws %s" % ("with deflate" if deflate else "plain")
    p = subprocess.Popen([node, os.path.join(HERE, "ws_server.js"),
                          "deflate" if deflate else "plain"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        line = W.read_ready_line(p.stdout.fileno(), 10)
        port = json.loads(line.decode()).get("port")
        data = "ünïcode line\n".encode() + b"y" * 3000 + b"\n"
        check(name, wsc(["--deflate=client_max_window_bits",
                         "ws://127.0.0.1:%d/" % port], data), 0, data)
        big = b"z" * (1 << 20) + b"\n"
        check(name + ", 1 MiB", wsc(["--deflate", "ws://127.0.0.1:%d/" % port],
                                    big), 0, big)
    finally:
        try:
            out, _ = p.communicate(timeout=W.timeout(10))
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
    exts = [json.loads(l).get("extensions") for l in out.decode().splitlines()
            if "extensions" in l]
    tap.ok(len(exts) == 2 and all(bool(e) == deflate for e in exts),
           "%s: permessage-deflate %s" % (name, "negotiated" if deflate
                                          else "declined"), exts)


class FuzzingServer:
    """The fuzzingserver's side of `wsc autobahn`, on python3-websockets:
    /getCaseCount says 3; /getCaseInfo gives case N the id 9.9.N;
    /runCase sends case 1 a text message and case 2 a binary one and
    closes with 1000 once each is echoed, and sends case 3 a text
    message that is not UTF-8; /updateReports is noted. Every request's
    path is kept, and what came back."""

    MESSAGES = {1: "ünïcode case 1", 2: bytes(range(256)) * 4}

    def __init__(self):
        self.paths = []
        self.echoes = {}
        self.ready = threading.Event()
        self.state = {}
        self.th = threading.Thread(target=lambda: asyncio.run(self.serve()),
                                   daemon=True)

    async def handler(self, ws, path=None):
        path = path or ws.path
        self.paths.append(path)
        q = urllib.parse.urlsplit(path)
        case = int((urllib.parse.parse_qs(q.query).get("case") or ["0"])[0])
        try:
            if q.path == "/getCaseCount":
                await ws.send("3")
            elif q.path == "/getCaseInfo":
                await ws.send(json.dumps({"id": "9.9.%d" % case,
                                          "description": "a test case"}))
            elif q.path == "/runCase" and case in self.MESSAGES:
                await ws.send(self.MESSAGES[case])
                self.echoes[case] = await ws.recv()
            elif q.path == "/runCase":
                # A raw frame: the library would not send it.
                ws.transport.write(b"\x81\x02\xff\xfe")
                await ws.wait_closed()
            await ws.close(1000)
        except Exception:
            pass

    async def serve(self):
        import websockets.server
        stop = asyncio.get_running_loop().create_future()
        self.state["stop"] = stop
        self.state["loop"] = asyncio.get_running_loop()
        async with websockets.server.serve(self.handler, "127.0.0.1", 0,
                                           ping_interval=None,
                                           compression=None) as s:
            self.state["port"] = s.sockets[0].getsockname()[1]
            self.ready.set()
            await stop

    def __enter__(self):
        self.th.start()
        if not self.ready.wait(W.timeout(10)):
            raise RuntimeError("the python3-websockets server did not start")
        self.url = "ws://127.0.0.1:%d" % self.state["port"]
        return self

    def __exit__(self, *exc):
        self.state["loop"].call_soon_threadsafe(self.state["stop"].set_result,
                                                None)
        self.th.join(W.timeout(10))


def t_autobahn(tmp):
    with FuzzingServer() as fs:
        rec = os.path.join(tmp, "autobahn")
        code, _, err = wsc(["autobahn", fs.url, "--agent", "t1",
                            "--record", rec], seconds=60)
        err = err.decode(errors="replace")
        tap.ok(code == 0, "autobahn: exit status 0 (reports updated)",
               "status %r\n%s" % (code, err[-2000:]))
        for want in ("wsc: case 1/3 9.9.1: clean close, the server's close "
                     "1000",
                     "wsc: case 2/3 9.9.2: clean close, the server's close "
                     "1000",
                     "wsc: case 3/3 9.9.3: failed by wsc",
                     "wsc: 3 cases as agent t1: 2 closed cleanly, 1 failed "
                     "by wsc, 0 timed out, 0 without a clean close, 0 "
                     "refused; reports updated"):
            tap.ok(want in err, "autobahn: says %r" % want, err[-2000:])
        tap.eq(fs.echoes, FuzzingServer.MESSAGES,
               "autobahn: each case's message echoed as it came")
        tap.eq(fs.paths,
               ["/getCaseCount"] +
               [p % n for n in (1, 2, 3) for p in
                ("/getCaseInfo?case=%d&agent=t1", "/runCase?case=%d&agent=t1")]
               + ["/updateReports?agent=t1"],
               "autobahn: the testsuite's requests, in order, with the agent")
        try:
            with open(os.path.join(rec, "index.json")) as f:
                index = json.load(f)
        except (OSError, ValueError) as e:
            index = {"error": str(e)}
        tap.eq(sorted((index.get("t1") or {}).keys()),
               ["9.9.1", "9.9.2", "9.9.3"],
               "autobahn --record: index.json holds each case by its id")

        del fs.paths[:]
        code, _, err = wsc(["autobahn", fs.url, "--cases", "2-"], seconds=60)
        tap.eq(code, 0, "autobahn --cases 2-: exit status 0")
        tap.eq([p for p in fs.paths if p.startswith("/runCase")],
               ["/runCase?case=2&agent=wsc", "/runCase?case=3&agent=wsc"],
               "autobahn --cases 2-: cases 2 and 3, as agent wsc")

        # A list wsc can tell is wrong is refused before it connects; one
        # past the server's 3 cases once the server has said so.
        for cases, asked in (("abc", []), ("0", []), ("3-1", []), ("1,", []),
                             ("4", ["/getCaseCount"])):
            del fs.paths[:]
            check("autobahn --cases %s" % cases,
                  wsc(["autobahn", fs.url, "--cases", cases]), 2, b"",
                  "--cases '%s': numbers and ranges of" % cases)
            tap.eq(fs.paths, asked, "autobahn --cases %s: asked the server "
                   "%r" % (cases, asked))
        del fs.paths[:]
        check("autobahn --agent with a space",
              wsc(["autobahn", fs.url, "--agent", "a b"]), 2, b"",
              "--agent 'a b': 1 to 64 letters")
        tap.eq(fs.paths, [], "autobahn --agent with a space: nothing asked")


def main():
    with tempfile.TemporaryDirectory() as d:
        certs = Certs(d)
        W.guard(tap, "usage", t_usage)
        with W.Wsd(tap, ["--tls_listen", "127.0.0.1:0", "--tls_certificate",
                         certs.cert, "--tls_certificate_key",
                         certs.key]) as w:
            W.guard(tap, "wsd", t_wsd, w)
            W.guard(tap, "a file on standard input", t_file_input, w)
            W.guard(tap, "standard output closed", t_stdout_closed, w)
            W.guard(tap, "signals", t_signals, w)
            W.guard(tap, "standard input and output unusable", t_bad_stdio,
                    w)
            W.guard(tap, "wss", t_wss, w, certs)
            W.guard(tap, "records", t_record, w)
            W.guard(tap, "reset by a proxy", t_reset, w)
        W.guard(tap, "raw servers", t_raw)
        W.guard(tap, "autobahn", t_autobahn, d)
        for deflate in (False, True):
            W.guard(tap, "python3-websockets", t_python, deflate)
            W.guard(tap, "node ws", t_node, deflate)
    tap.done()


if __name__ == "__main__":
    main()
