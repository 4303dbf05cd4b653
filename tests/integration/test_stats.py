# SPDX-License-Identifier: MIT
"""The statistics and the admin endpoint against the real daemon: a case
record that matches, byte for byte, what a raw client put on the wire and
got back; case numbering with one and two workers; failures, drops,
timeouts and refusals as the record tells them; totals that stay exact
when a worker is SIGKILLed with a WebSocket open; and the admin HTTP
surface (routes, statuses, paging, reuse of records, Prometheus text,
bearer tokens, hostile strings, a flood beside a live WebSocket).

Only loopback and kernel-chosen ports: every daemon is started with
--listen 127.0.0.1:0 and --admin_listen 127.0.0.1:0, and the admin port
is read from the ready line.
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import tempfile
import threading

import wsdtest
from wsdtest import timeout

tap = wsdtest.Tap()

ADMIN = ["--admin_listen", "127.0.0.1:0"]
UA = "wsd-test/1.0 (stats; raw socket)"


# Helpers --------------------------------------------------------------------

# The shared admin-endpoint helpers, by their short names here.
get = wsdtest.admin_request
get_json = wsdtest.admin_json
stats = wsdtest.admin_stats
case = wsdtest.admin_case
cases = wsdtest.admin_cases
closed_case = wsdtest.closed_case
case_by_peer = wsdtest.case_by_peer
octets_sum = wsdtest.octets_sum


def t_long_user_agent(w, port):
    """A User-Agent longer than its record field (95 bytes) whose cut
    falls inside a character: the record keeps the characters before it,
    not half of it (shown as U+FFFD, which the client never sent)."""
    for tail in ("\u00e9", "\u20ac", "\U0001F600"):
        ua = "a" * 94 + tail + "z"
        cport = full_connection(w.port, ua)
        rec = closed_record(port, "long UA", peer_port=cport)
        tap.eq(rec["userAgent"] if rec else None, "a" * 94,
               "long UA: cut before U+%04X, not inside it" % ord(tail))
    # The offer is kept to 255 bytes the same way.
    offer = "permessage-deflate; x=" + "a" * 232
    s = wsdtest.open_ws(w.port, extra=[
        "Sec-WebSocket-Extensions: " + offer + "\u00e9z"])
    cport = s.getsockname()[1]
    wsdtest.send_close(s, 1000)
    wsdtest.read_close(s)
    wsdtest.drain_until_eof(s, 3)
    s.close()
    rec = closed_record(port, "long offer", peer_port=cport)
    tap.eq(((rec or {}).get("deflate") or {}).get("offered"), offer,
           "long offer: cut before U+00E9, not inside it")
    # And the request head past case_request_bytes (4k): a header of
    # U+00E9 whose 4096th byte is the first of one.
    pad = "\u00e9" * 2500
    first = wsdtest.handshake_request(extra=["X-Pad: " + pad]).index(
        pad.encode())
    pad = "a" * ((4095 - first) % 2) + pad  # byte 4095 begins a U+00E9
    req = wsdtest.handshake_request(extra=["X-Pad: " + pad])
    s = wsdtest.connect(w.port)
    s.sendall(req)
    status, _ = read_response_head(s)
    cport = s.getsockname()[1]
    wsdtest.send_close(s, 1000)
    wsdtest.read_close(s)
    wsdtest.drain_until_eof(s, 3)
    s.close()
    rec = closed_record(port, "long request", peer_port=cport) or {}
    head = rec.get("httpRequest") or ""
    tap.ok(status == 101 and rec.get("httpRequestTruncated") is True and
           head.endswith("\u00e9") and
           len(head.encode()) == 4095 and req.decode().startswith(head),
           "long request: the head is cut before the character the 4096th "
           "byte begins, not inside it", head[-20:])


def full_connection(port, ua=None):
    """One whole WebSocket connection: handshake, one echo, close 1000 and
    both ends closed. Returns the client's port (the record's peer)."""
    extra = ["User-Agent: %s" % ua] if ua else []
    s = wsdtest.open_ws(port, extra=extra)
    try:
        cport = s.getsockname()[1]
        s.sendall(wsdtest.frame(1, b"x"))
        op, payload, _ = wsdtest.read_message(s)
        if (op, payload) != (1, b"x"):
            raise RuntimeError("bad echo %r %r" % (op, payload))
        wsdtest.send_close(s, 1000)
        wsdtest.read_close(s)
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()
    return cport


def totals_consistent(t):
    return (t["clean"] + t["unclean"] + t["unopened"] + t["active"] ==
            t["accepted"])


def closed_record(port, label, cid=None, peer_port=None):
    """The record of case cid (or of the case whose peer is
    127.0.0.1:peer_port) once closed; checks that it is there and closed,
    and returns it, or None when there is none."""
    if cid is None:
        found = case_by_peer(port, peer_port)
        cid = found["id"] if found is not None else None
    rec = closed_case(port, cid) if cid is not None else None
    tap.ok(rec is not None and rec["state"] == "closed",
           "%s: the case is there, closed" % label, rec)
    return rec


class CountingSocket:
    """A socket that counts the bytes it receives (.received)."""

    def __init__(self, s):
        self.s = s
        self.received = 0

    def recv(self, n):
        data = self.s.recv(n)
        self.received += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self.s, name)


def read_response_head(s):
    """Reads one HTTP response head. Returns (status, head bytes)."""
    head = wsdtest.read_http_head_raw(s)
    return wsdtest.parse_http_head(head)[0], head


# 1. One connection, every byte accounted for --------------------------------

def t_exact_record(w, port):
    """A raw client whose every write is one server read: the handshake in
    one sendall, then each frame only after the answer to the previous
    one arrived."""
    raw = wsdtest.connect(w.port)
    s = CountingSocket(raw)
    cport = raw.getsockname()[1]
    sizes = []
    tx_writes = []
    try:
        req = wsdtest.handshake_request(extra=["User-Agent: " + UA])
        raw.sendall(req)
        sizes.append(len(req))
        status, head = read_response_head(s)
        tap.eq(status, 101, "exact: handshake answered 101")
        tx_writes.append(len(head))

        def send_and_answer(op, payload, want_op):
            f = wsdtest.frame(op, payload)
            raw.sendall(f)
            sizes.append(len(f))
            before = s.received
            _, _, got_op, got = wsdtest.read_frame(s)
            tx_writes.append(s.received - before)
            return got_op == want_op and (op == 9 or got == payload)

        tap.ok(send_and_answer(1, b"Hello", 1), "exact: text echoed")
        tap.ok(send_and_answer(2, bytes(range(200)), 2),
               "exact: binary echoed")
        tap.ok(send_and_answer(9, b"p", 10), "exact: ping answered")
        f = wsdtest.frame(8, wsdtest.close_payload(1000, b"bye"))
        raw.sendall(f)
        sizes.append(len(f))
        before = s.received
        code, reason, _ = wsdtest.read_close(s)
        tx_writes.append(s.received - before)
        tap.eq(code, 1000, "exact: close answered with 1000")
        eof, rest, _ = wsdtest.drain_until_eof(s, 3)
        tap.ok(eof and rest == b"", "exact: the server closes TCP first")
        s.received += len(rest)
    finally:
        raw.close()
    tap.eq(sizes, [len(req), 11, 208, 7, 11],
           "exact: the client wrote what the test means to")

    want_rx = {}
    for n in sizes:
        want_rx[str(n)] = want_rx.get(str(n), 0) + 1
    rec = closed_record(port, "exact", 1)
    if rec is None:
        return
    listed = cases(port)["cases"]
    tap.eq([c["id"] for c in listed], [1], "exact: /v1/cases lists case 1")
    tap.eq(listed[0] if listed else None, rec,
           "exact: the list holds the same record as /v1/cases/1")
    tap.eq(rec["id"], 1, "exact: id 1 (first connection of the daemon)")
    tap.eq(rec["worker"], 0, "exact: worker 0")
    tap.eq(rec["peer"], "127.0.0.1:%d" % cport, "exact: peer is the client")
    tap.eq(rec["path"], "/ws", "exact: path")
    tap.eq(rec["userAgent"], UA, "exact: userAgent as sent")
    tap.eq(rec["case"], None, "exact: no ?case=")
    tap.eq(rec["agent"], None, "exact: no &agent=")
    tap.eq(rec["httpStatus"], 101, "exact: httpStatus 101")
    tap.eq(rec["state"], "closed", "exact: state closed")
    tap.ok(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                        rec["started"] or "") is not None,
           "exact: started is ISO 8601 UTC with ms", rec["started"])
    tap.ok(isinstance(rec["durationMs"], int) and 0 <= rec["durationMs"] < 10000,
           "exact: duration in ms", rec["durationMs"])
    tap.eq(rec["rxOctetStats"], want_rx,
           "exact: rxOctetStats: one server read per client write")
    for key in ("rxOctetStats", "txOctetStats"):
        sizes_listed = list(rec[key])
        tap.eq(sizes_listed, sorted(sizes_listed, key=int),
               "exact: %s lists the sizes in increasing order" % key)
    tap.eq(rec["rxOctetOverflow"], None, "exact: no rx overflow")
    tap.eq(octets_sum(rec["txOctetStats"]), s.received,
           "exact: txOctetStats add up to the bytes the client received")
    want_tx = {}
    for n in tx_writes:
        want_tx[str(n)] = want_tx.get(str(n), 0) + 1
    tap.eq(rec["txOctetStats"], want_tx,
           "exact: txOctetStats: one server write per answer")
    tap.eq(rec["txOctetOverflow"], None, "exact: no tx overflow")
    tap.eq(rec["rxFrameStats"], {"1": 1, "2": 1, "9": 1, "8": 1},
           "exact: rxFrameStats")
    tap.eq(rec["txFrameStats"], {"1": 1, "2": 1, "10": 1, "8": 1},
           "exact: txFrameStats")
    tap.eq(rec["rxMessages"], 2, "exact: rxMessages")
    tap.eq(rec["txMessages"], 2, "exact: txMessages")
    tap.eq(rec["rxPayloadBytes"], 205, "exact: rxPayloadBytes")
    tap.eq(rec["txPayloadBytes"], 205, "exact: txPayloadBytes")
    tap.eq(rec["closedByMe"], False, "exact: closedByMe false")
    tap.eq(rec["failedByMe"], False, "exact: failedByMe false")
    tap.eq(rec["droppedByMe"], True, "exact: droppedByMe true")
    tap.eq(rec["wasClean"], True, "exact: wasClean true")
    tap.eq(rec["wasNotCleanReason"], None, "exact: wasNotCleanReason null")
    tap.eq(rec["wasOpenHandshakeTimeout"], False, "exact: no open timeout")
    tap.eq(rec["wasCloseHandshakeTimeout"], False, "exact: no close timeout")
    tap.eq(rec["localCloseCode"], 1000, "exact: localCloseCode 1000")
    tap.eq(rec["localCloseReason"], None, "exact: localCloseReason null")
    tap.eq(rec["remoteCloseCode"], 1000, "exact: remoteCloseCode 1000")
    tap.eq(rec["remoteCloseReason"], "bye", "exact: remoteCloseReason")
    tap.eq(rec["deflate"], None, "exact: deflate null (not offered)")
    tap.eq(rec["tls"], None, "exact: tls null")

    t = stats(port)["totals"]
    tap.eq((t["accepted"], t["active"], t["clean"], t["unclean"]),
           (1, 0, 1, 0), "exact: totals accepted 1, clean 1")
    tap.eq(t["rxOctets"], sum(sizes), "exact: totals rxOctets")
    tap.eq(t["txOctets"], s.received, "exact: totals txOctets")
    tap.eq((t["rxFrames"], t["txFrames"], t["rxMessages"], t["txMessages"]),
           (4, 4, 2, 2), "exact: totals of frames and messages")
    tap.eq(t["closeCodesSent"], {"1000": 1}, "exact: closeCodesSent")
    tap.eq(t["closeCodesReceived"], {"1000": 1}, "exact: closeCodesReceived")


# 1b. More of the record: overflow, deflate, fragments, the query -----------

OCTET_SIZES = 128  # distinct read and write sizes a record keeps exactly

def t_octet_overflow(w, port):
    """140 messages of 140 distinct sizes, each written once and echoed
    before the next: 128 sizes are kept exactly, the rest overflow, and
    everything adds up to the bytes on the wire."""
    raw = wsdtest.connect(w.port)
    s = CountingSocket(raw)
    cport = raw.getsockname()[1]
    rx, tx = [], []
    try:
        req = wsdtest.handshake_request()
        raw.sendall(req)
        rx.append(len(req))
        status, head = read_response_head(s)
        tx.append(len(head))
        for n in range(10, 150):
            f = wsdtest.frame(2, os.urandom(n))
            raw.sendall(f)
            rx.append(len(f))
            before = s.received
            wsdtest.read_frame(s)
            tx.append(s.received - before)
        f = wsdtest.frame(8, wsdtest.close_payload(1000))
        raw.sendall(f)
        rx.append(len(f))
        before = s.received
        wsdtest.read_close(s)
        tx.append(s.received - before)
        wsdtest.drain_until_eof(s, 3)
    finally:
        raw.close()
    rec = closed_record(port, "overflow", peer_port=cport)
    if rec is None:
        return

    def split(sizes):
        exact, over = {}, []
        for n in sizes:
            if str(n) in exact:
                exact[str(n)] += 1
            elif len(exact) < OCTET_SIZES:
                exact[str(n)] = 1
            else:
                over.append(n)
        return exact, ({"count": len(over), "octets": sum(over)}
                       if over else None)
    want_rx, want_rx_over = split(rx)
    want_tx, want_tx_over = split(tx)
    tap.eq(len(rec["rxOctetStats"]), OCTET_SIZES,
           "overflow: 128 rx sizes kept")
    tap.eq(rec["rxOctetStats"], want_rx, "overflow: the first 128 rx sizes")
    tap.eq(rec["rxOctetOverflow"], want_rx_over,
           "overflow: rxOctetOverflow counts the other reads and bytes")
    tap.eq(rec["txOctetStats"], want_tx, "overflow: the first 128 tx sizes")
    tap.eq(rec["txOctetOverflow"], want_tx_over,
           "overflow: txOctetOverflow counts the other writes and bytes")
    rxo = rec["rxOctetOverflow"] or {"octets": 0}
    txo = rec["txOctetOverflow"] or {"octets": 0}
    tap.eq(octets_sum(rec["rxOctetStats"]) + rxo["octets"], sum(rx),
           "overflow: rx sizes and overflow add up to the bytes sent")
    tap.eq(octets_sum(rec["txOctetStats"]) + txo["octets"], s.received,
           "overflow: tx sizes and overflow add up to the bytes received")
    tap.eq((rec["rxMessages"], rec["txMessages"]), (140, 140),
           "overflow: 140 messages each way")
    tap.eq(rec["rxPayloadBytes"], sum(range(10, 150)),
           "overflow: rxPayloadBytes")


def t_deflate_offers(w, port):
    """The record's deflate object keeps what went both ways: every offer
    header joined (the first alone hid the one wsd granted), and the
    longest grant whole (every parameter, two-digit windows: 130 bytes,
    which a 128-byte field cut)."""
    every = ("permessage-deflate; server_no_context_takeover; "
             "client_no_context_takeover; server_max_window_bits=10; "
             "client_max_window_bits=11")
    cases = [
        ("every parameter", [every], every, every),
        ("two headers, the first declined",
         ["permessage-deflate; foo",
          "permessage-deflate; client_no_context_takeover"],
         "permessage-deflate; foo, "
         "permessage-deflate; client_no_context_takeover",
         "permessage-deflate; client_no_context_takeover"),
        ("an empty header first", ["", "permessage-deflate"],
         "permessage-deflate", "permessage-deflate"),
    ]
    for label, offers, offered, granted in cases:
        s = wsdtest.open_ws(w.port, extra=[
            "Sec-WebSocket-Extensions: " + o for o in offers])
        cport = s.getsockname()[1]
        try:
            wsdtest.send_close(s, 1000)
            wsdtest.read_close(s)
            wsdtest.drain_until_eof(s, 3)
        finally:
            s.close()
        rec = closed_record(port, "deflate offers", peer_port=cport)
        dfl = rec.get("deflate") if rec is not None else None
        tap.eq((dfl or {}).get("offered"), offered,
               "deflate offers, %s: offered" % label)
        tap.eq((dfl or {}).get("granted"), granted,
               "deflate offers, %s: granted" % label)


def t_deflate_record(w, port):
    """A compressed message (RFC 7692) and a plain one on a connection
    that negotiated permessage-deflate: the deflate object counts both
    sides of the compression."""
    import zlib
    s = wsdtest.open_ws(w.port, extra=[
        "Sec-WebSocket-Extensions: permessage-deflate"])
    cport = s.getsockname()[1]
    text = b"all work and no play makes wsd a dull daemon. " * 20
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = c.compress(text) + c.flush(zlib.Z_SYNC_FLUSH)
    tap.eq(data[-4:], b"\x00\x00\xff\xff", "deflate: a sync-flushed block")
    payload = data[:-4]
    try:
        s.sendall(wsdtest.frame(1, payload, rsv=4))
        fin, rsv, op, echoed = wsdtest.read_frame(s)
        tap.eq((fin, rsv, op), (True, 4, 1),
               "deflate: the echo comes back compressed (RSV1)")
        d = zlib.decompressobj(-15)
        tap.eq(d.decompress(echoed + b"\x00\x00\xff\xff"), text,
               "deflate: and inflates to the message")
        s.sendall(wsdtest.frame(1, b"hi"))
        fin, rsv, op, plain = wsdtest.read_frame(s)
        tap.eq((rsv, op, plain), (0, 1, b"hi"),
               "deflate: a short message comes back plain")
        wsdtest.send_close(s, 1000)
        wsdtest.read_close(s)
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()
    rec = closed_record(port, "deflate", peer_port=cport)
    tap.ok(rec is not None and isinstance(rec["deflate"], dict),
           "deflate: the record has a deflate object", rec)
    if rec is None or not isinstance(rec["deflate"], dict):
        return
    dfl = rec["deflate"]
    tap.eq(sorted(dfl), ["granted", "offered", "rxCompressedBytes",
                         "rxInflatedBytes", "txCompressedBytes",
                         "txUncompressedBytes"], "deflate: its six keys")
    tap.eq(dfl["offered"], "permessage-deflate", "deflate: offered")
    tap.ok(isinstance(dfl["granted"], str)
           and dfl["granted"].startswith("permessage-deflate"),
           "deflate: granted", dfl["granted"])
    tap.eq(dfl["rxCompressedBytes"], len(payload),
           "deflate: rxCompressedBytes is the compressed payload received")
    tap.eq(dfl["rxInflatedBytes"], len(text) + 2,
           "deflate: rxInflatedBytes is every message's payload")
    tap.eq(dfl["txUncompressedBytes"], len(text) + 2,
           "deflate: txUncompressedBytes")
    tap.eq(dfl["txCompressedBytes"], len(echoed),
           "deflate: txCompressedBytes is the compressed payload sent")
    tap.eq((rec["rxPayloadBytes"], rec["txPayloadBytes"]),
           (len(text) + 2, len(text) + 2), "deflate: payload bytes")


def t_fragments_and_query(w, port):
    """A fragmented message with a ping inside, an empty close, and
    ?case=&agent= in the request target."""
    s = wsdtest.open_ws(w.port, path="/ws?case=7&agent=test")
    cport = s.getsockname()[1]
    try:
        s.sendall(wsdtest.frame(1, b"Hel", fin=False))
        s.sendall(wsdtest.frame(9, b"!"))
        s.sendall(wsdtest.frame(0, b"lo"))
        op, payload, controls = wsdtest.read_message(s)
        tap.eq((op, payload, controls), (1, b"Hello", [(10, b"!")]),
               "fragments: pong, then the message echoed")
        wsdtest.send_close(s)
        code, _, _ = wsdtest.read_close(s)
        tap.eq(code, None, "fragments: an empty close is answered empty")
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()
    rec = closed_record(port, "fragments", peer_port=cport)
    if rec is None:
        return
    tap.eq((rec["path"], rec["case"], rec["agent"]), ("/ws", "7", "test"),
           "query: path, case and agent")
    tap.eq(rec["rxFrameStats"], {"1": 1, "9": 1, "0": 1, "8": 1},
           "fragments: rxFrameStats counts each frame by opcode")
    tap.eq(rec["rxMessages"], 1, "fragments: one message")
    tap.eq(rec["rxPayloadBytes"], 5, "fragments: its payload")
    tap.eq((rec["localCloseCode"], rec["remoteCloseCode"]), (None, None),
           "fragments: no close codes either way")
    tap.eq((rec["wasClean"], rec["closedByMe"]), (True, False),
           "fragments: a clean close the peer began")


def t_large_message(w, port):
    """A 300 KB message and its echo take many reads and writes: their
    sizes still add up to what went over the wire."""
    raw = wsdtest.connect(w.port)
    s = CountingSocket(raw)
    cport = raw.getsockname()[1]
    sent = 0
    payload = os.urandom(300 * 1024)
    try:
        req = wsdtest.handshake_request()
        raw.sendall(req)
        read_response_head(s)
        f = wsdtest.frame(2, payload)
        raw.sendall(f)
        op, got, _ = wsdtest.read_message(s)
        tap.ok(op == 2 and got == payload, "large: 300 KB echoed")
        c = wsdtest.frame(8, wsdtest.close_payload(1000))
        raw.sendall(c)
        wsdtest.read_close(s)
        wsdtest.drain_until_eof(s, 3)
        sent = len(req) + len(f) + len(c)
    finally:
        raw.close()
    rec = closed_record(port, "large", peer_port=cport)
    if rec is None:
        return
    rxo = rec["rxOctetOverflow"] or {"octets": 0, "count": 0}
    txo = rec["txOctetOverflow"] or {"octets": 0, "count": 0}
    tap.eq(octets_sum(rec["rxOctetStats"]) + rxo["octets"], sent,
           "large: rx sizes add up to the bytes sent")
    tap.eq(octets_sum(rec["txOctetStats"]) + txo["octets"], s.received,
           "large: tx sizes add up to the bytes received")
    tap.diag("large: %d reads, %d writes"
             % (sum(rec["rxOctetStats"].values()) + rxo["count"],
                sum(rec["txOctetStats"].values()) + txo["count"]))
    tap.eq((rec["rxFrameStats"], rec["txFrameStats"]),
           ({"2": 1, "8": 1}, {"2": 1, "8": 1}), "large: one frame each way")
    tap.eq((rec["rxPayloadBytes"], rec["txPayloadBytes"]),
           (len(payload), len(payload)), "large: payload bytes")


def t_peak(w, port):
    socks = [wsdtest.open_ws(w.port) for _ in range(3)]
    try:
        t = stats(port)["totals"]
        tap.eq((t["active"], t["peak"]), (3, 3),
               "peak: 3 open at once: active 3, peak 3")
        for s in socks:
            wsdtest.send_close(s, 1000)
            wsdtest.read_close(s)
            wsdtest.drain_until_eof(s, 3)
    finally:
        for s in socks:
            s.close()
    wsdtest.wait_until(lambda: stats(port)["totals"]["active"] == 0, 3)
    doc = stats(port)
    tap.eq((doc["totals"]["active"], doc["totals"]["peak"]), (0, 3),
           "peak: after they closed, active 0 and peak still 3")
    tap.eq(doc["workers"][0]["totals"]["peak"], 3, "peak: the worker's too")


def t_busy_503():
    """Past max_connections the worker answers 503: counted and recorded."""
    args = ADMIN + ["--max_connections", "1"]
    with wsdtest.Wsd(tap, args=args) as w:
        port = wsdtest.admin_port(w)
        a = wsdtest.open_ws(w.port)
        try:
            b = wsdtest.connect(w.port)
            try:
                status, head = read_response_head(b)
                tap.eq(status, 503, "503: the second connection is refused")
                _, body, _ = wsdtest.drain_until_eof(b, 3)
            finally:
                b.close()
            rec = closed_case(port, 2)
            tap.ok(rec is not None, "503: the refusal is case 2")
            if rec is not None:
                tap.eq((rec["httpStatus"], rec["state"], rec["wasClean"]),
                       (503, "closed", False),
                       "503: httpStatus 503, closed, not clean")
                tap.eq(rec["txOctetStats"], {str(len(head + body)): 1},
                       "503: its answer is counted")
                tap.ok(bool(rec["wasNotCleanReason"]), "503: a reason",
                       rec["wasNotCleanReason"])
            t = stats(port)["totals"]
            tap.eq(t["refused"]["503"], 1, "503: refused[503] == 1")
            tap.eq((t["accepted"], t["active"]), (2, 1),
                   "503: accepted 2, the first still active")
            tap.ok(totals_consistent(t), "503: totals consistent", t)
            wsdtest.send_close(a, 1000)
            wsdtest.read_close(a)
            wsdtest.drain_until_eof(a, 3)
        finally:
            a.close()


def t_past_refusals():
    """A worker answers 503 to 64 connections past max_connections at
    most; those beyond are closed unanswered, and still counted: accepted,
    unopened and unrecorded."""
    args = ADMIN + ["--max_connections", "1", "--close_timeout_ms", "20000"]
    with wsdtest.Wsd(tap, args=args) as w:
        port = wsdtest.admin_port(w)
        a = wsdtest.open_ws(w.port)
        extra = 6
        conns = [wsdtest.connect(w.port) for _ in range(64 + extra)]
        try:
            answers = []
            for c in conns:
                c.settimeout(wsdtest.timeout(5))
                try:
                    answers.append(c.recv(12))
                except OSError:
                    answers.append(None)
            refused = sum(1 for r in answers if r == b"HTTP/1.1 503")
            dropped = sum(1 for r in answers if r == b"")
            tap.eq((refused, dropped), (64, extra),
                   "past the limit: 64 answered 503, the rest closed "
                   "unanswered")
            t = stats(port)["totals"]
            tap.eq((t["accepted"], t["refused"]["503"], t["unrecorded"],
                    t["unopened"]), (1 + 64 + extra, 64, extra, extra),
                   "past the limit: every connection counted accepted, the "
                   "unanswered ones unrecorded and unopened")
            tap.ok(totals_consistent(t), "past the limit: totals consistent",
                   t)
        finally:
            for c in conns:
                c.close()
            a.close()


# 2. Case numbering ----------------------------------------------------------

def t_numbering_one_worker(w, port, first_id, n):
    ports = [full_connection(w.port) for _ in range(n)]
    recs = [closed_case(port, first_id + i) for i in range(n)]
    tap.eq([r["peer"] if r else None for r in recs],
           ["127.0.0.1:%d" % p for p in ports],
           "numbering: %d sequential connections are cases %d..%d in "
           "order" % (n, first_id, first_id + n - 1))
    tap.ok(all(r and r["state"] == "closed" and r["wasClean"]
               for r in recs), "numbering: each closed cleanly")


def t_numbering_two_workers(w, port, n):
    ports = [full_connection(w.port) for _ in range(n)]
    for i in range(n):
        closed_case(port, i + 1)
    listed = cases(port)["cases"]
    ids = [c["id"] for c in listed]
    tap.eq(sorted(ids), list(range(1, n + 1)),
           "2 workers: %d connections have ids 1..%d, each once" % (n, n))
    tap.eq(ids, sorted(ids), "2 workers: /v1/cases lists them oldest first")
    by_peer = {c["peer"]: c["id"] for c in listed}
    tap.eq([by_peer.get("127.0.0.1:%d" % p) for p in ports],
           list(range(1, n + 1)),
           "2 workers: ids follow the order of the connections")
    slots = sorted({c["worker"] for c in listed})
    tap.ok(set(slots) <= {0, 1}, "2 workers: records name slot 0 or 1",
           slots)
    tap.diag("connections per worker slot: %r"
             % {s_: sum(1 for c in listed if c["worker"] == s_)
                for s_ in slots})
    doc = stats(port)
    tap.eq(doc["cases"]["lastId"], n, "2 workers: lastId")
    tap.eq(doc["totals"]["accepted"], n, "2 workers: accepted")
    tap.eq(sum(wk["totals"]["accepted"] for wk in doc["workers"]), n,
           "2 workers: per-worker accepted add up")


# 3. Failures, drops, timeouts, refusals ------------------------------------

def t_failure_1007(w, port, cid):
    s = wsdtest.open_ws(w.port)
    try:
        s.sendall(wsdtest.frame(1, b"ok\xff"))
        code, reason, _ = wsdtest.read_close(s)
        tap.eq(code, 1007, "1007: the server fails invalid UTF-8 with 1007")
        wsdtest.send_close(s, 1007)
        eof, _, _ = wsdtest.drain_until_eof(s, 3)
        tap.ok(eof, "1007: the server closes the TCP connection")
    finally:
        s.close()
    rec = closed_record(port, "1007", cid)
    if rec is None:
        return
    tap.eq(rec["failedByMe"], True, "1007: failedByMe true")
    tap.eq(rec["closedByMe"], True, "1007: closedByMe true")
    tap.eq(rec["localCloseCode"], 1007, "1007: localCloseCode 1007")
    tap.ok(isinstance(rec["localCloseReason"], str)
           and rec["localCloseReason"] != "",
           "1007: localCloseReason says why", rec["localCloseReason"])
    tap.eq(rec["remoteCloseCode"], 1007,
           "1007: the peer's answering close is recorded")
    tap.eq(rec["droppedByMe"], True, "1007: droppedByMe true")
    tap.eq(rec["wasClean"], True, "1007: wasClean true")
    tap.eq(rec["wasNotCleanReason"], None, "1007: wasNotCleanReason null")
    tap.eq(rec["rxFrameStats"], {"1": 1, "8": 1}, "1007: rxFrameStats")
    tap.eq(rec["txFrameStats"], {"8": 1}, "1007: txFrameStats")
    tap.eq(rec["rxMessages"], 0, "1007: no message received")


def t_peer_drop(w, port, cid):
    s = wsdtest.open_ws(w.port)
    try:
        s.sendall(wsdtest.frame(2, b"abc"))
        op, payload, _ = wsdtest.read_message(s)
        tap.eq((op, payload), (2, b"abc"), "drop: echo before the drop")
    finally:
        s.close()
    rec = closed_record(port, "drop", cid)
    if rec is None:
        return
    tap.eq(rec["wasClean"], False, "drop: wasClean false")
    tap.eq(rec["droppedByMe"], False, "drop: droppedByMe false")
    tap.ok(isinstance(rec["wasNotCleanReason"], str)
           and rec["wasNotCleanReason"] != "",
           "drop: wasNotCleanReason says why", rec["wasNotCleanReason"])
    tap.eq((rec["localCloseCode"], rec["remoteCloseCode"]), (None, None),
           "drop: no close codes")
    tap.eq((rec["closedByMe"], rec["failedByMe"]), (False, False),
           "drop: neither closed nor failed by us")


def t_handshake_timeout(w, port, cid):
    s = wsdtest.connect(w.port)
    partial = b"GET /ws HTTP/1.1\r\n"
    try:
        s.sendall(partial)
        tap.ok(wsdtest.expect_eof(s, 3),
               "timeout: the server drops an unfinished handshake")
    finally:
        s.close()
    rec = closed_record(port, "timeout", cid)
    if rec is None:
        return
    tap.eq(rec["wasOpenHandshakeTimeout"], True,
           "timeout: wasOpenHandshakeTimeout true")
    tap.eq(rec["wasCloseHandshakeTimeout"], False,
           "timeout: wasCloseHandshakeTimeout false")
    tap.eq(rec["httpStatus"], None, "timeout: no HTTP status")
    tap.eq(rec["droppedByMe"], True, "timeout: droppedByMe true")
    tap.eq(rec["wasClean"], False, "timeout: wasClean false")
    tap.ok(bool(rec["wasNotCleanReason"]), "timeout: a reason",
           rec["wasNotCleanReason"])
    tap.eq(rec["rxOctetStats"], {str(len(partial)): 1},
           "timeout: the partial request is counted")
    # Start and end are each wall-clock milliseconds, truncated: 300 ms
    # of timer can read as 299 (seen in CI's distcheck).
    tap.ok(299 <= rec["durationMs"] < 300 + timeout(3) * 1000,
           "timeout: duration is about handshake_timeout_ms",
           rec["durationMs"])


def t_refused(w, port, cid):
    s = wsdtest.connect(w.port)
    try:
        s.sendall(wsdtest.handshake_request(version="8",
                                            extra=["User-Agent: old"]))
        status, head = read_response_head(s)
        tap.eq(status, 426, "refused: version 8 gets 426")
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()
    rec = closed_record(port, "refused", cid)
    if rec is None:
        return
    tap.eq(rec["httpStatus"], 426, "refused: httpStatus 426")
    tap.eq(rec["userAgent"], "old", "refused: the request is recorded")
    tap.eq(rec["wasClean"], False, "refused: not a clean WebSocket close")
    tap.ok(bool(rec["wasNotCleanReason"]), "refused: a reason",
           rec["wasNotCleanReason"])
    tap.eq(rec["rxFrameStats"], {}, "refused: no frames")


def t_close_timeout(w, port, cid):
    """The server fails the connection and waits for the peer's close,
    which never comes: close_timeout_ms ends it."""
    s = wsdtest.open_ws(w.port)
    try:
        s.sendall(wsdtest.frame(1, b"\xc0\x80"))
        code, _, _ = wsdtest.read_close(s)
        tap.eq(code, 1007, "close timeout: failed with 1007")
        tap.ok(wsdtest.expect_eof(s, 3),
               "close timeout: the server gives up on the peer's close")
    finally:
        s.close()
    rec = closed_record(port, "close timeout", cid)
    if rec is None:
        return
    tap.eq(rec["wasCloseHandshakeTimeout"], True,
           "close timeout: wasCloseHandshakeTimeout true")
    tap.eq(rec["wasOpenHandshakeTimeout"], False,
           "close timeout: wasOpenHandshakeTimeout false")
    tap.eq((rec["failedByMe"], rec["closedByMe"], rec["droppedByMe"]),
           (True, True, True), "close timeout: failed, closed, dropped by me")
    tap.eq((rec["localCloseCode"], rec["remoteCloseCode"]), (1007, None),
           "close timeout: our 1007, no close from the peer")
    tap.eq(rec["wasClean"], False, "close timeout: not clean")
    tap.ok(bool(rec["wasNotCleanReason"]), "close timeout: a reason",
           rec["wasNotCleanReason"])


def close_with(w, port, label, frame, want_code, cid=None):
    """Sends frame, a close frame, on a fresh connection: wsd answers with
    want_code and closes. Returns the case's record (case cid, else the
    connection's), closed (None when there is none)."""
    s = wsdtest.open_ws(w.port)
    cport = s.getsockname()[1]
    try:
        s.sendall(frame)
        code, _, _ = wsdtest.read_close(s)
        tap.eq(code, want_code,
               "%s: the server answers with %d" % (label, want_code))
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()
    return closed_record(port, label, cid, peer_port=cport)


