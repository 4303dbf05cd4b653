/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for report_autobahn: hand-built records as the Autobahn
 * testsuite's per-case object (every key, its JSON type and, where wsd
 * sets it, its value; close codes null or numbers; the statistics; heads
 * that are not UTF-8 or hold NUL and control bytes, still valid JSON; the
 * wire log in the testsuite's row kinds alone), and a cross-check against
 * the reports the testsuite itself wrote about wsd
 * (tests/data/autobahn/): the same key set, the same JSON type per key,
 * the same row shapes.
 */
#include "autoconf.h"

#include "report_autobahn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tap_json.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* 2023-11-14T22:13:20.123Z */
#define T0_MS 1700000000123ULL

#define SET(field, text) stats_copy(field, sizeof(field), text, strlen(text))

/* A record with room for a request head and 16 wire entries after it. */
struct case_with_room {
    struct stats_case c;
    uint8_t request[256]; /* cppcheck-suppress unusedStructMember */
    struct stats_wire wire[16];
};

/* A JSON type as a bit, true and false as one (a boolean). */
static unsigned
type_bit(const json_t *v)
{
    json_type t = json_typeof(v);
    return 1u << (t == JSON_FALSE ? JSON_TRUE : t);
}

#define T_OBJECT  (1u << JSON_OBJECT)
#define T_ARRAY   (1u << JSON_ARRAY)
#define T_STRING  (1u << JSON_STRING)
#define T_INTEGER (1u << JSON_INTEGER)
#define T_BOOL    (1u << JSON_TRUE)
#define T_NULL    (1u << JSON_NULL)

/* The whole document survives a round trip through its text. */
static void
is_valid_json(const json_t *o, const char *what)
{
    char *text = json_dumps(o, JSON_COMPACT);
    json_error_t err;
    json_t *back = text != NULL ? json_loads(text, JSON_ALLOW_NUL, &err) : NULL;

    ok(back != NULL && json_equal(back, o), "%s: valid JSON, read back equal",
       what);
    json_decref(back);
    free(text);
}

static const char request_text[] =
    "GET /ws?case=3.1&agent=raw HTTP/1.1\r\nHost: h\r\n\r\n";
static const char response_text[] =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";

/* A WebSocket that echoed a message and closed cleanly: every wire kind
 * wsd logs, and a timeout. */
static void
fill_clean(struct case_with_room *r)
{
    struct stats_case *c = &r->c;
    struct stats_wire *w = r->wire;

    memset(r, 0, sizeof(*r));
    c->id = 17;
    c->state = STATS_CASE_CLOSED;
    c->http_status = 101;
    c->started_ms = T0_MS;
    c->ended_ms = T0_MS + 456;
    SET(c->query_case, "3.1");
    SET(c->query_agent, "raw");
    SET(c->user_agent, "tester/1.0");
    stats_octets_add(&c->rx_octets, 48);
    stats_octets_add(&c->rx_octets, 7);
    stats_octets_add(&c->rx_octets, 8);
    stats_octets_add(&c->tx_octets, 57);
    stats_octets_add(&c->tx_octets, 7);
    stats_octets_add(&c->tx_octets, 4);
    c->rx_frames[1] = 1;
    c->rx_frames[8] = 1;
    c->tx_frames[1] = 1;
    c->tx_frames[8] = 1;
    c->closed_by_me = 0;
    c->dropped_by_me = 1;
    c->was_clean = 1;
    c->local_close_has_code = 1;
    c->local_close_code = 1000;
    c->remote_close_has_code = 1;
    c->remote_close_code = 1000;
    SET(c->remote_close_reason, "bye");
    c->remote_close_reason_len = 3;
    c->request_cap = sizeof(r->request);
    c->request_len = (uint32_t)strlen(request_text);
    memcpy(r->request, request_text, c->request_len);
    c->response_len = (uint16_t)strlen(response_text);
    memcpy(c->response, response_text, c->response_len);
    c->wire_cap = NELEM(r->wire);
    c->wire_tail = 8;
    w[0] = (struct stats_wire){STATS_WIRE_READ, 0, 0, 3, {0}, 48, 0, 0, "GET"};
    w[1] =
        (struct stats_wire){STATS_WIRE_WRITE, 0, 0, 4, {0}, 57, 0, 0, "HTTP"};
    w[2] = (struct stats_wire){STATS_WIRE_READ, 0, 0, 0, {0}, 7, 0, 0, {0}};
    w[3] = (struct stats_wire){STATS_WIRE_RFRAME,
                               0x81,
                               STATS_WIRE_MASKED,
                               1,
                               {1, 2, 3, 4},
                               1,
                               0,
                               0,
                               "a"};
    w[4] =
        (struct stats_wire){STATS_WIRE_TFRAME, 0x81, 0, 1, {0}, 1, 0, 0, "a"};
    w[5] = (struct stats_wire){STATS_WIRE_WRITE, 0, 0, 0, {0}, 3, 0, 0, {0}};
    w[6] = (struct stats_wire){STATS_WIRE_TIMEOUT, 0, 0, 0,  {0},
                               STATS_TIMEOUT_PING, 0, 0, {0}};
    w[7] = (struct stats_wire){STATS_WIRE_RFRAME,
                               0x88,
                               STATS_WIRE_MASKED,
                               5,
                               {9, 9, 9, 9},
                               5,
                               0,
                               0,
                               {0x03, 0xe8, 'b', 'y', 'e'}};
    w[8] = (struct stats_wire){STATS_WIRE_TFRAME, 0x88, 0, 2, {0}, 2, 0, 0,
                               {0x03, 0xe8}};
    w[9] = (struct stats_wire){STATS_WIRE_SHUT, 0, 0, 0, {0}, 0, 0, 0, {0}};
    w[10] = (struct stats_wire){STATS_WIRE_DROP, 0, 0, 0, {0}, 1, 0, 0, {0}};
    c->wire_n = 11;
}

