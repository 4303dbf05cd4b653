/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for compare: the real pairs of tests/data/autobahn (the
 * testsuite's reports and wsd's records of the same connections, written
 * by `wsd report` into wsd/) compare identical, with the notes the
 * testsuite's ways call for; then each kind of difference is planted in a
 * copy of a real pair, as the path between the two ends would make it,
 * and must be found, named, and found on the right way; the shape check
 * refuses each malformed key, naming it; the key that pairs reports.
 */
#include "autoconf.h"

#include "compare.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report_folder.h"
#include "tap.h"
#include "tap_json.h"

/* The two folders, read once: the testsuite's cases, and wsd's records
 * by Sec-WebSocket-Key. */
static json_t *client_cases;
static json_t *wsd_by_key;

static int
load_data(void)
{
    const char *srcdir = getenv("WSD_SRCDIR");
    char dir[1024];
    char err[REPORT_FOLDER_ERROR_MAX];
    char key[128];
    size_t i;
    json_t *e;

    snprintf(dir, sizeof(dir), "%s/tests/data/autobahn",
             srcdir != NULL ? srcdir : ".");
    client_cases = report_folder_read(dir, err);
    ok(client_cases != NULL, "the testsuite's folder reads (%s)",
       client_cases != NULL ? "ok" : err);
    snprintf(dir, sizeof(dir), "%s/tests/data/autobahn/wsd",
             srcdir != NULL ? srcdir : ".");
    json_t *wsd = report_folder_read(dir, err);
    ok(wsd != NULL, "wsd's folder reads (%s)", wsd != NULL ? "ok" : err);
    if (client_cases == NULL || wsd == NULL) {
        json_decref(wsd);
        return -1;
    }
    wsd_by_key = json_object();
    json_array_foreach(wsd, i, e)
    {
        json_t *c = json_object_get(e, "case");
        if (compare_request_key(c, key, sizeof(key))) {
            json_object_set(wsd_by_key, key, c);
        }
    }
    json_decref(wsd);
    return 0;
}

/* Copies of both ends' reports of the testsuite's case id. */
struct pair {
    json_t *client;
    json_t *wsd;
};

static struct pair
pair_of(const char *id)
{
    struct pair p = {NULL, NULL};
    char key[128];
    size_t i;
    json_t *e;

    json_array_foreach(client_cases, i, e)
    {
        const char *cid = json_string_value(json_object_get(e, "id"));
        json_t *c = json_object_get(e, "case");
        if (strcmp(cid, id) == 0 && compare_request_key(c, key, sizeof(key))) {
            p.client = json_deep_copy(c);
            p.wsd = json_deep_copy(json_object_get(wsd_by_key, key));
        }
    }
    return p;
}

static void
pair_free(struct pair *p)
{
    json_decref(p->client);
    json_decref(p->wsd);
}

/* The wire log row of kind, the nth (0: the first) with opcode (or any
 * opcode, -1), in report r. */
static json_t *
row(json_t *r, const char *kind, int opcode, size_t nth)
{
    size_t i;
    json_t *w;

    json_array_foreach(json_object_get(r, "wirelog"), i, w)
    {
        const char *k = json_string_value(json_array_get(w, 0));
        if (k != NULL && strcmp(k, kind) == 0 &&
            (opcode < 0 ||
             json_integer_value(json_array_get(w, 2)) == opcode) &&
            nth-- == 0) {
            return w;
        }
    }
    return NULL;
}

