# SPDX-License-Identifier: MIT
"""wsd's process model and command line: the master and its named workers,
respawn after a worker is killed (other workers' connections unharmed),
SIGTERM/SIGINT stop everything with status 0, workers die with a SIGKILLed
master and free the port, and command-line errors exit with status 2.

Only kernel-chosen ports: every daemon that could start listens on
127.0.0.1:0.
"""
import ctypes
import os
import re
import select
import shutil
import signal
import tempfile
import threading
import time

import wsdtest
from wsdtest import echo_raw, timeout

tap = wsdtest.Tap()


def fresh_echo(port):
    try:
        s = wsdtest.open_ws(port)
    except (OSError, RuntimeError):
        return False
    try:
        return echo_raw(s)
    finally:
        s.close()


# Process names and respawn ------------------------------------------------------

def t_names_and_respawn():
    with wsdtest.Wsd(tap, workers=2) as w:
        tap.eq(int(w.ready.get("pid", "0")), w.pid,
               "ready line names the master's PID")
        tap.ok(re.fullmatch(r"127\.0\.0\.1:\d+", w.ready.get("listen", ""))
               and w.port != 0, "ready line names 127.0.0.1 and a real port",
               "ready %r" % w.ready)
        wsdtest.wait_until(lambda: len(w.workers()) == 2, 5)
        time.sleep(timeout(0.2))  # no extra child shows up later
        workers = w.workers()
        tap.eq(len(workers), 2, "--workers 2: the master has 2 children")
        tap.eq(wsdtest.comm(w.pid), "wsd: master", "master is named")
        # a child is named by prctl right after fork(): allow it a moment
        wsdtest.wait_until(lambda: sorted(map(wsdtest.comm, workers)) ==
                           ["wsd: worker 0", "wsd: worker 1"], 1)
        names = {pid: wsdtest.comm(pid) for pid in workers}
        tap.eq(sorted(names.values()), ["wsd: worker 0", "wsd: worker 1"],
               "workers are named 'wsd: worker 0' and 'wsd: worker 1'")
        tap.ok(fresh_echo(w.port), "a connection echoes before any kill")

        # Connections until each worker holds one (bounded); the kernel or
        # the daemon decides the spread, so tolerate a lopsided one.
        conns = []
        owners = {}
        for _ in range(32):
            s = wsdtest.open_ws(w.port)
            conns.append(s)
            owners[s] = wsdtest.conn_owner(s, workers)
            if set(owners.values()) >= set(workers):
                break
        try:
            tap.ok(all(o in workers for o in owners.values()),
                   "every connection is held by a worker, not the master",
                   "owners %r, workers %r" % (list(owners.values()),
                                              workers))
            tap.ok(all(echo_raw(s) for s in conns),
                   "%d connections echo before the kill" % len(conns))
            held = [p for p in workers if p in owners.values()]
            tap.diag("connections per worker: %r" % {
                p: list(owners.values()).count(p) for p in workers})
            victim = held[0] if held else workers[0]
            victim_name = names[victim]
            doomed = [s for s in conns if owners[s] == victim]
            survivors = [s for s in conns if owners[s] != victim]
            if not survivors:
                # every connection is on the victim: add one on the other
                # worker if the spread allows, bounded
                other = [p for p in workers if p != victim][0]
                for _ in range(32):
                    s = wsdtest.open_ws(w.port)
                    conns.append(s)
                    owners[s] = wsdtest.conn_owner(s, workers)
                    (survivors if owners[s] == other else doomed).append(s)
                    if survivors:
                        break
            tap.ok(survivors, "some connection is held by the other worker",
                   "all %d connections on %d" % (len(conns), victim))

            os.kill(victim, signal.SIGKILL)
            respawned = wsdtest.wait_until(
                lambda: len(set(w.workers()) - set(workers)) == 1
                and len(w.workers()) == 2, 1, step=0.005)
            now = w.workers()
            tap.ok(respawned, "SIGKILLed worker replaced by a new PID within"
                   " 1 s", "before %r, after %r" % (workers, now))
            new = [p for p in now if p not in workers]
            if new:
                wsdtest.wait_until(
                    lambda: wsdtest.comm(new[0]) == victim_name, 1)
            tap.eq(wsdtest.comm(new[0]) if new else None, victim_name,
                   "the new worker takes the killed worker's name")
            tap.ok(re.search(r"worker \d+ \(pid %d\) killed by signal %d, "
                             r"respawning" % (victim, signal.SIGKILL),
                             w.log()) is not None,
                   "the log names the killed worker's pid", w.log()[-400:])
            tap.ok(victim not in now and not wsdtest.alive(victim),
                   "the killed worker is reaped")
            tap.ok(all(echo_raw(s) for s in survivors) and survivors,
                   "%d connections on the other worker keep echoing"
                   % len(survivors))
            closed = [wsdtest.expect_eof(s, 2) for s in doomed]
            # doomed holds at least the victim's first connection: an
            # empty list would make all() true on nothing.
            tap.ok(doomed and all(closed), "%d connections of the killed "
                   "worker are closed (EOF or reset)" % len(doomed),
                   "still open: %d" % closed.count(False))
            tap.ok(all(fresh_echo(w.port) for _ in range(8)),
                   "8 fresh connections after the respawn echo")
            tap.eq(wsdtest.alive(w.pid) and wsdtest.comm(w.pid),
                   "wsd: master", "master still running after the kill")

            # kill the other, never-killed worker too: respawn again
            before = w.workers()
            other = [p for p in before if p not in new]
            if other:
                os.kill(other[0], signal.SIGKILL)
            ok = wsdtest.wait_until(
                lambda: len(w.workers()) == 2
                and len(set(w.workers()) - set(before)) == 1, 1, step=0.005)
            tap.ok(other and ok, "the other worker, SIGKILLed, is replaced "
                   "within 1 s too", "before %r after %r"
                   % (before, w.workers()))
            wsdtest.wait_until(
                lambda: sorted(map(wsdtest.comm, w.workers())) ==
                ["wsd: worker 0", "wsd: worker 1"], 1)
            tap.eq(sorted(wsdtest.comm(p) for p in w.workers()),
                   ["wsd: worker 0", "wsd: worker 1"],
                   "after two respawns the workers are worker 0 and 1")
            tap.ok(all(fresh_echo(w.port) for _ in range(4)),
                   "fresh connections echo after the second respawn")
        finally:
            for s in conns:
                s.close()


