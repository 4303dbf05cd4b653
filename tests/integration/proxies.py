# SPDX-License-Identifier: MIT
"""Intermediaries for the tests, each run as a process of its own and
stopped by its pid: the project's own meddling proxy (meddler.py).
"""
import os
import signal
import subprocess
import sys

import wsdtest


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
