# SPDX-License-Identifier: MIT
"""The console's files on the admin endpoint, over HTTP: / and
/console/NAME served from the binary, each with its type and the strict
Content-Security-Policy (scripts, styles and fetches of the endpoint only;
the case report's style alone by its hash), public (they hold no data: the
page must load to ask for the token), while every resource with data still
needs the token; an unknown file is a JSON 404, a method other than GET a
405. The hash in the policy is that of the report's style, as served.

Only loopback and kernel-chosen ports; every wsd stopped.
"""
import base64
import hashlib
import re

import wsdtest

tap = wsdtest.Tap()
TOKEN = "console-token"

FILES = [("/", "text/html; charset=utf-8"),
         ("/console/console.js", "text/javascript; charset=utf-8"),
         ("/console/console.css", "text/css; charset=utf-8"),
         ("/console/icon.svg", "image/svg+xml"),
         ("/console/chart.js", "text/javascript; charset=utf-8")]


def policy_directives(csp):
    return {d.split()[0]: d.split()[1:] for d in
            (p.strip() for p in csp.split(";")) if d}


def t_files(_, port):
    for path, ctype in FILES:
        status, hdrs, body = wsdtest.admin_request(port, path)
        tap.eq(status, 200, "%s: 200 without the token" % path)
        tap.eq(hdrs.get("content-type"), ctype, "%s: its type" % path)
        tap.eq(hdrs.get("x-content-type-options"), "nosniff",
               "%s: nosniff" % path)
        csp = policy_directives(hdrs.get("content-security-policy", ""))
        tap.eq((csp.get("default-src"), csp.get("script-src"),
                csp.get("connect-src"), csp.get("frame-ancestors")),
               (["'none'"], ["'self'"], ["'self'"], ["'none'"]),
               "%s: the strict policy" % path)
        tap.ok(len(body) > 100, "%s: its bytes" % path, len(body))
    status, hdrs, body = wsdtest.admin_request(port, "/", method="HEAD")
    tap.ok(status == 200 and body == b"", "HEAD /: 200, no body",
           (status, body[:40]))


def t_report_style(_, port):
    """The policy lets in the report's style: the hash of what the report
    page holds between <style> and </style>."""
    s = wsdtest.open_ws(WSD_PORT[0])
    wsdtest.send_close(s, 1000)
    wsdtest.drain_until_eof(s, 5)
    s.close()
    auth = {"Authorization": "Bearer " + TOKEN}
    status, _, page = wsdtest.admin_request(port, "/v1/cases/1/report",
                                            headers=auth)
    tap.eq(status, 200, "a report")
    m = re.search(rb"<style>(.*?)</style>", page, re.S)
    digest = base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode() \
        if m else None
    _, hdrs, _ = wsdtest.admin_request(port, "/")
    csp = policy_directives(hdrs.get("content-security-policy", ""))
    tap.eq(csp.get("style-src"), ["'self'", "'sha256-%s'" % digest],
           "style-src: the endpoint's and the report's, by its hash")


def t_refusals(_, port):
    status, doc, hdrs = wsdtest.admin_json(port, "/console/nope.js")
    tap.ok(status == 404 and "console" in doc["error"],
           "an unknown file: a JSON 404 naming the console's files", doc)
    status, doc, _ = wsdtest.admin_json(port, "/console/../v1/stats")
    tap.eq(status, 401, "no way out of /console/ (not a file: the token)")
    status, doc, _ = wsdtest.admin_json(
        port, "/console/../v1/stats",
        headers={"Authorization": "Bearer " + TOKEN})
    tap.eq(status, 404, "no way out of /console/ (with it: 404)")
    status, _, _ = wsdtest.admin_request(port, "/", method="POST", body=b"x")
    tap.eq(status, 405, "POST /: 405")
    for path in ("/v1/stats", "/v1/cases", "/v1/events", "/metrics",
                 "/v1/cases/1/report"):
        status, _, _ = wsdtest.admin_request(port, path)
        tap.eq(status, 401, "%s still needs the token" % path)


WSD_PORT = [None]


def main():
    with wsdtest.Wsd(tap, ["--admin_token", TOKEN]) as wsd:
        port = wsdtest.admin_port(wsd)
        WSD_PORT[0] = wsd.port
        cases = wsdtest.Cases(tap)
        cases("files", t_files, port)
        cases("report style", t_report_style, port)
        cases("refusals", t_refusals, port)
    tap.done()


main()
