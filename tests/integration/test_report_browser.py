# SPDX-License-Identifier: MIT
"""Case reports as a person reads them, in a real browser (Debian's headless
Chromium through chromedriver): GET /v1/cases/ID/report for an echo, a
refused handshake and a peer whose strings are hostile (a User-Agent, a
case id and an agent carrying markup), each opening without a console
error or a CSP violation, showing its heads and one wire-log row per
entry, and running nothing a peer sent; then `wsd report`, the report
folder: index.json keyed by agent and case as the testsuite writes it,
each case's .json the endpoint's /autobahn object, and index.html opened
from the disk (file://, offline), its link followed to the case's page.
Then the admin token: `wsd report` without it, with a wrong one and with
the right one from a file.

Only loopback and kernel-chosen ports; the browser and every wsd stopped.
"""
import json
import os
import shutil
import subprocess
import tempfile

import wsdbrowser
import wsdtest

tap = wsdtest.Tap()
WSD = os.environ.get("WSD", "src/wsd")
HOSTILE_UA = "ua <script>window.__pwned=1</script> \"'&"


def closed_ids(port, n):
    """The ids of the first n cases, once all n are closed."""
    got = []

    def done():
        got[:] = wsdtest.admin_cases(port, "?limit=1000")["cases"]
        return len(got) >= n and all(c["state"] == "closed" for c in got)
    wsdtest.wait_until(done, 10)
    return [c["id"] for c in got]


def make_cases(ws_port):
    """Three connections: an echo with a case and an agent in its query,
    a peer with hostile strings, a refused handshake."""
    s = wsdtest.open_ws(ws_port, "/ws?case=1.1.1&agent=browser")
    tap.ok(wsdtest.echo_raw(s, b"hello, report"), "an echo")
    wsdtest.send_close(s, 1000)
    wsdtest.drain_until_eof(s, 5)
    s.close()
    s = wsdtest.open_ws(ws_port, "/ws?case=<b>9.9</b>&agent=<i>x</i>",
                        extra=("User-Agent: " + HOSTILE_UA,))
    tap.ok(wsdtest.echo_raw(s, b"<script>window.__pwned=2</script>"),
           "a hostile peer's echo")
    wsdtest.send_close(s, 4000, b"<img src=x onerror=window.__pwned=3>")
    wsdtest.drain_until_eof(s, 5)
    s.close()
    s = wsdtest.connect(ws_port)
    s.sendall(wsdtest.handshake_request("/nowhere"))
    status, _, _ = wsdtest.read_http_response(s)
    tap.eq(status, 404, "a refused handshake")
    s.close()


def check_page(b, url, what, doc):
    """Opens url and checks the page against doc, its Autobahn object."""
    b.get(url)
    errors = b.errors()
    tap.ok(not errors, "%s: no console error nor CSP violation" % what,
           "\n".join(errors))
    tap.ok(doc["id"] in b.driver.title,
           "%s: the title names the case" % what, b.driver.title)
    rows = b.js("return document.querySelectorAll('tr.w').length")
    tap.eq(rows, len(doc["wirelog"]),
           "%s: one wire-log row per entry" % what)
    body = b.js("return document.body.innerText")
    first = doc["httpRequest"].split("\r\n", 1)[0]
    tap.ok(first in body, "%s: the request line is shown" % what, first)
    tap.eq(b.js("return typeof window.__pwned"), "undefined",
           "%s: nothing a peer sent ran" % what)
    tap.eq(b.js("return document.querySelectorAll('script, img, iframe')"
                ".length"), 0, "%s: no element a peer wrote" % what)
    return body


def run_report(args, **kw):
    p = subprocess.run([WSD, "report"] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True,
                       timeout=wsdtest.timeout(60), **kw)
    return p.returncode, p.stdout, p.stderr


