# SPDX-License-Identifier: MIT
"""`wsd compare`: both ends of each wire, side by side.

On the run kept in tests/data/autobahn (the testsuite's report folder, and
wsd's records of the same connections, written by `wsd report` into wsd/):
every case pairs and is identical, with the notes the testsuite's ways
call for; --json has its shape, --html its pages, valid HTML5; each
difference planted in a copy (a header, a frame dropped or changed, a
close code, a bounded log, an octet, a record missing on either side) is
found, named, and makes the exit status 1; two wsd folders (instances
behind one load balancer) pair as one. Then against a live wsd: a raw
client that writes its own side in the testsuite's per-case format, the
admin endpoint asked by key, with and without its token, and `wsd report`
of the same connections. Last, each bad input: a clear message naming the
file or URL, exit status 2.

Only loopback and kernel-chosen ports.
"""
import copy
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import urllib.parse

import wsdtest
from farend import FarEnd
from wsdtest import Tap, html5_errors

SRC = os.environ.get("WSD_SRCDIR", os.path.join(os.path.dirname(__file__),
                                                "..", ".."))
DATA = os.path.join(SRC, "tests", "data", "autobahn")
WSD = wsdtest.WSD

tap = Tap()


def run(*args):
    p = subprocess.run([WSD, "compare"] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True,
                       timeout=wsdtest.timeout(60))
    return p.returncode, p.stdout, p.stderr


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)


def line_of(out, start):
    lines = [x for x in out.splitlines() if x.startswith(start)]
    return lines[0] if len(lines) == 1 else None


class Copy:
    """Scratch copies of both folders, to plant differences in."""

    def __init__(self, tmp):
        self.dir = tempfile.mkdtemp(dir=tmp)
        self.ab = os.path.join(self.dir, "ab")
        self.wsd = os.path.join(self.dir, "wsd")
        shutil.copytree(DATA, self.ab,
                        ignore=shutil.ignore_patterns("wsd", "*.md"))
        shutil.copytree(os.path.join(DATA, "wsd"), self.wsd)

    def case_file(self, case_id):
        return os.path.join(self.ab, load(os.path.join(
            self.ab, "index.json"))["wsd"][case_id]["reportfile"])

    def key(self, case_id):
        head = load(self.case_file(case_id))["httpRequest"]
        return head.split("Sec-WebSocket-Key: ", 1)[1].split("\r\n", 1)[0]

    def record_file(self, case_id):
        key = self.key(case_id)
        for e in load(os.path.join(self.wsd, "index.json"))["unknown"].values():
            path = os.path.join(self.wsd, e["reportfile"])
            if key in load(path)["httpRequest"]:
                return path
        raise KeyError(case_id)

    def edit(self, case_id, change, side="wsd"):
        path = (self.record_file(case_id) if side == "wsd"
                else self.case_file(case_id))
        doc = load(path)
        change(doc)
        save(path, doc)

    def run(self, *extra):
        return run(self.ab, self.wsd, *extra)


def rows(doc, kind, opcode=None):
    return [r for r in doc["wirelog"] if r[0] == kind and
            (opcode is None or r[2] == opcode)]


# The test data ----------------------------------------------------------------

