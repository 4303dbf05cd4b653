# SPDX-License-Identifier: MIT
"""The console in a real browser (Debian's headless Chromium through
chromedriver), against a wsd that asks for a token:

- the token: none asks for it; a wrong one is said to be refused; the
  right one opens the console, stays in the tab's sessionStorage (a
  reload needs no new one) and never shows in the URL; a wsd without a
  token opens at once;
- the overview shows the totals of /v1/stats, and moves when the test
  opens connections (the tiles and the chart of open connections);
- the case table lists the cases /v1/cases holds, filters them, and a
  row opens that case's report in the console's frame;
- the campaign grid of a known run: a row per case id in the Autobahn
  testsuite's order, a column per agent, each cell the closing behaviour
  and the peer's close code, linking to the case;
- the campaign grid of a full ring of peers that each named their own
  User-Agent stays small (the agents past the cap folded into one
  column) and the page stays responsive, its stream live;
- a peer's hostile strings shown as text, nothing of them run;
- a 17th subscriber of /v1/events: the page says wsd's reason for the
  503 and tries again after its Retry-After, not before;
- a first /v1/stats that fails (wsd away): the page says so and tries
  again by itself, and opens once wsd answers, with no reload;
- with records off (stats_cases 0), the cases and the campaign say so,
  and that the connections went unrecorded;
- readable at phone width and in dark mode;
- no console error nor CSP violation on any page (but the 401s the token
  flow asks for).

Only loopback and kernel-chosen ports; the browser and every wsd stopped.
"""

import wsdbrowser
import wsdtest

tap = wsdtest.Tap()
TOKEN = "browser-token"
AUTH = {"Authorization": "Bearer " + TOKEN}
HOSTILE_AGENT = "<img/src=x/onerror=window.__pwned=1>"


def api(port, path):
    status, doc, _ = wsdtest.admin_json(port, path, headers=AUTH)
    if status != 200:
        raise RuntimeError("GET %s: %r %r" % (path, status, doc))
    return doc


def no_errors(b, what, allow_401=False, allow_status=()):
    """No console error but the failed loads of statuses allowed (the
    401s the token flow asks for, a refusal the test provoked)."""
    allow = list(allow_status) + ([401] if allow_401 else [])
    errors = [e for e in b.errors()
              if not any("status of %d " % n in e for n in allow)]
    tap.ok(not errors, "%s: no console error nor CSP violation" % what,
           "\n".join(errors))


def text(b, elem_id):
    return b.js("var e = document.getElementById(arguments[0]);"
                "return e ? e.textContent : null", elem_id)


def visible(b, elem_id):
    return b.js("var e = document.getElementById(arguments[0]);"
                "return e !== null && !e.hidden", elem_id)


def wait(cond, seconds=10):
    return wsdtest.wait_until(cond, seconds, step=0.1)


def close_clean(s):
    wsdtest.send_close(s, 1000)
    wsdtest.drain_until_eof(s, 5)
    s.close()


def t_token(_, b, url):
    b.get(url)
    tap.ok(wait(lambda: visible(b, "login")), "token: none, and it asks")
    tap.ok(not visible(b, "overview"), "token: nothing shown without it")
    tap.eq(text(b, "login-error"), "", "token: no complaint before a try")
    b.js("document.getElementById('token').value = 'wrong';"
         "document.querySelector('#login-form button').click()")
    tap.ok(wait(lambda: "refused" in (text(b, "login-error") or "")),
           "token: a wrong one is said to be refused",
           text(b, "login-error"))
    tap.ok(visible(b, "login"), "token: still asking")
    tap.eq(b.js("return sessionStorage.length"), 0,
           "token: a refused one is not kept")
    no_errors(b, "token: asking", allow_401=True)
    b.js("document.getElementById('token').value = arguments[0];"
         "document.querySelector('#login-form button').click()", TOKEN)
    tap.ok(wait(lambda: visible(b, "overview")),
           "token: the right one opens the console")
    tap.ok(wait(lambda: (text(b, "status") or "").startswith("live")),
           "token: the overview is live", text(b, "status"))
    tap.eq(b.js("return sessionStorage.getItem('wsd-admin-token')"), TOKEN,
           "token: kept in the tab's sessionStorage")
    tap.ok(TOKEN not in b.driver.current_url, "token: not in the URL",
           b.driver.current_url)
    tap.eq(b.js("return document.getElementById('token').value"), "",
           "token: not left in the form")
    b.get(url)
    tap.ok(wait(lambda: visible(b, "overview")) and not visible(b, "login"),
           "token: a reload asks no more")
    no_errors(b, "token: signed in")