def t_pages_and_folder(b, tmp):
    with wsdtest.Wsd(tap) as w:
        port = wsdtest.admin_port(w)
        make_cases(w.port)
        ids = closed_ids(port, 3)
        tap.eq(len(ids), 3, "three cases recorded")
        base = "http://127.0.0.1:%d" % port
        docs = {}
        for cid in ids:
            status, doc, _ = wsdtest.admin_json(port,
                                                "/v1/cases/%d/autobahn" % cid)
            docs[cid] = doc
        status, hdrs, _ = wsdtest.admin_request(port,
                                                "/v1/cases/%d/report" % ids[0])
        tap.ok(status == 200 and hdrs.get("content-type", "").startswith(
            "text/html") and "default-src 'none'" in
            hdrs.get("content-security-policy", ""),
            "/report is HTML with a policy that forbids scripts", hdrs)
        echo, hostile, refused = ids
        body = check_page(b, "%s/v1/cases/%d/report" % (base, echo), "echo",
                          docs[echo])
        tap.ok("hello, report" in body, "echo: the payload's head is shown")
        body = check_page(b, "%s/v1/cases/%d/report" % (base, hostile),
                          "hostile peer", docs[hostile])
        tap.ok(HOSTILE_UA in body and "<b>9.9</b>" in body and
               "<img src=x onerror=window.__pwned=3>" in body,
               "hostile peer: its strings shown as text", body[:2000])
        check_page(b, "%s/v1/cases/%d/report" % (base, refused),
                   "refused handshake", docs[refused])
        status, _, _ = wsdtest.admin_request(port, "/v1/cases/999/report")
        tap.eq(status, 404, "a case never seen: 404")

        out = os.path.join(tmp, "report")
        rc, stdout, stderr = run_report(["--admin", base, "--out", out])
        tap.ok(rc == 0 and "3 cases of 3 agents" in stdout,
               "wsd report: exit 0, three cases of three agents",
               stdout + stderr)
        with open(os.path.join(out, "index.json")) as f:
            index = json.load(f)
        tap.eq(sorted(index), sorted(["browser", "<i>x</i>",
                                      docs[refused]["agent"]]),
               "index.json: keyed by agent")
        entry = index["browser"].get("1.1.1", {})
        tap.eq(sorted(entry), ["behavior", "behaviorClose", "duration",
                               "remoteCloseCode", "reportfile", "wsdCase"],
               "index.json: the testsuite's summary keys, and wsdCase")
        same = True
        for agent, cases in index.items():
            for case_id, e in cases.items():
                with open(os.path.join(out, e["reportfile"])) as f:
                    same = same and json.load(f) == docs[e["wsdCase"]]
                same = same and os.path.basename(e["reportfile"]) == \
                    e["reportfile"] and os.path.exists(os.path.join(
                        out, e["reportfile"][:-5] + ".html"))
        tap.ok(same, "each case's .json is its /autobahn object, beside "
               "its .html, under a plain file name")
        b.get("file://" + os.path.join(out, "index.html"))
        tap.ok(not b.errors(), "index.html: no console error")
        links = b.js("return Array.from(document.querySelectorAll('a'))"
                     ".map(a => a.getAttribute('href'))")
        tap.eq(sorted(links), sorted(
            e["reportfile"][:-5] + ".html"
            for cases in index.values() for e in cases.values()),
            "index.html: a relative link per case")
        b.js("document.querySelector('a[href=\"%s\"]').click()" %
             (entry.get("reportfile", "")[:-5] + ".html"))
        wsdtest.wait_until(lambda: b.driver.current_url.endswith(
            "browser_case_1_1_1.html"), 10)
        check_page(b, b.driver.current_url, "the folder's page of 1.1.1",
                   docs[echo])

        rc, _, stderr = run_report(["--admin", base, "--out",
                                    os.path.join(tmp, "no", "such")])
        tap.ok(rc == 1 and "No such file or directory" in stderr,
               "an --out whose parent is missing: exit 1, said", stderr)
        rc, _, stderr = run_report(["--admin", "https://127.0.0.1:1",
                                    "--out", out])
        tap.ok(rc == 2 and "not an http://HOST:PORT URL" in stderr,
               "an https URL: exit 2, said", stderr)
        rc, _, stderr = run_report(["--out", out])
        tap.ok(rc == 2 and "--admin URL is required" in stderr,
               "no --admin: exit 2, said", stderr)


def t_token(tmp):
    token_file = os.path.join(tmp, "token")
    with open(token_file, "w") as f:
        f.write("s3cret-token\n")
    with wsdtest.Wsd(tap, ["--admin_token_file", token_file]) as w:
        s = wsdtest.open_ws(w.port)
        wsdtest.send_close(s, 1000)
        wsdtest.drain_until_eof(s, 5)
        s.close()
        base = "http://127.0.0.1:%d" % wsdtest.admin_port(w)
        out = os.path.join(tmp, "tok")
        rc, _, stderr = run_report(["--admin", base, "--out", out])
        tap.ok(rc == 1 and "without a token (HTTP 401" in stderr,
               "token: none given, exit 1, said", stderr)
        wrong = os.path.join(tmp, "wrong")
        with open(wrong, "w") as f:
            f.write("not-it\n")
        rc, _, stderr = run_report(["--admin", base, "--out", out,
                                    "--token-file", wrong])
        tap.ok(rc == 1 and "refused the token (HTTP 401" in stderr,
               "token: a wrong one, exit 1, said", stderr)
        rc, stdout, stderr = run_report(["--admin", base, "--out", out,
                                         "--token-file", token_file])
        tap.ok(rc == 0 and "1 case of 1 agent" in stdout,
               "token: the right one from a file, exit 0", stdout + stderr)


def main():
    why = wsdbrowser.missing()
    if why is not None:
        tap.bail(why)
    tmp = tempfile.mkdtemp()
    b = wsdbrowser.Browser()
    try:
        wsdtest.guard(tap, "pages and folder", t_pages_and_folder, b, tmp)
        wsdtest.guard(tap, "token", t_token, tmp)
    finally:
        b.close()
        shutil.rmtree(tmp, ignore_errors=True)
    tap.done()


if __name__ == "__main__":
    main()