static void
test_clean(void)
{
    static struct case_with_room r;

    fill_clean(&r);
    json_t *o = report_autobahn_case(&r.c, T0_MS + 9999);
    has_exactly_keys(o, tap_autobahn_keys, TAP_AUTOBAHN_KEYS, "clean");
    is_valid_json(o, "clean");
    is_key(o, "case", "17");
    is_key(o, "id", "\"3.1\"");
    is_key(o, "agent", "\"raw\"");
    is_key(o, "started", "\"2023-11-14T22:13:20.123Z\"");
    is_key(o, "duration", "456");
    is_key(o, "isServer", "true");
    is_key(o, "createStats", "true");
    is_key(o, "createWirelog", "true");
    is_key(o, "reportTime", "false");
    is_key(o, "reportCompressionRatio", "false");
    is_key(o, "trafficStats", "null");
    is_key(o, "wasServerConnectionDropTimeout", "false");
    is_key(o, "behavior", "\"INFORMATIONAL\"");
    is_key(o, "behaviorClose", "\"INFORMATIONAL\"");
    is_key(o, "expected", "{}");
    is_key(o, "expectedClose", "{}");
    is_key(o, "received", "[]");
    is_key(o, "closedByMe", "false");
    is_key(o, "failedByMe", "false");
    is_key(o, "droppedByMe", "true");
    is_key(o, "wasClean", "true");
    is_key(o, "wasNotCleanReason", "null");
    is_key(o, "wasOpenHandshakeTimeout", "false");
    is_key(o, "wasCloseHandshakeTimeout", "false");
    is_key(o, "localCloseCode", "1000");
    is_key(o, "localCloseReason", "null");
    is_key(o, "remoteCloseCode", "1000");
    is_key(o, "remoteCloseReason", "\"bye\"");
    is_key(o, "rxOctetStats", "{\"48\":1,\"7\":1,\"8\":1}");
    is_key(o, "txOctetStats", "{\"4\":1,\"57\":1,\"7\":1}");
    is_key(o, "rxFrameStats", "{\"1\":1,\"8\":1}");
    is_key(o, "txFrameStats", "{\"1\":1,\"8\":1}");
    is_str(json_string_value(json_object_get(o, "httpRequest")), request_text,
           "httpRequest: the request as read");
    is_str(json_string_value(json_object_get(o, "httpResponse")), response_text,
           "httpResponse: our head as sent");
    for (const char *const *k =
             (const char *const[]){"description", "expectation", "result",
                                   "resultClose", NULL};
         *k != NULL; k++) {
        const char *s = json_string_value(json_object_get(o, *k));
        ok(s != NULL && strstr(s, "wsd") != NULL,
           "%s: wsd's own words, naming wsd", *k);
    }
    is_key(o, "wirelog",
           "[[\"RO\",[48,\"474554 ...\"]],"
           "[\"TO\",[57,\"48545450 ...\"],false],"
           "[\"RO\",[7,\" ...\"]],"
           "[\"RF\",[1,\"a\"],1,true,0,true,\"01020304\"],"
           "[\"TF\",[1,\"a\"],1,true,0,null,null,null,false],"
           "[\"TO\",[3,\" ...\"],false],"
           "[\"CTE\",\"pong_timeout_ms\"],"
           "[\"RF\",[5,\"0x03e8627965\"],8,true,0,true,\"09090909\"],"
           "[\"TF\",[2,\"0x03e8\"],8,true,0,null,null,null,false]]");

    /* Still open: the duration runs up to now. */
    r.c.ended_ms = 0;
    r.c.state = STATS_CASE_OPEN;
    json_decref(o);
    o = report_autobahn_case(&r.c, T0_MS + 1000);
    is_key(o, "duration", "1000");
    json_decref(o);
}

