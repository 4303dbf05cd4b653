# SPDX-License-Identifier: MIT
"""Echo through the real wsd with a real third-party client (python3
websockets, asyncio API): message types, sizes up to the 16 MiB default
limit, fragmentation, ping/pong, the close handshake, concurrency and the
max_message_bytes limit (close code 1009).

Every check compares the echoed content byte for byte, and its type (str for
text, bytes for binary).
"""
import asyncio
import functools
import os
import random
import time

import websockets.exceptions

import wsdtest
from wsdtest import timeout

tap = wsdtest.Tap()
MIB = 1 << 20
DEFAULT_MAX_MESSAGE = 16 * MIB


def client(port, path="/ws", **kw):
    return wsdtest.ws_client("ws://127.0.0.1:%d%s" % (port, path), **kw)


# The shared helpers, by their short names here.
recv = wsdtest.ws_recv
echo = wsdtest.ws_echo
same = tap.same
run = functools.partial(wsdtest.run_async, tap)


async def expect_refused(ws, msg, what, limit, seconds=10):
    """Sends msg, which the server must refuse with close code 1009 and a
    reason naming max_message_bytes and its value, limit. The server may
    close while the client is still sending fragments; then websockets
    raises InvalidState or ConnectionClosed from send()."""
    try:
        await ws.send(msg)
        got = await recv(ws, seconds)
        tap.ok(False, "%s gets close code 1009" % what,
               "echoed %s" % wsdtest.describe(got))
        return
    except (websockets.exceptions.ConnectionClosed,
            websockets.exceptions.InvalidState):
        pass
    try:
        await asyncio.wait_for(ws.wait_closed(), timeout(5))
    except asyncio.TimeoutError:
        pass
    tap.eq(ws.close_code, 1009, "%s gets close code 1009" % what)
    tap.eq(ws.close_reason, "message over max_message_bytes %d" % limit,
           "%s: the reason names the limit" % what)


def utf8_text(nbytes, rng):
    """A str whose UTF-8 encoding is exactly nbytes long, mixing 1- to
    4-byte characters (so characters straddle any read boundary)."""
    pools = [None, "azAZ09 ~", "éßñ\u07ff\u0080", "€☃日本語\uffff\u0800",
             "😀𝄞\U0010ffff\U00010000"]
    out = []
    left = nbytes
    while left > 0:
        w = rng.randint(1, min(4, left))
        out.append(rng.choice(pools[w]))
        left -= w
    s = "".join(out)
    assert len(s.encode()) == nbytes
    return s


# Tests against a default-limit daemon -----------------------------------------

async def t_basic(port):
    async with client(port) as ws:
        same(await echo(ws, "hello"), "hello", "text message echoed as text")
        same(await echo(ws, b"\x00\x01\x80\xff"), b"\x00\x01\x80\xff",
             "binary message echoed as binary")
        same(await echo(ws, ""), "", "empty text echoed as empty text")
        same(await echo(ws, b""), b"", "empty binary echoed as empty binary")
        u = "héllo wörld — ☃ 日本語 😀𝄞 \U0010ffff\U00010000 \u0080\u07ff\uffff"
        same(await echo(ws, u), u, "multi-byte and 4-byte UTF-8 text echoed")
        u = "😀" * 40000
        same(await echo(ws, u), u, "160000 bytes of 4-byte characters echoed")
        # a binary message that is not UTF-8 must not be treated as text
        b = b"\xff\xfe\xc0\xaf\xed\xa0\x80"
        same(await echo(ws, b), b, "invalid UTF-8 in a binary message echoed")


async def t_sizes(port):
    rng = random.Random(6455)
    sizes = [0, 1, 125, 126, 127, 65535, 65536, MIB]
    async with client(port) as ws:
        for n in sizes:
            b = os.urandom(n)
            same(await echo(ws, b), b, "binary of %d bytes echoed" % n)
            t = utf8_text(n, rng)
            same(await echo(ws, t), t, "text of %d UTF-8 bytes echoed" % n)


