# SPDX-License-Identifier: MIT
"""`wsd compare` against a proxy that meddles on purpose.

meddler.py, the project's own proxy, sits between a raw client that keeps
its side of each wire in the Autobahn testsuite's per-case format
(farend.py) and a live wsd, and changes one thing per mode: it
re-fragments messages, coalesces them, strips the extension offer,
rewrites a close code, drops wsd's close frame, or closes TCP on its own.
Each change must be found by `wsd compare` and named, in its text and in
its --json, on the way it was made, and nothing else found. The control:
the same traffic through the meddler passing every octet as it came, and
through the meddler holding the client's octets back to pass them on in
one write (TCP cut otherwise, which is no difference but is reported),
compares identical.

Only loopback and kernel-chosen ports; the meddler and wsd are stopped by
their pids.
"""
import json
import os
import shutil
import tempfile
import time

import wsdtest
from farend import FarEnd, save
from proxies import Meddler
from wsdtest import Tap

tap = Tap()
OFFER = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"


def run_compare(folder, port, tmp):
    """wsd compare on folder and the admin endpoint: (status, stdout,
    stderr, the --json document or None)."""
    return wsdtest.run_compare(
        folder, ["http://127.0.0.1:%d" % port],
        os.path.join(tmp, os.path.basename(folder) + ".json"))


def records_closed(port, keys):
    """Whether wsd's record of each key is closed (its connection over)."""
    for key in keys:
        q = "/v1/cases?key=" + key.replace("+", "%2B").replace(
            "/", "%2F").replace("=", "%3D")
        status, doc, _ = wsdtest.admin_json(port, q)
        cases = doc.get("cases") if status == 200 and doc else None
        if not cases or any(c.get("state") != "closed" for c in cases):
            return False
    return True


def key_of(side):
    head = side.r["httpRequest"]
    return head.split("Sec-WebSocket-Key: ", 1)[1].split("\r\n", 1)[0]


def through(w, tmp, mode, drive):
    """Runs drive(port, agent) through the meddler in mode, writes the
    client's sides into a folder and compares it with wsd's records:
    (status, stdout, stderr, --json document, the client's sides)."""
    folder = os.path.join(tmp, mode)
    os.mkdir(folder)
    index = {}
    with Meddler(w.port, mode) as m:
        sides = drive(m.port, mode)
    for s in sides:
        s.write(folder, index)
    save(os.path.join(folder, "index.json"), index)
    admin = wsdtest.admin_port(w)
    wsdtest.wait_until(lambda: records_closed(admin, map(key_of, sides)), 5)
    return run_compare(folder, admin, tmp) + (sides,)


# The client's traffic, one function per story --------------------------------

def echo(side, opcode, payload, parts=None):
    """Sends a message (in parts, when given, as fragments) and reads its
    echo."""
    parts = parts or [payload]
    for i, p in enumerate(parts):
        side.send_frame(opcode if i == 0 else 0, p, fin=i == len(parts) - 1)
    return side.recv_message()


def mixed(port, agent):
    """A text message, a fragmented one with a ping between its
    fragments, a binary one, a close with a reason."""
    a = FarEnd(port, "1", agent=agent)
    echo(a, 1, b"hello, meddler")
    a.send_frame(1, b"frag", fin=False)
    a.send_frame(9, b"are you there")
    a.send_frame(0, b"mented")
    a.recv_frame()  # the pong
    a.recv_message()
    echo(a, 2, bytes(range(256)) * 4)
    a.close(1001, b"going")
    return [a]


def messages(port, agent):
    """A message of one frame, then one of two frames."""
    a = FarEnd(port, "1", agent=agent)
    echo(a, 1, b"hello, meddler")
    echo(a, 1, b"fragmented", [b"frag", b"mented"])
    a.close()
    return [a]


def three_fragments(port, agent):
    a = FarEnd(port, "1", agent=agent)
    echo(a, 1, b"fragmented", [b"frag", b"men", b"ted"])
    a.close()
    return [a]


def deflate_offer(port, agent):
    """permessage-deflate offered; a message echoed."""
    a = FarEnd(port, "1", agent=agent, extra=[OFFER])
    echo(a, 1, b"no compression asked of this one")
    a.close()
    return [a]


def paced(port, agent):
    """Three messages and the close, each written 50 ms after the one
    before without waiting for an echo (so that, passed on as they come,
    they arrive in reads of their own), then everything read."""
    a = FarEnd(port, "1", agent=agent)
    for op, payload in ((1, b"one"), (1, b"two"), (2, b"\x00three")):
        a.send_frame(op, payload)
        time.sleep(0.05)
    a.close()
    return [a]


def cut_short(port, agent):
    """An echo, then the connection's end waited for, without a close."""
    a = FarEnd(port, "1", agent=agent)
    echo(a, 1, b"hello, meddler")
    a.end()
    return [a]


# Checks ----------------------------------------------------------------------

WAYS = ("clientToServer", "serverToClient", "closing")


def differences(doc, way):
    return [(d["kind"], d["text"])
            for c in doc["cases"] for d in c["comparison"][way]["differences"]]


