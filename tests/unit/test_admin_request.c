/* SPDX-License-Identifier: MIT */
/*
 * admin_request_parse and admin_bearer: every route, every argument rule
 * and every refusal with its status and sentence.
 */
#include "autoconf.h"

#include "admin_request.h"

#include <string.h>

#include "tap.h"

static void
test_routes(void)
{
    struct admin_request r;
    const char *msg = NULL;

    is_int(admin_request_parse("/v1/stats", NULL, &r, &msg), 0, "/v1/stats");
    is_int(r.route, ADMIN_ROUTE_STATS, "/v1/stats route");
    is_int(admin_request_parse("/metrics", "", &r, &msg), 0, "/metrics");
    is_int(r.route, ADMIN_ROUTE_METRICS, "/metrics route");
    is_int(admin_request_parse("/v1/events", NULL, &r, &msg), 0, "/v1/events");
    is_int(r.route, ADMIN_ROUTE_EVENTS, "/v1/events route");
    is_int(admin_request_parse("/", NULL, &r, &msg), 0, "/");
    is_int(r.route, ADMIN_ROUTE_CONSOLE, "/ is the console");
    is_str(r.asset, "index.html", "/ is its page");
    is_int(admin_request_parse("/console/console.js", NULL, &r, &msg), 0,
           "/console/console.js");
    is_int(r.route, ADMIN_ROUTE_CONSOLE, "a console file");
    is_str(r.asset, "console.js", "its name");
    is_int(admin_request_parse("/console/no-such_file.1", NULL, &r, &msg), 0,
           "a name of the right form: whether it exists is admin.c's to say");
    is_int(admin_request_parse("/v1/events", "token=x", &r, &msg), 400,
           "/v1/events takes no query (a token never goes in a URL)");
    is_int(admin_request_parse("/v1/cases/42", NULL, &r, &msg), 0, "a case");
    is_int(r.route, ADMIN_ROUTE_CASE, "case route");
    ok(r.id == 42, "case id 42");
    is_int(admin_request_parse("/v1/cases/42/autobahn", NULL, &r, &msg), 0,
           "a case as Autobahn's report");
    is_int(r.route, ADMIN_ROUTE_CASE_AUTOBAHN, "case autobahn route");
    ok(r.id == 42, "case autobahn id 42");
    is_int(admin_request_parse("/v1/cases/9/report", NULL, &r, &msg), 0,
           "a case as an HTML page");
    is_int(r.route, ADMIN_ROUTE_CASE_REPORT, "case report route");
    ok(r.id == 9, "case report id 9");
    is_int(admin_request_parse("/v1/cases/7/autobahn", "&", &r, &msg), 0,
           "an empty query is no parameter");
    is_int(admin_request_parse("/v1/cases", NULL, &r, &msg), 0, "cases");
    is_int(r.route, ADMIN_ROUTE_CASES, "cases route");
    ok(r.after == 0 && r.before == 0 && r.limit == ADMIN_CASES_DEFAULT,
       "cases: after 0, no before, default limit");
    is_int(
        admin_request_parse("/v1/cases", "before=90&limit=5&after=3", &r, &msg),
        0, "before, limit and after");
    ok(r.before == 90 && r.after == 3 && r.limit == 5,
       "before 90, after 3, limit 5");
    is_int(admin_request_parse("/v1/cases", "", &r, &msg), 0, "empty query");
    is_int(admin_request_parse("/v1/cases", "after=7&limit=3", &r, &msg), 0,
           "after and limit");
    ok(r.after == 7 && r.limit == 3, "after 7, limit 3");
    is_int(admin_request_parse("/v1/cases", "limit=1000&after=0", &r, &msg), 0,
           "limit 1000, after 0");
    ok(r.after == 0 && r.limit == 1000, "the largest limit");
    is_int(admin_request_parse("/v1/cases", "after=%35&lim%69t=2", &r, &msg), 0,
           "escapes decoded");
    ok(r.after == 5 && r.limit == 2, "escaped after 5, limit 2");
    is_int(admin_request_parse("/v1/cases", "after=1&&limit=2&", &r, &msg), 0,
           "empty pairs are nothing");
    ok(r.after == 1 && r.limit == 2, "after 1, limit 2");
    is_int(admin_request_parse("/v1/cases", "after=00&limit=2", &r, &msg), 0,
           "after 0 written 00");
    ok(r.after == 0, "after 00 is 0");
    is_int(admin_request_parse("/v1/stats", "&", &r, &msg), 0,
           "/v1/stats with an empty query");
    is_int(admin_request_parse("/v1/cases", "key=dGhlIHNhbXBsZSBub25jZQ%3D%3D",
                               &r, &msg),
           0, "a key");
    is_str(r.key, "dGhlIHNhbXBsZSBub25jZQ==", "the key, unescaped");
    is_int(admin_request_parse("/v1/cases", "key=a+b/c%2Bd", &r, &msg), 0,
           "a key with a '+' left unescaped");
    is_str(r.key, "a+b/c+d", "a space taken back for '+'");
    is_int(admin_request_parse("/v1/cases", "limit=5", &r, &msg), 0, "no key");
    is_str(r.key, "", "no key: any case");
}

