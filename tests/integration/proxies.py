# SPDX-License-Identifier: MIT
"""Intermediaries for the tests, each run as a process of its own and
stopped by its pid: real ones, HAProxy and nginx (Debian's packages),
and the project's own meddling proxy (meddler.py).

HAProxy and nginx are started by the test itself from a configuration
written into a scratch directory, on a loopback port chosen at run time.
Neither can be told to listen on port 0 and say which port it got, so a
port is picked by binding a socket to port 0 and closing it; if another
process takes it before the proxy binds it, the proxy exits at once
saying so, and the start is tried again on another port, a bounded number
of times. Every wait is bounded (wsdtest.timeout). stop() ends the
processes the test started (the master, by its pid; its workers die with
it, which stop() checks, killing any left by pid) and is safe to call
twice or after a failed start.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import wsdtest

SBIN = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
HAPROXY = os.environ.get("HAPROXY") or shutil.which("haproxy", path=SBIN)
NGINX = os.environ.get("NGINX") or shutil.which("nginx", path=SBIN)
STARTS = 5  # tries, each on new ports, when a port was taken meanwhile


def listening(port, pids):
    """Whether one of pids listens on port (IPv4), as /proc/net/tcp and
    their descriptors say: another process that took the port meanwhile
    accepts connections too, and must not pass for the proxy."""
    inodes = set()
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                p = line.split()
                if p[3] == "0A" and int(p[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add("socket:[%s]" % p[9])
    except OSError:
        return False
    return wsdtest.socket_holder(inodes, pids) is not None


class Intermediary:
    """One proxy process tree. Subclasses say how to write the
    configuration and the command line; render(port) gives the part of
    the configuration the test chooses, for the proxy's listening port."""

    name = "proxy"
    bind_failure = ()  # words of the log that say a port was taken

    def __init__(self, tmp, render, env=None):
        self.dir = os.path.join(tmp, "%s-%d" % (self.name,
                                                 time.monotonic_ns()))
        os.mkdir(self.dir)
        self.render = render
        self.env = env
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.dir, "log")
        self.config_path = None
        self.started = set()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def children(self):
        pids = wsdtest.children(self.proc.pid) if self.proc else []
        self.started.update(pids)
        return pids

    def start(self):
        """Starts the proxy on a free port; returns self. Raises
        RuntimeError with its log when it does not start."""
        if self.binary() is None:
            raise RuntimeError("%s is not installed (contrib/install-deps "
                               "installs it)" % self.name)
        for _ in range(STARTS):
            self.port = wsdtest.free_port()
            self.write_config(self.render(self.port))
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    self.command(), stdin=subprocess.DEVNULL, stdout=log,
                    stderr=log, env=self.env, start_new_session=True)
            self.started.add(self.proc.pid)
            if wsdtest.wait_until(
                    lambda: self.proc.poll() is not None or listening(
                        self.port, [self.proc.pid] + self.children()), 10):
                if self.proc.poll() is None:
                    self.children()
                    return self
            self.proc.kill()
            self.proc.wait()
            text = self.log()
            if not any(w in text for w in self.bind_failure):
                raise RuntimeError("%s did not start (status %r):\n%s"
                                   % (self.name, self.proc.returncode, text))
        raise RuntimeError("%s: every port tried was taken:\n%s"
                           % (self.name, self.log()))

    def stop(self):
        """Stops the master (SIGTERM), then anything of its left after a
        bounded wait (SIGKILL). Returns the processes still alive after
        that (none, unless something is badly wrong)."""
        if self.proc is None:
            return []
        self.children()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=wsdtest.timeout(10))
        except subprocess.TimeoutExpired:
            pass
        wsdtest.wait_until(lambda: not any(wsdtest.alive(p)
                                           for p in self.started), 5)
        for pid in self.started:
            if wsdtest.alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=wsdtest.timeout(5))
        self.proc = None
        return [p for p in self.started if wsdtest.alive(p)]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class HAProxy(Intermediary):
    """HAProxy in master-worker mode, in the foreground (-W -db), as
    Debian's unit runs it (-Ws): render(port) is the whole
    configuration."""

    name = "haproxy"
    bind_failure = ("cannot bind socket", "Address already in use")

    def binary(self):
        return HAPROXY

    def write_config(self, text):
        self.config_path = os.path.join(self.dir, "haproxy.cfg")
        with open(self.config_path, "w") as f:
            f.write(text)

    def command(self):
        return [HAPROXY, "-W", "-db", "-f", self.config_path]

    def reload(self):
        """What `systemctl reload haproxy` does: SIGUSR2 to the master,
        which starts a new worker and lets the old one finish."""
        self.proc.send_signal(signal.SIGUSR2)


