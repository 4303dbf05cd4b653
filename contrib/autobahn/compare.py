#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Compare an Autobahn testsuite report folder with wsd's own records of
the same connections: both views of each wire must mirror each other.

    contrib/autobahn/compare.py REPORT_DIR SOURCE [--token TOKEN]
                                [--agent NAME] [--verbose]

REPORT_DIR is a folder the testsuite's fuzzingclient wrote (index.json and
one .json per case). SOURCE is wsd's admin endpoint (http://HOST:PORT) or a
JSON file holding a list of wsd's case records (as /v1/cases serves them).
Each case is paired with wsd's record by the Sec-WebSocket-Key of its
opening handshake (so order, other clients and several campaigns do not
matter), and checked:

  request   wsd's httpRequest equals the testsuite's, byte for byte
  response  wsd's httpResponse equals the testsuite's
  frames    the frames the testsuite sent (its TF rows) are the frames wsd
            received (its RF rows), in order, with the same opcode, FIN,
            RSV and payload length, and the reverse; where either log is
            incomplete (wsd's hit its bound, or the testsuite switched its
            own off), the frame counts by opcode are compared instead
  octets    the octets each way add up to the same totals
  close     where both sides completed the closing handshake, the close
            codes mirror (wsd's remoteCloseCode is the testsuite's
            localCloseCode, and the reverse)

