/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for report_html: the eighteen case reports the Autobahn testsuite
 * wrote into tests/data/autobahn, and their index, rendered (the heading,
 * the opening handshake, the closing behaviour, the statistics totals, a
 * row per wire log entry, the heads of bytes as hex dumps, the index's
 * order and links); hostile strings escaped and made valid UTF-8, hrefs
 * refused unless plain file names; ill-typed keys shown as absent; inputs
 * that are not objects refused. With WSD_REPORT_HTML_DIR set, each page is
 * also written there, for tests/integration/test_report_html.py to parse
 * as HTML5.
 */
#include "autoconf.h"

#include "report_html.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "tap.h"
#include "ws_utf8.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The testsuite's reports, by file name, and their case ids. */
static const struct {
    const char *file;
    const char *id;
} cases[] = {
    {"wsd_case_1_1_1.json", "1.1.1"},   {"wsd_case_1_1_2.json", "1.1.2"},
    {"wsd_case_1_2_1.json", "1.2.1"},   {"wsd_case_2_10.json", "2.10"},
    {"wsd_case_3_1.json", "3.1"},       {"wsd_case_4_1_1.json", "4.1.1"},
    {"wsd_case_5_1.json", "5.1"},       {"wsd_case_5_3.json", "5.3"},
    {"wsd_case_5_6.json", "5.6"},       {"wsd_case_6_2_1.json", "6.2.1"},
    {"wsd_case_6_4_3.json", "6.4.3"},   {"wsd_case_7_1_1.json", "7.1.1"},
    {"wsd_case_7_1_6.json", "7.1.6"},   {"wsd_case_7_3_6.json", "7.3.6"},
    {"wsd_case_7_7_1.json", "7.7.1"},   {"wsd_case_9_1_1.json", "9.1.1"},
    {"wsd_case_10_1_1.json", "10.1.1"}, {"wsd_case_12_1_1.json", "12.1.1"},
};

/* A rendered page: NUL-terminated for strstr (a NUL inside fails
 * page_is_clean), and its length. */
struct page {
    char *text;
    size_t len;
    int rc;
};

static json_t *
load(const char *file)
{
    const char *srcdir = getenv("WSD_SRCDIR");
    char path[1024];
    json_error_t err;
    json_t *j;

    snprintf(path, sizeof(path), "%s/tests/data/autobahn/%s",
             srcdir != NULL ? srcdir : ".", file);
    j = json_load_file(path, 0, &err);
    if (j == NULL) {
        tap_diag("%s:%d: %s", path, err.line, err.text);
    }
    return j;
}

/* Writes the page to $WSD_REPORT_HTML_DIR/name, when that is set. */
static void
save(const char *name, const struct page *p)
{
    const char *dir = getenv("WSD_REPORT_HTML_DIR");
    char path[1024];
    FILE *f;

    if (dir == NULL) {
        return;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    ok(f != NULL && fwrite(p->text, 1, p->len, f) == p->len && fclose(f) == 0,
       "%s written for the HTML5 check", path);
}

static struct page
render(int (*fn)(const json_t *, struct evbuffer *), const json_t *j,
       const char *name)
{
    struct evbuffer *out = evbuffer_new();
    struct page p = {NULL, 0, -1};

    p.rc = fn(j, out);
    p.len = evbuffer_get_length(out);
    p.text = malloc(p.len + 1);
    if (p.text != NULL) {
        evbuffer_remove(out, p.text, p.len);
        p.text[p.len] = '\0';
    }
    evbuffer_free(out);
    if (name != NULL && p.text != NULL) {
        save(name, &p);
    }
    return p;
}

/* A file's name without its ".json". */
static void
file_stem(const char *file, char (*out)[40])
{
    size_t n = strlen(file) > 5 ? strlen(file) - 5 : 0;

    n = n < sizeof(*out) ? n : sizeof(*out) - 1;
    memcpy(*out, file, n);
    (*out)[n] = '\0';
}

static size_t
count(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(hay, needle); p != NULL;
         p = strstr(p + strlen(needle), needle)) {
        n++;
    }
    return n;
}

static bool
has(const struct page *p, const char *needle)
{
    return p->text != NULL && strstr(p->text, needle) != NULL;
}

/* Valid UTF-8, with no byte HTML's input stream refuses: no NUL, no C0
 * control but tab, LF and CR, no DEL; and a complete document. */
