# SPDX-License-Identifier: MIT
"""GET /v1/cases/ID/autobahn against real connections: each case's
Autobahn per-case object checked, field by field, against what the
client did: the opening handshake both ways byte for byte, the frames
each way by opcode and in the wire log (its RF rows are the frames the
client sent, its TF rows those it received), the close codes and
reasons, who dropped TCP. Cases: an echo without and with
permessage-deflate, a handshake refused with 404, closes with a code and
a reason either way, a peer that drops TCP. Then the route's refusals.

Only loopback and kernel-chosen ports.
"""
import json
import os
import urllib.parse
import zlib

import wsdtest

tap = wsdtest.Tap()

# The row kinds the testsuite's fuzzing.py writes, and reads back.
AUTOBAHN_ROWS = {"RO", "TO", "RF", "TF", "CT", "CTE", "KL", "KLE", "TI",
                 "TIE", "WLM"}


def testsuite_keys():
    """The key set of a report the testsuite wrote about wsd."""
    path = os.path.join(os.environ.get("WSD_SRCDIR", "."), "tests", "data",
                        "autobahn", "wsd_case_1_1_1.json")
    with open(path, encoding="utf-8") as f:
        return set(json.load(f))


KEYS = testsuite_keys()


def record_by_key(port, key, label):
    """wsd's own record of the connection that sent key, once closed."""
    q = "?key=" + urllib.parse.quote(key, safe="")
    found = []

    def closed():
        found[:] = wsdtest.admin_cases(port, q)["cases"]
        return len(found) == 1 and found[0]["state"] == "closed"
    tap.ok(wsdtest.wait_until(closed, 5), "%s: the case is closed" % label,
           found)
    return found[0] if found else None


def report(port, key, label):
    """(wsd's record, its Autobahn object) of the connection that sent
    key; checks what every such object has."""
    rec = record_by_key(port, key, label)
    if rec is None:
        return None, None
    st, doc, hdrs = wsdtest.admin_json(port, "/v1/cases/%d/autobahn"
                                       % rec["id"])
    tap.eq(st, 200, "%s: /v1/cases/%d/autobahn answers 200" % (label,
                                                             rec["id"]))
    if doc is None:
        tap.ok(False, "%s: the answer is JSON" % label)
        return rec, None
    tap.eq(hdrs.get("content-type"), "application/json",
           "%s: served as JSON" % label)
    tap.eq(set(doc), KEYS, "%s: exactly the testsuite's keys" % label)
    tap.eq((doc["isServer"], doc["case"], doc["started"], doc["duration"]),
           (True, rec["id"], rec["started"], rec["durationMs"]),
           "%s: isServer, case (the record's id), started, duration" % label)
    tap.eq((doc["behavior"], doc["behaviorClose"], doc["expected"],
            doc["expectedClose"], doc["received"], doc["trafficStats"]),
           ("INFORMATIONAL", "INFORMATIONAL", {}, {}, [], None),
           "%s: no verdict, in the testsuite's types" % label)
    for k in ("rxOctetStats", "txOctetStats", "rxFrameStats", "txFrameStats",
              "closedByMe", "failedByMe", "droppedByMe", "wasClean",
              "wasNotCleanReason", "localCloseCode", "localCloseReason",
              "remoteCloseCode", "remoteCloseReason", "httpRequest",
              "httpResponse"):
        if doc[k] != rec[k]:
            tap.ok(False, "%s: %s as in wsd's own record" % (label, k),
                   "got  %r\nwant %r" % (doc[k], rec[k]))
            break
    else:
        tap.ok(True, "%s: statistics, closing and heads as in wsd's own "
               "record" % label)
    kinds = {r[0] for r in doc["wirelog"]}
    tap.ok(kinds <= AUTOBAHN_ROWS, "%s: only the testsuite's row kinds" %
           label, kinds - AUTOBAHN_ROWS)
    return rec, doc


def rf_rows(doc):
    """(opcode, fin, rsv, length, masked, mask) of the RF rows."""
    return [(r[2], r[3], r[4], r[1][0], r[5], r[6]) for r in doc["wirelog"]
            if r[0] == "RF"]


