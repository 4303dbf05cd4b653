# SPDX-License-Identifier: MIT
"""Harness for wsd's integration tests, one section per concern: TAP
output and running cases; processes and /proc figures; the daemon; HTML
pages as an HTML5 parser reads them; HTTP (the opening handshake, response
heads, the admin endpoint and its case records); raw WebSocket frames;
client connections (open, echo, close, fail, flood); a relay that records
frame headers; certificates and the python3-websockets client.

Every wait is bounded and scaled by WSD_TEST_TIMEOUT_MULT (sanitizer builds
are slower). Wsd.stop() ends exactly the processes the test started, and
fails the test when the daemon logged at crit/alert level or a sanitizer
reported anything.
"""
import base64
import hashlib
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback

MULT = float(os.environ.get("WSD_TEST_TIMEOUT_MULT", "1"))
WSD = os.environ.get("WSD", os.path.join(os.path.dirname(__file__),
                                         "..", "..", "src", "wsd"))


def timeout(seconds):
    """A wait of `seconds`, scaled for slow (sanitizer) builds."""
    return seconds * MULT


# TAP output and running cases ------------------------------------------------

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

    def same(self, got, want, name):
        """Byte-exact and type-exact comparison (str for text, bytes for
        binary) with a short diagnostic and the first difference."""
        if type(got) is type(want) and got == want:
            return self.ok(True, name)
        diag = "got  %s\nwant %s" % (describe(got), describe(want))
        if type(got) is type(want) and isinstance(got, (bytes, str)):
            diag += "\nfirst difference at offset %r" % first_diff(got, want)
        return self.ok(False, name, diag)

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


def describe(v):
    """A short description of a message for diagnostics."""
    if isinstance(v, (bytes, str)):
        return "%s of length %d starting %r" % (type(v).__name__, len(v),
                                                v[:40])
    return repr(v)


def first_diff(a, b):
    """The first index where a and b differ, or where the shorter ends;
    None when they are equal."""
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def guard(tap, name, fn, *args, **kwargs):
    """Runs one test case fn(*args, **kwargs); an exception (a timeout, an
    early EOF, a refused connection) becomes a failed test point named
    after the case instead of ending the script."""
    try:
        return fn(*args, **kwargs)
    except Exception:
        tap.ok(False, "%s: raised" % name, traceback.format_exc())
        return None


def run_async(tap, name, coro_fn, *args, seconds=60):
    """guard() for a coroutine function: runs coro_fn(*args) to its end
    in a fresh event loop, for at most `seconds` (scaled)."""
    import asyncio
    return guard(tap, name, lambda: asyncio.run(
        asyncio.wait_for(coro_fn(*args), timeout(seconds))))


class Cases:
    """Runs named cases: case(name, fn, *args) calls fn(name, *args), and
    an exception fails that case instead of ending the script. Many in a
    row mean the daemon is gone or stuck: then bail out rather than wait
    out every remaining case's timeouts (the daemon is still stopped, by
    the with block around them)."""

    def __init__(self, tap, limit=8):
        self.tap = tap
        self.limit = limit
        self.raised_in_a_row = 0

    def __call__(self, name, fn, *args, **kwargs):
        if guard(self.tap, name, lambda: fn(name, *args, **kwargs) or True):
            self.raised_in_a_row = 0
            return
        self.raised_in_a_row += 1
        if self.raised_in_a_row >= self.limit:
            self.tap.bail("%d cases in a row raised: the daemon is not "
                          "answering" % self.limit)


# Processes and /proc ---------------------------------------------------------

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
    (SO_REUSEADDR, so TIME_WAIT leftovers do not count, a listener does).
    Never poll with it for a port wsd is about to bind: while it holds
    the port, wsd's bind fails (port_accepts does not take the port)."""
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


