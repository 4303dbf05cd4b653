# SPDX-License-Identifier: MIT
"""Hostile peers that need a daemon of their own: descriptor exhaustion
(EMFILE) must pause accepting rather than spin, and keep serving the
connections it has; a slow reader of large echoes must not grow the
worker's memory past its limits, nor lose a byte; a refusal's 503 waiting
in the worker's output stage survives a burst that grew the stage; idle
connections that exhaust the master's descriptors pause its admin
endpoint instead of spinning it.

Real processes on 127.0.0.1 ports the kernel picks; every wait bounded.
"""
import os
import select
import signal
import socket
import struct
import time
import zlib

import wsdtest as W

tap = W.Tap()
MIB = 1024 * 1024


def cpu_ticks(pid):
    """utime + stime of pid, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def check_paused(name, pid, w, line):
    """Out of descriptors, process pid must rest rather than spin: a
    spinning one uses a core (ratio near 1), a paused one retries ten
    times a second; and the log says so once, not at every retry."""
    t0, c0 = time.monotonic(), cpu_ticks(pid)
    time.sleep(1.5)
    wall = (time.monotonic() - t0) * os.sysconf("SC_CLK_TCK")
    used = cpu_ticks(pid) - c0
    tap.ok(used < 0.2 * wall,
           "%s: no busy loop (%d of %d ticks)" % (name, used, wall))
    tap.ok(w.log().count(line) <= 2, "%s: logged once, not at every retry"
           % name, w.log().count(line))


def t_emfile():
    """With 64 descriptors and more clients than fit, accept fails with
    EMFILE: the worker pauses accepting (logged once, not per retry),
    burns next to no CPU while the clients wait, keeps echoing on the
    connections it holds, and takes the waiting ones once descriptors are
    free again."""
    limit = 64
    w = W.Wsd(tap, args=["--admin_listen", "off"])
    w.preexec = W.descriptor_limit(limit)
    w.start()
    conns = []
    waiting = []
    try:
        worker = w.workers()[0]
        for _ in range(limit):
            try:
                conns.append(W.open_ws(w.port, ))
            except (OSError, RuntimeError, EOFError):
                break
            if len(conns) >= limit:
                break
        held = len(conns)
        # The first connection that could not be accepted: its request
        # waits in the kernel's queue.
        s = W.connect(w.port)
        s.sendall(W.handshake_request())
        waiting.append(s)
        for _ in range(20):
            t = W.connect(w.port)
            waiting.append(t)
        tap.ok(W.wait_until(lambda: "pausing accepts" in w.log(), 5),
               "EMFILE: the worker logs that it pauses accepting", w.log())
        tap.ok(held < limit and held > limit // 2,
               "EMFILE: the worker held %d connections under a limit of %d "
               "descriptors" % (held, limit))
        check_paused("EMFILE, the worker while clients wait", worker, w,
                     "pausing accepts")
        tap.ok(all(W.echo_raw(c, os.urandom(32)) for c in conns[:5]),
               "EMFILE: the connections it holds keep echoing")
        for c in conns[:10]:
            c.close()
        s.settimeout(W.timeout(5))
        status = W.read_http_response(s)[0]
        tap.eq(status, 101, "EMFILE: a waiting client is served once "
                            "descriptors are free again")
        tap.ok(W.alive(w.pid) and W.alive(worker),
               "EMFILE: no process died")
        w.stop()
    finally:
        for c in conns + waiting:
            c.close()
        w.kill_all()


def t_admin_emfile():
    """Idle connections to the admin endpoint until the master runs out of
    descriptors: it pauses accepting there (one log line, no busy loop),
    the WebSocket workers go on echoing, and the endpoint answers again
    once the connections are gone."""
    limit = 48
    w = W.Wsd(tap, args=["--admin_listen", "127.0.0.1:0",
                         "--max_connections", "16"])
    w.preexec = W.descriptor_limit(limit)
    w.start()
    idle = []
    try:
        port = W.admin_port(w)
        ws = W.open_ws(w.port)
        for _ in range(limit):
            idle.append(W.connect(port))
        tap.ok(W.wait_until(lambda: "admin: accept" in w.log(), 5),
               "admin EMFILE: the master logs that it pauses accepting",
               w.log()[-400:])
        check_paused("admin EMFILE, the master", w.pid, w, "admin: accept")
        tap.ok(W.echo_raw(ws), "admin EMFILE: the workers keep echoing")
        for c in idle:
            c.close()
        idle = []
        status = None
        deadline = time.monotonic() + W.timeout(5)
        while status != 200 and time.monotonic() < deadline:
            try:
                status = W.admin_request(port, "/v1/stats")[0]
            except OSError:
                time.sleep(0.1)
        tap.ok(status == 200, "admin EMFILE: answers again once descriptors "
               "are free", w.log()[-600:])
        ws.close()
        w.stop()
    finally:
        for c in idle:
            c.close()
        w.kill_all()


def t_slow_reader_large():
    """4 MiB messages sent by a client that does not read: the worker
    stops reading once its output passes write_high_water_bytes, so its
    memory stays within a few messages; then every echo arrives whole and
    in order, and another connection is served all along."""
    size = 4 * MIB
    args = ["--max_message_bytes", "4m", "--max_frame_bytes", "4m",
            "--write_high_water_bytes", "1m", "--deflate", "off"]
    w = W.Wsd(tap, args=args)
    # Under AddressSanitizer, freed blocks wait in a quarantine (256 MiB by
    # default) before their memory is reused, so every 4 MiB message
    # buffer freed would count as growth: keep the quarantine small for
    # this daemon. Without the sanitizer the variable is ignored.
    w.env = W.env_with_asan_options("quarantine_size_mb=1")
    with w:
        pid = w.workers()[0]
        s = W.open_ws(w.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        other = W.open_ws(w.port)
        body = os.urandom(size)
        f = W.flood_until_stalled(
            s, lambda i: W.frame(2, i.to_bytes(4, "big") + body[4:]), pid,
            seconds=60, max_messages=40, sample_every=1)
        stalled, sent_msgs, sent = f["stalled"], f["complete"], f["sent"]
        rss0, peak, cur = f["rss0"], f["peak"], f["rest"]
        tap.ok(stalled, "slow reader: our sending stalls (after %d "
                        "messages, %.0f MiB)" % (sent_msgs, sent / MIB))
        # One message being assembled, one being echoed from where it
        # lies, the output past the high-water mark, and slack.
        tap.ok(peak - rss0 < 4 * size // 1024,
               "slow reader: worker RSS grew by less than 4 messages",
               "RSS %d KiB at start, peak %d KiB" % (rss0, peak))
        tap.ok(W.echo_raw(other, b"meanwhile"),
               "slow reader: another connection is served meanwhile")
        expected = sent_msgs + (1 if cur else 0)
        th, errors = W.send_in_background(s, cur)
        s.settimeout(W.timeout(30))
        # Keepalive pings may come in between: the echoes are what counts.
        bad = W.first_wrong_echo(s, expected,
                                 lambda i: i.to_bytes(4, "big") + body[4:],
                                 controls=True)
        th.join(W.timeout(30))
        tap.ok(bad is None and not errors,
               "slow reader: all %d echoes of 4 MiB arrive whole and in "
               "order" % expected, (bad, errors))
        s.sendall(W.frame(8, b"\x03\xe8"))
        code, _, _ = W.read_close(s)
        tap.eq(code, 1000, "slow reader: closes cleanly")
        s.close()
        other.close()


def t_staged_refusal():
    """A 503 written on accept waits in the worker's shared output stage
    until its socket is writable. A burst that grew the stage past what
    the worker keeps, ending in EOF within the same callback, must not
    let the next connection release the stage under that 503 (the worker
    died of SIGSEGV). SIGSTOP makes the burst, the new connections and a
    third peer's byte all wait for one round of the worker's loop."""
    w = W.Wsd(tap, args=["--admin_listen", "off", "--max_connections", "3"])
    with w:
        worker = w.workers()[0]
        idle = W.open_ws(w.port)
        other = W.open_ws(w.port)  # with the burst: the limit is reached
        # Echoes larger than what was received: the server compresses with
        # a 512-byte window what the client compressed with a 32 KiB one.
        burst = W.connect(w.port)
        burst.sendall(W.handshake_request(extra=[
            "Sec-WebSocket-Extensions: permessage-deflate; "
            "server_max_window_bits=9; server_no_context_takeover"]))
        status, _, _ = W.read_http_response(burst)
        tap.eq(status, 101, "staged refusal: deflate negotiated")
        # Grow the worker's receive window for the burst (TCP autotuning
        # follows what the application reads): pings, pongs read back.
        th, _ = W.send_in_background(burst, W.frame(9, b"p" * 125) * 20000)
        got = 0
        burst.settimeout(W.timeout(10))
        while got < 20000 * 127:
            chunk = burst.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
        th.join()
        # Repeats 1000 bytes apart: beyond the server's window, not the
        # client's. Three to a message keep the burst's payload under
        # what one connection may echo in one turn (1 MiB), so that the
        # worker reads it all, and its EOF, in one callback.
        z = zlib.compressobj(9, zlib.DEFLATED, -15)
        frames, size, payload = [], 0, 0
        while True:
            msg = os.urandom(1000) * 3
            c = z.compress(msg) + z.flush(zlib.Z_SYNC_FLUSH)
            f = W.frame(2, c[:-4], rsv=4)
            if size + len(f) + 131 > 256 * 1024:
                break
            frames.append(f)
            size += len(f)
            payload += len(msg)
        tap.diag("burst: %d messages, %d bytes of payload" % (len(frames),
                                                             payload))
        rest = 256 * 1024 - size  # one full read: pad with pings
        while rest > 0:
            n = min(rest - 6, 125) if rest > 131 else rest - 6
            if 0 < rest - (n + 6) < 6:
                n -= 6
            frames.append(W.frame(9, b"q" * n))
            rest -= n + 6
        data = b"".join(frames)
        tap.eq(len(data), 256 * 1024, "staged refusal: a burst of 256 KiB")
        os.kill(worker, signal.SIGSTOP)
        try:
            burst.setblocking(False)
            sent = 0
            try:
                while sent < len(data):
                    sent += burst.send(data[sent:])
            except BlockingIOError:
                pass
            tap.diag("burst: %d of %d bytes queued while the worker was "
                     "stopped" % (sent, len(data)))
            burst.shutdown(socket.SHUT_WR)
            third = W.connect(w.port)
            refused = W.connect(w.port)
            idle.sendall(b"\x82")  # the first byte of a frame
            third.sendall(W.handshake_request())
            time.sleep(0.05)
        finally:
            os.kill(worker, signal.SIGCONT)
        # The burst's EOF frees its place before the listener's turn
        # (it came first): the next connection is taken, the one after it
        # refused.
        status, _, _ = W.read_http_response(third)
        tap.eq(status, 101, "staged refusal: the next connection opens")
        status, _, _ = W.read_http_response(refused)
        tap.eq(status, 503, "staged refusal: the one past the limit gets "
               "its 503 whole")
        tap.ok(W.echo_raw(third) and W.echo_raw(other),
               "staged refusal: the connections echo")
        died = W.wait_until(lambda: "killed by signal" in w.log(), 1)
        tap.ok(not died and w.workers() == [worker],
               "staged refusal: the worker lives", w.log()[-400:])
        for s in (idle, other, burst, third, refused):
            s.close()


def bomb_frame(size):
    """A permessage-deflate message of `size` zero bytes, compressed on
    its own (about a thousandth of its size)."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    c = z.compress(bytes(size)) + z.flush(zlib.Z_SYNC_FLUSH)
    return W.frame(2, c[:-4], rsv=4)


