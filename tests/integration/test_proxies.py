# SPDX-License-Identifier: MIT
"""Real intermediaries between a client and wsd, and what `wsd compare`
says about them.

HAProxy (mode http, which tunnels a WebSocket once upgraded) and nginx
(proxy_pass with the Upgrade headers), from Debian's packages, started
by the test on loopback ports chosen at run time, in front of one wsd and
then of two (HAProxy with contrib/haproxy/wsd.cfg itself, its addresses
substituted). The client is farend.py's, which keeps its side of each
wire in the Autobahn testsuite's per-case format; it drives the same
connections each time (echoes of text, fragments around a ping, binary,
a compressed echo, 64 KiB, a close with a reason, and wsd failing one
with 1007). The comparison must pair every case, across both instances
when there are two, and find each proxy transparent where it is (frames,
in order, with their payloads, close codes, who closed) and name what it
changes: its handshake headers, exactly, and the octets and TCP cuts
that follow from them. The same connections straight to wsd compare
identical.

Then what contrib/haproxy/wsd.cfg promises: haproxy -c passes it; its
health check asks each instance's admin endpoint, with the token (a
wrong one shows as HTTP 401); a WebSocket open across a reload of
HAProxy goes on and closes cleanly, and the old process leaves once it
has; an instance drained as the file says takes no new connection, and
stopped gracefully, closes its WebSocket with 1001, whose client comes
back to the other instance. Last, the testsuite's own run through HAProxy, kept in
tests/data/autobahn-haproxy: every case pairs with one of the two
instances' records, and only the heads differ.

Missing haproxy or nginx fails the test (contrib/install-deps installs
both). Every process started is stopped by its pid, in a finally.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import urllib.parse

import proxies
import wsdtest
from farend import FarEnd, save
from wsdtest import Tap

tap = Tap()
SRC = os.environ.get("WSD_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
CONTRIB = os.path.join(SRC, "contrib", "haproxy", "wsd.cfg")
DATA = os.path.join(SRC, "tests", "data", "autobahn-haproxy")
WSC = os.environ.get("WSC") or os.path.join(os.path.dirname(wsdtest.WSD),
                                            "wsc")
TOKEN = "proxies-s3cret"
OFFER = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"
HEAD_KINDS = {"header added", "header removed", "header changed"}
# The response heads wsd writes, its header names in its order.
WSD_RESPONSE = ("Upgrade", "Connection", "Sec-WebSocket-Accept",
                "Sec-WebSocket-Extensions", "Server")


# The proxies' configurations -------------------------------------------------

def haproxy_minimal(servers):
    """HAProxy at its simplest: mode http, a WebSocket's timeouts."""
    def render(port):
        lines = ["defaults", "    mode http", "    timeout connect 5s",
                 "    timeout client 30s", "    timeout server 30s",
                 "    timeout tunnel 1h", "frontend websocket",
                 "    bind 127.0.0.1:%d" % port,
                 "    default_backend wsd", "backend wsd"]
        lines += ["    server wsd%d 127.0.0.1:%d" % (i + 1, w.port)
                  for i, w in enumerate(servers)]
        return "\n".join(lines) + "\n"
    return render


def contrib_haproxy(servers, sock):
    """contrib/haproxy/wsd.cfg with the test's addresses: its listening
    port, each instance's WebSocket and admin ports, the runtime socket in
    the scratch directory, its log on standard error, and without the
    lines that need root (chroot, user, group). Each text replaced must
    be there once, so that the file cannot drift from what is tested."""
    with open(CONTRIB, encoding="utf-8") as f:
        text = f.read()

    def render(port):
        subs = [("    log /dev/log local0\n",
                 "    log stderr format raw local0\n"),
                ("    chroot /var/lib/haproxy\n", ""),
                ("    user haproxy\n", ""), ("    group haproxy\n", ""),
                ("    stats socket /run/haproxy/admin.sock ",
                 "    stats socket %s " % sock),
                ("    bind *:80\n", "    bind 127.0.0.1:%d\n" % port)]
        for i, w in enumerate(servers):
            subs.append(("    server wsd%d 10.0.0.1%d:8888\n" % (i + 1, i + 1),
                         "    server wsd%d 127.0.0.1:%d port %d\n"
                         % (i + 1, w.port, wsdtest.admin_port(w))))
        out = text
        for old, new in subs:
            if out.count(old) != 1:
                raise ValueError("%s no longer holds %r once" % (CONTRIB, old))
            out = out.replace(old, new)
        return out
    return render


