# SPDX-License-Identifier: MIT
"""What a case record keeps of the wire, checked against what a raw
client sent and received: the opening handshake both ways, byte for
byte; the Sec-WebSocket-Key that finds the record (GET /v1/cases?key=);
the wire log, frame by frame and read by read, ending with the close
steps; a log over its bound (its first entries, a gap, its last ones); a
request over its room (cut and flagged); no log at all (case_wirelog 0);
a case of 1000 compressed messages whose writes take some 80 sizes,
all counted exactly; and every frame that arrives counted, those wsd
discards marked (after the peer's close, Autobahn 7.1.x; a refused
close frame, 7.3.6), a frame the peer abandoned said to be incomplete
(6.4.3).

Only loopback and kernel-chosen ports.
"""
import asyncio
import json
import random
import urllib.parse

import wsdtest

tap = wsdtest.Tap()


def by_key(port, key):
    """The cases /v1/cases?key= lists for key."""
    q = "?key=" + urllib.parse.quote(key, safe="")
    return wsdtest.admin_cases(port, q)["cases"]


def closed_by_key(port, key, label):
    """The closed record of the connection that sent key."""
    found = []

    def seen():
        found[:] = by_key(port, key)
        return len(found) == 1 and found[0]["state"] == "closed"
    tap.ok(wsdtest.wait_until(seen, 5),
           "%s: /v1/cases?key= finds the closed case, and it alone" % label,
           found)
    return found[0] if len(found) == 1 else None


def frames_in(log, kind):
    """The (opcode, fin, rsv, length) of the log's rows of kind."""
    return [(r[2], r[3], r[4], r[1][0]) for r in log if r[0] == kind]


def t_handshake_and_log(port, ws_port):
    key = wsdtest.new_key()
    req = wsdtest.handshake_request(
        path="/ws?case=7&agent=raw", key=key,
        extra=("User-Agent: test <b>&\"\xe9", "X-Odd:  spaces "))
    s = wsdtest.connect(ws_port)
    sent = []        # (opcode, fin, rsv, length, mask) of our frames
    got = []         # (opcode, fin, rsv, length) of the server's
    received = b""
    try:
        s.sendall(req)
        head = wsdtest.read_http_head_raw(s)
        received += head
        mkey = b"\x01\x02\x03\x04"
        for opcode, payload, fin in ((1, b"Hello World!", True),
                                     (2, bytes(range(255, 55, -1)), True),
                                     (9, b"ping!", True),
                                     (1, b"frag", False),
                                     (0, b"mented", True)):
            s.sendall(wsdtest.frame(opcode, payload, fin=fin, key=mkey))
            sent.append((opcode, fin, 0, len(payload), "01020304"))
        for _ in range(3):  # two echoes and the pong
            fin, rsv, opcode, payload = wsdtest.read_frame(s)
            got.append((opcode, fin, rsv, len(payload)))
        fin, rsv, opcode, payload = wsdtest.read_frame(s)
        got.append((opcode, fin, rsv, len(payload)))
        tap.eq(payload, b"fragmented", "log: the fragmented echo")
        s.sendall(wsdtest.frame(8, wsdtest.close_payload(1000), key=mkey))
        sent.append((8, True, 0, 2, "01020304"))
        code, _, _ = wsdtest.read_close(s)
        got.append((8, True, 0, 2))
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()
    rec = closed_by_key(port, key, "handshake")
    if rec is None:
        return
    tap.eq(rec["key"], key, "handshake: the record keeps the key")
    tap.eq(rec["httpRequest"].encode("utf-8", "surrogateescape"),
           req.replace(b"\xe9", "\ufffd".encode()),
           "handshake: httpRequest is the request as sent, byte for byte "
           "(a byte that is no UTF-8 as U+FFFD)")
    tap.ok(not rec["httpRequestTruncated"], "handshake: not truncated")
    tap.eq(rec["httpResponse"].encode(), head,
           "handshake: httpResponse is the head received, byte for byte")
    log = rec["wirelog"]
    tap.eq([(o, f, r, n, m) for (_, (n, _), o, f, r, _, m) in
            (row for row in log if row[0] == "RF")], sent,
           "log: an RF row per frame sent, in order: opcode, FIN, RSV, "
           "length, mask")
    tap.eq(frames_in(log, "TF"), got,
           "log: a TF row per frame received, in order")
    rf = [r for r in log if r[0] == "RF"]
    tap.eq(rf[0][1], [12, "Hello World!"], "log: a text frame's payload "
           "as text, unmasked")
    tap.eq(rf[1][1][1][:2], "0x", "log: a binary frame's payload in hex")
    tap.ok(rf[1][1][1].endswith(" ..."), "log: cut, and said so")
    ro = sum(r[1][0] for r in log if r[0] == "RO")
    to = sum(r[1][0] for r in log if r[0] == "TO")
    tap.eq(ro, wsdtest.octets_sum(rec["rxOctetStats"]),
           "log: the reads add up to rxOctetStats")
    tap.eq(to, len(received) + sum(n + (2 if n < 126 else 4)
                                   for (_, _, _, n) in got),
           "log: the writes add up to the bytes received")
    tap.eq(log[0][0], "RO", "log: opens with the request read")
    tap.eq([r[0] for r in log[-3:]], ["TO", "SHUT", "DROP"],
           "log: ends with our close written, our FIN, the drop")
    tap.eq(log[-1], ["DROP", "me"], "log: wsd dropped TCP")
    tap.eq(rec["wirelogEntries"], len(log), "log: every entry kept")