# Signals --------------------------------------------------------------------------

def t_sigterm_with_open_connection():
    """Wsd.stop() sends SIGTERM and checks status 0 and every process gone;
    here an idle WebSocket connection must not hold the daemon up."""
    w = wsdtest.Wsd(tap, workers=2).start()
    s = None
    try:
        s = wsdtest.open_ws(w.port)
        tap.ok(echo_raw(s), "connection echoes before SIGTERM")
        t0 = time.monotonic()
        w.stop()
        tap.diag("stop with an open connection took %.2f s"
                 % (time.monotonic() - t0))
        tap.ok(wsdtest.expect_eof(s, 2),
               "the open connection is closed when wsd stops")
    finally:
        if s is not None:
            s.close()
        w.kill_all()


def t_sigint():
    w = wsdtest.Wsd(tap, workers=2).start()
    try:
        wsdtest.wait_until(lambda: len(w.workers()) == 2, 5)
        pids = [w.pid] + w.workers()
        tap.ok(fresh_echo(w.port), "echo before SIGINT")
        w.signal(signal.SIGINT)
        tap.eq(w.wait_exit(), 0, "SIGINT: master exits with status 0")
        gone = wsdtest.wait_until(
            lambda: not any(wsdtest.alive(p) for p in pids), 5)
        tap.ok(gone, "SIGINT: every process gone",
               "alive %r" % [p for p in pids if wsdtest.alive(p)])
        tap.ok(wsdtest.wait_until(lambda: wsdtest.port_is_free(w.port), 2),
               "SIGINT: the port is free again")
        w.kill_all()
        w.check_log()
    finally:
        w.kill_all()