def tile(b, name):
    return (text(b, "t-" + name) or "").replace(",", "")


def t_overview(_, b, url, wsd, port):
    b.get(url + "#overview")
    tap.ok(wait(lambda: (text(b, "status") or "").startswith("live")),
           "overview: live")
    # Nothing moves: the tiles settle on the totals of /v1/stats.
    want = api(port, "/v1/stats")["totals"]

    def same():
        return all(tile(b, k) == str(want[v]) for k, v in
                   (("active", "active"), ("accepted", "accepted"),
                    ("clean", "clean"), ("unclean", "unclean"),
                    ("unopened", "unopened"), ("peak", "peak")))
    tap.ok(wait(same), "overview: the totals of /v1/stats",
           ([tile(b, k) for k in ("active", "accepted", "clean")], want))
    shares = [tile(b, k).split(" ")[0] for k in ("deflate", "tls")]
    tap.eq(shares, [str(want["deflateNegotiated"]), str(want["tlsOpened"])],
           "overview: the deflate and TLS tiles count as /v1/stats does")
    socks = [wsdtest.open_ws(wsd.port, "/ws?case=live&agent=overview")
             for _ in range(3)]
    try:
        active = want["active"] + 3
        tap.ok(wait(lambda: tile(b, "active") == str(active)),
               "overview: three more open", tile(b, "active"))
        tap.ok(wait(lambda: tile(b, "accepted") ==
                    str(want["accepted"] + 3)),
               "overview: three more accepted", tile(b, "accepted"))
        last = b.js("var c = Chart.getChart('c-active');"
                    "var d = c.data.datasets[0].data;"
                    "return d.length ? d[d.length - 1].y : null")
        tap.eq(last, active, "overview: the chart of open connections moved")
        rows = b.js("return document.querySelectorAll('#workers tbody tr')"
                    ".length")
        tap.eq(rows, 2, "overview: a row per worker")
        for s in socks:
            wsdtest.echo_raw(s, b"to and fro")
    finally:
        for s in socks:
            close_clean(s)
    tap.ok(wait(lambda: b.js(
        "var r = document.querySelectorAll('#close-codes tbody tr');"
        "for (var i = 0; i < r.length; i++) {"
        "  if (r[i].cells[0].textContent === '1000') {"
        "    return r[i].cells[1].textContent; } } return null") == "3"),
        "overview: three 1000s sent in the last minute")
    no_errors(b, "overview")


def make_campaign(wsd):
    """A known run: agent A with cases 1.1.1, 1.1.2, 1.1.10 and 2.1,
    agent B with 1.1.1 (clean) and 1.1.10 (the peer drops TCP), and a
    peer with a hostile agent."""
    for case in ("2.1", "1.1.10", "1.1.1", "1.1.2"):
        s = wsdtest.open_ws(wsd.port, "/ws?case=%s&agent=A" % case)
        wsdtest.echo_raw(s, b"campaign")
        close_clean(s)
    s = wsdtest.open_ws(wsd.port, "/ws?case=1.1.1&agent=B")
    close_clean(s)
    s = wsdtest.open_ws(wsd.port, "/ws?case=1.1.10&agent=B")
    s.close()
    s = wsdtest.open_ws(wsd.port, "/ws?case=<b>x</b>&agent=" + HOSTILE_AGENT)
    close_clean(s)