def t_data(tmp):
    rc, out, err = run(DATA, os.path.join(DATA, "wsd"))
    tap.eq(rc, 0, "the data set: exit status 0")
    tap.ok("18 cases: 18 identical, 0 differ, 0 unpaired; 0 wsd records "
           "unpaired" in out, "the data set: every case pairs, identical",
           out + err)
    tap.eq(len([x for x in out.splitlines() if ": identical" in x]), 18,
           "the data set: a line per case")
    l643 = line_of(out, "wsd 6.4.3 ")
    tap.ok(l643 is not None and ": identical (payloads compared in their "
           "first 32 octets only); note: client->server: the client wrote 21 "
           "octets outside the frames of its log" in l643,
           "6.4.3: the frame the testsuite wrote by hand is a note", out)
    l716 = line_of(out, "wsd 7.1.6 ")
    tap.ok(l716 is not None and "wsd parsed only the first 3 of the 4 "
           "frames the client sent" in l716,
           "7.1.6: the ping after its close, never parsed, is a note", out)
    l1211 = line_of(out, "wsd 12.1.1 ")
    tap.ok(l1211 is not None and "frames compared by their counts per "
           "opcode" in l1211, "12.1.1: logs with a gap, compared by counts",
           out)

    jpath = os.path.join(tmp, "out", "compare.json")
    os.mkdir(os.path.dirname(jpath))
    hdir = os.path.join(tmp, "html")
    rc, out, err = run(DATA, os.path.join(DATA, "wsd"), "--json", jpath,
                       "--html", hdir)
    tap.eq(rc, 0, "--json and --html: exit status 0")
    doc = load(jpath)
    tap.eq(sorted(doc), ["cases", "report", "sources", "summary",
                         "wsdUnpaired", "wsdWithoutKey"], "--json: its keys")
    tap.eq(doc["summary"]["cases"], 18, "--json: 18 cases")
    tap.eq((doc["summary"]["identical"], doc["summary"]["differ"],
            doc["summary"]["unpaired"], doc["summary"]["wsdUnpaired"]),
           (18, 0, 0, 0), "--json: the summary's counts")
    c = doc["cases"][0]
    tap.ok(sorted(c) == ["agent", "comparison", "id", "key", "page", "paired",
                         "reportfile", "wsd"] and c["paired"] and
           c["wsd"]["source"].endswith("wsd") and
           c["comparison"]["identical"] is True,
           "--json: a case's keys, its pair, its comparison", c)
    way = c["comparison"]["clientToServer"]
    tap.ok(sorted(way) == ["differences", "frames", "framesByOpcode",
                           "messagePayloadOctets", "notes", "octets"] and
           sorted(way["octets"]) == ["reads", "received", "sameSegmentation",
                                     "sent", "writes"],
           "--json: a way's keys", way)
    tap.eq([x["id"] for x in doc["cases"]][:4],
           ["1.1.1", "1.1.2", "1.2.1", "2.10"],
           "--json: cases in the testsuite's order")
    pages = sorted(os.listdir(hdir))
    tap.eq(len(pages), 19, "--html: index.html and a page per case")
    bad = {}
    for name in pages:
        with open(os.path.join(hdir, name), "rb") as f:
            e = html5_errors(f.read())
        if e is not None:
            bad[name] = e
    tap.ok(not bad, "--html: every page is valid HTML5 (html5lib, strict)",
           bad)
    with open(os.path.join(hdir, "index.html"), encoding="utf-8") as f:
        index = f.read()
    tap.ok(all('href="%s"' % c["page"] in index for c in doc["cases"]),
           "--html: the index links each case's page")

    # Each page links back to the index and to both reports of its case,
    # by paths relative to the page, which lead to the files.
    def hrefs(name):
        with open(os.path.join(hdir, name), encoding="utf-8") as f:
            return re.findall(r'href="([^"]*)"', f.read())

    def leads_to(href, path):
        return os.path.realpath(os.path.join(
            hdir, urllib.parse.unquote(href))) == os.path.realpath(path)

    c = doc["cases"][0]
    links = hrefs(c["page"])
    record = os.path.join(DATA, "wsd", c["wsd"]["reportfile"])
    tap.ok("index.html" in links and
           any(leads_to(h, os.path.join(DATA, c["reportfile"]))
               for h in links) and
           any(leads_to(h, record) for h in links) and
           all(os.path.exists(os.path.join(hdir, urllib.parse.unquote(h)))
               for h in links),
           "--html: a case's page links to the index and to both reports",
           links)
    links = hrefs("index.html")
    tap.ok(any(leads_to(h, os.path.join(DATA, "index.json")) for h in links)
           and any(leads_to(h, os.path.join(DATA, "wsd", "index.json"))
                   for h in links),
           "--html: the index links to both report folders", links)
    # The check sees what it forbids: a page broken on purpose fails it.
    tap.ok(html5_errors(index.replace("</table>", "</div></table>", 1)
                        .encode()) is not None,
           "--html: the HTML5 check fails a page with a stray end tag")


