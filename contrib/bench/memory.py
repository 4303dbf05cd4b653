#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Memory per connection of one wsd worker, measured (a benchmark: it
prints figures and never passes or fails).

Starts ./src/wsd with one worker on a kernel-chosen loopback port, opens N
connections in each state below, and reports the growth of the worker's
resident memory (VmRSS, so malloc's own overhead is included) divided by N:

  plain, at rest          handshake done, no permessage-deflate
  deflate, at rest        permessage-deflate negotiated, no message yet
  deflate, mid-message    a compressed message half received (inflater live)
  deflate, after messages one compressed message echoed on each, with
                          context takeover (both zlib streams kept, as the
                          negotiation requires)
  deflate, no takeover    the same with server_ and client_no_context_takeover
                          negotiated (streams released after each message)
  tls, at rest            wss:// (TLS 1.3, a throwaway P-256 certificate
                          made with the openssl command), handshake done
  tls, after messages     the same after a 1.5 KB message echoed on each

usage: contrib/bench/memory.py [N] [extra wsd arguments...]
"""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "tests", "integration"))
import wsdtest  # noqa: E402

TEXT = (b"The quick brown fox jumps over the lazy dog. " * 40)[:1500]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def compressed(payload):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4]


def open_conn(port, offer, tls=None):
    extra = ["Sec-WebSocket-Extensions: " + offer] if offer else []
    if tls is None:
        return wsdtest.open_ws(port, extra=extra)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = tls.wrap_socket(raw, server_hostname="127.0.0.1")
    s.sendall(wsdtest.handshake_request(extra=extra))
    status, _ = wsdtest.read_http_head(s)
    if status != 101:
        raise RuntimeError("handshake refused: %r" % status)
    return s


class Cert:
    """A throwaway certificate for 127.0.0.1, and the wsd arguments and
    client context that go with it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="wsd-bench-tls-")
        cert = os.path.join(self.dir, "cert.pem")
        key = os.path.join(self.dir, "key.pem")
        subprocess.run([os.environ.get("OPENSSL") or "openssl", "req",
                        "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days",
                        "1", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=IP:127.0.0.1", "-keyout", key,
                        "-out", cert], check=True, capture_output=True)
        self.args = ["--tls_listen", "127.0.0.1:0", "--tls_certificate", cert,
                     "--tls_certificate_key", key]
        self.ctx = ssl.create_default_context(cafile=cert)

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def settle(pid):
    time.sleep(0.3)
    return rss_kib(pid)


def measure(label, n, extra, offer, action, cert=None):
    """A fresh daemon per figure, so that no figure reuses memory another
    one freed. With cert, over wss://."""
    tap = wsdtest.Tap()
    tls_args = cert.args if cert is not None else []
    w = wsdtest.Wsd(tap, ["--max_connections", str(n + 10)] + tls_args +
                    extra)
    w.start()
    port = w.tls_port if cert is not None else w.port
    tls = cert.ctx if cert is not None else None
    try:
        worker = w.workers()[0]
        # One connection first: the worker's one-time allocations (read
        # buffer, compression scratch, zlib tables) are not per connection.
        warm = open_conn(port, offer, tls)
        action(warm)
        base = settle(worker)
        conns = []
        for _ in range(n):
            s = open_conn(port, offer, tls)
            action(s)
            conns.append(s)
        after = settle(worker)
        per = (after - base) * 1024.0 / n
        print("%-26s %8.0f bytes/connection  (%d connections, RSS %d -> %d "
              "KiB)" % (label, per, n, base, after))
        for s in conns + [warm]:
            s.close()
    finally:
        w.kill_all()
        os.unlink(w.log_path)


def nothing(s):
    pass


def half_message(s):
    body = compressed(TEXT)
    s.sendall(wsdtest.frame(1, body[: len(body) // 2], fin=False, rsv=4))


def one_message(s):
    s.sendall(wsdtest.frame(1, compressed(TEXT), rsv=4))
    wsdtest.read_frame(s)


def one_plain_message(s):
    s.sendall(wsdtest.frame(1, TEXT))
    wsdtest.read_frame(s)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    extra = sys.argv[2:]
    print("wsd with one worker, %s" % (" ".join(extra) or "defaults"))
    pmd = "permessage-deflate"
    none = ("permessage-deflate; server_no_context_takeover; "
            "client_no_context_takeover")
    measure("plain, at rest", n, extra, None, nothing)
    measure("deflate, at rest", n, extra, pmd, nothing)
    measure("deflate, mid-message", n, extra, pmd, half_message)
    measure("deflate, after messages", n, extra, pmd, one_message)
    measure("deflate, no takeover", n, extra, none, one_message)
    cert = Cert()
    try:
        measure("tls, at rest", n, extra, None, nothing, cert)
        measure("tls, after messages", n, extra, None, one_plain_message,
                cert)
    finally:
        cert.remove()


if __name__ == "__main__":
    main()