def tf_rows(doc):
    """(opcode, fin, rsv, length) of the TF rows."""
    return [(r[2], r[3], r[4], r[1][0]) for r in doc["wirelog"]
            if r[0] == "TF"]


def frame_stats(frames):
    """{"opcode": count} of (opcode, ...) tuples, as Autobahn counts."""
    out = {}
    for f in frames:
        out[str(f[0])] = out.get(str(f[0]), 0) + 1
    return out


def send(s, sent, opcode, payload, fin=True, rsv=0):
    """Sends one masked frame and notes it as an RF row would show it."""
    mkey = os.urandom(4)
    s.sendall(wsdtest.frame(opcode, payload, fin=fin, rsv=rsv, key=mkey))
    sent.append((opcode, fin, rsv, len(payload), True, mkey.hex()))


def receive(s, got):
    """Reads one frame and notes it as a TF row would show it."""
    fin, rsv, opcode, payload = wsdtest.read_frame(s)
    got.append((opcode, fin, rsv, len(payload)))
    return opcode, payload


def opened(ws_port, path="/ws", extra=()):
    """A raw socket past its opening handshake: (socket, key, request
    sent, response head received)."""
    key = wsdtest.new_key()
    req = wsdtest.handshake_request(path=path, key=key, extra=extra)
    s = wsdtest.connect(ws_port)
    try:
        s.sendall(req)
        return s, key, req, wsdtest.read_http_head_raw(s)
    except Exception:
        s.close()
        raise


def t_echo(port, ws_port, deflate):
    label = "echo, deflate" if deflate else "echo"
    extra = ["User-Agent: raw-test/1"]
    if deflate:
        extra.append("Sec-WebSocket-Extensions: permessage-deflate; "
                     "client_max_window_bits")
    sent, got = [], []
    s, key, req, head = opened(
        ws_port, "/ws?case=9.9.%d&agent=raw%%20client" % deflate, extra)
    try:
        text = wsdtest.text_pattern(300)
        if deflate:
            c = zlib.compressobj(wbits=-15)
            wire = c.compress(text) + c.flush(zlib.Z_SYNC_FLUSH)
            send(s, sent, 1, wire[:-4], rsv=4)
        else:
            send(s, sent, 1, b"Hello")
            send(s, sent, 1, text)
        send(s, sent, 2, b"frag", fin=False)
        send(s, sent, 0, bytes(range(200)))
        send(s, sent, 9, b"ping!")
        # The text echoes, the fragmented message's echo, the pong.
        for _ in range((1 if deflate else 2) + 2):
            receive(s, got)
        send(s, sent, 8, wsdtest.close_payload(1000, b"done"))
        op, payload = receive(s, got)
        tap.eq(op, 8, "%s: our close is answered" % label)
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()
    rec, doc = report(port, key, label)
    if doc is None:
        return
    tap.eq((doc["id"], doc["agent"]), ("9.9.%d" % deflate, "raw%20client"),
           "%s: id and agent from the query, as in the URL" % label)
    tap.same(doc["httpRequest"].encode(), req,
             "%s: httpRequest is the request as sent, byte for byte" % label)
    tap.same(doc["httpResponse"].encode(), head,
             "%s: httpResponse is the head received, byte for byte" % label)
    if deflate:
        tap.ok("permessage-deflate" in doc["httpResponse"],
               "%s: the response grants permessage-deflate" % label)
    tap.eq(rf_rows(doc), sent, "%s: the RF rows are the frames sent, in "
           "order: opcode, FIN, RSV, length, masked, mask" % label)
    tap.eq(tf_rows(doc), got, "%s: the TF rows are the frames received, in "
           "order" % label)
    tap.eq(doc["rxFrameStats"], frame_stats(sent),
           "%s: rxFrameStats count the frames sent" % label)
    tap.eq(doc["txFrameStats"], frame_stats(got),
           "%s: txFrameStats count the frames received" % label)
    tap.eq(wsdtest.octets_sum(doc["rxOctetStats"]),
           len(req) + sum(n + 6 + (2 if n >= 126 else 0)
                          for (_, _, _, n, _, _) in sent),
           "%s: rxOctetStats add up to the bytes sent" % label)
    tap.eq(wsdtest.octets_sum(doc["txOctetStats"]),
           len(head) + sum(n + 2 + (2 if n >= 126 else 0)
                               for (_, _, _, n) in got),
           "%s: txOctetStats add up to the bytes received" % label)
    if deflate:
        tap.eq([r[2] for r in sent[:1]] + [r[2] for r in got[:1]], [4, 4],
               "%s: the compressed message and its echo carry RSV1" % label)
    else:
        rf = [r for r in doc["wirelog"] if r[0] == "RF"]
        tap.eq(rf[0][1], [5, "Hello"], "%s: a text payload as text" % label)
    tap.eq((doc["remoteCloseCode"], doc["remoteCloseReason"],
            doc["localCloseCode"], doc["closedByMe"], doc["failedByMe"],
            doc["droppedByMe"], doc["wasClean"], doc["wasNotCleanReason"]),
           (1000, "done", 1000, False, False, True, True, None),
           "%s: the peer closed with 1000 \"done\", wsd answered and dropped "
           "TCP, cleanly" % label)
    tap.eq([r[0] for r in doc["wirelog"][:2]], ["RO", "TO"],
           "%s: the log opens with the request read and the response "
           "written" % label)


