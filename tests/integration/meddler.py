# SPDX-License-Identifier: MIT
"""A WebSocket proxy that meddles on purpose, so that the tests can check
that `wsd compare` finds and names each kind of change a path between a
client and wsd can make. It relays one client connection to the upstream
per connection it accepts, and in one of these modes:

  transparent       every octet passed on as it came (the control);
  refragment        each message the client sends cut into frames anew: a
                    message of one frame (of 2 octets or more) passed on
                    as two frames; a fragmented one as many frames as it
                    came in, at other boundaries;
  coalesce          the frames of each fragmented message the client sends
                    joined into one (control frames between them go first);
  strip-extensions  the request's Sec-WebSocket-Extensions removed;
  close-code        the client's close code rewritten to 1001;
  drop-close        wsd's close frame never reaches the client;
  batch             the client's octets after its handshake held back until
                    its close frame, then passed on in one write: TCP cut
                    otherwise, every frame intact (no difference);
  cut               both TCP connections closed by the proxy once the first
                    data frame from wsd has reached the client;
  reset             the same, but both reset (RST, as SO_LINGER 0 makes a
                    close), as a proxy aborting a connection does.

Run as a program: meddler.py --upstream PORT --mode MODE; it listens on a
port of 127.0.0.1 the kernel picks, writes "ready port=N" on standard
output once it listens, and runs until SIGTERM. Python's standard library
alone (asyncio); the frame codec is its own, kept apart from wsd's.
"""
import argparse
import asyncio
import os
import signal
import socket
import struct
import sys

MODES = ("transparent", "refragment", "coalesce", "strip-extensions",
         "close-code", "drop-close", "batch", "cut", "reset")
NEW_CLOSE_CODE = 1001


class Frame:
    """One frame as read: its header fields, its payload unmasked, and
    the octets it came in (passed on as they are when not changed)."""

    def __init__(self, fin, rsv, opcode, payload, raw):
        self.fin = fin
        self.rsv = rsv
        self.opcode = opcode
        self.payload = payload
        self.raw = raw


def unmask(data, key):
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^
            int.from_bytes(k, "big")).to_bytes(n, "big")


def take_frame(buf):
    """The first whole frame of buf and the rest: (Frame, rest), or (None,
    buf) while it is not all there."""
    if len(buf) < 2:
        return None, buf
    b0, b1 = buf[0], buf[1]
    n = b1 & 0x7f
    at = 2
    if n == 126:
        if len(buf) < 4:
            return None, buf
        n = struct.unpack("!H", buf[2:4])[0]
        at = 4
    elif n == 127:
        if len(buf) < 10:
            return None, buf
        n = struct.unpack("!Q", buf[2:10])[0]
        at = 10
    key = None
    if b1 & 0x80:
        if len(buf) < at + 4:
            return None, buf
        key = buf[at:at + 4]
        at += 4
    if len(buf) < at + n:
        return None, buf
    payload = buf[at:at + n]
    if key is not None:
        payload = unmask(payload, key)
    f = Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0f, payload,
              buf[:at + n])
    return f, buf[at + n:]