def nginx_proxy(servers):
    """nginx as its documentation proxies a WebSocket: HTTP/1.1 to the
    upstream, Upgrade passed on, Connection set from it."""
    def render(port):
        ups = "".join("        server 127.0.0.1:%d;\n" % w.port
                      for w in servers)
        return ("    map $http_upgrade $connection_upgrade {\n"
                "        default upgrade;\n        '' close;\n    }\n"
                "    upstream wsd {\n        least_conn;\n%s    }\n"
                "    server {\n        listen 127.0.0.1:%d;\n"
                "        location /ws {\n"
                "            proxy_pass http://wsd;\n"
                "            proxy_http_version 1.1;\n"
                "            proxy_set_header Upgrade $http_upgrade;\n"
                "            proxy_set_header Connection "
                "$connection_upgrade;\n"
                "            proxy_set_header Host $host;\n"
                "            proxy_read_timeout 1h;\n"
                "            proxy_send_timeout 1h;\n"
                "        }\n    }\n" % (ups, port))
    return render


class running:
    """A proxy started for a with block, then stopped by its pid: every
    process of it must be gone."""

    def __init__(self, proxy):
        self.proxy = proxy

    def __enter__(self):
        return self.proxy.start()

    def __exit__(self, *exc):
        left = self.proxy.stop()
        tap.ok(not left, "%s: stopped by its pid, every process of it gone"
               % self.proxy.name, left)


# The client's traffic --------------------------------------------------------

def echoed(side, opcode, payload, parts=None):
    """Sends a message (in parts as fragments, when given) and checks its
    echo; raises when it does not come back whole."""
    parts = parts or [payload]
    for i, p in enumerate(parts):
        side.send_frame(opcode if i == 0 else 0, p, fin=i == len(parts) - 1)
    got = side.recv_message()
    if got != (opcode, payload):
        raise AssertionError("echo of %d octets came back as %r"
                             % (len(payload), (got[0], got[1][:40])))


def drive(port, agent):
    """The five connections, all opened before any is used (so that a
    balancer by connection count spreads them), each then run to its
    close: the client's sides."""
    sides = [FarEnd(port, str(i + 1), agent=agent,
                    extra=[OFFER] if i == 2 else ())
             for i in range(5)]
    a, b, c, d, e = sides
    echoed(a, 1, b"hello through the proxy")
    a.close()

    b.send_frame(1, b"frag", fin=False)
    b.send_frame(9, b"are you there")
    b.send_frame(0, b"mented")
    if b.recv_frame()[0] != 10:
        raise AssertionError("no pong")
    if b.recv_message() != (1, b"fragmented"):
        raise AssertionError("the fragmented message's echo")
    echoed(b, 2, bytes(range(256)) * 4)
    b.close(1001, b"going")

    if "permessage-deflate" not in c.headers.get("sec-websocket-extensions",
                                                 ""):
        raise AssertionError("permessage-deflate not granted: %r" % c.headers)
    c.send_frame(1, wsdtest.text_pattern(300))
    c.recv_message()  # compressed by wsd: not read here, compared below
    c.close()

    echoed(d, 2, os.urandom(65536))
    d.close()

    e.send_frame(1, b"\xff not UTF-8")
    e.answer_close()
    return sides


def write_folder(folder, sides):
    os.mkdir(folder)
    index = {}
    for s in sides:
        s.write(folder, index)
    save(os.path.join(folder, "index.json"), index)


# wsd's records ---------------------------------------------------------------

def admin_get(w, path):
    status, doc, _ = wsdtest.admin_json(
        wsdtest.admin_port(w), path, {"Authorization": "Bearer " + TOKEN})
    if status != 200 or doc is None:
        raise RuntimeError("GET %s: %r" % (path, status))
    return doc


def key_of(side):
    head = side.r["httpRequest"]
    return head.split("Sec-WebSocket-Key: ", 1)[1].split("\r\n", 1)[0]