What the testsuite never read or parsed (it stops once it has closed) is
a note, not a difference. One line per case that differs or has a note,
then the tally. Exit status: 0 when every case pairs and agrees, 1 when one
differs or has no pair, 2 for bad input. This is the check of issue 14's
"Done when"; it needs the testsuite's report, so it is not part of make
check (tests/integration/test_autobahn_compare.py checks the checker on
tests/data/autobahn).
"""

import argparse
import json
import os
import re
import sys
import urllib.parse
import urllib.request

KEY_RE = re.compile(r"^Sec-WebSocket-Key:[ \t]*([^\r\n]*?)[ \t]*\r?$",
                    re.IGNORECASE | re.MULTILINE)


def case_order(case_id):
    return [int(p) if p.isdigit() else p for p in case_id.split(".")]


def request_key(head):
    m = KEY_RE.search(head or "")
    return m.group(1) if m else None


def frames(log, kind):
    """(opcode, fin, rsv, length) of each row of kind ("RF" or "TF"). The
    testsuite logs a long payload it sends as a pattern and the length it
    repeats it to (the TF row's seventh element)."""
    out = []
    for row in log:
        if row and row[0] == kind:
            length = row[1][0]
            if kind == "TF" and len(row) > 6 and row[6] is not None:
                length = row[6]
            out.append((row[2], bool(row[3]), row[4], length))
    return out


def octets(stats, overflow=None):
    """The octets a stats object adds up to, with wsd's overflow bucket."""
    total = sum(int(size) * n for size, n in (stats or {}).items())
    if overflow:
        total += overflow["octets"]
    return total


def count_by_opcode(rows):
    out = {}
    for op, _fin, _rsv, _len in rows:
        out[str(op)] = out.get(str(op), 0) + 1
    return out


def wire_size(length):
    """The octets of a masked frame with this payload length."""
    return 2 + 4 + length + (0 if length < 126 else 2 if length < 65536
                             else 8)


def raw_octets(case):
    """Octets the testsuite wrote that are not frames of its log: some
    cases write a frame's bytes by hand, or abandon a frame midway."""
    log = case.get("wirelog") or []
    written = sum(row[1][0] for row in log if row and row[0] == "TO")
    written -= len(case.get("httpRequest") or "")
    framed = sum(wire_size(f[3]) for f in frames(log, "TF"))
    return written - framed


def autobahn_log_whole(case):
    """False when the testsuite did not log every frame it sent and got:
    it switches its own log off around long payloads (9.*, 12.*)."""
    log = case.get("wirelog") or []
    if any(row and row[0] == "WLM" for row in log):
        return False
    for kind, stats in (("TF", "txFrameStats"), ("RF", "rxFrameStats")):
        if sum((case.get(stats) or {}).values()) != len(frames(log, kind)):
            return False
    return True


def wsd_log_whole(record):
    log = record.get("wirelog") or []
    return not any(row and row[0] == "GAP" for row in log)


def first_difference(a, b, sender, receiver):
    """Where two frame lists, (opcode, fin, rsv, length) each, part."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return "frame %d: %s sent %s, %s got %s" % (i + 1, sender, x,
                                                       receiver, y)
    return "%s sent %d frames, %s got %d" % (sender, len(a), receiver,
                                             len(b))


def compare(case, record, notes):
    """A list of what differs between a testsuite case and wsd's record;
    what is worth saying but is no difference goes to notes."""
    problems = []
    if record.get("httpRequest") != case.get("httpRequest"):
        problems.append("request head differs")
    if record.get("httpResponse") != case.get("httpResponse"):
        problems.append("response head differs")
    if wsd_log_whole(record) and autobahn_log_whole(case):
        for sent, got, what in (("TF", "RF", "testsuite->wsd"),
                                ("RF", "TF", "wsd->testsuite")):
            a = frames(case["wirelog"], sent)
            b = frames(record["wirelog"], got)
            if sent == "TF" and raw_octets(case) != 0:
                notes.append("the testsuite wrote %d octets outside the "
                             "frames of its log, so its frames are not "
                             "compared with wsd's %s" %
                             (raw_octets(case), b))
                continue
            if sent == "RF" and a == b[:len(a)] and len(a) < len(b):
                # The testsuite stopped reading or parsing once it had
                # closed (its octets show how far it read): not a change
                # on the wire.
                notes.append("wsd sent %d frames more than the testsuite "
                             "parsed (it read %d of wsd's %d octets)" %
                             (len(b) - len(a),
                              octets(case.get("rxOctetStats")),
                              octets(record.get("txOctetStats"))))
                continue
            if a != b:
                ends = what.split("->")
                problems.append("%s frames: %s" %
                                (what, first_difference(a, b, *ends)))
    else:
        for sent, got, what in (("txFrameStats", "rxFrameStats",
                                 "testsuite->wsd"),
                                ("rxFrameStats", "txFrameStats",
                                 "wsd->testsuite")):
            a = {str(k): v for k, v in (case.get(sent) or {}).items()}
            b = record.get(got) or {}
            if a != b:
                problems.append("%s frame counts: %s here, %s there" %
                                (what, a, b))
    theirs_rx = octets(case.get("rxOctetStats"))
    ours_tx = octets(record.get("txOctetStats"), record.get("txOctetOverflow"))
    ours_rx = octets(record.get("rxOctetStats"), record.get("rxOctetOverflow"))
    if ours_rx != octets(case.get("txOctetStats")):
        problems.append("testsuite->wsd octets: %d sent, %d arrived" %
                        (octets(case.get("txOctetStats")), ours_rx))
    if ours_tx != theirs_rx and not (theirs_rx < ours_tx and notes):
        problems.append("wsd->testsuite octets: %d sent, %d arrived" %
                        (ours_tx, theirs_rx))
    if case.get("wasClean") and record.get("wasClean"):
        for ours, theirs, what in (("remoteCloseCode", "localCloseCode",
                                    "testsuite->wsd"),
                                   ("localCloseCode", "remoteCloseCode",
                                    "wsd->testsuite")):
            if record.get(ours) != case.get(theirs):
                problems.append("%s close code: %r sent, %r arrived" %
                                (what, case.get(theirs) if ours ==
                                 "remoteCloseCode" else record.get(ours),
                                 record.get(ours) if ours ==
                                 "remoteCloseCode" else case.get(theirs)))
    return problems


def fetch_records(source, token, keys):
    """wsd's records by key, from a JSON file or the admin endpoint."""
    if os.path.isfile(source):
        with open(source, encoding="utf-8") as f:
            records = json.load(f)
        return {r.get("key"): r for r in records if r.get("key") in keys}
    out = {}
    for key in keys:
        url = "%s/v1/cases?key=%s" % (source.rstrip("/"),
                                      urllib.parse.quote(key, safe=""))
        req = urllib.request.Request(url)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        with urllib.request.urlopen(req, timeout=10) as resp:
            found = json.load(resp).get("cases", [])
        if found:
            out[key] = found[-1]
    return out


def main():
    ap = argparse.ArgumentParser(
        description="Pair an Autobahn report folder with wsd's records.")
    ap.add_argument("report_dir")
    ap.add_argument("source", help="admin URL or a JSON file of records")
    ap.add_argument("--token")
    ap.add_argument("--agent", help="the agent to check (default: all)")
    ap.add_argument("--verbose", action="store_true",
                    help="a line for agreeing cases too")
    args = ap.parse_args()

    try:
        with open(os.path.join(args.report_dir, "index.json"),
                  encoding="utf-8") as f:
            index = json.load(f)
        cases = []
        for agent in sorted(index):
            if args.agent and agent != args.agent:
                continue
            for case_id in sorted(index[agent], key=case_order):
                name = index[agent][case_id]["reportfile"]
                with open(os.path.join(args.report_dir, name),
                          encoding="utf-8") as f:
                    cases.append((agent, case_id, json.load(f)))
    except (OSError, ValueError, KeyError, TypeError) as e:
        print("compare.py: %s: %s" % (args.report_dir, e), file=sys.stderr)
        return 2

    keys = {request_key(c.get("httpRequest")) for _, _, c in cases} - {None}
    try:
        records = fetch_records(args.source, args.token, keys)
    except (OSError, ValueError) as e:
        print("compare.py: %s: %s" % (args.source, e), file=sys.stderr)
        return 2

    agree = differ = unpaired = partial = noted = 0
    for agent, case_id, case in cases:
        record = records.get(request_key(case.get("httpRequest")))
        if record is None:
            unpaired += 1
            print("%s %s: no wsd record with this Sec-WebSocket-Key" %
                  (agent, case_id))
            continue
        if not (wsd_log_whole(record) and autobahn_log_whole(case)):
            partial += 1
        notes = []
        problems = compare(case, record, notes)
        if notes:
            noted += 1
            print("%s %s (wsd case %s): note: %s" %
                  (agent, case_id, record.get("id"), "; ".join(notes)))
        if problems:
            differ += 1
            print("%s %s (wsd case %s): %s" %
                  (agent, case_id, record.get("id"), "; ".join(problems)))
        else:
            agree += 1
            if args.verbose:
                print("%s %s (wsd case %s): agree" %
                      (agent, case_id, record.get("id")))
    print("%d cases: %d agree, %d differ, %d unpaired "
          "(%d compared by frame counts: a log was incomplete; "
          "%d with a note)" %
          (len(cases), agree, differ, unpaired, partial, noted))
    return 0 if differ == 0 and unpaired == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
