# SPDX-License-Identifier: MIT
"""The far end of a wire, for `wsd compare`: a raw WebSocket client that
keeps its own side of each connection as the Autobahn testsuite keeps a
case (its per-case report, "isServer" false), so that a test drives the
traffic itself and still has the client's report to pair with wsd's
record of the same connection.

FarEnd is one connection; FarEnd.write() puts its report into a folder
laid out as the testsuite's (index.json and a file per case).
"""
import json
import os
import struct
import time

import wsdtest


def log_payload(data):
    """A payload as the testsuite's wire log shows it: its text, " ..."
    after the first 64 bytes of a longer one; "0x" and hex when it is not
    UTF-8."""
    head = data[:64] if len(data) > 60 else data
    more = " ..." if len(data) > 60 else ""
    try:
        return head.decode("utf-8") + more
    except UnicodeDecodeError:
        return "0x" + head.hex() + more


def count(stats, key):
    stats[str(key)] = stats.get(str(key), 0) + 1


def save(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)


class FarEnd:
    """One client connection to 127.0.0.1:port that keeps its own report
    in the testsuite's per-case format (every key of it): its heads, its octets by the size
    of each send and receive, its frames by opcode, its wire log rows (TO,
    RO, TF, RF) and how it closed. .r is the report, .status the response
    status and .headers its headers (lower-case names).

    extra: more request header lines; host: the Host header (by default
    127.0.0.1:port, as a client puts it). A response other than 101
    raises. Every read is bounded (5 s, scaled)."""

    def __init__(self, port, case_id, extra=(), agent="pyclient", host=None):
        self.r = {
            "agent": agent, "id": case_id, "case": int(case_id),
            "isServer": False, "createWirelog": True, "createStats": True,
            "wirelog": [], "rxOctetStats": {}, "txOctetStats": {},
            "rxFrameStats": {}, "txFrameStats": {},
            "closedByMe": False, "failedByMe": False, "droppedByMe": False,
            "wasClean": False, "wasNotCleanReason": None,
            "wasOpenHandshakeTimeout": False,
            "wasCloseHandshakeTimeout": False,
            "localCloseCode": None, "localCloseReason": None,
            "remoteCloseCode": None, "remoteCloseReason": None,
            "wasServerConnectionDropTimeout": False,
            # The testsuite's verdict on the case: this client grades
            # nothing, as wsd's own reports say.
            "description": "", "expectation": "", "result": "",
            "resultClose": "", "behavior": "INFORMATIONAL",
            "behaviorClose": "INFORMATIONAL", "expected": {},
            "expectedClose": {}, "received": [], "reportTime": False,
            "reportCompressionRatio": False, "trafficStats": None,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                                     time.gmtime()),
            "duration": 0,
        }
        self.buf = b""
        self.got_close = False
        self.s = wsdtest.connect(port)
        request = wsdtest.handshake_request(
            extra=extra, host=host or "127.0.0.1:%d" % port)
        self.r["httpRequest"] = request.decode()
        self.send(request)
        while b"\r\n\r\n" not in self.buf:
            if not self.recv():
                raise EOFError("the connection closed before the response")
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.r["httpResponse"] = head.decode() + "\r\n\r\n"
        self.status, _, fields = wsdtest.parse_http_head(head)
        self.headers = {k.lower(): v for k, v in fields}
        if self.status != 101:
            self.s.close()
            raise RuntimeError("the opening handshake was refused: %r"
                               % head[:200])

    def send(self, data):
        self.s.sendall(data)
        count(self.r["txOctetStats"], len(data))
        self.r["wirelog"].append(["TO", [len(data), data[:32].hex()], False])

    def recv(self):
        data = self.s.recv(65536)
        if data:
            count(self.r["rxOctetStats"], len(data))
            self.r["wirelog"].append(["RO", [len(data), data[:32].hex()]])
        self.buf += data
        return data

    def send_frame(self, opcode, payload, fin=True, rsv=0):
        mask = os.urandom(4)
        count(self.r["txFrameStats"], opcode)
        self.r["wirelog"].append(["TF", [len(payload), log_payload(payload)],
                                  opcode, fin, rsv, mask.hex(), None, None,
                                  False])
        self.send(wsdtest.frame(opcode, payload, fin=fin, rsv=rsv, key=mask))

    def recv_frame(self):
        """The next server frame: (opcode, fin, payload). EOFError when the
        connection ends first."""
        while True:
            if len(self.buf) >= 2:
                n = self.buf[1] & 0x7f
                at = 2 + (2 if n == 126 else 8 if n == 127 else 0)
                if n >= 126 and len(self.buf) >= at:
                    n = int.from_bytes(self.buf[2:at], "big")
                if len(self.buf) >= at + n:
                    b0 = self.buf[0]
                    payload = self.buf[at:at + n]
                    self.buf = self.buf[at + n:]
                    op, fin = b0 & 0x0f, bool(b0 & 0x80)
                    count(self.r["rxFrameStats"], op)
                    self.r["wirelog"].append(
                        ["RF", [len(payload), log_payload(payload)], op, fin,
                         (b0 >> 4) & 7, False, None])
                    if op == 8:
                        self.got_close = True
                        self.remote_close(payload)
                    return op, fin, payload
            if not self.recv():
                raise EOFError("the connection ended%s" %
                               (" inside a frame" if self.buf else ""))

    def recv_message(self):
        """The next data message, its fragments joined, control frames
        before and between them read and logged: (opcode, payload)."""
        opcode, parts = None, []
        while True:
            op, fin, payload = self.recv_frame()
            if op == 8:
                raise ValueError("a close frame instead of a message")
            if op >= 8:
                continue
            opcode = op if opcode is None else opcode
            parts.append(payload)
            if fin:
                return opcode, b"".join(parts)

    def remote_close(self, payload):
        if len(payload) >= 2:
            self.r["remoteCloseCode"] = struct.unpack("!H", payload[:2])[0]
            self.r["remoteCloseReason"] = \
                payload[2:].decode("utf-8", "replace") or None

    def close(self, code=1000, reason=b""):
        """Closes first, as the testsuite does, then reads up to wsd's
        close frame and waits for wsd to close TCP, as is the server's
        duty (end())."""
        self.r["closedByMe"] = True
        self.r["localCloseCode"] = code
        self.r["localCloseReason"] = reason.decode() or None
        try:
            self.send_frame(8, struct.pack("!H", code) + reason)
        except OSError:
            pass
        self.end()

    def answer_close(self):
        """wsd closes first: reads up to its close frame, answers it with
        its code, and waits for wsd to close TCP (end())."""
        try:
            while not self.got_close:
                self.recv_frame()
        except (EOFError, OSError):
            return self.end()
        code = self.r["remoteCloseCode"]
        self.r["localCloseCode"] = code
        try:
            self.send_frame(8, b"" if code is None
                            else struct.pack("!H", code))
        except OSError:
            pass
        self.end()

    def end(self, seconds=5):
        """Reads (frames too) until the connection ends or `seconds`
        (scaled) pass, then closes it, and says how it ended: clean when
        close frames went both ways and wsd closed TCP first."""
        reason = None
        self.s.settimeout(wsdtest.timeout(seconds))
        try:
            while True:
                self.recv_frame()
        except EOFError:
            pass
        except ConnectionResetError:
            reason = "the TCP connection was reset"
        except (TimeoutError, OSError):
            self.r["droppedByMe"] = True
            reason = "wsd did not close the TCP connection in time"
        if reason is None and not self.got_close:
            reason = "the TCP connection ended without a close frame from wsd"
        elif reason is None and "8" not in self.r["txFrameStats"]:
            reason = "the TCP connection ended before we sent a close frame"
        self.s.close()
        self.r["wasClean"] = reason is None
        self.r["wasNotCleanReason"] = reason

    def write(self, folder, index):
        agent = self.r["agent"]
        name = "%s_case_%s.json" % (agent, self.r["id"])
        save(os.path.join(folder, name), self.r)
        index.setdefault(agent, {})[self.r["id"]] = {
            "behavior": "OK", "behaviorClose": "OK", "duration": 0,
            "remoteCloseCode": self.r["remoteCloseCode"], "reportfile": name}