/* The 404 for a path, quoted as ws_handshake_quote_path quotes it. */
#define NOT_FOUND(quoted)                                                      \
    "no such resource: " quoted "; try / (the console), /v1/stats, "           \
    "/v1/events, /v1/cases, /v1/cases/ID, /v1/cases/ID/autobahn, "             \
    "/v1/cases/ID/report or /metrics"

static void
test_refusals(void)
{
    static const struct {
        const char *path, *query;
        int status;
        const char *message;
    } cases[] = {
        {NULL, NULL, 400, "malformed request target"},
        {"/console/", NULL, 404, NOT_FOUND("/console/")},
        {"/console/.hidden", NULL, 404, NOT_FOUND("/console/.hidden")},
        {"/console/../v1/stats", NULL, 404, NOT_FOUND("/console/../v1/stats")},
        {"/console/a/b.js", NULL, 404, NOT_FOUND("/console/a/b.js")},
        {"/console/a%2fb", NULL, 404, NOT_FOUND("/console/a%2fb")},
        {"/console/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.js", NULL, 404,
         NOT_FOUND("/console/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.js")},
        {"/console/console.js", "token=x", 400,
         "unknown query parameter: this resource takes none"},
        {"/v1/stats/", NULL, 404, NOT_FOUND("/v1/stats/")},
        {"", NULL, 404, NOT_FOUND("(an empty path)")},
        {"/v1/cases/1/autobahnx", NULL, 404,
         NOT_FOUND("/v1/cases/1/autobahnx")},
        {"/v1/cases/1/autobahn/", NULL, 404,
         NOT_FOUND("/v1/cases/1/autobahn/")},
        {"/v1/cases/1/", NULL, 404, NOT_FOUND("/v1/cases/1/")},
        {"/v1/cases/1/Autobahn", NULL, 404, NOT_FOUND("/v1/cases/1/Autobahn")},
        {"/v1/cases/x/html", NULL, 404, NOT_FOUND("/v1/cases/x/html")},
        {"/v1/cases/x/report", NULL, 400, "a case id is a whole number from 1"},
        {"/v1/cases/1/autobahn\x01\x7f\xff x", NULL, 404,
         NOT_FOUND("/v1/cases/1/autobahn%01%7F%FF%20x")},
        {"/v1/cases/1/autobahnxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxx",
         NULL, 404,
         NOT_FOUND("/v1/cases/1/autobahnxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                   "xxxxxxx...")},
        {"/v1/cases/1/reports", NULL, 404, NOT_FOUND("/v1/cases/1/reports")},
        {"/v1/cases/1/report/x", NULL, 404, NOT_FOUND("/v1/cases/1/report/x")},
        {"/v1/cases/0/report", NULL, 400, "a case id is a whole number from 1"},
        {"/v1/cases//autobahn", NULL, 400,
         "a case id is a whole number from 1"},
        {"/v1/cases/0/autobahn", NULL, 400,
         "a case id is a whole number from 1"},
        {"/v1/cases/1x/autobahn", NULL, 400,
         "a case id is a whole number from 1"},
        {"/v1/cases/3/autobahn", "after=1", 400,
         "unknown query parameter: this resource takes none"},
        {"/v1/cases/3/autobahn", "agent=x&case=1", 400,
         "unknown query parameter: this resource takes none"},
        {"/v1/cases/", NULL, 400, "a case id is a whole number from 1"},
        {"/v1/cases/0", NULL, 400, "a case id is a whole number from 1"},
        {"/v1/cases/-1", NULL, 400, "a case id is a whole number from 1"},
        {"/v1/cases/1x", NULL, 400, "a case id is a whole number from 1"},
        {"/v1/cases/99999999999999999999", NULL, 400,
         "a case id is a whole number from 1"},
        {"/v1/cases/9223372036854775808", NULL, 400,
         "a case id is a whole number from 1"},
        {"/v1/cases", "after=x", 400,
         "after must be a case id (a whole number)"},
        {"/v1/cases", "after=", 400,
         "after must be a case id (a whole number)"},
        {"/v1/cases", "after", 400, "after must be a case id (a whole number)"},
        {"/v1/cases", "after=%3", 400,
         "after must be a case id (a whole number)"},
        {"/v1/cases", "before=0", 400,
         "before must be a case id above 0 (a whole number)"},
        {"/v1/cases", "before=", 400,
         "before must be a case id above 0 (a whole number)"},
        {"/v1/cases", "before=1e3", 400,
         "before must be a case id above 0 (a whole number)"},
        {"/v1/cases", "limit=0", 400, "limit must be 1 to 1000"},
        {"/v1/cases", "after=1&after=x", 400, "after is given twice"},
        {"/v1/cases", "after=1&after=1", 400, "after is given twice"},
        {"/v1/cases", "before=5&before=6", 400, "before is given twice"},
        {"/v1/cases", "limit=5&limit=abc", 400, "limit is given twice"},
        {"/v1/cases", "key=AAAA&key=%zz", 400, "key is given twice"},
        {"/v1/cases", "limit=1001", 400, "limit must be 1 to 1000"},
        {"/v1/cases", "limit=1+", 400, "limit must be 1 to 1000"},
        {"/v1/cases", "limit=99999999999999999999999", 400,
         "limit must be 1 to 1000"},
        {"/v1/cases", "foo=1", 400,
         "unknown query parameter: /v1/cases takes after, before, limit and "
         "key"},
        {"/v1/cases", "limit=9&averyveryverylongkey=1", 400,
         "unknown query parameter: /v1/cases takes after, before, limit and "
         "key"},
        {"/v1/cases", "other=%zz", 400,
         "unknown query parameter: /v1/cases takes after, before, limit and "
         "key"},
        {"/v1/cases", "=", 400,
         "unknown query parameter: /v1/cases takes after, before, limit and "
         "key"},
        {"/v1/cases", "afterx=1", 400,
         "unknown query parameter: /v1/cases takes after, before, limit and "
         "key"},
        {"/v1/cases", "key=", 400,
         "key must be a Sec-WebSocket-Key (base64, '+' written %2B)"},
        {"/v1/cases", "key=a%22b", 400,
         "key must be a Sec-WebSocket-Key (base64, '+' written %2B)"},
        {"/v1/cases", "key=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 400,
         "key must be a Sec-WebSocket-Key (base64, '+' written %2B)"},
        {"/v1/stats", "foo=1", 400,
         "unknown query parameter: this resource takes none"},
        {"/metrics", "x", 400,
         "unknown query parameter: this resource takes none"},
        {"/v1/cases/3", "after=1", 400,
         "unknown query parameter: this resource takes none"},
    };
    struct admin_request r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *msg = NULL;
        is_int(admin_request_parse(cases[i].path, cases[i].query, &r, &msg),
               cases[i].status, "%s?%s: %d",
               cases[i].path ? cases[i].path : "(null)",
               cases[i].query ? cases[i].query : "", cases[i].status);
        is_str(msg != NULL ? msg : "(none)", cases[i].message, "%s?%s: message",
               cases[i].path ? cases[i].path : "(null)",
               cases[i].query ? cases[i].query : "");
    }
}

static void
test_bearer(void)
{
    size_t len = 0;
    const char *t;

    t = admin_bearer("Bearer abc", &len);
    ok(t != NULL && len == 3 && memcmp(t, "abc", 3) == 0, "Bearer abc");
    t = admin_bearer("bearer   x y", &len);
    ok(t != NULL && len == 3 && memcmp(t, "x y", 3) == 0,
       "scheme case-insensitive, spaces after it skipped");
    ok(admin_bearer(NULL, &len) == NULL, "no header");
    ok(admin_bearer("Basic abc", &len) == NULL, "another scheme");
    ok(admin_bearer("Bearer", &len) == NULL, "no token");
    ok(admin_bearer("Bearer   ", &len) == NULL, "only spaces");
    ok(admin_bearer("Bearerabc", &len) == NULL, "no space after the scheme");
}

static void
test_host(void)
{
    static const char *const loopback[] = {
        "127.0.0.1",
        "127.0.0.1:8890",
        "127.1.2.3:1",
        "localhost",
        "LocalHost:8890",
        "localhost.:8890",
        "console.localhost:8890",
        "[::1]",
        "[::1]:8890",
        "[0:0:0:0:0:0:0:1]:80",
        "[::ffff:127.0.0.1]:8890",
    };
    static const char *const others[] = {
        "",
        ":8890",
        "attacker.example",
        "attacker.example:8890",
        "localhost.attacker.example",
        "127.0.0.1.attacker.example",
        "notlocalhost:8890",
        "128.0.0.1",
        "0.0.0.0:8890",
        "127.0.0.1:8890:1",
        "127.0.0.1:port",
        "127.1",
        "0x7f000001",
        "::1",
        "[::1",
        "[::2]:8890",
        "[::1]x",
        "[127.0.0.1]",
        "[::ffff:10.0.0.1]",
        "localhost:",
        "local host",
    };

    for (size_t i = 0; i < sizeof(loopback) / sizeof(*loopback); i++) {
        ok(admin_host_is_loopback(loopback[i]), "Host %s is loopback",
           loopback[i]);
    }
    for (size_t i = 0; i < sizeof(others) / sizeof(*others); i++) {
        ok(!admin_host_is_loopback(others[i]), "Host \"%s\" is not", others[i]);
    }
    ok(!admin_host_is_loopback(NULL), "no Host is not");
}

int
main(void)
{
    test_routes();
    test_refusals();
    test_bearer();
    test_host();
    return tap_done();
}
