# SPDX-License-Identifier: MIT
"""What contrib/bench/run, profile and scale share: the throwaway
certificate their wss runs use, and a process's CPU time."""
import os
import subprocess


def make_certificate(where):
    """A throwaway ECDSA P-256 key and self-signed certificate for
    127.0.0.1 in where (openssl's command): (key path, certificate
    path)."""
    key = os.path.join(where, "key.pem")
    cert = os.path.join(where, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-days", "2", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return key, cert


def cpu_ns(pid):
    """Nanoseconds pid has run on a CPU: the first field of
    /proc/PID/schedstat, exact (stat's utime and stime are whole clock
    ticks). Raises OSError when pid is gone or the kernel keeps no
    schedstat."""
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])
