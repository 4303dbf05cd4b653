# SPDX-License-Identifier: MIT
"""Failed resources, injected for real into a running wsd with the fault
injector tests/fault.so (LD_PRELOAD; see tests/fault.c): an allocation
that fails for a new connection, for a message's assembly, for the
inflater; a send that fails; an accept that fails with ENOBUFS. Each
time the affected connection gets a clear end (close 1011 with a reason
where a WebSocket is open), the failure is logged with a sentence naming
it, the other connections carry on, and the stats account for the
connection (a record settled, or, without one, a count).

An injection is armed by a file the test creates just before the call it
aims at, so the daemon's start-up is never hit. The shim writes a line to
its own log for each fault it injects: every case checks that it fired.

Real processes on 127.0.0.1 ports the kernel picks; every wait bounded.
"""
import os
import re
import subprocess
import time
import zlib

import wsdtest as W

tap = W.Tap()
SO = os.environ.get("WSD_FAULT_SO") or os.path.join(
    os.path.dirname(W.WSD), "..", "tests", "fault.so")
WSC = os.environ.get("WSC") or os.path.join(os.path.dirname(W.WSD), "wsc")
WORKER = "comm=wsd: worker"


def preload(binary):
    """LD_PRELOAD for binary: the shim, after the AddressSanitizer runtime
    where binary links it as a shared library (gcc's), which refuses to
    start unless it comes first. Its allocators then win over the
    shim's, as in a build with the runtime linked in (clang's)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True,
                         timeout=W.timeout(10)).stdout
    m = re.search(r"libasan\.so\S* => (\S+)", out)
    return m.group(1) + " " + SO if m else SO


class Faulty:
    """A Wsd with the fault injector loaded and rules (WSD_FAULT), each
    armed while the file self.arm exists."""

    def __init__(self, rules, args=(), asan=""):
        stamp = "%d-%d" % (os.getpid(), time.monotonic_ns())
        self.arm_path = "/tmp/wsd-test-fault-arm-%s" % stamp
        self.log_path = "/tmp/wsd-test-fault-log-%s" % stamp
        self.w = W.Wsd(tap, args=list(args))
        env = W.env_with_asan_options(asan) if asan else dict(os.environ)
        env["LD_PRELOAD"] = preload(W.WSD)
        env["WSD_FAULT"] = ";".join(r + ",arm=" + self.arm_path
                                    for r in rules)
        env["WSD_FAULT_LOG"] = self.log_path
        self.w.env = env

    def __enter__(self):
        self.w.start()
        return self

    def __exit__(self, *exc):
        self.disarm()
        self.w.kill_all()
        for p in (self.log_path,):
            try:
                os.unlink(p)
            except OSError:
                pass

    def arm(self):
        open(self.arm_path, "w").close()

    def disarm(self):
        try:
            os.unlink(self.arm_path)
        except OSError:
            pass

    def faults(self):
        """The shim's lines: one per fault injected."""
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def allocators_ours(self):
        """False when the program brings its own malloc (a build with
        AddressSanitizer), which the shim cannot make fail."""
        return "malloc is not ours" not in self.faults()

    def totals(self):
        return W.admin_stats(W.admin_port(self.w))["totals"]


def account(t):
    """The counts that say where every accepted connection went."""
    return {k: t[k] for k in ("accepted", "active", "unopened",
                              "unrecorded")}