def records(instances, side):
    """wsd's records of side's connection, over every instance:
    [(instance, the /v1/cases entry)]."""
    q = "/v1/cases?key=" + urllib.parse.quote(key_of(side), safe="")
    return [(w, c) for w in instances for c in admin_get(w, q)["cases"]]


def settled(instances, sides):
    """Waits (bounded) until wsd has closed its record of every side."""
    return wsdtest.wait_until(lambda: all(
        len(r) == 1 and r[0][1]["state"] == "closed"
        for r in (records(instances, s) for s in sides)), 5)


def wsd_heads(instances, side):
    """(request, response) heads as wsd read and wrote them."""
    (w, c), = records(instances, side)
    doc = admin_get(w, "/v1/cases/%d/autobahn" % c["id"])
    return doc["httpRequest"], doc["httpResponse"]


# The comparison --------------------------------------------------------------

def compare(folder, instances, tmp):
    """wsd compare on folder and the instances' admin endpoints: (status,
    stdout, stderr, the --json document or None)."""
    urls = ["http://127.0.0.1:%d" % wsdtest.admin_port(w) for w in instances]
    return wsdtest.run_compare(folder, urls, folder + ".json",
                               ["--token-file", os.path.join(tmp, "token")])


def header_names(head):
    return [line.split(":", 1)[0] for line in head.split("\r\n")[1:] if line]


def expect_haproxy(request, granted, forwardfor):
    """What HAProxy changes, for a client's request head and whether wsd
    granted an extension: it writes every header name in lower case (and,
    with option forwardfor, adds X-Forwarded-For)."""
    def spelled(what, name):
        return '%s header changed on the way: "%s" spelled "%s"' % (
            what, name, name.lower())
    up = {spelled("request", n) for n in header_names(request)
          if n != n.lower()}
    if forwardfor:
        up.add('request header added on the way: x-forwarded-for: '
               '"127.0.0.1"')
    down = {spelled("response", n) for n in WSD_RESPONSE
            if granted or n != "Sec-WebSocket-Extensions"}
    return up, down


def expect_haproxy_of(forwardfor):
    return lambda s: expect_haproxy(
        s.r["httpRequest"], "sec-websocket-extensions" in s.headers,
        forwardfor)


def expect_nginx(side, version):
    """What nginx changes, in the configuration above: Host without its
    port ($host), "upgrade" for the Connection it sets both ways, its own
    Server header for wsd's, and a Date."""
    host = side.r["httpRequest"].split("Host: ", 1)[1].split("\r\n", 1)[0]
    up = {'request header changed on the way: Host: "%s" -> "%s"'
          % (host, host.rsplit(":", 1)[0]),
          'request header changed on the way: Connection: "Upgrade" -> '
          '"upgrade"'}
    down = {'response header changed on the way: Connection: "Upgrade" -> '
            '"upgrade"',
            'response header changed on the way: Server: "wsd/%s" -> "%s"'
            % (version, side.headers.get("server")),
            'response header added on the way: Date: "%s"'
            % side.headers.get("date")}
    return up, down


