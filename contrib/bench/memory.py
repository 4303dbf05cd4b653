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

usage: contrib/bench/memory.py [N] [extra wsd arguments...]
"""
import os
import sys
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


def open_conn(port, offer):
    extra = ["Sec-WebSocket-Extensions: " + offer] if offer else []
    s = wsdtest.open_ws(port, extra=extra)
    return s


def settle(pid):
    time.sleep(0.3)
    return rss_kib(pid)


def measure(label, n, extra, offer, action):
    """A fresh daemon per figure, so that no figure reuses memory another
    one freed."""
    tap = wsdtest.Tap()
    w = wsdtest.Wsd(tap, ["--max_connections", str(n + 10)] + extra)
    w.start()
    try:
        worker = w.workers()[0]
        # One connection first: the worker's one-time allocations (read
        # buffer, compression scratch, zlib tables) are not per connection.
        warm = open_conn(w.port, offer)
        action(warm)
        base = settle(worker)
        conns = []
        for _ in range(n):
            s = open_conn(w.port, offer)
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


def nothing(s):
    pass


def half_message(s):
    body = compressed(TEXT)
    s.sendall(wsdtest.frame(1, body[: len(body) // 2], fin=False, rsv=4))


def one_message(s):
    s.sendall(wsdtest.frame(1, compressed(TEXT), rsv=4))
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


if __name__ == "__main__":
    main()
