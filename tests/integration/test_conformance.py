#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""wsd's own conformance tests, organised by the sections of the Autobahn
testsuite's fuzzingclient cases (1 framing, 2 pings/pongs, 3 reserved bits,
4 opcodes, 5 fragmentation, 6 UTF-8, 7 close handling, 9 big messages, 10
auto-fragmentation), plus framing limits. Each case drives the real daemon
over a raw socket: exact frames in, exact frames and close codes out.

The expectations are those of RFC 6455 and of the Autobahn cases' "OK"
(strict) outcome, narrowed to wsd's documented choices where the RFC leaves
a choice: every protocol error gets a close frame with a code and a reason,
then the server closes the TCP connection once the client answers; invalid
UTF-8 fails fast with 1007; a valid close is echoed with its code.

Case numbers name the Autobahn case a test follows; "x" marks tests of our
own in the same section. Autobahn itself stays a manual tool (README).
"""
import functools
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsdtest as W  # noqa: E402
from wsdtest import (OPNAME, close_payload, first_diff, frame,  # noqa: E402
                     show_frames, text_pattern)

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0, 1, 2, 8, 9, 10

# A close frame answering a protocol error arrives within FAIL_READ s. Once
# we answer it, TCP must be closed within PROMPT_EOF s, less than the
# default close_timeout_ms (2 s): the server reacts to our close, it does
# not wait for its timer. Where the server cannot find our close in the
# stream (it failed inside a frame, or on an unusable length), only its
# close timer can end the connection: STUCK_EOF is that timer plus slack.
FAIL_READ = 2.0
PROMPT_EOF = 1.0
STUCK_EOF = 2.0 + 1.5

tap = W.Tap()
case = W.Cases(tap)
expect_fail = functools.partial(W.expect_fail, tap, read_within=FAIL_READ,
                                eof_within=PROMPT_EOF)
close_clean = functools.partial(W.close_clean, tap, read_within=FAIL_READ,
                                eof_within=PROMPT_EOF)
PORT = [None]
DAEMON = [None]  # the Wsd of the main cases, for its admin endpoint
WORKER = [None]
IDLE_FDS = [None]  # the worker's descriptors with no client connected


def ws(port=None):
    return W.open_ws(port or PORT[0])


def binary_pattern(n):
    return (bytes(range(256)) * (n // 256 + 1))[:n]


def expect_frame(s, name, op, payload, what=None):
    """The next server frame is one unfragmented frame of op and payload."""
    fin, rsv, gop, got = W.read_frame(s)
    d = first_diff(got, payload)
    return tap.ok(fin and rsv == 0 and gop == op and got == payload,
                  "%s: %s" % (name, what or "%s %d bytes echoed in one frame"
                              % (OPNAME[op], len(payload))),
                  "got fin=%r rsv=%r opcode=%r length %d, want fin=True "
                  "rsv=0 opcode=%d length %d; first difference at %r; got "
                  "%r" % (fin, rsv, gop, len(got), op, len(payload), d,
                          got[:60]))


def expect_message(s, name, op, payload, controls=()):
    """The next server message (frames reassembled) is op and payload, with
    exactly the control frames `controls` arriving before it completes."""
    gop, got, ctl = W.read_message(s)
    d = first_diff(got, payload)
    return tap.ok(gop == op and got == payload and ctl == list(controls),
                  "%s: %s%s message of %d bytes echoed" %
                  (name, "%s, then " % show_frames(controls)
                   if controls else "", OPNAME[op], len(payload)),
                  "got opcode %r length %d controls %s, want opcode %d length "
                  "%d controls %s; first difference at %r" %
                  (gop, len(got), show_frames(ctl), op, len(payload),
                   show_frames(list(controls)), d))


def send_frames(s, frames, how):
    """Sends frames in one write ("one"), one write per frame with a short
    pause ("frames", Autobahn's sync), or byte by byte ("octets")."""
    if how == "one":
        s.sendall(b"".join(frames))
    elif how == "frames":
        for f in frames:
            s.sendall(f)
            time.sleep(0.02)
    else:
        W.send_chopped(s, b"".join(frames), 1)


# 1. Framing: echo of text and binary messages ------------------------------

def t_echo(name, op, n, chop=None):
    payload = text_pattern(n) if op == TEXT else binary_pattern(n)
    s = ws()
    data = frame(op, payload)
    W.send_chopped(s, data, chop)
    expect_frame(s, name, op, payload)
    close_clean(s, name)


def section_1():
    sizes = [0, 125, 126, 127, 128, 65535, 65536]
    for i, n in enumerate(sizes):
        case("1.1.%d text %d bytes" % (i + 1, n), t_echo, TEXT, n)
    case("1.1.8 text 65536 bytes sent in chops of 997", t_echo, TEXT, 65536,
         chop=997)
    for i, n in enumerate(sizes):
        case("1.2.%d binary %d bytes" % (i + 1, n), t_echo, BINARY, n)
    case("1.2.8 binary 65536 bytes sent in chops of 997", t_echo, BINARY,
         65536, chop=997)


# 2. Pings and pongs --------------------------------------------------------

def t_ping(name, payload, chop=None):
    s = ws()
    data = frame(PING, payload)
    W.send_chopped(s, data, chop)
    expect_frame(s, name, PONG, payload, "pong with the ping's %d bytes"
                 % len(payload))
    close_clean(s, name)


def t_ping_too_big(name):
    s = ws()
    s.sendall(frame(PING, b"\xfe" * 126))
    expect_fail(s, name, 1002)


def t_unsolicited_pong(name, payload):
    s = ws()
    s.sendall(frame(PONG, payload) + frame(TEXT, b"after the pong"))
    expect_frame(s, name, TEXT, b"after the pong",
                 "pong ignored: the next frame is the text echo")
    close_clean(s, name)


def t_pong_then_ping(name):
    s = ws()
    s.sendall(frame(PONG, b"unsolicited pong payload") +
              frame(PING, b"ping payload"))
    expect_frame(s, name, PONG, b"ping payload",
                 "only the ping is answered")
    close_clean(s, name)


def t_ten_pings(name, chop=None):
    s = ws()
    payloads = [b"payload-%d" % i for i in range(10)]
    data = b"".join(frame(PING, p) for p in payloads)
    W.send_chopped(s, data, chop)
    got = []
    for _ in payloads:
        fin, rsv, op, p = W.read_frame(s)
        got.append((op, p))
    tap.eq(got, [(PONG, p) for p in payloads],
           "%s: 10 pongs with the payloads, in order" % name)
    close_clean(s, name)


def section_2():
    case("2.1 ping, empty payload", t_ping, b"")
    case("2.2 ping, small text payload", t_ping, b"Hello, world!")
    case("2.3 ping, small binary payload", t_ping,
         b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")
    case("2.4 ping, 125 bytes", t_ping, b"\xfe" * 125)
    case("2.5 ping, 126 bytes (control frame > 125)", t_ping_too_big)
    case("2.6 ping, 125 bytes sent byte by byte", t_ping, b"\xfe" * 125,
         chop=1)
    case("2.7 unsolicited pong, empty", t_unsolicited_pong, b"")
    case("2.8 unsolicited pong with payload", t_unsolicited_pong,
         b"unsolicited pong payload")
    case("2.9 unsolicited pong, then ping", t_pong_then_ping)
    case("2.10 ten pings", t_ten_pings)
    case("2.11 ten pings sent byte by byte", t_ten_pings, chop=1)


# 3. Reserved bits ----------------------------------------------------------

HELLO = b"Hello, world!"


def t_rsv_alone(name, op, rsv, payload):
    s = ws()
    s.sendall(frame(op, payload, rsv=rsv))
    expect_fail(s, name, 1002)


def t_rsv_after_message(name, rsv, how):
    s = ws()
    send_frames(s, [frame(TEXT, HELLO), frame(TEXT, HELLO, rsv=rsv),
                    frame(PING)], how)
    expect_fail(s, name, 1002, before=[(TEXT, HELLO)])


def section_3():
    case("3.1 text with RSV=1", t_rsv_alone, TEXT, 1, HELLO)
    case("3.2 text, text with RSV=2, ping (one write)", t_rsv_after_message,
         2, "one")
    case("3.3 text, text with RSV=3, ping (frame by frame)",
         t_rsv_after_message, 3, "frames")
    case("3.4 text, text with RSV=4, ping (byte by byte)",
         t_rsv_after_message, 4, "octets")
    case("3.5 binary with RSV=5", t_rsv_alone, BINARY, 5,
         b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")
    case("3.6 ping with RSV=6", t_rsv_alone, PING, 6, HELLO)
    case("3.7 close with RSV=7", t_rsv_alone, CLOSE, 7, b"")
    # Every single bit on every kind of frame.
    for op, payload in ((TEXT, HELLO), (BINARY, b"\x00\xff"), (PING, HELLO),
                        (CLOSE, close_payload(1000))):
        for bit, rsv_name in ((4, "RSV1"), (2, "RSV2"), (1, "RSV3")):
            case("3.x %s with %s set" % (OPNAME[op], rsv_name),
                 t_rsv_alone, op, bit, payload)


# 4. Opcodes ----------------------------------------------------------------

def t_reserved_opcode(name, op, payload):
    s = ws()
    s.sendall(frame(op, payload))
    expect_fail(s, name, 1002)


def t_reserved_opcode_after_message(name, op, payload, how="one"):
    s = ws()
    send_frames(s, [frame(TEXT, HELLO), frame(op, payload), frame(PING)], how)
    expect_fail(s, name, 1002, before=[(TEXT, HELLO)])


def section_4():
    rp = b"reserved opcode payload"
    case("4.1.1 opcode 3", t_reserved_opcode, 3, b"")
    case("4.1.2 opcode 4 with payload", t_reserved_opcode, 4, rp)
    case("4.1.3 text, opcode 5, ping", t_reserved_opcode_after_message, 5,
         b"")
    case("4.1.4 text, opcode 6 with payload, ping",
         t_reserved_opcode_after_message, 6, HELLO)
    case("4.1.5 text, opcode 7 with payload, ping (byte by byte)",
         t_reserved_opcode_after_message, 7, HELLO, "octets")
    case("4.2.1 opcode 11", t_reserved_opcode, 11, b"")
    case("4.2.2 opcode 12 with payload", t_reserved_opcode, 12, rp)
    case("4.2.3 text, opcode 13, ping", t_reserved_opcode_after_message, 13,
         b"")
    case("4.2.4 text, opcode 14 with payload, ping",
         t_reserved_opcode_after_message, 14, HELLO)
    case("4.2.5 text, opcode 15 with payload, ping (byte by byte)",
         t_reserved_opcode_after_message, 15, HELLO, "octets")
    # Every reserved opcode, empty, with payload, and after a message.
    for op in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):
        case("4.x opcode %d, empty" % op, t_reserved_opcode, op, b"")
        case("4.x opcode %d with payload" % op, t_reserved_opcode, op, rp)
        case("4.x text, opcode %d with payload, ping" % op,
             t_reserved_opcode_after_message, op, rp)


# 5. Fragmentation ----------------------------------------------------------

F = [b"fragment1", b"fragment2", b"fragment3", b"fragment4", b"fragment5"]


def t_fragmented_control(name, op, payload):
    s = ws()
    s.sendall(frame(op, payload, fin=False) + frame(CONT, F[1]))
    expect_fail(s, name, 1002)


def t_two_fragments(name, how):
    s = ws()
    send_frames(s, [frame(TEXT, F[0], fin=False), frame(CONT, F[1])], how)
    expect_message(s, name, TEXT, F[0] + F[1])
    close_clean(s, name)


def t_ping_between_fragments(name, how):
    s = ws()
    send_frames(s, [frame(TEXT, F[0], fin=False), frame(PING, b"ping payload"),
                    frame(CONT, F[1])], how)
    expect_message(s, name, TEXT, F[0] + F[1],
                   controls=[(PONG, b"ping payload")])
    close_clean(s, name)


def t_frames_fail(name, frames, how="one", before=()):
    s = ws()
    send_frames(s, frames, how)
    expect_fail(s, name, 1002, before=before)


def t_5_19(name, how):
    """Fragments with pings in between, with a pause: the first ping is
    answered before the message is complete."""
    s = ws()
    send_frames(s, [frame(TEXT, F[0], fin=False), frame(CONT, F[1], fin=False),
                    frame(PING, b"pongme 1!")], how)
    s.settimeout(W.timeout(1))
    fin, rsv, op, p = W.read_frame(s)
    tap.ok(op == PONG and p == b"pongme 1!",
           "%s: first pong arrives while the message is still open" % name,
           "got opcode %r payload %r" % (op, p))
    s.settimeout(W.timeout(5))
    send_frames(s, [frame(CONT, F[2], fin=False), frame(CONT, F[3], fin=False),
                    frame(PING, b"pongme 2!"), frame(CONT, F[4])], how)
    expect_message(s, name, TEXT, b"".join(F),
                   controls=[(PONG, b"pongme 2!")])
    close_clean(s, name)


def section_5():
    case("5.1 ping in 2 fragments", t_fragmented_control, PING, F[0])
    case("5.2 pong in 2 fragments", t_fragmented_control, PONG, F[0])
    case("5.x close with FIN=0", t_fragmented_control, CLOSE,
         close_payload(1000))
    case("5.3 text in 2 fragments", t_two_fragments, "one")
    case("5.4 text in 2 fragments (frame by frame)", t_two_fragments,
         "frames")
    case("5.5 text in 2 fragments (byte by byte)", t_two_fragments, "octets")
    case("5.6 text in 2 fragments, ping in between", t_ping_between_fragments,
         "one")
    case("5.7 text in 2 fragments, ping in between (frame by frame)",
         t_ping_between_fragments, "frames")
    case("5.8 text in 2 fragments, ping in between (byte by byte)",
         t_ping_between_fragments, "octets")
    orphan_fin = [frame(CONT, b"non-continuation payload"), frame(TEXT, HELLO)]
    orphan = [frame(CONT, b"non-continuation payload", fin=False),
              frame(TEXT, HELLO)]
    case("5.9 continuation (FIN) with nothing to continue", t_frames_fail,
         orphan_fin, "one")
    case("5.10 continuation (FIN) with nothing to continue (frame by frame)",
         t_frames_fail, orphan_fin, "frames")
    case("5.11 continuation (FIN) with nothing to continue (byte by byte)",
         t_frames_fail, orphan_fin, "octets")
    case("5.12 continuation with nothing to continue", t_frames_fail, orphan,
         "one")
    case("5.13 continuation with nothing to continue (frame by frame)",
         t_frames_fail, orphan, "frames")
    case("5.14 continuation with nothing to continue (byte by byte)",
         t_frames_fail, orphan, "octets")
    case("5.15 2-fragment text, orphan continuation, text", t_frames_fail,
         [frame(TEXT, F[0], fin=False), frame(CONT, F[1]),
          frame(CONT, F[2], fin=False), frame(TEXT, F[3])], "one",
         before=[(TEXT, F[0] + F[1])])
    for n, fin in (("5.16", False), ("5.17", True)):
        seq = [frame(CONT, F[0], fin=fin), frame(TEXT, F[1], fin=False),
               frame(CONT, F[2])] * 2
        case("%s orphan continuation%s, then 2-fragment text, twice"
             % (n, " (FIN)" if fin else ""), t_frames_fail, seq)
    case("5.18 text fragment, then a new text frame", t_frames_fail,
         [frame(TEXT, F[0], fin=False), frame(TEXT, F[1])])
    case("5.x text fragment, then a new binary frame", t_frames_fail,
         [frame(TEXT, F[0], fin=False), frame(BINARY, F[1])])
    case("5.x binary fragment, then a new text frame (FIN=0)", t_frames_fail,
         [frame(BINARY, F[0], fin=False), frame(TEXT, F[1], fin=False),
          frame(CONT, F[2])])
    case("5.19 fragments and pings, with a pause", t_5_19, "one")
    case("5.20 fragments and pings, with a pause (frame by frame)", t_5_19,
         "frames")


# 6. UTF-8 ------------------------------------------------------------------

KOSME = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"  # "κόσμε"
GREETING = "Hello-µ@ßöäüàá-UTF-8!!".encode("utf-8")

# Markus Kuhn's UTF-8 decoder stress test, the source of Autobahn's 6.x.x.
# Each vector says whether it is valid UTF-8 (RFC 3629); a self-check
# against Python's strict codec guards the table itself.
UTF8_VECTORS = [
    ("valid: U+0024", True, b"hello\x24world"),
    ("valid: U+00A2", True, b"hello\xc2\xa2world"),
    ("valid: U+20AC", True, b"hello\xe2\x82\xacworld"),
    ("valid: U+24B62", True, b"hello\xf0\xa4\xad\xa2world"),
    ("valid: kosme", True, KOSME),
    ("first 1-byte", True, b"\x00"),
    ("first 2-byte", True, b"\xc2\x80"),
    ("first 3-byte", True, b"\xe0\xa0\x80"),
    ("first 4-byte", True, b"\xf0\x90\x80\x80"),
    ("first 5-byte (invalid)", False, b"\xf8\x88\x80\x80\x80"),
    ("first 6-byte (invalid)", False, b"\xfc\x84\x80\x80\x80\x80"),
    ("last 1-byte", True, b"\x7f"),
    ("last 2-byte", True, b"\xdf\xbf"),
    ("last 3-byte", True, b"\xef\xbf\xbf"),
    ("last 4-byte U+10FFFF", True, b"\xf4\x8f\xbf\xbf"),
    ("4-byte beyond U+10FFFF", False, b"\xf4\x90\x80\x80"),
    ("last 4-byte pattern", False, b"\xf7\xbf\xbf\xbf"),
    ("U+D7FF", True, b"\xed\x9f\xbf"),
    ("U+E000", True, b"\xee\x80\x80"),
    ("U+FFFD", True, b"\xef\xbf\xbd"),
    ("noncharacter U+FFFE", True, b"\xef\xbf\xbe"),
    ("noncharacter U+FDD0", True, b"\xef\xb7\x90"),
    ("lone continuation 0x80", False, b"\x80"),
    ("lone continuation 0xbf", False, b"\xbf"),
    ("continuations 80 bf 80", False, b"\x80\xbf\x80"),
    ("all continuation bytes", False, bytes(range(0x80, 0xc0))),
    ("lonely 2-byte starts", False,
     b"".join(bytes([c, 0x20]) for c in range(0xc0, 0xe0))),
    ("lonely 3-byte starts", False,
     b"".join(bytes([c, 0x20]) for c in range(0xe0, 0xf0))),
    ("lonely 4-byte starts", False,
     b"".join(bytes([c, 0x20]) for c in range(0xf0, 0xf8))),
    ("2-byte missing its last byte", False, b"\xdf"),
    ("3-byte missing its last byte", False, b"\xef\xbf"),
    ("4-byte missing its last byte", False, b"\xf4\x8f\xbf"),
    ("text ending mid-sequence", False, b"hello\xe2\x82"),
    ("impossible 0xfe", False, b"\xfe"),
    ("impossible 0xff", False, b"\xff"),
    ("impossible fe fe ff ff", False, b"\xfe\xfe\xff\xff"),
    ("overlong '/' in 2 bytes", False, b"\xc0\xaf"),
    ("overlong '/' in 3 bytes", False, b"\xe0\x80\xaf"),
    ("overlong '/' in 4 bytes", False, b"\xf0\x80\x80\xaf"),
    ("maximum overlong 2-byte", False, b"\xc1\xbf"),
    ("maximum overlong 3-byte", False, b"\xe0\x9f\xbf"),
    ("maximum overlong 4-byte", False, b"\xf0\x8f\xbf\xbf"),
    ("overlong NUL", False, b"\xc0\x80"),
    ("surrogate U+D800", False, b"\xed\xa0\x80"),
    ("surrogate U+DBFF", False, b"\xed\xaf\xbf"),
    ("surrogate U+DC00", False, b"\xed\xb0\x80"),
    ("surrogate U+DFFF", False, b"\xed\xbf\xbf"),
    ("surrogate pair U+D800 U+DC00", False, b"\xed\xa0\x80\xed\xb0\x80"),
    ("invalid after valid text", False, b"valid text, then \xc3\x28"),
]
# Every prefix of "κόσμε": valid only when it ends on a character boundary.
for _i in range(1, len(KOSME) + 1):
    UTF8_VECTORS.append(("kosme prefix of %d bytes" % _i, None, KOSME[:_i]))


def is_utf8(b):
    try:
        b.decode("utf-8", "strict")
        return True
    except UnicodeDecodeError:
        return False


def t_text_echo(name, fragments, how="one"):
    s = ws()
    send_frames(s, W.message_frames(TEXT, fragments), how)
    expect_message(s, name, TEXT, b"".join(fragments))
    close_clean(s, name)


def t_text_invalid(name, fragments):
    s = ws()
    s.sendall(b"".join(W.message_frames(TEXT, fragments)))
    expect_fail(s, name, 1007)


def t_utf8_vector(name, valid, data):
    s = ws()
    s.sendall(frame(TEXT, data))
    if valid:
        expect_frame(s, name, TEXT, data, "valid text echoed")
        close_clean(s, name)
    else:
        expect_fail(s, name, 1007)


# Autobahn 6.4.*: the 2nd part makes the text invalid at its \x90.
P1 = KOSME
P2 = b"\xf4\x90\x80\x80"
P3 = b"edited"
P = P1 + P2 + P3


def read_and_kept(s, name, what, sent):
    """The worker has read the `sent` bytes that followed the handshake
    on s and still holds the connection open, having sent no frame: the
    connection's record says so (waiting for nothing to happen would also
    pass with a worker that never read them)."""
    want = len(W.handshake_request()) + sent
    W.record_shows(tap, DAEMON[0], s.getsockname()[1],
                   "%s: %s" % (name, what),
                   lambda r: r["state"] == "open" and
                   W.octets_sum(r["rxOctetStats"]) == want and
                   r["txFrameStats"] == {})


def t_fail_fast_fragments(name, first, second, third):
    """6.4.1/6.4.2: a valid first fragment is accepted (read, and no
    close); the close 1007 follows the bad fragment at once, before we
    send the last one."""
    s = ws()
    f = frame(TEXT, first, fin=False)
    s.sendall(f)
    read_and_kept(s, name, "the valid first fragment is accepted", len(f))
    s.sendall(frame(CONT, second, fin=False))
    expect_fail(s, name, 1007, read_within=1.0)


def t_fail_fast_chops(name, cut1, cut2):
    """6.4.3/6.4.4: one frame for the whole text, sent in chops; the close
    1007 must come as soon as the invalid byte arrives, while the rest of
    the frame is still unsent. The server is then inside a frame and
    cannot find our answer in the stream, hence STUCK_EOF."""
    s = ws()
    data = frame(TEXT, P)
    head = 6  # 2 header bytes + 4 masking key bytes (21-byte payload)
    s.sendall(data[:head + cut1])
    read_and_kept(s, name, "the valid first chop is accepted", head + cut1)
    s.sendall(data[head + cut1:head + cut2])
    expect_fail(s, name, 1007, read_within=1.0, eof_within=STUCK_EOF)


def t_binary_not_checked(name):
    s = ws()
    bad = b"\xff\xfe\xed\xa0\x80\xc0\xaf"
    s.sendall(frame(BINARY, bad))
    expect_frame(s, name, BINARY, bad, "invalid UTF-8 in binary echoed")
    close_clean(s, name)


def section_6():
    case("6.1.1 empty text", t_text_echo, [b""])
    case("6.1.2 text in 3 empty fragments", t_text_echo, [b"", b"", b""])
    case("6.1.3 text in 3 fragments, middle one non-empty", t_text_echo,
         [b"", b"middle frame payload", b""])
    case("6.2.1 valid multi-byte text", t_text_echo, [GREETING])
    case("6.2.2 valid text in 2 fragments split on a character boundary",
         t_text_echo, ["Hello-µ@ßöä".encode(), "üàá-UTF-8!!".encode()])
    case("6.2.3 valid text in 1-byte fragments", t_text_echo,
         [GREETING[i:i + 1] for i in range(len(GREETING))])
    case("6.2.4 kosme in 1-byte fragments", t_text_echo,
         [KOSME[i:i + 1] for i in range(len(KOSME))])
    case("6.2.x kosme in 1-byte fragments (byte by byte)", t_text_echo,
         [KOSME[i:i + 1] for i in range(len(KOSME))], "octets")
    bad = KOSME + b"\xed\xa0\x80" + b"edited"
    case("6.3.1 invalid text, one frame", t_text_invalid, [bad])
    case("6.3.2 invalid text in 1-byte fragments", t_text_invalid,
         [bad[i:i + 1] for i in range(len(bad))])
    case("6.4.1 fail fast: invalid 2nd fragment", t_fail_fast_fragments,
         P1, P2, P3)
    case("6.4.2 fail fast: 2nd fragment is the invalid byte",
         t_fail_fast_fragments, P[:12], P[12:13], P[13:])
    case("6.4.3 fail fast: invalid chop inside one frame", t_fail_fast_chops,
         len(P1), len(P1) + len(P2))
    case("6.4.4 fail fast: the invalid byte alone inside one frame",
         t_fail_fast_chops, 12, 13)
    case("6.x invalid UTF-8 in a binary message is not checked",
         t_binary_not_checked)
    for i, (what, valid, data) in enumerate(UTF8_VECTORS):
        if valid is None:
            valid = is_utf8(data)
        elif valid != is_utf8(data):
            tap.ok(False, "6.x table entry %r is classified right" % what)
            continue
        case("6.x.%d %s (%s)" % (i + 1, what, data[:12].hex()),
             t_utf8_vector, valid, data)


# 7. Close handling ---------------------------------------------------------

def t_message_then_close(name):
    s = ws()
    s.sendall(frame(TEXT, b"Hello World!") + frame(CLOSE, close_payload(1000)))
    got, reason, frames, err = W.read_close_within(s, FAIL_READ)
    eof, extra, t = W.drain_until_eof(s, PROMPT_EOF)
    tap.ok(err is None and frames == [(TEXT, b"Hello World!")] and
           got == 1000 and eof and not extra,
           "%s: echo, then close 1000, then TCP closed" % name,
           "frames %s close %r err %r eof %r extra %r" %
           (show_frames(frames), got, err, eof, extra[:80]))


def t_after_close(name, extra_frames, before_close=()):
    """We send a close and then more frames (7.1.2-7.1.5): the server
    answers the close only; what follows is discarded."""
    s = ws()
    s.sendall(b"".join(before_close) + frame(CLOSE, close_payload(1000)) +
              b"".join(extra_frames))
    got, reason, frames, err = W.read_close_within(s, FAIL_READ)
    eof, extra, t = W.drain_until_eof(s, PROMPT_EOF)
    tap.ok(err is None and not frames and got == 1000 and eof and not extra,
           "%s: only a close 1000, then TCP closed" % name,
           "frames %s close %r err %r eof %r after %.2f s, extra %r" %
           (show_frames(frames), got, err, eof, t, extra[:80]))


def t_7_1_6(name):
    big = (b"BAsd7&jh23" * 26215)[:256 * 1024]
    s = ws()
    s.sendall(frame(TEXT, big) + frame(TEXT, b"Hello World!") +
              frame(CLOSE, close_payload(1000)) + frame(PING))
    got, reason, frames, err = W.read_close_within(s, 5)
    eof, extra, t = W.drain_until_eof(s, PROMPT_EOF)
    tap.ok(err is None and frames == [(TEXT, big), (TEXT, b"Hello World!")]
           and got == 1000 and eof and not extra,
           "%s: both echoes, then close 1000, no pong, then TCP closed" % name,
           "frames %s close %r err %r eof %r extra %r" %
           (show_frames(frames), got, err, eof, extra[:80]))


def t_empty_close(name):
    s = ws()
    s.sendall(frame(CLOSE))
    s.settimeout(W.timeout(FAIL_READ))
    fin, rsv, op, payload = W.read_frame(s)
    eof, extra, t = W.drain_until_eof(s, PROMPT_EOF)
    # RFC 6455 §5.5.1 and Autobahn 7.3.1 accept an empty close or 1000;
    # wsd answers an empty close with an empty close.
    tap.ok(op == CLOSE and payload in (b"", close_payload(1000)) and eof
           and not extra,
           "%s: answered with an empty close, then TCP closed" % name,
           "opcode %r payload %r eof %r after %.2f s extra %r" %
           (op, payload, eof, t, extra[:80]))
    tap.eq(payload, b"", "%s: the answer is empty, like the close" % name)


def t_close_code(name, code, reason=b""):
    s = ws()
    s.sendall(frame(CLOSE, close_payload(code, reason)))
    got, rreason, frames, err = W.read_close_within(s, FAIL_READ)
    eof, extra, t = W.drain_until_eof(s, PROMPT_EOF)
    tap.ok(err is None and not frames and got == code and eof and not extra,
           "%s: close %d echoed, then TCP closed within %.1f s" %
           (name, code, PROMPT_EOF),
           "frames %s close %r err %r eof %r after %.2f s extra %r" %
           (show_frames(frames), got, err, eof, t, extra[:80]))


def t_bad_close(name, payload, want):
    """An invalid close from the client: the server answers with `want`.
    The client has sent its close already, so the server must close TCP
    right after its answer, without waiting for a second close."""
    s = ws()
    s.sendall(frame(CLOSE, payload))
    expect_fail(s, name, want, answer=False)


def t_close_reason_too_long(name):
    s = ws()
    s.sendall(frame(CLOSE, close_payload(1000, b"*" * 124)))
    expect_fail(s, name, 1002)


def t_lingering_close(name):
    """After failing, the server keeps reading until we are done: our
    answering close is read, not reset (RFC 6455 §7.1.1: the server closes
    TCP first, cleanly), and once we close our end the worker lets go of
    the connection at once, without waiting for close_timeout_ms."""
    pid = WORKER[0]
    base = IDLE_FDS[0]
    # Earlier cases' connections may still be closing on the server side.
    W.wait_until(lambda: W.fd_count(pid) == base, 2)
    s = ws()
    s.sendall(frame(TEXT, HELLO, rsv=1))
    got, reason, frames, err = W.read_close_within(s, FAIL_READ)
    W.send_close(s, 1002)
    # Until the server has closed its end, "not reset" would say nothing.
    how, extra, t = W.read_until_closed(s, PROMPT_EOF)
    so_error = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    tap.ok(got == 1002 and how == "fin" and not extra and so_error == 0,
           "%s: close 1002; our answering close is read, not reset: the "
           "server closes TCP with a FIN" % name,
           "close %r err %r; after our answer the connection %s after "
           "%.2f s, extra %r, socket error %s" %
           (got, err, {"fin": "got a FIN", "reset": "was reset"}.get(
               how, "stayed open"), t, extra[:80],
            os.strerror(so_error) if so_error else 0))
    s.close()
    t0 = time.monotonic()
    released = W.wait_until(lambda: W.fd_count(pid) == base, PROMPT_EOF,
                            step=0.01)
    tap.ok(released,
           "%s: the worker drops the connection as soon as we close" % name,
           "worker %d has %r descriptors after %.2f s, %r before" %
           (pid, W.fd_count(pid), time.monotonic() - t0, base))


def section_7():
    case("7.1.1 message, then close", t_message_then_close)
    case("7.1.2 two closes", t_after_close, [frame(CLOSE)])
    case("7.1.3 ping after close", t_after_close, [frame(PING)])
    case("7.1.4 text after close", t_after_close,
         [frame(TEXT, b"Hello World!")])
    case("7.1.5 fragment, close, last fragment", t_after_close,
         [frame(CONT, F[1])], [frame(TEXT, F[0], fin=False)])
    case("7.1.6 256 KiB text, text, close, ping", t_7_1_6)
    case("7.3.1 close without payload", t_empty_close)
    case("7.3.2 close with a 1-byte payload", t_bad_close, b"a", 1002)
    case("7.3.3 close 1000", t_close_code, 1000)
    case("7.3.4 close 1000 with a reason", t_close_code, 1000,
         b"Hello World!")
    case("7.3.5 close 1000 with a 123-byte reason", t_close_code, 1000,
         b"*" * 123)
    case("7.3.6 close with a 124-byte reason (payload 126)",
         t_close_reason_too_long)
    case("7.5.1 close reason not valid UTF-8", t_bad_close,
         close_payload(1000, KOSME + b"\xed\xa0\x80edited"), 1007)
    valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999,
             4000, 4999]
    for i, code in enumerate(valid):
        case("7.7.%d close with valid code %d" % (i + 1, code), t_close_code,
             code)
    invalid = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999]
    for i, code in enumerate(invalid):
        case("7.9.%d close with invalid code %d" % (i + 1, code), t_bad_close,
             close_payload(code), 1002)
    case("7.13.1 close with code 5000", t_bad_close, close_payload(5000),
         1002)
    case("7.13.2 close with code 65535", t_bad_close, close_payload(65535),
         1002)
    case("7.x lingering close after failing", t_lingering_close)