DEFLATE = "Sec-WebSocket-Extensions: permessage-deflate"


SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's value


class Stamped:
    """A socket whose reads note when the kernel received the bytes
    (SO_TIMESTAMPNS): the order in which data reached two sockets, however
    late the test gets to read them."""

    def __init__(self, s):
        self.s = s
        self.last_ns = None  # kernel arrival time of the last bytes read
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)

    def recv(self, n, most=1024):
        data, anc, _, _ = self.s.recvmsg(min(n, most),
                                         socket.CMSG_SPACE(16))
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", cdata[:16])
                self.last_ns = sec * 10**9 + nsec
        return data

    def settimeout(self, t):
        self.s.settimeout(t)


def t_bombs_take_turns():
    """Deflate bombs that arrive together are inflated one per turn: a
    ping from another peer, sent at the same moment, is answered before
    the bombs are all echoed (it waited for all of them before), and
    every bomb is still echoed whole. The worker is stopped while the
    bytes arrive; the kernel's receive timestamps on the client sockets
    tell the order of the pong and the last echo, however loaded the
    machine."""
    n, size = 12, 4 * MIB
    # Level 9 makes each echo about 4 KB: all of them fit in the client's
    # receive buffer, so none waits in the server for room (which would
    # put it after the pong whatever the order of work).
    w = W.Wsd(tap, args=["--admin_listen", "off", "--deflate_level", "9"])
    with w:
        worker = w.workers()[0]
        bombs = Stamped(W.open_ws(w.port, extra=[DEFLATE]))
        other = Stamped(W.open_ws(w.port))
        data = bomb_frame(size) * n
        os.kill(worker, signal.SIGSTOP)
        try:
            bombs.s.sendall(data)
        finally:
            os.kill(worker, signal.SIGCONT)
        # The ping goes once the worker is busy with the bombs: it must
        # get a turn between two of them.
        inflate = zlib.decompressobj(-15)
        bombs.settimeout(W.timeout(30))
        first = W.read_message(bombs)[1]
        other.s.sendall(W.frame(9, b"turn"))
        other.settimeout(W.timeout(30))
        fin, rsv, op, payload = W.read_frame(other)
        tap.eq((op, payload), (10, b"turn"), "bombs: the other peer's pong")
        whole = 0
        for i in range(n):
            msg = first if i == 0 else W.read_message(bombs)[1]
            out = inflate.decompress(msg + b"\x00\x00\xff\xff")
            whole += len(out) == size and out.count(0) == size
        tap.eq(whole, n, "bombs: every one echoed whole")
        tap.ok(other.last_ns is not None and bombs.last_ns is not None and
               other.last_ns < bombs.last_ns,
               "bombs: the pong arrived before the last echo",
               "pong at %r ns, last echo at %r ns" % (other.last_ns,
                                                     bombs.last_ns))
        tap.ok(W.echo_raw(other.s), "bombs: the other peer echoes")
        bombs.s.close()
        other.s.close()