def t_inherited_dispositions():
    """Started by a parent that ignores SIGCHLD and SIGHUP (as nohup
    does): the master still sees its workers die, reloads on HUP and
    stops on TERM."""
    def ignore():
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    w = wsdtest.Wsd(tap, workers=2)
    w.preexec = ignore
    with w:
        wsdtest.wait_until(lambda: len(w.workers()) == 2, 5)
        victim = w.workers()[0]
        os.kill(victim, signal.SIGKILL)
        tap.ok(wsdtest.wait_until(lambda: victim not in w.workers() and
                                  len(w.workers()) == 2, 5),
               "SIGCHLD ignored by the parent: a killed worker is replaced",
               w.log()[-400:])
        w.signal(signal.SIGHUP)
        tap.ok(wsdtest.wait_until(lambda: "reloaded" in w.log(), 5),
               "SIGHUP ignored by the parent: wsd reloads on HUP",
               w.log()[-400:])
        tap.ok(fresh_echo(w.port), "... and serves")


def t_signal_at_pidfile():
    """A USR1 sent as soon as the pidfile exists (logrotate's postrotate
    may) is taken once wsd is ready, not fatal while it starts."""
    d = tempfile.mkdtemp(prefix="wsd-pid-")
    pidfile = os.path.join(d, "wsd.pid")
    w = wsdtest.Wsd(tap, args=["--pidfile", pidfile])
    sent = []
    # inotify (through libc) wakes the watcher the moment the file is
    # created: polling would mostly miss the start-up window.
    libc = ctypes.CDLL(None, use_errno=True)
    ifd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    IN_CREATE = 0x100
    if ifd < 0 or libc.inotify_add_watch(ifd, d.encode(), IN_CREATE) < 0:
        tap.ok(False, "inotify on the pidfile's directory",
               os.strerror(ctypes.get_errno()))
        return

    def watch():
        deadline = time.monotonic() + timeout(10)
        while time.monotonic() < deadline and not sent:
            select.select([ifd], [], [], 0.1)
            if w.proc is not None and os.path.exists(pidfile):
                os.kill(w.proc.pid, signal.SIGUSR1)
                sent.append(True)
    t = threading.Thread(target=watch)
    t.start()
    try:
        with w:
            t.join()
            tap.ok(sent, "USR1 sent as the pidfile appeared")
            tap.ok(wsdtest.wait_until(
                lambda: "reopened the log files" in w.log(), 5),
                "the master took it once ready", w.log()[-400:])
            tap.ok(fresh_echo(w.port), "and serves")
    finally:
        t.join()
        os.close(ifd)
        shutil.rmtree(d, ignore_errors=True)


def t_sigkill_master():
    w = wsdtest.Wsd(tap, workers=2).start()
    try:
        wsdtest.wait_until(lambda: len(w.workers()) == 2, 5)
        workers = w.workers()
        tap.eq(len(workers), 2, "2 workers before SIGKILL of the master")
        s = wsdtest.open_ws(w.port)
        try:
            tap.ok(echo_raw(s), "echo before SIGKILL of the master")
            w.signal(signal.SIGKILL)
            w.proc.wait(timeout=timeout(5))
            gone = wsdtest.wait_until(
                lambda: not any(wsdtest.alive(p) for p in workers), 2)
            tap.ok(gone, "workers exit within 2 s of the master's SIGKILL",
                   "alive %r" % [p for p in workers if wsdtest.alive(p)])
            tap.ok(wsdtest.expect_eof(s, 2),
                   "open connection closed when the workers die")
        finally:
            s.close()
        tap.ok(wsdtest.wait_until(lambda: wsdtest.port_is_free(w.port), 2),
               "the port is free after the master's SIGKILL")
        refused = False
        try:
            wsdtest.connect(w.port, 2).close()
        except ConnectionRefusedError:
            refused = True
        tap.ok(refused, "nothing accepts connections on the port any more")
        w.check_log()
    finally:
        w.kill_all()