def closed_cases(port):
    got = []

    def done():
        got[:] = api(port, "/v1/cases?limit=1000")["cases"]
        return got and all(c["state"] == "closed" for c in got)
    wsdtest.wait_until(done, 10)
    return got


def t_cases(_, b, url, port):
    cases = closed_cases(port)
    b.get(url + "#cases")
    want = sorted((c["id"] for c in cases), reverse=True)

    def ids():
        return b.js("return Array.from(document.querySelectorAll("
                    "'#case-table tbody tr')).map(r => +r.dataset.id)")
    tap.ok(wait(lambda: ids() == want), "cases: every case, newest first",
           (ids(), want))
    hostile = [c for c in cases if c["agent"] == HOSTILE_AGENT][0]
    shown = b.js("return document.querySelector("
                 "'#case-table tr[data-id=\"' + arguments[0] + '\"]')"
                 ".cells[2].textContent", hostile["id"])
    tap.eq(shown, HOSTILE_AGENT, "cases: a hostile agent shown as text")
    tap.eq(b.js("return document.querySelectorAll('#case-table img, "
                "#case-table b').length"), 0,
           "cases: none of its markup became elements")
    # Filters: agent B, then unclean only.
    b.js("document.getElementById('f-agent').value = 'B';"
         "document.querySelector('#case-filters button').click()")
    want_b = sorted((c["id"] for c in cases if c["agent"] == "B"),
                    reverse=True)
    tap.ok(wait(lambda: ids() == want_b), "cases: filtered by agent",
           (ids(), want_b))
    b.js("document.getElementById('f-unclean').click()")
    want_u = [c["id"] for c in cases if c["agent"] == "B" and
              not c["wasClean"]]
    tap.ok(wait(lambda: ids() == want_u), "cases: unclean only",
           (ids(), want_u))
    b.js("document.getElementById('f-unclean').click();"
         "document.getElementById('f-agent').value = '';"
         "document.querySelector('#case-filters button').click()")
    tap.ok(wait(lambda: ids() == want), "cases: the filters undone")
    no_errors(b, "cases")
    # A row opens its report in the console's frame.
    target = [c for c in cases if c["case"] == "1.1.2"][0]
    b.js("document.querySelector('#case-table tr[data-id=\"' + arguments[0]"
         " + '\"]').click()", target["id"])
    tap.ok(wait(lambda: b.js("return document.getElementById('report-frame')"
                             ".dataset.caseId") == str(target["id"])),
           "cases: a row opens its case")
    tap.eq(b.driver.current_url.split("#", 1)[1], "case/%d" % target["id"],
           "cases: the report has its own address")
    b.driver.switch_to.frame("report-frame")
    try:
        title = b.js("return document.title")
        heading = b.js("return document.querySelector('h1').textContent")
        styled = b.js("return getComputedStyle(document.body).maxWidth")
    finally:
        b.driver.switch_to.default_content()
    tap.ok("1.1.2" in title and "1.1.2" in heading,
           "cases: the frame shows that case's report", (title, heading))
    tap.ok(styled not in ("none", None),
           "cases: with the report's own style (let in by its hash)", styled)
    tap.eq(b.js("return document.getElementById('report-frame')"
                ".getAttribute('sandbox')"), "",
           "cases: in a sandbox that runs nothing")
    no_errors(b, "a report in the frame")
    # The case id form: the report of case N in a step.
    b.get(url + "#cases")
    b.js("document.getElementById('go-id').value = arguments[0];"
         "document.querySelector('#case-go button').click()", hostile["id"])
    tap.ok(wait(lambda: b.js("return document.getElementById('report-frame')"
                             ".dataset.caseId") == str(hostile["id"])),
           "cases: a case id opens its report (the hostile peer's)")
    tap.eq(b.js("return typeof window.__pwned"), "undefined",
           "cases: nothing a peer sent ran")
    no_errors(b, "the hostile peer's report")


