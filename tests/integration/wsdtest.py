# SPDX-License-Identifier: MIT
"""Harness for wsd's integration tests: TAP output, starting the real daemon
on a port the kernel picks, raw WebSocket frames, and bounded waits.

Every wait is bounded and scaled by WSD_TEST_TIMEOUT_MULT (sanitizer builds
are slower). Wsd.stop() ends exactly the processes the test started, and
fails the test when the daemon logged at crit/alert level or a sanitizer
reported anything.
"""
import base64
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time

MULT = float(os.environ.get("WSD_TEST_TIMEOUT_MULT", "1"))
WSD = os.environ.get("WSD", os.path.join(os.path.dirname(__file__),
                                         "..", "..", "src", "wsd"))


def timeout(seconds):
    """A wait of `seconds`, scaled for slow (sanitizer) builds."""
    return seconds * MULT


class Tap:
    """Test Anything Protocol output, read by automake's tap-driver.sh."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        print("%sok %d - %s" % ("" if cond else "not ", self.n, name))
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines():
                    print("#   " + line)
        sys.stdout.flush()
        return cond

    def eq(self, got, want, name):
        return self.ok(got == want, name, "got  %r\nwant %r" % (got, want))

    def diag(self, msg):
        for line in str(msg).splitlines():
            print("# " + line)
        sys.stdout.flush()

    def bail(self, msg):
        print("Bail out! " + msg)
        sys.stdout.flush()
        sys.exit(1)

    def done(self):
        print("1..%d" % self.n)
        sys.stdout.flush()
        sys.exit(1 if self.failed or self.n == 0 else 0)


def children(pid):
    """PIDs of the direct children of pid (the workers of a master)."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(cond, seconds, step=0.02):
    """Polls cond() until it is true or `seconds` (scaled) have passed."""
    deadline = time.monotonic() + timeout(seconds)
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return bool(cond())


class Wsd:
    """One wsd master started with --listen 127.0.0.1:0 and --ready_fd.

    args: extra command-line arguments, e.g. ["--workers", "2"].
    After start(), .pid is the master's PID, .port the WebSocket port and
    .tls_port the wss:// port (None unless the args turn TLS on).
    """

    def __init__(self, tap, args=(), workers=1):
        self.tap = tap
        self.args = ["--listen", "127.0.0.1:0", "--workers", str(workers)]
        self.args += list(args)
        self.proc = None
        self.pid = None
        self.port = None
        self.tls_port = None
        self.ready = {}
        self.log_path = None
        self.started = set()
        self.preexec = None  # run in the child before exec
        self.env = None      # the daemon's environment; None: inherited
        self.log_files = []  # files given to --log: stop() checks them too

    def start(self):
        rfd, wfd = os.pipe()
        self.log_path = "/tmp/wsd-test-%d-%d.log" % (os.getpid(), time.monotonic_ns())
        log = open(self.log_path, "wb")
        cmd = [WSD] + self.args + ["--ready_fd", str(wfd)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log, pass_fds=(wfd,),
                                     preexec_fn=self.preexec, env=self.env)
        log.close()
        os.close(wfd)
        self.pid = self.proc.pid
        self.started.add(self.pid)
        line = b""
        deadline = time.monotonic() + timeout(10)
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            r, _, _ = select.select([rfd], [], [], 0.1)
            if r:
                chunk = os.read(rfd, 512)
                if not chunk:
                    break
                line += chunk
        os.close(rfd)
        if not line.startswith(b"ready "):
            self.tap.diag("wsd did not get ready; its log:\n" + self.log())
            self.kill_all()
            self.tap.bail("wsd did not start: %r" % line)
        for word in line.decode().split()[1:]:
            k, _, v = word.partition("=")
            self.ready[k] = v
        self.port = int(self.ready["listen"].rsplit(":", 1)[1])
        if "tls_listen" in self.ready:
            self.tls_port = int(self.ready["tls_listen"].rsplit(":", 1)[1])
        wait_until(lambda: len(self.workers()) >= 1, 5)
        return self

    def workers(self):
        pids = children(self.pid)
        self.started.update(pids)
        return pids

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def signal(self, sig):
        os.kill(self.pid, sig)

    def kill_all(self):
        for pid in list(self.started):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=timeout(5))
            except subprocess.TimeoutExpired:
                pass

    def stop(self, check_log=True):
        """SIGTERM the master; every process it started must be gone within
        a bounded time. Checks the log unless check_log is False."""
        if self.proc is None:
            return
        self.workers()
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout(10))
        except subprocess.TimeoutExpired:
            code = None
        gone = wait_until(lambda: not any(alive(p) for p in self.started), 5)
        self.tap.ok(code == 0 and gone,
                    "wsd stops on SIGTERM with status 0, every process gone",
                    "status %r, alive %r" % (code, [p for p in self.started
                                                    if alive(p)]))
        self.kill_all()
        if check_log:
            self.check_log()
        self.proc = None

    def check_log(self):
        text = self.log()
        for path in self.log_files:
            try:
                with open(path, "rb") as f:
                    text += f.read().decode("utf-8", "replace")
            except OSError:
                pass
        bad = [l for l in text.splitlines()
               if re.search(r": (crit|alert|emerg): |AddressSanitizer|"
                            r"LeakSanitizer|runtime error:", l)]
        self.tap.ok(not bad, "no crit/alert log line nor sanitizer report",
                    "\n".join(bad[:20]))
        if os.environ.get("WSD_TEST_KEEP_LOGS") is None:
            try:
                os.unlink(self.log_path)
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# Raw WebSocket client side ---------------------------------------------------