def t_invalid_close(w, port, cid, payload, want_code, label):
    """The peer's close frame is itself invalid: failed with 1002, and the
    code it carried is still recorded."""
    rec = close_with(w, port, label, wsdtest.frame(8, payload), 1002, cid)
    if rec is None:
        return
    tap.eq(rec["remoteCloseCode"], want_code,
           "%s: remoteCloseCode %r as sent" % (label, want_code))
    tap.eq((rec["localCloseCode"], rec["failedByMe"], rec["closedByMe"]),
           (1002, True, False),
           "%s: we failed it with 1002 after the peer's close" % label)
    tap.eq(rec["rxFrameStats"], {"8": 1}, "%s: one close frame in" % label)
    tap.eq(rec["txFrameStats"], {"8": 1}, "%s: one close frame out" % label)


def t_nul_reason(w, port):
    """A close reason holding NUL is valid UTF-8 (RFC 6455 §5.5.1): the
    record, its Autobahn view and the access log keep it whole."""
    rec = close_with(w, port, "NUL reason",
                     wsdtest.frame(8, struct.pack("!H", 4000) + b"ab\x00cd"),
                     4000)
    if rec is None:
        return
    tap.eq(rec["remoteCloseReason"], "ab\x00cd",
           "NUL reason: the record keeps the reason whole")
    status, doc, _ = get_json(port, "/v1/cases/%d/autobahn" % rec["id"])
    tap.eq((status, doc and doc.get("remoteCloseReason")), (200, "ab\x00cd"),
           "NUL reason: ... and so does its Autobahn view")