def t_new_connection_oom():
    """No memory for a new connection's state: it is closed unanswered,
    and logged; having no record, it is still counted (accepted,
    unopened, unrecorded), as README's `accepted` = `active` + `clean` +
    `unclean` + `unopened` promises; the connection already open echoes
    on."""
    with Faulty(["func=calloc,%s" % WORKER]) as f:
        if not f.allocators_ours():
            tap.diag("this wsd brings its own malloc: no allocation fault")
            return
        held = W.open_ws(f.w.port)
        before = account(f.totals())
        f.arm()
        s = W.connect(f.w.port)
        s.sendall(W.handshake_request())
        gone = W.expect_eof(s)
        f.disarm()
        tap.ok("calloc" in f.faults(), "new connection: the fault fired",
               f.faults())
        tap.ok(gone, "new connection: closed")
        tap.ok(W.wait_until(lambda: "out of memory for a new connection"
                            in f.w.log(), 3),
               "new connection: the log names the failure", f.w.log())
        want = dict(before, accepted=before["accepted"] + 1,
                    unopened=before["unopened"] + 1,
                    unrecorded=before["unrecorded"] + 1)
        tap.eq(account(f.totals()), want,
               "new connection: counted accepted, unopened and unrecorded")
        tap.ok(W.echo_raw(held), "new connection: the open one echoes on")
        held.close()
        f.w.stop()


def refused_503(f, s, held, name):
    """s gets 503 with a body naming the want of memory, then the close;
    the log has an error line; the record says 503; held echoes on."""
    s.settimeout(W.timeout(5))
    status, _, body = W.read_http_response(s)
    tap.eq(status, 503, "%s: answered 503" % name)
    tap.ok(b"out of memory" in body, "%s: the body names the problem" % name,
           body)
    tap.ok(W.expect_eof(s), "%s: then the TCP connection closes" % name)
    tap.ok(W.wait_until(lambda: ": error: " in f.w.log(), 3),
           "%s: the log has an error line" % name, f.w.log())
    W.record_shows(tap, f.w, s.getsockname()[1],
                   "%s: the record is closed with status 503" % name,
                   lambda r: r["state"] == "closed" and
                   r["httpStatus"] == 503)
    tap.ok(W.echo_raw(held), "%s: the other connection echoes on" % name)


def t_handshake_buffer_oom():
    """No memory for the buffer of a handshake request: 503 "out of
    memory", not a reset."""
    with Faulty(["func=realloc,%s" % WORKER]) as f:
        if not f.allocators_ours():
            tap.diag("this wsd brings its own malloc: no allocation fault")
            return
        held = W.open_ws(f.w.port)
        f.arm()
        s = W.connect(f.w.port)
        s.sendall(W.handshake_request())
        refused_503(f, s, held, "handshake buffer")
        f.disarm()
        tap.ok("realloc" in f.faults(), "handshake buffer: the fault fired")
        s.close()
        held.close()
        f.w.stop()


def t_handshake_digest_oom():
    """No memory to compute Sec-WebSocket-Accept (the first malloc of the
    worker once the request is in: OpenSSL's SHA-1 context): 503 "out of
    memory", not silence from a connection the worker then treats as
    open."""
    with Faulty(["func=malloc,%s" % WORKER]) as f:
        if not f.allocators_ours():
            tap.diag("this wsd brings its own malloc: no allocation fault")
            return
        held = W.open_ws(f.w.port)
        s = W.connect(f.w.port)
        W.wait_until(lambda: W.case_by_peer(W.admin_port(f.w),
                                            s.getsockname()[1]) is not None,
                     3)
        f.arm()
        s.sendall(W.handshake_request())
        refused_503(f, s, held, "Sec-WebSocket-Accept")
        f.disarm()
        tap.ok("malloc" in f.faults(), "Sec-WebSocket-Accept: the fault fired")
        s.close()
        held.close()
        f.w.stop()


def fails_with_1011(f, s, held, name, reason):
    """s, whose last message could not be taken in, gets close 1011 with
    reason; the log has an error line naming it; its record settles once
    the close is answered; held echoes on."""
    code, got, _, err = W.read_close_within(s, 5)
    tap.eq((code, got, err), (1011, reason, None),
           "%s: close 1011 with the reason" % name)
    W.send_close(s, 1011)
    tap.ok(W.expect_eof(s), "%s: then the TCP connection closes" % name)
    tap.ok(W.wait_until(lambda: ": error: " in f.w.log() and
                        reason.decode() in f.w.log(), 3),
           "%s: the log has an error line naming it" % name, f.w.log())
    W.record_shows(tap, f.w, s.getsockname()[1],
                   "%s: the record is closed, failed by wsd with 1011" % name,
                   lambda r: r["state"] == "closed" and r["failedByMe"] and
                   r["localCloseCode"] == 1011)
    tap.ok(W.echo_raw(held), "%s: the other connection echoes on" % name)