# Command line ----------------------------------------------------------------------

LISTEN = ["--listen", "127.0.0.1:0"]


def t_cli_errors():
    cases = [
        (LISTEN + ["--no_such_directive", "1"], "no_such_directive",
         "unknown directive"),
        (LISTEN + ["--workers", "abc"], "workers", "--workers abc"),
        (LISTEN + ["--workers", "-1"], "workers", "--workers -1"),
        (LISTEN + ["--max_message_bytes", "-5"], "max_message_bytes",
         "--max_message_bytes -5"),
        (LISTEN + ["--max_message_bytes", "12abc"], "max_message_bytes",
         "--max_message_bytes 12abc"),
        (["--listen", "nonsense"], "listen", "--listen nonsense"),
        (["--listen", "127.0.0.1:99999"], "listen", "--listen port 99999"),
        (LISTEN + ["--log_level", "loud"], "log_level", "--log_level loud"),
        (LISTEN + ["--workers"], "workers", "--workers without a value"),
    ]
    for args, needle, what in cases:
        status, out, err = wsdtest.run_once(args)
        tap.eq(status, 2, "%s: exit status 2" % what)
        tap.ok(needle in err, "%s: stderr names %s" % (what, needle),
               "stderr %r" % err[-500:])


def t_version_help():
    srcdir = os.environ.get("WSD_SRCDIR",
                            os.path.join(os.path.dirname(__file__), "..", ".."))
    try:
        with open(os.path.join(srcdir, "configure.ac")) as f:
            m = re.search(r"AC_INIT\(\[wsd\],\s*\[([^\]]+)\]", f.read())
    except OSError:
        m = None
    # Without the version from configure.ac the checks below would only
    # match a pattern: fail instead.
    want = m.group(1) if m else None
    tap.ok(want is not None, "configure.ac names wsd's version (AC_INIT)",
           srcdir)
    for opt in ("--version", "-v"):
        status, out, err = wsdtest.run_once([opt])
        tap.eq(status, 0, "%s exits with status 0" % opt)
        first = out.splitlines()[0] if out.splitlines() else ""
        tap.eq(first, "wsd %s" % want,
               "%s prints 'wsd %s' (configure.ac)" % (opt, want))
    for opt in ("--help", "-h"):
        status, out, err = wsdtest.run_once([opt])
        tap.eq(status, 0, "%s exits with status 0" % opt)
        tap.ok("listen" in out + err, "%s describes the directives "
               "(mentions listen)" % opt, "output %r" % (out + err)[:500])

    # A directive's value is a value, even one that reads like an option:
    # "-v" as a token is set, not taken for --version; "-h" as a path is
    # refused as a path, not taken for --help.
    status, out, err = wsdtest.run_once(["-t", "--admin_token", "-v"])
    tap.ok(status == 0 and "the configuration is valid" in out,
           "wsd -t --admin_token -v: checks the configuration (the token "
           "is -v), not --version", "status %r, out %r, err %r"
           % (status, out[:200], err[:200]))
    status, out, err = wsdtest.run_once(["-t", "--path", "-h"])
    tap.ok(status == 2 and "path" in err and "usage" not in out,
           "wsd -t --path -h: path \"-h\" refused (status 2), not --help",
           "status %r, out %r, err %r" % (status, out[:200], err[:200]))
    status, out, err = wsdtest.run_once(["-t", "-c", "-h"])
    tap.ok(status == 2 and "-h" in err and "usage" not in out,
           "wsd -t -c -h: the file -h is not there (status 2), not --help",
           "status %r, out %r, err %r" % (status, out[:200], err[:200]))