def connect(port, timeout_s=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout(timeout_s))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def handshake_request(path="/ws", key=None, extra=(), version="13",
                      host="127.0.0.1"):
    key = key or base64.b64encode(os.urandom(16)).decode()
    lines = ["GET %s HTTP/1.1" % path, "Host: %s" % host,
             "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: %s" % key,
             "Sec-WebSocket-Version: %s" % version]
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_http_response(s, limit=65536):
    """Reads an HTTP response head and, when Content-Length says so, its
    body. Returns (status, headers dict with lower-case names, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            break
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/1.1 "):
        return None, {}, data
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = s.recv(4096)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest


def open_ws(port, path="/ws", extra=()):
    """A raw socket past a successful opening handshake."""
    s = connect(port)
    s.sendall(handshake_request(path, extra=extra))
    status, headers, rest = read_http_response(s)
    if status != 101:
        raise RuntimeError("handshake refused: %r %r" % (status, rest))
    return s


def frame(opcode, payload=b"", fin=True, rsv=0, mask=True, key=None,
          length=None):
    """Builds one client frame. length overrides the encoded length (for
    hostile frames); key defaults to a random masking key."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = key if key is not None else os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes"
                           % (len(data), n))
        data += chunk
    return data


def read_frame(s):
    """Reads one server frame: (fin, rsv, opcode, payload). Server frames
    must be unmasked; a masked one raises."""
    b0, b1 = recv_exact(s, 2)
    if b1 & 0x80:
        raise ValueError("server frame is masked")
    n = b1 & 0x7f
    if n == 126:
        n = struct.unpack("!H", recv_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(s, 8))[0]
    return bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0f, recv_exact(s, n)


def read_close(s):
    """Reads frames until a close frame; returns (code, reason, frames
    before it). code is None for an empty close payload."""
    before = []
    while True:
        fin, rsv, op, payload = read_frame(s)
        if op == 8:
            if len(payload) >= 2:
                return struct.unpack("!H", payload[:2])[0], payload[2:], before
            return None, b"", before
        before.append((op, payload))


def expect_eof(s, seconds=3):
    """True when the server closes the TCP connection (EOF or reset) within
    `seconds` (scaled), discarding whatever else arrives."""
    s.settimeout(timeout(seconds))
    try:
        while True:
            if not s.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except (socket.timeout, TimeoutError):
        return False


# Added for test_echo.py / test_processes.py -----------------------------------