/* The same wire seen by a client (wsc): its frames sent are masked, and
 * the server kept TCP open after the closing handshake. */
static void
test_client(void)
{
    static struct case_with_room r;

    fill_clean(&r);
    r.c.client_flags = STATS_CASE_CLIENT | STATS_CASE_SERVER_DROP_TIMEOUT;
    r.wire[4].flags = STATS_WIRE_MASKED;
    memcpy(r.wire[4].mask, "\x37\xfa\x21\x3d", 4);
    json_t *o = report_autobahn_case(&r.c, T0_MS + 9999);
    has_exactly_keys(o, tap_autobahn_keys, TAP_AUTOBAHN_KEYS, "client");
    is_key(o, "isServer", "false");
    is_key(o, "wasServerConnectionDropTimeout", "true");
    const char *d = json_string_value(json_object_get(o, "description"));
    ok(d != NULL && strstr(d, "wsc") != NULL && strstr(d, "client") != NULL,
       "client: the description names wsc, the client");
    json_t *row = json_array_get(json_object_get(o, "wirelog"), 4);
    is_str(json_string_value(json_array_get(row, 5)), "37fa213d",
           "client: a frame sent shows its masking key");
    json_decref(o);
}

/* The peer dropped TCP: no close frame either way, no query. */
static void
fill_dropped(struct case_with_room *r)
{
    fill_clean(r);
    memset(r->c.query_case, 0, sizeof(r->c.query_case));
    memset(r->c.query_agent, 0, sizeof(r->c.query_agent));
    memset(r->c.remote_close_reason, 0, sizeof(r->c.remote_close_reason));
    r->c.remote_close_reason_len = 0;
    r->c.id = 9;
    r->c.dropped_by_me = 0;
    r->c.was_clean = 0;
    r->c.local_close_has_code = 0;
    r->c.local_close_code = 0;
    r->c.remote_close_has_code = 0;
    r->c.remote_close_code = 0;
    r->c.rx_frames[8] = 0;
    r->c.tx_frames[8] = 0;
    SET(r->c.was_not_clean_reason, "peer dropped the TCP connection first");
    r->c.wire_n = 5;
}

static void
test_dropped(void)
{
    static struct case_with_room r;

    fill_dropped(&r);
    json_t *o = report_autobahn_case(&r.c, T0_MS);
    has_exactly_keys(o, tap_autobahn_keys, TAP_AUTOBAHN_KEYS, "dropped");
    is_key(o, "case", "9");
    is_key(o, "id", "\"9\"");
    is_key(o, "agent", "\"tester/1.0\"");
    is_key(o, "localCloseCode", "null");
    is_key(o, "remoteCloseCode", "null");
    is_key(o, "localCloseReason", "null");
    is_key(o, "remoteCloseReason", "null");
    is_key(o, "wasClean", "false");
    is_key(o, "droppedByMe", "false");
    is_key(o, "wasNotCleanReason", "\"peer dropped the TCP connection first\"");
    is_key(o, "rxFrameStats", "{\"1\":1}");
    json_decref(o);

    /* A close frame without a code: null, not 1005. */
    r.c.remote_close_code = 1005;
    r.c.local_close_code = 0;
    r.c.rx_frames[8] = 1;
    o = report_autobahn_case(&r.c, T0_MS);
    is_key(o, "remoteCloseCode", "null");
    is_key(o, "localCloseCode", "null");
    json_decref(o);

    /* Neither query nor User-Agent; nothing read, nothing answered, no
     * log kept. */
    memset(r.c.user_agent, 0, sizeof(r.c.user_agent));
    r.c.request_len = 0;
    r.c.response_len = 0;
    r.c.wire_cap = 0;
    r.c.wire_tail = 0;
    r.c.wire_n = 0;
    memset(&r.c.rx_octets, 0, sizeof(r.c.rx_octets));
    memset(r.c.rx_frames, 0, sizeof(r.c.rx_frames));
    o = report_autobahn_case(&r.c, T0_MS);
    has_exactly_keys(o, tap_autobahn_keys, TAP_AUTOBAHN_KEYS, "empty");
    is_key(o, "agent", "\"unknown\"");
    is_key(o, "httpRequest", "\"?\"");
    is_key(o, "httpResponse", "\"?\"");
    is_key(o, "createWirelog", "false");
    is_key(o, "wirelog", "[]");
    is_key(o, "rxOctetStats", "{}");
    is_key(o, "rxFrameStats", "{}");
    json_decref(o);
}