def t_message_oom():
    """No memory to assemble a 2 MiB message (max_message_bytes allows
    it): close 1011 "out of memory", logged as an error."""
    big = 1024 * 1024
    # With AddressSanitizer, its allocator refuses what is over 1 MiB.
    with Faulty(["func=realloc,min=%d,count=0,%s" % (big, WORKER)],
                asan="allocator_may_return_null=1:max_allocation_size_mb=1"
                ) as f:
        held = W.open_ws(f.w.port)
        s = W.open_ws(f.w.port)
        f.arm()
        s.sendall(W.frame(2, os.urandom(2 * big)))
        fails_with_1011(f, s, held, "message assembly", b"out of memory")
        f.disarm()
        s.close()
        held.close()
        # AddressSanitizer warns of each allocation it refuses.
        f.w.stop(check_log=False)
        bad = [l for l in f.w.log().splitlines()
               if re.search(r": (crit|alert|emerg): |ERROR: AddressSanitizer|"
                            r"LeakSanitizer|runtime error:", l)]
        tap.ok(not bad, "message assembly: no crit line nor sanitizer error",
               "\n".join(bad[:20]))


def t_inflater_oom():
    """No memory for the inflater of a permessage-deflate connection:
    close 1011, logged as an error."""
    with Faulty(["func=inflateInit2_,%s" % WORKER]) as f:
        held = W.open_ws(f.w.port)
        s = W.open_ws(f.w.port,
                      extra=["Sec-WebSocket-Extensions: permessage-deflate"])
        c = zlib.compressobj(wbits=-15)
        data = c.compress(b"hello " * 100) + c.flush(zlib.Z_SYNC_FLUSH)
        f.arm()
        s.sendall(W.frame(1, data[:-4], rsv=4))
        fails_with_1011(f, s, held, "inflater",
                        b"out of memory for decompression")
        tap.ok("inflateInit2_" in f.faults(), "inflater: the fault fired")
        f.disarm()
        s.close()
        held.close()
        f.w.stop()


def t_deflater_oom():
    """No memory for the deflater: the echo goes out uncompressed (RSV1
    clear), which permessage-deflate allows (RFC 7692 §6), and the
    next one, with memory, is compressed."""
    with Faulty(["func=deflateInit2_,%s" % WORKER]) as f:
        s = W.open_ws(f.w.port,
                      extra=["Sec-WebSocket-Extensions: permessage-deflate"])
        payload = b"x" * 1000
        f.arm()
        s.sendall(W.frame(2, payload))
        fin, rsv, op, got = W.read_frame(s)
        f.disarm()
        tap.ok("deflateInit2_" in f.faults(), "deflater: the fault fired")
        tap.eq((fin, rsv, op, got), (True, 0, 2, payload),
               "deflater: the echo goes out uncompressed")
        s.sendall(W.frame(2, payload))
        fin, rsv, op, got = W.read_frame(s)
        d = zlib.decompressobj(wbits=-15)
        tap.eq((rsv, d.decompress(got + b"\x00\x00\xff\xff")),
               (4, payload), "deflater: the next echo is compressed")
        s.close()
        f.w.stop()


def t_send_epipe():
    """A send failing with EPIPE: that connection ends, its record says
    "connection error"; the other echoes on."""
    with Faulty(["func=send,errno=EPIPE,%s" % WORKER]) as f:
        held = W.open_ws(f.w.port)
        s = W.open_ws(f.w.port)
        f.arm()
        s.sendall(W.frame(2, b"lost"))
        tap.ok(W.expect_eof(s), "send EPIPE: the connection ends")
        f.disarm()
        tap.ok("send(" in f.faults(), "send EPIPE: the fault fired")
        W.record_shows(tap, f.w, s.getsockname()[1],
                       "send EPIPE: the record is closed, a connection error",
                       lambda r: r["state"] == "closed" and
                       r["wasNotCleanReason"] == "connection error")
        tap.ok(W.echo_raw(held), "send EPIPE: the other connection echoes on")
        s.close()
        held.close()
        f.w.stop()