def t_tiny_frames_take_turns():
    """A flood of empty frames takes turns as a flood of payload does:
    each frame costs its connection's turn some work whatever its
    payload (16,384 frames a turn), so another peer's ping is answered
    after one turn of them, not after all that four reads hold (1 MiB of
    6-byte frames: some 175,000). The worker is stopped while 100,000
    empty frames, then the ping, arrive; the kernel's receive timestamps
    tell how many of the flood's echoes came before the pong, however
    loaded the machine; every frame is still echoed."""
    n = 100000
    w = W.Wsd(tap, args=["--admin_listen", "off", "--stats_cases", "16"])
    with w:
        worker = w.workers()[0]
        # The flood's receive buffer as large as may be, set before it
        # connects, and large echoes first, so that the kernel's buffers
        # on both sides have grown: a turn's echoes leave at its end.
        f = socket.socket()
        f.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * MIB)
        f.settimeout(W.timeout(30))
        f.connect(("127.0.0.1", w.port))
        f.sendall(W.handshake_request())
        tap.eq(W.read_http_response(f)[0], 101, "tiny frames: the flood's 101")
        big = bytes(MIB)
        warm = 0
        for _ in range(4):
            f.sendall(W.frame(2, big))
            warm += W.read_message(f)[1] == big
        tap.eq(warm, 4, "tiny frames: four 1 MiB echoes first")
        flood = Stamped(f)
        other = Stamped(W.open_ws(w.port))
        os.kill(worker, signal.SIGSTOP)
        try:
            th, errors = W.send_in_background(flood.s, W.frame(2) * n)
            time.sleep(0.3)
            # After the flood's bytes: the worker finds the flood's socket
            # ready first.
            other.s.sendall(W.frame(9, b"turn"))
            time.sleep(0.1)
        finally:
            os.kill(worker, signal.SIGCONT)
        other.settimeout(W.timeout(30))
        fin, rsv, op, payload = W.read_frame(other)
        tap.eq((op, payload), (10, b"turn"), "tiny frames: the pong")
        before = got = 0
        while got < 2 * n:
            data = flood.recv(2 * n - got, 8192)
            if not data:
                break
            got += len(data)
            if flood.last_ns is not None and other.last_ns is not None and \
                    flood.last_ns < other.last_ns:
                before = got
        th.join()
        tap.eq((got, errors), (2 * n, []),
               "tiny frames: every one of %d echoed" % n)
        # One turn of the flood at most before the pong (all that the
        # worker had read of it, when frames cost nothing).
        tap.ok(other.last_ns is not None and before // 2 <= 16384,
               "tiny frames: the pong came after one turn of the flood at "
               "most", "%d of the flood's echoes arrived before the pong"
               % (before // 2))
        tap.ok(W.echo_raw(other.s), "tiny frames: the other peer echoes")
        flood.s.close()
        other.s.close()


def t_amplified_echoes_bounded():
    """Echoes the server cannot compress as well as the client did (its
    window is 512 bytes) to a peer that never reads: the worker stops
    taking the peer's input at the high-water mark, so its memory stays
    within write_high_water_bytes and a message or two, not a whole read's
    worth of amplified echoes (a 256 KiB read holds a hundred of these
    1 MB messages)."""
    w = W.Wsd(tap, args=["--write_high_water_bytes", "256k",
                         "--max_message_bytes", "1m"])
    w.env = W.env_with_asan_options("quarantine_size_mb=1")  # as above
    with w:
        worker = w.workers()[0]
        W.warm_up(w.port)
        s = W.connect(w.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(W.handshake_request(extra=[
            DEFLATE + "; server_max_window_bits=9"]))
        tap.eq(W.read_http_response(s)[0], 101, "amplified: deflate on")
        # 1000 random bytes, a thousand times: 1 MB that the client
        # compresses to a few KB and the server hardly at all.
        z = zlib.compressobj(9, zlib.DEFLATED, -15)
        c = z.compress(os.urandom(1000) * 1000) + z.flush(zlib.Z_SYNC_FLUSH)
        one = W.frame(2, c[:-4], rsv=4)
        rss0 = W.vmrss_kib(worker)
        # Stopped while the messages arrive: its next read takes many.
        os.kill(worker, signal.SIGSTOP)
        try:
            th, _ = W.send_in_background(s, one * 40)
            time.sleep(0.2)
        finally:
            os.kill(worker, signal.SIGCONT)
        peak, last, steady = rss0, rss0, 0
        deadline = time.monotonic() + W.timeout(5)
        while steady < 25 and time.monotonic() < deadline:
            time.sleep(0.02)
            now = W.vmrss_kib(worker) or 0
            steady = steady + 1 if now == last else 0
            peak, last = max(peak, now), now
        grown = peak - rss0
        tap.ok(grown < 8 * 1024,
               "amplified: the worker grew by %d KiB while a peer that does "
               "not read asked for 40 MB of echoes" % grown)
        other = W.open_ws(w.port)
        tap.ok(W.echo_raw(other), "amplified: other connections echo")
        other.close()
        # The bound means something only if the worker did take messages
        # in and echo them, hardly compressed, and held the rest back: its
        # record says so (reading 40 MB through a 4 KB window would take
        # longer than the keepalive gives a peer that answers no ping).
        W.record_shows(
            tap, w, s.getsockname()[1], "amplified: the worker echoed "
            "messages it took in, hardly compressed, and held the rest",
            lambda r: 1 <= r["txMessages"] and r["rxMessages"] < 40 and
            r["deflate"] is not None and r["deflate"]["txCompressedBytes"] >
            0.9 * r["deflate"]["txUncompressedBytes"] > 0)
        s.close()
        th.join()


def t_memory_returned():
    """Memory that a burst of large messages took goes back to the kernel
    once they are done: a 16 MiB message first (after it, glibc's malloc
    serves every smaller buffer from its heap, which free() does not give
    back), then 12 connections that each hold 4 MiB of a message at once.
    Once all is echoed and closed, the worker's RSS must come back near
    where it was, not stay at the burst's peak."""
    n, size = 12, 4 * MIB
    args = ["--admin_listen", "off", "--stats_cases", "16",
            "--deflate", "off"]
    w = W.Wsd(tap, args=args)
    # AddressSanitizer's quarantine keeps freed memory resident on purpose.
    w.env = W.env_with_asan_options("quarantine_size_mb=0")
    with w:
        pid = w.workers()[0]
        s = W.open_ws(w.port)
        s.sendall(W.frame(2, bytes(16 * MIB)))
        W.read_message(s)
        W.close_clean(tap, s, "memory returned: the 16 MiB message's")
        s.close()
        rss0 = W.vmrss_kib(pid)
        conns = [W.open_ws(w.port) for _ in range(n)]
        msg = W.frame(2, bytes(size))
        for c in conns:
            c.sendall(msg[:-16])
        held = W.wait_until(lambda: W.vmrss_kib(pid) - rss0 >
                            n * size // 2048, 10)
        peak = W.vmrss_kib(pid)
        tap.ok(held, "memory returned: %d partial messages held" % n,
               "RSS %d KiB, then %d KiB" % (rss0, peak))
        for c in conns:
            c.sendall(msg[-16:])
        echoed = closed = 0
        for c in conns:
            c.settimeout(W.timeout(30))
            echoed += len(W.read_message(c)[1]) == size
            W.send_close(c, 1000)
            closed += W.read_close(c)[0] == 1000
            c.close()
        tap.eq((echoed, closed), (n, n),
               "memory returned: every message echoed, every close answered")
        back = W.wait_until(lambda: W.vmrss_kib(pid) - rss0 < 16 * 1024, 5)
        tap.ok(back, "memory returned: RSS back within 16 MiB of before",
               "RSS %d KiB before, %d KiB at the peak, %d KiB after"
               % (rss0, peak, W.vmrss_kib(pid)))


def main():
    W.guard(tap, "EMFILE", t_emfile)
    W.guard(tap, "admin EMFILE", t_admin_emfile)
    W.guard(tap, "slow reader of large echoes", t_slow_reader_large)
    W.guard(tap, "staged refusal", t_staged_refusal)
    W.guard(tap, "bombs take turns", t_bombs_take_turns)
    W.guard(tap, "tiny frames take turns", t_tiny_frames_take_turns)
    W.guard(tap, "amplified echoes bounded", t_amplified_echoes_bounded)
    W.guard(tap, "memory returned", t_memory_returned)
    tap.done()


if __name__ == "__main__":
    main()
