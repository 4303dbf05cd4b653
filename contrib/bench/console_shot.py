#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Opens the console of a wsd that make bench starts, in headless Chromium,
for as long as that wsd runs, and takes a screenshot of its overview: the
console's cost shows in the bench's figures, and the picture in the README.

    contrib/bench/console_shot.py --admin 127.0.0.1:18990 --out doc/console.png &
    make bench BENCH_FLAGS='--only wsd,wsd-console --scenarios i \\
        --variant "wsd-console=--admin_listen 127.0.0.1:18990"'

Waits (at most --wait seconds) for the endpoint to answer, opens /, takes
the screenshot --after seconds later, keeps the page open until the
endpoint goes away, then stops the browser. Loopback only; every wait is
bounded.
"""
import argparse
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "integration"))
import wsdbrowser  # noqa: E402


def listening(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--admin", required=True, help="HOST:PORT of the endpoint")
    ap.add_argument("--out", required=True, help="the PNG to write")
    ap.add_argument("--after", type=float, default=4.0)
    ap.add_argument("--wait", type=float, default=600.0)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=900)
    args = ap.parse_args()
    host, _, port = args.admin.rpartition(":")
    port = int(port)
    deadline = time.monotonic() + args.wait
    while not listening(host, port):
        if time.monotonic() > deadline:
            sys.exit("console_shot: nothing answered on %s" % args.admin)
        time.sleep(0.1)
    b = wsdbrowser.Browser(width=args.width, height=args.height)
    try:
        b.get("http://%s/" % args.admin)
        time.sleep(args.after)
        b.driver.save_screenshot(args.out)
        print("console_shot: %s written" % args.out)
        end = time.monotonic() + args.wait
        while listening(host, port) and time.monotonic() < end:
            time.sleep(0.5)
        errors = b.errors()
        if errors:
            print("console_shot: the page said:\n" + "\n".join(errors))
    finally:
        b.close()


main()