def t_refused_close(w, port, cid, label, **kw):
    """The peer's close frame breaks a header rule the session judges
    (masking, RSV bits): failed with 1002, and, being the peer's close,
    nothing more is awaited from it: no close timeout, the peer closed."""
    rec = close_with(w, port, label,
                     wsdtest.frame(8, wsdtest.close_payload(1000), **kw), 1002,
                     cid)
    if rec is None:
        return
    tap.eq((rec["wasCloseHandshakeTimeout"], rec["closedByMe"],
            rec["failedByMe"], rec["localCloseCode"]),
           (False, False, True, 1002),
           "%s: failed with 1002 after the peer's close, no close timeout"
           % label)
    tap.ok(not any(row[0] == "TMO" for row in rec.get("wirelog") or []),
           "%s: no timeout in the wire log" % label, rec.get("wirelog"))
    tap.eq(rec["rxFrameStats"], {"8": 1}, "%s: one close frame in" % label)


def t_failure_totals(port, n):
    doc = stats(port)
    t = doc["totals"]
    tap.eq(t["accepted"], n, "totals: accepted is every connection")
    tap.eq(t["active"], 0, "totals: none active")
    tap.ok(totals_consistent(t), "totals: clean + unclean + unopened + "
           "active == accepted", t)
    tap.eq((t["clean"], t["unclean"], t["unopened"]), (5, 2, 2),
           "totals: the 1007 one and the invalid or refused closes answered "
           "are clean; the handshake timeout and the refusal are unopened")
    tap.eq(t["refused"]["426"], 1, "totals: refused[426] == 1")
    tap.eq(sum(t["refused"].values()), 1, "totals: no other refusal")
    tap.eq(t["closeCodesSent"], {"1007": 2, "1002": 4},
           "totals: closeCodesSent")
    tap.eq(t["closeCodesReceived"], {"1007": 1, "1005": 1, "other": 1},
           "totals: closeCodesReceived, 1005 and 0 as the peer sent them")
    tap.eq(t["unrecorded"], 0, "totals: every case recorded")
    workers = doc["workers"]
    tap.eq(len(workers), 1, "totals: one worker listed")
    if workers:
        wk = workers[0]
        tap.ok(wk["pid"] in wsdtest.children(wsd_of_port[port].pid),
               "totals: the worker's pid is the master's child", wk)
        tap.eq((wk["slot"], wk["generation"], wk["state"]),
               (0, 1, "running"), "totals: slot 0, generation 1, running")
        tap.ok(isinstance(wk["heartbeatAgeMs"], int)
               or wk["heartbeatAgeMs"] is None,
               "totals: heartbeatAgeMs is a number or null")
        tap.eq(wk["totals"], t, "totals: one worker's totals are the totals")
    tap.eq(doc["layoutVersion"].split(".")[0], "4", "totals: layout 4.x")
    tap.ok(isinstance(doc["uptimeSeconds"], int), "totals: uptimeSeconds")


