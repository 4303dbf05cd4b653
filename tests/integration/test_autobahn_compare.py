# SPDX-License-Identifier: MIT
"""contrib/autobahn/compare.py, the check that both ends of each wire of an
Autobahn campaign agree, on the run kept in tests/data/autobahn: it pairs
the cases that agree, and finds each difference planted in a copy (a byte
of a head, a frame dropped or changed, a close code, a missing record)."""

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile

from wsdtest import Tap

SRC = os.environ.get("WSD_SRCDIR", os.path.join(os.path.dirname(__file__),
                                                "..", ".."))
DATA = os.path.join(SRC, "tests", "data", "autobahn")
COMPARE = os.path.join(SRC, "contrib", "autobahn", "compare.py")
AGREEING = ["1.1.1", "2.10", "3.1", "5.1", "6.2.1", "12.1.1"]


def run(report_dir, source):
    p = subprocess.run([sys.executable, COMPARE, report_dir, source],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, text=True)
    return p.returncode, p.stdout, p.stderr


def load(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        return json.load(f)


class Copy:
    """A scratch report folder with some of the cases, and wsd's records."""

    def __init__(self, tmp, case_ids):
        self.dir = tempfile.mkdtemp(dir=tmp)
        index = load("index.json")
        index["wsd"] = {k: v for k, v in index["wsd"].items()
                        if k in case_ids}
        with open(os.path.join(self.dir, "index.json"), "w") as f:
            json.dump(index, f)
        for entry in index["wsd"].values():
            shutil.copy(os.path.join(DATA, entry["reportfile"]), self.dir)
        self.records = load("wsd-records.json")
        self.source = os.path.join(self.dir, "records.json")

    def record_of(self, case_id):
        name = load("index.json")["wsd"][case_id]["reportfile"]
        with open(os.path.join(self.dir, name), encoding="utf-8") as f:
            head = json.load(f)["httpRequest"]
        for r in self.records:
            if r["key"] in head:
                return r
        raise KeyError(case_id)

    def run(self):
        with open(self.source, "w") as f:
            json.dump(self.records, f)
        return run(self.dir, self.source)


def main():
    tap = Tap()
    tmp = tempfile.mkdtemp()
    try:
        c = Copy(tmp, AGREEING)
        rc, out, err = c.run()
        tap.eq(rc, 0, "six agreeing cases: exit status 0")
        tap.ok("6 cases: 6 agree, 0 differ, 0 unpaired" in out,
               "six agreeing cases: the tally says so", out + err)

        def planted(name, case_id, change, want):
            c = Copy(tmp, AGREEING)
            change(c.record_of(case_id))
            rc, out, err = c.run()
            line = [x for x in out.splitlines()
                    if x.startswith("wsd %s " % case_id)]
            tap.eq(rc, 1, "%s: exit status 1" % name)
            tap.ok(len(line) == 1 and want in line[0] and
                   "5 agree, 1 differ" in out,
                   "%s: case %s differs: %s" % (name, case_id, want),
                   out + err)

        def request_byte(r):
            r["httpRequest"] = r["httpRequest"].replace("Host", "host", 1)
        planted("a request byte changed", "1.1.1", request_byte,
                "request head differs")

        def response_header(r):
            r["httpResponse"] = r["httpResponse"].replace(
                "\r\n\r\n", "\r\nVia: proxy\r\n\r\n")
        planted("a response header added", "3.1", response_header,
                "response head differs")

        def drop_rf(r):
            rf = [row for row in r["wirelog"] if row[0] == "RF"]
            r["wirelog"].remove(rf[0])
        planted("a received frame dropped", "2.10", drop_rf,
                "testsuite->wsd frames: frame 10: testsuite sent (9,")

        def fin_changed(r):
            tf = [row for row in r["wirelog"] if row[0] == "TF"]
            tf[0][3] = not tf[0][3]
            tf[0][1][0] += 1
        planted("a sent frame's FIN and length changed", "5.1", fin_changed,
                "wsd->testsuite frames: frame 1")

        def gap(r):
            # A bounded log: frames compared by their counts instead.
            rf = [i for i, row in enumerate(r["wirelog"]) if row[0] == "RF"]
            r["wirelog"][rf[0]] = ["GAP", 1]
            r["rxFrameStats"]["1"] = r["rxFrameStats"].get("1", 0) + 7
        planted("a bounded log with counts that differ", "1.1.1", gap,
                "testsuite->wsd frame counts")

        def close_code(r):
            r["remoteCloseCode"] = 1002
        planted("a close code changed on the way", "6.2.1", close_code,
                "testsuite->wsd close code: 1000 sent, 1002 arrived")

        def octets(r):
            r["rxOctetStats"]["1"] = r["rxOctetStats"].get("1", 0) + 1
        planted("one more octet arrived", "12.1.1", octets,
                "testsuite->wsd octets")

        c = Copy(tmp, AGREEING)
        c.records.remove(c.record_of("5.1"))
        rc, out, err = c.run()
        tap.eq(rc, 1, "a record missing: exit status 1")
        tap.ok("wsd 5.1: no wsd record with this Sec-WebSocket-Key" in out
               and "1 unpaired" in out,
               "a record missing: the case is listed as unpaired", out)

        rc, out, err = run(os.path.join(tmp, "nowhere"),
                           os.path.join(DATA, "wsd-records.json"))
        tap.ok(rc == 2 and "index.json" in err,
               "no report folder: exit status 2 naming index.json",
               "rc %d\n%s" % (rc, err))
        c = Copy(tmp, AGREEING)
        with open(os.path.join(c.dir, "index.json"), "w") as f:
            f.write("{not json")
        rc, out, err = run(c.dir, os.path.join(DATA, "wsd-records.json"))
        tap.ok(rc == 2 and "compare.py:" in err,
               "an index that is not JSON: exit status 2", err)

        # The whole folder: the case that writes a frame by hand is a
        # note, not a difference, and every case is paired.
        rc, out, err = run(DATA, os.path.join(DATA, "wsd-records.json"))
        tap.ok("wsd 6.4.3 (wsd case 76): note: the testsuite wrote 21 "
               "octets outside the frames of its log" in out,
               "6.4.3: the frame written by hand is a note", out)
        tap.ok("0 unpaired" in out and rc in (0, 1),
               "the whole folder: every case is paired", out + err)
    finally:
        shutil.rmtree(tmp)
    tap.done()


if __name__ == "__main__":
    main()