/* Bytes no string may hold as they are: invalid UTF-8, NUL, control
 * bytes, in the request, the response, the query and the User-Agent. */
static void
test_hostile_bytes(void)
{
    static struct case_with_room r;
    static const char req[] = "GET /\xff\xfe HTTP/1.1\r\nX: a\x00"
                              "b\x01\x1b[31m\xc3\r\n\r\n";
    static const char want[] = "GET /\xef\xbf\xbd\xef\xbf\xbd HTTP/1.1\r\n"
                               "X: a\x00"
                               "b\x01\x1b[31m\xef\xbf\xbd\r\n\r\n";

    fill_clean(&r);
    r.c.request_len = sizeof(req) - 1;
    memcpy(r.request, req, sizeof(req) - 1);
    r.c.response_len = 3;
    memcpy(r.c.response, "\x15\x03\x01", 3); /* a TLS alert's start */
    SET(r.c.query_case, "\x80");
    memset(r.c.query_agent, 0, sizeof(r.c.query_agent));
    SET(r.c.user_agent, "ua\xc0\x7f");
    json_t *o = report_autobahn_case(&r.c, T0_MS);
    has_exactly_keys(o, tap_autobahn_keys, TAP_AUTOBAHN_KEYS, "hostile");
    is_valid_json(o, "hostile");
    json_t *v = json_object_get(o, "httpRequest");
    is_mem(json_string_value(v), json_string_length(v), want, sizeof(want) - 1,
           "httpRequest: each invalid byte as U+FFFD, NUL and control "
           "bytes kept (JSON escapes them)");
    char *text = json_dumps(o, JSON_COMPACT);
    ok(text != NULL && strstr(text, "a\\u0000b\\u0001\\u001B[31m") != NULL,
       "NUL and control bytes are escaped in the text");
    free(text);
    is_key(o, "httpResponse", "\"\\u0015\\u0003\\u0001\"");
    is_key(o, "id", "\"\xef\xbf\xbd\"");
    is_key(o, "agent", "\"ua\xef\xbf\xbd\x7f\"");
    json_decref(o);
}

/* A log that ran over: the gap shows as logging off, then on again. */
static void
test_gap(void)
{
    static struct case_with_room r;

    fill_clean(&r);
    for (unsigned i = 0; i < NELEM(r.wire); i++) {
        r.wire[i] =
            (struct stats_wire){STATS_WIRE_READ, 0, 0, 0, {0}, i, 0, 0, {0}};
    }
    r.c.wire_n = 100; /* 8 first, a gap of 84, the ring's 8 */
    json_t *o = report_autobahn_case(&r.c, T0_MS);
    json_t *log = json_object_get(o, "wirelog");
    is_int(json_array_size(log), 18, "gap: 16 rows and two WLM");
    char *got = tap_json_text(json_array_get(log, 8));
    is_str(got, "[\"WLM\",false]", "gap: logging off");
    free(got);
    got = tap_json_text(json_array_get(log, 9));
    is_str(got, "[\"WLM\",true]", "gap: and on again");
    free(got);
    json_decref(o);
}

/* Cross-check with the testsuite's own reports ----------------------------*/

/* What the testsuite's files hold: the types seen per key, and per row
 * kind its length and the types seen at each place. */
#define ROW_KINDS_MAX 16
#define ROW_LEN_MAX   12
struct seen {
    unsigned key_types[TAP_AUTOBAHN_KEYS];
    size_t n_kinds;
    struct {
        char kind[8];
        size_t len;
        unsigned types[ROW_LEN_MAX];
    } rows[ROW_KINDS_MAX];
};