async def t_16mib(port):
    async with client(port) as ws:
        b = os.urandom(DEFAULT_MAX_MESSAGE)
        t0 = time.monotonic()
        same(await echo(ws, b, 30), b,
             "binary of exactly 16 MiB (default limit) echoed")
        tap.diag("16 MiB binary round trip: %.2f s" % (time.monotonic() - t0))
        t = ("0123456789abcdef" * (DEFAULT_MAX_MESSAGE // 16))[:-4] + "😀"
        same(await echo(ws, t, 30), t,
             "text of exactly 16 MiB (default limit) echoed")


async def t_over_default(port):
    # 16 MiB + 1 in two fragments: no single frame is over the frame limit,
    # the message is over the default message limit.
    async with client(port) as ws:
        half = DEFAULT_MAX_MESSAGE // 2
        await expect_refused(ws, [os.urandom(half), os.urandom(half + 1)],
                             "16 MiB + 1 message (default limit)",
                             DEFAULT_MAX_MESSAGE, 30)


async def t_fragments(port):
    async with client(port) as ws:
        same(await echo(ws, ["frag", "ment", "ed ☃"]), "fragmented ☃",
             "text in 3 fragments (sync iterable) echoed as one text message")
        same(await echo(ws, [b"\x00", b"", b"\x01\x02", b"\xff"]),
             b"\x00\x01\x02\xff",
             "binary in 4 fragments, one empty, echoed as one binary message")

        async def agen():
            for i in range(5):
                await asyncio.sleep(0.01)
                yield "part%d;" % i
        same(await echo(ws, agen()), "part0;part1;part2;part3;part4;",
             "text from an async iterable of fragments echoed as one message")

        parts = [os.urandom(10) for _ in range(1000)]
        same(await echo(ws, parts), b"".join(parts),
             "binary in 1000 fragments echoed as one message")
        parts = [os.urandom(70000), os.urandom(200), os.urandom(MIB)]
        same(await echo(ws, parts), b"".join(parts),
             "binary in large fragments (64-bit lengths) echoed")
        # the echo is still in sync after fragmented messages
        same(await echo(ws, "after"), "after",
             "plain message after fragmented ones echoed")


def t_fragments_raw(tap_, port):
    """Fragmentation the websockets client cannot produce: a UTF-8
    character split across fragments, and a ping between fragments."""
    s = wsdtest.open_ws(port)
    try:
        s.sendall(wsdtest.frame(1, b"smile \xf0\x9f", fin=False) +
                  wsdtest.frame(0, b"\x98", fin=False) +
                  wsdtest.frame(0, b"\x80!", fin=True))
        op, payload, ctl = wsdtest.read_message(s)
        tap_.eq((op, payload, ctl), (1, "smile 😀!".encode(), []),
                "4-byte character split over 3 fragments echoed as text")
        s.sendall(wsdtest.frame(2, b"abc", fin=False) +
                  wsdtest.frame(9, b"in-between") +
                  wsdtest.frame(0, b"def", fin=True))
        op, payload, ctl = wsdtest.read_message(s)
        tap_.eq((op, payload), (2, b"abcdef"),
                "binary message with a ping between fragments echoed")
        tap_.eq(ctl, [(10, b"in-between")],
                "the ping between fragments answered with its pong first")
        s.sendall(wsdtest.frame(9, b"raw-ping"))
        fin, rsv, op, payload = wsdtest.read_frame(s)
        tap_.eq((fin, rsv, op, payload), (True, 0, 10, b"raw-ping"),
                "raw ping answered with one final pong, same payload")
        s.sendall(wsdtest.frame(10, b"unsolicited") +
                  wsdtest.frame(1, b"still here"))
        op, payload, ctl = wsdtest.read_message(s)
        tap_.eq((op, payload, ctl), (1, b"still here", []),
                "unsolicited pong ignored, next message echoed")
        s.sendall(wsdtest.frame(8, wsdtest.close_payload(1000, b"bye")))
        code, reason, before = wsdtest.read_close(s)
        tap_.eq((code, before), (1000, []), "raw close 1000 echoed")
        t0 = time.monotonic()
        tap_.ok(wsdtest.expect_eof(s, 1), "server closes TCP promptly "
                "after the close handshake",
                "no EOF after %.2f s" % (time.monotonic() - t0))
    finally:
        s.close()


async def t_many_in_order(port):
    n = 1000
    msgs = []
    for i in range(n):
        msgs.append("message %d ☃" % i if i % 2 == 0
                    else ("message %d" % i).encode())
    async with client(port) as ws:
        async def sender():
            for m in msgs:
                await ws.send(m)
        task = asyncio.ensure_future(sender())
        got = []
        try:
            for _ in range(n):
                got.append(await recv(ws))
        finally:
            await asyncio.wait_for(task, timeout(10))
        bad = [i for i in range(n) if i >= len(got) or
               type(got[i]) is not type(msgs[i]) or got[i] != msgs[i]]
        tap.ok(not bad, "1000 small messages echoed in order, types kept",
               "first mismatch at %r: got %r want %r"
               % (bad[:1], got[bad[0]] if bad and bad[0] < len(got) else None,
                  msgs[bad[0]] if bad else None))


async def t_ping(port):
    async with client(port) as ws:
        # websockets resolves the waiter only on a pong with the same payload
        for data in (b"ping-payload", b"", bytes(range(125)), "☃ text"):
            waiter = await ws.ping(data)
            try:
                await asyncio.wait_for(waiter, timeout(5))
                ok = True
            except asyncio.TimeoutError:
                ok = False
            tap.ok(ok, "ping %s answered by a pong with the same payload"
                   % wsdtest.describe(data))
        await ws.pong(b"unsolicited")
        same(await echo(ws, "after pings"), "after pings",
             "echo still works after pings and an unsolicited pong")


async def t_close(port):
    for code, reason in ((1000, ""), (1000, "bye ☃"), (4001, "app code")):
        async with client(port) as ws:
            same(await echo(ws, "x"), "x", "echo before close %d" % code)
            t0 = time.monotonic()
            await ws.close(code, reason)
            took = time.monotonic() - t0
            tap.eq(ws.close_code, code,
                   "client close %d %r answered with the same code"
                   % (code, reason))
            # websockets waits for the server to close TCP after the
            # handshake (close_timeout 5 s): a slow close means it did not.
            tap.ok(took < timeout(1), "close handshake and TCP close done "
                   "within 1 s after close %d" % code, "took %.2f s" % took)


async def t_concurrent(port):
    nclients = 50

    async def one(i):
        async with client(port) as ws:
            for j in range(20):
                m = ("client %d message %d" % (i, j)) if j % 2 else \
                    os.urandom(i * 37 + j)
                got = await echo(ws, m)
                if type(got) is not type(m) or got != m:
                    return "client %d message %d: got %s" % (i, j,
                                                            wsdtest.describe(got))
            await ws.close(1000)
            if ws.close_code != 1000:
                return "client %d close code %r" % (i, ws.close_code)
        return None

    res = await asyncio.gather(*(one(i) for i in range(nclients)),
                               return_exceptions=True)
    bad = [r for r in res if r is not None]
    tap.ok(not bad, "50 concurrent clients each get their 20 echoes and a "
           "clean close", "\n".join(str(b) for b in bad[:10]))


async def t_bad_path(port):
    try:
        async with client(port, path="/not-ws"):
            pass
        tap.ok(False, "handshake on another path is refused with 404",
               "handshake succeeded")
    except websockets.exceptions.InvalidStatusCode as e:
        tap.eq(e.status_code, 404, "handshake on another path is refused "
               "with 404")


# Tests against a daemon with --max_message_bytes 1024 ---------------------------

async def t_small_limit(port):
    async with client(port) as ws:
        b = os.urandom(1024)
        same(await echo(ws, b), b, "1024-byte message echoed at a 1024 limit")
        t = "é" * 512
        same(await echo(ws, t), t, "1024-byte text echoed at a 1024 limit")
        same(await echo(ws, [b[:600], b[600:]]), b,
             "1024 bytes in 2 fragments echoed at a 1024 limit")

    cases = (("binary of 1025 bytes", os.urandom(1025)),
             ("text of 2000 bytes", "x" * 2000),
             ("2 fragments of 600 bytes", [b"a" * 600, b"b" * 600]),
             ("binary of 1 MiB", os.urandom(MIB)))
    for what, msg in cases:
        async with client(port) as ws:
            await expect_refused(ws, msg, "%s over a 1024 limit" % what, 1024)
    async with client(port) as ws:
        same(await echo(ws, "still serving"), "still serving",
             "daemon still echoes after refusing big messages")


def main():
    with wsdtest.Wsd(tap) as w:
        run("basic", t_basic, w.port)
        run("sizes", t_sizes, w.port)
        run("16 MiB", t_16mib, w.port)
        run("over the default limit", t_over_default, w.port)
        run("fragments", t_fragments, w.port)
        wsdtest.guard(tap, "raw fragments", t_fragments_raw, tap, w.port)
        run("many in order", t_many_in_order, w.port)
        run("ping", t_ping, w.port)
        run("close", t_close, w.port)
        run("concurrent", t_concurrent, w.port)
        run("bad path", t_bad_path, w.port)
    with wsdtest.Wsd(tap, ["--max_message_bytes", "1024"]) as w:
        run("small limit", t_small_limit, w.port)
    tap.done()


if __name__ == "__main__":
    main()