def t_dash_underscore():
    with wsdtest.Wsd(tap, ["--max-message-bytes", "1024",
                           "--log-level", "info"]) as w:
        s = wsdtest.open_ws(w.port)
        try:
            tap.ok(echo_raw(s, os.urandom(1024)),
                   "--max-message-bytes 1024: 1024 bytes echoed")
            s.sendall(wsdtest.frame(2, os.urandom(1025)))
            code, _, before = wsdtest.read_close(s)
            tap.eq((code, before), (1009, []),
                   "--max-message-bytes 1024: 1025 bytes get close 1009")
        finally:
            s.close()


def t_workers_auto():
    with wsdtest.Wsd(tap, workers="auto") as w:
        ncpu = os.cpu_count() or 1
        wsdtest.wait_until(lambda: len(w.workers()) >= 1, 5)
        n = len(w.workers())
        tap.diag("--workers auto started %d workers (%d CPUs)" % (n, ncpu))
        tap.ok(1 <= n <= max(ncpu, 1), "--workers auto starts 1..ncpu workers",
               "%d workers, %d CPUs" % (n, ncpu))
        tap.ok(fresh_echo(w.port), "--workers auto: echo works")


def t_config_test():
    """wsd -t checks a configuration and exits: 0 when valid, 2 with
    "file:line: directive: problem" when not; it binds nothing, so a
    port another process holds does not matter."""
    import tempfile
    srcdir = os.environ.get("WSD_SRCDIR",
                            os.path.join(os.path.dirname(__file__), "..", ".."))
    status, out, err = wsdtest.run_once(
        ["-t", "-c", os.path.join(srcdir, "etc", "wsd.conf")])
    tap.ok(status == 0 and "valid" in out,
           "-t: the shipped etc/wsd.conf is valid", (status, out, err))
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("workers 2\n# a comment\nmax_frame_bytes lots\n")
        bad = f.name
    try:
        status, out, err = wsdtest.run_once(["-t", "-c", bad])
        tap.ok(status == 2 and
               "%s:3: max_frame_bytes: \"lots\" is not a size" % bad in err,
               "-t: a bad value exits 2 naming file:line: directive: problem",
               (status, out, err))
    finally:
        os.unlink(bad)
    import socket
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    port = held.getsockname()[1]
    try:
        addr = "127.0.0.1:%d" % port
        status, out, err = wsdtest.run_once(["-t", "--listen", addr,
                                             "--admin_listen", "off"])
        tap.ok(status == 0,
               "-t binds nothing: a port held by another socket is fine",
               (status, out, err))
        status, out, err = wsdtest.run_once(["--listen", addr,
                                             "--admin_listen", "off"])
        tap.ok(status == 2 and "listen %s: address already in use "
               "(another process holds it)" % addr in err,
               "(without -t, that port stops wsd with status 2, named)",
               (status, out, err))
    finally:
        held.close()
    status, out, err = wsdtest.run_once(["-t", "--tls_certificate",
                                         "/nonexistent/cert.pem",
                                         "--tls_certificate_key",
                                         "/nonexistent/key.pem"])
    tap.ok(status == 2 and "/nonexistent/cert.pem" in err,
           "-t loads the TLS files: a missing one exits 2 naming it",
           (status, out, err))