static size_t
row_index(json_t *r, const json_t *w)
{
    json_t *log = json_object_get(r, "wirelog");
    for (size_t i = 0; i < json_array_size(log); i++) {
        if (json_array_get(log, i) == w) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* A frame row as wsd logs one received: [RF, [n, payload], op, fin, rsv,
 * masked, mask]. */
static json_t *
rf(json_int_t n, const char *payload, int opcode, bool fin)
{
    return json_pack("[s, [I, s], i, b, i, b, s]", "RF", n, payload, opcode,
                     fin, 0, 1, "01020304");
}

/* stats[key] += by (removed at 0). */
static void
bump(json_t *r, const char *stats, const char *key, json_int_t by)
{
    json_t *o = json_object_get(r, stats);
    json_int_t n = json_integer_value(json_object_get(o, key)) + by;

    if (n == 0) {
        json_object_del(o, key);
    } else {
        json_object_set_new(o, key, json_integer(n));
    }
}

/* Replaces the first "from" in r[key] by "to". */
static void
edit_head(json_t *r, const char *key, const char *from, const char *to)
{
    const char *s = json_string_value(json_object_get(r, key));
    const char *at = s != NULL ? strstr(s, from) : NULL;

    if (at == NULL) {
        ok(false, "%s has \"%s\" to edit", key, from);
        return;
    }
    size_t head = (size_t)(at - s);
    size_t tail = strlen(at + strlen(from));
    char *buf = malloc(head + strlen(to) + tail + 1);
    if (buf == NULL) {
        return;
    }
    memcpy(buf, s, head);
    memcpy(buf + head, to, strlen(to));
    memcpy(buf + head + strlen(to), at + strlen(from), tail + 1);
    json_object_set_new(r, key, json_string(buf));
    free(buf);
}

/* The differences of way ("clientToServer", "serverToClient", "closing")
 * of result: true when one is of kind and its text holds want. */
static bool
differs(const json_t *result, const char *way, const char *kind,
        const char *want)
{
    size_t i;
    const json_t *d;

    json_array_foreach(
        json_object_get(json_object_get(result, way), "differences"), i, d)
    {
        const char *k = json_string_value(json_object_get(d, "kind"));
        const char *t = json_string_value(json_object_get(d, "text"));
        if (strcmp(k, kind) == 0 && strstr(t, want) != NULL) {
            return true;
        }
    }
    return false;
}

static size_t
n_differences(const json_t *result, const char *way)
{
    return json_array_size(
        json_object_get(json_object_get(result, way), "differences"));
}

static bool
noted(const json_t *result, const char *want)
{
    size_t i;
    const json_t *n;

    json_array_foreach(json_object_get(result, "notes"), i, n)
    {
        if (strstr(json_string_value(n), want) != NULL) {
            return true;
        }
    }
    return false;
}

static const char *
verdict(const json_t *result)
{
    const char *v = json_string_value(json_object_get(result, "verdict"));
    return v != NULL ? v : "(none)";
}

/* The real pairs -------------------------------------------------------------
 */

static void
test_real_pairs(void)
{
    size_t i;
    json_t *e;
    char err[COMPARE_ERROR_MAX];
    size_t n = 0;

    json_array_foreach(client_cases, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        struct pair p = pair_of(id);
        ok(p.client != NULL && p.wsd != NULL, "%s: both ends are there", id);
        if (p.client == NULL || p.wsd == NULL) {
            pair_free(&p);
            continue;
        }
        ok(compare_is_autobahn_case(p.client, err),
           "%s: the testsuite's "
           "report has Autobahn's shape",
           id);
        ok(compare_is_autobahn_case(p.wsd, err), "%s: wsd's has too", id);
        json_t *r = compare_cases(p.client, p.wsd);
        ok(json_is_true(json_object_get(r, "identical")) &&
               strncmp(verdict(r), "identical", 9) == 0,
           "%s: identical (%s)", id, verdict(r));
        n++;
        json_decref(r);
        pair_free(&p);
    }
    is_int(n, 18, "the eighteen pairs of the data set compared");
}

/* "identical" says how far payloads were compared: the rows show only
 * their first octets (wsd's 32). */
static void
test_identical_in_part(void)
{
    struct pair p = pair_of("1.1.2");
    json_t *r = compare_cases(p.client, p.wsd);

    is_str(verdict(r),
           "identical (payloads compared in their first 32 octets only)",
           "1.1.2: 125 octets of text: identical in the first 32 only");
    is_int(json_integer_value(json_object_get(
               json_object_get(r, "clientToServer"), "payloadOctetsCompared")),
           32, "1.1.2: client->server says 32 octets compared");
    ok(json_object_get(json_object_get(r, "serverToClient"),
                       "payloadOctetsCompared") != NULL,
       "1.1.2: so does server->client, the echo");
    json_decref(r);
    pair_free(&p);

    p = pair_of("1.1.1");
    r = compare_cases(p.client, p.wsd);
    is_str(verdict(r), "identical",
           "1.1.1: payloads shown whole: identical, no more said");
    ok(json_object_get(json_object_get(r, "clientToServer"),
                       "payloadOctetsCompared") == NULL,
       "1.1.1: no payloadOctetsCompared");
    json_decref(r);
    pair_free(&p);
}

/* The testsuite's own ways, which are notes, not differences. */
static void
test_quirks(void)
{
    struct pair p = pair_of("6.4.3");
    json_t *r = compare_cases(p.client, p.wsd);
    const json_t *up = json_object_get(r, "clientToServer");

    is_str(json_string_value(json_object_get(up, "frames")), "none",
           "6.4.3: the client's frames are not compared");
    ok(noted(r, "the client wrote 21 octets outside the frames of its log"),
       "6.4.3: the frame it wrote by hand, and abandoned, is a note");
    ok(noted(r, "clean close: the client says clean, wsd says not clean"),
       "6.4.3: so is the unclean close wsd saw");
    json_decref(r);
    pair_free(&p);

    p = pair_of("7.1.6");
    r = compare_cases(p.client, p.wsd);
    ok(noted(r, "wsd parsed only the first 3 of the 4 frames the client "
                "sent"),
       "7.1.6: the ping after the close, never parsed, is a note");
    is_str(json_string_value(
               json_object_get(json_object_get(r, "clientToServer"), "frames")),
           "sequence", "7.1.6: a TF row with a repeat length is one frame");
    json_decref(r);
    /* The 256 KiB payload is logged as "BAsd7&jh23" repeated: its head is
     * compared with wsd's. */
    json_t *w = row(p.wsd, "RF", 1, 0);
    json_array_set_new(json_array_get(w, 1), 1,
                       json_string("BAsd7&jh23BAsd7&jh23BAsd7&jh23BX ..."));
    r = compare_cases(p.client, p.wsd);
    ok(differs(r, "clientToServer", "payload",
               "(text, 262144 octets), from octet 32"),
       "7.1.6: an octet changed past the repeated pattern's first round "
       "(%s)",
       verdict(r));
    json_decref(r);
    pair_free(&p);

    p = pair_of("9.1.1");
    r = compare_cases(p.client, p.wsd);
    ok(noted(r, "the client's TF rows do not add up to its txFrameStats"),
       "9.1.1: the testsuite logged some frames only: counts compared");
    json_decref(r);
    pair_free(&p);

    p = pair_of("12.1.1");
    r = compare_cases(p.client, p.wsd);
    ok(noted(r, "the client has a gap in its wire log (a WLM row)"),
       "12.1.1: a WLM row: counts compared");
    is_str(json_string_value(
               json_object_get(json_object_get(r, "serverToClient"), "frames")),
           "counts", "12.1.1: by counts each way");
    json_decref(r);
    pair_free(&p);

    /* Rows may carry elements after Autobahn's: wsd marks frames. */
    p = pair_of("2.10");
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(p.wsd, "wirelog"), i, x)
    {
        json_array_append_new(x, json_pack("[s]", "discarded"));
    }
    char err[COMPARE_ERROR_MAX];
    ok(compare_is_autobahn_case(p.wsd, err), "rows with an element more: "
                                             "Autobahn's shape still");
    r = compare_cases(p.client, p.wsd);
    ok(json_is_true(json_object_get(r, "identical")),
       "rows with an element more: still identical (%s)", verdict(r));
    json_decref(r);
    pair_free(&p);
}

/* TCP cuts the stream as it likes: sizes of reads and writes differ, which
 * is reported, never a difference. */
static void
test_segmentation(void)
{
    struct pair p = pair_of("10.1.1");
    json_t *r = compare_cases(p.client, p.wsd);
    const json_t *o =
        json_object_get(json_object_get(r, "clientToServer"), "octets");

    ok(json_is_true(json_object_get(r, "identical")), "10.1.1: identical (%s)",
       verdict(r));
    ok(json_is_false(json_object_get(o, "sameSegmentation")) &&
           json_equal(json_object_get(o, "sent"),
                      json_object_get(o, "received")) &&
           json_integer_value(json_object_get(o, "writes")) >
               json_integer_value(json_object_get(o, "reads")),
       "10.1.1: 51 writes read in fewer reads: the same octets, another "
       "segmentation");
    json_decref(r);
    pair_free(&p);
}

/* Planted differences --------------------------------------------------------
 */

/* Compares p, checks that kind is found on way with want in its text and
 * that the other ways are as they were; frees nothing. */
static void
expect(struct pair *p, const char *what, const char *way, const char *kind,
       const char *want)
{
    json_t *r = compare_cases(p->client, p->wsd);

    ok(r != NULL && json_is_false(json_object_get(r, "identical")),
       "%s: not identical", what);
    ok(differs(r, way, kind, want), "%s: %s, on %s, says \"%s\" (%s)", what,
       kind, way, want, verdict(r));
    ok(strstr(verdict(r), want) != NULL, "%s: the verdict names it", what);
    json_decref(r);
}

static void
test_heads(void)
{
    struct pair p = pair_of("1.1.1");
    edit_head(p.wsd, "httpRequest", "\r\n\r\n", "\r\nVia: 1.1 proxy\r\n\r\n");
    expect(&p, "a request header added", "clientToServer", "header added",
           "request header added on the way: Via: \"1.1 proxy\"");
    pair_free(&p);

    p = pair_of("1.1.1");
    edit_head(p.wsd, "httpRequest", "Pragma: no-cache\r\n", "");
    expect(&p, "a request header removed", "clientToServer", "header removed",
           "request header removed on the way: Pragma");
    pair_free(&p);

    p = pair_of("1.1.1");
    edit_head(p.wsd, "httpRequest", "Cache-Control: no-cache",
              "Cache-Control: max-age=0");
    expect(&p, "a request header changed", "clientToServer", "header changed",
           "Cache-Control: \"no-cache\" -> \"max-age=0\"");
    pair_free(&p);

    p = pair_of("1.1.1");
    edit_head(p.wsd, "httpRequest", "Host:", "host:");
    expect(&p, "a header name recased", "clientToServer", "header changed",
           "\"Host\" spelled \"host\"");
    pair_free(&p);

    p = pair_of("1.1.1");
    edit_head(p.wsd, "httpRequest", "GET /ws HTTP/1.1", "GET /ws HTTP/1.0");
    expect(&p, "the request line changed", "clientToServer", "request line",
           "\"GET /ws HTTP/1.1\" -> \"GET /ws HTTP/1.0\"");
    pair_free(&p);

    /* The response: as wsd sent it, as the client read it. */
    p = pair_of("3.1");
    edit_head(p.client, "httpResponse", "\r\n\r\n", "\r\nVia: proxy\r\n\r\n");
    expect(&p, "a response header added", "serverToClient", "header added",
           "response header added on the way: Via: \"proxy\"");
    pair_free(&p);

    p = pair_of("3.1");
    edit_head(p.wsd, "httpResponse", "\r\n\r\n", "\r\nVia: proxy\r\n\r\n");
    expect(&p, "a header wsd sent, gone", "serverToClient", "header removed",
           "response header removed on the way: Via");
    pair_free(&p);

    p = pair_of("3.1");
    edit_head(p.wsd, "httpRequest", "Upgrade: WebSocket\r\n",
              "Upgrade:   WebSocket\r\n");
    expect(&p, "a head respaced", "clientToServer", "head",
           "in its spacing or the order of its headers");
    pair_free(&p);

    /* A hostile value stays on its line, quoted. */
    p = pair_of("1.1.1");
    edit_head(p.wsd, "httpRequest", "Pragma: no-cache",
              "Pragma: \"x\\\x1b[31m\x7f");
    json_t *r = compare_cases(p.client, p.wsd);
    ok(strstr(verdict(r), "\"no-cache\" -> \"\\\"x\\\\\\x1b[31m\\x7f\"") !=
               NULL &&
           strchr(verdict(r), '\n') == NULL,
       "a value's quotes, backslash and control bytes are escaped (%s)",
       verdict(r));
    json_decref(r);
    pair_free(&p);
}

static void
test_extensions(void)
{
    static const char offer[] = "Sec-WebSocket-Extensions: permessage-deflate; "
                                "client_no_context_takeover; "
                                "client_max_window_bits\r\n";
    static const char grant[] = "Sec-WebSocket-Extensions: permessage-deflate; "
                                "client_no_context_takeover; "
                                "client_max_window_bits=15\r\n";
    struct pair p = pair_of("12.1.1");

    edit_head(p.wsd, "httpRequest", offer, "");
    expect(&p, "the extension offer stripped", "clientToServer",
           "extension offer",
           "extension offer stripped on the way: \"permessage-deflate; "
           "client_no_context_takeover; client_max_window_bits\"");
    pair_free(&p);

    p = pair_of("12.1.1");
    edit_head(p.client, "httpResponse", grant, "");
    expect(&p, "the extension grant stripped", "serverToClient",
           "extension grant", "extension grant stripped on the way");
    pair_free(&p);

    p = pair_of("12.1.1");
    edit_head(p.wsd, "httpRequest", "client_max_window_bits\r\n",
              "client_max_window_bits=10\r\n");
    expect(&p, "the extension offer changed", "clientToServer",
           "extension offer",
           "extension offer changed on the way: \"permessage-deflate; "
           "client_no_context_takeover; client_max_window_bits\" -> ");
    pair_free(&p);

    /* The same offer and grant under names spelled otherwise (HAProxy
     * writes every name in lower case). */
    p = pair_of("12.1.1");
    edit_head(p.wsd, "httpRequest",
              "Sec-WebSocket-Extensions:", "sec-websocket-extensions:");
    expect(&p, "the offer's header name recased", "clientToServer",
           "header changed",
           "request header changed on the way: \"Sec-WebSocket-Extensions\" "
           "spelled \"sec-websocket-extensions\"");
    pair_free(&p);

    p = pair_of("12.1.1");
    edit_head(p.client, "httpResponse",
              "Sec-WebSocket-Extensions:", "sec-websocket-extensions:");
    expect(&p, "the grant's header name recased", "serverToClient",
           "header changed",
           "response header changed on the way: \"Sec-WebSocket-Extensions\" "
           "spelled \"sec-websocket-extensions\"");
    pair_free(&p);

    /* Spacing is no change to an offer. */
    p = pair_of("12.1.1");
    edit_head(p.wsd, "httpRequest", "permessage-deflate; client_no",
              "permessage-deflate;client_no");
    json_t *r = compare_cases(p.client, p.wsd);
    ok(!differs(r, "clientToServer", "extension offer", ""),
       "an offer respaced is the same offer");
    json_decref(r);
    pair_free(&p);
}

static void
test_frames(void)
{
    /* 1.1.2: one text frame of 125 octets, which a proxy splits in 3. */
    struct pair p = pair_of("1.1.2");
    json_t *log = json_object_get(p.wsd, "wirelog");
    json_t *w = row(p.wsd, "RF", 1, 0);
    size_t at = row_index(p.wsd, w);
    json_array_remove(log, at);
    json_array_insert_new(log, at, rf(60, "************ ...", 1, false));
    json_array_insert_new(log, at + 1, rf(60, "************ ...", 0, false));
    json_array_insert_new(log, at + 2, rf(5, "*****", 0, true));
    bump(p.wsd, "rxFrameStats", "0", 2);
    bump(p.wsd, "rxOctetStats", "6", 2);
    expect(&p, "a message fragmented", "clientToServer", "fragmented",
           "message 1 (text, 125 octets) sent in 1 frame, arrived in 3 (same "
           "payload octets)");
    expect(&p, "a message fragmented", "clientToServer", "frames by opcode",
           "sent text 1, close 1; arrived continuation 2, text 1, close 1");
    json_t *r = compare_cases(p.client, p.wsd);
    ok(!differs(r, "clientToServer", "message payload octets", ""),
       "a message fragmented: the same message payload octets");
    json_decref(r);
    pair_free(&p);

    /* 5.3: "fragment1" "fragment2", two frames of 9 octets. */
    p = pair_of("5.3");
    w = row(p.wsd, "RF", 1, 0);
    json_integer_set(json_array_get(json_array_get(w, 1), 0), 5);
    json_array_set_new(json_array_get(w, 1), 1, json_string("fragm"));
    w = row(p.wsd, "RF", 0, 0);
    json_integer_set(json_array_get(json_array_get(w, 1), 0), 13);
    json_array_set_new(json_array_get(w, 1), 1, json_string("ent1fragment2"));
    expect(&p, "a message re-fragmented", "clientToServer", "re-fragmented",
           "message 1 (text, 18 octets) sent as frames of 9+9 octets, "
           "arrived as 5+13");
    r = compare_cases(p.client, p.wsd);
    is_int(n_differences(r, "clientToServer"), 1,
           "a message re-fragmented: nothing else (%s)", verdict(r));
    json_decref(r);
    pair_free(&p);

    p = pair_of("5.3");
    log = json_object_get(p.wsd, "wirelog");
    w = row(p.wsd, "RF", 0, 0);
    json_array_remove(log, row_index(p.wsd, w));
    w = row(p.wsd, "RF", 1, 0);
    json_integer_set(json_array_get(json_array_get(w, 1), 0), 18);
    json_array_set_new(json_array_get(w, 1), 1,
                       json_string("fragment1fragment2"));
    json_array_set_new(w, 3, json_true());
    bump(p.wsd, "rxFrameStats", "0", -1);
    expect(&p, "frames coalesced", "clientToServer", "coalesced",
           "message 1 (text, 18 octets) sent in 2 frames, arrived in 1");
    pair_free(&p);

    /* 2.10: ten pings; the proxy drops the fourth. */
    p = pair_of("2.10");
    log = json_object_get(p.wsd, "wirelog");
    json_array_remove(log, row_index(p.wsd, row(p.wsd, "RF", 9, 3)));
    bump(p.wsd, "rxFrameStats", "9", -1);
    expect(&p, "a frame dropped", "clientToServer", "dropped",
           "dropped on the way: frame 4 (ping, 9 octets)");
    expect(&p, "a frame dropped", "clientToServer", "frames by opcode",
           "sent close 1, ping 10; arrived close 1, ping 9");
    pair_free(&p);

    /* ...or inserts a pong the client never had from wsd. */
    p = pair_of("2.10");
    log = json_object_get(p.client, "wirelog");
    at = row_index(p.client, row(p.client, "RF", 10, 0));
    json_array_insert_new(
        log, at,
        json_pack("[s, [i, s], i, b, i, b, n]", "RF", 0, "", 10, 1, 0, 0));
    bump(p.client, "rxFrameStats", "10", 1);
    expect(&p, "a frame inserted", "serverToClient", "inserted",
           "inserted on the way: frame 1 (pong, 0 octets)");
    pair_free(&p);

    /* 5.6: a ping between two fragments; the proxy sends it first. */
    p = pair_of("5.6");
    log = json_object_get(p.wsd, "wirelog");
    w = json_incref(row(p.wsd, "RF", 9, 0));
    json_array_remove(log, row_index(p.wsd, w));
    json_array_insert_new(log, row_index(p.wsd, row(p.wsd, "RF", 1, 0)), w);
    expect(&p, "a frame reordered", "clientToServer", "reordered",
           "reordered on the way: ");
    r = compare_cases(p.client, p.wsd);
    is_int(n_differences(r, "clientToServer"), 1,
           "a frame reordered: nothing else (%s)", verdict(r));
    json_decref(r);
    pair_free(&p);

    /* 5.1: wsd's close frame arrives with another FIN and length. */
    p = pair_of("5.1");
    w = row(p.wsd, "TF", 8, 0);
    json_array_set_new(w, 3, json_false());
    json_integer_set(json_array_get(json_array_get(w, 1), 0), 27);
    expect(&p, "a sent frame's FIN and length changed", "serverToClient",
           "changed",
           "frame 1 (close, 27 octets) arrived as 26 octets, FIN set");
    pair_free(&p);

    /* A payload changed, its length not. */
    p = pair_of("1.1.2");
    w = row(p.wsd, "RF", 1, 0);
    json_array_set_new(json_array_get(w, 1), 1,
                       json_string("**X***************************** ..."));
    expect(&p, "a payload changed", "clientToServer", "payload",
           "(text, 125 octets), from octet 3");
    pair_free(&p);

    /* A byte that is no UTF-8 arrives in the 4th octet: wsd shows the
     * payload in hex, the client showed text; the octet is where the
     * bytes part, not where "0x" read as text does. */
    p = pair_of("1.1.2");
    w = row(p.wsd, "RF", 1, 0);
    json_array_set_new(
        json_array_get(w, 1), 1,
        json_string("0x2a2a2aff2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a"
                    "2a2a2a2a ..."));
    expect(&p, "a payload changed to hex", "clientToServer", "payload",
           "(text, 125 octets), from octet 4");
    pair_free(&p);

    /* The same seen the other way round: the client's row in hex. */
    p = pair_of("1.1.2");
    w = row(p.client, "TF", 1, 0);
    json_array_set_new(json_array_get(w, 1), 1,
                       json_string("0x2a2a2a2a2aff ..."));
    expect(&p, "a payload sent in hex", "clientToServer", "payload",
           "(text, 125 octets), from octet 6");
    pair_free(&p);

    /* A message arrives compressed (RSV1) that was not sent so. */
    p = pair_of("1.1.2");
    json_array_set_new(row(p.wsd, "RF", 1, 0), 4, json_integer(4));
    expect(&p, "compression changed", "clientToServer", "compression",
           "sent with RSV 0, arrived with RSV 4");
    pair_free(&p);

    /* A log that ran over (WLM rows) and counts that differ. */
    p = pair_of("1.1.1");
    log = json_object_get(p.wsd, "wirelog");
    at = row_index(p.wsd, row(p.wsd, "RF", 1, 0));
    json_array_set_new(log, at, json_pack("[s, b]", "WLM", 0));
    json_array_insert_new(log, at + 1, json_pack("[s, b]", "WLM", 1));
    bump(p.wsd, "rxFrameStats", "1", 7);
    expect(&p, "a bounded log with counts that differ", "clientToServer",
           "frames by opcode", "sent text 1, close 1; arrived text 8");
    r = compare_cases(p.client, p.wsd);
    ok(noted(r, "wsd has a gap in its wire log"),
       "a bounded log: frames compared by counts, noted");
    json_decref(r);
    pair_free(&p);

    /* No log at all, or rows that do not add up: counts too. */
    p = pair_of("2.10");
    json_object_set_new(p.client, "createWirelog", json_false());
    r = compare_cases(p.client, p.wsd);
    ok(noted(r, "the client kept no wire log (createWirelog false)") &&
           json_is_true(json_object_get(r, "identical")),
       "createWirelog false: counts compared, identical (%s)", verdict(r));
    json_decref(r);
    pair_free(&p);

    p = pair_of("2.10");
    log = json_object_get(p.client, "wirelog");
    json_array_remove(log, row_index(p.client, row(p.client, "TF", 9, 0)));
    r = compare_cases(p.client, p.wsd);
    ok(noted(r, "the client's TF rows do not add up to its txFrameStats") &&
           json_is_true(json_object_get(r, "identical")),
       "a TF row missing: counts compared, identical (%s)", verdict(r));
    json_decref(r);
    pair_free(&p);
}

static void
test_closing(void)
{
    /* 6.2.1: the client closes with 1000; the proxy rewrites it. */
    struct pair p = pair_of("6.2.1");
    json_t *w = row(p.wsd, "RF", 8, 0);
    json_array_set_new(json_array_get(w, 1), 1, json_string("0x03e9"));
    json_object_set_new(p.wsd, "remoteCloseCode", json_integer(1001));
    expect(&p, "a close code rewritten", "clientToServer", "close code",
           "close code rewritten on the way: 1000 sent, 1001 arrived");
    pair_free(&p);

    /* wsd refused the close frame and logged it without its bytes (a
     * discarded row shows " ..."): no code to compare, nothing differs. */
    p = pair_of("6.2.1");
    w = row(p.wsd, "RF", 8, 0);
    json_array_set_new(json_array_get(w, 1), 1, json_string(" ..."));
    json_array_append_new(w, json_pack("[s]", "discarded"));
    json_t *res = compare_cases(p.client, p.wsd);
    ok(res != NULL && json_is_true(json_object_get(res, "identical")),
       "a close frame logged without its bytes: no close code rewritten (%s)",
       res != NULL ? verdict(res) : "(none)");
    json_decref(res);
    pair_free(&p);

    /* Logs incomplete: the codes each end read are compared instead. */
    p = pair_of("12.1.1");
    json_object_set_new(p.wsd, "remoteCloseCode", json_integer(1002));
    expect(&p, "a close code rewritten, by counts", "clientToServer",
           "close code",
           "close code rewritten on the way: 1000 sent, 1002 "
           "arrived");
    pair_free(&p);

    /* The close frame dropped: wsd never answers, the client's close
     * handshake times out and it drops TCP. */
    p = pair_of("6.2.1");
    json_t *log = json_object_get(p.wsd, "wirelog");
    json_array_remove(log, row_index(p.wsd, row(p.wsd, "RF", 8, 0)));
    size_t at = row_index(p.wsd, row(p.wsd, "TF", 8, 0));
    json_array_remove(log, at); /* wsd's close frame, */
    json_array_remove(log, at); /* and its write */
    bump(p.wsd, "txOctetStats", "4", -1);
    bump(p.wsd, "rxFrameStats", "8", -1);
    bump(p.wsd, "txFrameStats", "8", -1);
    json_object_set_new(p.wsd, "remoteCloseCode", json_null());
    json_object_set_new(p.wsd, "localCloseCode", json_null());
    json_object_set_new(p.wsd, "droppedByMe", json_false());
    json_object_set_new(p.wsd, "wasClean", json_false());
    json_object_set_new(p.wsd, "wasNotCleanReason",
                        json_string("peer dropped the TCP connection first"));
    log = json_object_get(p.client, "wirelog");
    at = row_index(p.client, row(p.client, "RF", 8, 0));
    json_array_remove(log, at);     /* the close frame the client read, */
    json_array_remove(log, at - 1); /* and the read */
    bump(p.client, "rxOctetStats", "4", -1);
    bump(p.client, "rxFrameStats", "8", -1);
    json_object_set_new(p.client, "remoteCloseCode", json_null());
    json_object_set_new(p.client, "droppedByMe", json_true());
    json_object_set_new(p.client, "wasClean", json_false());
    json_object_set_new(p.client, "wasCloseHandshakeTimeout", json_true());
    expect(&p, "the close frame dropped", "clientToServer",
           "close frame dropped",
           "close frame dropped on the way: the client sent close 1000, wsd "
           "got none");
    expect(&p, "the close frame dropped", "clientToServer", "dropped",
           "frame 2 (close, 2 octets)");
    expect(&p, "the close frame dropped", "closing", "who closed",
           "the client says the client sent the first close frame, wsd says "
           "nobody");
    pair_free(&p);

    /* 1.1.1: the client closed first; now it says wsd did. */
    p = pair_of("1.1.1");
    json_object_set_new(p.client, "closedByMe", json_false());
    expect(&p, "who closed changed", "closing", "who closed",
           "the client says wsd sent the first close frame, wsd says the "
           "client");
    pair_free(&p);

    p = pair_of("1.1.1");
    json_object_set_new(p.client, "droppedByMe", json_false());
    json_object_set_new(p.wsd, "droppedByMe", json_false());
    expect(&p, "neither end closed TCP", "closing", "who closed TCP",
           "something between them closed it");
    pair_free(&p);

    p = pair_of("1.1.1");
    json_object_set_new(p.wsd, "wasClean", json_false());
    json_object_set_new(p.wsd, "wasNotCleanReason",
                        json_string("peer dropped the TCP connection first"));
    expect(&p, "a clean close not clean at one end", "closing", "clean close",
           "the client says clean, wsd says not clean (wsd: \"peer dropped");
    pair_free(&p);

    /* Both sent the first close frame: they crossed, a note. */
    p = pair_of("1.1.1");
    json_object_set_new(p.wsd, "closedByMe", json_true());
    json_t *r = compare_cases(p.client, p.wsd);
    ok(json_is_true(json_object_get(r, "identical")) &&
           noted(r, "close frames crossed"),
       "close frames that crossed are a note (%s)", verdict(r));
    json_decref(r);
    pair_free(&p);
}

static void
test_octets(void)
{
    struct pair p = pair_of("12.1.1");
    const char *size;
    json_t *v;
    json_int_t sent = 0;
    char want[64];
    json_object_foreach(json_object_get(p.client, "txOctetStats"), size, v)
    {
        sent += strtoll(size, NULL, 10) * json_integer_value(v);
    }
    bump(p.wsd, "rxOctetStats", "1", 1);
    snprintf(want, sizeof(want),
             "octets: %" JSON_INTEGER_FORMAT " sent, %" JSON_INTEGER_FORMAT
             " arrived",
             sent, sent + 1);
    expect(&p, "one more octet arrived", "clientToServer", "octets", want);
    pair_free(&p);

    /* wsd keeps 128 sizes of reads; beyond, its totals are not known,
     * unless the record's overflow is given. */
    p = pair_of("1.1.1");
    json_t *rx = json_object_get(p.wsd, "rxOctetStats");
    for (int k = 1000; json_object_size(rx) < 128; k++) {
        char name[16];
        snprintf(name, sizeof(name), "%d", k);
        json_object_set_new(rx, name, json_integer(1));
    }
    json_t *r = compare_cases(p.client, p.wsd);
    ok(json_is_true(json_object_get(r, "identical")) &&
           noted(r, "wsd kept 128 sizes") &&
           json_is_null(json_object_get(
               json_object_get(json_object_get(r, "clientToServer"), "octets"),
               "received")),
       "128 sizes of reads: the totals unknown, noted (%s)", verdict(r));
    json_decref(r);
    json_object_set_new(p.wsd, "rxOctetOverflow",
                        json_pack("{s:i, s:i}", "count", 0, "octets", 0));
    r = compare_cases(p.client, p.wsd);
    ok(differs(r, "clientToServer", "octets", "arrived"),
       "with its overflow, the totals are known, and differ (%s)", verdict(r));
    json_decref(r);
    pair_free(&p);
}

/* Shape and key
 * ---------------------------------------------------------------- */

static void
refused(json_t *c, const char *what, const char *want)
{
    char err[COMPARE_ERROR_MAX] = "";

    ok(!compare_is_autobahn_case(c, err) && strstr(err, want) != NULL,
       "%s: refused, naming %s (%s)", what, want, err);
    json_decref(c);
}

static json_t *
plain(void)
{
    struct pair p = pair_of("5.6");
    json_decref(p.wsd);
    return p.client;
}

static void
test_shape(void)
{
    json_t *c;

    refused(json_array(), "an array", "not a JSON object");
    c = plain();
    json_object_del(c, "httpRequest");
    refused(c, "no httpRequest", "\"httpRequest\" missing");
    c = plain();
    json_object_set_new(c, "closedByMe", json_string("yes"));
    refused(c, "closedByMe a string", "\"closedByMe\"");
    c = plain();
    json_object_set_new(c, "remoteCloseCode", json_integer(70000));
    refused(c, "a close code past 65535", "\"remoteCloseCode\"");
    c = plain();
    json_object_set_new(c, "localCloseReason", json_integer(1));
    refused(c, "a reason that is a number", "\"localCloseReason\"");
    c = plain();
    json_object_set_new(json_object_get(c, "rxOctetStats"), "x1",
                        json_integer(1));
    refused(c, "a size that is not a number", "\"rxOctetStats\"");
    c = plain();
    json_object_set_new(json_object_get(c, "txFrameStats"), "16",
                        json_integer(1));
    refused(c, "an opcode past 15",
            "\"txFrameStats\" has a key that is not "
            "an opcode");
    c = plain();
    json_object_set_new(json_object_get(c, "txFrameStats"), "1",
                        json_integer(-1));
    refused(c, "a count below 0", "\"txFrameStats\" has a count");
    c = plain();
    json_object_set_new(c, "createWirelog", json_string("yes"));
    refused(c, "createWirelog a string", "\"createWirelog\"");
    c = plain();
    json_object_set_new(c, "wirelog", json_object());
    refused(c, "a wirelog that is no array", "\"wirelog\" is not an array");
    c = plain();
    json_array_append_new(json_object_get(c, "wirelog"), json_integer(3));
    refused(c, "a row that is no array", "\"wirelog\" row");
    c = plain();
    json_array_set_new(row(c, "TF", -1, 0), 2, json_integer(16));
    refused(c, "a frame row with opcode 16", "is not a frame");
    c = plain();
    json_array_set_new(row(c, "RF", -1, 0), 1, json_string("x"));
    refused(c, "a frame row without [length, payload]", "[length, octets]");
    c = plain();
    json_array_set_new(row(c, "TF", -1, 0), 6, json_string("x"));
    refused(c, "a TF row whose repeat length is a string", "is not a frame");

    /* Every key the testsuite writes, each of its type. */
    for (size_t i = 0; i < TAP_AUTOBAHN_KEYS; i++) {
        char want[80];
        c = plain();
        json_object_del(c, tap_autobahn_keys[i]);
        snprintf(want, sizeof(want), "\"%s\" missing", tap_autobahn_keys[i]);
        refused(c, tap_autobahn_keys[i], want);
    }
    c = plain();
    json_object_set_new(c, "id", json_integer(5));
    refused(c, "an id that is a number", "\"id\" is not a string");
    c = plain();
    json_object_set_new(c, "case", json_string("5"));
    refused(c, "a case that is a string", "\"case\" is not an integer");
    c = plain();
    json_object_set_new(c, "expected", json_array());
    refused(c, "expected an array", "\"expected\" is not an object");
    c = plain();
    json_object_set_new(c, "trafficStats", json_true());
    refused(c, "trafficStats true", "\"trafficStats\" is not an object");

    /* Every row kind the testsuite writes, each of its shape. */
    c = plain();
    json_array_append_new(json_object_get(c, "wirelog"),
                          json_pack("[s, i]", "XX", 1));
    refused(c, "a row of an unknown kind", "row 17 is of kind \"XX\"");
    c = plain();
    json_array_append_new(json_object_get(c, "wirelog"),
                          json_pack("[s, s]", "WLM", "maybe"));
    refused(c, "a WLM row that is neither on nor off",
            "row 17 (WLM): on is not true or false");
    c = plain();
    json_t *w = row(c, "RF", -1, 0);
    while (json_array_size(w) > 5) {
        json_array_remove(w, json_array_size(w) - 1);
    }
    refused(c, "an RF row cut to 5 elements", "(RF) has 5 elements, not 7");
    c = plain();
    json_array_set_new(row(c, "RF", -1, 0), 5, json_string("notbool"));
    refused(c, "an RF row masked \"notbool\"",
            "(RF) is not a frame: masked is not true or false");
    c = plain();
    json_array_set_new(row(c, "RF", -1, 0), 6, json_integer(1));
    refused(c, "an RF row whose mask is a number",
            "(RF) is not a frame: mask is not a string or null");
    c = plain();
    json_array_remove(row(c, "TO", -1, 0), 2);
    refused(c, "a TO row without sync", "(TO) has 2 elements, not 3");
    c = plain();
    json_array_set_new(row(c, "TF", -1, 0), 8, json_null());
    refused(c, "a TF row whose sync is null",
            "(TF) is not a frame: sync is not true or false");
    c = plain();
    json_array_set_new(row(c, "TF", -1, 0), 7, json_string("x"));
    refused(c, "a TF row whose chop size is a string",
            "(TF) is not a frame: chop size is not");
    static const char *const bad_rows[][2] = {
        {"[\"KL\"]", "row 17 (KL) has 1 element, not 2"},
        {"[\"KL\", \"1\"]", "row 17 (KL): delay is not a number"},
        {"[\"TI\", null]", "row 17 (TI): delay is not a number"},
        {"[\"CT\", 1]", "row 17 (CT) has 2 elements, not 3"},
        {"[\"CT\", 1, 2]", "row 17 (CT): tag is not a string or null"},
        {"[\"CTE\", true]", "row 17 (CTE): tag is not a string or null"},
        {"[\"RO\", [1]]", "row 17 (RO) has no [length, octets]"},
    };
    for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
        c = plain();
        json_array_append_new(json_object_get(c, "wirelog"),
                              json_loads(bad_rows[i][0], 0, NULL));
        refused(c, bad_rows[i][0], bad_rows[i][1]);
    }

    /* The testsuite's other rows, and rows with more elements than it
     * writes (wsd's marks), are accepted. */
    char err[COMPARE_ERROR_MAX] = "";
    c = plain();
    json_t *more = json_loads("[[\"KL\", 0.5], [\"KLE\"], [\"TI\", 1], "
                              "[\"TIE\"], [\"CT\", 1.5, null], "
                              "[\"CT\", 1, \"tag\"], [\"CTE\", null], "
                              "[\"CTE\", \"tag\"], [\"WLM\", false], "
                              "[\"WLM\", true], [\"RO\", [1, \"00\"], 9]]",
                              0, NULL);
    json_array_extend(json_object_get(c, "wirelog"), more);
    json_decref(more);
    ok(compare_is_autobahn_case(c, err),
       "every other row kind of the testsuite accepted (%s)", err);
    json_decref(c);
}