def check(name, result, sides, instances, expect):
    """The comparison of the sides through a proxy: every case pairs (with
    a record of each instance, when several), frames and closes are
    transparent, the head differences are exactly expect(side)'s, and the
    octets each way differ by the heads' lengths alone."""
    rc, out, err, doc = result
    n = len(sides)
    differ = 0 if expect is None else n
    tap.ok(rc == (0 if expect is None else 1) and
           "%d cases: %d identical, %d differ, 0 unpaired; 0 wsd records "
           "unpaired" % (n, n - differ, differ) in out,
           "%s: every case pairs%s" % (name, ", identical" if expect is None
                                       else ", and differs"), out + err)
    if doc is None:
        tap.ok(False, "%s: --json written" % name, err)
        return
    cases = {c["id"]: c for c in doc["cases"]}
    sources = {c["wsd"]["source"] for c in doc["cases"] if c["paired"]}
    tap.eq(len(sources), len(instances),
           "%s: the cases paired with a record of each of the %d instances"
           % (name, len(instances)))
    opaque = []
    for s in sides:
        cmp_ = cases[s.r["id"]]["comparison"]
        for way in ("clientToServer", "serverToClient"):
            w = cmp_[way]
            if (w["frames"] != "sequence" or
                    w["framesByOpcode"]["sent"] != w["framesByOpcode"]
                    ["received"] or
                    w["messagePayloadOctets"]["sent"] !=
                    w["messagePayloadOctets"]["received"] or
                    any(d["kind"] not in HEAD_KINDS
                        for d in w["differences"])):
                opaque.append((s.r["id"], way, w["frames"],
                               w["framesByOpcode"], w["differences"]))
        if cmp_["closing"]["differences"]:
            opaque.append((s.r["id"], "closing",
                           cmp_["closing"]["differences"]))
    tap.ok(not opaque, "%s: frames, payloads, close codes and who closed "
           "the same at both ends, compared frame by frame" % name, opaque)

    wrong = []
    for s in sides:
        cmp_ = cases[s.r["id"]]["comparison"]
        got = [{d["text"] for d in cmp_[way]["differences"]}
               for way in ("clientToServer", "serverToClient")]
        want = [set(), set()] if expect is None else list(expect(s))
        if got != want:
            wrong.append((s.r["id"], "got", got, "want", want))
    tap.ok(not wrong, "%s: %s" % (name, "nothing differs" if expect is None
                                  else "exactly the head changes it makes "
                                  "are named"), wrong)

    # The octets each way: the same but for the heads' lengths, and a
    # head of another length cuts TCP otherwise from its first read.
    bad = []
    for s in sides:
        req, resp = wsd_heads(instances, s)
        o = cases[s.r["id"]]["comparison"]
        up, down = o["clientToServer"]["octets"], o["serverToClient"]["octets"]
        delta = (len(req.encode()) - len(s.r["httpRequest"].encode()),
                 len(s.r["httpResponse"].encode()) - len(resp.encode()))
        if (up["received"] - up["sent"], down["received"] - down["sent"]) != \
                delta or (delta[0] != 0 and up["sameSegmentation"]):
            bad.append((s.r["id"], delta, up, down))
    tap.ok(not bad, "%s: the octets each way differ by the heads' lengths "
           "alone" % name, bad)
    cut = sum(1 for c in doc["cases"] if any(
        not c["comparison"][w]["octets"]["sameSegmentation"]
        for w in ("clientToServer", "serverToClient")))
    tap.ok("; %d cut otherwise by TCP, which is no difference)" % cut in out,
           "%s: the summary counts the %d cases TCP cut otherwise"
           % (name, cut), out.splitlines()[-1:])


def through(name, port, instances, tmp, expect):
    """drive() through port, then check() its comparison: the sides."""
    sides = drive(port, name)
    folder = os.path.join(tmp, name)
    write_folder(folder, sides)
    tap.ok(settled(instances, sides), "%s: wsd closed a record of each "
           "connection" % name)
    check(name, compare(folder, instances, tmp), sides, instances, expect)
    return sides


# The runs --------------------------------------------------------------------

def t_direct(a, tmp):
    through("direct", a.port, [a], tmp, None)


def t_haproxy(a, tmp):
    with running(proxies.HAProxy(tmp, haproxy_minimal([a]))) as h:
        through("haproxy", h.port, [a], tmp, expect_haproxy_of(False))


def t_nginx(instances, tmp, version):
    name = "nginx-%d" % len(instances)
    with running(proxies.Nginx(tmp, nginx_proxy(instances))) as n:
        through(name, n.port, instances, tmp,
                lambda s: expect_nginx(s, version))


def nginx_answers(w, dead):
    """nginx answering handshakes wsd never saw as they were sent: /bad
    passes to a port where nothing listens (nginx answers 502 itself),
    /key to wsd with the Sec-WebSocket-Key replaced by another."""
    def render(port):
        loc = ("        location /%s {\n"
               "            proxy_pass http://127.0.0.1:%d/ws;\n"
               "            proxy_http_version 1.1;\n"
               "            proxy_set_header Upgrade $http_upgrade;\n"
               "            proxy_set_header Connection upgrade;\n%s"
               "        }\n")
        return ("    server {\n        listen 127.0.0.1:%d;\n%s%s    }\n"
                % (port, loc % ("bad", dead, ""),
                   loc % ("key", w.port, "            proxy_set_header "
                          "Sec-WebSocket-Key dGhlIHNhbXBsZSBub25jZQ==;\n")))
    return render