def t_config_test_located():
    """A problem found once the whole configuration is read (a log file
    that cannot be created, a missing certificate, a user that does not
    exist) names the file and line of the directive, as a bad value does:
    for wsd -t, for the start and for a reload, which keeps serving."""
    d = tempfile.mkdtemp(prefix="located-")
    conf = os.path.join(d, "wsd.conf")
    missing = os.path.join(d, "no-such-dir")
    cases = [
        ("workers 1\nlog %s/w.log\n" % missing, 2,
         "log: %s/w.log: No such file or directory" % missing),
        ("workers 1\n\ntls_certificate %s/c.pem\ntls_certificate_key "
         "%s/k.pem\n" % (missing, missing), 3,
         "tls_certificate %s/c.pem: No such file or directory" % missing),
        ("# who\nuser no-such-user-wsd\n", 2,
         "user: \"no-such-user-wsd\": no such user"),
    ]
    try:
        for text, line, problem in cases:
            with open(conf, "w") as f:
                f.write(text)
            want = "%s:%d: %s" % (conf, line, problem)
            what = problem.split(":")[0].split()[0]
            status, out, err = wsdtest.run_once(["-t", "-c", conf])
            tap.ok(status == 2 and want in err,
                   "-t: %s at file:line" % what, (status, want, err))
            status, out, err = wsdtest.run_once(
                ["-c", conf, "--listen", "127.0.0.1:0", "--admin_listen",
                 "off"])
            tap.ok(status == 2 and want in err,
                   "start: %s at file:line" % what, (status, want, err))
        with open(conf, "w") as f:
            f.write("workers 1\n")
        w = wsdtest.Wsd(tap, args=["-c", conf])
        w.args = ["-c", conf, "--listen", "127.0.0.1:0", "--admin_listen",
                  "off"]
        w.start()
        try:
            for text, line, problem in cases:
                n = len(w.log())
                what = problem.split(":")[0].split()[0]
                with open(conf, "w") as f:
                    f.write(text)
                w.signal(signal.SIGHUP)
                tap.ok(wsdtest.wait_until(
                    lambda: "reload refused" in w.log()[n:], 5),
                    "reload: %s refused" % what)
                want = "%s:%d: %s" % (conf, line, problem)
                tap.ok(want in w.log()[n:],
                       "reload: %s at file:line" % what,
                       (want, w.log()[n:]))
            tap.ok(echo_raw(wsdtest.open_ws(w.port)),
                   "reload refused: wsd still serves")
            w.stop()
        finally:
            w.kill_all()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def t_records_too_many():
    """Records that cannot be mapped (stats_cases, case_request_bytes and
    case_wirelog at their largest: 8 TB of shared memory) are refused by
    wsd -t as by the start, which names stats_cases and the size rather
    than only mmap's error. Where the kernel maps any size
    (vm.overcommit_memory 1), -t maps them as the start would: it says
    the configuration is valid (the start is not tried: its workers would
    touch terabytes)."""
    args = ["--stats_cases", "1000000", "--case_request_bytes", "64k",
            "--case_wirelog", "65536", "--listen", "127.0.0.1:0",
            "--admin_listen", "off", "--workers", "1"]
    want = "stats_cases 1000000: "
    status, out, err = wsdtest.run_once(["-t"] + args)
    with open("/proc/sys/vm/overcommit_memory") as f:
        if f.read().strip() == "1":
            tap.ok(status == 0,
                   "-t: the kernel maps any size (vm.overcommit_memory 1), "
                   "and -t says so", (status, out, err))
            return
    tap.ok(status == 2 and want in err and "MiB" in err,
           "-t: records that cannot be mapped are refused, named",
           (status, out, err))
    status, out, err = wsdtest.run_once(args)
    tap.ok(status == 2 and want in err and "MiB" in err,
           "start: refused the same way, named", (status, out, err))


def main():
    wsdtest.guard(tap, "names and respawn", t_names_and_respawn)
    wsdtest.guard(tap, "SIGTERM", t_sigterm_with_open_connection)
    wsdtest.guard(tap, "SIGINT", t_sigint)
    wsdtest.guard(tap, "inherited dispositions", t_inherited_dispositions)
    wsdtest.guard(tap, "signal at pidfile", t_signal_at_pidfile)
    wsdtest.guard(tap, "SIGKILL master", t_sigkill_master)
    wsdtest.guard(tap, "command-line errors", t_cli_errors)
    wsdtest.guard(tap, "version and help", t_version_help)
    wsdtest.guard(tap, "dash and underscore", t_dash_underscore)
    wsdtest.guard(tap, "workers auto", t_workers_auto)
    wsdtest.guard(tap, "config test", t_config_test)
    wsdtest.guard(tap, "config test located", t_config_test_located)
    wsdtest.guard(tap, "records too many", t_records_too_many)
    tap.done()


if __name__ == "__main__":
    main()