wsd_of_port = {}


# 4. A worker SIGKILLed with a WebSocket open --------------------------------

def t_worker_killed(w, port):
    s = wsdtest.open_ws(w.port)
    try:
        s.settimeout(timeout(5))
        s.sendall(wsdtest.frame(1, b"hold"))
        wsdtest.read_message(s)
        cport = s.getsockname()[1]
        owner = None

        def find():
            nonlocal owner
            owner = wsdtest.conn_owner(s, w.workers())
            return owner is not None
        wsdtest.wait_until(find, 3)
        tap.ok(owner is not None, "kill: the worker holding the WebSocket")
        rec = case_by_peer(port, cport)
        tap.ok(rec is not None and rec["state"] == "open",
               "kill: its case is open", rec)
        if owner is None or rec is None:
            return
        cid = rec["id"]
        slot = rec["worker"]
        before = stats(port)
        tap.eq(before["workers"][slot]["pid"], owner,
               "kill: the record's slot is the owner's")
        tap.eq(before["totals"]["active"], 1, "kill: one active before")
        os.kill(owner, signal.SIGKILL)
        new = [None]

        def replaced():
            doc = stats(port)
            wk = doc["workers"][slot]
            if wk["pid"] not in (None, owner) and wk["generation"] == 2:
                new[0] = doc
                return True
            return False
        tap.ok(wsdtest.wait_until(replaced, 5),
               "kill: a replacement runs in the slot")
        w.workers()  # the harness tracks the new worker too
        s.settimeout(timeout(3))
        tap.ok(wsdtest.expect_eof(s, 3),
               "kill: the client's connection ends")
    finally:
        s.close()
    after = new[0] or stats(port)
    wk = after["workers"][slot]
    tap.ok(wk["pid"] in w.workers() and wk["pid"] != owner,
           "kill: the replacement's pid is listed", wk)
    tap.eq((wk["generation"], wk["state"]), (2, "running"),
           "kill: generation 2, running")
    other = after["workers"][1 - slot]
    tap.eq(other["generation"], 1, "kill: the other slot's generation is 1")
    rec = case(port, cid)
    tap.ok(rec is not None, "kill: the case is still there")
    if rec is not None:
        tap.eq(rec["state"], "closed", "kill: the case is closed")
        tap.eq(rec["droppedByMe"], True, "kill: droppedByMe true")
        tap.eq(rec["wasClean"], False, "kill: wasClean false")
        tap.eq(rec["wasNotCleanReason"], "worker died",
               "kill: wasNotCleanReason \"worker died\"")
        tap.eq(rec["rxMessages"], 1, "kill: what it counted stays")
    t0, t1 = before["totals"], after["totals"]
    tap.eq(t1["accepted"], t0["accepted"], "kill: accepted unchanged")
    tap.eq(t1["unclean"], t0["unclean"] + 1, "kill: unclean + 1")
    tap.eq(t1["clean"], t0["clean"], "kill: clean unchanged")
    tap.eq(t1["active"], 0, "kill: active 0")
    tap.eq(wk["totals"]["active"], 0, "kill: active 0 in the slot")
    tap.ok(totals_consistent(t1), "kill: clean + unclean + unopened + "
           "active == accepted", t1)
    tap.ok(all(totals_consistent(x["totals"]) for x in after["workers"]),
           "kill: each slot is consistent too")
    cport2 = full_connection(w.port)
    rec2 = case_by_peer(port, cport2)
    tap.ok(rec2 is not None and rec2["id"] == after["cases"]["lastId"] + 1,
           "kill: the next connection gets the next id", rec2)
    t2 = stats(port)["totals"]
    tap.eq(t2["accepted"], t0["accepted"] + 1,
           "kill: accepted counts on after the respawn")


