# SPDX-License-Identifier: MIT
"""The case log (case_log): every closed case's record as one JSON line.

Two workers and many concurrent clients, some with handshakes of 40 KB
so that lines are long: every line parses, one per case, each the very
record /v1/cases/ID serves. Rotation: the file renamed and SIGUSR1 sent
while clients come and go; no case is lost or torn between the two
files, and once both workers have reopened, new cases land in the new
file only. A worker killed with a connection open: the master writes
that case ("worker died"). A full disk (case_log /dev/full): every case
counted in caseLogWriteErrors and wsd_case_log_write_errors_total,
logged (not once per case), and the workers keep echoing. Reload: a new
file, then off, which writes nothing; a file wsd cannot open refuses a
reload and stops a start, naming the file.

Only loopback and kernel-chosen ports.
"""
import asyncio
import json
import os
import random
import re
import shutil
import signal
import tempfile

import wsdtest

tap = wsdtest.Tap()
TMP = tempfile.mkdtemp(prefix="wsd-caselog-")
CLIENTS = 120
PAD = 40000


def lines_of(path):
    """The file's lines (bytes, without their newline) and whether its
    last line had one; ([], True) when there is no file."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return [], True
    if not data:
        return [], True
    return data.split(b"\n")[:-1] if data.endswith(b"\n") else \
        data.split(b"\n"), data.endswith(b"\n")


def parse(lines):
    """(records parsed, lines that are not a JSON object with an id)."""
    recs, bad = [], []
    for line in lines:
        try:
            rec = json.loads(line.decode("utf-8"))
            if not isinstance(rec, dict) or not isinstance(rec.get("id"),
                                                             int):
                raise ValueError("no id")
            recs.append(rec)
        except (UnicodeDecodeError, ValueError):
            bad.append(line[:80] + b"..." + line[-40:])
    return recs, bad


def whole_and_once(label, lines, ended, want_n):
    """Checks the lines: each a whole record, each case once, want_n of
    them. Returns the records."""
    recs, bad = parse(lines)
    tap.ok(ended and not bad, "%s: every line is a whole JSON record, "
           "ending with its newline (%d lines)" % (label, len(lines)),
           "%d bad lines, first: %r" % (len(bad), bad[:2]))
    ids = [r["id"] for r in recs]
    tap.eq(len(ids) - len(set(ids)), 0, "%s: no case twice" % label)
    tap.eq(len(set(ids)), want_n, "%s: one line per case" % label)
    return recs


async def client(port, i, pad):
    """One client: a handshake (with pad, every other one padded to PAD
    bytes), a few messages of random sizes, a close. Returns the messages
    echoed exactly."""
    extra = [("X-Pad", "p" * PAD)] if pad and i % 2 == 0 else []
    url = "ws://127.0.0.1:%d/ws?case=%d&agent=caselog" % (port, i)
    good = 0
    async with wsdtest.ws_client(url, extra_headers=extra) as ws:
        for k in range(3):
            msg = os.urandom(random.randrange(1, 3000))
            good += await wsdtest.ws_echo(ws, msg) == msg
    return good


async def clients(port, n, first=0, pad=False):
    return await asyncio.gather(*(client(port, first + i, pad)
                                  for i in range(n)))


def run_clients(port, n, first=0, pad=False):
    got = asyncio.run(asyncio.wait_for(clients(port, n, first, pad),
                                       wsdtest.timeout(60)))
    tap.eq(sum(got), 3 * n, "%d concurrent clients: every message echoed"
           % n)


def settled(port, n):
    """Waits (bounded) until n connections were accepted and none is open,
    then returns the totals."""
    t = [None]

    def done():
        t[0] = wsdtest.admin_stats(port)["totals"]
        return t[0]["accepted"] >= n and t[0]["active"] == 0
    wsdtest.wait_until(done, 10)
    return t[0]


def logged(paths, n):
    """Waits (bounded) until the files hold n lines in all: a worker
    writes a case's line just after the case has left the active count
    that settled() waits on."""
    wsdtest.wait_until(lambda: sum(len(lines_of(p)[0]) for p in paths) >= n,
                       10)


def wsd_args(path, *more):
    return ["--case_log", path, "--max_handshake_bytes", "64k",
            "--case_request_bytes", "64k", "--log_level", "debug"] + \
        list(more)


def t_concurrent():
    path = os.path.join(TMP, "cases.log")
    with wsdtest.Wsd(tap, args=wsd_args(path), workers=2) as w:
        port = wsdtest.admin_port(w)
        run_clients(w.port, CLIENTS, pad=True)
        t = settled(port, CLIENTS)
        logged([path], CLIENTS)
        tap.eq((t["accepted"], t["unrecorded"], t["caseLogWriteErrors"]),
               (CLIENTS, 0, 0), "totals: every case recorded, no write "
               "error")
        lines, ended = lines_of(path)
        recs = whole_and_once("concurrent", lines, ended, CLIENTS)
        tap.eq(sorted({r["worker"] for r in recs}), [0, 1],
               "concurrent: both workers wrote lines")
        tap.ok(max(len(l) for l in lines) > PAD,
               "concurrent: lines as long as the padded handshakes (%d "
               "bytes)" % max(len(l) for l in lines))
        listed = wsdtest.admin_cases(port, "?limit=1000")["cases"]
        tap.eq(sorted(r["id"] for r in recs), sorted(c["id"] for c in listed),
               "concurrent: the ids are those /v1/cases lists")
        differ = [r["id"] for r in recs
                  if wsdtest.admin_case(port, r["id"]) != r]
        tap.eq(differ, [], "concurrent: each line is the record "
               "/v1/cases/ID serves, field for field")
        tap.eq(sorted(int(r["case"]) for r in recs), list(range(CLIENTS)),
               "concurrent: each client's case, from its query")


def usr1_seen(w, n):
    """The workers that logged taking SIGUSR1 (debug) at least n times."""
    seen = {}
    for m in re.finditer(r"wsd\[(\d+)\]: debug: worker \d+: signal %d,"
                         % signal.SIGUSR1, w.log()):
        seen[m.group(1)] = seen.get(m.group(1), 0) + 1
    return [p for p, k in seen.items() if k >= n]


def t_rotation():
    path = os.path.join(TMP, "rotate.log")
    with wsdtest.Wsd(tap, args=wsd_args(path), workers=2) as w:
        port = wsdtest.admin_port(w)

        async def around_rotation():
            """Clients before, during and after the rename and USR1."""
            first = asyncio.ensure_future(clients(w.port, CLIENTS // 2,
                                                  pad=True))
            for _ in range(int(wsdtest.timeout(500))):
                if len(lines_of(path)[0]) >= 10 or first.done():
                    break
                await asyncio.sleep(0.01)
            os.rename(path, path + ".1")
            w.signal(signal.SIGUSR1)
            rest = await clients(w.port, CLIENTS // 2, CLIENTS // 2, True)
            return await first + rest
        got = asyncio.run(asyncio.wait_for(around_rotation(),
                                           wsdtest.timeout(60)))
        tap.eq(sum(got), 3 * CLIENTS, "rotation: every message echoed")
        tap.ok(wsdtest.wait_until(lambda: os.path.exists(path), 5),
               "rotation: a new file of the name")
        tap.ok(wsdtest.wait_until(lambda: len(usr1_seen(w, 1)) == 2, 5),
               "rotation: both workers took SIGUSR1", w.log()[-800:])
        settled(port, CLIENTS)
        logged([path + ".1", path], CLIENTS)
        old, old_ended = lines_of(path + ".1")
        new, new_ended = lines_of(path)
        tap.diag("rotation: %d lines in the renamed file, %d in the new one"
                 % (len(old), len(new)))
        whole_and_once("rotation, both files", old + new,
                       old_ended and new_ended, CLIENTS)

        # Both workers have reopened: from now on, the new file only.
        n_old = len(old)
        run_clients(w.port, 20, CLIENTS, pad=True)
        settled(port, CLIENTS + 20)
        logged([path + ".1", path], CLIENTS + 20)
        old, _ = lines_of(path + ".1")
        new, new_ended = lines_of(path)
        tap.eq(len(old), n_old, "after the reopen: nothing more in the "
               "renamed file")
        recs = whole_and_once("after the reopen, the new file", new,
                              new_ended, CLIENTS + 20 - n_old)
        tap.ok(set(range(CLIENTS, CLIENTS + 20)) <=
               {int(r["case"]) for r in recs},
               "after the reopen: the new cases are in the new file")


def t_worker_died():
    path = os.path.join(TMP, "died.log")
    with wsdtest.Wsd(tap, args=["--case_log", path], workers=2) as w:
        port = wsdtest.admin_port(w)
        pids = w.workers()
        s = wsdtest.open_ws(w.port, path="/ws?case=doomed")
        tap.ok(wsdtest.echo_raw(s), "worker died: the connection echoes")
        owner = wsdtest.conn_owner(s, pids)
        rec = [c for c in wsdtest.admin_cases(port)["cases"]
               if c["case"] == "doomed"]
        os.kill(owner, signal.SIGKILL)
        tap.ok(wsdtest.wait_until(lambda: lines_of(path)[0], 5),
               "worker died: a line appears")
        s.close()
        recs, bad = parse(lines_of(path)[0])
        tap.ok(len(recs) == 1 and not bad and len(rec) == 1 and
               recs[0]["id"] == rec[0]["id"] and
               recs[0]["wasNotCleanReason"] == "worker died" and
               recs[0]["state"] == "closed",
               "worker died: the master wrote its case, closed, \"worker "
               "died\"", (recs, bad))
        tap.eq(wsdtest.admin_case(port, rec[0]["id"]) if rec else None,
               recs[0] if recs else None,
               "worker died: the line is the record the endpoint serves")


def t_full_disk():
    with wsdtest.Wsd(tap, args=["--case_log", "/dev/full"], workers=2) as w:
        port = wsdtest.admin_port(w)
        pids = sorted(w.workers())
        n = 20
        run_clients(w.port, n)
        settled(port, n)
        # A worker counts the failed write just after the connection has
        # left the active count: wait (bounded) for the count, then read.
        wsdtest.wait_until(lambda: wsdtest.admin_stats(port)["totals"][
            "caseLogWriteErrors"] >= n, 5)
        t = wsdtest.admin_stats(port)["totals"]
        tap.eq(t["caseLogWriteErrors"], n,
               "/dev/full: every case counted in caseLogWriteErrors")
        fams, _, _ = wsdtest.admin_metrics(port)
        tap.eq(wsdtest.metric(fams, "wsd_case_log_write_errors_total"), n,
               "/dev/full: and in wsd_case_log_write_errors_total")
        msgs = [l for l in w.log().splitlines()
                if re.search(r": error: case_log /dev/full: case \d+ not "
                             r"written: No space left on device", l)]
        tap.ok(1 <= len(msgs) < n,
               "/dev/full: logged, not once per case (%d lines for %d cases)"
               % (len(msgs), n), "\n".join(msgs))
        s = wsdtest.open_ws(w.port)
        tap.ok(wsdtest.echo_raw(s), "/dev/full: the workers keep echoing")
        s.close()
        tap.eq(sorted(w.workers()), pids, "/dev/full: the same workers run")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def t_reload_and_off():
    conf = os.path.join(TMP, "reload.conf")
    a, b = os.path.join(TMP, "a.log"), os.path.join(TMP, "b.log")
    write(conf, "case_log %s\n" % a)
    with wsdtest.Wsd(tap, args=["-c", conf], workers=2) as w:
        port = wsdtest.admin_port(w)
        n = [0]

        def reload(text, label):
            write(conf, text)
            old = set(w.workers())
            reloads = w.log().count("reloaded:")
            w.signal(signal.SIGHUP)
            tap.ok(wsdtest.wait_until(
                lambda: w.log().count("reloaded:") > reloads and
                not any(wsdtest.alive(p) for p in old), 10),
                "%s: reloaded, the old workers gone" % label, w.log()[-600:])

        def some(k, into=None):
            run_clients(w.port, k, n[0])
            n[0] += k
            settled(port, n[0])
            if into is not None:
                logged([into], k)

        some(4, a)
        tap.eq(len(lines_of(a)[0]), 4, "reload: 4 cases in a.log")
        reload("case_log %s\n" % b, "case_log b.log")
        some(5, b)
        tap.eq((len(lines_of(a)[0]), len(lines_of(b)[0])), (4, 5),
               "reload: the new workers write to b.log, a.log unchanged")
        reload("case_log off\n", "case_log off")
        some(6)
        tap.eq((len(lines_of(a)[0]), len(lines_of(b)[0])), (4, 5),
               "case_log off: no line anywhere")
        tap.eq(wsdtest.admin_stats(port)["totals"]["caseLogWriteErrors"], 0,
               "case_log off: nothing counted")
        files = [os.readlink("/proc/%d/fd/%s" % (p, fd))
                 for p in w.workers() for fd in os.listdir("/proc/%d/fd" % p)]
        tap.ok(not [f for f in files if f.startswith(TMP)],
               "case_log off: the workers hold no file of it", files)

        bad = os.path.join(TMP, "no", "such", "dir.log")
        write(conf, "case_log %s\n" % bad)
        w.signal(signal.SIGHUP)
        tap.ok(wsdtest.wait_until(lambda: "reload refused" in w.log(), 5),
               "unwritable case_log: the reload is refused")
        tap.ok(("case_log: %s: No such file or directory" % bad) in w.log(),
               "unwritable case_log: the log names the file and why")
        some(1)
        tap.eq((len(lines_of(a)[0]), len(lines_of(b)[0])), (4, 5),
               "reload refused: still off")
    status, _, err = wsdtest.run_once(["--case_log", bad, "--listen",
                                       "127.0.0.1:0", "--admin_listen",
                                       "off"])
    tap.ok(status == 2 and bad in err,
           "unwritable case_log: start-up stops with status 2, naming it",
           err)


def main():
    wsdtest.guard(tap, "concurrent", t_concurrent)
    wsdtest.guard(tap, "rotation", t_rotation)
    wsdtest.guard(tap, "worker died", t_worker_died)
    wsdtest.guard(tap, "full disk", t_full_disk)
    wsdtest.guard(tap, "reload and off", t_reload_and_off)
    shutil.rmtree(TMP, ignore_errors=True)
    tap.done()


if __name__ == "__main__":
    main()
