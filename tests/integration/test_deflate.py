#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""permessage-deflate (RFC 7692) through the real wsd.

1. Negotiation over raw sockets: the exact Sec-WebSocket-Extensions answer
   to offers, declined offers (still 101), several offers, and the
   deflate_* directives.
2. The granted parameters are kept, which Autobahn does not check: the
   echoes of a server granted server_max_window_bits=N inflate with an
   N-bit window (with a control showing that a 15-bit server's output does
   not), server_no_context_takeover makes every echo inflate on its own
   (with a control showing that context takeover does reference earlier
   messages), and the client-side parameters.
3. Messages from a raw client: RFC 7692 §7.2.3 vectors, our own compressed
   text and binary, fragments, context takeover, uncompressed messages on
   a deflate connection, the deflate_min_bytes boundary, and the failures
   (RSV1 where it does not belong: 1002; corrupt data and invalid UTF-8
   once inflated: 1007).
4. Decompression bombs under --max_message_bytes 1m: 1009 after inflating
   no more than the limit, with the worker's peak RSS barely moving.
6. Memory per connection: zlib streams are allocated lazily and released
   after each message when there is no context takeover (worker RSS with
   200 connections, and a control with context takeover).
5. Interoperability with real clients that offer deflate (python3
   websockets, node's ws through ws_client.js), through a relay that
   records which frames carry RSV1.

Every compressed payload the test sends is made with Python's zlib (raw
deflate, the 00 00 ff ff tail removed), and every compressed echo is
inflated with Python's zlib with the window the handshake granted: the
daemon's own code never judges its output.
"""
import asyncio
import base64
import contextlib
import functools
import json
import os
import random
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsdtest as W  # noqa: E402
from wsdtest import frame, text_pattern  # noqa: E402

from websockets.extensions.permessage_deflate import (  # noqa: E402
    ClientPerMessageDeflateFactory)

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0, 1, 2, 8, 9, 10
RSV1, RSV2, RSV3 = 4, 2, 1
TAIL = b"\x00\x00\xff\xff"
EXT = "sec-websocket-extensions"
KIB = 1 << 10
MIB = 1 << 20
MIN_BYTES = 64  # deflate_min_bytes default: shorter echoes go uncompressed

tap = W.Tap()
case = W.Cases(tap)
expect_fail = functools.partial(W.expect_fail, tap, read_within=3,
                                eof_within=3)
close_clean = functools.partial(W.close_clean, tap, eof_within=3)
SEED = int(os.environ.get("WSD_TEST_SEED", str(int(time.time()))))
RNG = random.Random(SEED)


def rand(n):
    return RNG.randbytes(n)


# Deflate on the client side (Python's zlib, not the daemon's) ---------------

def compressor(level=6, bits=15):
    return zlib.compressobj(level, zlib.DEFLATED, -bits)


def deflate(data, comp=None):
    """One message compressed as RFC 7692 §7.2.1 says: raw deflate, sync
    flush, the 00 00 ff ff tail removed. comp carries the context across
    messages; without it every message is compressed afresh."""
    c = comp if comp is not None else compressor()
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    if not out.endswith(TAIL):
        raise AssertionError("zlib sync flush without the tail")
    return out[:-4]


STEP = 256  # < 512, the smallest window (9 bits)


def inflate(payload, bits=15, dec=None):
    """Inflates one message's payload (tail appended, §7.2.2) with a fresh
    decompressor of `bits`, or with dec to continue a context. Raises
    zlib.error when the data does not inflate with that window.

    zlib checks a back-reference's distance against its window *plus the
    output of the current inflate() call*, so one big call would accept
    references farther back than 2^bits. Feeding at most STEP bytes in and
    letting at most STEP bytes out per call makes every reference farther
    than STEP come from zlib's window, so a distance beyond 2^bits fails
    ("invalid distance too far back")."""
    d = dec if dec is not None else zlib.decompressobj(-bits)
    data = payload + TAIL
    out = []
    for i in range(0, len(data), STEP):
        chunk = data[i:i + STEP]
        while True:
            o = d.decompress(chunk, STEP)
            out.append(o)
            chunk = d.unconsumed_tail
            if not chunk and len(o) < STEP:
                break
    return b"".join(out)


def try_inflate(payload, bits=15, dec=None):
    """inflate(), that tells a payload that does not inflate: returns
    (data, None), or (None, the zlib error)."""
    try:
        return inflate(payload, bits, dec), None
    except zlib.error as e:
        return None, e


def parse_ext(value):
    """A granted permessage-deflate response as a dict: parameter name to
    int value, or True for one without a value."""
    parts = [p.strip() for p in value.split(";")]
    out = {}
    for p in parts[1:]:
        k, eq, v = p.partition("=")
        out[k.strip()] = int(v) if eq else True
    return out


# Raw connections -----------------------------------------------------------

def handshake(port, offers):
    """Opens a connection offering each of `offers` in its own
    Sec-WebSocket-Extensions line. Returns (sock, status, header list,
    key)."""
    s = W.connect(port)
    key = W.new_key()
    s.sendall(W.handshake_request(
        key=key, extra=["Sec-WebSocket-Extensions: " + o for o in offers]))
    status, headers = W.read_http_head_list(s)
    return s, status, headers, key


class Echo:
    def __init__(self, op, data, raw, rsvs, controls):
        self.op = op
        self.data = data  # inflated when the message was compressed
        self.raw = raw  # the payload as it came over the wire
        self.rsvs = rsvs
        self.compressed = rsvs[0] == RSV1
        self.controls = controls


class Conn:
    """A raw client connection that offered `offer` (None: no offer).
    .ext is the granted extension value (None when declined), .params its
    parameters. Echoes are inflated with the granted server window, with
    one decompressor across messages unless the server granted
    server_no_context_takeover (then a fresh one per message, which checks
    that the server kept that promise)."""

    def __init__(self, port, offer="permessage-deflate", level=6, bits=15):
        self.s, self.status, self.headers, _ = handshake(
            port, [offer] if offer is not None else [])
        if self.status != 101:
            raise RuntimeError("handshake refused: %r" % self.status)
        vals = [v for k, v in self.headers if k == EXT]
        self.ext = vals[0] if vals else None
        self.params = parse_ext(self.ext) if self.ext else {}
        self.server_bits = self.params.get("server_max_window_bits", 15)
        self.dec = zlib.decompressobj(-self.server_bits)
        self.comp = compressor(level, bits)

    def send(self, op, data, compressed=True, fragments=1, takeover=True):
        """Sends one message, compressed (RSV1 on the first frame only) or
        not, split into `fragments` frames of about equal size."""
        if compressed:
            payload = deflate(data, self.comp if takeover else None)
        else:
            payload = data
        self.s.sendall(b"".join(message_frames(op, payload, compressed,
                                               fragments)))

    def recv(self):
        op, raw, rsvs, controls = W.read_message_frames(self.s)
        data = raw
        if rsvs[0] == RSV1:
            if self.params.get("server_no_context_takeover"):
                data = inflate(raw, self.server_bits)
            else:
                data = inflate(raw, dec=self.dec)
        return Echo(op, data, raw, rsvs, controls)

    def close(self):
        self.s.close()


def message_frames(op, payload, compressed, fragments=1):
    """One message of payload in `fragments` frames of about equal size,
    RSV1 on the first when compressed."""
    n = len(payload)
    cuts = [n * i // fragments for i in range(fragments + 1)]
    return W.message_frames(op, [payload[cuts[i]:cuts[i + 1]]
                                 for i in range(fragments)],
                            rsv=RSV1 if compressed else 0)


def echo_ok(name, c, op, data, min_bytes=MIN_BYTES, controls=(),
            want_compressed=None):
    """The next message is the echo of op/data: one frame, RSV1 exactly
    when data has at least min_bytes, inflating to data."""
    e = c.recv()
    if want_compressed is None:
        want_compressed = len(data) >= min_bytes
    ok = (e.op == op and e.data == data and len(e.rsvs) == 1 and
          e.compressed == want_compressed and
          e.controls == list(controls))
    return tap.ok(ok, name, "got opcode %r, %d bytes (%d on the wire), "
                  "frames' rsv %r, controls %r\nwant opcode %r, %d bytes, "
                  "rsv1 %r, controls %r; first difference at %r"
                  % (e.op, len(e.data), len(e.raw), e.rsvs, e.controls[:3],
                     op, len(data), want_compressed, list(controls),
                     W.first_diff(e.data, data)))


# 1. Negotiation ------------------------------------------------------------

def t_negotiate(name, port, offers, want, server_bits=None):
    """offers (one header line each) get 101 with the right accept key and
    exactly `want` as the only Sec-WebSocket-Extensions (None: no such
    header). Then the connection behaves as negotiated: a compressed
    message is echoed compressed, inflating with the granted window; or,
    declined, RSV1 fails with 1002."""
    s, status, headers, key = handshake(port, offers)
    exts = [v for k, v in headers if k == EXT]
    accept = [v for k, v in headers if k == "sec-websocket-accept"]
    tap.ok(status == 101 and accept == [W.accept_key(key)] and
           exts == ([want] if want is not None else []),
           "%s: 101 with %s" % (name, "Sec-WebSocket-Extensions: " + want
                                if want else "no Sec-WebSocket-Extensions"),
           "status %r, headers %r" % (status, headers))
    if status != 101:
        s.close()
        return
    data = text_pattern(300)
    if exts:
        p = parse_ext(exts[0])
        bits = p.get("server_max_window_bits", 15)
        s.sendall(frame(TEXT, deflate(data), rsv=RSV1))
        op, raw, rsvs, _ = W.read_message_frames(s)
        got, err = try_inflate(raw, bits)
        tap.ok(op == TEXT and rsvs == [RSV1] and got == data,
               "%s: compressed text echoed compressed, inflating with a "
               "%d-bit window" % (name, bits),
               "opcode %r rsv %r inflated %r, zlib error %r"
               % (op, rsvs, got and got[:80], err))
        W.send_close(s, 1000)
        W.read_close_within(s, 3)
        s.close()
    else:
        s.sendall(frame(TEXT, deflate(data), rsv=RSV1))
        expect_fail(s, name + ", then RSV1", 1002)


BAD_OFFERS = [
    ("unknown parameter", "permessage-deflate; foo"),
    ("unknown parameter with a value", "permessage-deflate; foo=1"),
    ("server_max_window_bits without a value",
     "permessage-deflate; server_max_window_bits"),
    ("server_max_window_bits=16",
     "permessage-deflate; server_max_window_bits=16"),
    ("server_max_window_bits=7",
     "permessage-deflate; server_max_window_bits=7"),
    ("server_max_window_bits=010",
     "permessage-deflate; server_max_window_bits=010"),
    ("server_max_window_bits=abc",
     "permessage-deflate; server_max_window_bits=abc"),
    ("client_max_window_bits=16",
     "permessage-deflate; client_max_window_bits=16"),
    ("client_max_window_bits=0",
     "permessage-deflate; client_max_window_bits=0"),
    ("server_no_context_takeover with a value",
     "permessage-deflate; server_no_context_takeover=1"),
    ("client_no_context_takeover with a value",
     "permessage-deflate; client_no_context_takeover=true"),
    ("repeated server_no_context_takeover",
     "permessage-deflate; server_no_context_takeover; "
     "server_no_context_takeover"),
    ("repeated server_max_window_bits",
     "permessage-deflate; server_max_window_bits=10; "
     "server_max_window_bits=11"),
    ("repeated client_max_window_bits",
     "permessage-deflate; client_max_window_bits; client_max_window_bits=10"),
]


def section_negotiation(port):
    case("1.1 offer permessage-deflate", t_negotiate, port,
         ["permessage-deflate"], "permessage-deflate")
    case("1.2 offer client_max_window_bits without a value", t_negotiate,
         port, ["permessage-deflate; client_max_window_bits"],
         "permessage-deflate; client_max_window_bits=15")
    case("1.3 offer server_no_context_takeover and server_max_window_bits=10",
         t_negotiate, port,
         ["permessage-deflate; server_no_context_takeover; "
          "server_max_window_bits=10"],
         "permessage-deflate; server_no_context_takeover; "
         "server_max_window_bits=10")
    case("1.4 offer server_max_window_bits=8 only (zlib cannot): declined",
         t_negotiate, port, ["permessage-deflate; server_max_window_bits=8"],
         None)
    for what, offer in BAD_OFFERS:
        case("1.5 offer with %s: declined" % what, t_negotiate, port,
             [offer], None)
    case("1.6 several offers in one line, the first acceptable wins",
         t_negotiate, port,
         ["permessage-deflate; server_max_window_bits=8, "
          "permessage-deflate; server_max_window_bits=12, "
          "permessage-deflate"],
         "permessage-deflate; server_max_window_bits=12")
    case("1.6 two acceptable offers: the first wins", t_negotiate, port,
         ["permessage-deflate; server_max_window_bits=11, "
          "permessage-deflate; client_max_window_bits"],
         "permessage-deflate; server_max_window_bits=11")
    case("1.6 offers in two header lines, the first one declined",
         t_negotiate, port,
         ["permessage-deflate; bogus", "permessage-deflate; "
          "server_no_context_takeover"],
         "permessage-deflate; server_no_context_takeover")
    case("1.6 an unknown extension before permessage-deflate", t_negotiate,
         port, ["x-webkit-deflate-frame, permessage-deflate; "
                "client_max_window_bits"],
         "permessage-deflate; client_max_window_bits=15")
    case("1.6 only an unknown extension", t_negotiate, port,
         ["x-webkit-deflate-frame"], None)
    case("1.7 server_max_window_bits=9, the smallest zlib can do",
         t_negotiate, port, ["permessage-deflate; server_max_window_bits=9"],
         "permessage-deflate; server_max_window_bits=9")
    case("1.7 a quoted server_max_window_bits value", t_negotiate, port,
         ['permessage-deflate; server_max_window_bits="10"'],
         "permessage-deflate; server_max_window_bits=10")
    case("1.7 client_max_window_bits=12: granted as offered", t_negotiate,
         port, ["permessage-deflate; client_max_window_bits=12"],
         "permessage-deflate; client_max_window_bits=12")
    case("1.7 client_no_context_takeover offered: echoed", t_negotiate, port,
         ["permessage-deflate; client_no_context_takeover"],
         "permessage-deflate; client_no_context_takeover")
    case("1.7 every parameter, with spaces around the separators",
         t_negotiate, port,
         ["permessage-deflate ; client_max_window_bits=10 ; "
          "server_max_window_bits=13 ; client_no_context_takeover ; "
          "server_no_context_takeover"],
         "permessage-deflate; server_no_context_takeover; "
         "client_no_context_takeover; server_max_window_bits=13; "
         "client_max_window_bits=10")


# 2. The granted parameters are kept ------------------------------------------

def far_message(bits, x_len=1500, gap_extra=300):
    """X, then 2^bits + gap_extra other random bytes, then X again: a
    compressor with a window larger than 2^bits references the first X
    from the second; one with 2^bits cannot."""
    x = rand(x_len)
    return x + rand((1 << bits) + gap_extra) + x


def near_message(bits):
    """X, other bytes, X again within reach of a 2^bits window (zlib's
    deflate reaches 2^bits - 262 back): compresses by about len(X)."""
    reach = (1 << bits) - 262
    x_len = min(1500, reach // 2)
    x = rand(x_len)
    return x + rand(reach - x_len - 10) + x, x_len


def t_window(name, port, bits, compressed):
    c = Conn(port, "permessage-deflate; server_max_window_bits=%d" % bits)
    tap.eq(c.ext, "permessage-deflate; server_max_window_bits=%d" % bits,
           "%s: granted as offered" % name)
    msg = far_message(bits)
    c.send(BINARY, msg, compressed=compressed)
    op, raw, rsvs, _ = W.read_message_frames(c.s)
    got, err = try_inflate(raw, dec=c.dec)
    tap.ok(op == BINARY and rsvs == [RSV1] and got == msg,
           "%s: a %d-byte message with a repeat %d bytes back comes back "
           "compressed and inflates with a %d-bit window"
           % (name, len(msg), len(msg) - 1500, bits),
           "opcode %r rsv %r, %d bytes on the wire, zlib error %r, equal %r"
           % (op, rsvs, len(raw), err, got == msg))
    msg, x_len = near_message(bits)
    c.send(BINARY, msg, compressed=compressed)
    op, raw, rsvs, _ = W.read_message_frames(c.s)
    # The server keeps its context: continue the same decompressor.
    got, err = try_inflate(raw, dec=c.dec)
    tap.ok(op == BINARY and rsvs == [RSV1] and got == msg and
           len(raw) <= len(msg) - x_len // 2,
           "%s: a repeat within the window is used (the window is not "
           "smaller than granted)" % name,
           "opcode %r rsv %r, %d bytes on the wire for %d (repeat of %d), "
           "zlib error %r, equal %r" % (op, rsvs, len(raw), len(msg), x_len,
                                        err, got == msg))
    close_clean(c.s, name)


def t_window_control(name, port, bits):
    """The same far message through a 15-bit server does use the far
    repeat, so its output does not inflate with `bits`: t_window's check
    would catch a server that ignores what it granted."""
    c = Conn(port, "permessage-deflate")
    msg = far_message(bits)
    c.send(BINARY, msg, compressed=False)
    op, raw, rsvs, _ = W.read_message_frames(c.s)
    _, small = try_inflate(raw, bits)
    full = try_inflate(raw, 15)[0] == msg
    tap.ok(rsvs == [RSV1] and full and small is not None and
           len(raw) < len(msg) - 1000,
           "%s: the 15-bit echo (%d bytes for %d) inflates with 15 bits, "
           "not with %d" % (name, len(raw), len(msg), bits),
           "rsv %r, inflates with 15: %r, with %d: zlib error %r"
           % (rsvs, full, bits, small))
    close_clean(c.s, name)


def t_server_no_takeover(name, port, offer, want_ext):
    c = Conn(port, offer)
    tap.eq(c.ext, want_ext, "%s: granted" % name)
    msg = rand(1000) + text_pattern(1000)
    raws = []
    for i in range(3):
        c.send(BINARY, msg)
        op, raw, rsvs, _ = W.read_message_frames(c.s)
        got, err = try_inflate(raw, 15)
        raws.append(raw)
        tap.ok(op == BINARY and rsvs == [RSV1] and got == msg,
               "%s: echo %d inflates on its own (%d bytes)"
               % (name, i + 1, len(raw)),
               "opcode %r rsv %r, inflated alone: %r, zlib error %r"
               % (op, rsvs, got == msg, err))
    tap.ok(len(raws[1]) > 1000 and len(raws[2]) > 1000,
           "%s: later echoes are not shrunk by earlier ones" % name,
           "sizes %r" % [len(r) for r in raws])
    close_clean(c.s, name)


def t_takeover_control(name, port):
    """Without server_no_context_takeover, the second echo of the same
    message references the first: tiny, and a fresh decompressor cannot
    inflate it (so t_server_no_takeover's check has teeth)."""
    c = Conn(port, "permessage-deflate")
    msg = rand(1000) + text_pattern(1000)
    c.send(BINARY, msg)
    first = c.recv()
    c.send(BINARY, msg)
    op, raw, rsvs, _ = W.read_message_frames(c.s)
    alone = try_inflate(raw, 15)[0] == msg
    tap.ok(first.data == msg and rsvs == [RSV1] and not alone and
           len(raw) < 100 and inflate(raw, dec=c.dec) == msg,
           "%s: the second echo takes %d bytes, inflates only with the "
           "first's context" % (name, len(raw)),
           "first ok %r, rsv %r, inflates alone %r, size %d"
           % (first.data == msg, rsvs, alone, len(raw)))
    close_clean(c.s, name)


def t_client_takeover(name, port):
    """The client keeps its context (the default): later messages
    reference earlier ones, and an uncompressed message in between does
    not disturb the server's inflater."""
    c = Conn(port, "permessage-deflate")
    msgs = [text_pattern(2000),
            base64.b64encode(rand(500)) + text_pattern(2000),
            text_pattern(2000)]
    sizes = []
    for m in msgs:
        payload = deflate(m, c.comp)
        sizes.append(len(payload))
        c.s.sendall(frame(TEXT, payload, rsv=RSV1))
        echo_ok("%s: message of %d bytes (%d compressed)"
                % (name, len(m), len(payload)), c, TEXT, m)
    tap.ok(sizes[2] < 40, "%s: the third message only references the "
           "first (%d bytes)" % (name, sizes[2]), "sizes %r" % sizes)
    plain = rand(200)
    c.send(BINARY, plain, compressed=False)
    echo_ok("%s: an uncompressed message in between" % name, c, BINARY, plain)
    c.send(TEXT, msgs[1])
    echo_ok("%s: then a compressed one referencing earlier messages" % name,
            c, TEXT, msgs[1])
    close_clean(c.s, name)


def section_parameters(port):
    for bits in range(9, 16):
        case("2.1 server_max_window_bits=%d kept" % bits, t_window, port,
             bits, compressed=bits % 2 == 0)
    for bits in (9, 12):
        case("2.2 control: a 15-bit server's output for the %d-bit test"
             % bits, t_window_control, port, bits)
    case("2.3 server_no_context_takeover offered", t_server_no_takeover,
         port, "permessage-deflate; server_no_context_takeover",
         "permessage-deflate; server_no_context_takeover")
    case("2.4 control: context takeover", t_takeover_control, port)
    case("2.5 client context takeover", t_client_takeover, port)


def t_client_window(name, port, offer, want_ext, bits, ok):
    """The server inflates with the client window it granted: a client
    compressing with `bits` and a repeat 2^10 + 300 bytes back is echoed
    (ok) or fails with 1007 (the server really holds a smaller window)."""
    c = Conn(port, offer, bits=bits)
    tap.eq(c.ext, want_ext, "%s: granted" % name)
    msg = far_message(10)
    payload = deflate(msg, c.comp)
    c.s.sendall(frame(BINARY, payload, rsv=RSV1))
    if ok:
        echo_ok("%s: a message compressed with %d bits is echoed"
                % (name, bits), c, BINARY, msg)
        close_clean(c.s, name)
    else:
        expect_fail(c.s, "%s: a message compressed with %d bits, beyond "
                    "the granted window" % (name, bits), 1007)


def t_client_no_takeover(name, port, offer, want_ext):
    c = Conn(port, offer)
    tap.eq(c.ext, want_ext, "%s: granted" % name)
    m = text_pattern(3000)
    for i in range(3):
        c.send(TEXT, m, takeover=False)
        echo_ok("%s: message %d compressed afresh echoed" % (name, i + 1), c,
                TEXT, m)
    close_clean(c.s, name)


def t_min_bytes(name, port, sizes, min_bytes):
    c = Conn(port, "permessage-deflate")
    for n in sizes:
        m = text_pattern(n)
        c.send(TEXT, m)
        echo_ok("%s: %d bytes echoed %s" % (name, n, "compressed"
                                            if n >= min_bytes
                                            else "uncompressed"),
                c, TEXT, m, min_bytes=min_bytes)
    close_clean(c.s, name)


def t_empty_twice(name, port):
    """With deflate_min_bytes 0 even empty messages are compressible; two in
    a row and a third message still decode with one decompressor."""
    c = Conn(port, "permessage-deflate")
    for m in (b"", b"", b"abc", text_pattern(500)):
        c.send(TEXT, m)
        e = c.recv()
        tap.ok(e.op == TEXT and e.data == m and len(e.rsvs) == 1,
               "%s: %d-byte message echoed (rsv1 %r)" % (name, len(m),
                                                         e.compressed),
               "opcode %r data %r rsv %r" % (e.op, e.data[:40], e.rsvs))
    close_clean(c.s, name)


def t_incompressible(name, port, n):
    c = Conn(port, "permessage-deflate")
    m = rand(n)
    c.send(BINARY, m, compressed=False)
    echo_ok("%s: %d random bytes echoed compressed" % (name, n), c, BINARY, m)
    close_clean(c.s, name)


def with_daemon(args, fn):
    with W.Wsd(tap, args) as w:
        workers = sorted(w.workers())
        fn(w.port)
        tap.eq(sorted(w.workers()), workers,
               "no worker died (%s)" % " ".join(args))


def section_directives():
    def off(port):
        case("1.8 --deflate off", t_negotiate, port,
             ["permessage-deflate; client_max_window_bits"], None)
    with_daemon(["--deflate", "off"], off)

    def window11(port):
        case("1.9 --deflate_server_max_window_bits 11, plain offer",
             t_negotiate, port, ["permessage-deflate"],
             "permessage-deflate; server_max_window_bits=11")
        case("1.9 --deflate_server_max_window_bits 11, offer of 13",
             t_negotiate, port,
             ["permessage-deflate; server_max_window_bits=13"],
             "permessage-deflate; server_max_window_bits=11")
        case("1.9 --deflate_server_max_window_bits 11, offer of 10",
             t_negotiate, port,
             ["permessage-deflate; server_max_window_bits=10"],
             "permessage-deflate; server_max_window_bits=10")

        def kept(name):
            c = Conn(port, "permessage-deflate")
            msg = far_message(11)
            c.send(BINARY, msg)
            op, raw, rsvs, _ = W.read_message_frames(c.s)
            got, err = try_inflate(raw, 11)
            tap.ok(rsvs == [RSV1] and got == msg,
                   "%s: the echo inflates with an 11-bit window" % name,
                   "rsv %r, inflated %r, zlib error %r"
                   % (rsvs, got and got[:60], err))
            close_clean(c.s, name)
        case("2.6 --deflate_server_max_window_bits 11 kept", kept)
    with_daemon(["--deflate_server_max_window_bits", "11"], window11)

    def client_nct(port):
        case("2.7 --deflate_client_no_context_takeover on",
             t_client_no_takeover, port, "permessage-deflate",
             "permessage-deflate; client_no_context_takeover")
    with_daemon(["--deflate_client_no_context_takeover", "on"], client_nct)

    def server_nct(port):
        case("2.8 --deflate_server_no_context_takeover on",
             t_server_no_takeover, port, "permessage-deflate",
             "permessage-deflate; server_no_context_takeover")
    with_daemon(["--deflate_server_no_context_takeover", "on"], server_nct)

    def client_bits(port):
        case("2.9 --deflate_client_max_window_bits 10, client offers "
             "client_max_window_bits", t_client_window, port,
             "permessage-deflate; client_max_window_bits",
             "permessage-deflate; client_max_window_bits=10", 10, True)
        case("2.9 --deflate_client_max_window_bits 10: a client beyond it",
             t_client_window, port,
             "permessage-deflate; client_max_window_bits",
             "permessage-deflate; client_max_window_bits=10", 15, False)
        case("2.9 --deflate_client_max_window_bits 10, offer without "
             "client_max_window_bits: the client may use 15",
             t_client_window, port, "permessage-deflate",
             "permessage-deflate", 15, True)
    with_daemon(["--deflate_client_max_window_bits", "10"], client_bits)

    def min0(port):
        case("2.10 --deflate_min_bytes 0 --deflate_level 9 "
             "--deflate_mem_level 1", t_min_bytes, port, [0, 1, 63, 64, 5000],
             0)
        case("2.10 --deflate_min_bytes 0: empty messages in a row",
             t_empty_twice, port)
        case("2.10 --deflate_mem_level 1: incompressible", t_incompressible,
             port, 300000)
    with_daemon(["--deflate_min_bytes", "0", "--deflate_level", "9",
                 "--deflate_mem_level", "1"], min0)

    def level0(port):
        case("2.11 --deflate_level 0 --deflate_min_bytes 1000", t_min_bytes,
             port, [999, 1000, 100000], 1000)
        case("2.11 --deflate_level 0: incompressible", t_incompressible,
             port, 200000)
    with_daemon(["--deflate_level", "0", "--deflate_min_bytes", "1000"],
                level0)


# 3. Messages from a raw client -----------------------------------------------

def t_vector(name, port, frames, want):
    """RFC 7692 §7.2.3 example payloads (hex as printed in the RFC), each
    message to be echoed as `want` uncompressed (shorter than 64 bytes)."""
    c = Conn(port)
    for fr in frames:
        c.s.sendall(b"".join(
            frame(op, bytes.fromhex(hx), fin=fin, rsv=rsv)
            for op, hx, fin, rsv in fr))
        echo_ok(name, c, TEXT, want)
    close_clean(c.s, name)


def t_echo(name, port, op, data, fragments=1, compressed=True, chop=None,
           ping=False):
    c = Conn(port)
    payload = deflate(data, c.comp) if compressed else data
    frames = message_frames(op, payload, compressed, fragments)
    controls = []
    if ping:
        frames.insert(1, frame(PING, b"between"))
        controls = [(PONG, b"between")]
    W.send_chopped(c.s, b"".join(frames), chop)
    echo_ok("%s: echoed" % name, c, op, data, controls=controls)
    close_clean(c.s, name)


def t_fail(name, port, frames, code, offer="permessage-deflate",
           before=None, reason=None):
    c = Conn(port, offer)
    if before is not None:
        c.send(TEXT, before)
        echo_ok("%s: a message before" % name, c, TEXT, before)
    c.s.sendall(b"".join(frames))
    _, got = expect_fail(c.s, name, code)
    if reason is not None:
        tap.eq(got, reason, "%s: the reason" % name)


def t_fail_fast(name, port):
    """Invalid UTF-8 at the start of a compressed fragmented text message
    fails with 1007 before the message ends (§8.1 fail fast, on inflated
    bytes)."""
    c = Conn(port)
    m = b"\xc0\xaf" + text_pattern(20000)
    payload = deflate(m, c.comp)
    c.s.sendall(frame(TEXT, payload[:len(payload) // 2], fin=False,
                      rsv=RSV1))
    expect_fail(c.s, name, 1007)


def t_stale_context(name, port):
    """A message compressed in a context the server never saw (it
    references an earlier message sent elsewhere) does not inflate:
    1007."""
    comp = compressor()
    m = text_pattern(3000)
    deflate(m, comp)
    second = deflate(m, comp)
    c = Conn(port)
    c.s.sendall(frame(TEXT, second, rsv=RSV1))
    expect_fail(c.s, name, 1007)


def section_messages(port):
    hello = b"Hello"
    case("3.1 RFC 7692 §7.2.3.1 one compressed frame", t_vector, port,
         [[(TEXT, "f248cdc9c90700", True, RSV1)]], hello)
    case("3.1 RFC 7692 §7.2.3.1 two fragments", t_vector, port,
         [[(TEXT, "f248cd", False, RSV1), (CONT, "c9c90700", True, 0)]],
         hello)
    case("3.1 RFC 7692 §7.2.3.2 sharing the LZ77 window", t_vector, port,
         [[(TEXT, "f248cdc9c90700", True, RSV1)],
          [(TEXT, "f200110000", True, RSV1)]], hello)
    case("3.1 RFC 7692 §7.2.3.3 a stored block", t_vector, port,
         [[(TEXT, "000500faff48656c6c6f00", True, RSV1)]], hello)
    case("3.1 RFC 7692 §7.2.3.4 a block with BFINAL set", t_vector, port,
         [[(TEXT, "f348cdc9c9070000", True, RSV1)]], hello)
    case("3.1 RFC 7692 §7.2.3.5 two blocks in one message", t_vector, port,
         [[(TEXT, "f24805000000ffffcac9c90700", True, RSV1)]], hello)
    case("3.1 RFC 7692 §7.2.3.6 an empty message (payload 00)", t_vector,
         port, [[(TEXT, "00", True, RSV1)]], b"")
    uni = ("héllo wörld ✓ 😀 ".encode() * 200)
    case("3.2 compressed unicode text", t_echo, port, TEXT, uni)
    case("3.2 compressed random binary", t_echo, port, BINARY, rand(10000))
    case("3.2 compressed binary of 4 MiB", t_echo, port, BINARY,
         text_pattern(4 * MIB))
    case("3.2 compressed random binary of 1 MiB", t_echo, port, BINARY,
         rand(MIB))
    case("3.3 compressed text in 5 fragments, RSV1 on the first", t_echo,
         port, TEXT, uni, fragments=5)
    case("3.3 compressed binary in 3 fragments with a ping between", t_echo,
         port, BINARY, rand(3000) + text_pattern(3000), fragments=3,
         ping=True)
    case("3.3 compressed text sent byte by byte", t_echo, port, TEXT,
         uni.decode()[:300].encode(), chop=1)

    def empty_last(name):
        c = Conn(port)
        payload = deflate(uni, c.comp)
        c.s.sendall(frame(TEXT, payload, fin=False, rsv=RSV1) +
                    frame(CONT, b"", fin=True))
        echo_ok("%s: echoed" % name, c, TEXT, uni)
        close_clean(c.s, name)
    case("3.3 compressed text, then an empty final continuation",
         empty_last)
    case("3.4 uncompressed text on a deflate connection", t_echo, port,
         TEXT, uni, compressed=False)
    case("3.4 uncompressed binary in 3 fragments", t_echo, port, BINARY,
         rand(5000), fragments=3, compressed=False)
    case("3.5 echoes shorter than 64 bytes go uncompressed", t_min_bytes,
         port, [0, 1, 10, 63, 64, 65, 200], MIN_BYTES)

    def short_compressed(name):
        c = Conn(port)
        for n in (5, 63):
            m = text_pattern(n)
            c.send(TEXT, m)
            echo_ok("%s: compressed %d-byte message, echoed uncompressed"
                    % (name, n), c, TEXT, m)
        close_clean(c.s, name)
    case("3.5 short compressed input", short_compressed)

    data = deflate(text_pattern(500))
    half = len(data) // 2
    case("3.6 RSV1 on a continuation frame", t_fail, port,
         [frame(TEXT, data[:half], fin=False, rsv=RSV1),
          frame(CONT, data[half:], rsv=RSV1)], 1002)
    case("3.6 RSV1 on a continuation of an uncompressed message", t_fail,
         port, [frame(TEXT, b"abc", fin=False),
                frame(CONT, deflate(b"def"), rsv=RSV1)], 1002)
    case("3.6 RSV1 on a ping", t_fail, port,
         [frame(PING, b"ping", rsv=RSV1)], 1002)
    case("3.6 RSV1 on a ping between compressed fragments", t_fail, port,
         [frame(TEXT, data[:half], fin=False, rsv=RSV1),
          frame(PING, b"ping", rsv=RSV1)], 1002)
    case("3.6 RSV1 on a pong", t_fail, port,
         [frame(PONG, b"pong", rsv=RSV1)], 1002)
    case("3.6 RSV1 on a close", t_fail, port,
         [frame(CLOSE, W.close_payload(1000), rsv=RSV1)], 1002)
    # Not "without a negotiated extension": one was negotiated.
    case("3.6 RSV2 on a data frame of a deflate connection", t_fail, port,
         [frame(TEXT, b"abc", rsv=RSV2)], 1002,
         reason=b"RSV2 or RSV3 set: permessage-deflate defines RSV1 only")
    case("3.6 RSV3 on a data frame of a deflate connection", t_fail, port,
         [frame(TEXT, b"abc", rsv=RSV3)], 1002,
         reason=b"RSV2 or RSV3 set: permessage-deflate defines RSV1 only")
    case("3.6 RSV1 and RSV2 on a data frame", t_fail, port,
         [frame(TEXT, data, rsv=RSV1 | RSV2)], 1002)
    case("3.6 RSV1 without negotiation", t_fail, port,
         [frame(TEXT, data, rsv=RSV1)], 1002, offer=None)
    case("3.6 RSV1 after a declined offer", t_fail, port,
         [frame(TEXT, data, rsv=RSV1)], 1002,
         offer="permessage-deflate; server_max_window_bits=8")
    case("3.7 corrupt data (reserved block type)", t_fail, port,
         [frame(BINARY, b"\x07\xff\xff\xff", rsv=RSV1)], 1007)
    case("3.7 corrupt data after a good message", t_fail, port,
         [frame(BINARY, b"\xff" * 50, rsv=RSV1)], 1007,
         before=text_pattern(300))
    case("3.7 corrupt stored block lengths", t_fail, port,
         [frame(BINARY, bytes.fromhex("000500fbff48656c6c6f"), rsv=RSV1)],
         1007)
    case("3.7 a reference into a context the server never saw",
         t_stale_context, port)
    case("3.8 compressed invalid UTF-8 text", t_fail, port,
         [frame(TEXT, deflate(b"abc\xff\xfe" + b"x" * 100), rsv=RSV1)], 1007)
    case("3.8 compressed text ending inside a UTF-8 sequence", t_fail, port,
         [frame(TEXT, deflate(b"abc" * 30 + b"\xe2\x82"), rsv=RSV1)], 1007)
    case("3.8 compressed surrogate in fragments", t_fail, port,
         [frame(TEXT, deflate(b"abc" * 30 + b"\xed\xa0\x80"), rsv=RSV1,
                fin=False), frame(CONT, b"", fin=True)], 1007)
    case("3.8 invalid UTF-8 fails fast in a compressed fragment",
         t_fail_fast, port)


# 4. Decompression bombs ------------------------------------------------------

def zeros_bomb(n, comp=None):
    """n zero bytes compressed at level 9 (about n / 1030 bytes)."""
    c = comp if comp is not None else compressor(9)
    chunk = bytes(MIB)
    out = []
    left = n
    while left:
        k = min(left, MIB)
        out.append(c.compress(chunk[:k]))
        left -= k
    out.append(c.flush(zlib.Z_SYNC_FLUSH))
    data = b"".join(out)
    return data[:-4]


BOMB = [None]


def send_tolerant(s, data):
    """Sends data; the server may fail the connection (and stop reading)
    before it is all sent."""
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def t_bomb(name, port, frames, before=None):
    """frames(c) is the bomb for connection c; `before`, a message sent
    first, compressed in c's context (which the bomb may continue)."""
    c = Conn(port)
    if before is not None:
        c.send(BINARY, before)
        echo_ok("%s: a message before" % name, c, BINARY, before)
    t0 = time.monotonic()
    send_tolerant(c.s, b"".join(frames(c)))
    expect_fail(c.s, name, 1009, read_within=5)
    tap.diag("%s: failed after %.2f s" % (name, time.monotonic() - t0))


def section_bombs(w):
    port = w.port
    worker = sorted(w.workers())[0]
    W.warm_up(port)
    base_rss = W.proc_status_kib(worker, "VmRSS")
    base_hwm = W.proc_status_kib(worker, "VmHWM")
    tap.diag("worker %d before the bombs: VmRSS %s KiB, VmHWM %s KiB"
             % (worker, base_rss, base_hwm))
    bomb = BOMB[0]
    tap.diag("bomb: %d bytes inflating to 100 MiB" % len(bomb))

    def limit_exact(name):
        c = Conn(port)
        for n in (MIB, MIB - 1):
            m = bytes(n)
            c.s.sendall(frame(BINARY, zeros_bomb(n, c.comp), rsv=RSV1))
            echo_ok("%s: %d zero bytes compressed (= limit%s) echoed"
                    % (name, n, "" if n == MIB else " - 1"), c, BINARY, m)
        close_clean(c.s, name)
    case("4.1 a compressed message of exactly max_message_bytes",
         limit_exact)
    case("4.2 a compressed message of max_message_bytes + 1", t_bomb, port,
         lambda c: [frame(BINARY, zeros_bomb(MIB + 1, c.comp), rsv=RSV1)])

    def incompressible_limit(name):
        """1 MiB of random bytes is within the limit, although the
        client's compressor makes it a little larger on the wire."""
        c = Conn(port)
        m = rand(MIB)
        payload = deflate(m, c.comp)
        c.s.sendall(frame(BINARY, payload, rsv=RSV1))
        try:
            echo_ok("%s: %d random bytes, %d compressed, echoed"
                    % (name, len(m), len(payload)), c, BINARY, m)
        except ValueError as e:
            tap.ok(False, "%s: %d random bytes, %d compressed, echoed"
                   % (name, len(m), len(payload)), str(e))
        c.close()
    case("4.3 an incompressible message of max_message_bytes, compressed",
         incompressible_limit)
    case("4.4 one frame of %d bytes inflating to 100 MiB" % len(bomb),
         t_bomb, port, lambda c: [frame(BINARY, bomb, rsv=RSV1)])
    case("4.4 the same as text", t_bomb, port,
         lambda c: [frame(TEXT, bomb, rsv=RSV1)])
    case("4.5 the bomb in 1 KiB fragments", t_bomb, port,
         lambda c: message_frames(BINARY, bomb, True,
                                  fragments=len(bomb) // KIB))
    small = zeros_bomb(2 * MIB)
    case("4.6 2 MiB of zeros in 1-byte fragments", t_bomb, port,
         lambda c: message_frames(BINARY, small, True, fragments=len(small)))
    case("4.7 the bomb as the second message, with context takeover",
         t_bomb, port,
         lambda c: [frame(BINARY, zeros_bomb(100 * MIB, c.comp),
                          rsv=RSV1)],
         before=bytes(100 * KIB))
    rss = W.proc_status_kib(worker, "VmRSS")
    hwm = W.proc_status_kib(worker, "VmHWM")
    tap.diag("worker %d after the bombs: VmRSS %s KiB, VmHWM %s KiB"
             % (worker, rss, hwm))
    tap.ok(hwm is not None and hwm - base_rss < 16 * KIB,
           "4.8 the worker's peak RSS grew by less than 16 MiB (%s KiB)"
           % (None if hwm is None else hwm - base_rss),
           "VmRSS before %s KiB, VmHWM after %s KiB" % (base_rss, hwm))
    tap.ok(rss is not None and rss - base_rss < 16 * KIB,
           "4.8 the worker's RSS after the bombs is within 16 MiB of before",
           "VmRSS before %s KiB, after %s KiB" % (base_rss, rss))
    case("4.9 afterwards a fresh connection echoes", t_echo, port, TEXT,
         text_pattern(1000))


# 5. Interoperability ---------------------------------------------------------

def interop_messages():
    """(kind, payload) pairs; kind text or binary; payload bytes."""
    uni = "héllo wörld ✓ 😀 "
    msgs = []
    for n in (0, 10, 100):
        msgs.append(("text", text_pattern(n)))
        msgs.append(("binary", rand(n)))
    msgs.append(("text", text_pattern(64 * KIB)))
    msgs.append(("binary", rand(64 * KIB)))
    msgs.append(("text", text_pattern(MIB)))
    msgs.append(("binary", bytes(range(256)) * (MIB // 256)))
    msgs.append(("text", "€😀".encode()))
    msgs.append(("text", (uni * 4000).encode()))
    return msgs


def check_relay(name, tap_, msgs, client_rsv1):
    """The relay saw one data frame per message each way: the client's
    with RSV1 as client_rsv1(len) says, the daemon's with RSV1 exactly for
    messages of 64 bytes or more."""
    def data_frames(d):
        return [f for f in tap_.frames[d] if f[2] in (TEXT, BINARY, CONT)]
    c2s, s2c = data_frames("c2s"), data_frames("s2c")
    want_c = [client_rsv1(len(p)) for _, p in msgs]
    want_s = [len(p) >= MIN_BYTES for _, p in msgs]
    got_c = [f[1] == RSV1 for f in c2s]
    got_s = [f[1] == RSV1 for f in s2c]
    tap.ok(tap_.error is None and len(c2s) == len(msgs) and
           all(f[0] for f in c2s) and got_c == want_c,
           "%s: the client's frames were compressed as expected" % name,
           "relay error %r; rsv1 got %r want %r; frames %r"
           % (tap_.error, got_c, want_c, c2s[:20]))
    tap.ok(len(s2c) == len(msgs) and all(f[0] for f in s2c) and
           got_s == want_s,
           "%s: the daemon compressed exactly the echoes of 64 bytes or "
           "more" % name,
           "rsv1 got %r want %r; frames %r" % (got_s, want_s, s2c[:20]))


def t_websockets(name, port, factory, want_ext):
    msgs = interop_messages()

    async def run(relay_port):
        # websockets offers permessage-deflate by default.
        opts = ({"extensions": [factory]} if factory is not None
                else {"compression": "deflate"})
        async with W.ws_client("ws://127.0.0.1:%d/ws" % relay_port,
                               **opts) as ws:
            got_ext = ws.response_headers.get_all("Sec-WebSocket-Extensions")
            tap.ok(got_ext == [want_ext] and len(ws.extensions) == 1 and
                   ws.extensions[0].name == "permessage-deflate",
                   "%s: negotiated %s" % (name, want_ext),
                   "response %r, extensions %r" % (got_ext, ws.extensions))
            bad = []
            for kind, p in msgs:
                m = p.decode() if kind == "text" else p
                got = await W.ws_echo(ws, m)
                if type(got) is not type(m) or got != m:
                    bad.append("%s of %d bytes: got %s of %d" % (
                        kind, len(p), type(got).__name__, len(got)))
            tap.ok(not bad, "%s: %d messages (0 B to 1 MiB, text and "
                   "binary, unicode) echoed exactly" % (name, len(msgs)),
                   "\n".join(bad))
            await ws.close()
            tap.eq(ws.close_code, 1000, "%s: closed with 1000" % name)

    with W.FrameTap(port) as relay:
        asyncio.run(asyncio.wait_for(run(relay.port), W.timeout(30)))
    check_relay(name, relay, msgs, lambda n: True)


def t_node(name, port, pmd, want_ext, client_rsv1):
    msgs = interop_messages()
    spec = []
    for kind, p in msgs:
        if kind == "text":
            spec.append({"type": "text", "data": p.decode()})
        else:
            spec.append({"type": "binary",
                         "b64": base64.b64encode(p).decode()})
    node = os.environ.get("NODE") or "node"
    env = dict(os.environ)
    if not env.get("NODE_PATH"):
        env["NODE_PATH"] = "/usr/share/nodejs"
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "ws_client.js")
    with W.FrameTap(port) as relay:
        inp = {"url": "ws://127.0.0.1:%d/ws" % relay.port,
               "perMessageDeflate": pmd,
               "timeout_ms": int(W.timeout(25) * 1000), "messages": spec}
        proc = subprocess.Popen([node, script], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        try:
            out, err = proc.communicate(json.dumps(inp).encode(),
                                        timeout=W.timeout(30))
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    try:
        res = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        res = {}
    tap.ok(res.get("extensions") == want_ext,
           "%s: negotiated %s" % (name, want_ext),
           "node status %r, result %r, stderr %r"
           % (proc.returncode, res.get("extensions"), err[-2000:]))
    bad = [r for r in res.get("results", []) if not r.get("ok")]
    tap.ok(proc.returncode == 0 and res.get("ok") is True and
           len(res.get("results", [])) == len(msgs) and not bad,
           "%s: %d messages echoed exactly, closed with 1000"
           % (name, len(msgs)),
           "status %r, error %r, close %r, bad %r, stderr %r"
           % (proc.returncode, res.get("error"), res.get("close_code"),
              bad[:5], err[-2000:]))
    tap.diag("%s: ws accepted %r" % (name, res.get("params")))
    check_relay(name, relay, msgs, client_rsv1)


def section_interop(port):
    case("5.1 python websockets, default compression", t_websockets, port,
         None, "permessage-deflate; client_max_window_bits=15")
    case("5.2 python websockets, every parameter", t_websockets, port,
         ClientPerMessageDeflateFactory(
             server_no_context_takeover=True,
             client_no_context_takeover=True, server_max_window_bits=10,
             client_max_window_bits=9),
         "permessage-deflate; server_no_context_takeover; "
         "client_no_context_takeover; server_max_window_bits=10; "
         "client_max_window_bits=9")
    # With context takeover, ws compresses every message.
    case("5.3 node ws, perMessageDeflate: true", t_node, port, True,
         "permessage-deflate; client_max_window_bits=15",
         lambda n: True)
    # Without its own context takeover, ws leaves messages shorter than
    # its threshold (1024 bytes by default) uncompressed: a mix of both.
    case("5.4 node ws, no context takeover both ways, server window 10",
         t_node, port,
         {"serverNoContextTakeover": True, "clientNoContextTakeover": True,
          "serverMaxWindowBits": 10},
         "permessage-deflate; server_no_context_takeover; "
         "client_no_context_takeover; server_max_window_bits=10; "
         "client_max_window_bits=15",
         lambda n: n >= 1024)


# 6. Memory per connection ---------------------------------------------------

def t_conn_memory(name, worker, port, offer, send, check, n_conns=200,
                  size=1000, fragments=1):
    """Opens n_conns connections to the one worker, deflate ones unless
    offer is None, each echoing one message of about `size` bytes in
    `fragments` frames first when `send` (compressed on deflate ones),
    and keeps them open: the growth of the worker's private memory (its
    heap, where zlib streams and message buffers live; not the shared
    segment, where each connection's record is a cost fixed by
    stats_cases) must pass check(kib)."""
    W.warm_up(port)
    before = W.private_kib(worker)
    conns = []
    compressed = offer is not None
    try:
        for i in range(n_conns):
            c = Conn(port, offer)
            conns.append(c)
            if compressed and c.ext is None:
                raise AssertionError("deflate declined: %r" % c.headers)
            if send:
                m = text_pattern(size) + b"%d" % i
                c.send(TEXT, m, compressed=compressed, fragments=fragments)
                e = c.recv()
                if e.data != m or e.compressed != compressed:
                    raise AssertionError("echo %d wrong" % i)
        # Every connection is open and idle on the worker now.
        W.send_close(conns[-1].s, 1000)
        W.read_close_within(conns[-1].s, 3)
        after = W.private_kib(worker)
    finally:
        for c in conns:
            c.close()
    grew = after - before
    tap.ok(check(grew), "%s: the worker's private memory grew by %d KiB"
           % (name, grew),
           "RssAnon %d KiB before, %d KiB after" % (before, after))


def section_memory(w):
    worker = sorted(w.workers())[0]
    port = w.port
    case("6.1 200 idle deflate connections hold no zlib streams (private "
         "memory growth < 4 MiB)", t_conn_memory, worker, port,
         "permessage-deflate", False, lambda kib: kib < 4 * KIB)
    case("6.2 200 connections without context takeover either way, after "
         "one compressed echo each, hold no zlib streams (< 4 MiB)",
         t_conn_memory, worker, port,
         "permessage-deflate; server_no_context_takeover; "
         "client_no_context_takeover", True, lambda kib: kib < 4 * KIB)
    case("6.3 control: 200 connections with context takeover keep their "
         "streams (> 10 MiB)", t_conn_memory, worker, port,
         "permessage-deflate", True, lambda kib: kib > 10 * KIB)
    # A message that came in several reads is gathered in a buffer of
    # its size; once echoed, a connection that falls silent must not go
    # on holding it (100 x 256 KiB = 25 MiB if it did).
    case("6.4 100 connections, silent after echoing one 256 KiB message "
         "in 2 frames, hold no message buffer (< 8 MiB)", t_conn_memory,
         worker, port, None, True, lambda kib: kib < 8 * KIB, 100,
         256 * KIB, 2)
    case("6.5 100 connections without context takeover either way, silent "
         "after one compressed 256 KiB echo, hold no inflated message "
         "(< 8 MiB)", t_conn_memory, worker, port,
         "permessage-deflate; server_no_context_takeover; "
         "client_no_context_takeover", True, lambda kib: kib < 8 * KIB, 100,
         256 * KIB)


@contextlib.contextmanager
def rss_daemon(args=()):
    """A daemon (as `with W.Wsd(...)`) whose RSS means something: in
    sanitizer builds, without AddressSanitizer's quarantine, which keeps
    freed memory resident and unused on purpose; a plain build ignores
    ASAN_OPTIONS."""
    w = W.Wsd(tap, list(args))
    w.env = W.env_with_asan_options("quarantine_size_mb=0")
    w.start()
    try:
        yield w
    finally:
        w.stop()


def main():
    tap.diag("random seed %d (set WSD_TEST_SEED to repeat)" % SEED)
    BOMB[0] = zeros_bomb(100 * MIB)
    with W.Wsd(tap) as w:
        workers = sorted(w.workers())
        W.warm_up(w.port)
        section_negotiation(w.port)
        section_parameters(w.port)
        section_messages(w.port)
        section_interop(w.port)
        tap.eq(sorted(w.workers()), workers,
               "no worker died during the deflate cases")
    section_directives()
    # No pings: a pong would free what a silent connection holds.
    with rss_daemon(["--ping_interval_ms", "0"]) as w:
        workers = sorted(w.workers())
        section_memory(w)
        tap.eq(sorted(w.workers()), workers,
               "no worker died during the memory cases")
    with rss_daemon(["--max_message_bytes", "1m"]) as w:
        workers = sorted(w.workers())
        section_bombs(w)
        tap.eq(sorted(w.workers()), workers,
               "no worker died during the bombs")
    tap.done()


if __name__ == "__main__":
    main()