static size_t
key_index(const char *key)
{
    for (size_t i = 0; i < TAP_AUTOBAHN_KEYS; i++) {
        if (strcmp(tap_autobahn_keys[i], key) == 0) {
            return i;
        }
    }
    return TAP_AUTOBAHN_KEYS;
}

/* A row's data: [length, text], as RO, TO, RF and TF have it. */
static bool
is_data(const json_t *v)
{
    return json_is_array(v) && json_array_size(v) == 2 &&
           json_is_integer(json_array_get(v, 0)) &&
           json_is_string(json_array_get(v, 1));
}

/* Notes the shape of one of the testsuite's rows; false when a kind has
 * two lengths or there are too many kinds (not what fuzzing.py writes). */
static bool
note_row(struct seen *s, const json_t *row)
{
    const char *kind = json_string_value(json_array_get(row, 0));
    size_t len = json_array_size(row);
    size_t k = 0;

    if (kind == NULL || len > ROW_LEN_MAX || strlen(kind) >= 8) {
        return false;
    }
    while (k < s->n_kinds && strcmp(s->rows[k].kind, kind) != 0) {
        k++;
    }
    if (k == s->n_kinds) {
        if (k == ROW_KINDS_MAX) {
            return false;
        }
        s->n_kinds++;
        snprintf(s->rows[k].kind, sizeof(s->rows[k].kind), "%s", kind);
        s->rows[k].len = len;
    }
    if (s->rows[k].len != len) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        const json_t *v = json_array_get(row, i);
        if (i == 1 && json_is_array(v) && !is_data(v)) {
            return false;
        }
        s->rows[k].types[i] |= type_bit(v);
    }
    return true;
}

/* Reads one report file into s; false when it cannot be read. */
static bool
note_file(struct seen *s, const char *path, json_t **keys_of)
{
    json_error_t err;
    json_t *doc = json_load_file(path, 0, &err);
    const char *key;
    json_t *v;
    bool good = json_is_object(doc);

    if (!good) {
        tap_diag("%s: %s", path, err.text);
    }
    json_object_foreach(doc, key, v)
    {
        size_t i = key_index(key);
        if (i == TAP_AUTOBAHN_KEYS) {
            tap_diag("%s: a key this test does not know: %s", path, key);
            good = false;
            continue;
        }
        s->key_types[i] |= type_bit(v);
    }
    size_t n;
    json_array_foreach(json_object_get(doc, "wirelog"), n, v)
    {
        good = note_row(s, v) && good;
    }
    if (good && *keys_of == NULL) {
        *keys_of = json_incref(doc);
    }
    json_decref(doc);
    return good;
}

/* Reads every report index.json names; returns how many. */
static unsigned
read_reports(struct seen *s, json_t **one)
{
    const char *srcdir = getenv("WSD_SRCDIR");
    char path[1024];
    json_error_t err;
    const char *agent;
    json_t *cases;
    unsigned n = 0;

    memset(s, 0, sizeof(*s));
    snprintf(path, sizeof(path), "%s/tests/data/autobahn/index.json",
             srcdir != NULL ? srcdir : ".");
    json_t *index = json_load_file(path, 0, &err);
    ok(json_is_object(index), "the testsuite's index.json reads: %s", path);
    json_object_foreach(index, agent, cases)
    {
        const char *id;
        json_t *entry;
        json_object_foreach(cases, id, entry)
        {
            const char *file =
                json_string_value(json_object_get(entry, "reportfile"));
            snprintf(path, sizeof(path), "%s/tests/data/autobahn/%s",
                     srcdir != NULL ? srcdir : ".", file ? file : "?");
            n += note_file(s, path, one);
        }
    }
    json_decref(index);
    return n;
}

/*
 * Where wsd may write null, or a string, where the testsuite's reports
 * happen to show the other: fuzzing.py starts the close codes and reasons
 * and wasNotCleanReason as None, and sets a code (an integer) or a reason
 * or why a close was not clean (a string) when there is one; its RF rows
 * carry the mask as hex or None (the server's frames it received were
 * unmasked, ours are masked), its TF rows the same (its frames were
 * masked, ours are not).
 */