def read_message(s):
    """Reads one whole data message, reassembling fragments. Returns
    (opcode, payload, controls): opcode of the first frame (1 text, 2
    binary), the joined payload, and the (opcode, payload) of every control
    frame that arrived in between. Raises ValueError on a bad sequence."""
    controls = []
    opcode = None
    parts = []
    while True:
        fin, rsv, op, payload = read_frame(s)
        if op >= 8:
            if op == 8:
                raise ValueError("close frame %r instead of a message"
                                 % payload[:64])
            controls.append((op, payload))
            continue
        if opcode is None:
            if op == 0:
                raise ValueError("message starts with a continuation frame")
            opcode = op
        elif op != 0:
            raise ValueError("opcode %d inside a fragmented message" % op)
        parts.append(payload)
        if fin:
            return opcode, b"".join(parts), controls


def conn_owner(sock, pids):
    """The PID among pids holding the server side of the client socket sock
    (a TCP connection over 127.0.0.1), found through /proc/net/tcp inodes;
    None when no process of pids holds it."""
    cport = sock.getsockname()[1]
    sport = sock.getpeername()[1]
    want = ":%04X" % sport, ":%04X" % cport
    inode = None
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                if (parts[1].endswith(want[0]) and parts[2].endswith(want[1])
                        and parts[9] != "0"):
                    inode = parts[9]
                    break
    except OSError:
        return None
    if inode is None:
        return None
    target = "socket:[%s]" % inode
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == target:
                    return pid
            except OSError:
                pass
    return None