def make_frame(opcode, payload, fin=True, rsv=0, masked=True):
    """A frame (RFC 6455 §5.2), masked with a fresh key when masked (the
    client's frames must be)."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    mbit = 0x80 if masked else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + unmask(payload, key)


def recut(sizes):
    """Other frame sizes for a message whose frames had sizes: two for
    one, else as many at other boundaries (equal ones, or one octet
    moved); sizes itself when the message is too short to cut."""
    total = len(sizes) and sum(sizes)
    n = 2 if len(sizes) == 1 else len(sizes)
    if total < n or (n == 2 and total < 2):
        return sizes
    cut = [total // n] * (n - 1)
    cut.append(total - sum(cut))
    if cut == sizes:
        cut[0] -= 1
        cut[1] += 1
    return cut if cut[0] > 0 else sizes


def message(opcode, rsv, payload, sizes):
    """A message's frames: payload cut into sizes, opcode and RSV on the
    first (RFC 7692 §6: RSV1 on the first frame only), FIN on the last."""
    out, at = [], 0
    for i, n in enumerate(sizes):
        out.append(make_frame(opcode if i == 0 else 0, payload[at:at + n],
                              fin=i == len(sizes) - 1,
                              rsv=rsv if i == 0 else 0))
        at += n
    return b"".join(out)


def strip_extensions(head):
    """The request head without its Sec-WebSocket-Extensions lines."""
    lines = head.split(b"\r\n")
    kept = [l for l in lines
            if not l.lower().startswith(b"sec-websocket-extensions:")]
    return b"\r\n".join(kept)


class Way:
    """One direction of one relayed connection: its head, then its frames,
    each passed through the mode's change for this direction."""

    def __init__(self, mode, upstream_bound, conn):
        self.mode = mode
        self.up = upstream_bound  # client->server
        self.conn = conn
        self.head_done = False
        self.buf = b""
        self.held = []            # coalesce: the frames of a message
        self.batch = b""          # batch: octets held back
        self.batching = mode == "batch" and upstream_bound
        self.closed = False       # batch: the client's close frame came

    def parses(self):
        """Whether this way's frames are read one by one (else its octets
        are passed on as they come)."""
        if self.mode in ("refragment", "coalesce", "close-code", "batch"):
            return self.up
        if self.mode in ("drop-close", "cut", "reset"):
            return not self.up
        return False

    def feed(self, data):
        """The octets to pass on for data read, b"" for none."""
        if not self.head_done:
            self.buf += data
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if not sep:
                return b""
            self.head_done = True
            self.buf = b""
            if self.mode == "strip-extensions" and self.up:
                head = strip_extensions(head)
            return head + sep + self.feed(rest)
        if not self.parses():
            return data
        self.buf += data
        out = []
        while True:
            f, self.buf = take_frame(self.buf)
            if f is None:
                break
            out.append(self.change(f))
        passed = b"".join(out)
        if self.batching:
            self.batch += passed
            if not self.closed:
                return b""
            self.batching = False
            passed, self.batch = self.batch, b""
        return passed

    def change(self, f):
        """The octets frame f becomes on the way."""
        mode = self.mode
        if mode in ("refragment", "coalesce") and f.opcode in (0, 1, 2):
            self.held.append(f)
            if not f.fin:
                return b""
            held, self.held = self.held, []
            sizes = [len(h.payload) for h in held]
            cut = recut(sizes) if mode == "refragment" else [sum(sizes)]
            if cut == sizes:
                return b"".join(h.raw for h in held)
            return message(held[0].opcode, held[0].rsv,
                           b"".join(h.payload for h in held), cut)
        if mode == "close-code" and f.opcode == 8 and len(f.payload) >= 2:
            return make_frame(8, struct.pack("!H", NEW_CLOSE_CODE) +
                              f.payload[2:])
        if mode == "drop-close" and f.opcode == 8:
            return b""
        if mode == "batch" and f.opcode == 8:
            self.closed = True
        if mode in ("cut", "reset") and f.opcode in (0, 1, 2) and f.fin:
            self.conn.cut_after_write = True
        return f.raw

    def rest(self):
        """What is left to pass on at the end of the stream."""
        held, self.batch = self.batch, b""
        return held


class Connection:
    """A client connection relayed to the upstream, both ways."""

    def __init__(self, mode):
        self.mode = mode
        self.cut_after_write = False
        self.writers = []

    def close_all(self):
        for w in self.writers:
            if w.is_closing():
                continue
            if self.mode == "reset" and self.cut_after_write:
                w.get_extra_info("socket").setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
                w.transport.abort()
            else:
                w.close()

    async def pump(self, reader, writer, way):
        """Relays one way until its end, then passes the end on (a FIN
        for a FIN); a reset or the cut closes both ways."""
        try:
            while True:
                data = await reader.read(262144)
                if not data or writer.is_closing():
                    break
                out = way.feed(data)
                if out:
                    writer.write(out)
                    await writer.drain()
                if self.cut_after_write:
                    self.close_all()
                    return
            out = way.rest()
            if out and not writer.is_closing():
                writer.write(out)
                await writer.drain()
            if not writer.is_closing() and writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            self.close_all()

    async def run(self, creader, cwriter, upstream):
        try:
            ureader, uwriter = await asyncio.open_connection("127.0.0.1",
                                                             upstream)
        except OSError:
            cwriter.close()
            return
        self.writers = [cwriter, uwriter]
        for w in self.writers:
            w.get_extra_info("socket").setsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(
            self.pump(creader, uwriter, Way(self.mode, True, self)),
            self.pump(ureader, cwriter, Way(self.mode, False, self)))
        self.close_all()


async def serve(upstream, mode):
    async def on_client(reader, writer):
        await Connection(mode).run(reader, writer, upstream)

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    sys.stdout.write("ready port=%d\n" % port)
    sys.stdout.flush()
    async with server:
        await stop.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", type=int, required=True,
                   help="the port of 127.0.0.1 to relay to")
    p.add_argument("--mode", choices=MODES, required=True)
    a = p.parse_args()
    asyncio.run(serve(a.upstream, a.mode))


if __name__ == "__main__":
    main()