def t_answers(w, tmp):
    """wsc --record through nginx_answers: neither case pairs, and wsd
    compare says why, from what the client got: nginx's own 502, and a
    101 whose Sec-WebSocket-Accept answers another key than the one sent."""
    want = {"bad": '; its handshake was answered "HTTP/1.1 502 Bad '
                   'Gateway" (Server: "nginx/',
            "key": '; its handshake was answered "HTTP/1.1 101 Switching '
                   'Protocols" (Server: "nginx/%s") with a Sec-WebSocket-'
                   'Accept that is not its key\'s: the key was changed on '
                   'the way'}
    with running(proxies.Nginx(tmp, nginx_answers(w, wsdtest.free_port()))) \
            as n:
        for path, text in sorted(want.items()):
            rec = os.path.join(tmp, "answers-" + path)
            p = subprocess.run([WSC, "--record", rec, "ws://127.0.0.1:%d/%s"
                                % (n.port, path)], input=b"",
                               capture_output=True,
                               timeout=wsdtest.timeout(30))
            tap.eq(p.returncode, 3, "nginx answers /%s: wsc's handshake "
                   "fails" % path)
            with open(os.path.join(rec, "index.json")) as f:
                entry, = [e for c in json.load(f).values()
                          for e in c.values()]
            with open(os.path.join(rec, entry["reportfile"])) as f:
                case = json.load(f)
            server = case["httpResponse"].split("Server: nginx/", 1)[-1]
            text = text.replace("%s", server.split("\r\n", 1)[0])
            rc, out, err, doc = compare(rec, [w], tmp)
            key = case["httpRequest"].split("Sec-WebSocket-Key: ", 1)[1]
            line = "%s 1: unpaired: no wsd record has its Sec-WebSocket-" \
                   "Key %s%s" % (case["agent"], key.split("\r\n", 1)[0],
                                 text)
            tap.ok(rc == 1 and line in out and doc is not None and
                   text in doc["cases"][0].get("unpairedBecause", ""),
                   "nginx answers /%s: wsd compare says what the client got"
                   % path, (line, out, err))


def servers_checked(sock, want):
    """Waits (bounded) until HAProxy's servers wsd1 and wsd2 have been
    checked with the outcome want ("L7OK"; "L7STS" for a refused one):
    the states as they were last read."""
    last = [{}]

    def done():
        try:
            last[0] = proxies.haproxy_servers(sock, "wsd")
        except (FileNotFoundError, ConnectionRefusedError):
            # HAProxy listens on its port before its stats socket is
            # there: not yet.
            return False
        return sorted(last[0]) == ["wsd1", "wsd2"] and all(
            c == want for _, c, _ in last[0].values())
    wsdtest.wait_until(done, 10, step=0.1)
    return last[0]


def t_contrib(a, b, tmp):
    path = os.path.join(tmp, "contrib.cfg")
    with open(path, "w") as f:
        f.write(contrib_haproxy([a, b], os.path.join(tmp, "x.sock"))(80))
    rc, out = proxies.haproxy_check(path)
    tap.ok(rc == 0 and "Configuration file is valid" in out,
           "contrib/haproxy/wsd.cfg: haproxy -c passes it", out)

    env = dict(os.environ, WSD_ADMIN_TOKEN="not-the-token")
    sock = os.path.join(tmp, "refused.sock")
    refused = proxies.HAProxy(tmp, contrib_haproxy([a, b], sock), env=env)
    with running(refused):
        states = servers_checked(sock, "L7STS")
        tap.eq(states, {"wsd1": ("DOWN", "L7STS", "401"),
                        "wsd2": ("DOWN", "L7STS", "401")},
               "contrib haproxy: with another token, the health check of "
               "each admin endpoint is refused (HTTP 401), each instance "
               "DOWN")

    env = dict(os.environ, WSD_ADMIN_TOKEN=TOKEN)
    sock = os.path.join(tmp, "haproxy.sock")
    h = proxies.HAProxy(tmp, contrib_haproxy([a, b], sock), env=env)
    with running(h):
        states = servers_checked(sock, "L7OK")
        tap.eq(states, {"wsd1": ("UP", "L7OK", "200"),
                        "wsd2": ("UP", "L7OK", "200")},
               "contrib haproxy: both instances UP, their admin endpoints "
               "checked with the token")
        through("haproxy-2", h.port, [a, b], tmp, expect_haproxy_of(True))
        t_reload(h, [a, b], tmp)


