#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Compare an Autobahn testsuite report with wsd's own records of the
same connections: both views of each wire must mirror each other.

usage: compare.py REPORT_DIR ADMIN_URL [--agent NAME] [--first-id N]
                  [--token TOKEN]

REPORT_DIR is a fuzzingclient report folder (index.json and one JSON file
per case); ADMIN_URL is wsd's admin endpoint (http://127.0.0.1:8890).
Autobahn opens one connection per case, in the order of its index, so the
k-th case is wsd's case FIRST_ID + k - 1 (FIRST_ID 1 on a fresh wsd).

For every case it checks that wsd's rxFrameStats equal Autobahn's
txFrameStats and the reverse, per opcode; that the octets each way add up
to the same totals; and, where both sides saw a complete closing
handshake (both wasClean), that the close codes mirror: our
remoteCloseCode is Autobahn's localCloseCode and the reverse. It prints
each difference and a tally; exit status 1 when any case differs.
"""
import json
import os
import sys
import urllib.request


def case_key(case_id):
    return tuple(int(p) for p in case_id.split("."))


def fetch(url, token):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def our_cases(admin, first, n, token):
    cases = {}
    after = first - 1
    while len(cases) < n:
        page = fetch("%s/v1/cases?after=%d&limit=1000" % (admin, after), token)
        for c in page["cases"]:
            cases[c["id"]] = c
            after = c["id"]
        if not page["more"]:
            break
    return cases


def octet_total(stats, overflow=None):
    total = sum(int(size) * count for size, count in stats.items())
    if overflow:
        total += overflow["octets"]
    return total


def frames(stats):
    return {int(op): n for op, n in stats.items() if n}


def compare(theirs, ours):
    """Differences between Autobahn's view (theirs) and ours."""
    diff = []
    if frames(ours["rxFrameStats"]) != frames(theirs["txFrameStats"]):
        diff.append("frames to wsd: ours %s, theirs %s"
                    % (ours["rxFrameStats"], theirs["txFrameStats"]))
    if frames(ours["txFrameStats"]) != frames(theirs["rxFrameStats"]):
        diff.append("frames from wsd: ours %s, theirs %s"
                    % (ours["txFrameStats"], theirs["rxFrameStats"]))
    rx = octet_total(ours["rxOctetStats"], ours.get("rxOctetOverflow"))
    tx = octet_total(ours["txOctetStats"], ours.get("txOctetOverflow"))
    if rx != octet_total(theirs["txOctetStats"]):
        diff.append("octets to wsd: ours %d, theirs %d"
                    % (rx, octet_total(theirs["txOctetStats"])))
    if tx != octet_total(theirs["rxOctetStats"]):
        diff.append("octets from wsd: ours %d, theirs %d"
                    % (tx, octet_total(theirs["rxOctetStats"])))
    if theirs.get("wasClean") and ours["wasClean"]:
        if ours["remoteCloseCode"] != theirs.get("localCloseCode"):
            diff.append("close code to wsd: ours %r, theirs %r"
                        % (ours["remoteCloseCode"], theirs.get("localCloseCode")))
        if ours["localCloseCode"] != theirs.get("remoteCloseCode"):
            diff.append("close code from wsd: ours %r, theirs %r"
                        % (ours["localCloseCode"], theirs.get("remoteCloseCode")))
    return diff


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    opts = dict(zip(argv[::], argv[1::]))
    if len(args) < 2:
        sys.stderr.write(__doc__)
        return 2
    report_dir, admin = args[0], args[1].rstrip("/")
    token = opts.get("--token")
    first = int(opts.get("--first-id", "1"))
    with open(os.path.join(report_dir, "index.json")) as f:
        index = json.load(f)
    agent = opts.get("--agent") or sorted(index)[0]
    ids = sorted(index[agent], key=case_key)
    ours = our_cases(admin, first, len(ids), token)
    bad = clean_both = 0
    for k, case_id in enumerate(ids):
        entry = index[agent][case_id]
        path = os.path.join(report_dir,
                            entry["reportfile"].replace(".html", ".json"))
        with open(path) as f:
            theirs = json.load(f)
        mine = ours.get(first + k)
        if mine is None:
            print("%-8s no wsd record for case id %d" % (case_id, first + k))
            bad += 1
            continue
        clean_both += bool(theirs.get("wasClean") and mine["wasClean"])
        diff = compare(theirs, mine)
        if diff:
            bad += 1
            for d in diff:
                print("%-8s (wsd case %d) %s" % (case_id, first + k, d))
    print("%d cases compared, %d with a closing handshake complete on both "
          "sides, %d differ" % (len(ids), clean_both, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