static unsigned
key_types_allowed(const struct seen *s, size_t i)
{
    static const struct {
        const char *key;
        unsigned types;
    } nullable[] = {
        {"localCloseCode", T_INTEGER},   {"remoteCloseCode", T_INTEGER},
        {"localCloseReason", T_STRING},  {"remoteCloseReason", T_STRING},
        {"wasNotCleanReason", T_STRING},
    };
    for (size_t k = 0; k < NELEM(nullable); k++) {
        if (strcmp(tap_autobahn_keys[i], nullable[k].key) == 0) {
            return s->key_types[i] | T_NULL | nullable[k].types;
        }
    }
    return s->key_types[i];
}

static unsigned
row_types_allowed(const struct seen *s, size_t k, size_t i)
{
    const char *kind = s->rows[k].kind;
    if ((strcmp(kind, "RF") == 0 && i == 6) ||
        (strcmp(kind, "TF") == 0 && i == 5)) {
        return s->rows[k].types[i] | T_STRING | T_NULL;
    }
    return s->rows[k].types[i];
}

/* Checks every row of log against the shapes the testsuite writes. */
static bool
rows_match(const struct seen *s, const json_t *log, const char *what)
{
    size_t n;
    json_t *row;
    bool good = true;

    json_array_foreach(log, n, row)
    {
        const char *kind = json_string_value(json_array_get(row, 0));
        size_t k = 0;
        while (kind != NULL && k < s->n_kinds &&
               strcmp(s->rows[k].kind, kind) != 0) {
            k++;
        }
        if (kind == NULL || k == s->n_kinds) {
            tap_diag("%s: row %zu is of no kind the testsuite writes", what, n);
            good = false;
            continue;
        }
        if (json_array_size(row) != s->rows[k].len) {
            tap_diag("%s: row %zu (%s) has %zu places, the testsuite's %zu",
                     what, n, kind, json_array_size(row), s->rows[k].len);
            good = false;
            continue;
        }
        for (size_t i = 0; i < s->rows[k].len; i++) {
            const json_t *v = json_array_get(row, i);
            if ((type_bit(v) & row_types_allowed(s, k, i)) == 0 ||
                (i == 1 && json_is_array(v) && !is_data(v))) {
                tap_diag("%s: row %zu (%s), place %zu: another type", what, n,
                         kind, i);
                good = false;
            }
        }
    }
    return good;
}

static void
matches_reports(const struct seen *s, const json_t *mine, const char *what)
{
    bool types = true;
    for (size_t i = 0; i < TAP_AUTOBAHN_KEYS; i++) {
        const json_t *v = json_object_get(mine, tap_autobahn_keys[i]);
        if (v == NULL || (type_bit(v) & key_types_allowed(s, i)) == 0) {
            tap_diag("%s: %s is of another type than the testsuite's", what,
                     tap_autobahn_keys[i]);
            types = false;
        }
    }
    ok(types, "%s: each key of the JSON type the testsuite writes", what);
    ok(rows_match(s, json_object_get(mine, "wirelog"), what),
       "%s: each wire log row of a kind and shape the testsuite writes", what);
}

static void
test_testsuite_reports(void)
{
    static struct seen s;
    static struct case_with_room r;
    json_t *one = NULL;

    is_int(read_reports(&s, &one), 18, "the testsuite's eighteen reports read");
    ok(one != NULL && json_object_size(one) == TAP_AUTOBAHN_KEYS,
       "they hold the 39 keys this test knows, and no other");
    for (size_t k = 0; k < s.n_kinds; k++) {
        tap_diag("the testsuite's rows: %s, %zu places", s.rows[k].kind,
                 s.rows[k].len);
    }

    fill_clean(&r);
    json_t *o = report_autobahn_case(&r.c, T0_MS);
    has_exactly_keys(o, tap_autobahn_keys, TAP_AUTOBAHN_KEYS,
                     "clean, as the testsuite's");
    matches_reports(&s, o, "clean");
    json_decref(o);

    fill_dropped(&r);
    o = report_autobahn_case(&r.c, T0_MS);
    matches_reports(&s, o, "dropped");
    json_decref(o);

    for (unsigned i = 0; i < NELEM(r.wire); i++) {
        r.wire[i] =
            (struct stats_wire){STATS_WIRE_READ, 0, 0, 0, {0}, i, 0, 0, {0}};
    }
    r.c.wire_n = 100;
    o = report_autobahn_case(&r.c, T0_MS);
    matches_reports(&s, o, "a log with a gap");
    json_decref(o);
    json_decref(one);
}

int
main(void)
{
    test_clean();
    test_client();
    test_dropped();
    test_hostile_bytes();
    test_gap();
    test_testsuite_reports();
    return tap_done();
}