def t_planted(tmp):
    def planted(name, case_id, change, want, side="wsd", way=None):
        c = Copy(tmp)
        c.edit(case_id, change, side)
        rc, out, err = c.run()
        line = line_of(out, "wsd %s " % case_id)
        tap.eq(rc, 1, "%s: exit status 1" % name)
        tap.ok(line is not None and want in line and
               "17 identical, 1 differ" in out,
               "%s: case %s differs: %s" % (name, case_id, want), out + err)

    def request_byte(r):
        r["httpRequest"] = r["httpRequest"].replace("Host", "host", 1)
    planted("a request byte changed", "1.1.1", request_byte,
            'client->server: request header changed on the way: "Host" '
            'spelled "host"')

    def response_header(r):
        r["httpResponse"] = r["httpResponse"].replace(
            "\r\n\r\n", "\r\nVia: proxy\r\n\r\n")
    planted("a response header wsd sent, gone on the way", "3.1",
            response_header, "server->client: response header removed on "
            'the way: Via: "proxy"')
    planted("a response header added on the way", "3.1", response_header,
            "server->client: response header added on the way: Via: "
            '"proxy"', side="client")

    def drop_rf(r):
        r["wirelog"].remove(rows(r, "RF", 9)[0])
        r["rxFrameStats"]["9"] -= 1
    planted("a received frame dropped", "2.10", drop_rf,
            "client->server: dropped on the way: frame 1 (ping, 9 octets)")

    def fin_changed(r):
        tf = rows(r, "TF")[0]
        tf[3] = not tf[3]
        tf[1][0] += 1
    planted("a sent frame's FIN and length changed", "5.1", fin_changed,
            "server->client: changed on the way: frame 1 (close, 27 octets) "
            "arrived as 26 octets, FIN set")

    def gap(r):
        # A bounded log: frames compared by their counts instead.
        i = r["wirelog"].index(rows(r, "RF", 1)[0])
        r["wirelog"][i:i + 1] = [["WLM", False], ["WLM", True]]
        r["rxFrameStats"]["1"] = r["rxFrameStats"].get("1", 0) + 7
    planted("a bounded log with counts that differ", "1.1.1", gap,
            "client->server: frames by opcode: sent text 1, close 1; "
            "arrived text 8, close 1")

    def close_code(r):
        rows(r, "RF", 8)[0][1][1] = "0x03ea"
        r["remoteCloseCode"] = 1002
    planted("a close code changed on the way", "6.2.1", close_code,
            "client->server: close code rewritten on the way: 1000 sent, "
            "1002 arrived")

    def octets(r):
        r["rxOctetStats"]["1"] = r["rxOctetStats"].get("1", 0) + 1
    planted("one more octet arrived", "12.1.1", octets,
            "client->server: octets:")

    # A record missing from wsd's side: the case is unpaired.
    c = Copy(tmp)
    key = c.key("5.1")
    path = os.path.join(c.wsd, "index.json")
    index = load(path)
    index["unknown"] = {k: v for k, v in index["unknown"].items()
                        if key not in load(os.path.join(
                            c.wsd, v["reportfile"]))["httpRequest"]}
    save(path, index)
    rc, out, err = c.run()
    tap.eq(rc, 1, "a record missing: exit status 1")
    tap.ok("wsd 5.1: unpaired: no wsd record has its Sec-WebSocket-Key %s"
           % key in out and "17 identical, 0 differ, 1 unpaired" in out,
           "a record missing: the case is listed as unpaired", out)

    # Two index entries of the report naming one file: one connection,
    # claimed twice. The first pairs, with a note; the second is unpaired,
    # saying whose key it has.
    c = Copy(tmp)
    key = c.key("5.1")
    path = os.path.join(c.ab, "index.json")
    index = load(path)
    index["wsd"]["5.1#2"] = dict(index["wsd"]["5.1"])
    save(path, index)
    rc, out, err = c.run()
    first = line_of(out, "wsd 5.1 ")
    second = line_of(out, "wsd 5.1#2")
    tap.eq(rc, 1, "two index entries naming one file: exit status 1")
    tap.ok(first is not None and
           ("note: the report's case wsd 5.1#2 has this Sec-WebSocket-Key "
            "too (its index entry names the same file, %s)"
            % os.path.basename(c.case_file("5.1"))) in first and
           second is not None and
           ("wsd 5.1#2: unpaired: its Sec-WebSocket-Key %s is that of the "
            "report's case wsd 5.1 (its index entry names the same file), "
            "which wsd's one record of it pairs with" % key) in second and
           "19 cases: 18 identical, 0 differ, 1 unpaired" in out,
           "two index entries naming one file: both lines say so", out)

    # Two wsd records of one key (the same record in two files): the case
    # pairs with the last; the other says why it is unpaired.
    c = Copy(tmp)
    key = c.key("5.1")
    rec = c.record_file("5.1")
    path = os.path.join(c.wsd, "index.json")
    index = load(path)
    old = [k for k, e in index["unknown"].items()
           if e["reportfile"] == os.path.basename(rec)][0]
    shutil.copy(rec, os.path.join(c.wsd, "unknown_case_999.json"))
    index["unknown"]["999"] = dict(index["unknown"][old],
                                   reportfile="unknown_case_999.json",
                                   wsdCase=999)
    save(path, index)
    rc, out, err = c.run()
    line = line_of(out, "wsd 5.1 ")
    tap.ok(rc == 1 and line is not None and
           "(wsd case 999): identical; note: wsd has 2 records of this "
           "Sec-WebSocket-Key: compared with the last" in line and
           ("wsd case %s of %s: unpaired: wsd has 2 records of its "
            "Sec-WebSocket-Key %s, the report 1 case (wsd 5.1), paired with "
            "the later record" % (old, c.wsd, key)) in out and
           "no case of the report has its" not in out,
           "two wsd records of one key: the one left says why", out)

    # A case missing from the testsuite's side: wsd's record is unpaired.
    c = Copy(tmp)
    key = c.key("5.1")
    path = os.path.join(c.ab, "index.json")
    index = load(path)
    del index["wsd"]["5.1"]
    save(path, index)
    rc, out, err = c.run()
    tap.eq(rc, 1, "a case missing: exit status 1")
    tap.ok(("of %s: unpaired: no case of the report has its "
            "Sec-WebSocket-Key %s" % (c.wsd, key)) in out and
           "17 cases: 17 identical" in out and "1 wsd record unpaired" in out,
           "a case missing: wsd's record is listed as unpaired", out)

    # Two wsd folders: instances behind one load balancer.
    c = Copy(tmp)
    other = os.path.join(c.dir, "wsd2")
    os.mkdir(other)
    index = load(os.path.join(c.wsd, "index.json"))
    half = sorted(index["unknown"])[::2]
    for k in half:
        name = index["unknown"][k]["reportfile"]
        shutil.move(os.path.join(c.wsd, name), os.path.join(other, name))
    save(os.path.join(other, "index.json"),
         {"unknown": {k: index["unknown"][k] for k in half}})
    save(os.path.join(c.wsd, "index.json"),
         {"unknown": {k: v for k, v in index["unknown"].items()
                      if k not in half}})
    rc, out, err = run(c.ab, c.wsd, other)
    tap.ok(rc == 0 and "18 cases: 18 identical, 0 differ, 0 unpaired" in out
           and out.count(" of %s): identical" % other) == len(half),
           "two wsd folders: every case pairs across both, each line naming "
           "its source", out + err)