def run_once(args, seconds=10):
    """Runs wsd with args (no --ready_fd) in its own session and returns
    (status, stdout, stderr) as (int or None, str, str). A run still going
    after `seconds` (scaled) is killed with its whole process group, and
    status is None."""
    proc = subprocess.Popen([WSD] + list(args), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout(seconds))
        status = proc.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        out, err = proc.communicate()
        status = None
    return (status, out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"))


def port_is_free(port):
    """True when a fresh socket can bind and listen on 127.0.0.1:port
    (SO_REUSEADDR, so TIME_WAIT leftovers do not count, a listener does)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(1)
        return True
    except OSError:
        return False
    finally:
        s.close()


# Added for test_conformance.py / test_bad_input.py ---------------------------

def mask(payload, key):
    """payload XOR the 4-byte key repeated (RFC 6455 §5.3); fast enough for
    payloads of many MiB, unlike a byte loop."""
    n = len(payload)
    if n == 0:
        return b""
    k = (bytes(key) * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big")
            ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def frame_fast(opcode, payload=b"", fin=True, rsv=0, key=None):
    """The same bytes as frame() with mask=True, built fast for large
    payloads."""
    key = key if key is not None else os.urandom(4)
    head = frame(opcode, b"", fin=fin, rsv=rsv, key=key, length=len(payload))
    return head + mask(payload, key)


def frame_wide(opcode, payload, width, fin=True, key=None):
    """A masked frame whose length is encoded in the 16-bit (width 16) or
    64-bit (width 64) form whatever its size: a non-minimal encoding when
    the payload is short enough for a smaller form (RFC 6455 §5.2)."""
    key = key if key is not None else os.urandom(4)
    b0 = (0x80 if fin else 0) | opcode
    if width == 16:
        head = struct.pack("!BBH", b0, 0x80 | 126, len(payload))
    elif width == 64:
        head = struct.pack("!BBQ", b0, 0x80 | 127, len(payload))
    else:
        raise ValueError("width must be 16 or 64")
    return head + key + mask(payload, key)


def send_chopped(s, data, chop=1, delay=0.0):
    """Sends data in pieces of `chop` bytes (each its own segment, as the
    sockets from connect() have TCP_NODELAY), sleeping `delay` between."""
    for i in range(0, len(data), chop):
        s.sendall(data[i:i + chop])
        if delay:
            time.sleep(delay)


def pending(s, seconds):
    """Watches the connection for `seconds` (scaled), or until the server
    closes it. Returns (data, eof): the bytes that arrived meanwhile (b""
    if none) and whether the server closed the connection (EOF or reset).
    For checking that nothing comes, or that the server holds on."""
    data = b""
    deadline = time.monotonic() + timeout(seconds)
    old = s.gettimeout()
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return data, False
            r, _, _ = select.select([s], [], [], left)
            if not r:
                return data, False
            try:
                s.settimeout(0)
                chunk = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except ConnectionResetError:
                return data, True
            finally:
                s.settimeout(old)
            if not chunk:
                return data, True
            data += chunk
    finally:
        s.settimeout(old)


def drain_until_eof(s, seconds):
    """Reads until the server closes the connection or `seconds` (scaled)
    pass. Returns (eof, data read, elapsed seconds unscaled)."""
    start = time.monotonic()
    deadline = start + timeout(seconds)
    data = b""
    old = s.gettimeout()
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False, data, time.monotonic() - start
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return True, data, time.monotonic() - start
            except (socket.timeout, TimeoutError):
                return False, data, time.monotonic() - start
            if not chunk:
                return True, data, time.monotonic() - start
            data += chunk
    finally:
        try:
            s.settimeout(old)
        except OSError:
            pass


def send_close(s, code=None, reason=b""):
    """Sends a masked close frame (empty when code is None). Returns False
    when the server had already closed the connection."""
    payload = b"" if code is None else close_payload(code, reason)
    try:
        s.sendall(frame(8, payload))
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2),
    computed here, independently of the daemon."""
    import hashlib
    if isinstance(key, str):
        key = key.encode()
    return base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()


def read_http_head(s, limit=65536):
    """Reads an HTTP response head one byte at a time, so that bytes after
    it (frames pipelined behind a 101) stay in the socket. Returns (status,
    headers dict with lower-case names); status None on EOF or garbage."""
    data = b""
    while not data.endswith(b"\r\n\r\n") and len(data) < limit:
        c = s.recv(1)
        if not c:
            break
        data += c
    lines = data.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/1.1 "):
        return None, {}
    headers = {}
    for l in lines[1:]:
        if l:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers


def http_exchange(port, request, seconds=3):
    """Sends raw request bytes on a fresh connection and reads until the
    server closes it or `seconds` (scaled) pass. Returns a dict: status
    (None if no HTTP/1.1 status line), reason, headers (lower-case names,
    last value wins), header_list [(name, value)], body (everything after
    the head), eof (the server closed the connection), raw."""
    s = connect(port)
    try:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass
        eof, raw, _ = drain_until_eof(s, seconds)
    finally:
        s.close()
    head, sep, body = raw.partition(b"\r\n\r\n")
    res = {"status": None, "reason": "", "headers": {}, "header_list": [],
           "body": body, "eof": eof, "raw": raw}
    lines = head.decode("latin-1").split("\r\n")
    if not sep or not lines[0].startswith("HTTP/1.1 "):
        return res
    parts = lines[0].split(" ", 2)
    try:
        res["status"] = int(parts[1])
    except (IndexError, ValueError):
        return res
    res["reason"] = parts[2] if len(parts) > 2 else ""
    for l in lines[1:]:
        k, _, v = l.partition(":")
        res["header_list"].append((k.strip(), v.strip()))
        res["headers"][k.strip().lower()] = v.strip()
    return res


def vmrss_kib(pid):
    """Resident set size of pid in KiB, from /proc/PID/status; None if the
    process is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def guard(tap, name, fn, *args, **kwargs):
    """Runs one test case fn(*args, **kwargs); an exception (a timeout, an
    early EOF, a refused connection) becomes a failed test point named
    after the case instead of ending the script."""
    import traceback
    try:
        return fn(*args, **kwargs)
    except Exception:
        tap.ok(False, "%s: raised" % name, traceback.format_exc())
        return None


def fd_count(pid):
    """Number of open descriptors of pid (a worker holding one more per
    connection), from /proc/PID/fd; None if the process is gone."""
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def fd_count_settled(pid, seconds=2, quiet=0.2):
    """fd_count(pid) once it has stayed the same for `quiet` seconds (the
    worker has finished closing what it was closing), or its last value
    after `seconds` (scaled)."""
    deadline = time.monotonic() + timeout(seconds)
    last = fd_count(pid)
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        n = fd_count(pid)
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def warm_up(port):
    """One whole connection (handshake, close handshake, both ends
    closed), so that a worker is past its start-up before a test measures
    it. Raises if the daemon does not answer."""
    s = open_ws(port)
    try:
        send_close(s, 1000)
        read_close(s)
        drain_until_eof(s, 2)
    finally:
        s.close()


# Added for test_deflate.py ---------------------------------------------------

def proc_status_kib(pid, field):
    """A size field of /proc/PID/status in KiB ("VmRSS", "VmHWM" for the
    peak resident set size, ...); None if the process is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def read_http_head_list(s, limit=65536):
    """Like read_http_head, but keeps every header line in order: returns
    (status, [(lower-case name, value)]); status None on EOF or garbage."""
    data = b""
    while not data.endswith(b"\r\n\r\n") and len(data) < limit:
        c = s.recv(1)
        if not c:
            break
        data += c
    lines = data.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/1.1 "):
        return None, []
    headers = []
    for l in lines[1:]:
        if l:
            k, _, v = l.partition(":")
            headers.append((k.strip().lower(), v.strip()))
    return int(lines[0].split()[1]), headers


class _FrameLog:
    """Follows one direction of a WebSocket connection: skips the HTTP
    head, then records (fin, rsv, opcode, payload length) of every frame
    without keeping payloads."""

    def __init__(self, frames):
        self.frames = frames
        self.http = True
        self.buf = b""
        self.skip = 0

    def feed(self, data):
        if self.http:
            self.buf += data
            _, sep, rest = self.buf.partition(b"\r\n\r\n")
            if not sep:
                return
            self.http = False
            self.buf = b""
            data = rest
        while True:
            if self.skip:
                take = min(self.skip, len(data))
                self.skip -= take
                data = data[take:]
                if self.skip:
                    return
            self.buf += data
            data = b""
            h = self.buf
            if len(h) < 2:
                return
            n = h[1] & 0x7f
            hl = 2 + (2 if n == 126 else 8 if n == 127 else 0)
            hl += 4 if h[1] & 0x80 else 0
            if len(h) < hl:
                return
            if n == 126:
                n = struct.unpack("!H", h[2:4])[0]
            elif n == 127:
                n = struct.unpack("!Q", h[2:10])[0]
            self.frames.append((bool(h[0] & 0x80), (h[0] >> 4) & 7,
                                h[0] & 0x0f, n))
            self.buf = b""
            self.skip = n
            data = h[hl:]


class FrameTap:
    """A relay for one TCP connection, from a port on 127.0.0.1 the kernel
    picks (.port) to 127.0.0.1:upstream_port, that records the header of
    every WebSocket frame after the HTTP heads: .frames["c2s"] (client to
    server) and .frames["s2c"], lists of (fin, rsv, opcode, payload
    length). For checking which frames real clients and the daemon mark
    with RSV1. Runs in a thread for at most `seconds` (scaled); use it as a
    context manager, whose exit waits (bounded) for the relay to end after
    both sides closed. .error is None or what went wrong."""

    def __init__(self, upstream_port, seconds=30):
        import threading
        self.upstream = upstream_port
        self.seconds = seconds
        self.frames = {"c2s": [], "s2c": []}
        self.error = None
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.thread.join(timeout(self.seconds) + 1)
        self.lsock.close()

    def _run(self):
        deadline = time.monotonic() + timeout(self.seconds)
        c = u = None
        try:
            self.lsock.settimeout(timeout(self.seconds))
            c, _ = self.lsock.accept()
            u = connect(self.upstream, self.seconds)
            c.settimeout(timeout(self.seconds))
            logs = {c: _FrameLog(self.frames["c2s"]),
                    u: _FrameLog(self.frames["s2c"])}
            peer = {c: u, u: c}
            live = {c, u}
            while live and time.monotonic() < deadline:
                r, _, _ = select.select(list(live), [], [], 0.2)
                for sk in r:
                    try:
                        data = sk.recv(262144)
                    except (ConnectionResetError, socket.timeout):
                        data = b""
                    if not data:
                        live.discard(sk)
                        try:
                            peer[sk].shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                        continue
                    logs[sk].feed(data)
                    peer[sk].sendall(data)
            if live:
                self.error = "relay still open after %.0f s" % self.seconds
        except Exception as e:  # reported through .error
            self.error = "relay: %r" % e
        finally:
            for sk in (c, u):
                if sk is not None:
                    sk.close()


# Added for test_stats.py -----------------------------------------------------

def admin_port(wsd):
    """The admin endpoint's port, from the ready line's "admin=ADDR:PORT"
    (start the daemon with --admin_listen 127.0.0.1:0); None when the
    ready line names no admin endpoint."""
    addr = wsd.ready.get("admin")
    if not addr:
        return None
    return int(addr.rsplit(":", 1)[1])


def admin_request(port, path, method="GET", headers=None, body=None,
                  seconds=5):
    """One HTTP/1.1 request to the admin endpoint on 127.0.0.1:port, on a
    fresh connection, bounded by `seconds` (scaled). Returns (status,
    headers dict with lower-case names, body bytes)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port,
                                      timeout=timeout(seconds))
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


# Shared by the process, daemon, hostile and TLS tests ---------------------------

def echo_raw(s, payload=None):
    """One binary echo over a raw (or TLS-wrapped) socket past its
    handshake; True when it comes back exact, False on any error."""
    payload = payload if payload is not None else os.urandom(64)
    try:
        s.settimeout(timeout(5))
        s.sendall(frame(2, payload))
        op, got, _ = read_message(s)
        return op == 2 and got == payload
    except (OSError, EOFError, ValueError):
        return False


def flood_until_stalled(s, make, pid, seconds=5, max_bytes=None,
                        max_messages=None, sample_every=32):
    """Sends make(0), make(1), ... (whole frames, as bytes) on s without
    reading, until s takes nothing for a second (the server stopped
    reading), `seconds` (scaled) pass, max_bytes are sent or max_messages
    are complete. Samples the RSS of pid every sample_every messages and
    whenever s is full. Returns a dict: complete (messages sent whole),
    rest (bytes of the next one not yet sent), sent, stalled, elapsed,
    rss0 and peak (KiB). s is left non-blocking."""
    rss0 = vmrss_kib(pid)
    r = {"complete": 0, "rest": b"", "sent": 0, "stalled": False,
         "rss0": rss0, "peak": rss0 or 0}

    def sample():
        r["peak"] = max(r["peak"], vmrss_kib(pid) or 0)
    s.setblocking(False)
    t0 = time.monotonic()
    last = t0
    while (time.monotonic() - t0 < timeout(seconds) and
           (max_bytes is None or r["sent"] < max_bytes) and
           (max_messages is None or r["complete"] < max_messages)):
        if not r["rest"]:
            r["rest"] = make(r["complete"])
        try:
            k = s.send(r["rest"])
        except BlockingIOError:
            k = 0
        now = time.monotonic()
        if k:
            r["rest"] = r["rest"][k:]
            r["sent"] += k
            last = now
            if not r["rest"]:
                r["complete"] += 1
                if r["complete"] % sample_every == 0:
                    sample()
        elif now - last > 1.0:
            r["stalled"] = True
            break
        else:
            sample()
            select.select([], [s], [], 0.05)
    time.sleep(0.3)
    sample()
    r["elapsed"] = time.monotonic() - t0
    return r


def send_in_background(s, data):
    """Sends data on s (made blocking) from a thread, so that the caller
    can read meanwhile. Returns (thread, errors): join the thread, then
    errors holds what sending raised."""
    import threading
    errors = []

    def send():
        try:
            if data:
                s.sendall(data)
        except OSError as e:
            errors.append(e)
    s.setblocking(True)
    th = threading.Thread(target=send)
    th.start()
    return th, errors


def make_cert(directory, name, san="IP:127.0.0.1"):
    """A self-signed P-256 certificate CN=name with subjectAltName san, and
    its key, made with the openssl command in directory: (cert, key)."""
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    subprocess.run([os.environ.get("OPENSSL") or "openssl", "req", "-x509",
                    "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=" + name, "-addext",
                    "subjectAltName=" + san, "-keyout", key, "-out", cert],
                   check=True, stdin=subprocess.DEVNULL, capture_output=True,
                   timeout=timeout(30))
    return cert, key