def port_accepts(port):
    """True when something listens on 127.0.0.1:port (a connect is
    accepted, then closed): a probe that never takes the port itself."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout(1)).close()
        return True
    except OSError:
        return False


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


def vmrss_kib(pid):
    """Resident set size of pid in KiB; None if the process is gone."""
    return proc_status_kib(pid, "VmRSS")


def private_kib(pid):
    """Private resident memory of pid in KiB (RssAnon: its heap and
    stacks, not the shared statistics segment, whose records each
    connection touches at a cost fixed by stats_cases); None if the
    process is gone."""
    return proc_status_kib(pid, "RssAnon")


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


def descriptor_limit(limit):
    """A preexec function for Wsd: RLIMIT_NOFILE of `limit`, which wsd
    cannot raise (as root, CAP_SYS_RESOURCE leaves the bounding set)."""
    def low_limit():
        import ctypes
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        if os.geteuid() == 0:
            ctypes.CDLL(None).prctl(24, 24, 0, 0, 0)  # PR_CAPBSET_DROP
    return low_limit


def env_with_asan_options(options):
    """os.environ with `options` added to ASAN_OPTIONS, for Wsd.env (a
    build without AddressSanitizer ignores them)."""
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":" +
                           options).lstrip(":")
    return env


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
    return socket_holder({"socket:[%s]" % inode}, pids)


def socket_holder(targets, pids):
    """The first PID among pids with a descriptor on one of targets
    ("socket:[INODE]" each), or None."""
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in targets:
                    return pid
            except OSError:
                pass
    return None


def free_port():
    """A loopback port the kernel picked: bound to port 0, then closed
    (for programs that cannot be given port 0 themselves)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def run_compare(folder, sources, jpath, extra=()):
    """wsd compare on folder and sources (admin URLs or folders), its JSON
    into jpath: (status, stdout, stderr, the --json document or None)."""
    p = subprocess.run([WSD, "compare", folder] + list(sources) +
                       list(extra) + ["--json", jpath],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout(60))
    try:
        with open(jpath, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        doc = None
    return p.returncode, p.stdout, p.stderr, doc


# The daemon ------------------------------------------------------------------

def read_ready_line(rfd, seconds=10):
    """The line wsd writes to --ready_fd once it listens (bytes, with its
    newline), or what came before EOF or the bounded wait ended."""
    line = b""
    deadline = time.monotonic() + timeout(seconds)
    while not line.endswith(b"\n") and time.monotonic() < deadline:
        r, _, _ = select.select([rfd], [], [], 0.1)
        if r:
            chunk = os.read(rfd, 512)
            if not chunk:
                break
            line += chunk
    return line


class Wsd:
    """One wsd master started with --listen 127.0.0.1:0, --admin_listen
    127.0.0.1:0 (never the default fixed port, which every daemon of a
    parallel make check would share) and --ready_fd.

    args: extra command-line arguments, which have the last word, e.g.
    ["--admin_listen", "off"]. After start(), .pid is the master's PID,
    .port the WebSocket port, .tls_port the wss:// port (None unless the
    args turn TLS on), and admin_port(wsd) the admin endpoint's.
    """

    def __init__(self, tap, args=(), workers=1):
        self.tap = tap
        self.args = ["--listen", "127.0.0.1:0", "--admin_listen",
                     "127.0.0.1:0", "--workers", str(workers)]
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
        line = read_ready_line(rfd)
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
        if not wait_until(lambda: len(self.workers()) >= 1, 5):
            self.tap.diag("wsd started no worker; its log:\n" + self.log())
            self.kill_all()
            self.tap.bail("wsd started no worker")
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

    def wait_exit(self, seconds=10):
        """The master's exit status once it has exited, or None if it still
        runs after `seconds` (scaled)."""
        try:
            return self.proc.wait(timeout=timeout(seconds))
        except subprocess.TimeoutExpired:
            return None

    def kill_all(self):
        """SIGKILLs every process the test started and reaps the master;
        afterwards stop() has nothing left to do."""
        for pid in list(self.started):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.proc is not None:
            self.wait_exit(5)
        self.proc = None

    def stop(self, check_log=True):
        """SIGTERM the master; every process it started must be gone within
        a bounded time. Checks the log unless check_log is False."""
        if self.proc is None:
            return
        self.workers()
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        code = self.wait_exit()
        gone = wait_until(lambda: not any(alive(p) for p in self.started), 5)
        self.tap.ok(code == 0 and gone,
                    "wsd stops on SIGTERM with status 0, every process gone",
                    "status %r, alive %r" % (code, [p for p in self.started
                                                    if alive(p)]))
        self.kill_all()
        if check_log:
            self.check_log()

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


# HTML pages ------------------------------------------------------------------

def html5_errors(data):
    """The first HTML5 parse error in data (bytes) as a string, or None:
    strict UTF-8, then html5lib (Debian's python3-html5lib) in strict
    mode, which stops at the first parse error."""
    import html5lib
    from html5lib.html5parser import ParseError
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return "not UTF-8: %s" % e
    parser = html5lib.HTMLParser(strict=True)
    try:
        parser.parse(text)
    except ParseError as e:
        where = parser.errors[-1][0] if parser.errors else None
        return "%s at %r" % (e, where)
    return None


# HTTP: the opening handshake, response heads, the admin endpoint -------------

def new_key():
    """A fresh Sec-WebSocket-Key: 16 random bytes in base64."""
    return base64.b64encode(os.urandom(16)).decode()


def handshake_request(path="/ws", key=None, extra=(), version="13",
                      host="127.0.0.1", method="GET", http="HTTP/1.1",
                      drop=(), replace=None, body=b""):
    """An opening handshake request (RFC 6455 §4.1), valid unless told
    otherwise: version is Sec-WebSocket-Version, http the request line's
    protocol; drop names headers to leave out, replace maps a header name
    to a new value, extra appends raw header lines, body follows the
    head."""
    replace = dict(replace or {})
    fields = [("Host", host), ("Upgrade", "websocket"),
              ("Connection", "Upgrade"),
              ("Sec-WebSocket-Key", key or new_key()),
              ("Sec-WebSocket-Version", version)]
    lines = ["%s %s %s" % (method, path, http)]
    for k, v in fields:
        if k not in drop:
            lines.append("%s: %s" % (k, replace.get(k, v)))
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2),
    computed here, independently of the daemon."""
    if isinstance(key, str):
        key = key.encode()
    return base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()


def parse_http_head(data):
    """Parses an HTTP/1.1 response head (bytes, with or without its empty
    line). Returns (status, reason, [(name, value)]) with the names as
    sent; status None when there is no HTTP/1.1 status line."""
    lines = data.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if parts[0] != "HTTP/1.1" or len(parts) < 2 or not parts[1].isdigit():
        return None, "", []
    fields = []
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            fields.append((k.strip(), v.strip()))
    return int(parts[1]), parts[2] if len(parts) > 2 else "", fields


def read_http_head_raw(s, limit=65536):
    """Reads an HTTP response head one byte at a time, so that whatever
    follows it (a body, frames pipelined behind a 101) stays in the
    socket. Returns the bytes read: the head and its empty line, or less
    on EOF or past limit."""
    data = b""
    while not data.endswith(b"\r\n\r\n") and len(data) < limit:
        c = s.recv(1)
        if not c:
            break
        data += c
    return data


def read_http_head(s, limit=65536):
    """Reads an HTTP response head (read_http_head_raw). Returns (status,
    headers dict with lower-case names, the last value winning); status
    None on EOF or garbage."""
    status, _, fields = parse_http_head(read_http_head_raw(s, limit))
    return status, {k.lower(): v for k, v in fields}


def read_http_head_list(s, limit=65536):
    """Like read_http_head, but keeps every header line in order: returns
    (status, [(lower-case name, value)])."""
    status, _, fields = parse_http_head(read_http_head_raw(s, limit))
    return status, [(k.lower(), v) for k, v in fields]


def read_http_response(s, limit=65536):
    """Reads an HTTP response head and, when Content-Length says so, its
    body. Returns (status, headers dict with lower-case names, body); on
    EOF or garbage (None, {}, what was read)."""
    head = read_http_head_raw(s, limit)
    status, _, fields = parse_http_head(head)
    if status is None:
        return None, {}, head
    headers = {k.lower(): v for k, v in fields}
    n = int(headers.get("content-length", "0"))
    body = b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            break
        body += chunk
    return status, headers, body


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
    status, reason, fields = parse_http_head(head) if sep else (None, "", [])
    return {"status": status, "reason": reason,
            "headers": {k.lower(): v for k, v in fields},
            "header_list": fields, "body": body, "eof": eof, "raw": raw}


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


def admin_json(port, path, headers=None):
    """(status, parsed JSON or None, headers) of a GET to the admin
    endpoint."""
    status, hdrs, body = admin_request(port, path, headers=headers)
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        doc = None
    return status, doc, hdrs


def admin_stats(port):
    """The /v1/stats document; raises unless it is 200 and JSON."""
    status, doc, _ = admin_json(port, "/v1/stats")
    if status != 200 or doc is None:
        raise RuntimeError("GET /v1/stats: %r %r" % (status, doc))
    return doc


def admin_case(port, cid):
    """The record of case cid, or None when the endpoint says 404."""
    status, doc, _ = admin_json(port, "/v1/cases/%d" % cid)
    if status == 404:
        return None
    if status != 200 or doc is None:
        raise RuntimeError("GET /v1/cases/%d: %r %r" % (cid, status, doc))
    return doc


def admin_cases(port, query=""):
    """The /v1/cases document for query ("?limit=..."); raises unless it
    is 200 and JSON."""
    status, doc, _ = admin_json(port, "/v1/cases" + query)
    if status != 200 or doc is None:
        raise RuntimeError("GET /v1/cases%s: %r %r" % (query, status, doc))
    return doc


class EventStream:
    """A reader of the admin endpoint's server-sent events (GET
    /v1/events) on a raw socket: the response head, then the chunked body
    cut into events. rcvbuf, when given, is set before connecting (a
    small one makes a slow reader). Every read is bounded."""

    def __init__(self, port, headers=(), path="/v1/events", rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout(5))
        self.sock.connect(("127.0.0.1", port))
        lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port,
                 "Accept: text/event-stream"] + list(headers)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.raw = b""      # bytes read past the head, not yet de-chunked
        self.text = b""     # the body, de-chunked, not yet cut into events
        self.eof = False
        self.status = None
        self.headers = {}
        self.body = b""     # a refusal's body

    def read_head(self, seconds=5):
        """Reads the response head; returns the status."""
        head = b""
        deadline = time.monotonic() + timeout(seconds)
        while b"\r\n\r\n" not in head and time.monotonic() < deadline:
            data = self._recv(deadline)
            if not data:
                break
            head += data
        head, _, self.raw = head.partition(b"\r\n\r\n")
        self.status, _, fields = parse_http_head(head + b"\r\n\r\n")
        self.headers = {k.lower(): v for k, v in fields}
        if self.headers.get("transfer-encoding") != "chunked":
            self.body = self.raw  # a refusal, with a Content-Length
        return self.status

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return b""
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return b""
        except OSError:
            data = b""
        if not data:
            self.eof = True
        return data

    def _dechunk(self):
        while True:
            size_line, sep, rest = self.raw.partition(b"\r\n")
            if not sep:
                return
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                self.eof = True
                return
            if len(rest) < size + 2:
                return
            self.text += rest[:size]
            self.raw = rest[size + 2:]

    def next_event(self, seconds=5):
        """(name, data as text) of the next event, or None when none came
        within `seconds` (scaled) or the stream ended."""
        deadline = time.monotonic() + timeout(seconds)
        while True:
            self._dechunk()
            block, sep, rest = self.text.partition(b"\n\n")
            if sep:
                self.text = rest
                name, data = "message", []
                for line in block.decode("utf-8").split("\n"):
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "event":
                        name = value
                    elif field == "data":
                        data.append(value)
                return name, "\n".join(data)
            if self.eof:
                return None
            data = self._recv(deadline)
            if not data:
                return None
            self.raw += data

    def next_json(self, name, seconds=5):
        """The data of the next event called name, parsed, skipping
        others; None when none came in time."""
        deadline = time.monotonic() + timeout(seconds)
        while time.monotonic() < deadline:
            ev = self.next_event(max(0.0, (deadline - time.monotonic())
                                     / MULT))
            if ev is None:
                return None
            if ev[0] == name:
                return json.loads(ev[1])
        return None

    def close(self):
        self.sock.close()


_PROM_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_PROM_LABEL = re.compile(
    r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"(,|$)')


def parse_metrics(text):
    """Parses the Prometheus text format (0.0.4) as wsd writes it: for each
    family a HELP line, a TYPE line, then its samples (a histogram's
    NAME_bucket, NAME_sum and NAME_count). Returns (families, problems):
    families maps a family's name to {"help", "type", "samples"}, samples
    a list of (sample name, labels dict, value as float); problems lists
    every line out of that order or that does not parse."""
    families = {}
    problems = []
    current = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            parts = line.split(" ", 3)
            name = parts[2] if len(parts) > 2 else ""
            if name in families:
                problems.append("HELP twice: " + line)
            current = {"help": parts[3] if len(parts) > 3 else "",
                       "type": None, "samples": []}
            families[name] = current
            current["name"] = name
            continue
        if line.startswith("# TYPE "):
            parts = line.split()
            if (current is None or len(parts) != 4 or
                    parts[2] != current["name"] or current["type"]):
                problems.append("TYPE not right after its HELP: " + line)
                continue
            current["type"] = parts[3]
            continue
        m = _PROM_SAMPLE.match(line)
        if m is None or current is None or current["type"] is None:
            problems.append("sample that does not parse or has no family: "
                            + line)
            continue
        name, raw, value = m.group(1), m.group(2) or "", m.group(3)
        base = current["name"]
        allowed = [base]
        if current["type"] == "histogram":
            allowed = [base + "_bucket", base + "_sum", base + "_count"]
        if name not in allowed:
            problems.append("sample outside its family %s: %s" %
                            (base, line))
        labels = {}
        pos = 0
        while pos < len(raw):
            lm = _PROM_LABEL.match(raw, pos)
            if lm is None:
                problems.append("labels: " + line)
                break
            labels[lm.group(1)] = lm.group(2)
            pos = lm.end()
        try:
            v = float(value)
        except ValueError:
            problems.append("value: " + line)
            continue
        current["samples"].append((name, labels, v))
    return families, problems


def admin_metrics(port):
    """GET /metrics, parsed (parse_metrics): (families, problems, text);
    raises unless it is 200."""
    status, _, body = admin_request(port, "/metrics")
    if status != 200:
        raise RuntimeError("GET /metrics: %r" % status)
    text = body.decode("utf-8")
    families, problems = parse_metrics(text)
    return families, problems, text


def metric(families, name, **labels):
    """The sum of the samples called name (a family, or a histogram's
    NAME_bucket, NAME_sum, NAME_count) whose labels include labels; None
    when no sample matches."""
    family = families.get(name)
    if family is None:
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix):
                family = families.get(name[:-len(suffix)])
                break
    if family is None:
        return None
    found = [v for n, ls, v in family["samples"]
             if n == name and all(ls.get(k) == str(w)
                                  for k, w in labels.items())]
    return sum(found) if found else None


def closed_case(port, cid, seconds=5):
    """Case cid once its state is "closed" (polled, bounded), else its last
    state."""
    last = [None]

    def done():
        last[0] = admin_case(port, cid)
        return last[0] is not None and last[0]["state"] == "closed"
    wait_until(done, seconds)
    return last[0]


def case_by_peer(port, peer_port):
    """The newest record whose peer is 127.0.0.1:peer_port, or None: the
    kernel may have given the same port to an earlier connection, whose
    record is still listed."""
    want = "127.0.0.1:%d" % peer_port
    found = [c for c in admin_cases(port, "?limit=1000")["cases"]
             if c["peer"] == want]
    return max(found, key=lambda c: (c["started"], c["id"])) if found \
        else None


def octets_sum(stats):
    """The bytes an rxOctetStats or txOctetStats object adds up to."""
    return sum(int(size) * n for size, n in stats.items())


def record_shows(tap, wsd, peer_port, what, cond, seconds=3):
    """Waits (bounded) until the case record of the client at
    127.0.0.1:peer_port satisfies cond(record), and checks that it does:
    the worker's own account, through wsd's admin endpoint, of what it
    did with the connection. Returns the record (None when there is
    none)."""
    port = admin_port(wsd)
    rec = [None]

    def seen():
        rec[0] = case_by_peer(port, peer_port)
        return rec[0] is not None and cond(rec[0])
    tap.ok(wait_until(seen, seconds), what, rec[0])
    return rec[0]


# Raw WebSocket frames --------------------------------------------------------

def mask_payload(payload, key):
    """payload XOR the 4-byte key repeated (RFC 6455 §5.3); fast enough for
    payloads of many MiB, unlike a byte loop."""
    n = len(payload)
    if n == 0:
        return b""
    k = (bytes(key) * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big")
            ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def frame(opcode, payload=b"", fin=True, rsv=0, mask=True, key=None,
          length=None, width=None):
    """Builds one client frame, masked with key (random by default) unless
    mask is False. length overrides the encoded length (for hostile
    frames); width 16 or 64 encodes the length in that form whatever its
    size (not minimal for a short payload, RFC 6455 §5.2)."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    mbit = 0x80 if mask else 0
    if width is None:
        width = 7 if n < 126 else 16 if n < 65536 else 64
    if width == 7:
        head = struct.pack("!BB", b0, mbit | n)
    elif width == 16:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    elif width == 64:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    else:
        raise ValueError("width must be 16 or 64")
    if not mask:
        return head + payload
    key = key if key is not None else os.urandom(4)
    return head + key + mask_payload(payload, key)