def named(tap, name, result, want, also=()):
    """want: [(way, kind, text)] each found in --json on its way with its
    kind, and in the case's line of the text; the status is 1; and no
    other difference than those and the kinds of `also` ([(way, kind)],
    the counts that follow from them)."""
    rc, out, err, doc, _ = result
    tap.eq(rc, 1, "%s: exit status 1" % name)
    tap.ok(doc is not None and doc["summary"]["differ"] == 1,
           "%s: --json written, the case differs" % name, out + err)
    doc = doc or {"cases": []}
    line = [x for x in out.splitlines() if "(wsd case " in x]
    for way, kind, text in want:
        tap.ok(any(k == kind and text in t for k, t in differences(doc, way)),
               "%s: --json names it on %s, %s: %s" % (name, way, kind, text),
               json.dumps([c.get("comparison") for c in doc["cases"]],
                          indent=1)[:3000])
        tap.ok(len(line) == 1 and text in line[0],
               "%s: the text names it too" % name, out)
    allowed = {(w, k) for w, k, _ in want} | set(also)
    others = [(w, k, t) for w in WAYS for k, t in differences(doc, w)
              if (w, k) not in allowed]
    tap.ok(not others, "%s: nothing else differs" % name, others)


def identical(tap, name, result):
    rc, out, err, doc, _ = result
    tap.ok(rc == 0 and "1 case: 1 identical, 0 differ, 0 unpaired; 0 wsd "
           "records unpaired" in out,
           "%s: identical, exit status 0" % name, out + err)
    return doc


def t_meddler(w, tmp):
    identical(tap, "transparent", through(w, tmp, "transparent", mixed))

    r = through(w, tmp, "refragment", messages)
    named(tap, "refragment", r, [
        ("clientToServer", "fragmented", "fragmented on the way: message 1 "
         "(text, 14 octets) sent in 1 frame, arrived in 2 (same payload "
         "octets)"),
        ("clientToServer", "re-fragmented", "re-fragmented on the way: "
         "message 2 (text, 10 octets) sent as frames of 4+6 octets, arrived "
         "as 5+5 (same payload octets)")],
        also=[("clientToServer", "frames by opcode")])

    r = through(w, tmp, "coalesce", three_fragments)
    named(tap, "coalesce", r, [
        ("clientToServer", "coalesced", "coalesced on the way: message 1 "
         "(text, 10 octets) sent in 3 frames, arrived in 1 (same payload "
         "octets)")],
        also=[("clientToServer", "frames by opcode")])

    # The control first: without the meddler's change, wsd grants the
    # offer.
    with Meddler(w.port, "transparent") as m:
        a = FarEnd(m.port, "1", extra=[OFFER])
        a.close()
    tap.ok("permessage-deflate" in a.headers.get("sec-websocket-extensions",
                                                 ""),
           "strip-extensions' control: through the transparent meddler, "
           "wsd grants the offer", a.headers)
    r = through(w, tmp, "strip-extensions", deflate_offer)
    tap.ok("sec-websocket-extensions" not in r[4][0].headers,
           "strip-extensions: wsd, offered nothing, granted nothing",
           r[4][0].headers)
    named(tap, "strip-extensions", r, [
        ("clientToServer", "extension offer", "extension offer stripped on "
         "the way: \"permessage-deflate; client_max_window_bits\"")])

    r = through(w, tmp, "close-code", messages)
    tap.eq(r[4][0].r["remoteCloseCode"], 1001,
           "close-code: wsd answered the code it was given")
    named(tap, "close-code", r, [
        ("clientToServer", "close code", "close code rewritten on the way: "
         "1000 sent, 1001 arrived")])

    r = through(w, tmp, "drop-close", messages)
    tap.ok(r[4][0].r["remoteCloseCode"] is None and
           not r[4][0].r["wasClean"],
           "drop-close: the client got no close frame", r[4][0].r)
    named(tap, "drop-close", r, [
        ("serverToClient", "close frame dropped", "close frame dropped on "
         "the way: wsd sent close 1000, the client got none"),
        ("serverToClient", "dropped", "dropped on the way: frame 3 (close, "
         "2 octets)"),
        ("closing", "clean close", "clean close: the client says not clean, "
         "wsd says clean")],
        also=[("serverToClient", "frames by opcode")])

    r = through(w, tmp, "cut", cut_short)
    named(tap, "cut", r, [
        ("closing", "who closed TCP", "who closed TCP: each end says the "
         "other closed the TCP connection first; something between them "
         "closed it")])

    # TCP cut otherwise: reported, never a difference.
    r = through(w, tmp, "batch", paced)
    doc = identical(tap, "batch", r)
    if doc is not None:
        octets = doc["cases"][0]["comparison"]["clientToServer"]["octets"]
        tap.ok(octets["writes"] == 5 and octets["reads"] == 2 and
               not octets["sameSegmentation"] and
               octets["sent"] == octets["received"],
               "batch: the client's 5 writes arrived in 2 reads, the same "
               "octets, reported as TCP's cut", octets)
        n = doc["summary"]["segmentedOtherwise"]
        tap.ok(n >= 1 and "; %d cut otherwise by TCP, which is no "
               "difference)" % n in r[1],
               "batch: the summary counts it, as --json does", r[1])


def main():
    tmp = tempfile.mkdtemp()
    try:
        # Long wire logs (case_wirelog 4096), but few records: each worker
        # makes all of its records resident before its first accept, and
        # 4096 of them (the default) take over 1 GB, which on a loaded
        # machine outlasts a client's 5 s wait for the opening handshake.
        with wsdtest.Wsd(tap, ["--case_wirelog", "4096", "--stats_cases",
                               "256"]) as w:
            wsdtest.guard(tap, "the meddler", t_meddler, w, tmp)
    finally:
        shutil.rmtree(tmp)
    tap.done()


if __name__ == "__main__":
    main()