# 5. The admin HTTP surface ---------------------------------------------------

def t_paging(port):
    doc = cases(port, "?limit=2")
    tap.eq(([c["id"] for c in doc["cases"]], doc["more"]), ([1, 2], True),
           "paging: ?limit=2 gives 1, 2 and more")
    doc = cases(port, "?after=2&limit=2")
    tap.eq(([c["id"] for c in doc["cases"]], doc["more"]), ([3, 4], True),
           "paging: ?after=2&limit=2 gives 3, 4 and more")
    doc = cases(port, "?after=4")
    tap.eq(([c["id"] for c in doc["cases"]], doc["more"]), ([5], False),
           "paging: ?after=4 gives 5 and no more")
    doc = cases(port, "?after=5")
    tap.eq(([c["id"] for c in doc["cases"]], doc["more"]), ([], False),
           "paging: ?after=5 gives none")
    doc = cases(port, "?after=0&limit=1000")
    tap.eq([c["id"] for c in doc["cases"]], [1, 2, 3, 4, 5],
           "paging: ?after=0&limit=1000 gives all, oldest first")
    tap.eq(sorted(doc), ["cases", "more"], "paging: keys cases and more")
    doc = cases(port, "?before=99&limit=2")
    tap.eq(([c["id"] for c in doc["cases"]], doc["more"]), ([4, 5], True),
           "paging: ?before=99&limit=2 gives the newest two, 4 and 5, "
           "oldest first, and more")
    doc = cases(port, "?before=4&limit=2")
    tap.eq(([c["id"] for c in doc["cases"]], doc["more"]), ([2, 3], True),
           "paging: ?before=4&limit=2 gives 2, 3 and more")
    doc = cases(port, "?before=3&after=1")
    tap.eq(([c["id"] for c in doc["cases"]], doc["more"]), ([2], False),
           "paging: ?before=3&after=1 gives 2 alone")
    doc = cases(port, "?before=1")
    tap.eq(([c["id"] for c in doc["cases"]], doc["more"]), ([], False),
           "paging: ?before=1 gives none")


def is_error(status, doc, hdrs, want):
    return (status == want and isinstance(doc, dict)
            and sorted(doc) == ["error", "status"]
            and doc["status"] == want and isinstance(doc["error"], str)
            and doc["error"] != ""
            and hdrs.get("content-type", "").startswith("application/json"))


