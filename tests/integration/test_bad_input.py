#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Hostile and malformed input against the real daemon: opening handshakes
that break RFC 6455 §4.2.1 or the daemon's limits (each refused with the
right HTTP status and a well-formed error response), slow and silent
peers (handshake and close timeouts), connection limits, a client that
never reads (backpressure must bound the worker's memory), and abrupt
disconnects. After all of it the daemon must still serve a fresh client
with the same workers.

Expected values come from the RFCs and the daemon's documented rules, never
from the code under test: Sec-WebSocket-Accept is computed here with
hashlib (and checked against the RFC 6455 §1.3 example).
"""
import functools
import os
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsdtest as W  # noqa: E402
from wsdtest import frame  # noqa: E402

TEXT, BINARY, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10
HANDSHAKE_TIMEOUT_MS = 500
CLOSE_TIMEOUT_MS = 500
HIGH_WATER = 65536
MIB = 1024 * 1024

tap = W.Tap()
PORT = [None]
request = W.handshake_request


def check_error(name, res, status, more=None):
    """An error response: the status, then the rules every refusal
    follows (Server: wsd/VERSION, Connection: close, a text/plain body
    naming the problem, a Content-Length that matches, TCP closed)."""
    h = res["headers"]
    if not tap.ok(res["status"] == status, "%s: HTTP %d" % (name, status),
                  "got status %r, raw response %r" % (res["status"],
                                                     res["raw"][:300])):
        return
    problems = []
    if not re.match(r"^wsd/\S+$", h.get("server", "")):
        problems.append("Server header %r is not wsd/VERSION"
                        % h.get("server"))
    if "close" not in h.get("connection", "").lower():
        problems.append("Connection header %r lacks close"
                        % h.get("connection"))
    if not h.get("content-type", "").lower().startswith("text/plain"):
        problems.append("Content-Type %r is not text/plain"
                        % h.get("content-type"))
    try:
        text = res["body"].decode("utf-8")
    except UnicodeDecodeError:
        text = ""
        problems.append("body is not UTF-8 text")
    if not text.strip():
        problems.append("body %r does not name the problem" % res["body"])
    if "content-length" in h and h["content-length"] != str(len(res["body"])):
        problems.append("Content-Length %r but %d body bytes"
                        % (h["content-length"], len(res["body"])))
    if not res["eof"]:
        problems.append("the server did not close the connection")
    if more:
        problems += more(h)
    tap.ok(not problems, "%s: well-formed refusal (%s)" %
           (name, text.strip()[:60]), "\n".join(problems) +
           "\nresponse: %r" % res["raw"][:400])


def refuse(name, req, status, more=None):
    check_error(name, W.http_exchange(PORT[0], req), status, more)


def must_have(header, pattern):
    def more(h):
        v = h.get(header.lower())
        if v is None or not re.search(pattern, v, re.I):
            return ["header %s is %r, want /%s/" % (header, v, pattern)]
        return []
    return more


def echo_ok(s, name, payload=b"still alive"):
    s.sendall(frame(TEXT, payload))
    fin, rsv, op, p = W.read_frame(s)
    return tap.ok(fin and op == TEXT and p == payload,
                  "%s: the connection echoes" % name,
                  "got fin %r opcode %r payload %r" % (fin, op, p[:80]))


case = W.Cases(tap)
close_clean = functools.partial(W.close_clean, tap)


# Valid handshakes ----------------------------------------------------------

def t_valid(name, key):
    s = W.connect(PORT[0])
    s.sendall(request(key=key))
    status, h = W.read_http_head(s)
    want = W.accept_key(key)
    problems = []
    if status != 101:
        problems.append("status %r" % status)
    if h.get("sec-websocket-accept") != want:
        problems.append("Sec-WebSocket-Accept %r, want %r" %
                        (h.get("sec-websocket-accept"), want))
    if h.get("upgrade", "").lower() != "websocket":
        problems.append("Upgrade %r" % h.get("upgrade"))
    if "upgrade" not in [t.strip().lower()
                         for t in h.get("connection", "").split(",")]:
        problems.append("Connection %r" % h.get("connection"))
    if not re.match(r"^wsd/\S+$", h.get("server", "")):
        problems.append("Server %r is not wsd/VERSION" % h.get("server"))
    for unasked in ("sec-websocket-protocol", "sec-websocket-extensions"):
        if unasked in h:
            problems.append("%s %r though none was offered" %
                            (unasked, h[unasked]))
    tap.ok(not problems, "%s: 101 with the right Sec-WebSocket-Accept, "
           "Upgrade, Connection and Server headers" % name,
           "\n".join(problems) + "\nheaders %r" % h)
    if status == 101:
        echo_ok(s, name)
        close_clean(s, name)
    s.close()


def t_valid_variant(name, req):
    s = W.connect(PORT[0])
    s.sendall(req)
    status, h = W.read_http_head(s)
    if tap.ok(status == 101, "%s: 101" % name, "status %r headers %r" %
              (status, h)):
        echo_ok(s, name)
        close_clean(s, name)
    s.close()


def t_valid_bytewise(name):
    key = W.new_key()
    s = W.connect(PORT[0])
    W.send_chopped(s, request(key=key), 1, 0.001)
    status, h = W.read_http_head(s)
    if tap.ok(status == 101 and
              h.get("sec-websocket-accept") == W.accept_key(key),
              "%s: 101 with the right Sec-WebSocket-Accept" % name,
              "status %r headers %r" % (status, h)):
        echo_ok(s, name)
        close_clean(s, name)
    s.close()


def t_not_selected(name, offer, header, port=None):
    """RFC 6455 §4.2.2: a server that agrees to no subprotocol (extension)
    sends no such header; with no extension agreed, RSV1 stays an error."""
    s = W.connect(port or PORT[0])
    s.sendall(request(extra=[offer]))
    status, h = W.read_http_head(s)
    tap.ok(status == 101 and header not in h,
           "%s: 101 without %s" % (name, header),
           "status %r headers %r" % (status, h))
    if status == 101:
        echo_ok(s, name)
        s.sendall(frame(TEXT, b"compressed?", rsv=4))
        s.settimeout(W.timeout(3))
        code, reason, before = W.read_close(s)
        tap.eq(code, 1002, "%s: a frame with RSV1 still fails with 1002"
               % name)
    s.close()


def section_valid():
    tap.eq(W.accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
           "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
           "the test's own accept computation matches RFC 6455 §1.3")
    case("handshake with the RFC 6455 §1.3 key", t_valid,
         "dGhlIHNhbXBsZSBub25jZQ==")
    case("handshake with a random key", t_valid, W.new_key())
    k = W.new_key()
    case("handshake with lower-case names and mixed-case tokens",
         t_valid_variant,
         ("GET /ws HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: WebSocket\r\n"
          "connection: keep-alive, Upgrade\r\nsec-websocket-key: %s\r\n"
          "sec-websocket-version: 13\r\nuser-agent: test\r\n\r\n"
          % k).encode())
    case("handshake with 64 header fields in all (= max_headers)",
         t_valid_variant,
         request(extra=["X-Filler-%d: %d" % (i, i) for i in range(59)]))
    case("handshake with a 4000-byte header section", t_valid_variant,
         request(extra=["X-Pad: " + "a" * 3800]))
    case("handshake request sent byte by byte", t_valid_bytewise)
    # RFC 6455 §4.2.1 item 1: the Request-URI may be an absolute http URI
    # containing the resource name (and RFC 7230 §5.3.2: a server MUST
    # accept the absolute-form).
    case("handshake with an absolute-form request target", t_valid_variant,
         request(path="http://127.0.0.1:%d/ws" % PORT[0]))
    case("handshake offering a subprotocol", t_not_selected,
         "Sec-WebSocket-Protocol: chat, superchat", "sec-websocket-protocol")
    # permessage-deflate itself is tested in test_deflate.py; with it off,
    # an offer is declined like any unknown extension.
    with W.Wsd(tap, ["--deflate", "off"]) as off:
        case("handshake offering permessage-deflate to --deflate off",
             t_not_selected, "Sec-WebSocket-Extensions: permessage-deflate; "
             "client_max_window_bits", "sec-websocket-extensions", off.port)
    case("handshake offering only an unknown extension", t_not_selected,
         "Sec-WebSocket-Extensions: x-unknown-extension; a=1",
         "sec-websocket-extensions")


# Refused handshakes --------------------------------------------------------

def section_refused():
    res = W.http_exchange(PORT[0], request(path="/nope?x=1"))
    check_error("wrong path", res, 404)
    tap.eq(res["body"], b"no WebSocket endpoint at /nope; this server's is "
           b"/ws\n", "wrong path: the body names it and the endpoint's")
    res = W.http_exchange(PORT[0], request(path="/" + "x" * 200))
    tap.eq(res["body"], b"no WebSocket endpoint at /" + b"x" * 63 +
           b"...; this server's is /ws\n",
           "a 201-byte wrong path: the body quotes its first 64 bytes")
    refuse("POST", request(method="POST"), 405, must_have("Allow", r"^GET$"))
    refuse("PUT", request(method="PUT"), 405, must_have("Allow", r"^GET$"))
    refuse("missing Host", request(drop=("Host",)), 400)
    refuse("two Host headers", request(extra=["Host: example.com"]), 400)
    # RFC 7231 §6.5.15: a 426 response MUST carry an Upgrade header.
    refuse("missing Upgrade", request(drop=("Upgrade",)), 426,
           must_have("Upgrade", r"websocket"))
    refuse("Upgrade: h2c", request(replace={"Upgrade": "h2c"}), 426,
           must_have("Upgrade", r"websocket"))
    refuse("Connection without upgrade",
           request(replace={"Connection": "keep-alive"}), 400)
    refuse("missing Connection", request(drop=("Connection",)), 400)
    refuse("Sec-WebSocket-Version 8",
           request(replace={"Sec-WebSocket-Version": "8"}), 426,
           must_have("Sec-WebSocket-Version", r"^13$"))
    refuse("missing Sec-WebSocket-Version",
           request(drop=("Sec-WebSocket-Version",)), 400)
    refuse("missing Sec-WebSocket-Key", request(drop=("Sec-WebSocket-Key",)),
           400)
    import base64
    for what, k in (("not base64", "abc"),
                    ("15 bytes", base64.b64encode(b"x" * 15).decode()),
                    ("17 bytes", base64.b64encode(b"x" * 17).decode()),
                    ("24 characters, not base64", "!" * 22 + "=="),
                    ("empty", "")):
        refuse("Sec-WebSocket-Key %s" % what,
               request(replace={"Sec-WebSocket-Key": k}), 400)
    refuse("HTTP/1.0", request(http="HTTP/1.0"), 400)
    refuse("a body (Content-Length: 5)",
           request(extra=["Content-Length: 5"], body=b"hello"), 400)
    refuse("a chunked body",
           request(extra=["Transfer-Encoding: chunked"], body=b"0\r\n\r\n"),
           400)
    refuse("header section over max_handshake_bytes (9000 bytes)",
           request(extra=["X-Pad: " + "a" * 9000]), 431)
    refuse("many headers over max_handshake_bytes",
           request(extra=["X-Pad-%d: %s" % (i, "b" * 90) for i in range(100)]),
           431)
    refuse("65 header fields (> max_headers)",
           request(extra=["X-Filler-%d: %d" % (i, i) for i in range(60)]), 431)
    refuse("200 header fields", request(extra=["X-F%d: 1" % i
                                               for i in range(195)]), 431)
    refuse("5000 header fields", request(extra=["h%d:1" % i
                                                for i in range(5000)]), 431)
    refuse("a 9000-byte request line (over max_handshake_bytes)",
           request(path="/" + "a" * 9000), 431)
    refuse("garbage request line (control bytes)",
           b"\x01\x02\x03\x04" + os.urandom(32).replace(b"\n", b"") +
           b"\r\n\r\n", 400)
    # A TLS client is answered in TLS: a fatal unexpected_message alert.
    res = W.http_exchange(PORT[0], b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc"
                          b"\x03\x03" + os.urandom(32) + b"\r\n\r\n")
    tap.ok(res["raw"] == b"\x15\x03\x01\x00\x02\x02\x0a" and res["eof"],
           "the start of a TLS ClientHello: a TLS alert, then the close",
           repr(res))
    # RFC 7230 §3.2.4: whitespace between a field name and the colon
    # MUST be answered with 400.
    refuse("whitespace before a colon", request(extra=["X-Foo : bar"]), 400)
    refuse("header line without a colon",
           request(extra=["This line has no colon"]), 400)
    refuse("request line without a version", b"GET /ws\r\nHost: x\r\n\r\n",
           400)


IDLE_FDS = {}


def idle_fds(pid):
    """The worker's descriptor count with no client connection, measured
    right after start; first waits (bounded) for the connections of earlier
    cases, which the server may still be closing, to go."""
    W.wait_until(lambda: W.fd_count(pid) == IDLE_FDS[pid], 2)
    return IDLE_FDS[pid]


def fds_back(name, pid, base):
    """The worker holds no more descriptors than before the case: the
    connection was released."""
    tap.ok(W.wait_until(lambda: W.fd_count(pid) == base, 2),
           "%s: the worker releases the connection" % name,
           "worker %d has %r descriptors, %r before"
           % (pid, W.fd_count(pid), base))


# Slow and silent peers -----------------------------------------------------

def t_handshake_timeout(name, first_bytes):
    s = W.connect(PORT[0])
    t0 = time.monotonic()
    if first_bytes:
        s.sendall(first_bytes)
    eof, data, _ = W.drain_until_eof(s, HANDSHAKE_TIMEOUT_MS / 1000 + 1.5)
    t = time.monotonic() - t0
    low = 0.7 * HANDSHAKE_TIMEOUT_MS / 1000
    tap.ok(eof and low <= t <= W.timeout(HANDSHAKE_TIMEOUT_MS / 1000 + 1.5),
           "%s: closed after handshake_timeout_ms (%d ms), not before"
           % (name, HANDSHAKE_TIMEOUT_MS),
           "eof %r after %.3f s (want between %.2f and %.2f), data %r" %
           (eof, t, low, W.timeout(HANDSHAKE_TIMEOUT_MS / 1000 + 1.5),
            data[:200]))
    s.close()


def t_slowloris(name):
    """A valid request trickled one byte every 50 ms: activity does not
    extend the handshake deadline."""
    req = request(extra=["User-Agent: slowloris"])
    s = W.connect(PORT[0])
    t0 = time.monotonic()
    eof = False
    limit = W.timeout(HANDSHAKE_TIMEOUT_MS / 1000 + 2.5)
    i = 0
    while not eof and time.monotonic() - t0 < limit and i < len(req) - 1:
        try:
            s.sendall(req[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            eof = True
            break
        i += 1
        data, eof = W.pending(s, 0.05)
    t = time.monotonic() - t0
    low = 0.7 * HANDSHAKE_TIMEOUT_MS / 1000
    tap.ok(eof and low <= t <= W.timeout(HANDSHAKE_TIMEOUT_MS / 1000 + 1.5),
           "%s: closed at the handshake deadline though bytes keep coming"
           % name, "eof %r after %.3f s, %d of %d bytes sent" %
           (eof, t, i, len(req)))
    s.close()


def t_pipelined(name):
    s = W.connect(PORT[0])
    s.sendall(request() + frame(TEXT, b"pipelined") + frame(PING, b"p") +
              frame(BINARY, b"\x00\x01"))
    status, h = W.read_http_head(s)
    got = []
    if status == 101:
        for _ in range(3):
            fin, rsv, op, p = W.read_frame(s)
            got.append((op, p))
    tap.ok(status == 101 and
           got == [(TEXT, b"pipelined"), (PONG, b"p"), (BINARY, b"\x00\x01")],
           "%s: 101, then the echo, the pong and the echo, in order" % name,
           "status %r frames %r" % (status, got))
    close_clean(s, name)


def released_after(pid, base, seconds, poke=None):
    """Seconds until the worker pid is back to `base` descriptors (it has
    dropped the connection), or None if not within `seconds` (scaled).
    poke(), if given, runs between polls."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < W.timeout(seconds):
        if W.fd_count(pid) == base:
            return time.monotonic() - t0
        if poke is not None:
            poke()
        time.sleep(0.01)
    return None


def t_http_after_101(name):
    """A second HTTP request behind the handshake is not a frame ("G" reads
    as FIN=0, RSV3 set, opcode 7): the connection fails with 1002."""
    s = W.connect(PORT[0])
    s.sendall(request() + b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    status, h = W.read_http_head(s)
    s.settimeout(W.timeout(3))
    code, reason, before = W.read_close(s)
    tap.ok(status == 101 and code == 1002 and not before,
           "%s: 101, then close 1002" % name,
           "status %r close %r frames before %r" % (status, code, before))
    s.close()


def t_close_timeout(name, w, busy):
    """We break the protocol, read the server's close, and never answer it
    (busy: we keep sending data frames instead): the worker drops the
    connection after close_timeout_ms, not before. Whether the server
    half-closes (FIN) at once does not matter here: what counts is when
    the worker lets go of the connection."""
    pid = w.workers()[0]
    base = idle_fds(pid)
    s = W.open_ws(PORT[0])
    s.sendall(frame(TEXT, b"bad", rsv=4))
    s.settimeout(W.timeout(3))
    code, reason, before = W.read_close(s)
    sent = []

    def poke():
        if sent and time.monotonic() - sent[-1] < 0.05:
            return
        sent.append(time.monotonic())
        try:
            s.sendall(frame(TEXT, b"ignored"))
        except OSError:
            pass
    t = released_after(pid, base, CLOSE_TIMEOUT_MS / 1000 + 1.5,
                       poke if busy else None)
    data, eof = W.pending(s, 0.1)
    low = 0.7 * CLOSE_TIMEOUT_MS / 1000
    high = W.timeout(CLOSE_TIMEOUT_MS / 1000 + 1.5)
    tap.ok(code == 1002 and t is not None and low <= t <= high and
           not data,
           "%s: close 1002, then dropped after close_timeout_ms (%d ms), "
           "not before%s" % (name, CLOSE_TIMEOUT_MS,
                             ", nothing echoed" if busy else ""),
           "code %r, released after %s s (want %.2f..%.2f), %d data frames "
           "sent meanwhile, data %r" %
           (code, "%.3f" % t if t is not None else "never", low, high,
            len(sent), data[:80]))
    s.close()


# Abrupt disconnects --------------------------------------------------------

def t_half_frame_then_fin(name, w):
    pid = w.workers()[0]
    base = idle_fds(pid)
    s = W.open_ws(PORT[0])
    s.sendall(frame(BINARY, b"x" * 1000)[:300])
    s.shutdown(socket.SHUT_WR)
    eof, data, t = W.drain_until_eof(s, 2.0)
    tap.ok(eof, "%s: the server closes its side too" % name,
           "eof %r after %.2f s, data %r" % (eof, t, data[:80]))
    s.close()
    fds_back(name, pid, base)


def reset(s):
    """Closes s with a TCP reset (SO_LINGER 0) instead of a FIN."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def record_shows(name, w, cport, what, cond):
    """W.record_shows() for this case."""
    return W.record_shows(tap, w, cport, "%s: %s" % (name, what), cond)


def dropped_by_peer(name, w, cport, totals_before, opened=True):
    """After the client's reset: the record is closed as a drop by the
    peer, and the totals count one more connection ended, none more
    active: unclean for a WebSocket, unopened for one reset before its
    101 (no WebSocket ever opened)."""
    rec = record_shows(
        name, w, cport, "the record is closed: dropped by the peer, not "
        "clean, not a timeout",
        lambda r: r["state"] == "closed" and not r["wasClean"] and
        not r["droppedByMe"] and bool(r["wasNotCleanReason"]) and
        not r["wasOpenHandshakeTimeout"] and
        not r["wasCloseHandshakeTimeout"])
    t = W.admin_stats(W.admin_port(w))["totals"]
    ended = "unclean" if opened else "unopened"
    tap.eq((t["accepted"], t["active"], t["unclean"], t["unopened"]),
           (totals_before["accepted"] + 1, totals_before["active"],
            totals_before["unclean"] + opened,
            totals_before["unopened"] + (not opened)),
           "%s: totals: one more accepted and %s, none more active"
           % (name, ended))
    return rec


def t_reset_mid_message(name, w):
    """A reset after half a message: the worker has read the first
    fragment and the start of the second before it, then drops the
    connection as the peer's doing and releases it."""
    pid = w.workers()[0]
    base = idle_fds(pid)
    before = W.admin_stats(W.admin_port(w))["totals"]
    s = W.open_ws(PORT[0])
    cport = s.getsockname()[1]
    s.sendall(frame(TEXT, b"part", fin=False) + frame(CONT, b"x" * 5000)[:99])
    record_shows(name, w, cport, "the worker read both frames' headers "
                 "before the reset",
                 lambda r: r["state"] == "open" and
                 r["rxFrameStats"] == {"1": 1, "0": 1})
    reset(s)
    rec = dropped_by_peer(name, w, cport, before)
    tap.eq(rec["rxMessages"] if rec else None, 0,
           "%s: no message was completed" % name)
    fds_back(name, pid, base)


def t_reset_during_handshake(name, w, workers):
    """A reset halfway through the opening handshake. The worker must
    have accepted the connection and read the partial request before it
    (its record, in the handshake state, counts those bytes), then close
    the record as the peer's drop and release the connection, and go on
    serving with the same processes."""
    pid = w.workers()[0]
    base = idle_fds(pid)
    before = W.admin_stats(W.admin_port(w))["totals"]
    partial = request()[:40]
    s = W.connect(PORT[0])
    cport = s.getsockname()[1]
    s.sendall(partial)
    record_shows(name, w, cport, "the worker accepted the connection and "
                 "read the %d bytes before the reset" % len(partial),
                 lambda r: r["state"] == "handshake" and
                 W.octets_sum(r["rxOctetStats"]) == len(partial))
    reset(s)
    rec = dropped_by_peer(name, w, cport, before, opened=False)
    tap.eq((rec["httpStatus"], W.octets_sum(rec["txOctetStats"]))
           if rec else None, (None, 0), "%s: nothing was answered" % name)
    fds_back(name, pid, base)
    s = W.open_ws(PORT[0])
    echo_ok(s, name + ", afterwards")
    close_clean(s, name + ", afterwards")
    tap.eq(sorted(w.workers()), workers,
           "%s: the same workers afterwards" % name)


def t_many_tiny_fragments(name, w):
    """20000 one-byte fragments: the message is assembled and echoed, and
    the worker's memory does not balloon with per-fragment overhead."""
    pid = w.workers()[0]
    rss0 = W.vmrss_kib(pid)
    payload = b"abcdefghij" * 2000
    s = W.open_ws(PORT[0])
    s.settimeout(W.timeout(10))
    data = b"".join(frame(TEXT if i == 0 else CONT, payload[i:i + 1],
                          fin=i == len(payload) - 1)
                    for i in range(len(payload)))
    s.sendall(data)
    op, got, ctl = W.read_message(s)
    rss1 = W.vmrss_kib(pid)
    tap.ok(op == TEXT and got == payload and not ctl,
           "%s: one %d-byte text message echoed" % (name, len(payload)),
           "opcode %r length %d controls %r" % (op, len(got), ctl))
    tap.ok(rss0 is not None and rss1 is not None and rss1 - rss0 < 16 * 1024,
           "%s: worker RSS grew by less than 16 MiB" % name,
           "RSS %r KiB before, %r KiB after" % (rss0, rss1))
    close_clean(s, name)


# Backpressure --------------------------------------------------------------

def stalled_and_bounded(name, f, max_sent, why):
    """Checks a flood_until_stalled() result: our sending stalled before
    max_sent bytes, and the worker's RSS grew by less than 32 MiB."""
    tap.ok(f["stalled"] and f["sent"] < max_sent,
           "%s: sending stalls once %s" % (name, why),
           "stalled %r after %.1f MiB in %.1f s" %
           (f["stalled"], f["sent"] / MIB, f["elapsed"]))
    tap.ok(f["rss0"] is not None and f["peak"] - f["rss0"] < 32 * 1024,
           "%s: worker RSS grew by less than 32 MiB" % name,
           "RSS %r KiB at start, peak %r KiB, after sending %.1f MiB" %
           (f["rss0"], f["peak"], f["sent"] / MIB))


def t_backpressure(name, w):
    """A client sends 64 KiB messages and never reads. With
    write_high_water_bytes 65536 the worker must stop reading once its
    output backs up, so our sending stalls and the worker's RSS stays
    bounded; once we read, every echo arrives in order."""
    pid = w.workers()[0]
    s = W.open_ws(PORT[0])
    # A small receive buffer of our own keeps the kernel from absorbing
    # the echoes: the backlog must build up in the server.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    n = 65536
    body = bytes(range(256)) * (n // 256)
    f = W.flood_until_stalled(
        s, lambda i: frame(BINARY, i.to_bytes(8, "big") + body[8:]), pid,
        seconds=5, max_bytes=128 * MIB)
    stalled_and_bounded(name, f, 64 * MIB, "the server's output backs up")
    complete, cur = f["complete"], f["rest"]
    # Finish the partly sent message in a thread while we read.
    expected = complete + (1 if cur else 0)
    th, errors = W.send_in_background(s, cur)
    s.settimeout(W.timeout(15))
    bad = W.first_wrong_echo(s, expected,
                             lambda i: i.to_bytes(8, "big") + body[8:])
    th.join(W.timeout(15))
    tap.ok(bad is None and not errors,
           "%s: all %d echoes arrive in order once we read" % (name, expected),
           "first bad echo (index, opcode, length, head, controls) %r; "
           "send errors %r" % (bad, errors))
    close_clean(s, name)


def t_ping_flood(name, w):
    """Pings sent without ever reading the pongs: the pongs count against
    write_high_water_bytes like echoes do, so sending stalls and the
    worker's memory stays bounded; then every pong arrives, in order."""
    pid = w.workers()[0]
    s = W.open_ws(PORT[0])
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    key = os.urandom(4)
    filler = b"p" * 117

    def batch(first, count):
        return b"".join(frame(PING, i.to_bytes(8, "big") + filler, key=key)
                        for i in range(first, first + count))
    per = 500
    frame_len = len(batch(0, 1))
    f = W.flood_until_stalled(s, lambda k: batch(k * per, per), pid,
                              seconds=5, max_bytes=64 * MIB, sample_every=1)
    stalled_and_bounded(name, f, 48 * MIB, "the pongs back up")
    sent = f["sent"]
    # Whole pings sent; the partial last one is dropped by closing later.
    whole = sent // frame_len
    tail = sent - whole * frame_len
    # Complete the partly sent ping so that the stream stays framed.
    th, errors = W.send_in_background(s, batch(whole, 1)[tail:] if tail
                                      else b"")
    s.settimeout(W.timeout(15))
    expected = whole + (1 if tail else 0)
    buf = bytearray()
    pos = 0
    bad = None
    i = 0
    deadline = time.monotonic() + W.timeout(20)
    while i < expected and bad is None and time.monotonic() < deadline:
        chunk = s.recv(1 << 20)
        if not chunk:
            bad = ("EOF", i)
            break
        buf += chunk
        while bad is None and len(buf) - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n = b1 & 0x7f
            if n > 125 or len(buf) - pos < 2 + n:
                if n > 125:
                    bad = ("unexpected frame", b0, b1, i)
                break
            payload = bytes(buf[pos + 2:pos + 2 + n])
            if b0 != 0x80 | PONG or payload != i.to_bytes(8, "big") + filler:
                bad = ("frame %d" % i, b0, payload[:12])
            pos += 2 + n
            i += 1
        if pos > (1 << 20):
            del buf[:pos]
            pos = 0
    th.join(W.timeout(15))
    tap.ok(bad is None and i == expected and not errors,
           "%s: all %d pongs arrive in order once we read" % (name, expected),
           "got %d pongs; problem %r; send errors %r" % (i, bad, errors))
    close_clean(s, name)


# Connection limit ----------------------------------------------------------

def t_max_connections(name, w):
    a = W.open_ws(w.port)
    b = W.open_ws(w.port)
    res = W.http_exchange(w.port, request())
    check_error(name + ", third connection", res, 503)
    echo_ok(a, name + ", first connection")
    echo_ok(b, name + ", second connection")
    close_clean(a, name + ", first connection")
    got = []

    def try_again():
        r = W.http_exchange(w.port, request(), seconds=0.5)
        got.append(r["status"])
        return r["status"] == 101
    tap.ok(W.wait_until(try_again, 3, step=0.05),
           "%s: a slot frees up once a connection closes" % name,
           "statuses seen %r" % got[-10:])
    close_clean(b, name + ", second connection")


def survivor(name, w, workers):
    s = W.open_ws(w.port)
    echo_ok(s, name)
    close_clean(s, name)
    tap.eq(sorted(w.workers()), workers,
           "%s: the same workers (none crashed and was respawned)" % name)


def main():
    with W.Wsd(tap, ["--handshake_timeout_ms", str(HANDSHAKE_TIMEOUT_MS),
                     "--close_timeout_ms", str(CLOSE_TIMEOUT_MS),
                     "--write_high_water_bytes", str(HIGH_WATER)]) as w:
        PORT[0] = w.port
        workers = sorted(w.workers())
        W.warm_up(w.port)
        IDLE_FDS[workers[0]] = W.fd_count_settled(workers[0])
        section_valid()
        section_refused()
        case("handshake timeout, partial request", t_handshake_timeout,
             b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        case("handshake timeout, silent client", t_handshake_timeout, b"")
        case("slowloris", t_slowloris)
        case("frames pipelined behind the handshake", t_pipelined)
        case("a second HTTP request behind the handshake", t_http_after_101)
        case("close timeout, silent peer", t_close_timeout, w, False)
        case("close timeout, peer keeps sending data", t_close_timeout, w,
             True)
        case("half a frame, then the client's FIN", t_half_frame_then_fin, w)
        case("reset in the middle of a message", t_reset_mid_message, w)
        case("reset during the handshake", t_reset_during_handshake, w,
             workers)
        case("20000 one-byte fragments", t_many_tiny_fragments, w)
        case("backpressure", t_backpressure, w)
        case("ping flood without reading", t_ping_flood, w)
        case("after the hostile input", survivor, w, workers)
    with W.Wsd(tap, ["--max_connections", "2"]) as w:
        workers = sorted(w.workers())
        case("max_connections 2", t_max_connections, w)
        case("after the connection limit", survivor, w, workers)
    tap.done()


if __name__ == "__main__":
    main()