def t_campaign(_, b, url, port):
    cases = {(c["agent"], c["case"]): c for c in closed_cases(port)
             if c["agent"] in ("A", "B")}
    b.get(url + "#campaign")

    def grid():
        return b.js(
            "var t = document.getElementById('campaign-grid');"
            "return {head: Array.from(t.tHead.rows[0].cells)"
            "  .map(c => c.textContent),"
            " rows: Array.from(t.tBodies[0].rows).map(r =>"
            "  Array.from(r.cells).map(c => {"
            "   var a = c.querySelector('a');"
            "   return [c.textContent, a ? a.getAttribute('href') : null];"
            "  }))}")
    tap.ok(wait(lambda: "A" in grid()["head"]), "campaign: the grid")
    g = grid()
    tap.eq(sorted(g["head"]),
           sorted(["case", "A", "B", "overview", HOSTILE_AGENT]),
           "campaign: a column per agent")
    col = {a: g["head"].index(a) if a in g["head"] else 0 for a in "AB"}
    named = {r[0][0]: r for r in g["rows"]}
    order = [r[0][0] for r in g["rows"] if r[0][0] in
             ("1.1.1", "1.1.2", "1.1.10", "2.1")]
    tap.eq(order, ["1.1.1", "1.1.2", "1.1.10", "2.1"],
           "campaign: case ids in the testsuite's order")
    none = [["", None]] * len(g["head"])
    cell = named.get("1.1.1", none)[col["A"]]
    tap.ok(cell[0].startswith("clean 1000") and
           cell[1] == "#case/%d" % cases[("A", "1.1.1")]["id"],
           "campaign: A's 1.1.1 clean, 1000, linking to its case", cell)
    cell = named.get("1.1.10", none)[col["B"]]
    tap.ok(cell[0].startswith("unclean") and
           cell[1] == "#case/%d" % cases[("B", "1.1.10")]["id"],
           "campaign: B's 1.1.10 unclean, linking to its case", cell)
    tap.eq(named.get("1.1.2", none)[col["B"]][0], "—",
           "campaign: B has no 1.1.2")
    tap.ok(HOSTILE_AGENT in g["head"], "campaign: a hostile agent as text")
    tap.eq(b.js("return document.querySelectorAll('#campaign-grid img')"
                ".length"), 0, "campaign: none of its markup ran")
    no_errors(b, "campaign")


def t_no_token(_, b):
    """A wsd with no admin_token: the console opens at once."""
    with wsdtest.Wsd(tap) as other:
        url = "http://127.0.0.1:%d/" % wsdtest.admin_port(other)
        b.get(url)
        tap.ok(wait(lambda: (text(b, "status") or "").startswith("live")),
               "no token set: the console opens at once")
        tap.ok(not visible(b, "login"), "no token set: nothing asked")
        tap.eq(b.js("return sessionStorage.length"), 0,
               "no token set: nothing kept")
        no_errors(b, "no token set")
        b.get("about:blank")  # the stream ends before the daemon does


SUBSCRIBERS_MAX = 16  # admin_events.h: ADMIN_EVENTS_MAX


def event_tries(b):
    """The start times (ms) of the page's requests of /v1/events that
    have ended: the refused ones (a stream that runs has not ended)."""
    return b.js("return performance.getEntriesByType('resource')"
                ".filter(e => new URL(e.name).pathname === '/v1/events')"
                ".map(e => e.startTime)")