def t_refused(port, ws_port):
    key = wsdtest.new_key()
    req = wsdtest.handshake_request(path="/nope?case=404&agent=refused",
                                    key=key)
    r = wsdtest.http_exchange(ws_port, req)
    tap.eq(r["status"], 404, "refused: 404")
    rec, doc = report(port, key, "refused")
    if doc is None:
        return
    head = r["raw"][:r["raw"].index(b"\r\n\r\n") + 4]
    tap.same(doc["httpRequest"].encode(), req,
             "refused: httpRequest is the request as sent")
    tap.same(doc["httpResponse"].encode(), head,
             "refused: httpResponse is the 404's head as received")
    tap.eq((doc["id"], doc["agent"]), ("404", "refused"),
           "refused: id and agent from the query")
    tap.eq((doc["rxFrameStats"], doc["txFrameStats"]), ({}, {}),
           "refused: no frame either way")
    tap.eq((doc["localCloseCode"], doc["remoteCloseCode"],
            doc["localCloseReason"], doc["remoteCloseReason"]),
           (None, None, None, None), "refused: no close code, null")
    tap.ok(doc["wasClean"] is False and
           isinstance(doc["wasNotCleanReason"], str),
           "refused: not clean, and why", doc["wasNotCleanReason"])
    tap.eq(wsdtest.octets_sum(doc["txOctetStats"]), len(r["raw"]),
           "refused: txOctetStats add up to the bytes received")
    tap.eq([row[0] for row in doc["wirelog"] if row[0] in ("RF", "TF")], [],
           "refused: no frame in the log")