def t_admin_errors(port):
    for path in ["/nope", "/v1", "/v1/statsx", "/metrics/x",
                 "/v2/stats"]:
        status, doc, hdrs = get_json(port, path)
        tap.ok(is_error(status, doc, hdrs, 404),
               "admin: %s is 404 with a JSON error" % path,
               (status, doc, hdrs))
    for method in ["POST", "PUT", "DELETE", "PATCH"]:
        status, hdrs, body = get(port, "/v1/stats", method=method)
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        allow = [m.strip() for m in hdrs.get("allow", "").split(",")]
        tap.ok(is_error(status, doc, hdrs, 405) and "GET" in allow,
               "admin: %s is 405 with Allow: GET" % method,
               (status, hdrs, body))
    for path in ["/v1/cases/abc", "/v1/cases/0", "/v1/cases/-1",
                 "/v1/cases/1x", "/v1/cases/",
                 "/v1/cases/99999999999999999999",
                 "/v1/cases?limit=0", "/v1/cases?limit=5000",
                 "/v1/cases?limit=1001", "/v1/cases?limit=",
                 "/v1/cases?limit=x", "/v1/cases?after=x",
                 "/v1/cases?after=-1", "/v1/cases?before=0",
                 "/v1/cases?before=x", "/v1/cases?foo=1",
                 "/v1/cases?limit=5&foo=1", "/v1/stats?foo=1",
                 "/metrics?x=1", "/v1/cases/1?after=1"]:
        status, doc, hdrs = get_json(port, path)
        tap.ok(is_error(status, doc, hdrs, 400),
               "admin: %s is 400 with a JSON error" % path,
               (status, doc))
    status, doc, _ = get_json(port, "/v1/cases?limit=1000")
    tap.eq(status, 200, "admin: ?limit=1000 is allowed")
    status, doc, hdrs = get_json(port, "/v1/cases/424242")
    tap.ok(is_error(status, doc, hdrs, 404),
           "admin: a case never seen is 404", (status, doc))
    status, hdrs, body = get(port, "/v1/stats", method="HEAD")
    tap.eq((status, body), (200, b""), "admin: HEAD /v1/stats is 200, no body")
    for path in ["/v1/stats", "/metrics", "/v1/cases/424242", "/"]:
        t_head_raw(port, path)
    status, doc, hdrs = get_json(port, "/v1/stats")
    tap.ok(status == 200 and hdrs.get("content-type", "")
           .startswith("application/json"),
           "admin: /v1/stats is application/json", hdrs)
    tap.eq(hdrs.get("cache-control"), "no-store", "admin: not cached")