def t_busy(_, b):
    """Every subscription of /v1/events in use: the console shows wsd's
    503 reason, and tries again after the 10 s of its Retry-After (not
    every 2 s); once a subscriber leaves, it goes live."""
    with wsdtest.Wsd(tap) as other:
        port = wsdtest.admin_port(other)
        subs = []
        try:
            for _ in range(SUBSCRIBERS_MAX):
                subs.append(wsdtest.EventStream(port))
                subs[-1].read_head()
            extra = wsdtest.EventStream(port)
            status = extra.read_head()
            extra.close()
            tap.eq((status, extra.headers.get("retry-after")), (503, "10"),
                   "busy: a 17th subscriber is refused, Retry-After: 10")
            b.get("http://127.0.0.1:%d/" % port)
            tap.ok(wait(lambda: "too many subscribers" in
                        (text(b, "status") or "")),
                   "busy: the page says why (wsd's reason for the 503)",
                   text(b, "status"))
            tap.ok(wait(lambda: len(event_tries(b)) >= 1),
                   "busy: the refusal is seen", event_tries(b))
            # Old enough for two tries 2 s apart, not for one after 10 s.
            first = event_tries(b)[0]
            wait(lambda: b.js("return performance.now()") > first + 6000,
                 seconds=10)
            tap.eq(len(event_tries(b)), 1,
                   "busy: no second try before Retry-After's 10 s")
            subs.pop().close()
            tap.ok(wait(lambda: (text(b, "status") or "").startswith(
                "live"), seconds=20),
                "busy: live once a subscriber has left", text(b, "status"))
            tries = event_tries(b)
            tap.ok(len(tries) == 1 or tries[1] - tries[0] >= 9500,
                   "busy: the next try 10 s after the refusal", tries)
            no_errors(b, "busy: but the 503s", allow_status=[503])
        finally:
            for s in subs:
                s.close()
            b.get("about:blank")


def t_away(_, b):
    """The first /v1/stats fails without a 401 (blocked in the browser,
    as when wsd restarts): the page shows the error, says it will try
    again, and opens the console once the request goes through."""
    with wsdtest.Wsd(tap) as other:
        url = "http://127.0.0.1:%d/" % wsdtest.admin_port(other)
        b.driver.execute_cdp_cmd("Network.enable", {})
        b.driver.execute_cdp_cmd("Network.setBlockedURLs",
                                 {"urls": ["*/v1/stats*"]})
        try:
            b.get(url)
            tap.ok(wait(lambda: "/v1/stats" in (text(b, "status") or "")),
                   "away: the page says /v1/stats failed", text(b, "status"))
            tap.ok(not visible(b, "overview"), "away: nothing shown yet")
            tap.ok(wait(lambda: "again in" in (text(b, "status") or "")),
                   "away: and that it will try again", text(b, "status"))
            b.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
            tap.ok(wait(lambda: (text(b, "status") or "").startswith("live"),
                        seconds=30),
                   "away: live once /v1/stats answers, with no reload",
                   text(b, "status"))
            tap.ok(visible(b, "overview"), "away: the overview shown")
            errors = [e for e in b.errors()
                      if "ERR_BLOCKED_BY_CLIENT" not in e]
            tap.ok(not errors, "away: no console error but the requests "
                   "blocked", "\n".join(errors))
        finally:
            b.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
            b.driver.execute_cdp_cmd("Network.disable", {})
            b.get("about:blank")


def t_records_off(_, b):
    """stats_cases 0: no connection has a record. The case table and the
    campaign say that records are off and that the connections so far
    were not recorded, not that no record is held below some id."""
    with wsdtest.Wsd(tap, ["--stats_cases", "0"]) as other:
        for _ in range(5):
            close_clean(wsdtest.open_ws(other.port))
        url = "http://127.0.0.1:%d/" % wsdtest.admin_port(other)
        for view, element in (("cases", "page-info"),
                              ("campaign", "campaign-note")):
            b.get(url + "#" + view)
            shown = lambda: text(b, element) or ""
            tap.ok(wait(lambda: "stats_cases 0" in shown()),
                   "records off: the %s say records are off" % view,
                   shown())
            tap.ok("5 connections" in shown() and "not recorded" in shown(),
                   "records off: and that the 5 connections were not "
                   "recorded (%s)" % view, shown())
            if view == "cases":
                tap.eq(b.js("return [document.getElementById("
                            "'page-older').disabled, document."
                            "getElementById('page-newer').disabled]"),
                       [True, True], "records off: nothing to page to")
        tap.eq(b.js("return document.getElementById('campaign-grid')"
                    ".querySelectorAll('td, th').length"), 0,
               "records off: no grid")
        no_errors(b, "records off")
        b.get("about:blank")