static void
test_key(void)
{
    char key[64];
    json_t *c = json_pack(
        "{s:s}", "httpRequest",
        "GET / HTTP/1.1\r\nhost: x\r\nsec-websocket-KEY:  dGhlIHNhbXBsZSBub25"
        "jZQ== \r\n\r\n");

    ok(compare_request_key(c, key, sizeof(key)) &&
           strcmp(key, "dGhlIHNhbXBsZSBub25jZQ==") == 0,
       "the key: its header named in any case, its value trimmed");
    ok(!compare_request_key(c, key, 10), "a key longer than the room: none");
    json_object_set_new(c, "httpRequest",
                        json_string("GET / HTTP/1.1\r\n\r\n"));
    ok(!compare_request_key(c, key, sizeof(key)), "no key header: none");
    json_object_set_new(c, "httpRequest", json_string("?"));
    ok(!compare_request_key(c, key, sizeof(key)), "no head (\"?\"): none");
    json_decref(c);
}

int
main(void)
{
    if (load_data() == 0) {
        test_real_pairs();
        test_identical_in_part();
        test_quirks();
        test_segmentation();
        test_heads();
        test_extensions();
        test_frames();
        test_closing();
        test_octets();
        test_shape();
    }
    test_key();
    json_decref(client_cases);
    json_decref(wsd_by_key);
    return tap_done();
}
