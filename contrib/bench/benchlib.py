# SPDX-License-Identifier: MIT
"""What contrib/bench/run and contrib/bench/scale share: the throwaway
certificate their wss runs use."""
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