# A live wsd, and a client that writes its own side ----------------------------

# An agent name or case id a report chose: a terminal's escape sequences,
# a line of its own made to look like a verdict, a C1 control (CSI) and a
# bidirectional override.
FORGED = "\x1b[31m\nwsd 9.9 (wsd case 99): identical\r\u009b2J\u202e"


def t_hostile_names(tmp):
    """A report folder is input: its agent's name and case ids (and the
    ids of a wsd folder) show escaped in the lines wsd compare prints, one
    line per case, none forged, nothing that drives a terminal."""
    c = Copy(tmp)
    index_path = os.path.join(c.ab, "index.json")
    index = load(index_path)
    cases = {}
    for n, (cid, e) in enumerate(sorted(index["wsd"].items())):
        doc = load(os.path.join(c.ab, e["reportfile"]))
        doc["agent"] = FORGED
        doc["id"] = cid + FORGED
        if n == 0:  # another key: unpaired, and so is wsd's record of it
            doc["httpRequest"] = doc["httpRequest"].replace(
                c.key(cid), "AAAAAAAAAAAAAAAAAAAAAA==")
        save(os.path.join(c.ab, e["reportfile"]), doc)
        cases[cid + FORGED] = e
    save(index_path, {FORGED: cases})
    # A wsd folder whose index has no record numbers: its lines name
    # wsd's cases by their ids.
    wsd_index_path = os.path.join(c.wsd, "index.json")
    wsd_index = load(wsd_index_path)
    wsd_cases = {}
    for n, e in enumerate(wsd_index["unknown"].values()):
        e.pop("wsdCase", None)
        path = os.path.join(c.wsd, e["reportfile"])
        doc = load(path)
        doc["id"] = "%d%s" % (n, FORGED)
        save(path, doc)
        wsd_cases[doc["id"]] = e
    save(wsd_index_path, {"unknown": wsd_cases})
    p = subprocess.run([WSD, "compare", c.ab, c.wsd],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=wsdtest.timeout(60))
    out = p.stdout.decode("utf-8", "replace")
    lines = out.split("\n")
    tap.eq(p.returncode, 1, "hostile names: exit status 1 (one unpaired)")
    tap.ok(len(lines) == 18 + 1 + 1 + 1 and lines[-1] == "" and
           lines[-2].startswith("18 cases: 17 identical, 0 differ, 1 "
                                "unpaired; 1 wsd record unpaired"),
           "hostile names: a line per case, one for wsd's unpaired record "
           "and the summary, none forged", out)
    tap.ok(all(l.startswith("\\x1b[31m\\x0awsd 9.9 (wsd case 99): "
                            "identical\\x0d\\xc2\\x9b2J\\xe2\\x80\\xae ")
               for l in lines[:18]),
           "hostile names: the agent's name shown escaped", out)
    tap.ok(re.search(r"^wsd case [0-9]+\\x1b\[31m\\x0awsd 9\.9 .* of .*: "
                     r"unpaired: ", out, re.M) is not None,
           "hostile names: a wsd folder's id shown escaped", out)
    bad = [ch for ch in out.replace("\n", "") if ord(ch) < 0x20 or
           0x7f <= ord(ch) < 0xa0 or 0x202a <= ord(ch) <= 0x202e]
    tap.eq(bad, [], "hostile names: no control character reaches the "
           "terminal")


def drive(port, folder):
    """Three connections, each writing its side into folder."""
    index = {}
    a = FarEnd(port, "1")
    a.send_frame(1, b"hello, compare")
    a.recv_frame()
    a.close()
    a.write(folder, index)

    b = FarEnd(port, "2")
    b.send_frame(1, b"frag", fin=False)
    b.send_frame(9, b"are you there")
    b.send_frame(0, b"mented", fin=True)
    b.recv_frame()  # the pong
    b.recv_frame()  # the echo, in one frame
    b.send_frame(2, bytes(range(256)) * 4)
    b.recv_frame()
    b.close(1001, b"going")
    b.write(folder, index)

    # A text payload with a NUL: valid UTF-8, so shown as text ("\u0000").
    c = FarEnd(port, "3")
    c.send_frame(1, b"nul\x00inside")
    c.recv_frame()
    c.close()
    c.write(folder, index)
    save(os.path.join(folder, "index.json"), index)
    return [a, b, c]