# 9. Big messages (sized down to 1 MiB) -------------------------------------

MIB = 1024 * 1024


def big_text(n):
    unit = GREETING + KOSME + b" "
    return (unit * (n // len(unit) + 1))[:n]


def t_big(name, op, fragment=None):
    if op == TEXT:
        payload = big_text(MIB)
        # Cut at a character boundary so that the whole is valid.
        while not is_utf8(payload):
            payload = payload[:-1]
    else:
        payload = os.urandom(MIB)
    s = ws()
    s.settimeout(W.timeout(20))
    if fragment is None:
        s.sendall(frame(op, payload))
    else:
        parts = [payload[i:i + fragment]
                 for i in range(0, len(payload), fragment)]
        s.sendall(b"".join(W.message_frames(op, parts)))
    expect_message(s, name, op, payload)
    close_clean(s, name)


def section_9():
    case("9.1.x text 1 MiB in one frame", t_big, TEXT)
    case("9.2.x binary 1 MiB in one frame", t_big, BINARY)
    # 64 KiB fragments cut multi-byte characters apart: the UTF-8 check
    # must carry its state across fragments.
    case("9.3.x text 1 MiB in 64 KiB fragments", t_big, TEXT, 65536)
    case("9.4.x binary 1 MiB in 64 KiB fragments", t_big, BINARY, 65536)
    case("9.x binary 1 MiB in 1000-byte fragments", t_big, BINARY, 1000)


# 10. Auto-fragmentation ----------------------------------------------------

def section_10():
    payload = b"*" * 65536
    parts = [payload[i:i + 1300] for i in range(0, len(payload), 1300)]
    case("10.1.1 text 65536 bytes in 1300-byte fragments", t_text_echo, parts)


# Framing limits (section x) ------------------------------------------------

def t_raw_fail(name, data, code, eof_within=PROMPT_EOF):
    s = ws()
    s.sendall(data)
    expect_fail(s, name, code, eof_within=eof_within)


def pattern(op, n):
    return text_pattern(n) if op == TEXT else binary_pattern(n)


def send_sized(s, op, sizes):
    """Sends one message in frames of these sizes; returns its payload."""
    parts = [pattern(op, n) for n in sizes]
    s.sendall(b"".join(W.message_frames(op, parts)))
    return b"".join(parts)


def t_limit_echo(name, op, sizes):
    s = ws()
    expect_message(s, name, op, send_sized(s, op, sizes))
    close_clean(s, name)


def t_limit_fail(name, op, sizes):
    s = ws()
    send_sized(s, op, sizes)
    expect_fail(s, name, 1009)


def section_x_framing():
    key = os.urandom(4)
    case("x.1 unmasked text frame", t_raw_fail,
         frame(TEXT, HELLO, mask=False), 1002)
    case("x.2 unmasked ping", t_raw_fail, frame(PING, HELLO, mask=False),
         1002)
    # A 64-bit length with its most significant bit set (RFC 6455 §5.2):
    # the length is unusable, so the stream cannot be followed past it.
    case("x.3 64-bit length with the MSB set", t_raw_fail,
         bytes([0x82, 0xff]) + (1 << 63).to_bytes(8, "big") + key, 1002,
         eof_within=STUCK_EOF)
    case("x.4 16-bit length form for 5 bytes (not minimal)", t_raw_fail,
         frame(TEXT, b"hello", width=16), 1002)
    case("x.5 64-bit length form for 5 bytes (not minimal)", t_raw_fail,
         frame(TEXT, b"hello", width=64), 1002)
    case("x.6 64-bit length form for 65535 bytes (not minimal)", t_raw_fail,
         frame(BINARY, binary_pattern(65535), width=64), 1002)
    case("x.7 16-bit length form for 125 bytes (not minimal)", t_raw_fail,
         frame(BINARY, binary_pattern(125), width=16), 1002)
    case("x.8 ping with a 16-bit length form for 4 bytes", t_raw_fail,
         frame(PING, b"ping", width=16), 1002)


def section_x_limits(port):
    """Against a daemon started with --max_message_bytes 65536
    --max_frame_bytes 16384."""
    PORT[0] = port
    case("x.10 binary 16384 bytes (= max_frame_bytes) echoed", t_limit_echo,
         BINARY, [16384])
    case("x.11 text 65536 bytes (= max_message_bytes) in 4 frames echoed",
         t_limit_echo, TEXT, [16384] * 4)
    case("x.12 binary frame of 16385 bytes (> max_frame_bytes)",
         t_limit_fail, BINARY, [16385])
    case("x.13 text frame of 65537 bytes (> both limits)", t_limit_fail,
         TEXT, [65537])
    case("x.14 binary message of 65537 bytes in 5 frames (> "
         "max_message_bytes)", t_limit_fail, BINARY, [16384] * 4 + [1])
    case("x.15 text message of 80000 bytes in 5 frames", t_limit_fail, TEXT,
         [16000] * 5)
    # Only the header of a 1 GiB frame: the limit applies as soon as the
    # length is known, without waiting for (or buffering) the payload.
    case("x.16 header of a 1 GiB frame, no payload", t_raw_fail,
         bytes([0x82, 0xff]) + (1 << 30).to_bytes(8, "big") + os.urandom(4),
         1009, eof_within=STUCK_EOF)
    # The largest length RFC 6455 allows (2^63 - 1): too big, not invalid.
    case("x.17 header of a 2^63 - 1 byte frame", t_raw_fail,
         bytes([0x82, 0xff]) + ((1 << 63) - 1).to_bytes(8, "big") +
         os.urandom(4), 1009, eof_within=STUCK_EOF)


def main():
    with W.Wsd(tap) as w:
        PORT[0] = w.port
        DAEMON[0] = w
        workers = sorted(w.workers())
        WORKER[0] = workers[0]
        W.warm_up(w.port)
        IDLE_FDS[0] = W.fd_count_settled(workers[0])
        section_1()
        section_2()
        section_3()
        section_4()
        section_5()
        section_6()
        section_7()
        section_9()
        section_10()
        section_x_framing()
        tap.eq(sorted(w.workers()), workers,
               "no worker died during the conformance cases")
    with W.Wsd(tap, ["--max_message_bytes", "65536",
                     "--max_frame_bytes", "16384"]) as w:
        section_x_limits(w.port)
    tap.done()


if __name__ == "__main__":
    main()