def rf_rows(log):
    return [r for r in log if r[0] == "RF"]


def rf_marks(row):
    """The marks wsd adds to an RF row (a list after Autobahn's 7
    elements), [] when none."""
    return row[7] if len(row) > 7 else []


def raw_ws(ws_port):
    """A raw socket past its handshake, and the key it sent."""
    key = wsdtest.new_key()
    s = wsdtest.connect(ws_port)
    s.sendall(wsdtest.handshake_request(key=key))
    wsdtest.read_http_head_raw(s)
    return s, key


def t_after_close(port, ws_port):
    """Autobahn 7.1.2-7.1.6: the peer sends more frames after its close.
    wsd reads them, counts them by opcode and logs them marked discarded:
    in the read that carries the close, and after wsd has answered it and
    shut its side (while it reads until the peer's end of stream)."""
    after = b"".join([wsdtest.frame(1, b"after"), wsdtest.frame(9, b"p"),
                      wsdtest.frame(1, b"frag", fin=False),
                      wsdtest.frame(0, b"ment")])
    close = wsdtest.frame(8, wsdtest.close_payload(1000))
    for label in ("with the close", "lingering"):
        s, key = raw_ws(ws_port)
        try:
            tap.ok(wsdtest.echo_raw(s, b"Hello"), "%s: an echo" % label)
            if label == "with the close":
                s.sendall(close + after)
                code, _, _ = wsdtest.read_close(s)
            else:
                s.sendall(close)
                code, _, _ = wsdtest.read_close(s)
                s.sendall(after)
            tap.eq(code, 1000, "%s: our close answered" % label)
            wsdtest.drain_until_eof(s, 3)
        finally:
            s.close()
        rec = closed_by_key(port, key, label)
        if rec is None:
            continue
        tap.eq(rec["rxFrameStats"], {"2": 1, "8": 1, "1": 2, "9": 1, "0": 1},
               "%s: every frame counted by opcode, those after the close "
               "too" % label)
        rf = rf_rows(rec["wirelog"])
        tap.eq([(r[2], rf_marks(r)) for r in rf],
               [(2, []), (8, []), (1, ["discarded"]), (9, ["discarded"]),
                (1, ["discarded"]), (0, ["discarded"])],
               "%s: in the log, those after the close marked discarded"
               % label)
        tap.eq([r[1][0] for r in rf], [5, 2, 5, 1, 4, 4],
               "%s: with their lengths" % label)
        tap.eq((rec["rxMessages"], rec["txMessages"], rec["wasClean"],
                rec.get("rxFrameIncomplete")), (1, 1, True, False),
               "%s: nothing after the close was processed; clean, no frame "
               "cut" % label)


def t_close_126(port, ws_port):
    """Autobahn 7.3.6: a close frame with 126 bytes of payload (§5.5: at
    most 125). wsd fails with 1002, and the frame, which it can still
    delimit, is counted and logged as discarded."""
    s, key = raw_ws(ws_port)
    try:
        s.sendall(wsdtest.frame(8, wsdtest.close_payload(1000, b"*" * 124)))
        code, _, _ = wsdtest.read_close(s)
        tap.eq(code, 1002, "close of 126 bytes: 1002")
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()
    rec = closed_by_key(port, key, "close of 126 bytes")
    if rec is None:
        return
    tap.eq(rec["rxFrameStats"], {"8": 1}, "close of 126 bytes: counted")
    tap.eq([(r[1][0], r[2], rf_marks(r)) for r in rf_rows(rec["wirelog"])],
           [(126, 8, ["discarded"])],
           "close of 126 bytes: logged, marked discarded")
    tap.eq(rec.get("rxFrameIncomplete"), False,
           "close of 126 bytes: whole, not incomplete")