def haproxy_check(config_path):
    """`haproxy -c -f config_path`: (status, output)."""
    p = subprocess.run([HAPROXY, "-c", "-f", config_path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=wsdtest.timeout(30))
    return p.returncode, p.stdout


def haproxy_command(socket_path, command):
    """One command of HAProxy's runtime API, on its stats socket: the
    answer's text."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(wsdtest.timeout(5))
    try:
        s.connect(socket_path)
        s.sendall(command.encode() + b"\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.decode("utf-8", "replace")
    finally:
        s.close()


def haproxy_servers(socket_path, backend):
    """The servers of backend as `show stat` has them: {name: (status,
    check_status, check_code)}, e.g. {"wsd1": ("UP", "L7OK", "200")}."""
    lines = haproxy_command(socket_path, "show stat").splitlines()
    if not lines or not lines[0].startswith("# "):
        return {}
    cols = lines[0][2:].split(",")
    out = {}
    for line in lines[1:]:
        row = dict(zip(cols, line.split(",")))
        if row.get("pxname") == backend and row.get("svname") not in (
                "FRONTEND", "BACKEND"):
            out[row["svname"]] = (row.get("status"), row.get("check_status"),
                                  row.get("check_code"))
    return out


class Nginx(Intermediary):
    """nginx in the foreground (daemon off), its master and one worker,
    with its pid file, error log and temporary files in the scratch
    directory, so that it needs no root-owned path: render(port) is what
    goes inside the http block."""

    name = "nginx"
    bind_failure = ("Address already in use",)

    def binary(self):
        return NGINX

    def write_config(self, http):
        d = self.dir
        self.config_path = os.path.join(d, "nginx.conf")
        with open(self.config_path, "w") as f:
            f.write("daemon off;\nworker_processes 1;\n"
                    "pid %s/nginx.pid;\nerror_log %s notice;\n"
                    "events { worker_connections 256; }\n"
                    "http {\n    access_log off;\n" % (d, self.log_path))
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
                f.write("    %s_temp_path %s/%s;\n" % (kind, d, kind))
            f.write(http)
            f.write("}\n")

    def command(self):
        return [NGINX, "-p", self.dir, "-c", self.config_path, "-e",
                self.log_path]


class Meddler:
    """The project's own meddling proxy (meddler.py) in front of
    127.0.0.1:upstream, in one of its modes, run as a process of its own:
    it picks its port with port 0 and says which on its ready line."""

    def __init__(self, upstream, mode):
        self.upstream = upstream
        self.mode = mode
        self.proc = None
        self.port = None

    def start(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "meddler.py")
        self.proc = subprocess.Popen(
            [sys.executable, script, "--upstream", str(self.upstream),
             "--mode", self.mode], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, start_new_session=True)
        line = wsdtest.read_ready_line(self.proc.stdout.fileno())
        if not line.startswith(b"ready port="):
            self.stop()
            raise RuntimeError("meddler.py --mode %s did not start: %r"
                               % (self.mode, line))
        self.port = int(line.split(b"=")[1])
        return self

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=wsdtest.timeout(5))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