def t_head_raw(port, path):
    """HEAD then GET of path on one connection, as the bytes come: the
    HEAD's answer is headers only, with the Content-Length its GET would
    have, and the GET's answer follows at once (a body after the HEAD's
    headers would put the connection out of step)."""
    with socket.create_connection(("127.0.0.1", port),
                                  timeout=wsdtest.timeout(5)) as c:
        c.sendall(("HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   "\r\n" % (path, path)).encode())
        data = b""
        while True:
            got = c.recv(65536)
            if not got:
                break
            data += got
    head, _, rest = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    get_head, _, get_body = rest.partition(b"\r\n\r\n")
    tap.ok(rest.startswith(b"HTTP/1.1 "),
           "admin: HEAD %s: headers only, the GET's answer right after"
           % path, data[:300])
    tap.ok(length is not None and
           (path in ("/v1/stats", "/metrics")  # they change between calls
            or int(length.group(1)) == len(get_body)),
           "admin: HEAD %s: the Content-Length of its GET" % path,
           (head, len(get_body)))


def t_admin_limits(port):
    """Requests over the documented limits are refused, and the endpoint
    goes on serving."""
    status, _, _ = get(port, "/v1/stats", headers={"X-Big": "a" * 10000})
    tap.ok(status in (400, 413, 431),
           "limits: 10 KB of headers is refused", status)
    status, _, _ = get(port, "/v1/stats", method="POST", body=b"x" * 2000)
    tap.eq(status, 413, "limits: a 2 KB body is refused with 413")
    status, _, _ = get(port, "/v1/stats")
    tap.eq(status, 200, "limits: the endpoint still serves")


def t_metrics(port):
    status, hdrs, body = get(port, "/metrics")
    tap.eq(status, 200, "metrics: 200")
    tap.ok(hdrs.get("content-type", "").startswith("text/plain"),
           "metrics: Content-Type text/plain", hdrs.get("content-type"))
    families, problems = wsdtest.parse_metrics(body.decode("utf-8"))
    for name, f in families.items():
        if f["type"] not in ("counter", "gauge", "histogram"):
            problems.append("type of %s: %r" % (name, f["type"]))
        elif f["type"] == "counter" and not name.endswith("_total"):
            problems.append("counter not *_total: " + name)
    tap.eq(problems, [], "metrics: HELP, TYPE, then samples that parse; "
           "counters named *_total")
    n_samples = sum(len(f["samples"]) for f in families.values())
    tap.ok(n_samples > 10, "metrics: %d samples" % n_samples)
    tap.eq(wsdtest.metric(families, "wsd_connections_accepted_total"),
           stats(port)["totals"]["accepted"],
           "metrics: wsd_connections_accepted_total sums to accepted")


def t_hostile_user_agent(w, port):
    s = wsdtest.connect(w.port)
    try:
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        req = (b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: " + key.encode() + b"\r\n"
               b"Sec-WebSocket-Version: 13\r\n"
               b"User-Agent: evil\xff\xfe\xc0\r\n\r\n")
        s.sendall(req)
        status, _ = read_response_head(s)
        tap.eq(status, 101, "hostile UA: the handshake is accepted")
        cport = s.getsockname()[1]
        wsdtest.send_close(s, 1000)
        wsdtest.read_close(s)
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()
    status, hdrs, body = get(port, "/v1/cases?limit=1000")
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        doc = None
        tap.diag("not JSON: %r %r" % (e, body[:200]))
    tap.ok(status == 200 and doc is not None,
           "hostile UA: /v1/cases is still valid UTF-8 JSON")
    rec = None
    for c in (doc or {}).get("cases", []):
        if c["peer"] == "127.0.0.1:%d" % cport:
            rec = c
    tap.eq(rec["userAgent"] if rec else None, "evil\ufffd\ufffd\ufffd",
           "hostile UA: each bad byte became U+FFFD")


def t_admin_flood(w, port):
    """200 admin requests from 4 threads while a WebSocket client keeps
    echoing: the master's admin work must not stop the worker's echoes."""
    n_echo = 300
    echoes = {"ok": 0, "error": None}

    def echo_loop():
        try:
            s = wsdtest.open_ws(w.port)
            try:
                s.settimeout(timeout(5))
                for i in range(n_echo):
                    payload = b"flood %d" % i
                    s.sendall(wsdtest.frame(1, payload))
                    op, got, _ = wsdtest.read_message(s)
                    if (op, got) != (1, payload):
                        raise RuntimeError("echo %d: %r" % (i, got))
                    echoes["ok"] += 1
                wsdtest.send_close(s, 1000)
                wsdtest.read_close(s)
            finally:
                s.close()
        except Exception as e:  # reported below
            echoes["error"] = repr(e)

    results = []
    lock = threading.Lock()

    def admin_loop(k):
        paths = ["/v1/stats", "/v1/cases?limit=1000", "/metrics",
                 "/v1/cases/1", "/nope"]
        for i in range(50):
            path = paths[(i + k) % len(paths)]
            try:
                status, _, body = get(port, path)
                good = status == (404 if path == "/nope" else 200)
                if path != "/metrics":
                    json.loads(body)
            except Exception as e:  # counted as a failure
                good = False
                tap.diag("admin %s: %r" % (path, e))
            with lock:
                results.append(good)

    echo = threading.Thread(target=echo_loop, daemon=True)
    admins = [threading.Thread(target=admin_loop, args=(k,), daemon=True)
              for k in range(4)]
    echo.start()
    for t in admins:
        t.start()
    for t in admins + [echo]:
        t.join(timeout(30))
    tap.ok(not echo.is_alive() and not any(t.is_alive() for t in admins),
           "flood: every thread finished")
    tap.eq((echoes["ok"], echoes["error"]), (n_echo, None),
           "flood: every echo arrived during the admin flood")
    tap.eq((len(results), results.count(False)), (200, 0),
           "flood: 200 admin requests, each answered right")


def t_live_record_polled():
    """A record read over and over while its WebSocket echoes as fast as
    it can: every read finds it (never the 404 of a reused record, as a
    worker stopped inside a change of it once made the master's reader
    give up), and its counters never go backwards."""
    import http.client
    with wsdtest.Wsd(tap, args=ADMIN) as w:
        port = wsdtest.admin_port(w)
        s = wsdtest.open_ws(w.port)
        s.settimeout(timeout(5))
        cid = stats(port)["cases"]["lastId"]
        done = threading.Event()
        echoed = {"n": 0, "error": None}

        def echo_loop():
            try:
                while not done.is_set():
                    s.sendall(wsdtest.frame(1, b"live %d" % echoed["n"]))
                    wsdtest.read_message(s)
                    echoed["n"] += 1
            except Exception as e:  # reported below
                echoed["error"] = repr(e)

        echo = threading.Thread(target=echo_loop, daemon=True)
        echo.start()
        conn = http.client.HTTPConnection("127.0.0.1", port,
                                          timeout=timeout(5))
        statuses = {}
        backwards = []
        last = None
        keys = ("rxMessages", "txMessages", "rxPayloadBytes",
                "wirelogEntries")
        try:
            for _ in range(4000):
                conn.request("GET", "/v1/cases/%d" % cid)
                r = conn.getresponse()
                body = r.read()
                statuses[r.status] = statuses.get(r.status, 0) + 1
                if r.status != 200:
                    continue
                rec = json.loads(body)
                now = tuple(rec[k] for k in keys)
                if rec["id"] != cid or (last is not None and any(
                        a < b for a, b in zip(now, last))):
                    backwards.append((last, now, rec["id"]))
                last = now
        finally:
            conn.close()
            done.set()
            echo.join(timeout(10))
        tap.eq(statuses, {200: 4000},
               "live record: 4000 reads during the echoes, each found it")
        tap.eq(backwards, [], "live record: its counters never went back")
        tap.ok(echoed["error"] is None and echoed["n"] > 0,
               "live record: the echoes went on meanwhile", echoed)
        wsdtest.send_close(s, 1000)
        wsdtest.read_close(s)
        s.close()


def t_record_reuse():
    with wsdtest.Wsd(tap, args=ADMIN + ["--stats_cases", "2"]) as w:
        port = wsdtest.admin_port(w)
        for i in range(3):
            full_connection(w.port)
            closed_case(port, i + 1)
        st, doc, hdrs = get_json(port, "/v1/cases/1")
        tap.ok(is_error(st, doc, hdrs, 404),
               "reuse: case 1's record was reused: 404", (st, doc))
        tap.ok(case(port, 2) is not None and case(port, 3) is not None,
               "reuse: cases 2 and 3 are there")
        doc = cases(port)
        tap.eq(([c["id"] for c in doc["cases"]], doc["more"]), ([2, 3], False),
               "reuse: /v1/cases lists 2 and 3")
        s = stats(port)
        tap.eq((s["cases"]["capacity"], s["cases"]["lastId"]), (2, 3),
               "reuse: capacity 2, lastId 3")
        tap.eq(s["totals"]["unrecorded"], 0,
               "reuse: closed records are reused, nothing unrecorded")
        # Two WebSockets hold both records: a third has none.
        socks = [wsdtest.open_ws(w.port) for _ in range(3)]
        try:
            ports = [x.getsockname()[1] for x in socks]
            t = stats(port)["totals"]
            tap.eq((t["accepted"], t["active"], t["unrecorded"]), (6, 3, 1),
                   "unrecorded: the third open connection found no record")
            ids = [c["id"] for c in cases(port)["cases"]]
            tap.eq(ids, [4, 5], "unrecorded: the records hold cases 4, 5")
            tap.eq(case_by_peer(port, ports[2]), None,
                   "unrecorded: no record names the third")
            for x in socks:
                x.sendall(wsdtest.frame(1, b"still echoed"))
                tap.eq(wsdtest.read_message(x)[1], b"still echoed",
                       "unrecorded: every connection still echoes")
                wsdtest.send_close(x, 1000)
                wsdtest.read_close(x)
                wsdtest.drain_until_eof(x, 3)
        finally:
            for x in socks:
                x.close()
        wsdtest.wait_until(lambda: stats(port)["totals"]["active"] == 0, 3)
        t = stats(port)["totals"]
        tap.eq((t["accepted"], t["active"], t["clean"], t["unclean"],
                t["unopened"]), (6, 0, 6, 0, 0),
               "unrecorded: still counted in the totals")
        tap.eq(t["closeCodesReceived"], {"1000": 6},
               "unrecorded: its close counted too")


def t_no_records():
    """stats_cases 0: no case record at all, the counters still exact."""
    with wsdtest.Wsd(tap, args=ADMIN + ["--stats_cases", "0"]) as w:
        port = wsdtest.admin_port(w)
        for _ in range(3):
            full_connection(w.port)
        wsdtest.wait_until(lambda: stats(port)["totals"]["active"] == 0, 3)
        tap.eq(cases(port), {"cases": [], "more": False},
               "stats_cases 0: /v1/cases is empty")
        st, doc, hdrs = get_json(port, "/v1/cases/1")
        tap.ok(is_error(st, doc, hdrs, 404),
               "stats_cases 0: /v1/cases/1 is 404", (st, doc))
        s = stats(port)
        t = s["totals"]
        tap.eq((s["cases"]["capacity"], s["cases"]["lastId"]), (0, 3),
               "stats_cases 0: capacity 0, cases still numbered")
        tap.eq((t["accepted"], t["active"], t["clean"], t["unclean"],
                t["unrecorded"]), (3, 0, 3, 0, 0),
               "stats_cases 0: connections counted, none 'unrecorded'")
        tap.eq((t["rxMessages"], t["txMessages"], t["closeCodesReceived"]),
               (3, 3, {"1000": 3}),
               "stats_cases 0: messages and closes counted")
        tap.ok(t["rxOctets"] > 0 and t["txOctets"] > 0,
               "stats_cases 0: octets counted", t)


def t_token(args, good, bad, name):
    with wsdtest.Wsd(tap, args=ADMIN + args) as w:
        port = wsdtest.admin_port(w)
        for hdrs, label in [(None, "no Authorization"),
                            ({"Authorization": "Bearer " + bad},
                             "a wrong token"),
                            ({"Authorization": "Bearer " + good + "x"},
                             "the token plus a byte"),
                            ({"Authorization": "Bearer " + good[:-1]},
                             "the token less a byte"),
                            ({"Authorization": good}, "no scheme"),
                            ({"Authorization": "Basic " + good},
                             "another scheme")]:
            st, doc, h = get_json(port, "/v1/stats", headers=hdrs)
            tap.ok(is_error(st, doc, h, 401)
                   and h.get("www-authenticate", "").startswith("Bearer"),
                   "%s: %s is 401 with WWW-Authenticate" % (name, label),
                   (st, doc, h))
        st, doc, h = get_json(port, "/nope")
        tap.eq(st, 401, "%s: an unknown path without a token is 401" % name)
        st, _, _ = get(port, "/v1/stats", method="POST")
        tap.eq(st, 401, "%s: a POST without a token is 401" % name)
        auth = {"Authorization": "Bearer " + good}
        st, doc, _ = get_json(port, "/v1/stats", headers=auth)
        tap.ok(st == 200 and doc is not None and "totals" in doc,
               "%s: the right token gets 200" % name, (st, doc))
        st, _, body = get(port, "/metrics", headers=auth)
        tap.eq(st, 200, "%s: /metrics with the token" % name)
        st, doc, _ = get_json(port, "/v1/cases", headers=auth)
        tap.eq(st, 200, "%s: /v1/cases with the token" % name)
        st, _, _ = get_json(port, "/v1/stats", headers=dict(
            auth, Host="wsd.example:8890"))
        tap.eq(st, 200, "%s: with the token, any Host" % name)


def t_host_without_token(w, port):
    """Without a token, a request for another name than a loopback one
    (a web page whose name was re-pointed at 127.0.0.1: DNS rebinding)
    gets 403, whatever it asks for; loopback names are served."""
    for host in ["attacker.example:%d" % port, "attacker.example",
                 "127.0.0.1.attacker.example:%d" % port]:
        for path in ["/v1/cases", "/v1/stats", "/"]:
            st, doc, h = get_json(port, path, headers={"Host": host})
            tap.ok(is_error(st, doc, h, 403) and
                   "DNS rebinding" in doc.get("error", ""),
                   "Host %s: %s is 403, saying why" % (host, path),
                   (st, doc))
    for host in ["127.0.0.1:%d" % port, "localhost:%d" % port, "[::1]:%d"
                 % port, "localhost"]:
        st, _, _ = get_json(port, "/v1/stats", headers={"Host": host})
        tap.eq(st, 200, "Host %s is served" % host)


def t_token_file():
    d = tempfile.mkdtemp(prefix="wsd-stats-")
    try:
        path = os.path.join(d, "token")
        with open(path, "w") as f:
            f.write("file-token-123\nsecond-line\n")
        t_token(["--admin_token_file", path], "file-token-123", "second-line",
                "token file")
        # A token no request could carry intact is refused at start.
        for text, what in [("tok \n", "a space"), ("\ttok\n", "a tab"),
                           ("to\x01k\n", "a control character")]:
            with open(path, "w") as f:
                f.write(text)
            status, _, err = wsdtest.run_once(
                ["-t", "--admin_token_file", path])
            tap.ok(status == 2 and "admin_token_file" in err and what in err,
                   "token file holding %s: refused, saying so" % what, err)
        status, _, err = wsdtest.run_once(["-t", "--admin_token", " lead"])
        tap.ok(status == 2 and "admin_token:" in err and "a space" in err,
               "admin_token with a leading space: refused", err)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def t_admin_output_bound():
    """Clients that ask for pages of cases and never read them hold their
    answers in the master: past admin_output_bytes of them, a request for
    cases gets 503 with Retry-After (the counters and metrics are still
    served); an answer read to its end, or a connection closed, gives its
    bytes back."""
    args = ADMIN + ["--admin_output_bytes", "64k", "--case_wirelog", "1024"]
    with wsdtest.Wsd(tap, args=args) as w:
        port = wsdtest.admin_port(w)
        # 40 cases of 300 echoes each: some 30 kB of wire log a case, a
        # page of them over 1 MB, more than the socket's buffers take
        # (wsd sets an admin connection's send buffer to 128 KiB; Linux
        # would have grown it to hold the whole page, and the answer
        # would have left the master at once).
        frames = b"".join(wsdtest.frame(1, b"x%03d" % i) for i in range(300))
        echoes = b"".join(wsdtest.frame(1, b"x%03d" % i, mask=False)
                          for i in range(300))
        for _ in range(40):
            s = wsdtest.open_ws(w.port)
            try:
                s.sendall(frames)
                got = b""
                while len(got) < len(echoes):
                    more = s.recv(65536)
                    if not more:
                        break
                    got += more
                wsdtest.send_close(s, 1000)
                wsdtest.read_close(s)
            finally:
                s.close()
        page = (b"GET /v1/cases?limit=1000 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"\r\n")

        def unread():
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(timeout(5))
            s.connect(("127.0.0.1", port))
            s.sendall(page)
            return s

        def busy():
            status, hdrs, body = wsdtest.admin_request(port, "/v1/cases/1")
            return status == 503, hdrs, body

        # Answers read to their end are not held: three pages of 2 MB,
        # read, leave the bound free.
        pages = [wsdtest.admin_request(port, "/v1/cases?limit=1000")
                 for _ in range(3)]
        tap.ok(all(st == 200 and len(b) > 1 << 20 for st, _, b in pages),
               "three pages of cases, read, are served",
               [(st, len(b)) for st, _, b in pages])
        tap.ok(not busy()[0], "and, read, they hold nothing back")
        held = [unread()]
        try:
            # Bounded: the first answer alone passes 64k; a few more
            # requests in case the master has not begun it yet.
            for _ in range(20):
                if wsdtest.wait_until(lambda: busy()[0], 0.5):
                    break
                held.append(unread())
            full, hdrs, body = busy()
            tap.ok(full, "unread answers past admin_output_bytes: a "
                   "request for a case gets 503", body[:200])
            tap.eq(hdrs.get("retry-after"), "1", "and Retry-After: 1")
            tap.ok(b"admin_output_bytes" in body,
                   "and its error names admin_output_bytes", body[:200])
            status, _, _ = wsdtest.admin_request(port, "/v1/stats")
            tap.eq(status, 200, "/v1/stats is still served")
            status, _, _ = wsdtest.admin_request(port, "/metrics")
            tap.eq(status, 200, "/metrics is still served")
            # Read one answer to its end: the rest stay unread.
            s = held.pop(0)
            s.settimeout(timeout(10))
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)",
                                   head).group(1))
            while len(rest) < length:
                more = s.recv(1 << 20)
                if not more:
                    break
                rest += more
            s.close()
            tap.ok(head.startswith(b"HTTP/1.1 200") and len(rest) == length,
                   "an unread answer, read at last, is whole",
                   (head[:40], len(rest), length))
        finally:
            for s in held:
                s.close()
        tap.ok(wsdtest.wait_until(lambda: not busy()[0], 5),
               "once they are read or closed, cases are served again")