def t_unrecorded(_, b):
    """Every record in use by an open connection: the newest ids have no
    record, and the case table shows the newest records held, not an
    empty page of the newest ids (more of them than a page's 200)."""
    with wsdtest.Wsd(tap, ["--stats_cases", "4"], workers=1) as other:
        socks = [wsdtest.open_ws(other.port, "/ws?case=held&agent=U")
                 for _ in range(210)]
        try:
            b.get("http://127.0.0.1:%d/#cases" % wsdtest.admin_port(other))

            def rows():
                return b.js("return Array.from(document.querySelectorAll("
                            "'#case-table tbody tr')).map(r => r.dataset.id)")
            tap.ok(wait(lambda: len(rows() or []) == 4),
                   "unrecorded: the table lists the four records held",
                   rows())
            tap.eq(rows(), ["4", "3", "2", "1"],
                   "unrecorded: ids 4 to 1, newest first")
            info = text(b, "page-info") or ""
            tap.ok("ids 1–4 of 210" in info and "206 newer unrecorded" in info,
                   "unrecorded: the page says ids 5 to 210 have no record",
                   info)
            tap.eq(b.js("return document.getElementById('page-older')"
                        ".disabled"), True,
                   "unrecorded: nothing older to page to")
            no_errors(b, "unrecorded")
        finally:
            for s in socks:
                close_clean(s)
            b.get("about:blank")


def distinct_agents(port, n, batch=200):
    """n connections, each with a User-Agent of its own and no agent= nor
    case=, each closed cleanly: the handshake and the close frame are sent
    together, `batch` connections at a time."""
    for first in range(0, n, batch):
        socks = []
        for i in range(first, min(n, first + batch)):
            s = wsdtest.connect(port)
            s.sendall(wsdtest.handshake_request(
                extra=["User-Agent: peer-%05d" % i]) +
                wsdtest.frame(8, wsdtest.close_payload(1000)))
            socks.append(s)
        for s in socks:
            wsdtest.drain_until_eof(s, 5)
            s.close()


CAMPAIGN_AGENTS = 12  # console.js: the agents with a column of their own


def t_many_agents(_):
    """A full ring (4096 records) of peers with 4096 User-Agents: the
    campaign grid keeps a column for the 12 agents with the most records
    and folds the rest into one, and the page answers within WebDriver's
    script timeout, its stream still live. Before the cap, the grid was
    4096 rows by 4097 columns and the tab hung for minutes."""
    n = 4096
    with wsdtest.Wsd(tap, ["--stats_cases", str(n)], workers=1) as other:
        port = wsdtest.admin_port(other)
        distinct_agents(other.port, n)

        def clean():
            return wsdtest.admin_json(port, "/v1/stats")[1]["totals"]["clean"]
        # Bounded: on a loaded machine a batch's last closes may come
        # after its clients' waits ran out.
        wsdtest.wait_until(lambda: clean() == n, 30, step=0.2)
        tap.eq(clean(), n, "many agents: %d clean closes" % n)
        b = wsdbrowser.Browser(command_seconds=wsdtest.timeout(40))
        try:
            b.driver.set_script_timeout(wsdtest.timeout(20))
            b.get("http://127.0.0.1:%d/#campaign" % port)
            shape = None
            try:
                shape = b.driver.execute_async_script(
                    "var done = arguments[arguments.length - 1];"
                    "(function poll() {"
                    "  var g = document.getElementById('campaign-grid');"
                    "  var head = g.tHead.rows[0].cells;"
                    "  if (head.length === 0) { setTimeout(poll, 50); return; }"
                    "  done({head: Array.from(head).map(c => c.textContent),"
                    "        rows: g.tBodies[0].rows.length,"
                    "        cells: g.querySelectorAll('td, th').length,"
                    "        note: (document.getElementById('campaign-note') || {})"
                    "          .textContent});"
                    "})()")
            except Exception as e:  # the tab did not answer in time
                tap.diag("campaign: %s" % str(e).splitlines()[0])
            tap.ok(shape is not None,
                   "many agents: the campaign grid shown within the "
                   "script timeout")
            if shape is None:
                return  # the page is hung: nothing more to ask it
            tap.eq(len(shape["head"]), CAMPAIGN_AGENTS + 2,
                   "many agents: the case column, 12 agents and one "
                   "for the other agents")
            tap.eq(shape["head"][-1:], ["other agents"],
                   "many agents: the last column is the other agents")
            tap.ok(shape["cells"] <= (CAMPAIGN_AGENTS + 2) *
                   (CAMPAIGN_AGENTS + 1),
                   "many agents: a row per case of the agents shown, no "
                   "more", shape["cells"])
            folded = n - CAMPAIGN_AGENTS
            tap.ok(("%s agents" % format(folded, ",")) in shape["note"],
                   "many agents: the note says how many agents were "
                   "folded", shape["note"])
            before = text(b, "status")
            tap.ok(wait(lambda: (text(b, "status") or "").startswith(
                "live") and text(b, "status") != before),
                "many agents: the stream still live", (before,
                                                       text(b, "status")))
            no_errors(b, "many agents")
        finally:
            b.close()