def t_reload(h, instances, tmp):
    """A WebSocket open across a reload of HAProxy (SIGUSR2 to its
    master, what systemctl reload does): it goes on in the old process,
    the new one takes new connections, and the old one leaves once the
    WebSocket has closed."""
    old = set(h.children())
    x = FarEnd(h.port, "1", agent="reload")
    echoed(x, 1, b"before the reload")
    h.reload()
    new = []
    tap.ok(wsdtest.wait_until(
        lambda: bool(new.extend(set(h.children()) - old) or new), 10),
        "reload: HAProxy started a new worker", (old, h.children()))
    echoed(x, 1, b"after the reload")
    y = FarEnd(h.port, "2", agent="reload")
    echoed(y, 1, b"a new connection")
    y.close()
    tap.ok(all(wsdtest.alive(p) for p in old),
           "reload: the old worker still serves the open WebSocket")
    x.close()
    tap.ok(x.r["wasClean"] and x.r["remoteCloseCode"] == 1000,
           "reload: the WebSocket open across it closes cleanly", x.r)
    tap.ok(wsdtest.wait_until(
        lambda: not any(wsdtest.alive(p) for p in old), 10),
        "reload: the old worker leaves once its WebSocket has closed",
        [p for p in old if wsdtest.alive(p)])
    folder = os.path.join(tmp, "reload")
    write_folder(folder, [x, y])
    settled(instances, [x, y])
    rc, out, err, doc = compare(folder, instances, tmp)
    tap.ok(rc == 1 and "2 cases: 0 identical, 2 differ, 0 unpaired; 0 wsd "
           "records unpaired" in out and doc is not None and all(
               d["kind"] in HEAD_KINDS for c in doc["cases"]
               for w in ("clientToServer", "serverToClient", "closing")
               for d in c["comparison"][w]["differences"]),
           "reload: both pair, and only their heads differ", out + err)


def t_drain(a, b, tmp):
    """The contrib file's way to take an instance out: drain it on the
    runtime socket (new connections go to the other), then SIGQUIT it,
    which closes its WebSockets with 1001; their clients come back,
    through HAProxy, to the other. b is stopped by it."""
    env = dict(os.environ, WSD_ADMIN_TOKEN=TOKEN)
    sock = os.path.join(tmp, "drain.sock")
    with running(proxies.HAProxy(tmp, contrib_haproxy([a, b], sock),
                                 env=env)) as h:
        servers_checked(sock, "L7OK")
        first = [FarEnd(h.port, str(i + 1), agent="drain") for i in range(2)]
        on_b = [s for s in first if records([b], s)]
        tap.eq(len(on_b), 1, "drain: of two WebSockets, one on each instance")
        answer = proxies.haproxy_command(sock, "set server wsd/wsd2 state "
                                         "drain")
        states = proxies.haproxy_servers(sock, "wsd")
        tap.ok(answer.strip() == "" and states.get("wsd2", ("",))[0] ==
               "DRAIN", "drain: HAProxy drains wsd2", (answer, states))
        more = [FarEnd(h.port, str(i + 3), agent="drain") for i in range(2)]
        tap.ok(all(records([a], s) and not records([b], s) for s in more),
               "drain: new connections all go to wsd1")
        b.signal(signal.SIGQUIT)
        x = on_b[0] if on_b else first[0]
        x.answer_close()
        tap.ok(x.r["remoteCloseCode"] == 1001 and x.r["wasClean"],
               "drain: wsd2, stopped gracefully, closes its WebSocket with "
               "1001, cleanly", x.r)
        back = FarEnd(h.port, "5", agent="drain")
        echoed(back, 1, b"back again")
        tap.ok(bool(records([a], back)),
               "drain: its client comes back, through HAProxy, to wsd1")
        for s in [s for s in first if s is not x] + more + [back]:
            s.close()
        tap.eq(b.wait_exit(10), 0, "drain: wsd2 exits, status 0")