def report_via_relay(tmp, name, port, answer=None, after=None):
    """Runs `wsd report` into tmp/name through a relay in front of the
    admin endpoint on port: answer(path), when given, may answer a request
    itself with (status, headers, body), else None; after(path) runs once
    a request was relayed, before its answer goes back. Returns the
    CompletedProcess."""
    import http.server
    import threading

    class Relay(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            mine = answer(self.path) if answer else None
            if mine is None:
                status, hdrs, body = wsdtest.admin_request(port, self.path)
                hdrs = {"Content-Type": hdrs.get("content-type",
                                                 "text/plain")}
                if after:
                    after(self.path)
            else:
                status, hdrs, body = mine
            self.send_response(status)
            for k, v in hdrs.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    relay = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    serving = threading.Thread(target=relay.serve_forever, daemon=True)
    serving.start()
    try:
        return subprocess.run([WSD, "report", "--admin",
                               "http://127.0.0.1:%d" % relay.server_port,
                               "--out", os.path.join(tmp, name)],
                              capture_output=True, text=True,
                              timeout=wsdtest.timeout(60))
    finally:
        relay.shutdown()
        relay.server_close()


def t_report_while_cases_begin(tmp):
    """`wsd report` writes the cases wsd holds when it starts: one that
    begins during the run (opened here by a relay in front of the admin
    endpoint once the report has read /v1/stats) is left for the next
    run, or a run against a server that is never idle would chase the
    new cases page after page and never end."""
    one_case = wsdtest.warm_up  # one whole case
    with wsdtest.Wsd(tap, ["--stats_cases", "16"]) as w:
        port = wsdtest.admin_port(w)
        one_case(w.port)
        one_case(w.port)

        def after(path):
            if path == "/v1/stats":
                one_case(w.port)  # begins once the run has begun

        p = report_via_relay(tmp, "report-while-cases-begin", port,
                             after=after)
        out = os.path.join(tmp, "report-while-cases-begin")
        tap.eq(wsdtest.admin_stats(port)["cases"]["lastId"], 3,
               "report while cases begin: a third case began during the run")
        tap.ok(p.returncode == 0 and "2 cases of 1 agent" in p.stdout,
               "report while cases begin: exit 0, the two cases held when "
               "it began", p.stdout + p.stderr)
        ids = []
        if p.returncode == 0:
            for cases in load(os.path.join(out, "index.json")).values():
                ids += [e["wsdCase"] for e in cases.values()]
        tap.eq(sorted(ids), [1, 2],
               "report while cases begin: index.json has cases 1 and 2")


def t_report_retries(tmp):
    """`wsd report` asks again, after the Retry-After it is told, when the
    endpoint answers 503 for cases (it holds too many unread answers, or
    a record is in the middle of a change), saying so each time; it
    gives up after 10 retries. A relay in front of the admin endpoint
    answers the first requests for cases with 503 and Retry-After."""
    with wsdtest.Wsd(tap, ["--stats_cases", "16"]) as w:
        port = wsdtest.admin_port(w)
        wsdtest.warm_up(w.port)
        wsdtest.warm_up(w.port)

        def run(refusals, after):
            asked = {"cases": 0}

            def answer(path):
                if not path.startswith("/v1/cases"):
                    return None
                asked["cases"] += 1
                if asked["cases"] > refusals:
                    return None
                return (503, {"Retry-After": after,
                              "Content-Type": "application/json"},
                        b'{"error":"held answers over the limit"}')

            p = report_via_relay(tmp, "report-retries-%d" % refusals, port,
                                 answer=answer)
            return p, asked["cases"]

        p, asked = run(2, "1")
        tap.ok(p.returncode == 0 and "2 cases of 1 agent" in p.stdout,
               "503 twice: the report is written whole, exit 0",
               p.stdout + p.stderr)
        tap.ok("HTTP 503: held answers over the limit: asking again in 1 s "
               "(1 of 10)" in p.stderr and "(2 of 10)" in p.stderr and
               "(3 of 10)" not in p.stderr,
               "503 twice: each retry said, with the endpoint's sentence",
               p.stderr)
        p, asked = run(1000, "0")
        tap.ok(p.returncode == 1 and asked == 11,
               "503 always: given up after 10 retries (11 requests), exit 1",
               (p.returncode, asked, p.stderr))
        tap.ok("(10 of 10)" in p.stderr and
               p.stderr.rstrip().endswith("HTTP 503: held answers over the "
                                          "limit"),
               "503 always: the last answer said", p.stderr)
        p, asked = run(1, "3600")
        tap.ok(p.returncode == 1 and asked == 1 and "asking again"
               not in p.stderr,
               "503 with Retry-After past 10 s: not waited for, exit 1",
               (p.returncode, asked, p.stderr))


def t_live(tmp):
    token = os.path.join(tmp, "token")
    with open(token, "w") as f:
        f.write("compare-s3cret\n")
    wrong = os.path.join(tmp, "wrong")
    with open(wrong, "w") as f:
        f.write("not-it\n")
    # Long wire logs (case_wirelog 4096), but few records: each worker
    # makes all of its records resident before its first accept, and
    # 4096 of them (the default) take over 1 GB, which on a loaded
    # machine outlasts a client's 5 s wait for the opening handshake.
    with wsdtest.Wsd(tap, ["--case_wirelog", "4096", "--stats_cases", "256",
                           "--admin_token_file", token]) as w:
        folder = os.path.join(tmp, "pyclient")
        os.mkdir(folder)
        sides = drive(w.port, folder)
        url = "http://127.0.0.1:%d" % wsdtest.admin_port(w)
        headers = {"Authorization": "Bearer compare-s3cret"}
        wsdtest.wait_until(lambda: all(
            c["state"] == "closed" for c in wsdtest.admin_json(
                wsdtest.admin_port(w), "/v1/cases", headers)[1]["cases"]), 5)

        rc, out, err = run(folder, url, "--token-file", token)
        tap.eq(rc, 0, "live: exit status 0", )
        tap.ok("3 cases: 3 identical, 0 differ, 0 unpaired" in out,
               "live: the client's three cases pair with wsd's records, by "
               "key, identical", out + err)
        l2 = line_of(out, "pyclient 2 ")
        tap.ok(l2 is not None and l2.endswith(
            ": identical (payloads compared in their first 32 octets only)"),
               "live: a fragmented message with a ping between its "
               "fragments, a binary message, a close with a reason", out)

        rc, out, err = run(folder, url)
        tap.ok(rc == 2 and ("%s: the admin endpoint refused a request "
                            "without a token (HTTP 401" % url) in err,
               "live: no token: exit status 2, naming the URL", err)
        rc, out, err = run(folder, url, "--token-file", wrong)
        tap.ok(rc == 2 and ("%s: the admin endpoint refused the token "
                            "(HTTP 401" % url) in err,
               "live: a wrong token: exit status 2, naming the URL", err)

        # The same connections through `wsd report`'s folder; the NUL in
        # case 3's payload is JSON's \u0000, which the report keeps.
        report = os.path.join(tmp, "report")
        p = subprocess.run([WSD, "report", "--admin", url, "--out", report,
                            "--token-file", token], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True,
                           timeout=wsdtest.timeout(60))
        tap.ok(p.returncode == 0 and "3 cases" in p.stdout,
               "live: wsd report writes the three cases, a payload with a "
               "NUL among them", p.stdout + p.stderr)
        rc, out, err = run(folder, report)
        tap.ok(rc == 0 and "3 cases: 3 identical" in out,
               "live: the same against wsd report's folder", out + err)

        # The files keep the statistics' keys in numeric order, as the
        # endpoint serves them and the testsuite writes its integer keys;
        # the other keys sorted, as the testsuite's.
        stats = ("rxOctetStats", "txOctetStats", "rxFrameStats",
                 "txFrameStats")
        orders, served, names = [], [], []
        index = load(os.path.join(report, "index.json"))
        for e in index["unknown"].values():
            with open(os.path.join(report, e["reportfile"])) as f:
                doc = json.load(f, object_pairs_hook=lambda kv: kv)
            names.append([k for k, _ in doc])
            d = dict(doc)
            orders += [[k for k, _ in d[s]] for s in stats]
            _, live, _ = wsdtest.admin_json(
                wsdtest.admin_port(w), "/v1/cases/%d/autobahn" % e["wsdCase"],
                headers)
            served += [list(live[s]) for s in stats]
        tap.ok(orders == served and
               all(o == sorted(o, key=int) for o in orders) and
               any(len(set(len(k) for k in o)) > 1 for o in orders),
               "live: wsd report's files keep the statistics in numeric "
               "order, the endpoint's", repr(orders))
        tap.ok(all(n == sorted(n) for n in names),
               "live: ... and their other keys sorted", repr(names))

        # What the client saw, changed as a proxy would: its own report
        # says the echo came back in two frames.
        doc = sides[0].r
        planted = copy.deepcopy(doc)
        rf = [r for r in planted["wirelog"] if r[0] == "RF" and r[2] == 1][0]
        i = planted["wirelog"].index(rf)
        planted["wirelog"][i:i + 1] = [
            ["RF", [6, "hello,"], 1, False, 0, False, None],
            ["RF", [8, " compare"], 0, True, 0, False, None]]
        planted["rxFrameStats"]["0"] = 1
        save(os.path.join(folder, "pyclient_case_1.json"), planted)
        rc, out, err = run(folder, url, "--token-file", token)
        l1 = line_of(out, "pyclient 1 ")
        tap.ok(rc == 1 and l1 is not None and "server->client: " in l1 and
               "fragmented on the way: message 1 (text, 14 octets) sent in 1 "
               "frame, arrived in 2" in l1,
               "live: an echo re-fragmented on the way is named", out + err)
        save(os.path.join(folder, "pyclient_case_1.json"), doc)

        # The WebSocket port instead of the admin endpoint: an HTTP
        # server, but not wsd's admin endpoint (last: wsd records the
        # request it refuses).
        ws_url = "http://127.0.0.1:%d" % w.port
        rc, out, err = run(folder, ws_url, "--token-file", token)
        tap.ok(rc == 2 and ("%s/v1/cases?key=" % ws_url) in err and
               "no case list: is this a wsd admin endpoint?" in err and
               "Traceback" not in err,
               "live: the WebSocket port given as the endpoint: exit status "
               "2, naming the URL", err)


# Bad input ------------------------------------------------------------------------

def t_bad_input(tmp):
    def bad(name, args, want):
        rc, out, err = run(*args)
        tap.ok(rc == 2 and want in err and "Traceback" not in err and
               "Sanitizer" not in err,
               "%s: exit status 2, said: %s" % (name, want),
               "rc %d\n%s" % (rc, err))

    wsd_side = os.path.join(DATA, "wsd")
    nowhere = os.path.join(tmp, "nowhere")
    bad("no report folder", [nowhere, wsd_side],
        "%s/index.json: No such file or directory" % nowhere)
    bad("no SOURCE", [DATA], "a SOURCE is required")
    bad("a SOURCE folder that is not there", [DATA, nowhere],
        "%s/index.json: No such file or directory" % nowhere)
    bad("an unknown option", [DATA, wsd_side, "--frobnicate"],
        "unknown option --frobnicate")
    # An option's value that reads like -h is the value, not a call for
    # help: here the output file of --json, so the folders are missing.
    bad("--json's value -h", ["--json", "-h"],
        "AUTOBAHN_REPORT_DIR and a SOURCE are required")

    c = Copy(tmp)
    with open(os.path.join(c.ab, "index.json")) as f:
        text = f.read()
    with open(os.path.join(c.ab, "index.json"), "w") as f:
        f.write(text[:len(text) // 2])
    bad("a truncated index.json", [c.ab, c.wsd],
        "%s/index.json: not JSON: it ends before its value does "
        "(truncated?)" % c.ab)

    # What the testsuite writes when its servers refused every connection.
    empty = os.path.join(tmp, "empty")
    os.mkdir(empty)
    save(os.path.join(empty, "index.json"), {})
    bad("a report folder with no case", [empty, wsd_side],
        "%s/index.json: no case in it, so nothing to compare" % empty)
    save(os.path.join(empty, "index.json"), {"wsd": {}})
    bad("a report folder whose agent has no case", [empty, wsd_side],
        "%s/index.json: no case in it, so nothing to compare" % empty)

    c = Copy(tmp)
    path = c.case_file("2.10")
    os.unlink(path)
    bad("a case file missing", [c.ab, c.wsd],
        "%s: No such file or directory" % path)

    c = Copy(tmp)
    path = c.case_file("2.10")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text[:100])
    bad("a truncated case file", [c.ab, c.wsd],
        "%s: not JSON: it ends before its value does (truncated?)" % path)

    # Errors worded by what jansson found, not all "(truncated?)".
    c = Copy(tmp)
    path = c.case_file("2.10")
    with open(path, "a") as f:
        f.write("\n}junk")
    bad("a case file with more after its value", [c.ab, c.wsd],
        "%s: not JSON: more follows its value" % path)
    c = Copy(tmp)
    path = c.case_file("2.10")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace(":", ";", 1))
    bad("a case file with a syntax error", [c.ab, c.wsd],
        "%s: not JSON: " % path)
    rc, out, err = run(c.ab, c.wsd)
    tap.ok(rc == 2 and "truncated" not in err and "line 2" in err,
           "... which is not called truncated, and names the line", err)

    # The bound on a case file's size: 32 MiB, white space past the
    # value counting as much as any other byte.
    bound = 32 << 20
    c = Copy(tmp)
    path = c.case_file("2.10")
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data + b" " * (bound - len(data)))
    rc, out, err = run(c.ab, c.wsd)
    tap.ok(rc == 0, "a case file of 32 MiB exactly is read", err)
    with open(path, "a") as f:
        f.write(" ")
    bad("a case file past the bound", [c.ab, c.wsd],
        "%s: %d bytes, more than a case file may have (32 MiB)"
        % (path, bound + 1))

    c = Copy(tmp)
    c.edit("3.1", lambda r: r.__setitem__("wirelog", {}), side="client")
    bad("a case not in Autobahn's shape", [c.ab, c.wsd],
        "%s: case 3.1 of agent wsd: not an Autobahn case report: "
        "\"wirelog\" is not an array" % c.case_file("3.1"))

    def record_id(c, path):
        """The wsd folder's index key of the record in path."""
        entries = load(os.path.join(c.wsd, "index.json"))["unknown"]
        return [k for k, e in entries.items()
                if e["reportfile"] == os.path.basename(path)][0]

    c = Copy(tmp)
    path = c.record_file("3.1")
    c.edit("3.1", lambda r: r["rxFrameStats"].__setitem__("x", 1))
    bad("a wsd record not in Autobahn's shape", [c.ab, c.wsd],
        "%s: case %s of agent unknown: not an Autobahn case report: "
        "\"rxFrameStats\" has a key that is not an opcode"
        % (path, record_id(c, path)))

    # Each malformed row or key the review found passing.
    def cut_rf(r):
        i = [k for k, row in enumerate(r["wirelog"]) if row[0] == "RF"][0]
        r["wirelog"][i] = r["wirelog"][i][:5]
        return i + 1

    c = Copy(tmp)
    row_no = cut_rf(load(c.case_file("3.1")))
    c.edit("3.1", cut_rf, side="client")
    bad("an RF row cut to 5 elements", [c.ab, c.wsd],
        "%s: case 3.1 of agent wsd: not an Autobahn case report: "
        "\"wirelog\" row %d (RF) has 5 elements, not 7"
        % (c.case_file("3.1"), row_no))

    for name, change, want in (
            ("a row of an unknown kind",
             lambda r: r["wirelog"].append(["XX", 1]), "is of kind \"XX\""),
            ("a WLM row neither on nor off",
             lambda r: r["wirelog"].append(["WLM", "maybe"]),
             "(WLM): on is not true or false"),
            ("failedByMe deleted", lambda r: r.pop("failedByMe"),
             "\"failedByMe\" missing"),
            ("an id that is a number", lambda r: r.__setitem__("id", 3),
             "\"id\" is not a string")):
        c = Copy(tmp)
        path = c.record_file("3.1")
        c.edit("3.1", change)
        bad("a wsd record: " + name, [c.ab, c.wsd],
            "%s: case %s of agent unknown: not an Autobahn case report: "
            % (path, record_id(c, path)))
        bad("a wsd record: " + name + ", named", [c.ab, c.wsd], want)

    bad("the two sides swapped", [wsd_side, DATA],
        "written from the server's side (isServer true): the first argument "
        "is the client's report folder")

    # An endpoint that is down: a port bound but not listening refuses.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        url = "http://127.0.0.1:%d" % s.getsockname()[1]
        bad("an endpoint that is down", [DATA, url],
            "%s: cannot connect" % url)
    finally:
        s.close()
    bad("an https URL", [DATA, "https://127.0.0.1:1"],
        "https://127.0.0.1:1: not an http://HOST:PORT URL")
    bad("a --token-file that is not there", [DATA, wsd_side, "--token-file",
                                             nowhere],
        "--token-file %s: No such file or directory" % nowhere)
    # URLs libevent cannot parse: said, never a crash (evhttp_uri_free
    # of no URI had taken the process down with SIGSEGV).
    for url in ["http://127.0.0.1:99999", "http://[::1"]:
        bad("a URL libevent cannot parse: %s" % url, [DATA, url],
            "%s: not an http://HOST:PORT URL" % url)
    for url in ["http://127.0.0.1:99999", "127.0.0.1:1"]:
        p = subprocess.run([WSD, "report", "--admin", url, "--out",
                            os.path.join(tmp, "never")],
                           capture_output=True, text=True,
                           timeout=wsdtest.timeout(30))
        want = "%s: not an http://HOST:PORT URL" % url
        tap.ok(p.returncode == 2 and want in p.stderr,
               "wsd report --admin %s: exit status 2, said: %s" % (url, want),
               "rc %d\n%s" % (p.returncode, p.stderr))
    tap.ok(not os.path.exists(os.path.join(tmp, "never")),
           "wsd report: a run that fails leaves no --out folder behind")
    c = Copy(tmp)
    with open(os.path.join(c.ab, "index.json"), "rb") as f:
        index_before = f.read()
    bad("--json into the report folder", [c.ab, c.wsd, "--json",
                                          os.path.join(c.ab, "index.json")],
        "--json %s: inside the report folder %s" % (
            os.path.join(c.ab, "index.json"), c.ab))
    bad("--html onto a SOURCE folder", [c.ab, c.wsd, "--html", c.wsd],
        "--html %s: that is the report folder %s" % (c.wsd, c.wsd))
    with open(os.path.join(c.ab, "index.json"), "rb") as f:
        tap.ok(f.read() == index_before,
               "... and the report folder's index.json is as it was")
    bad("a --token-file that is a folder",
        [DATA, wsd_side, "--token-file", tmp],
        "--token-file %s: Is a directory" % tmp)
    bad("a --json in a folder that is not there",
        [DATA, wsd_side, "--json", os.path.join(nowhere, "x.json")],
        "--json %s/x.json: %s/.x.json.tmp: No such file or directory"
        % (nowhere, nowhere))


def main():
    tmp = tempfile.mkdtemp()
    try:
        wsdtest.guard(tap, "the data set", t_data, tmp)
        wsdtest.guard(tap, "planted differences", t_planted, tmp)
        wsdtest.guard(tap, "hostile names", t_hostile_names, tmp)
        wsdtest.guard(tap, "a live wsd", t_live, tmp)
        wsdtest.guard(tap, "report while cases begin",
                      t_report_while_cases_begin, tmp)
        wsdtest.guard(tap, "report retries", t_report_retries, tmp)
        wsdtest.guard(tap, "bad input", t_bad_input, tmp)
    finally:
        shutil.rmtree(tmp)
    tap.done()


if __name__ == "__main__":
    main()