def luminance(css):
    """Relative luminance of an rgb()/rgba() colour."""
    parts = css[css.index("(") + 1:css.index(")")].split(",")
    rgb = [float(p) / 255 for p in parts[:3]]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
           for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg, bg):
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def t_phone_dark(_, url):
    b = wsdbrowser.Browser(width=390, height=844)
    try:
        b.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        b.get(url)
        b.js("sessionStorage.setItem('wsd-admin-token', arguments[0])", TOKEN)
        b.driver.refresh()
        b.errors()  # the first load's 401, before the token was there
        for view in ("overview", "cases", "campaign"):
            b.get(url + "#" + view)
            tap.ok(wait(lambda: visible(b, view)), "phone: %s shown" % view)
            wait(lambda: (text(b, "status") or "").startswith("live"))
            over = b.js("return document.documentElement.scrollWidth - "
                        "window.innerWidth")
            tap.ok(over <= 0, "phone: %s fits the width (wide tables "
                   "scroll in their box)" % view, over)
            fg, bg = b.js("var s = getComputedStyle(document.body);"
                          "return [s.color, s.backgroundColor]")
            tap.ok(luminance(bg) < 0.05 and contrast(fg, bg) >= 7,
                   "dark: %s light on dark, contrast at least 7:1" % view,
                   (fg, bg))
            no_errors(b, "phone, dark: %s" % view)
    finally:
        b.close()


def main():
    why = wsdbrowser.missing()
    if why is not None:
        # CI installs the browser (contrib/install-deps) and fails on a skip.
        print("1..0 # SKIP " + why)
        return
    with wsdtest.Wsd(tap, ["--admin_token", TOKEN], workers=2) as wsd:
        port = wsdtest.admin_port(wsd)
        url = "http://127.0.0.1:%d/" % port
        b = wsdbrowser.Browser()
        try:
            cases = wsdtest.Cases(tap)
            cases("token", t_token, b, url)
            cases("overview", t_overview, b, url, wsd, port)
            make_campaign(wsd)
            cases("cases", t_cases, b, url, port)
            cases("campaign", t_campaign, b, url, port)
            cases("no token", t_no_token, b)
            cases("unrecorded", t_unrecorded, b)
            cases("busy", t_busy, b)
            cases("away", t_away, b)
            cases("records off", t_records_off, b)
        finally:
            b.close()
        cases("phone, dark", t_phone_dark, url)
    cases("many agents", t_many_agents)
    tap.done()


main()