def t_admin_off_loopback():
    status, out, err = wsdtest.run_once(
        ["--listen", "127.0.0.1:0", "--workers", "1",
         "--admin_listen", "0.0.0.0:0"], seconds=10)
    tap.eq(status, 2, "0.0.0.0 admin without a token: exit status 2")
    tap.ok("admin_listen" in err, "and the message names admin_listen",
           err[-500:])


# Main -----------------------------------------------------------------------

def t_tls_record():
    """A wss:// case records the TLS version and cipher; a ws:// one, null.
    The certificate is made here with the openssl command."""
    import asyncio
    import ssl
    d = tempfile.mkdtemp(prefix="wsd-stats-tls-")
    cert, key = wsdtest.make_cert(d, "localhost")
    args = ADMIN + ["--tls_listen", "127.0.0.1:0", "--tls_certificate", cert,
                    "--tls_certificate_key", key]
    try:
        with wsdtest.Wsd(tap, args=args) as w:
            port = wsdtest.admin_port(w)
            ctx = ssl.create_default_context(cafile=cert)

            async def echo(url, **kw):
                async with wsdtest.ws_client(url, **kw) as ws:
                    return await wsdtest.ws_echo(ws, "hello")

            got = asyncio.run(echo("wss://127.0.0.1:%d/ws" % w.tls_port,
                                   ssl=ctx))
            tap.eq(got, "hello", "tls record: echo over wss://")
            asyncio.run(echo("ws://127.0.0.1:%d/ws" % w.port))
            c1, c2 = closed_case(port, 1), closed_case(port, 2)
            tls = c1.get("tls") if c1 else None
            tap.ok(isinstance(tls, dict) and
                   tls.get("version") in ("TLSv1.2", "TLSv1.3") and
                   bool(tls.get("cipher")),
                   "tls record: a wss:// case names its TLS version and "
                   "cipher", c1)
            tap.ok(c2 is not None and c2.get("tls") is None,
                   "tls record: a ws:// case has tls null", c2)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    # One worker: the exact record, numbering, paging, the admin surface.
    with wsdtest.Wsd(tap, args=ADMIN) as w:
        port = wsdtest.admin_port(w)
        tap.ok(port is not None and port != 0 and port != 8890,
               "the ready line names a kernel-chosen admin port",
               w.ready)
        wsdtest.guard(tap, "exact record", t_exact_record, w, port)
        wsdtest.guard(tap, "numbering", t_numbering_one_worker, w, port, 2, 4)
        wsdtest.guard(tap, "paging", t_paging, port)
        wsdtest.guard(tap, "admin errors", t_admin_errors, port)
        wsdtest.guard(tap, "admin limits", t_admin_limits, port)
        wsdtest.guard(tap, "Host without a token", t_host_without_token, w,
                      port)
        wsdtest.guard(tap, "long user agent", t_long_user_agent, w, port)
        wsdtest.guard(tap, "hostile user agent", t_hostile_user_agent, w,
                      port)
        wsdtest.guard(tap, "octet overflow", t_octet_overflow, w, port)
        wsdtest.guard(tap, "deflate record", t_deflate_record, w, port)
        wsdtest.guard(tap, "deflate offers", t_deflate_offers, w, port)
        wsdtest.guard(tap, "large message", t_large_message, w, port)
        wsdtest.guard(tap, "fragments and query", t_fragments_and_query, w,
                      port)
        wsdtest.guard(tap, "metrics", t_metrics, port)
        wsdtest.guard(tap, "admin flood", t_admin_flood, w, port)
        wsdtest.guard(tap, "peak", t_peak, w, port)
        wsdtest.guard(tap, "NUL reason", t_nul_reason, w, port)
        t = stats(port)["totals"]
        tap.ok(totals_consistent(t) and t["active"] == 0,
               "after all that, totals are consistent", t)

    # Failures, drops, timeouts, refusals and invalid closes, cases 1-9.
    args = ADMIN + ["--handshake_timeout_ms", "300",
                    "--close_timeout_ms", "300"]
    with wsdtest.Wsd(tap, args=args) as w:
        port = wsdtest.admin_port(w)
        wsd_of_port[port] = w
        wsdtest.guard(tap, "1007", t_failure_1007, w, port, 1)
        wsdtest.guard(tap, "peer drop", t_peer_drop, w, port, 2)
        wsdtest.guard(tap, "handshake timeout", t_handshake_timeout, w, port,
                      3)
        wsdtest.guard(tap, "refused", t_refused, w, port, 4)
        wsdtest.guard(tap, "close timeout", t_close_timeout, w, port, 5)
        wsdtest.guard(tap, "close 1005", t_invalid_close, w, port, 6,
                      wsdtest.close_payload(1005), 1005, "close 1005")
        wsdtest.guard(tap, "close 0", t_invalid_close, w, port, 7,
                      wsdtest.close_payload(0), 0, "close 0")
        wsdtest.guard(tap, "unmasked close", t_refused_close, w, port, 8,
                      "unmasked close", mask=False)
        wsdtest.guard(tap, "RSV2 close", t_refused_close, w, port, 9,
                      "RSV2 close", rsv=2)
        wsdtest.guard(tap, "failure totals", t_failure_totals, port, 9)

    # Two workers: numbering across them, then a worker SIGKILLed.
    with wsdtest.Wsd(tap, args=ADMIN, workers=2) as w:
        port = wsdtest.admin_port(w)
        wsdtest.wait_until(lambda: len(w.workers()) == 2, 5)
        wsdtest.guard(tap, "two workers", t_numbering_two_workers, w, port, 8)
        wsdtest.guard(tap, "worker killed", t_worker_killed, w, port)

    wsdtest.guard(tap, "record reuse", t_record_reuse)
    wsdtest.guard(tap, "live record polled", t_live_record_polled)
    wsdtest.guard(tap, "no records", t_no_records)
    wsdtest.guard(tap, "503", t_busy_503)
    wsdtest.guard(tap, "past the refusals", t_past_refusals)
    wsdtest.guard(tap, "admin token", t_token,
                  ["--admin_token", "s3cret-token"], "s3cret-token",
                  "wrong-token", "token")
    wsdtest.guard(tap, "admin token file", t_token_file)
    wsdtest.guard(tap, "admin off loopback", t_admin_off_loopback)
    wsdtest.guard(tap, "admin output bound", t_admin_output_bound)
    wsdtest.guard(tap, "tls record", t_tls_record)
    tap.done()


if __name__ == "__main__":
    main()