def message_frames(opcode, parts, rsv=0):
    """One message as frames, one per part: opcode and rsv on the first
    (RFC 7692 §6: RSV1 on the first frame only), continuations after it,
    FIN on the last."""
    return [frame(opcode if i == 0 else 0, p, fin=i == len(parts) - 1,
                  rsv=rsv if i == 0 else 0) for i, p in enumerate(parts)]


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


def text_pattern(n):
    """n bytes of ASCII text."""
    unit = b"The quick brown fox jumps over the lazy dog 0123456789 *"
    return (unit * (n // len(unit) + 1))[:n]


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


def read_message_frames(s):
    """Reads one whole data message, reassembling fragments. Returns
    (opcode, payload, rsvs, controls): opcode of the first frame (1 text,
    2 binary), the joined payload, the RSV bits of each of its frames, and
    the (opcode, payload) of every control frame that arrived in between.
    Raises ValueError on a close frame or a bad sequence."""
    controls, parts, rsvs = [], [], []
    opcode = None
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
        rsvs.append(rsv)
        if fin:
            return opcode, b"".join(parts), rsvs, controls


def read_message(s):
    """read_message_frames without the RSV bits: (opcode, payload,
    controls)."""
    opcode, payload, _, controls = read_message_frames(s)
    return opcode, payload, controls


def _read_to_close(s, before):
    """Reads frames until a close frame, appending the (opcode, payload) of
    the others to before; returns the close payload."""
    while True:
        fin, rsv, op, payload = read_frame(s)
        if op == 8:
            return payload
        before.append((op, payload))


def read_close(s):
    """Reads frames until a close frame; returns (code, reason, frames
    before it). code is None for an empty (or 1-byte) close payload."""
    before = []
    payload = _read_to_close(s, before)
    if len(payload) >= 2:
        return struct.unpack("!H", payload[:2])[0], payload[2:], before
    return None, b"", before


def read_close_within(s, seconds):
    """Reads frames for up to `seconds` (scaled) until a close frame.
    Returns (code or None, reason, frames before it, error or None); code
    is None with error set when no close came, or when its payload was a
    single byte."""
    s.settimeout(timeout(seconds))
    before = []
    try:
        payload = _read_to_close(s, before)
    except (socket.timeout, TimeoutError):
        return None, b"", before, "no close frame within %.1f s" % seconds
    except (EOFError, ConnectionResetError) as e:
        return None, b"", before, "connection closed: %s" % e
    if len(payload) == 1:
        return None, payload, before, "1-byte close payload"
    if len(payload) >= 2:
        return struct.unpack("!H", payload[:2])[0], payload[2:], before, None
    return None, b"", before, None


OPNAME = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping",
          10: "pong"}


def show_frames(frames):
    """[(opcode, payload)] in short, for diagnostics."""
    out = []
    for op, payload in frames:
        p = payload if len(payload) <= 40 else payload[:40] + b"..."
        out.append("%s(%d bytes) %r" % (OPNAME.get(op, op), len(payload), p))
    return "[" + ", ".join(out) + "]"


# Client connections ----------------------------------------------------------

def connect(port, timeout_s=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout(timeout_s))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def open_ws(port, path="/ws", extra=()):
    """A raw socket past a successful opening handshake."""
    s = connect(port)
    s.sendall(handshake_request(path, extra=extra))
    status, headers, rest = read_http_response(s)
    if status != 101:
        raise RuntimeError("handshake refused: %r %r" % (status, rest))
    return s


def send_chopped(s, data, chop=1, delay=0.0):
    """Sends data in pieces of `chop` bytes (each its own segment, as the
    sockets from connect() have TCP_NODELAY), sleeping `delay` between;
    all at once when chop is None or 0."""
    if not chop:
        s.sendall(data)
        return
    for i in range(0, len(data), chop):
        s.sendall(data[i:i + chop])
        if delay:
            time.sleep(delay)


def send_close(s, code=None, reason=b""):
    """Sends a masked close frame (empty when code is None). Returns False
    when the server had already closed the connection."""
    payload = b"" if code is None else close_payload(code, reason)
    try:
        s.sendall(frame(8, payload))
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


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


def expect_eof(s, seconds=3):
    """True when the server closes the TCP connection (EOF or reset) within
    `seconds` (scaled), discarding whatever else arrives."""
    return drain_until_eof(s, seconds)[0]


def read_until_closed(s, seconds):
    """Reads until the server closes the connection or `seconds` (scaled)
    pass, keeping what arrives. Returns (how, data, elapsed seconds
    unscaled): how is "fin" for an orderly close (EOF), "reset" for a
    reset, None when the connection is still open."""
    start = time.monotonic()
    deadline = start + timeout(seconds)
    data = b""
    old = s.gettimeout()
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, data, time.monotonic() - start
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return "reset", data, time.monotonic() - start
            except (socket.timeout, TimeoutError):
                return None, data, time.monotonic() - start
            if not chunk:
                return "fin", data, time.monotonic() - start
            data += chunk
    finally:
        try:
            s.settimeout(old)
        except OSError:
            pass


def drain_until_eof(s, seconds):
    """read_until_closed() that does not tell a FIN from a reset: returns
    (eof, data read, elapsed seconds unscaled)."""
    how, data, elapsed = read_until_closed(s, seconds)
    return how is not None, data, elapsed


def pending(s, seconds):
    """Watches the connection for `seconds` (scaled), or until the server
    closes it. Returns (data, eof): the bytes that arrived meanwhile (b""
    if none) and whether the server closed the connection (EOF or reset).
    For checking that nothing comes, or that the server holds on."""
    eof, data, _ = drain_until_eof(s, seconds)
    return data, eof


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


def close_clean(tap, s, name, code=1000, reason=b"", read_within=3.0,
                eof_within=1.0):
    """Ends a case with a normal closing handshake started by us, then
    closes s: nothing pending before the server's close, which echoes our
    code, then the server closes TCP within eof_within s (RFC 6455
    §7.1.1)."""
    send_close(s, code, reason)
    got, _, frames, err = read_close_within(s, read_within)
    eof, extra, t = drain_until_eof(s, eof_within)
    tap.ok(err is None and got == code and not frames and eof and not extra,
           "%s: closing handshake %d, then TCP closed by the server" %
           (name, code),
           "frames before the close %s, close code %r, error %r, eof %r "
           "after %.2f s, extra %r" % (show_frames(frames), got, err, eof, t,
                                       extra[:80]))
    s.close()


def expect_fail(tap, s, name, code, before=(), answer=True, read_within=2.0,
                eof_within=1.0):
    """The server fails the connection: the frames in `before` (echoes of
    what preceded the error), then a close with `code` and a UTF-8 reason,
    then nothing. With answer, we answer the close and the server must
    close TCP within eof_within s; without, the client had already sent
    its close (the error was in it), so the server must close TCP
    unprompted. Closes s; returns (code, reason) as received."""
    got, reason, frames, err = read_close_within(s, read_within)
    want = list(before)
    try:
        reason_ok = len(reason.decode("utf-8")) > 0
    except UnicodeDecodeError:
        reason_ok = False
    tap.ok(err is None and got == code and frames == want and reason_ok,
           "%s: %sclose %d with a reason" % (name, "echo, then " if want
                                             else "", code),
           "got frames %s, close code %r reason %r, error %r\nwant frames %s"
           % (show_frames(frames), got, reason, err, show_frames(want)))
    if err is not None and err.startswith("connection closed"):
        s.close()
        return got, reason
    if answer:
        send_close(s, got)
    eof, extra, t = drain_until_eof(s, eof_within)
    tap.ok(eof and not extra,
           "%s: then the server closes TCP%s within %.1f s, sending nothing "
           "more" % (name, " after our answer" if answer else "",
                     eof_within),
           "eof %r after %.2f s, extra bytes %r" % (eof, t, extra[:80]))
    s.close()
    return got, reason


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


def first_wrong_echo(s, count, want, opcode=2, controls=False):
    """Reads `count` messages, of which message i must be `opcode` with
    the payload want(i) and, unless controls, no control frame before it.
    Returns None when every one is right, else (i, opcode, length, first
    bytes, controls) of the first that is not."""
    for i in range(count):
        op, got, ctl = read_message(s)
        if op != opcode or got != want(i) or (ctl and not controls):
            return i, op, len(got), got[:8], ctl
    return None


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


# A relay that records frame headers ------------------------------------------

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


# Certificates and the python3-websockets client ------------------------------

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


def ws_client(url, **kw):
    """A python3-websockets client connection to url (an async context
    manager) with the tests' defaults: no compression, no size limit, no
    keepalive pings, bounded opening and closing handshakes; kw overrides
    them."""
    import websockets.client
    opts = dict(compression=None, max_size=None, ping_interval=None,
                open_timeout=timeout(5), close_timeout=timeout(5))
    opts.update(kw)
    return websockets.client.connect(url, **opts)


async def ws_recv(ws, seconds=10):
    """The next message on a python3-websockets connection, waiting at
    most `seconds` (scaled)."""
    import asyncio
    return await asyncio.wait_for(ws.recv(), timeout(seconds))


async def ws_echo(ws, msg, seconds=30):
    """Sends msg and returns the next message."""
    await ws.send(msg)
    return await ws_recv(ws, seconds)