def t_accept_enobufs():
    """accept4 failing with ENOBUFS three times: the worker pauses
    accepting (logged), then serves the client that waited."""
    with Faulty(["func=accept4,errno=ENOBUFS,count=3,%s" % WORKER]) as f:
        f.arm()
        s = W.connect(f.w.port)
        s.sendall(W.handshake_request())
        s.settimeout(W.timeout(5))
        status = W.read_http_response(s)[0]
        f.disarm()
        tap.eq(f.faults().count("accept4"), 3, "accept ENOBUFS: fired 3 times")
        tap.ok("accept4: No buffer space available: pausing accepts"
               in f.w.log(), "accept ENOBUFS: logged", f.w.log())
        tap.eq(status, 101, "accept ENOBUFS: the waiting client is served")
        s.close()
        f.w.stop()


def t_admin_json_oom():
    """No memory for one integer of the /v1/stats document (jansson's
    integers are 24-byte allocations; the third of the request fails):
    500 naming the want of memory, not a 200 with the member silently
    left out; the master lives on and answers the next request whole."""
    with Faulty(["func=malloc,min=24,max=24,nth=3,comm=wsd: master"]) as f:
        if not f.allocators_ours():
            tap.diag("this wsd brings its own malloc: no allocation fault")
            return
        port = W.admin_port(f.w)
        whole = W.admin_request(port, "/v1/stats")
        f.arm()
        status, _, body = W.admin_request(port, "/v1/stats")
        f.disarm()
        tap.ok("malloc(24)" in f.faults(), "admin JSON: the fault fired",
               f.faults())
        tap.eq(status, 500, "admin JSON: answered 500")
        tap.ok(b"out of memory" in body, "admin JSON: the body names it",
               body[:300])
        again = W.admin_request(port, "/v1/stats")
        tap.ok(again[0] == 200 and len(again[2]) >= len(whole[2]) - 16,
               "admin JSON: the next request is answered whole",
               (again[0], len(again[2]), len(whole[2])))
        f.w.stop()


def key_paths(doc, at=""):
    """The set of an object's key paths, into objects and lists."""
    paths = set()
    if isinstance(doc, dict):
        for k, v in doc.items():
            paths.add(at + "/" + k)
            paths |= key_paths(v, at + "/" + k)
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            paths |= key_paths(v, "%s[%d]" % (at, i))
    return paths


def t_admin_events_oom():
    """No memory for one integer of an event (the third 24-byte malloc of
    the master once armed): a subscription whose history lost a member is
    answered 500, not a stream that starts with it; a snapshot event that
    lost one is not sent, the next one is, whole."""
    with Faulty(["func=malloc,min=24,max=24,nth=3,comm=wsd: master"]) as f:
        if not f.allocators_ours():
            tap.diag("this wsd brings its own malloc: no allocation fault")
            return
        port = W.admin_port(f.w)
        # First with no subscriber, whose snapshots each tick would build,
        # once the history holds a few ticks' samples (numbers).
        time.sleep(3)
        f.arm()
        es = W.EventStream(port)
        status = es.read_head()
        f.disarm()
        tap.ok("malloc(24)" in f.faults(), "admin events: the fault fired "
               "for the history", f.faults())
        tap.eq(status, 500, "admin events: a history that lost a member: "
               "500")
        es.sock.close()
        es = W.EventStream(port)
        tap.eq(es.read_head(), 200, "admin events: then subscribed")
        es.sock.close()
        f.w.stop()

    # The rule fails one call: a fresh daemon for the snapshots.
    with Faulty(["func=malloc,min=24,max=24,nth=3,comm=wsd: master"]) as f:
        es = W.EventStream(W.admin_port(f.w))
        es.read_head()
        first = es.next_json("snapshot", 5)
        f.arm()
        got = [es.next_json("snapshot", 5) for _ in range(3)]
        f.disarm()
        tap.ok("malloc(24)" in f.faults(), "admin events: the fault fired "
               "for a snapshot", f.faults())
        want = key_paths(first or {})
        lacking = [sorted(want - key_paths(g))[:5] for g in got
                   if g is not None and key_paths(g) != want]
        tap.ok(first is not None and all(g is not None for g in got),
               "admin events: snapshots came on", got)
        tap.eq(lacking, [], "admin events: no snapshot lacks a member")
        tap.ok(W.wait_until(lambda: "out of memory for an event" in
                            f.w.log(), 3),
               "admin events: the log says an event was not sent",
               f.w.log())
        es.sock.close()
        f.w.stop()


