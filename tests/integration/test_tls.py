#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""wss:// through the real daemon: a throwaway certificate made here with
the openssl command, echo over TLS with a real client (python3
websockets) and with raw frames, permessage-deflate over TLS, ws:// and
wss:// served at once, the TLS policy seen by `openssl s_client` (TLS 1.1
refused, ALPN http/1.1, client renegotiation refused, session
resumption, also across workers), a TLS client on the ws:// port
(a TLS alert at once), hostile input on the TLS port (plaintext HTTP,
answered with a 400 in the clear; garbage, a truncated ClientHello,
stalled and slow handshakes) that closes only its own connection and is
logged as a count at most once a second, backpressure under a client that does not
read, and the start-up refusals of bad certificate configurations (exit
status 2, with the file and the problem named).

Expected values come from the issue and the RFCs, never from the code
under test; every wait is bounded.
"""
import asyncio
import functools
import os
import re
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import time

import wsdtest as W
from wsdtest import timeout

tap = W.Tap()
OPENSSL = os.environ.get("OPENSSL") or "openssl"
HANDSHAKE_TIMEOUT_MS = 2000
HIGH_WATER = 65536
MIB = 1 << 20
TEXT, BINARY, CLOSE = 1, 2, 8


# The shared helpers, by their short names here.
guard = functools.partial(W.guard, tap)
run = functools.partial(W.run_async, tap, seconds=120)
echo = W.ws_echo
echo_raw = W.echo_raw
same = tap.same


# Certificates -------------------------------------------------------------

class Certs:
    """A self-signed certificate for 127.0.0.1 (and localhost) with its
    key, a second key that does not match it, and a file that is no PEM,
    in a fresh temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="wsd-test-tls-")
        self.cert, self.key = W.make_cert(self.dir, "localhost",
                                          "IP:127.0.0.1,DNS:localhost")
        self.other_key = os.path.join(self.dir, "other-key.pem")
        self.garbage = os.path.join(self.dir, "garbage.pem")
        self.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt",
                      "ec_paramgen_curve:prime256v1", "-out", self.other_key])
        with open(self.garbage, "wb") as f:
            f.write(b"this is not a certificate\n" * 4)
        # ECDSA on secp256k1: a pair that matches, and that no handshake
        # of wsd's policy can use (no TLS 1.3 scheme, no curve a client
        # offers for 1.2).
        self.k1_cert, self.k1_key = self.self_signed(
            "k1", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp256k1"])

    def self_signed(self, name, newkey, days=("-days", "1")):
        """A self-signed certificate for 127.0.0.1 with a new key of the
        kind newkey (openssl req's options) in the directory: (cert,
        key)."""
        cert = os.path.join(self.dir, name + "-cert.pem")
        key = os.path.join(self.dir, name + "-key.pem")
        self.openssl(["req", "-x509", "-nodes", "-subj", "/CN=" + name,
                      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                      key, "-out", cert] + list(newkey) + list(days))
        return cert, key

    @staticmethod
    def openssl(args):
        subprocess.run([OPENSSL] + args, check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=timeout(30))

    def dated(self, name, not_before, not_after):
        """A self-signed P-256 certificate valid from not_before to
        not_after (RFC 5280 times, "YYYYMMDDHHMMSSZ"), which `openssl
        req` cannot make and `openssl ca` can: (cert, key)."""
        sub = os.path.join(self.dir, name)
        os.mkdir(sub)
        csr, key, cert, conf = (os.path.join(sub, n) for n in
                                ("req.csr", "key.pem", "cert.pem", "ca.conf"))
        with open(os.path.join(sub, "index.txt"), "w"):
            pass
        with open(conf, "w") as f:
            f.write("[ca]\ndefault_ca = d\n[d]\ndatabase = %s/index.txt\n"
                    "new_certs_dir = %s\ndefault_md = sha256\npolicy = p\n"
                    "rand_serial = yes\nunique_subject = no\n"
                    "copy_extensions = copy\n[p]\ncommonName = supplied\n"
                    % (sub, sub))
        self.openssl(["req", "-new", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
                      "/CN=" + name, "-addext", "subjectAltName=IP:127.0.0.1",
                      "-keyout", key, "-out", csr])
        self.openssl(["ca", "-config", conf, "-selfsign", "-keyfile", key,
                      "-in", csr, "-startdate", not_before, "-enddate",
                      not_after, "-batch", "-notext", "-out", cert])
        return cert, key

    def args(self):
        return ["--tls_listen", "127.0.0.1:0", "--tls_certificate", self.cert,
                "--tls_certificate_key", self.key]

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


CERTS = None


def client_ctx(maximum=None):
    """A client context that trusts the test certificate and checks the
    host name 127.0.0.1 against it."""
    ctx = ssl.create_default_context(cafile=CERTS.cert)
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


def s_client(port, args, stdin=b"", seconds=10, hold=0.0):
    """Runs `openssl s_client` against 127.0.0.1:port. Writes stdin, keeps
    stdin open `hold` seconds (scaled) more, then closes it. Returns
    (status or None on timeout, stdout and stderr together)."""
    proc = subprocess.Popen(
        [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port] + args,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        if stdin:
            proc.stdin.write(stdin)
            proc.stdin.flush()
        if hold:
            time.sleep(timeout(hold))
        out, _ = proc.communicate(timeout=timeout(seconds))
        return proc.returncode, out.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        return None, out.decode("utf-8", "replace")


# A TLS client through memory BIOs -----------------------------------------

class TlsBio:
    """A TLS client over a raw TCP socket through ssl memory BIOs: ssl does
    the cryptography, the test decides when ciphertext is sent and read.
    Offers recv() and sendall() like a socket, so wsdtest's frame helpers
    work on it; every wait is bounded."""

    def __init__(self, port, ctx=None, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout(5))
        self.sock.connect(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.tls = (ctx or client_ctx()).wrap_bio(
            self.inc, self.out, server_hostname="127.0.0.1")
        self.wire = b""   # ciphertext not yet sent
        self.plain = b""  # plaintext received, not yet taken
        self.eof = False

    def push(self):
        """Sends what the socket takes now; returns the bytes sent."""
        self.wire += self.out.read()
        if not self.wire:
            return 0
        try:
            n = self.sock.send(self.wire)
        except BlockingIOError:
            return 0
        self.wire = self.wire[n:]
        return n

    def pull(self, wait):
        """Waits up to `wait` seconds for ciphertext and decrypts it;
        returns False once the server closed the connection."""
        if self.eof:
            return False
        r, _, _ = select.select([self.sock], [], [], wait)
        if not r:
            return True
        try:
            data = self.sock.recv(262144)
        except BlockingIOError:
            return True
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.inc.write(data)
        while True:
            try:
                chunk = self.tls.read(262144)
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                return True
            except ssl.SSLError:
                self.eof = True
                return False
            if not chunk:
                return True
            self.plain += chunk

    def handshake(self, seconds=5):
        deadline = time.monotonic() + timeout(seconds)
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
            self.push()
            if not self.pull(0.05):
                raise EOFError("server closed during the TLS handshake")
            if time.monotonic() > deadline:
                raise TimeoutError("TLS handshake")
        self.push()

    def sendall(self, data, seconds=10):
        self.tls.write(data)
        deadline = time.monotonic() + timeout(seconds)
        while self.push() or self.wire:
            if not self.wire:
                continue
            select.select([], [self.sock], [], 0.05)
            if time.monotonic() > deadline:
                raise TimeoutError("sendall")

    def recv(self, n, seconds=10):
        deadline = time.monotonic() + timeout(seconds)
        while not self.plain:
            self.push()
            if not self.pull(0.05):
                break
            if time.monotonic() > deadline:
                raise socket.timeout("recv")
        data, self.plain = self.plain[:n], self.plain[n:]
        return data

    def wait_eof(self, seconds):
        """Reads until the server closes the connection or `seconds`
        (unscaled) pass; returns True on the close."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.push()
            if not self.pull(min(0.05, max(0, deadline - time.monotonic()))):
                return True
        return False

    def close(self):
        self.sock.close()


def open_wss_raw(port, ctx=None):
    """A blocking TLS socket past a successful opening handshake."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout(5))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s = (ctx or client_ctx()).wrap_socket(raw, server_hostname="127.0.0.1")
    s.sendall(W.handshake_request())
    status, _ = W.read_http_head(s)
    if status != 101:
        s.close()
        raise RuntimeError("wss handshake refused: %r" % status)
    return s


def close_raw(s):
    """The close handshake from the client side; True when the server
    answers 1000 and closes."""
    try:
        s.sendall(W.frame(CLOSE, W.close_payload(1000)))
        code, _, _ = W.read_close(s)
        return code == 1000
    finally:
        s.close()


# Start-up refusals ---------------------------------------------------------

def t_refusals():
    missing = os.path.join(CERTS.dir, "missing.pem")
    cases = [
        ("a key that does not match the certificate",
         ["--tls_certificate", CERTS.cert,
          "--tls_certificate_key", CERTS.other_key],
         "tls_certificate_key %s: key does not match the certificate %s"
         % (CERTS.other_key, CERTS.cert)),
        ("a certificate that cannot be read",
         ["--tls_certificate", missing, "--tls_certificate_key", CERTS.key],
         "tls_certificate %s: No such file or directory" % missing),
        ("a certificate file with no PEM in it",
         ["--tls_certificate", CERTS.garbage,
          "--tls_certificate_key", CERTS.key],
         "tls_certificate %s: no usable PEM certificate" % CERTS.garbage),
        ("a directory as the certificate",
         ["--tls_certificate", CERTS.dir, "--tls_certificate_key", CERTS.key],
         "tls_certificate %s: not a regular file" % CERTS.dir),
        ("a missing key file",
         ["--tls_certificate", CERTS.cert, "--tls_certificate_key", missing],
         "tls_certificate_key %s: No such file or directory" % missing),
        ("a certificate as the key",
         ["--tls_certificate", CERTS.cert,
          "--tls_certificate_key", CERTS.cert],
         "tls_certificate_key %s: no PEM private key in it" % CERTS.cert),
        ("a certificate without its key",
         ["--tls_certificate", CERTS.cert],
         "tls_certificate_key: missing"),
        ("tls_listen without a certificate",
         ["--tls_listen", "127.0.0.1:0"],
         "tls_listen: TLS is off without tls_certificate"),
        ("a key without a certificate",
         ["--tls_certificate_key", CERTS.key],
         "tls_certificate_key: TLS is off without tls_certificate"),
        ("an ECDSA key on secp256k1, which signs no handshake",
         ["--tls_certificate", CERTS.k1_cert,
          "--tls_certificate_key", CERTS.k1_key],
         "tls_certificate_key %s: EC keys on secp256k1 cannot sign a TLS "
         "1.2 ECDHE or TLS 1.3 handshake" % CERTS.k1_key),
        ("wss:// on the port of ws://",
         ["--listen", "127.0.0.1:9", "--tls_listen", "127.0.0.1:9",
          "--tls_certificate", CERTS.cert, "--tls_certificate_key", CERTS.key],
         "tls_listen: 127.0.0.1:9 takes the port of listen"),
    ]
    for what, args, message in cases:
        if "--listen" not in args:
            args = ["--listen", "127.0.0.1:0"] + args
        status, out, err = W.run_once(["--workers", "1"] + args)
        tap.ok(status == 2 and message in err,
               "refused at start with status 2, naming the problem: %s" % what,
               "status %r, stderr %r, want %r" % (status, err, message))
    # wsd -t refuses it as start-up does.
    status, out, err = W.run_once(
        ["-t", "--tls_listen", "127.0.0.1:0", "--tls_certificate",
         CERTS.k1_cert, "--tls_certificate_key", CERTS.k1_key])
    tap.ok(status == 2 and "EC keys on secp256k1 cannot sign" in err
           and CERTS.k1_key in err,
           "wsd -t refuses a key that signs no handshake, naming it",
           "status %r, stdout %r, stderr %r" % (status, out, err))
    # The same file directives in a configuration file.
    conf = os.path.join(CERTS.dir, "wsd.conf")
    with open(conf, "w") as f:
        f.write("listen 127.0.0.1:0\nworkers 1\n"
                "tls_certificate %s\ntls_certificate_key %s\n"
                % (CERTS.cert, CERTS.other_key))
    status, out, err = W.run_once(["-c", conf])
    tap.ok(status == 2 and "key does not match" in err
           and CERTS.other_key in err,
           "a mismatched pair from a configuration file is refused too",
           "status %r, stderr %r" % (status, err))


# Reload ---------------------------------------------------------------------

def reload_conf(path, cert, key):
    with open(path, "w") as f:
        f.write("tls_certificate %s\ntls_certificate_key %s\n" % (cert, key))


def t_reload():
    """A reload (SIGHUP) loads the certificate anew through the same
    checks as start-up: one that start-up refuses is refused, logged
    with the reason, and the running workers serve on."""
    conf = os.path.join(CERTS.dir, "reload.conf")
    reload_conf(conf, CERTS.cert, CERTS.key)
    with W.Wsd(tap, ["-c", conf, "--tls_listen", "127.0.0.1:0"]) as w:
        old = set(w.workers())
        reload_conf(conf, CERTS.k1_cert, CERTS.k1_key)
        w.signal(signal.SIGHUP)
        want = ("reload refused, configuration unchanged: %s:2: "
                "tls_certificate_key %s: EC keys on secp256k1 cannot sign"
                % (conf, CERTS.k1_key))
        tap.ok(W.wait_until(lambda: want in w.log(), 5),
               "reload: a key that signs no handshake is refused, and the "
               "log says why", w.log()[-2000:])
        time.sleep(timeout(0.2))
        tap.eq(set(w.workers()), old, "reload refused: the same workers run")
        s = open_wss_raw(w.tls_port)
        tap.ok(echo_raw(s) and close_raw(s),
               "reload refused: wss still served with the old certificate")


def t_validity():
    """A certificate out of its validity period is served all the same,
    with a warning naming the directive, the file and the date: printed
    by wsd -t, logged at start-up and at a reload."""
    expired = CERTS.dated("expired", "20190101000000Z", "20200102030405Z")
    future = CERTS.dated("future", "20990304050607Z", "21000101000000Z")
    expired_warning = ("tls_certificate %s: the certificate expired on "
                       "2020-01-02T03:04:05Z (notAfter)" % expired[0])
    future_warning = ("tls_certificate %s: the certificate is not valid "
                      "before 2099-03-04T05:06:07Z (notBefore)" % future[0])
    for (cert, key), warning in ((expired, expired_warning),
                                 (future, future_warning)):
        status, out, err = W.run_once(
            ["-t", "--tls_listen", "127.0.0.1:0", "--tls_certificate", cert,
             "--tls_certificate_key", key])
        tap.ok(status == 0 and warning in err
               and "the configuration is valid" in out,
               "wsd -t passes, printing the warning: " + warning,
               "status %r, stdout %r, stderr %r" % (status, out, err))
    conf = os.path.join(CERTS.dir, "validity.conf")
    reload_conf(conf, *expired)
    insecure = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    with W.Wsd(tap, ["-c", conf, "--tls_listen", "127.0.0.1:0"]) as w:
        tap.ok(expired_warning in w.log(),
               "start-up with an expired certificate logs the warning",
               w.log()[-2000:])
        s = open_wss_raw(w.tls_port, insecure)
        tap.ok(echo_raw(s) and close_raw(s),
               "the expired certificate is served all the same")
        old = set(w.workers())
        reload_conf(conf, *future)
        w.signal(signal.SIGHUP)
        tap.ok(W.wait_until(lambda: future_warning in w.log(), 5),
               "a reload to a certificate not yet valid logs the warning",
               w.log()[-2000:])
        tap.ok(W.wait_until(lambda: len(set(w.workers()) - old) == 1, 5),
               "... and goes through: a new worker")
        s = open_wss_raw(w.tls_port, insecure)
        tap.ok(echo_raw(s) and close_raw(s),
               "the certificate not yet valid is served all the same")


# Echo over wss with a real client -------------------------------------------

def wss(port, ctx=None, **kw):
    return W.ws_client("wss://127.0.0.1:%d/ws" % port,
                       ssl=ctx or client_ctx(), **kw)


async def t_echo(port):
    ctx = client_ctx()
    ctx.set_alpn_protocols(["http/1.1"])
    async with wss(port, ctx) as ws:
        tls = ws.transport.get_extra_info("ssl_object")
        tap.eq(tls.version(), "TLSv1.3", "TLS 1.3 when the client has it")
        tap.eq(tls.selected_alpn_protocol(), "http/1.1",
               "ALPN: http/1.1 selected")
        same(await echo(ws, "hello ☃"), "hello ☃", "text echoed over wss")
        same(await echo(ws, b"\x00\xff"), b"\x00\xff",
             "binary echoed over wss")
        same(await echo(ws, ""), "", "empty text echoed over wss")
        b = os.urandom(MIB)
        same(await echo(ws, b), b, "1 MiB binary echoed over wss")
        t = "€😀" * (MIB // 7)
        same(await echo(ws, t), t, "1 MiB of multi-byte text echoed over wss")
        b = os.urandom(16 * MIB)
        same(await echo(ws, b, 60), b,
             "16 MiB binary (the default limit) echoed over wss")
        parts = ["frag", "ment", "ed ☃"]
        same(await echo(ws, parts), "fragmented ☃",
             "fragmented text echoed over wss as one message")
        parts = [os.urandom(7) for _ in range(1000)]
        same(await echo(ws, parts), b"".join(parts),
             "binary in 1000 fragments echoed over wss")
        waiter = await ws.ping(b"over tls")
        await asyncio.wait_for(waiter, timeout(5))
        tap.ok(True, "ping over wss answered by its pong")
        n = 500
        msgs = [("m%d" % i) if i % 2 else os.urandom(i) for i in range(n)]

        async def sender():
            for m in msgs:
                await ws.send(m)
        task = asyncio.ensure_future(sender())
        got = [await W.ws_recv(ws) for _ in range(n)]
        await task
        tap.ok(got == msgs, "500 messages echoed over wss in order")
        t0 = time.monotonic()
        await ws.close(1000, "bye")
        tap.eq(ws.close_code, 1000, "close 1000 answered over wss")
        tap.ok(time.monotonic() - t0 < timeout(1),
               "close handshake and TLS close within 1 s",
               "took %.2f s" % (time.monotonic() - t0))


async def t_tls12(port):
    async with wss(port, client_ctx(ssl.TLSVersion.TLSv1_2)) as ws:
        tls = ws.transport.get_extra_info("ssl_object")
        name, version, _ = tls.cipher()
        tap.eq(tls.version(), "TLSv1.2", "a TLS 1.2 client is served")
        tap.ok(name.startswith("ECDHE-") and ("GCM" in name or
                                              "CHACHA20" in name),
               "TLS 1.2: ECDHE with an AEAD cipher", "cipher %r" % name)
        b = os.urandom(300000)
        same(await echo(ws, b), b, "echo over TLS 1.2")


async def t_deflate(port):
    async with wss(port, compression="deflate") as ws:
        tap.ok(any(e.name == "permessage-deflate" for e in ws.extensions),
               "permessage-deflate negotiated over wss",
               "extensions %r" % ws.extensions)
        t = "compressible text over TLS " * 40000
        same(await echo(ws, t), t, "1 MB compressed text echoed over wss")
        b = os.urandom(200000)
        same(await echo(ws, b), b, "incompressible binary echoed over wss")
        same(await echo(ws, ["abc" * 1000, "def" * 1000]),
             "abc" * 1000 + "def" * 1000,
             "fragmented compressed message echoed over wss")


async def t_both(w):
    """ws:// and wss:// clients at once, 20 echoes each."""
    async def one(i, secure):
        if secure:
            cm = wss(w.tls_port)
        else:
            cm = W.ws_client("ws://127.0.0.1:%d/ws" % w.port)
        async with cm as ws:
            for j in range(20):
                m = os.urandom(i * 50 + j) if j % 2 else "c%d m%d" % (i, j)
                if await echo(ws, m) != m:
                    return "%s client %d message %d" % (
                        "wss" if secure else "ws", i, j)
            await ws.close()
        return None
    res = await asyncio.gather(*(one(i, i % 2 == 0) for i in range(40)),
                               return_exceptions=True)
    bad = [r for r in res if r is not None]
    tap.ok(not bad, "20 ws:// and 20 wss:// clients at once all get their "
           "echoes", "\n".join(map(str, bad[:5])))


def t_pipelined(w):
    """The opening handshake and a frame in one TLS record: the daemon's
    first read takes the request and only part of the record, and the
    rest, already decrypted inside OpenSSL, must be read without waiting
    for the socket (which has nothing more to announce)."""
    raw = socket.create_connection(("127.0.0.1", w.tls_port),
                                   timeout=timeout(5))
    s = client_ctx().wrap_socket(raw, server_hostname="127.0.0.1")
    payload = os.urandom(5000)
    s.sendall(W.handshake_request() + W.frame(BINARY, payload))
    status, _ = W.read_http_head(s)
    tap.eq(status, 101, "request and frame in one record: 101")
    s.settimeout(timeout(3))
    try:
        op, got, _ = W.read_message(s)
        ok = op == BINARY and got == payload
    except (OSError, EOFError, ValueError) as e:
        ok = False
        tap.diag("no echo: %r" % e)
    tap.ok(ok, "request and frame in one record: the frame is echoed")
    tap.ok(close_raw(s), "request and frame in one record: clean close")


def t_message_then_close_notify(w):
    """A message, the client's close_notify and its FIN in one write: the
    echo goes out before the daemon closes, as over ws:// (OpenSSL holds
    the close_notify read ahead, so the read loop meets the end of the
    stream before it has flushed the echo), and the record's TO rows
    carry what its TF row says was sent."""
    t = TlsBio(w.tls_port)
    try:
        t.handshake()
        t.sendall(W.handshake_request())
        head = b""
        while b"\r\n\r\n" not in head:
            got = t.recv(4096)
            if not got:
                break
            head += got
        tap.ok(head.startswith(b"HTTP/1.1 101"), "close_notify case: 101",
               repr(head[:40]))
        port = t.sock.getsockname()[1]
        t.tls.write(W.frame(TEXT, b"hello"))
        try:
            t.tls.unwrap()
        except ssl.SSLWantReadError:
            pass
        while t.push() or t.wire:
            select.select([], [t.sock], [], 0.05)
        t.sock.shutdown(socket.SHUT_WR)
        t.wait_eof(timeout(5))
        echo = W.frame(TEXT, b"hello", mask=False)
        tap.ok(t.plain.startswith(echo),
               "a message with close_notify and FIN behind it is echoed",
               repr(t.plain[:40]))
    finally:
        t.close()
    rec = closed_record_of(w, port)
    rows = (rec or {}).get("wirelog") or []
    tap.ok(rec is not None and rec["txMessages"] == 1 and
           any(r[0] == "TO" and r[1][0] == len(echo) for r in rows),
           "its record shows the echo's %d octets written" % len(echo),
           repr(rows[-6:]))


def t_wss_on_ws_port(w):
    """A TLS client on the plain port gets no TLS: its handshake fails at
    once on the server's alert, which its TLS library names (not on its
    own timeout), and the plain endpoint keeps serving."""
    try:
        s = open_wss_raw(w.port)
        s.close()
        err = "handshake succeeded"
    except (ssl.SSLError, OSError, RuntimeError) as e:
        err = e
    tap.ok(isinstance(err, ssl.SSLError) and
           "ALERT_UNEXPECTED_MESSAGE" in str(err),
           "TLS on the ws:// port fails on an unexpected_message alert",
           repr(err))
    s = W.open_ws(w.port)
    tap.ok(echo_raw(s) and close_raw(s), "ws:// still serves after that")


# A fatal unexpected_message alert in a TLS record (RFC 8446 §6): type 21,
# record version 3.1, length 2, level fatal (2), description 10.
ALERT_UNEXPECTED_MESSAGE = bytes([21, 3, 1, 0, 2, 2, 10])


def wrong_protocol(w):
    """The totals' wrongProtocol counters ({} when there are none)."""
    return W.admin_stats(W.admin_port(w))["totals"].get("wrongProtocol", {})


def closed_record_of(w, sock_port):
    """The closed record of the connection from 127.0.0.1:sock_port, or
    None (polled, bounded)."""
    admin = W.admin_port(w)
    found = [None]

    def closed():
        found[0] = W.case_by_peer(admin, sock_port)
        return found[0] is not None and found[0]["state"] == "closed"
    W.wait_until(closed, 5)
    return found[0]


def tls_failed_count(w):
    return W.admin_stats(W.admin_port(w))["totals"]["tlsHandshakesFailed"]


def newest_closed_record(w, after_id):
    """The record of the newest case past after_id once it is closed, or
    None (polled, bounded): the daemon of this check serves nothing else."""
    admin = W.admin_port(w)
    found = [None]

    def closed():
        cases = [c for c in W.admin_cases(admin, "?limit=1000")["cases"]
                 if c["id"] > after_id]
        found[0] = max(cases, key=lambda c: c["id"]) if cases else None
        return found[0] is not None and found[0]["state"] == "closed"
    W.wait_until(closed, 5)
    return found[0]


def last_case_id(w):
    cases = W.admin_cases(W.admin_port(w), "?limit=1000")["cases"]
    return max([c["id"] for c in cases] or [0])


def t_tls_records(w):
    """Every connection whose TLS handshake completed has its version and
    cipher in its record ("tls" is null for ws:// and for a TLS handshake
    that never completed), and is not counted in tlsHandshakesFailed,
    however it ends before a whole request: at once, after close_notify,
    after half a request, or with a renegotiation the server refuses."""
    def done_then(after):
        raw = socket.create_connection(("127.0.0.1", w.tls_port),
                                       timeout=timeout(5))
        s = client_ctx().wrap_socket(raw, server_hostname="127.0.0.1")
        after(s)
        s.close()

    def shut(s):
        try:
            s.unwrap()
        except (OSError, ssl.SSLError):
            pass

    def half_request(s):
        s.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(timeout(0.1))

    def renegotiation():
        s_client(w.tls_port, ["-tls1_2"], stdin=b"R\n", hold=1)

    cases = [
        ("a connection closed once TLS is done", lambda: done_then(
            lambda s: None)),
        ("a connection that sends close_notify once TLS is done",
         lambda: done_then(shut)),
        ("a connection that sends half a request, then closes",
         lambda: done_then(half_request)),
        ("a refused renegotiation (TLS 1.2)", renegotiation),
    ]
    for what, run_case in cases:
        last = last_case_id(w)
        failed = tls_failed_count(w)
        run_case()
        rec = newest_closed_record(w, last)
        tls = rec.get("tls") if rec else None
        tap.ok(isinstance(tls, dict) and tls.get("version") in
               ("TLSv1.2", "TLSv1.3") and tls.get("cipher"),
               "%s: its record has the TLS version and cipher" % what,
               rec and {k: rec[k] for k in ("id", "tls", "httpStatus",
                                            "wasNotCleanReason")})
        time.sleep(timeout(0.1))
        tap.eq(tls_failed_count(w) - failed, 0,
               "%s: not counted in tlsHandshakesFailed" % what)
    # A handshake that never completes: null, and counted.
    last = last_case_id(w)
    failed = tls_failed_count(w)
    raw = socket.create_connection(("127.0.0.1", w.tls_port),
                                   timeout=timeout(5))
    raw.sendall(client_hello()[:20])
    raw.close()
    rec = newest_closed_record(w, last)
    tap.ok(rec is not None and rec["tls"] is None,
           "a truncated ClientHello: tls is null in its record",
           rec and rec["tls"])
    tap.ok(W.wait_until(lambda: tls_failed_count(w) == failed + 1, 3),
           "... and it counts in tlsHandshakesFailed")


def tls_records(data):
    """The content types of the whole TLS records in data, in order."""
    types, i = [], 0
    while i + 5 <= len(data):
        types.append(data[i])
        i += 5 + struct.unpack(">H", data[i + 3:i + 5])[0]
    return types


def t_peer_alert(w):
    """A client that refuses the handshake with a fatal alert (as one
    does that refuses wsd's certificate: unknown_ca, RFC 8446 §6.2)
    ends the connection itself: wsd answers that alert with none (RFC
    8446 §6.2: the connection is closed at once), so its record must
    say the peer's alert ended it, not that wsd sent one; garbage, which
    wsd refuses with an alert of its own, is recorded as that."""
    last = last_case_id(w)
    failed = tls_failed_count(w)
    s = W.connect(w.tls_port)
    try:
        s.sendall(client_hello())
        # The server's whole first flight (TLS 1.3: one write), then
        # the client's fatal alert, in the clear as before any key.
        flight, _ = W.pending(s, 0.3)
        s.sendall(b"\x15\x03\x03\x00\x02\x02\x30")  # fatal, unknown_ca
        eof, rest, _ = W.drain_until_eof(s, 3)
    finally:
        s.close()
    tap.ok(eof and 21 not in tls_records(rest),
           "a client's fatal alert: wsd sends no alert after it",
           "eof %r, records after it %r (before %r)"
           % (eof, tls_records(rest), tls_records(flight)))
    rec = newest_closed_record(w, last)
    reason = rec and rec["wasNotCleanReason"]
    tap.ok(rec is not None and rec["tls"] is None and reason is not None
           and "alert sent" not in reason and "peer" in reason
           and rec["droppedByMe"] is False,
           "a client's fatal alert: the record says the peer's alert "
           "ended it", rec and {k: rec[k] for k in (
               "id", "tls", "droppedByMe", "wasNotCleanReason")})
    tap.ok(W.wait_until(lambda: tls_failed_count(w) == failed + 1, 3),
           "a client's fatal alert: counted in tlsHandshakesFailed")
    # Garbage after the ClientHello: OpenSSL refuses it with an alert.
    last = last_case_id(w)
    s = W.connect(w.tls_port)
    try:
        s.sendall(client_hello())
        W.pending(s, 0.3)
        s.sendall(b"\x00garbage garbage garbage\r\n")
        W.drain_until_eof(s, 3)
    finally:
        s.close()
    rec = newest_closed_record(w, last)
    tap.ok(rec is not None and rec["droppedByMe"] is True and
           rec["wasNotCleanReason"] == "TLS error: an alert sent, closed",
           "garbage after the ClientHello: the record says wsd sent an "
           "alert and closed", rec and {k: rec[k] for k in (
               "id", "tls", "droppedByMe", "wasNotCleanReason")})
    # A plain ws:// connection that the kernel aborts (ss -K: the socket
    # fails with ECONNABORTED) has no TLS in it, let alone an alert.
    last = last_case_id(w)
    s = W.open_ws(w.port)
    try:
        me = s.getsockname()[1]
        try:
            killed = subprocess.run(
                ["ss", "-K", "sport", "=", ":%d" % w.port, "dport", "=",
                 ":%d" % me], capture_output=True, timeout=timeout(10))
        except OSError:
            killed = subprocess.CompletedProcess([], 1, b"", b"")
        rec = newest_closed_record(w, last) if b"ESTAB" in killed.stdout \
            else None
    finally:
        s.close()
    if b"ESTAB" not in killed.stdout:
        # Not a check: nothing was aborted (a kernel without socket
        # destruction, or no ss).
        tap.diag("ss -K cannot kill sockets here: a kernel's abort not tried")
    else:
        tap.ok(rec is not None and rec["wasNotCleanReason"] ==
               "connection error",
               "a ws:// connection aborted by the kernel (ss -K): a "
               "connection error, not a TLS alert",
               rec and {k: rec[k] for k in ("id", "droppedByMe",
                                            "wasNotCleanReason")})


def t_stop_in_handshake():
    """A fast stop (SIGTERM) drops the TLS handshakes under way (README,
    Signals): the server ends them, no handshake failed, and
    tlsHandshakesFailed leaves them out. The worker's log must not
    report them as failed handshakes "not finished in time" either."""
    with W.Wsd(tap, CERTS.args() + ["--workers", "1",
                                    "--handshake_timeout_ms", "600000"]) as w:
        s = W.connect(w.tls_port)
        try:
            s.sendall(client_hello()[:20])
            admin = W.admin_port(w)
            tap.ok(W.wait_until(lambda: W.admin_stats(admin)["totals"]
                                ["active"] == 1, 5),
                   "a stalled TLS handshake is under way")
            w.signal(signal.SIGTERM)
            tap.eq(w.wait_exit(), 0, "SIGTERM: wsd exits with status 0")
        finally:
            s.close()
        lines = [l for l in w.log().splitlines() if "tls: " in l and
                 ("failed" in l or "not finished" in l)]
        tap.ok(not lines, "a handshake dropped by a fast stop is not "
               "logged as a failed one", "\n".join(lines))


def t_failure_peer(w):
    """The per-second line of failed handshakes names the last one's
    client by the address it connected from, also when that client is
    gone by the time its failure is seen (README's example, `from
    127.0.0.1:40522`)."""
    raw = socket.create_connection(("127.0.0.1", w.tls_port),
                                   timeout=timeout(5))
    port = raw.getsockname()[1]
    raw.sendall(client_hello()[:20])
    time.sleep(timeout(0.1))
    # A reset, not a FIN: the socket has no peer left to ask for.
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                   struct.pack("ii", 1, 0))
    raw.close()
    pattern = re.compile(r"tls: \d+ handshakes? failed in the last second, "
                         r"last: .* from (.+)$", re.M)

    def reported():
        return [m.group(1) for m in pattern.finditer(w.log())]
    # Earlier cases' failures have lines of their own; this one's comes
    # in the next line once a second has passed since the last.
    want = "127.0.0.1:%d" % port
    tap.ok(W.wait_until(lambda: want in reported(), 5),
           "the failure log line names the reset client by its address",
           (want, reported()[-3:]))


def t_tls_on_ws_port(w):
    """A TLS ClientHello on the ws:// port gets a fatal alert and the
    close at once rather than silence until the opening-handshake
    timeout; the record says why, and the counters count it. The wait is
    longer than that timeout, so the verdict rests on what arrives."""
    name = "a ClientHello on the ws:// port"
    before = wrong_protocol(w).get("tlsOnPlainPort", 0)
    s = W.connect(w.port)
    try:
        port = s.getsockname()[1]
        s.sendall(client_hello())
        eof, got, _ = W.drain_until_eof(s, HANDSHAKE_TIMEOUT_MS / 1000.0 + 5)
    finally:
        s.close()
    tap.eq(got, ALERT_UNEXPECTED_MESSAGE,
           "%s: answered with a fatal unexpected_message alert" % name)
    tap.ok(eof, "%s: then closed" % name)
    rec = closed_record_of(w, port) or {}
    tap.eq((rec.get("wasNotCleanReason"), rec.get("httpStatus"),
            rec.get("wasOpenHandshakeTimeout")),
           ("TLS handshake on the plain ws:// port", None, False),
           "%s: the record says why it ended" % name)
    tap.eq(wrong_protocol(w).get("tlsOnPlainPort", 0) - before, 1,
           "%s: counted in totals.wrongProtocol.tlsOnPlainPort" % name)
    s = W.open_ws(w.port)
    tap.ok(echo_raw(s) and close_raw(s), "%s: ws:// still serves" % name)
    # Its bytes are no HTTP head: the record keeps them as read, not cut
    # at a blank line (an empty LF line) that they happen to hold.
    hello = b"\x16\x03\x01\x00\x10\x01\x00\x00\x0cab\n\ncdefghij"
    s = W.connect(w.port)
    try:
        port = s.getsockname()[1]
        s.sendall(hello)
        W.drain_until_eof(s, HANDSHAKE_TIMEOUT_MS / 1000.0 + 5)
    finally:
        s.close()
    rec = closed_record_of(w, port) or {}
    tap.eq(len(rec.get("httpRequest") or ""), len(hello),
           "%s with a blank line in its bytes: kept whole (%r)"
           % (name, rec.get("httpRequest")))


# The TLS policy through openssl s_client ------------------------------------

def t_s_client(w):
    port = w.tls_port
    for flag in ("-tls1_1", "-tls1"):
        status, out = s_client(port, [flag, "-cipher", "DEFAULT:@SECLEVEL=0"])
        tap.ok(status not in (0, None) and "alert protocol version" in out
               and "Cipher is (NONE)" in out,
               "s_client %s refused by the server (protocol_version alert)"
               % flag, out[-800:])
    status, out = s_client(port, ["-alpn", "http/1.1"])
    tap.ok("ALPN protocol: http/1.1" in out,
           "s_client -alpn http/1.1: ALPN protocol http/1.1", out[-800:])
    status, out = s_client(port, ["-alpn", "h2"])
    tap.ok("No ALPN negotiated" in out and "New, TLSv1.3" in out,
           "s_client -alpn h2: no ALPN answer, the handshake goes on",
           out[-800:])
    status, out = s_client(port, ["-tls1_2"], stdin=b"R\n", hold=1)
    tap.ok("RENEGOTIATING" in out and "no renegotiation" in out,
           "s_client -tls1_2, R: the server refuses to renegotiate",
           out[-800:])
    sess = os.path.join(CERTS.dir, "session.pem")
    status, out = s_client(port, ["-tls1_2", "-sess_out", sess])
    tap.ok(re.search(r"^New, TLSv1\.2, Cipher is ECDHE-", out, re.M)
           and os.path.exists(sess),
           "s_client -tls1_2 -sess_out: a new session saved", out[-800:])
    reused = []
    for _ in range(6):
        status, out = s_client(port, ["-tls1_2", "-sess_in", sess])
        reused.append(bool(re.search(r"^Reused, TLSv1\.2", out, re.M)))
    tap.ok(all(reused), "s_client -sess_in: every session resumed "
           "(6 tries, 2 workers)", "reused %r" % reused)


def t_resumption_across_workers(w):
    """TLS 1.3 tickets from one worker are accepted by the other: the
    ticket keys are made in the master before fork."""
    ctx = client_ctx()
    s = open_wss_raw(w.tls_port, ctx)
    tap.ok(echo_raw(s), "echo on a first wss connection")
    sess = s.session
    close_raw(s)
    workers = w.workers()
    seen = {}
    for _ in range(40):
        raw = socket.create_connection(("127.0.0.1", w.tls_port),
                                       timeout=timeout(5))
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=sess)
        owner = W.conn_owner(s, workers)
        seen.setdefault(owner, []).append(s.session_reused)
        s.close()
        if len(seen) == 2 and all(len(v) >= 3 for v in seen.values()):
            break
    tap.ok(len(seen) == 2 and None not in seen,
           "reconnections reached both workers", "owners %r" % list(seen))
    tap.ok(all(all(v) for v in seen.values()),
           "every reconnection resumed the TLS 1.3 session, on either worker",
           "reused per worker %r" % seen)


def t_resumption_across_reload():
    """Each reload (SIGHUP) draws new session ticket keys, as README
    says: a session from before it, resumed until then, is not resumed
    by the new workers (a full handshake instead), at TLS 1.2 and 1.3."""
    conf = os.path.join(CERTS.dir, "tickets.conf")
    reload_conf(conf, CERTS.cert, CERTS.key)
    with W.Wsd(tap, ["-c", conf, "--tls_listen", "127.0.0.1:0"]) as w:
        sessions = {}
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            ctx = client_ctx(maximum=version)
            s = open_wss_raw(w.tls_port, ctx)
            echo_raw(s)  # TLS 1.3 tickets come after the handshake
            sessions[version] = (ctx, s.session)
            close_raw(s)

        def resumed(version):
            ctx, sess = sessions[version]
            raw = socket.create_connection(("127.0.0.1", w.tls_port),
                                           timeout=timeout(5))
            s = ctx.wrap_socket(raw, server_hostname="127.0.0.1",
                                session=sess)
            reused = s.session_reused
            s.close()
            return reused
        for version in sessions:
            tap.ok(resumed(version), "%s: the session is resumed before a "
                   "reload" % version.name)
        old = set(w.workers())
        w.signal(signal.SIGHUP)
        tap.ok(W.wait_until(lambda: old.isdisjoint(w.workers())
                            and len(w.workers()) == 1, 5),
               "reload: the new worker replaced the old one")
        for version in sessions:
            tap.ok(not resumed(version), "%s: after the reload, not resumed "
                   "(new ticket keys)" % version.name)


# Hostile input on the TLS port ----------------------------------------------

class Survivor:
    """A wss connection kept open while the hostile cases run; every check
    echoes on it."""

    def __init__(self, port):
        self.s = open_wss_raw(port)
        self.error = None

    def echo(self):
        try:
            if echo_raw(self.s):
                return True
            self.error = "wrong echo"
        except Exception as e:  # pylint: disable=broad-except
            self.error = repr(e)
        return False

    def check(self, name):
        return tap.ok(self.echo(), "%s: the other wss connection still "
                      "echoes" % name, self.error)


def client_hello():
    """The bytes of a real ClientHello, from ssl through memory BIOs."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = client_ctx().wrap_bio(inc, out, server_hostname="127.0.0.1")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def prompt_close(w, data, name, survivor, fin=False):
    """Sends data on a fresh connection to the TLS port: the server must
    close it at once (well before the handshake timeout), answer nothing
    resembling HTTP, and keep the survivor going. Its record says who
    dropped TCP: the peer, when it sent its FIN (fin); else wsd, which
    refused what came (an alert, then its close)."""
    s = W.connect(w.tls_port)
    cport = s.getsockname()[1]
    try:
        s.sendall(data)
        if fin:
            s.shutdown(socket.SHUT_WR)
        eof, got, took = W.drain_until_eof(s, 3)
    finally:
        s.close()
    # At once: well before the handshake timeout could have closed it.
    limit = min(timeout(1), 0.9 * HANDSHAKE_TIMEOUT_MS / 1000.0)
    tap.ok(eof and took < limit,
           "%s: the server closes that connection at once" % name,
           "eof %r after %.2f s" % (eof, took))
    tap.ok(not got.startswith(b"HTTP/"),
           "%s: no plaintext HTTP answer on the TLS port" % name,
           repr(got[:80]))
    drop = ["DROP", "peer" if fin else "me"]
    W.record_shows(tap, w, cport,
                   "%s: the record says %s dropped TCP" % (name, drop[1]),
                   lambda r: r["state"] == "closed" and
                   r["droppedByMe"] == (not fin) and
                   drop in (r.get("wirelog") or []))
    survivor.check(name)


def plain_on_tls_port(w, survivor):
    """Plain HTTP (the ws:// handshake) on the TLS port: answered at once
    with a 400 in the clear that names the mistake, as nginx does, then
    closed; the record says why, and the counters count it. The wait is
    longer than the handshake timeout, so the verdict rests on what
    arrives."""
    name = "a plaintext HTTP request on the TLS port"
    before = wrong_protocol(w).get("plainOnTlsPort", 0)
    s = W.connect(w.tls_port)
    try:
        port = s.getsockname()[1]
        s.sendall(W.handshake_request())
        eof, got, _ = W.drain_until_eof(s, HANDSHAKE_TIMEOUT_MS / 1000.0 + 5)
    finally:
        s.close()
    head, _, body = got.partition(b"\r\n\r\n")
    status, _, fields = W.parse_http_head(head) if head else (None, "", [])
    h = {k.lower(): v for k, v in fields}
    tap.eq((status, body), (400, b"plain HTTP request was sent to HTTPS "
                            b"port\n"),
           "%s: 400 in the clear, naming the mistake" % name)
    tap.ok(eof and h.get("connection") == "close" and
           h.get("content-length") == str(len(body)),
           "%s: Connection: close, the body's length, then the close" % name,
           repr(got[:300]))
    rec = closed_record_of(w, port) or {}
    tap.eq((rec.get("wasNotCleanReason"), rec.get("httpStatus"),
            rec.get("tls")),
           ("plain HTTP request on the TLS port", 400, None),
           "%s: the record says why it ended" % name)
    tap.eq(wrong_protocol(w).get("plainOnTlsPort", 0) - before, 1,
           "%s: counted in totals.wrongProtocol.plainOnTlsPort" % name)
    survivor.check(name)


def stalled_closes(port, survivor):
    """Connections that stall: silent, half a ClientHello, and a TLS
    handshake begun late and finished but no request. Each must be closed
    by the opening-handshake timeout counted from accept, while the
    survivor keeps echoing."""
    hello = client_hello()
    t0 = time.monotonic()
    silent = W.connect(port)
    half = W.connect(port)
    half.sendall(hello[:len(hello) // 2])
    peers = ["127.0.0.1:%d" % s.getsockname()[1] for s in (silent, half)]
    slow = TlsBio(port)
    deadline = t0 + HANDSHAKE_TIMEOUT_MS / 1000.0 + timeout(3)
    closed = {}
    started_slow = False
    echoes_ok = True
    while len(closed) < 3 and time.monotonic() < deadline:
        now = time.monotonic() - t0
        if not started_slow and now >= 0.6 * HANDSHAKE_TIMEOUT_MS / 1000.0:
            # The TLS handshake after 60% of the time: it completes, and
            # then the rest of the time is too short for a request.
            started_slow = True
            try:
                slow.handshake()
                closed_early = False
            except (EOFError, TimeoutError, ssl.SSLError):
                closed_early = True
            tap.ok(not closed_early,
                   "a TLS handshake begun at 60% of the timeout completes")
        for name, s in (("silent", silent), ("half", half)):
            if name in closed:
                continue
            r, _, _ = select.select([s], [], [], 0)
            if r:
                try:
                    data = s.recv(4096)
                except ConnectionResetError:
                    data = b""
                if not data:
                    closed[name] = time.monotonic() - t0
        if started_slow and "slow" not in closed and not slow.pull(0):
            closed["slow"] = time.monotonic() - t0
        echoes_ok = survivor.echo() and echoes_ok
        time.sleep(0.1)
    for s in (silent, half):
        s.close()
    slow.close()
    low = 0.8 * HANDSHAKE_TIMEOUT_MS / 1000.0
    high = HANDSHAKE_TIMEOUT_MS / 1000.0 + timeout(2)
    for name, what in (("silent", "a silent connection"),
                       ("half", "half a ClientHello, then nothing"),
                       ("slow", "a late TLS handshake and no request")):
        took = closed.get(name)
        tap.ok(took is not None and low <= took <= high,
               "%s: closed by the opening-handshake timeout from accept "
               "(%d ms)" % (what, HANDSHAKE_TIMEOUT_MS),
               "closed after %r s, want %.1f to %.1f" % (took, low, high))
    tap.ok(not slow.plain, "the late TLS client got no HTTP response",
           repr(slow.plain[:80]))
    tap.ok(echoes_ok, "stalled handshakes: the other wss connection echoed "
           "all along", survivor.error)
    return peers


def log_reports(w):
    """The daemon's TLS failure report lines: [(count, reason, peer)]."""
    out = []
    for line in w.log().splitlines():
        if ": tls: " not in line:
            continue
        m = re.search(r": info: tls: (\d+) handshakes? failed in the last "
                      r"second, last: (.+) from (127\.0\.0\.1:\d+)$", line)
        out.append((int(m.group(1)), m.group(2), m.group(3)) if m else line)
    return out


def t_hostile(w):
    survivor = Survivor(w.tls_port)
    survivor.check("at the start")
    workers = sorted(w.workers())
    t_start = time.monotonic()
    n_bad = 0

    plain_on_tls_port(w, survivor)
    n_bad += 1
    garbage = b"\xff" + bytes((i * 73 + 11) % 256 for i in range(299))
    prompt_close(w, garbage, "300 bytes of garbage", survivor)
    n_bad += 1
    hello = client_hello()
    prompt_close(w, hello[:len(hello) // 2],
                 "half a ClientHello, then the client's FIN", survivor,
                 fin=True)
    n_bad += 1
    prompt_close(w, hello[:3], "3 bytes of a record header, then "
                 "the client's FIN", survivor, fin=True)
    n_bad += 1
    stalled = stalled_closes(w.tls_port, survivor)
    # The report of their second names one of them, closed by the timeout.
    W.wait_until(lambda: any(isinstance(r, tuple) and r[1:] in (
        ("handshake not finished in time", p) for p in stalled)
        for r in log_reports(w)), 3)
    tap.ok(any(isinstance(r, tuple) and r[1:] in (
        ("handshake not finished in time", p) for p in stalled)
        for r in log_reports(w)),
        "the timed-out handshakes are reported with their peer's address",
        "%r, want one of %r" % (log_reports(w), stalled))
    n_bad += 2  # the silent one and the half ClientHello; the slow one
    # finished its TLS handshake, so it is no TLS failure.

    # A flood: 100 garbage connections as fast as they go.
    for _ in range(100):
        s = W.connect(w.tls_port)
        try:
            s.sendall(garbage)
            W.drain_until_eof(s, 3)
        finally:
            s.close()
    n_bad += 100
    survivor.check("after 100 garbage connections")
    s = open_wss_raw(w.tls_port)
    tap.ok(echo_raw(s) and close_raw(s),
           "a fresh wss connection echoes after the hostile input")
    tap.eq(sorted(w.workers()), workers,
           "the same worker throughout (none crashed)")
    tap.ok(close_raw(survivor.s), "the survivor closes cleanly")

    # Reports come once a second: wait for the last one.
    W.wait_until(lambda: sum(r[0] for r in log_reports(w)
                             if isinstance(r, tuple)) >= n_bad, 3)
    elapsed = time.monotonic() - t_start
    reports = log_reports(w)
    bad_lines = [r for r in reports if not isinstance(r, tuple)]
    tap.ok(not bad_lines, "every tls log line is a once-a-second count at "
           "info level (none per connection)", "\n".join(bad_lines[:5]))
    counts = [r for r in reports if isinstance(r, tuple)]
    tap.eq(sum(c[0] for c in counts), n_bad,
           "the reports count every failed handshake")
    tap.ok(len(counts) <= elapsed + 1,
           "at most one report line a second",
           "%d lines in %.1f s" % (len(counts), elapsed))
    tap.ok(len(counts) < 20 and any(c[0] >= 10 for c in counts),
           "the flood of 100 is reported in a few lines, not 100",
           "%r" % counts)


# Backpressure over TLS -------------------------------------------------------

def t_backpressure(w):
    """A wss client sends 64 KiB messages and never reads: the worker must
    stop reading once its output backs up, so the client's sending stalls
    and the worker's memory stays bounded; once the client reads, every
    echo arrives in order."""
    pid = w.workers()[0]
    c = TlsBio(w.tls_port, rcvbuf=65536)
    c.handshake()
    c.sendall(W.handshake_request())
    status, _ = W.read_http_head(c)
    tap.eq(status, 101, "backpressure: wss handshake")
    rss0 = W.vmrss_kib(pid)
    body = bytes(range(256)) * 256

    def msg(i):
        return W.frame(BINARY, i.to_bytes(8, "big") + body[8:])

    complete = sent = 0
    peak = rss0
    stalled = False
    t0 = last = time.monotonic()
    while time.monotonic() - t0 < timeout(10) and sent < 128 * MIB:
        if not c.wire:
            c.tls.write(msg(complete))
            complete += 1
        k = c.push()
        now = time.monotonic()
        if k:
            sent += k
            last = now
            if complete % 32 == 0:
                peak = max(peak, W.vmrss_kib(pid) or 0)
        elif now - last > 1.0:
            stalled = True
            break
        else:
            select.select([], [c.sock], [], 0.05)
    time.sleep(0.3)
    peak = max(peak, W.vmrss_kib(pid) or 0)
    tap.ok(stalled and sent < 64 * MIB,
           "backpressure: the client's sending stalls once the server's "
           "output backs up", "stalled %r after %.1f MiB" % (stalled,
                                                            sent / MIB))
    tap.ok(rss0 is not None and peak - rss0 < 32 * 1024,
           "backpressure: worker RSS grew by less than 32 MiB",
           "RSS %r KiB at start, peak %r KiB, after %.1f MiB" %
           (rss0, peak, sent / MIB))
    bad = W.first_wrong_echo(c, complete,
                             lambda i: i.to_bytes(8, "big") + body[8:])
    tap.ok(bad is None, "backpressure: all %d echoes arrive in order once "
           "the client reads" % complete, "first bad echo %r" % (bad,))
    c.sendall(W.frame(CLOSE, W.close_payload(1000)))
    code, _, _ = W.read_close(c)
    tap.eq(code, 1000, "backpressure: clean close afterwards")
    tap.ok(c.wait_eof(timeout(3)), "backpressure: the server closes the "
           "connection after the close handshake")
    c.close()


def t_limit(w):
    """Over max_connections a wss client still gets its 503, over TLS: the
    answer waits for the TLS handshake, which the server's first write
    drives (a send that needs the client's records first)."""
    first = open_wss_raw(w.tls_port)
    tap.ok(echo_raw(first), "limit 1: the first wss connection echoes")
    raw = socket.create_connection(("127.0.0.1", w.tls_port),
                                   timeout=timeout(5))
    s = client_ctx().wrap_socket(raw, server_hostname="127.0.0.1")
    s.sendall(W.handshake_request())
    status, headers = W.read_http_head(s)
    tap.eq(status, 503, "limit 1: the second wss connection is answered 503")
    eof, _, _ = W.drain_until_eof(s, 3)
    tap.ok(eof, "limit 1: and closed")
    sock_port = s.getsockname()[1]
    s.close()
    rec = closed_record_of(w, sock_port)
    tap.ok(rec is not None and rec["httpStatus"] == 503
           and isinstance(rec["tls"], dict)
           and rec["tls"].get("version") == "TLSv1.3",
           "limit 1: the 503's record has its TLS version (the handshake "
           "completed in the server's send)", rec and rec["tls"])
    tap.ok(close_raw(first), "limit 1: the first one closes cleanly")

    def fresh():
        try:
            c = open_wss_raw(w.tls_port)
        except (RuntimeError, OSError, ssl.SSLError):
            return False
        return echo_raw(c) and close_raw(c)
    tap.ok(W.wait_until(fresh, 3, step=0.1),
           "limit 1: a new wss connection is served once the slot is free")


def main():
    global CERTS
    CERTS = Certs()
    try:
        guard("start-up refusals", t_refusals)
        guard("reload", t_reload)
        guard("validity dates", t_validity)
        guard("resumption across a reload", t_resumption_across_reload)
        with W.Wsd(tap, CERTS.args(), workers=2) as w:
            tap.ok(w.tls_port is not None and w.tls_port != w.port,
                   "the ready line names the wss:// port",
                   "ready %r" % w.ready)
            tap.ok(re.fullmatch(r"127\.0\.0\.1:\d+", w.ready.get("listen", ""))
                   is not None, "the ready line's listen= is unchanged")
            W.wait_until(lambda: len(w.workers()) == 2, 5)
            run("echo over wss", t_echo, w.tls_port)
            run("TLS 1.2", t_tls12, w.tls_port)
            run("permessage-deflate over wss", t_deflate, w.tls_port)
            run("ws and wss at once", t_both, w)
            guard("TLS on the ws port", t_wss_on_ws_port, w)
            guard("pipelined in one record", t_pipelined, w)
            guard("message, close_notify and FIN in one write",
                  t_message_then_close_notify, w)
            guard("s_client", t_s_client, w)
            guard("resumption across workers", t_resumption_across_workers,
                  w)
            s = open_wss_raw(w.tls_port)
            tap.ok(echo_raw(s) and close_raw(s),
                   "the daemon still serves wss after the s_client cases")
        w = W.Wsd(tap, CERTS.args() + [
            "--handshake_timeout_ms", str(HANDSHAKE_TIMEOUT_MS),
            "--write_high_water_bytes", str(HIGH_WATER)])
        # The backpressure check measures the worker's live memory: under
        # AddressSanitizer, the blocks that TLS records, messages and
        # echoes freed would wait in its quarantine (256 MiB by default)
        # and count as growth (32.7 MiB here for 8 MiB sent, where the
        # plain build grows 0.2 MiB). Without the sanitizer the variable
        # is ignored.
        w.env = W.env_with_asan_options("quarantine_size_mb=1")
        with w:
            W.warm_up(w.port)
            guard("TLS on the ws port, raw", t_tls_on_ws_port, w)
            guard("hostile input", t_hostile, w)
            guard("backpressure", t_backpressure, w)
        with W.Wsd(tap, CERTS.args()) as w:
            guard("records of completed TLS handshakes", t_tls_records, w)
            guard("a client's fatal alert", t_peer_alert, w)
            guard("the failure log's peer", t_failure_peer, w)
        with W.Wsd(tap, CERTS.args() + ["--max_connections", "1"]) as w:
            guard("connection limit", t_limit, w)
        guard("a fast stop in a TLS handshake", t_stop_in_handshake)
    finally:
        CERTS.remove()
    tap.done()


if __name__ == "__main__":
    main()