# The testsuite's own run through HAProxy -------------------------------------

def t_testsuite(tmp):
    """tests/data/autobahn-haproxy: the testsuite's report folder of ten
    cases run through contrib/haproxy/wsd.cfg, and the two instances'
    wsd report folders."""
    jpath = os.path.join(tmp, "testsuite.json")
    wsd1, wsd2 = os.path.join(DATA, "wsd1"), os.path.join(DATA, "wsd2")
    status, out, err, doc = wsdtest.run_compare(DATA, [wsd1, wsd2], jpath)
    tap.ok(status == 1 and "10 cases: 0 identical, 10 differ, 0 "
           "unpaired; 0 wsd records unpaired" in out,
           "the testsuite through HAProxy: its 10 cases pair, and differ",
           out + err)
    doc = doc or {"cases": []}
    tap.eq(sorted({c["wsd"]["source"] for c in doc["cases"]}), [wsd1, wsd2],
           "the testsuite through HAProxy: the cases pair across both "
           "instances' folders")
    wrong = []
    for c in doc["cases"]:
        with open(os.path.join(DATA, c["reportfile"]),
                  encoding="utf-8") as f:
            mine = json.load(f)
        want = expect_haproxy(mine["httpRequest"], "sec-websocket-"
                              "extensions:" in mine["httpResponse"].lower(),
                              True)
        cmp_ = c["comparison"]
        got = tuple({d["text"] for d in cmp_[w]["differences"]}
                    for w in ("clientToServer", "serverToClient"))
        # Frames the testsuite wrote outside its log (6.4.3) are not
        # compared ("none"), at either end.
        frames = [(cmp_[w]["framesByOpcode"]["sent"],
                   cmp_[w]["framesByOpcode"]["received"])
                  for w in ("clientToServer", "serverToClient")
                  if cmp_[w]["frames"] != "none"]
        if got != want or cmp_["closing"]["differences"] or any(
                a != b for a, b in frames):
            wrong.append((c["id"], got, want, frames,
                          cmp_["closing"]["differences"]))
    tap.ok(not wrong, "the testsuite through HAProxy: only the head changes "
           "HAProxy makes differ, frames and closes the same at both ends",
           wrong)


def main():
    tmp = tempfile.mkdtemp()
    missing = [n for n, b in (("haproxy", proxies.HAPROXY),
                              ("nginx", proxies.NGINX))
               if b is None or not os.access(b, os.X_OK)]
    tap.ok(not missing, "haproxy and nginx are installed (contrib/"
           "install-deps installs them)", "missing: %s" % missing)
    try:
        wsdtest.guard(tap, "the testsuite through HAProxy", t_testsuite, tmp)
        with open(os.path.join(tmp, "token"), "w") as f:
            f.write(TOKEN + "\n")
        # Long wire logs (case_wirelog 4096), but few records: each worker
        # makes all of its records resident before its first accept, and
        # 4096 of them (the default) take over 1 GB, which on a loaded
        # machine outlasts a client's 5 s wait for the opening handshake.
        args = ["--case_wirelog", "4096", "--stats_cases", "256",
                "--admin_token_file", os.path.join(tmp, "token")]
        with wsdtest.Wsd(tap, args) as a, wsdtest.Wsd(tap, args) as b:
            version = admin_get(a, "/v1/stats")["version"]
            wsdtest.guard(tap, "direct", t_direct, a, tmp)
            wsdtest.guard(tap, "haproxy", t_haproxy, a, tmp)
            wsdtest.guard(tap, "nginx", t_nginx, [a], tmp, version)
            wsdtest.guard(tap, "nginx answers", t_answers, a, tmp)
            wsdtest.guard(tap, "contrib haproxy", t_contrib, a, b, tmp)
            wsdtest.guard(tap, "nginx, two instances", t_nginx, [a, b], tmp,
                          version)
            wsdtest.guard(tap, "drain", t_drain, a, b, tmp)
    finally:
        shutil.rmtree(tmp)
    tap.done()


if __name__ == "__main__":
    main()