def t_closes(port, ws_port):
    """A close the peer starts with a code and a reason, and one wsd
    starts (failing a frame sent unmasked)."""
    sent, got = [], []
    s, key, _, _ = opened(ws_port)
    try:
        send(s, sent, 8, wsdtest.close_payload(4001, b"going \xc3\xa9"))
        receive(s, got)
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()
    rec, doc = report(port, key, "peer's close")
    if doc is not None:
        tap.eq((doc["remoteCloseCode"], doc["remoteCloseReason"],
                doc["localCloseCode"], doc["closedByMe"], doc["wasClean"]),
               (4001, "going \xe9", 4001, False, True),
               "peer's close: its code and reason, our answer with the code")
        tap.eq(rf_rows(doc), sent, "peer's close: the RF row is the close "
               "frame sent")
        tap.eq(tf_rows(doc), got, "peer's close: the TF row is wsd's")

    s, key, _, _ = opened(ws_port)
    try:
        s.sendall(wsdtest.frame(1, b"bare", mask=False))
        code, reason, _ = wsdtest.read_close(s)
        wsdtest.send_close(s, code)
        wsdtest.drain_until_eof(s, 3)
    finally:
        s.close()
    rec, doc = report(port, key, "wsd's close")
    if doc is not None:
        tap.eq(code, 1002, "wsd's close: 1002 for an unmasked frame")
        tap.eq((doc["localCloseCode"], doc["localCloseReason"],
                doc["closedByMe"], doc["failedByMe"], doc["remoteCloseCode"]),
               (1002, reason.decode(), True, True, 1002),
               "wsd's close: the code and reason the client received; "
               "closed and failed by wsd; the peer's answer")
        rf = [r for r in doc["wirelog"] if r[0] == "RF"]
        tap.eq([(r[2], r[5], r[6]) for r in rf[:1]], [(1, False, None)],
               "wsd's close: the unmasked frame, unmasked in the log")


def t_dropped(port, ws_port):
    """A peer that drops TCP without a close frame; no query, so id and
    agent fall back on the record's id and the User-Agent."""
    for ua in ("dropper/2", None):
        s, key, _, _ = opened(ws_port,
                              extra=("User-Agent: " + ua,) if ua else ())
        try:
            tap.ok(wsdtest.echo_raw(s, b"x" * 10), "dropped: an echo")
        finally:
            s.close()
        rec, doc = report(port, key, "dropped")
        if doc is None:
            continue
        tap.eq((doc["id"], doc["agent"]),
               (str(rec["id"]), ua if ua else "unknown"),
               "dropped: id the record's, agent the User-Agent or unknown")
        tap.eq((doc["closedByMe"], doc["droppedByMe"], doc["wasClean"],
                doc["localCloseCode"], doc["remoteCloseCode"]),
               (False, False, False, None, None),
               "dropped: no close frame, the peer dropped TCP")
        tap.ok(isinstance(doc["wasNotCleanReason"], str) and
               doc["wasNotCleanReason"] != "",
               "dropped: wasNotCleanReason says why", doc["wasNotCleanReason"])
        tap.eq((doc["rxFrameStats"], doc["txFrameStats"]),
               ({"2": 1}, {"2": 1}), "dropped: one frame each way")


def t_routes(port):
    cid = wsdtest.admin_stats(port)["cases"]["lastId"]
    st, doc, _ = wsdtest.admin_json(port, "/v1/cases/%d/autobahnx" % cid)
    tap.eq(st, 404, "route: trailing junk is 404")
    tap.ok(doc is not None and
           ("/v1/cases/%d/autobahnx" % cid) in doc.get("error", ""),
           "route: the 404 names the path", doc)
    st, doc, _ = wsdtest.admin_json(port, "/v1/cases/%d/autobahn?case=1" % cid)
    tap.eq(st, 400, "route: a query parameter it does not take is 400")
    st, doc, _ = wsdtest.admin_json(port, "/v1/cases/abc/autobahn")
    tap.eq(st, 400, "route: a bad id is 400")
    st, doc, _ = wsdtest.admin_json(port, "/v1/cases/%d/autobahn" % (cid + 100))
    tap.eq(st, 404, "route: a case never seen is 404")
    tap.ok(doc is not None and "no such case" in doc.get("error", ""),
           "route: and says so", doc)


def main():
    with wsdtest.Wsd(tap, workers=2) as w:
        port = wsdtest.admin_port(w)
        wsdtest.guard(tap, "echo", t_echo, port, w.port, 0)
        wsdtest.guard(tap, "echo, deflate", t_echo, port, w.port, 1)
        wsdtest.guard(tap, "refused", t_refused, port, w.port)
        wsdtest.guard(tap, "closes", t_closes, port, w.port)
        wsdtest.guard(tap, "dropped", t_dropped, port, w.port)
        wsdtest.guard(tap, "routes", t_routes, port)
    tap.done()


if __name__ == "__main__":
    main()