static void
page_is_clean(const struct page *p, const char *what)
{
    size_t bad = p->len;

    for (size_t i = 0; i < p->len; i++) {
        unsigned char b = (unsigned char)p->text[i];
        if ((b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7f) {
            bad = i;
            break;
        }
    }
    ok(ws_utf8_is_valid((const uint8_t *)p->text, p->len),
       "%s: the page is valid UTF-8", what);
    is_int(bad, p->len, "%s: no control byte HTML refuses (first at %zu)", what,
           bad);
    ok(strncmp(p->text, "<!DOCTYPE html>\n", 16) == 0 &&
           has(p, "<meta charset=\"utf-8\">") && has(p, "<title>") &&
           p->len > 8 && strcmp(p->text + p->len - 8, "</html>\n") == 0,
       "%s: doctype, charset, title, the whole document", what);
    ok(!has(p, "<script") && !has(p, "<link") && !has(p, "<img") &&
           !has(p, "<iframe") && !has(p, " src=\"") && !has(p, "url("),
       "%s: no script, no external asset", what);
}

/* The first line of a head (up to CR LF), for finding it in the page. */
static void
first_line(const json_t *head, char *out, size_t cap)
{
    const char *s = json_string_value(head);
    size_t n = s != NULL ? strcspn(s, "\r\n") : 0;

    snprintf(out, cap, "%.*s", (int)n, s != NULL ? s : "");
}

/* The totals of a {"size": count} object, computed here. */
static void
octet_totals(json_t *stats, uint64_t *n, uint64_t *octets)
{
    const char *key;
    json_t *v;

    *n = 0;
    *octets = 0;
    json_object_foreach(stats, key, v)
    {
        *n += (uint64_t)json_integer_value(v);
        *octets += strtoull(key, NULL, 10) * (uint64_t)json_integer_value(v);
    }
}

static void
test_autobahn_case(const char *file, const char *id)
{
    json_t *c = load(file);
    char stem[40];
    char name[64];
    char want[256];
    struct page p;
    uint64_t n;
    uint64_t octets;
    const char *key;

    ok(c != NULL, "%s loads", file);
    if (c == NULL) {
        return;
    }
    file_stem(file, &stem);
    snprintf(name, sizeof(name), "case_%s.html", stem);
    p = render(report_html_case, c, name);
    is_int(p.rc, 0, "%s renders", file);
    page_is_clean(&p, file);

    snprintf(want, sizeof(want), "<title>Case %s of wsd: wsd case report", id);
    ok(has(&p, want), "%s: the title names the case and the agent", file);
    snprintf(want, sizeof(want), "<h1>Case %s</h1>", id);
    ok(has(&p, want), "%s: the heading names the case", file);
    ok(has(&p, "<tr><th>Agent</th><td>wsd</td></tr>"), "%s: the agent is shown",
       file);
    /* The testsuite is the client in fuzzingclient mode. */
    ok(has(&p, "the client's side") && !has(&p, "the server's side"),
       "%s: the side is the client's (isServer false)", file);

    first_line(json_object_get(c, "httpRequest"), want, sizeof(want));
    ok(strlen(want) > 10 && has(&p, want), "%s: request line \"%s\"", file,
       want);
    key = strstr(json_string_value(json_object_get(c, "httpRequest")),
                 "Sec-WebSocket-Key: ");
    snprintf(want, sizeof(want), "%.43s", key != NULL ? key : "(none)");
    ok(key != NULL && has(&p, want), "%s: the request's key \"%s\"", file,
       want);
    ok(has(&p, "<pre class=\"head\">\nHTTP/1.1 101 Switching Protocols\r\n"),
       "%s: the response head, in a pre", file);

    is_int(count(p.text, "<tr class=\"w "),
           json_array_size(json_object_get(c, "wirelog")),
           "%s: a wire log row per entry", file);
    ok(count(p.text, "<tr class=\"w w-other\">") == 0,
       "%s: every wire log entry is of a kind known", file);

    octet_totals(json_object_get(c, "rxOctetStats"), &n, &octets);
    snprintf(want, sizeof(want),
             "<th>Total</th><td class=\"n\">%" PRIu64
             "</td><td class=\"n\">%" PRIu64 "</td>",
             n, octets);
    ok(count(p.text, want) >= 1, "%s: octets received total %s", file, want);
    octet_totals(json_object_get(c, "txOctetStats"), &n, &octets);
    snprintf(want, sizeof(want),
             "<th>Total</th><td class=\"n\">%" PRIu64
             "</td><td class=\"n\">%" PRIu64 "</td>",
             n, octets);
    ok(count(p.text, want) >= 1, "%s: octets sent total %s", file, want);
    ok(count(p.text, "<th colspan=\"2\">Total</th>") == 2,
       "%s: both frame tables have a total", file);
    json_decref(c);
    free(p.text);
}

/* Case 6.4.3, checked against figures read off its JSON by hand. */
static void
test_case_6_4_3(void)
{
    json_t *c = load("wsd_case_6_4_3.json");
    struct page p = render(report_html_case, c, NULL);

    /* rxOctetStats {"35": 1, "148": 1}; txOctetStats {"4": 1, "6": 1,
     * "8": 1, "11": 1, "199": 1}; one close frame each way. */
    ok(has(&p, "<th>Total</th><td class=\"n\">2</td><td class=\"n\">183"
               "</td>"),
       "6.4.3: 2 reads, 183 octets received");
    ok(has(&p, "<th>Total</th><td class=\"n\">5</td><td class=\"n\">228"
               "</td>"),
       "6.4.3: 5 writes, 228 octets sent");
    ok(has(&p, "<tr><td class=\"n\">148</td><td class=\"n\">1</td>"
               "<td class=\"n\">148</td></tr>"),
       "6.4.3: the 148-octet read");
    ok(has(&p, "<tr><td class=\"n\">8</td><td>close</td><td class=\"n\">1"
               "</td></tr>"),
       "6.4.3: a close frame, named");
    ok(has(&p, "<code>remoteCloseCode</code></th><td>1007 <small>invalid "
               "payload data</small>"),
       "6.4.3: the peer's close code, named");
    ok(has(&p, "<td>text message is not valid UTF-8</td>"),
       "6.4.3: the peer's close reason");
    ok(has(&p, "<code>wasClean</code></th><td>true</td>") &&
           has(&p, "<code>wasNotCleanReason</code></th><td><span "
                   "class=\"none\">none</span>"),
       "6.4.3: clean, and no reason for not being so");
    /* The first write: "GET /ws HTTP/1.1\r\nHost: ..." in hex. */
    ok(has(&p, "47 45 54 20 2f 77 73 20 48 54 54 50 2f 31 2e 31  GET /ws "
               "HTTP/1.1\n"),
       "6.4.3: a write's head as a hex dump with its ASCII");
    ok(has(&p, "the rest was not kept"), "6.4.3: a cut head says so");
    ok(has(&p, "<code>CT</code> timer set</td><td>in 1 s, step A</td>") &&
           has(&p, "<code>CTE</code> timer due</td><td>step A is due"),
       "6.4.3: the testsuite's timer rows");
    ok(has(&p, "code 1000 <small>normal closure</small><pre class=\"hex\">"
               "\n03 e8"),
       "6.4.3: a close frame's payload, with its code");
    json_decref(c);
    free(p.text);
}

static void
test_autobahn_index(void)
{
    json_t *index = load("index.json");
    struct page p = render(report_html_index, index, "index.html");
    const char *prev = NULL;
    bool ordered = true;

    is_int(p.rc, 0, "index.json renders");
    page_is_clean(&p, "index.json");
    /* index.json lists 12.1.1 right after 1.1.1, as its keys sort. */
    for (size_t i = 0; i < NELEM(cases); i++) {
        char row[64];
        char stem[40];
        char href[80];
        const char *at;

        snprintf(row, sizeof(row), "<tr><th>%s</th>", cases[i].id);
        file_stem(cases[i].file, &stem);
        snprintf(href, sizeof(href), "<a href=\"%s.html\">", stem);
        at = strstr(p.text, row);
        ok(at != NULL && has(&p, href), "index: %s links to %s", row, href);
        ordered = ordered && at != NULL && (prev == NULL || at > prev);
        prev = at;
    }
    ok(ordered, "index: cases in the testsuite's numeric order");
    is_int(count(p.text, "<a href="), NELEM(cases), "index: one link a case");
    ok(has(&p, "<thead>\n<tr><th>Case</th><th>wsd</th></tr>"),
       "index: a column for the agent");
    ok(has(&p, "<td class=\"b-ok\"><a href=\"wsd_case_6_4_3.html\">OK</a>"
               "<small class=\"meta\">close code 1007 &middot; 1005 "
               "ms</small></td>"),
       "index: a cell's behaviour, close code and duration");
    json_decref(index);
    free(p.text);
}

/* Case ids of two agents, out of order and overlapping. */
static void
test_index_order(void)
{
    static const char *const want[] = {"1.1.1", "1.1.2",  "1.1.10", "2.1",
                                       "9.1.1", "10.1.1", "12.1.1", "12.a"};
    json_t *index = json_pack(
        "{s:{s:{}, s:{}, s:{}, s:{}}, s:{s:{}, s:{}, s:{}, s:{}, s:{}}}",
        "zeta", "1.1.10", "12.1.1", "1.1.2", "12.a", "alpha", "9.1.1", "1.1.1",
        "10.1.1", "2.1", "1.1.2");
    struct page p = render(report_html_index, index, "order_index.html");
    const char *prev = p.text;
    bool ordered = true;

    for (size_t i = 0; i < NELEM(want); i++) {
        char row[32];
        const char *at;

        snprintf(row, sizeof(row), "<tr><th>%s</th>", want[i]);
        at = strstr(p.text, row);
        ordered = ordered && at != NULL && at > prev;
        prev = at != NULL ? at : prev;
    }
    ok(ordered, "index: 1.1.2 before 1.1.10, 9.1.1 before 10.1.1 before "
                "12.1.1, digits before letters");
    /* The head's row, and one row a case. */
    is_int(count(p.text, "<tr><th>"), 1 + NELEM(want),
           "index: a case two agents share is one row");
    ok(has(&p, "<tr><th>Case</th><th>alpha</th><th>zeta</th></tr>"),
       "index: agents by name");
    /* 1.1.1 is alpha's alone; its summary is empty. */
    ok(has(&p,
           "<tr><th>1.1.1</th><td><span class=\"absent\">\xe2\x80\x94"
           "</span><small class=\"meta\">close code <span class=\"absent\">"),
       "index: an empty summary shows as absent values, unlinked");
    ok(has(&p, "<tr><th>12.a</th><td><span class=\"absent\">\xe2\x80\x94"
               "</span></td><td>"),
       "index: a case an agent lacks is an absent cell");
    page_is_clean(&p, "ordered index");
    json_decref(index);
    free(p.text);
}

/* Strings a peer or a file could carry into the page. */
#define SCRIPT   "<script>alert(1)</script>"
#define BREAKOUT "\"><img src=x onerror=alert(2)>"

static void
test_hostile_case(void)
{
    /* NUL, ESC, DEL, a lone CR, invalid UTF-8 (a stray continuation
     * byte, an overlong '/', a cut sequence), a C1 control and a
     * noncharacter, each valid JSON only when built in C. */
    static const char raw[] = "a\0b\x1b\x7f\rc\x80\xc0\xaf\xe2\x82"
                              "d\xc2\x85\xef\xbf\xbe" SCRIPT;
    json_t *c = json_pack(
        "{s:s, s:s, s:s, s:s, s:b, s:s, s:o, s:s, s:s, s:s, s:s, s:s, "
        "s:{s:i}, s:[[s, [i, s]], [s, [i, s]], [s, [i, s], i, b, i, b, s], "
        "[s, [i, s], i, b, i, s, n, n, b], [s, s], [s, s], [s, s], [s, s], "
        "[s, s, s]]}",
        "agent", SCRIPT, "id", BREAKOUT, "case", "</title><script>", "started",
        "'><svg onload=x>", "isServer", 1, "httpRequest",
        "GET /" SCRIPT " HTTP/1.1\r\nUser-Agent: " BREAKOUT "\r\n\r\n",
        "httpResponse", json_stringn_nocheck(raw, sizeof(raw) - 1),
        "remoteCloseReason", "</pre></td>" SCRIPT, "localCloseReason",
        "&amp; stays &amp;amp;", "wasNotCleanReason", "javascript:alert(3)",
        "description", "<br><b>bold</b>", "behavior", BREAKOUT, "rxOctetStats",
        "<b>4</b>", 1, "wirelog", "RO", 8, "3c736372697074", "TO", 8,
        "<script> ...", "RF", 3, SCRIPT, 1, 1, 0, 1, BREAKOUT, "TF", 3,
        "0x" SCRIPT, 1, 1, 0, BREAKOUT, 0, "TMO", SCRIPT, "DROP", BREAKOUT,
        "CTE", SCRIPT, SCRIPT, BREAKOUT, "GAP", SCRIPT, BREAKOUT);
    struct page p;
    char hex[80];

    ok(c != NULL, "hostile case built");
    p = render(report_html_case, c, "hostile_case.html");
    is_int(p.rc, 0, "hostile case renders");
    page_is_clean(&p, "hostile case");
    ok(!has(&p, "<img") && !has(&p, "<svg") && !has(&p, "<b>") &&
           !has(&p, "</title><") && !has(&p, "<br><b>"),
       "hostile case: no markup from the input");
    ok(count(p.text, "&lt;script&gt;alert(1)&lt;/script&gt;") >= 8,
       "hostile case: each script shown as text");
    ok(has(&p, "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;") &&
           has(&p, "&#39;&gt;&lt;svg onload=x&gt;"),
       "hostile case: quotes escaped");
    ok(has(&p, "&amp;amp; stays &amp;amp;amp;"),
       "hostile case: an entity in the input stays text");
    ok(has(&p, "<pre class=\"head\">\na\xe2\x90\x80"
               "b\xe2\x90\x9b"
               "\xe2\x90\xa1\xe2\x90\x8d"
               "c\xef\xbf\xbd\xef\xbf\xbd"
               "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
               "d\xef\xbf\xbd"
               "\xef\xbf\xbd&lt;script&gt;"),
       "hostile case: NUL, ESC, DEL, lone CR as pictures; bad UTF-8, C1 "
       "and noncharacter as U+FFFD");
    ok(has(&p, "the server's side"), "hostile case: isServer true");
    /* Seven bytes: their hex padded to the width of sixteen. */
    snprintf(hex, sizeof(hex), "%-49s&lt;script\n", "3c 73 63 72 69 70 74");
    ok(has(&p, hex),
       "hostile case: bytes of the head in hex, their ASCII escaped");
    is_int(count(p.text, "<tr class=\"w "), 9,
           "hostile case: a wire log row per entry, unknown kind included");
    ok(has(&p, "<tr class=\"w w-other\"><td class=\"n\">7</td><td><code>"
               "&lt;script&gt;alert(1)&lt;/script&gt;</code></td><td><code>"
               "&quot;\\&quot;&gt;&lt;img"),
       "hostile case: an unknown kind as its JSON, escaped");
    json_decref(c);
    free(p.text);
}

static void
test_hostile_index(void)
{
    static const char *const refused[] = {
        "javascript:alert(1).json",
        "JavaScript:alert(1)//.json",
        "../../etc/passwd.json",
        "/etc/x.json",
        "http://evil.example/x.json",
        ".hidden.json",
        "a b.json",
        "x\".json",
        "x'.json",
        "x<y.json",
        "x&y.json",
        "report.html",
        ".json",
        "x.json?y",
    };
    json_t *agent = json_object();
    json_t *index = json_pack("{s:o}", SCRIPT, agent);
    char id[32];
    struct page p;

    for (size_t i = 0; i < NELEM(refused); i++) {
        snprintf(id, sizeof(id), "1.%zu", i + 1);
        json_object_set_new(agent, id,
                            json_pack("{s:s, s:s, s:i}", "reportfile",
                                      refused[i], "behaviorClose", BREAKOUT,
                                      "duration", 1));
    }
    json_object_set_new(agent, BREAKOUT,
                        json_pack("{s:s, s:s}", "reportfile",
                                  "wsd_case-9.1.json", "behaviorClose", "OK"));
    json_object_set_new(
        agent, "2.1",
        json_pack("{s:o}", "reportfile", json_stringn_nocheck("a\0b.json", 8)));
    json_object_set_new(agent, "2.2", json_string("not an object"));
    /* Keys jansson takes unchecked: not UTF-8, with a control byte. */
    json_object_set_new_nocheck(agent, "3.\xff\x01", json_object());
    json_object_set_new_nocheck(index,
                                "\xc0\xaf"
                                "agent",
                                json_object());
    p = render(report_html_index, index, "hostile_index.html");
    is_int(p.rc, 0, "hostile index renders");
    page_is_clean(&p, "hostile index");
    is_int(count(p.text, "href="), 1, "hostile index: one link only");
    ok(has(&p, "<a href=\"wsd_case-9.1.html\">OK</a>"),
       "hostile index: the plain file name links, .json made .html");
    ok(!has(&p, "<img") && !has(&p, "javascript:alert(1).html"),
       "hostile index: no markup, no script link");
    ok(has(&p, "<th>&lt;script&gt;alert(1)&lt;/script&gt;</th>") &&
           has(&p, "<tr><th>&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"),
       "hostile index: agent and case id escaped");
    ok(has(&p, "<tr><th>3.\xef\xbf\xbd\xe2\x90\x81</th>") &&
           has(&p, "<th>\xef\xbf\xbd\xef\xbf\xbd"
                   "agent</th>"),
       "hostile index: keys that are not UTF-8 made so, visibly");
    json_decref(index);
    free(p.text);
}

/* Every key of the format, with a type it does not have. */
static void
test_ill_typed(void)
{
    json_t *c = json_object();
    json_t *not_objects[] = {json_array(), json_string("x"), json_integer(1),
                             json_null()};
    struct page p;

    json_object_set_new(c, "agent", json_integer(5));
    json_object_set_new(c, "id", json_array());
    json_object_set_new(c, "case", json_object());
    json_object_set_new(c, "started", json_true());
    json_object_set_new(c, "duration", json_string("long"));
    json_object_set_new(c, "isServer", json_string("yes"));
    json_object_set_new(c, "httpRequest", json_integer(7));
    json_object_set_new(c, "httpResponse", json_null());
    json_object_set_new(c, "closedByMe", json_string("true"));
    json_object_set_new(c, "failedByMe", json_integer(0));
    json_object_set_new(c, "wasNotCleanReason", json_array());
    json_object_set_new(c, "localCloseCode", json_string("1000"));
    json_object_set_new(c, "remoteCloseCode", json_integer(-1));
    json_object_set_new(c, "remoteCloseReason", json_integer(3));
    json_object_set_new(c, "wasClean", json_object());
    json_object_set_new(c, "wasOpenHandshakeTimeout", json_integer(1));
    /* A count of no number, a key of no number, a product over 64 bits, a
     * negative count, a key of more digits than 64 bits hold. */
    json_object_set_new(
        c, "rxOctetStats",
        json_pack("{s:s, s:i, s:I, s:I, s:s}", "x", "y", "-1", -5,
                  "4611686018427387904", (json_int_t)4611686018427387904LL, "5",
                  (json_int_t)-7, "123456789012345678901", "z"));
    json_object_set_new(c, "rxOctetOverflow",
                        json_pack("{s:i, s:s}", "count", 1, "octets", "x"));
    json_object_set_new(c, "txOctetStats", json_string("none"));
    json_object_set_new(c, "rxFrameStats",
                        json_pack("{s:i, s:n, s:i}", "99", 1, "a", "1", 1));
    json_object_set_new(
        c, "wirelog",
        json_pack("[[], i, [s], [s, i, s, n], [s, s], [s, [s, i]], [n], "
                  "[s, s], [s, i], [s, {}], [s], [s]]",
                  5, "RF", "TF", 5, "x", "RO", "notapair", "RO", "x", 1, "GAP",
                  "many", "WLM", 3, "KL", "TMO", "DROP"));
    p = render(report_html_case, c, "ill_typed.html");
    is_int(p.rc, 0, "ill-typed case renders");
    page_is_clean(&p, "ill-typed case");
    ok(has(&p, "<tr><th>Agent</th><td><span class=\"absent\">") &&
           has(&p, "<tr><th>Duration</th><td><span class=\"absent\">") &&
           has(&p, "<tr><th>Written from</th><td><span class=\"absent\">"),
       "ill-typed case: heading values absent");
    ok(has(&p, "<code>closedByMe</code></th><td><span class=\"absent\">") &&
           has(&p, "<code>localCloseCode</code></th><td><span "
                   "class=\"absent\">") &&
           has(&p, "<code>wasOpenHandshakeTimeout</code></th><td><span "
                   "class=\"absent\">"),
       "ill-typed case: closing values of the wrong type absent");
    ok(has(&p, "<code>remoteCloseCode</code></th><td>-1</td>"),
       "ill-typed case: an integer is shown as it is");
    ok(has(&p, "<h3>Request</h3>\n<p><span class=\"absent\">"),
       "ill-typed case: a request that is no string is absent");
    ok(has(&p, "<tfoot>\n<tr><th>Total</th><td class=\"n\"><span "
               "class=\"absent\">\xe2\x80\x94</span></td><td class=\"n\">"
               "<span class=\"absent\">"),
       "ill-typed case: totals over unknown counts are absent");
    ok(has(&p, "<tr><td class=\"n\">4611686018427387904</td><td "
               "class=\"n\">4611686018427387904</td><td class=\"n\"><span "
               "class=\"absent\">"),
       "ill-typed case: an overflowing product is absent");
    is_int(count(p.text, "<tr class=\"w "), 12,
           "ill-typed case: a wire log row per entry, whatever it is");
    json_decref(c);
    free(p.text);

    for (size_t i = 0; i < NELEM(not_objects); i++) {
        struct evbuffer *out = evbuffer_new();
        errno = 0;
        is_int(report_html_case(not_objects[i], out), -1,
               "a case that is not an object is refused (%zu)", i);
        is_int(errno, EINVAL, "with EINVAL");
        is_int(report_html_index(not_objects[i], out), -1,
               "an index that is not an object is refused (%zu)", i);
        is_int(evbuffer_get_length(out), 0, "and nothing is written");
        evbuffer_free(out);
        json_decref(not_objects[i]);
    }
    {
        struct evbuffer *out = evbuffer_new();
        is_int(report_html_case(NULL, out), -1, "no case at all is refused");
        evbuffer_free(out);
    }
}

/* wsd's marks on a frame received (discarded, incomplete) are shown, a
 * mark the input made up as text. */
static void
test_frame_marks(void)
{
    json_t *c = json_pack(
        "{s:[[s, [i, s], i, b, i, b, s, [s, s]], [s, [i, s], i, b, i, b, n, "
        "[s]], [s, [i, s], i, b, i, b, n]]}",
        "wirelog", "RF", 5, " ...", 1, 1, 0, 1, "01020304", "discarded",
        "incomplete", "RF", 3, "abc", 2, 1, 0, 0, SCRIPT, "RF", 2, "ok", 1, 1,
        0, 0);
    struct page p = render(report_html_case, c, "marks_case.html");

    is_int(p.rc, 0, "marks: the case renders");
    page_is_clean(&p, "marks");
    ok(has(&p, "masked, key 01020304<br><strong>discarded</strong><br>"
               "<strong>incomplete</strong></td>"),
       "marks: discarded and incomplete shown after the mask");
    ok(has(&p, "not masked<br><strong>&lt;script&gt;alert(1)&lt;/script&gt;"
               "</strong></td>"),
       "marks: a made-up mark as text");
    is_int(count(p.text, "<strong>"), 3, "marks: none on the frame without");
    json_decref(c);
    free(p.text);
}

/* The least a page can be made of: an empty object. */
static void
test_empty(void)
{
    json_t *empty = json_object();
    struct page p = render(report_html_case, empty, "empty_case.html");
    struct page q = render(report_html_index, empty, "empty_index.html");

    is_int(p.rc, 0, "an empty case renders");
    page_is_clean(&p, "empty case");
    ok(has(&p, "<h2>Wire log</h2>\n<p><span class=\"absent\">") &&
           !has(&p, "The case as the report states it"),
       "empty case: no log, no statements");
    is_int(q.rc, 0, "an empty index renders");
    page_is_clean(&q, "empty index");
    ok(has(&q, "<p>No cases.</p>"), "empty index: says so");
    json_decref(empty);
    free(p.text);
    free(q.text);
}

/* The pages of a comparison (wsd compare --html), from a document of its
 * shape with hostile strings and links, and from one of another shape. */
static void
test_compare_pages(void)
{
    json_error_t err;
    json_t *doc = json_loads(
        "{\"report\": \"r<b>\", \"sources\": [\"http://x/<i>\"],"
        " \"summary\": {\"cases\": 2, \"identical\": 1, \"differ\": 1,"
        "  \"unpaired\": 0, \"wsdUnpaired\": 1, \"comparedByCounts\": 0,"
        "  \"withNotes\": 1, \"segmentedOtherwise\": 1},"
        " \"cases\": ["
        "  {\"agent\": \"<script>x</script>\", \"id\": \"1.1.1\","
        "   \"key\": \"k\\\"\", \"reportfile\": \"a.json\","
        "   \"paired\": true, \"page\": \"compare_a_case_1_1_1.html\","
        "   \"wsd\": {\"source\": \"<u>s</u>\", \"case\": 7},"
        "   \"comparison\": {\"identical\": false,"
        "    \"verdict\": \"client->server: <img src=x> \\u0000\","
        "    \"notes\": [\"a <note>\"],"
        "    \"clientToServer\": {\"differences\": [{\"kind\": \"<k>\","
        "      \"text\": \"t&<\"}], \"notes\": [], \"frames\": \"counts\","
        "     \"framesByOpcode\": {\"sent\": {\"1\": 2}, \"received\": {}},"
        "     \"messagePayloadOctets\": null, \"octets\": {\"sent\": 5,"
        "      \"writes\": 1, \"received\": null, \"reads\": 2,"
        "      \"sameSegmentation\": false}},"
        "    \"serverToClient\": 3, \"closing\": {\"differences\": [],"
        "     \"notes\": []}}},"
        "  {\"agent\": \"a\", \"id\": \"2\", \"paired\": false,"
        "   \"page\": \"javascript:alert(1).html\"},"
        "  {\"agent\": \"a\", \"id\": \"3\", \"paired\": false,"
        "   \"key\": \"k3\", \"unpairedBecause\": \"its key <k3> is that "
        "of the report's case a 4\"},"
        "  {\"agent\": \"a\", \"id\": \"5\", \"paired\": false,"
        "   \"key\": \"k5\"}],"
        " \"wsdUnpaired\": [{\"source\": \"d\", \"case\": 9, \"key\": "
        "\"<k>\"}],"
        " \"wsdWithoutKey\": []}",
        JSON_ALLOW_NUL, &err);
    ok(doc != NULL, "the comparison document parses (%s)", err.text);
    struct page p = render(report_html_compare, doc, "compare_index.html");
    is_int(p.rc, 0, "the comparison index renders");
    page_is_clean(&p, "comparison index");
    ok(!has(&p, "<script>") && !has(&p, "<img") && !has(&p, "<i>") &&
           !has(&p, "<u>") && has(&p, "&lt;script&gt;x&lt;/script&gt;") &&
           has(&p, "client-&gt;server: &lt;img src=x&gt; \xe2\x90\x80"),
       "comparison index: every string escaped, a NUL shown");
    is_int(count(p.text, "<a href="), 1,
           "comparison index: a link to the plain page name only");
    ok(has(&p, "<a href=\"compare_a_case_1_1_1.html\">"),
       "comparison index: the case links to its page");
    ok(has(&p, "<td class=\"b-ns\">unpaired") && has(&p, "&lt;k&gt;"),
       "comparison index: the unpaired case, and wsd's unpaired record");
    is_int(count(p.text, "unpaired: no record of wsd has its "
                         "Sec-WebSocket-Key"),
           1, "comparison index: only the case with a key no record has");
    ok(has(&p, "<td class=\"b-ns\">unpaired: its request has no "
               "Sec-WebSocket-Key</td>"),
       "comparison index: a case without a key says so");
    ok(has(&p, "<td class=\"b-ns\">unpaired: its key &lt;k3&gt; is that of "
               "the report&#39;s case a 4</td>"),
       "comparison index: a case whose key others took says why, escaped");
    free(p.text);

    p = render(report_html_compare_case,
               json_array_get(json_object_get(doc, "cases"), 0),
               "compare_case.html");
    is_int(p.rc, 0, "a comparison's case page renders");
    page_is_clean(&p, "comparison case");
    ok(!has(&p, "<script>") && !has(&p, "<k>") && has(&p, "t&amp;&lt;") &&
           has(&p, "<code>&lt;k&gt;</code>"),
       "comparison case: differences escaped, their kind shown");
    ok(has(&p, "by their counts per opcode only") &&
           has(&p, "<tr><td class=\"n\">1</td><td>text</td><td "
                   "class=\"n\">2</td><td class=\"n\">0</td></tr>"),
       "comparison case: how frames were compared, counts side by side");
    ok(has(&p, "TCP's doing, not a difference"),
       "comparison case: another segmentation is said to be no difference");
    free(p.text);

    /* The links wsd compare gives a case's page, and some it never would
     * (a scheme, markup), which are not linked. */
    json_t *c0 = json_array_get(json_object_get(doc, "cases"), 0);
    json_object_set_new(c0, "links",
                        json_pack("{s:s, s:s, s:s, s:s, s:s}", "index",
                                  "index.html", "clientJson",
                                  "../ab/a%20b.json", "clientPage",
                                  "javascript:alert(1)", "wsdJson",
                                  "http://127.0.0.1:8890/v1/cases/7/autobahn",
                                  "wsdPage", "x\"><script>"));
    p = render(report_html_compare_case, c0, "compare_case_links.html");
    page_is_clean(&p, "comparison case with links");
    ok(has(&p, "<nav><a href=\"index.html\">All cases compared</a></nav>"),
       "comparison case: a link back to the index");
    ok(has(&p, "(<a href=\"../ab/a%20b.json\">JSON</a>)") &&
           has(&p, "(<a href=\"http://127.0.0.1:8890/v1/cases/7/autobahn\">"
                   "JSON</a>)"),
       "comparison case: links to the client's report and wsd's record");
    ok(!has(&p, "javascript:") && !has(&p, "<script>"),
       "comparison case: an href of another shape is not linked");
    json_object_del(c0, "links");
    free(p.text);

    json_t *not_object = json_array();
    p = render(report_html_compare_case, not_object, NULL);
    is_int(p.rc, -1, "a case that is not an object is refused");
    free(p.text);
    p = render(report_html_compare, not_object, NULL);
    is_int(p.rc, -1, "a document that is not an object is refused");
    free(p.text);
    json_decref(not_object);
    json_decref(doc);
}

int
main(void)
{
    for (size_t i = 0; i < NELEM(cases); i++) {
        test_autobahn_case(cases[i].file, cases[i].id);
    }
    test_case_6_4_3();
    test_autobahn_index();
    test_index_order();
    test_hostile_case();
    test_hostile_index();
    test_ill_typed();
    test_frame_marks();
    test_empty();
    test_compare_pages();
    return tap_done();
}