def t_abandoned(port, ws_port):
    """Autobahn 6.4.3: a text frame of 21 bytes with invalid UTF-8 in its
    13th; wsd fails with 1007 at that byte, the peer abandons the frame and
    closes TCP. The frame cannot be delimited: the record says so, and its
    RF row is marked. A header cut short says so too, marking no row."""
    payload = (b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90"
               + b"ab\xce\xba\xe1\xbd\xb9\xcf")
    s, key = raw_ws(ws_port)
    try:
        s.sendall(wsdtest.frame(1, payload)[:6 + 13])
        code, _, _ = wsdtest.read_close(s)
        tap.eq(code, 1007, "abandoned: 1007 at the invalid byte")
    finally:
        s.close()
    rec = closed_by_key(port, key, "abandoned")
    if rec is not None:
        tap.eq(rec.get("rxFrameIncomplete"), True,
               "abandoned: rxFrameIncomplete")
        tap.eq([(r[1][0], r[2], r[3], rf_marks(r))
                for r in rf_rows(rec["wirelog"])],
               [(21, 1, True, ["incomplete"])],
               "abandoned: its RF row marked incomplete")
        tap.eq((rec["rxFrameStats"], rec["wasClean"]), ({"1": 1}, False),
               "abandoned: counted once; not clean")

    s, key = raw_ws(ws_port)
    try:
        tap.ok(wsdtest.echo_raw(s, b"whole"), "header cut: an echo first")
        s.sendall(b"\x82")
    finally:
        s.close()
    rec = closed_by_key(port, key, "header cut")
    if rec is not None:
        tap.eq(rec.get("rxFrameIncomplete"), True,
               "header cut: rxFrameIncomplete")
        tap.eq([rf_marks(r) for r in rf_rows(rec["wirelog"])], [[]],
               "header cut: the whole frame before it not marked")


def t_key_queries(port):
    st, _, _ = wsdtest.admin_request(port, "/v1/cases?key=no%20t_base64!")
    tap.eq(st, 400, "key: a value that is no base64 gets 400")
    tap.eq(by_key(port, wsdtest.new_key()), [], "key: an unknown key finds "
           "nothing")


def t_refusal_heads(port, ws_port):
    key = wsdtest.new_key()
    req = wsdtest.handshake_request(path="/nope", key=key)
    tap.eq(wsdtest.http_exchange(ws_port, req)["status"], 404, "refusal: 404")
    rec = closed_by_key(port, key, "refusal")
    if rec is None:
        return
    tap.eq(rec["httpRequest"].encode(), req, "refusal: the request kept")
    tap.ok(rec["httpResponse"].startswith("HTTP/1.1 404 ") and
           rec["httpResponse"].endswith("\r\n\r\n"),
           "refusal: the response head kept, without its body",
           rec["httpResponse"])
    # Bytes sent after the head (a frame, pipelined) are no part of it.
    key = wsdtest.new_key()
    req = wsdtest.handshake_request(path="/nope", key=key)
    tap.eq(wsdtest.http_exchange(ws_port, req + b"\x81\x85abcdefghi")
           ["status"], 404, "refusal, bytes after the head: 404")
    rec = closed_by_key(port, key, "refusal, bytes after the head")
    if rec is not None:
        tap.eq(rec["httpRequest"].encode(), req,
               "refusal: the request kept without the bytes after its head")


def t_hostile(port, ws_port):
    """Binary garbage as a request, and control bytes in a header: the
    records are kept and their JSON valid."""
    s = wsdtest.connect(ws_port)
    try:
        s.sendall(bytes(range(256)) + b"\r\n\r\n")
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()
    key = wsdtest.new_key()
    req = wsdtest.handshake_request(key=key, extra=("User-Agent: a\x01\x7fb",))
    tap.eq(wsdtest.http_exchange(ws_port, req)["status"], 400,
           "hostile: control bytes in a header get 400")
    rec = closed_by_key(port, key, "hostile")
    tap.eq(rec["httpRequest"].encode() if rec else None, req,
           "hostile: the request kept as sent, control bytes and all")
    st, _, body = wsdtest.admin_request(port, "/v1/cases?limit=1000")
    doc = json.loads(body)
    recs = [c for c in doc["cases"] if c["httpRequest"] is not None and
            c["httpRequest"].startswith("\x00\x01\x02")]
    tap.eq(len(recs), 1, "hostile: the garbage request is kept, as valid "
           "JSON")
    tap.eq(recs[0]["httpStatus"] if recs else None, 400,
           "hostile: answered 400")