def wsc_with(rule, port, data=b"hello\n"):
    """wsc sending data to 127.0.0.1:port with the fault rule (counted
    from its start): (exit status, stdout, stderr, faults injected), or
    None when wsc brings its own malloc."""
    log = "/tmp/wsd-test-fault-wsc-%d-%d" % (os.getpid(), time.monotonic_ns())
    env = dict(os.environ, LD_PRELOAD=preload(WSC), WSD_FAULT=rule,
               WSD_FAULT_LOG=log)
    p = subprocess.run([WSC, "ws://127.0.0.1:%d/ws" % port], input=data,
                       env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=W.timeout(20))
    try:
        with open(log) as f:
            lines = f.read().splitlines()
        os.unlink(log)
    except OSError:
        lines = []
    if "fault: malloc is not ours" in lines:
        return None
    fired = sum(1 for l in lines if l.startswith("fault: "))
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"), fired


def t_wsc_allocations():
    """wsc with each of its first allocations failing in turn (one per
    run): it ends with a message on standard error, or succeeds, and
    never dies of a signal (OpenSSL 3.0, first used by the handshake's
    digest, crashed in its own half-made state); a SHA-1 that fails for
    want of memory is not blamed on the server's Sec-WebSocket-Accept."""
    w = W.Wsd(tap)
    w.start()
    try:
        base = wsc_with("func=malloc,nth=1,count=0,min=1,max=0", w.port)
        if base is None:
            tap.diag("this wsc brings its own malloc: no allocation fault")
            w.stop()
            return
        tap.eq(base[:2], (0, b"hello\n"), "wsc: echoes with no fault")
        bad = []
        probe = "(none)"
        n = 0
        for n in range(1, 81):
            rc, out, err, fired = wsc_with("func=malloc,nth=%d" % n, w.port)
            if fired == 0:
                break
            if rc < 0 or (rc != 0 and err.strip() == ""):
                bad.append((n, rc, err.strip()))
        tap.ok(n > 1 and not bad, "wsc: %d allocation failures each end "
               "with a message or succeed, never a signal" % (n - 1), bad[:5])
        if W.alive(w.pid):
            probe = wsc_with("func=malloc,min=96,max=96,nth=2", w.port)
        tap.ok(probe[3] == 1 and "out of memory" in probe[2] and
               "does not match" not in probe[2],
               "wsc: a SHA-1 without memory is named as such", probe)
        w.stop()
    finally:
        w.kill_all()


def main():
    if not os.path.exists(SO):
        tap.bail("no fault injector at %s" % SO)
    W.guard(tap, "new connection", t_new_connection_oom)
    W.guard(tap, "handshake buffer", t_handshake_buffer_oom)
    W.guard(tap, "Sec-WebSocket-Accept", t_handshake_digest_oom)
    W.guard(tap, "message assembly", t_message_oom)
    W.guard(tap, "inflater", t_inflater_oom)
    W.guard(tap, "deflater", t_deflater_oom)
    W.guard(tap, "send EPIPE", t_send_epipe)
    W.guard(tap, "accept ENOBUFS", t_accept_enobufs)
    W.guard(tap, "admin JSON", t_admin_json_oom)
    W.guard(tap, "admin events", t_admin_events_oom)
    W.guard(tap, "wsc allocations", t_wsc_allocations)
    tap.done()


if __name__ == "__main__":
    main()