def t_bounded(port, ws_port):
    """case_wirelog 16, case_request_bytes 256: a long request is cut and
    flagged; 50 echoes overrun the log, which keeps its first entries,
    says how many it lost, and keeps the end of the case."""
    key = wsdtest.new_key()
    req = wsdtest.handshake_request(key=key,
                                    extra=("X-Pad: " + "p" * 600,))
    s = wsdtest.connect(ws_port)
    try:
        s.sendall(req)
        wsdtest.read_http_head_raw(s)
        for i in range(50):
            s.sendall(wsdtest.frame(2, b"x" * (i + 1)))
            wsdtest.read_frame(s)
        wsdtest.send_close(s, 1000)
        wsdtest.read_close(s)
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()
    rec = closed_by_key(port, key, "bounded")
    if rec is None:
        return
    tap.ok(rec["httpRequestTruncated"], "bounded: the request is flagged")
    tap.eq(rec["httpRequest"].encode(), req[:256], "bounded: its first 256 "
           "bytes kept")
    log = rec["wirelog"]
    gaps = [r for r in log if r[0] == "GAP"]
    # 16 entries: each one row, or two (a frame read whole with its read,
    # a frame sent with its write).
    rows = len(log) - len(gaps)
    tap.ok(16 < rows <= 32, "bounded: 16 entries, their rows and the gap "
           "between them", len(log))
    tap.eq(gaps, [["GAP", rec["wirelogEntries"] - rows]],
           "bounded: the gap says how many rows were lost")
    tap.eq(log[0][0], "RO", "bounded: the first entries are the first")
    tap.eq(log[-1], ["DROP", "me"], "bounded: the end of the case is kept")
    tap.ok(["TF", [2, "0x03e8"], 8, True, 0, None, None, None, False]
           in log[-8:], "bounded: with our close frame", log[-8:])


def t_no_log(port, ws_port):
    key = wsdtest.new_key()
    s = wsdtest.connect(ws_port)
    try:
        s.sendall(wsdtest.handshake_request(key=key))
        wsdtest.read_http_head_raw(s)
        tap.ok(wsdtest.echo_raw(s, b"hi"), "no log: an echo")
        wsdtest.send_close(s, 1000)
        wsdtest.read_close(s)
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()
    rec = closed_by_key(port, key, "no log")
    if rec is not None:
        tap.eq((rec["wirelog"], rec["wirelogEntries"]), ([], 0),
               "case_wirelog 0: no wire log")
        tap.ok(rec["httpRequest"] is not None,
               "case_wirelog 0: the handshake is still kept")


async def compressed_case(ws_port):
    """Like Autobahn's case 12.4.3: 1000 compressed messages of 256 bytes
    whose compressibility varies, so that reads and writes take many
    sizes. Returns the key it sent."""
    rnd = random.Random(1243)
    url = "ws://127.0.0.1:%d/ws" % ws_port
    async with wsdtest.ws_client(url, compression="deflate") as ws:
        key = ws.request_headers["Sec-WebSocket-Key"]
        for i in range(1000):
            k = i % 100
            text = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                           for _ in range(k)) + "a" * (256 - k)
            await ws.send(text)
            echo = await wsdtest.ws_recv(ws)
            if echo != text:
                raise AssertionError("echo %d differs" % i)
    return key


def t_exact_sizes(port, ws_port):
    key = asyncio.run(compressed_case(ws_port))
    rec = closed_by_key(port, key, "12.4.3-like")
    if rec is None:
        return
    tap.ok(rec["deflate"] is not None, "12.4.3-like: permessage-deflate")
    n_tx = len(rec["txOctetStats"])
    tap.ok(n_tx > 32, "12.4.3-like: the writes take more than the 32 sizes "
           "a record used to keep (%d)" % n_tx, n_tx)
    tap.eq((rec["rxOctetOverflow"], rec["txOctetOverflow"]), (None, None),
           "12.4.3-like: every size counted exactly, none in the overflow")
    tap.eq(sum(rec["txOctetStats"].values()) >= 1000, True,
           "12.4.3-like: a write per echo at least")


def main():
    with wsdtest.Wsd(tap, workers=2) as w:
        port = wsdtest.admin_port(w)
        wsdtest.guard(tap, "handshake and log", t_handshake_and_log, port,
                      w.port)
        wsdtest.guard(tap, "key queries", t_key_queries, port)
        wsdtest.guard(tap, "refusal heads", t_refusal_heads, port, w.port)
        wsdtest.guard(tap, "hostile", t_hostile, port, w.port)
        wsdtest.guard(tap, "exact sizes", t_exact_sizes, port, w.port)
        wsdtest.guard(tap, "after close", t_after_close, port, w.port)
        wsdtest.guard(tap, "close of 126 bytes", t_close_126, port, w.port)
        wsdtest.guard(tap, "abandoned", t_abandoned, port, w.port)
    args = ["--case_wirelog", "16", "--case_request_bytes", "256"]
    with wsdtest.Wsd(tap, args=args) as w:
        wsdtest.guard(tap, "bounded", t_bounded, wsdtest.admin_port(w),
                      w.port)
    with wsdtest.Wsd(tap, args=["--case_wirelog", "0"]) as w:
        wsdtest.guard(tap, "no log", t_no_log, wsdtest.admin_port(w), w.port)
    tap.done()


if __name__ == "__main__":
    main()
