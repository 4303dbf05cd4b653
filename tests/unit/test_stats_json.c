/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for stats_json: a case record as a JSON object with the
 * Autobahn testsuite's key names (every key, its exact value), strings a
 * peer chose made valid UTF-8, the totals document of GET /v1/stats, and
 * the Prometheus text exposition (HELP and TYPE before the samples, sample
 * syntax, counter names).
 */
#include "autoconf.h"

#include "stats_json.h"

#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "tap.h"
#include "tap_json.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* 2023-11-14T22:13:20.123Z */
#define T0_MS 1700000000123ULL

/* Every key of a case object, in the README's order. */
static const char *const case_keys[] = {
    "id",
    "worker",
    "peer",
    "path",
    "case",
    "agent",
    "userAgent",
    "httpStatus",
    "started",
    "durationMs",
    "state",
    "rxOctetStats",
    "txOctetStats",
    "rxOctetOverflow",
    "txOctetOverflow",
    "rxFrameStats",
    "txFrameStats",
    "rxFrameIncomplete",
    "rxMessages",
    "txMessages",
    "rxPayloadBytes",
    "txPayloadBytes",
    "closedByMe",
    "failedByMe",
    "droppedByMe",
    "wasClean",
    "wasNotCleanReason",
    "wasOpenHandshakeTimeout",
    "wasCloseHandshakeTimeout",
    "localCloseCode",
    "localCloseReason",
    "remoteCloseCode",
    "remoteCloseReason",
    "key",
    "httpRequest",
    "httpRequestTruncated",
    "httpResponse",
    "httpResponseTruncated",
    "wirelog",
    "wirelogEntries",
    "deflate",
    "tls",
};

#define SET(field, text) stats_copy(field, sizeof(field), text, strlen(text))

/* A closed case that failed, timed out, and negotiated deflate. */
static void
test_case_full(void)
{
    struct stats_case c;

    memset(&c, 0, sizeof(c));
    c.id = 7;
    c.worker = 1;
    c.state = STATS_CASE_CLOSED;
    c.http_status = 101;
    c.started_ms = T0_MS;
    c.ended_ms = T0_MS + 456;
    SET(c.peer, "127.0.0.1:57672");
    SET(c.path, "/ws");
    SET(c.query_case, "12");
    SET(c.query_agent, "wsd-test");
    SET(c.user_agent, "Python/3.11 websockets/10.4");
    stats_octets_add(&c.rx_octets, 240);
    stats_octets_add(&c.rx_octets, 7);
    stats_octets_add(&c.rx_octets, 7);
    stats_octets_add(&c.rx_octets, 7);
    c.rx_octets.overflow_count = 2;
    c.rx_octets.overflow_octets = 99999;
    stats_octets_add(&c.tx_octets, 4);
    stats_octets_add(&c.tx_octets, 4);
    stats_octets_add(&c.tx_octets, 129);
    c.rx_frames[1] = 2;
    c.rx_frames[2] = 1;
    c.rx_frames[8] = 1;
    c.rx_frames[9] = 1;
    c.tx_frames[1] = 2;
    c.tx_frames[8] = 1;
    c.tx_frames[10] = 1;
    c.rx_frame_incomplete = 1;
    c.rx_messages = 3;
    c.tx_messages = 2;
    c.rx_payload_bytes = 1305;
    c.tx_payload_bytes = 1300;
    c.rx_compressed_bytes = 26;
    c.tx_compressed_bytes = 23;
    c.closed_by_me = 1;
    c.failed_by_me = 1;
    c.dropped_by_me = 1;
    c.was_clean = 0;
    c.was_close_handshake_timeout = 1;
    SET(c.was_not_clean_reason, "peer did not answer our close in time");
    c.local_close_code = 1002;
    c.local_close_has_code = 1;
    SET(c.local_close_reason, "bad frame");
    c.local_close_reason_len = 9;
    SET(c.deflate_offer, "permessage-deflate; client_max_window_bits");
    SET(c.deflate_response, "permessage-deflate; client_max_window_bits=15");

    json_t *j = stats_json_case(&c, T0_MS + 99999);
    ok(j != NULL && json_is_object(j), "a closed case is an object");
    if (j == NULL) {
        return;
    }
    has_exactly_keys(j, case_keys, NELEM(case_keys), "closed case");
    is_key(j, "id", "7");
    is_key(j, "worker", "1");
    is_key(j, "peer", "\"127.0.0.1:57672\"");
    is_key(j, "path", "\"/ws\"");
    is_key(j, "case", "\"12\"");
    is_key(j, "agent", "\"wsd-test\"");
    is_key(j, "userAgent", "\"Python/3.11 websockets/10.4\"");
    is_key(j, "httpStatus", "101");
    is_key(j, "started", "\"2023-11-14T22:13:20.123Z\"");
    is_key(j, "durationMs", "456");
    is_key(j, "state", "\"closed\"");
    is_key(j, "rxOctetStats", "{\"240\":1,\"7\":3}");
    is_key(j, "txOctetStats", "{\"129\":1,\"4\":2}");
    is_key(j, "rxOctetOverflow", "{\"count\":2,\"octets\":99999}");
    is_key(j, "txOctetOverflow", "null");
    is_key(j, "rxFrameStats", "{\"1\":2,\"2\":1,\"8\":1,\"9\":1}");
    is_key(j, "txFrameStats", "{\"1\":2,\"10\":1,\"8\":1}");
    is_key(j, "rxFrameIncomplete", "true");
    is_key(j, "rxMessages", "3");
    is_key(j, "txMessages", "2");
    is_key(j, "rxPayloadBytes", "1305");
    is_key(j, "txPayloadBytes", "1300");
    is_key(j, "closedByMe", "true");
    is_key(j, "failedByMe", "true");
    is_key(j, "droppedByMe", "true");
    is_key(j, "wasClean", "false");
    is_key(j, "wasNotCleanReason", "\"peer did not answer our close in time\"");
    is_key(j, "wasOpenHandshakeTimeout", "false");
    is_key(j, "wasCloseHandshakeTimeout", "true");
    is_key(j, "localCloseCode", "1002");
    is_key(j, "localCloseReason", "\"bad frame\"");
    is_key(j, "remoteCloseCode", "null");
    is_key(j, "remoteCloseReason", "null");
    is_key(j, "deflate",
           "{\"granted\":\"permessage-deflate; client_max_window_bits=15\","
           "\"offered\":\"permessage-deflate; client_max_window_bits\","
           "\"rxCompressedBytes\":26,\"rxInflatedBytes\":1305,"
           "\"txCompressedBytes\":23,\"txUncompressedBytes\":1300}");
    is_key(j, "tls", "null");
    json_decref(j);
}

/* A case still open, before any response: mostly nulls and zeros. */
static void
test_case_fresh(void)
{
    struct stats_case c;

    memset(&c, 0, sizeof(c));
    c.id = 1;
    c.state = STATS_CASE_HANDSHAKE;
    c.started_ms = T0_MS;
    json_t *j = stats_json_case(&c, T0_MS + 1000);
    ok(j != NULL, "a fresh case");
    if (j == NULL) {
        return;
    }
    has_exactly_keys(j, case_keys, NELEM(case_keys), "fresh case");
    is_key(j, "id", "1");
    is_key(j, "worker", "0");
    is_key(j, "peer", "null");
    is_key(j, "path", "null");
    is_key(j, "case", "null");
    is_key(j, "agent", "null");
    is_key(j, "userAgent", "null");
    is_key(j, "httpStatus", "null");
    is_key(j, "durationMs", "1000");
    is_key(j, "state", "\"handshake\"");
    is_key(j, "rxOctetStats", "{}");
    is_key(j, "txOctetStats", "{}");
    is_key(j, "rxOctetOverflow", "null");
    is_key(j, "txOctetOverflow", "null");
    is_key(j, "rxFrameStats", "{}");
    is_key(j, "txFrameStats", "{}");
    is_key(j, "rxFrameIncomplete", "false");
    is_key(j, "rxMessages", "0");
    is_key(j, "closedByMe", "false");
    is_key(j, "failedByMe", "false");
    is_key(j, "droppedByMe", "false");
    is_key(j, "wasClean", "false");
    is_key(j, "wasNotCleanReason", "null");
    is_key(j, "wasOpenHandshakeTimeout", "false");
    is_key(j, "localCloseCode", "null");
    is_key(j, "localCloseReason", "null");
    is_key(j, "remoteCloseCode", "null");
    is_key(j, "remoteCloseReason", "null");
    is_key(j, "deflate", "null");
    is_key(j, "tls", "null");
    json_decref(j);

    static const char *const states[] = {"\"free\"",   "\"handshake\"",
                                         "\"open\"",   "\"closing\"",
                                         "\"closed\"", "\"unknown\""};
    for (unsigned st = 0; st < NELEM(states); st++) {
        c.state = (uint8_t)(st < 5 ? st : 200);
        j = stats_json_case(&c, T0_MS);
        is_key(j, "state", states[st]);
        json_decref(j);
    }
}

/* A clean close, TLS, an offer declined, and a record with bad numbers. */
static void
test_case_variants(void)
{
    struct stats_case c;

    memset(&c, 0, sizeof(c));
    c.id = 3;
    c.state = STATS_CASE_CLOSED;
    c.http_status = 101;
    c.started_ms = 0; /* the epoch */
    c.ended_ms = T0_MS;
    c.was_clean = 1;
    c.dropped_by_me = 1;
    /* A stale reason is not shown for a clean close. */
    SET(c.was_not_clean_reason, "stale");
    c.local_close_code = 1000;
    c.local_close_has_code = 1;
    c.remote_close_code = 4999;
    c.remote_close_has_code = 1;
    SET(c.remote_close_reason, "bye");
    c.remote_close_reason_len = 3;
    SET(c.deflate_offer, "permessage-deflate; foo=1");
    c.tls = 1;
    SET(c.tls_version, "TLSv1.3");
    SET(c.tls_cipher, "TLS_AES_128_GCM_SHA256");
    /* A copy of shared memory a worker scribbled on: n past the array. */
    c.rx_octets.n = 1000;
    for (unsigned i = 0; i < STATS_OCTET_SIZES; i++) {
        c.rx_octets.size[i] = i + 1;
        c.rx_octets.count[i] = 1;
    }

    json_t *j = stats_json_case(&c, T0_MS);
    ok(j != NULL, "a clean TLS case");
    if (j == NULL) {
        return;
    }
    is_key(j, "wasClean", "true");
    is_key(j, "wasNotCleanReason", "null");
    is_key(j, "localCloseCode", "1000");
    is_key(j, "remoteCloseCode", "4999");
    is_key(j, "remoteCloseReason", "\"bye\"");
    is_key(j, "started", "\"1970-01-01T00:00:00.000Z\"");
    is_key(j, "deflate",
           "{\"granted\":null,\"offered\":\"permessage-deflate; foo=1\","
           "\"rxCompressedBytes\":0,\"rxInflatedBytes\":0,"
           "\"txCompressedBytes\":0,\"txUncompressedBytes\":0}");
    is_key(j, "tls",
           "{\"cipher\":\"TLS_AES_128_GCM_SHA256\",\"version\":\"TLSv1.3\"}");
    json_t *rx = json_object_get(j, "rxOctetStats");
    is_int(json_object_size(rx), STATS_OCTET_SIZES,
           "an octet count past 32 is bounded to 32 sizes");
    json_decref(j);

    /* The clock stepped back: the end before the start. */
    c.started_ms = T0_MS;
    c.ended_ms = T0_MS - 5;
    j = stats_json_case(&c, T0_MS);
    is_key(j, "durationMs", "0");
    json_decref(j);

    /* A close frame's code is shown when the frame had one, whatever its
     * value (a peer may send 0 or 1005), and null when it had none. */
    c.remote_close_code = 1005;
    c.remote_close_has_code = 1;
    c.local_close_code = 0;
    c.local_close_has_code = 1;
    j = stats_json_case(&c, T0_MS);
    is_key(j, "remoteCloseCode", "1005");
    is_key(j, "localCloseCode", "0");
    json_decref(j);
    c.remote_close_code = 1000;
    c.remote_close_has_code = 0;
    c.local_close_code = 1000;
    c.local_close_has_code = 0;
    j = stats_json_case(&c, T0_MS);
    is_key(j, "remoteCloseCode", "null");
    is_key(j, "localCloseCode", "null");
    json_decref(j);

    /* Strings the record holds unterminated (a full field): cut at the
     * field's end, never read past it. */
    memset(c.user_agent, 'A', sizeof(c.user_agent));
    memset(c.was_not_clean_reason, 'r', sizeof(c.was_not_clean_reason));
    c.was_clean = 0;
    j = stats_json_case(&c, T0_MS);
    json_t *ua = json_object_get(j, "userAgent");
    is_int(json_string_length(ua), STATS_UA_MAX,
           "an unterminated userAgent stops at its field");
    is_int(json_string_length(json_object_get(j, "wasNotCleanReason")),
           STATS_NOTE_MAX, "an unterminated reason stops at its field");
    json_decref(j);

    /* Peer-chosen strings that are not UTF-8 stay valid JSON. */
    SET(c.user_agent, "ua\xff\xfe\xc0");
    SET(c.remote_close_reason, "r\xed\xa0\x80");
    c.remote_close_reason_len = 4;
    SET(c.path, "/ws\x80");
    j = stats_json_case(&c, T0_MS);
    is_key(j, "userAgent", "\"ua\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    is_key(j, "remoteCloseReason", "\"r\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    is_key(j, "path", "\"/ws\xef\xbf\xbd\"");
    json_decref(j);

    /* A reason holding NUL (valid UTF-8) is whole, by its length. */
    memcpy(c.remote_close_reason, "ab\0cd", 6);
    c.remote_close_reason_len = 5;
    j = stats_json_case(&c, T0_MS);
    is_key(j, "remoteCloseReason", "\"ab\\u0000cd\"");
    json_decref(j);
    SET(c.remote_close_reason, "r\xed\xa0\x80");
    c.remote_close_reason_len = 4;
    j = stats_json_case(&c, T0_MS);
    char *text = tap_json_text(j);
    json_error_t err;
    json_t *back = text != NULL ? json_loads(text, 0, &err) : NULL;
    ok(back != NULL, "the whole document parses back");
    json_decref(back);
    free(text);
    json_decref(j);
}

#define FFFD "\xef\xbf\xbd"

static void
test_string(void)
{
    static const struct {
        const char *name;
        const char *in;
        size_t len;
        const char *want; /* the JSON text */
    } cases[] = {
        {"empty", "", 0, "\"\""},
        {"ASCII", "abc", 3, "\"abc\""},
        {"valid multi-byte", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
         "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""},
        {"NUL is valid", "a\0b", 3, "\"a\\u0000b\""},
        {"quote and backslash", "\"\\", 2, "\"\\\"\\\\\""},
        {"lone 0xff", "\xff", 1, "\"" FFFD "\""},
        {"0xff between letters",
         "a\xff"
         "b",
         3, "\"a" FFFD "b\""},
        {"lone continuation byte", "\x80", 1, "\"" FFFD "\""},
        {"truncated 3-byte sequence at the end", "ab\xe2\x82", 4,
         "\"ab" FFFD FFFD "\""},
        {"truncated 3-byte sequence before ASCII", "\xe2\x82xyz", 5,
         "\"" FFFD FFFD "xyz\""},
        {"truncated 4-byte sequence", "\xf0\x9f\x98", 3,
         "\"" FFFD FFFD FFFD "\""},
        {"overlong NUL C0 80", "\xc0\x80", 2, "\"" FFFD FFFD "\""},
        {"overlong E0 80 AF", "\xe0\x80\xaf", 3, "\"" FFFD FFFD FFFD "\""},
        {"surrogate ED A0 80", "\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\""},
        {"above U+10FFFF", "\xf4\x90\x80\x80", 4,
         "\"" FFFD FFFD FFFD FFFD "\""},
        {"valid parts around bad ones",
         "\xc3\xa9\xff\xe2\x82\xac\xc0\x80\xf0\x9f\x98\x80!", 13,
         "\"\xc3\xa9" FFFD "\xe2\x82\xac" FFFD FFFD "\xf0\x9f\x98\x80!\""},
        {"lead byte then a valid sequence", "\xe2\xc3\xa9", 3,
         "\"" FFFD "\xc3\xa9\""},
    };

    for (size_t i = 0; i < NELEM(cases); i++) {
        json_t *j = stats_json_string(cases[i].in, cases[i].len);
        char *got = j != NULL ? tap_json_text(j) : NULL;
        is_mem(got, got != NULL ? strlen(got) : 0, cases[i].want,
               strlen(cases[i].want), "string: %s", cases[i].name);
        free(got);
        json_decref(j);
    }

    /* Every single byte and every pair: always a valid string. */
    bool all = true;
    for (unsigned a = 0; a < 256; a++) {
        for (unsigned b = 0; b < 256; b++) {
            char in[2] = {(char)a, (char)b};
            json_t *j = stats_json_string(in, 2);
            all = all && j != NULL && json_is_string(j);
            json_decref(j);
        }
    }
    ok(all, "every 2-byte input becomes a JSON string");
}

/* A snapshot of two workers, one running and one down. */
static struct stats_json_worker workers[2];
static struct stats_json_process processes[2];

static struct stats_json_snapshot
make_snapshot(void)
{
    struct stats_json_snapshot s;

    memset(workers, 0, sizeof(workers));
    workers[0].slot = 0;
    workers[0].pid = 4321;
    workers[0].generation = 2;
    workers[0].heartbeat_ms = T0_MS + 61000 - 50;
    workers[0].crashed = 3;
    workers[0].retired = 1;
    struct stats_totals *t = &workers[0].t;
    t->accepted = 10;
    t->active = 2;
    t->peak = 5;
    t->refused[STATS_STATUS_426] = 1;
    t->refused[STATS_STATUS_OTHER] = 2;
    t->rx_messages = 100;
    t->tx_messages = 99;
    t->rx_frames = 110;
    t->tx_frames = 108;
    t->rx_octets = 5000;
    t->tx_octets = 4000;
    t->close_sent[STATS_CLOSE_1000] = 3;
    t->close_sent[STATS_CLOSE_3XXX] = 1;
    t->close_received[STATS_CLOSE_1000] = 3;
    t->close_received[STATS_CLOSE_1000 + 7] = 1;
    t->clean = 6;
    t->unclean = 2;
    t->unrecorded = 1;
    t->wrong_protocol[STATS_WRONG_TLS_ON_PLAIN] = 7;
    t->unopened = 3;
    t->tls_failed = 2;
    t->deflate = 4;
    t->case_log_write_errors = 5;
    t->tls = 3;
    t->timeouts[STATS_TIMEOUT_HANDSHAKE] = 1;
    t->timeouts[STATS_TIMEOUT_CLOSE] = 2;
    t->timeouts[STATS_TIMEOUT_PING] = 3;
    t->timeouts[STATS_TIMEOUT_IDLE] = 4;
    t->duration_ms[0] = 2;                          /* <= 0.1 s */
    t->duration_ms[2] = 3;                          /* <= 10 s */
    t->duration_ms[STATS_DURATION_BUCKETS - 1] = 1; /* over an hour */
    t->duration_ms_sum = 3 * 5000 + 4000000 + 150;
    t->rx_message_bytes[1] = 100; /* <= 1 KiB */
    t->rx_message_bytes_sum = 12345;
    t->tx_message_bytes[0] = 99; /* <= 64 B */
    t->tx_message_bytes_sum = 99 * 64;
    workers[1].slot = 1;
    workers[1].pid = 0;
    workers[1].generation = 1;
    workers[1].heartbeat_ms = 0;
    t = &workers[1].t;
    t->accepted = 5;
    t->peak = 4;
    t->refused[STATS_STATUS_400] = 3;
    t->rx_messages = 1;
    t->tx_messages = 1;
    t->rx_frames = 2;
    t->tx_frames = 2;
    t->rx_octets = 700;
    t->tx_octets = 600;
    t->close_sent[STATS_CLOSE_1000] = 2;
    t->close_sent[STATS_CLOSE_OTHER] = 1;
    t->close_received[STATS_CLOSE_4XXX] = 2;
    t->clean = 1;
    t->unclean = 4;
    t->wrong_protocol[STATS_WRONG_TLS_ON_PLAIN] = 1;
    t->wrong_protocol[STATS_WRONG_PLAIN_ON_TLS] = 2;
    t->case_log_write_errors = 2;
    t->tls = 1;

    memset(&s, 0, sizeof(s));
    s.version = "0.1.0-test";
    s.layout_major = 2;
    s.layout_minor = 0;
    s.started_ms = T0_MS;
    s.now_ms = T0_MS + 61000;
    s.last_case_id = 15;
    s.peak_active = 6; /* not 5 + 4: the peak of the sum */
    s.n_cases = 4096;
    s.n_workers = 2;
    s.workers = workers;
    s.max_connections = 10000;
    s.reloads = 2;
    s.reloads_refused = 1;
    memset(processes, 0, sizeof(processes));
    processes[0].worker = -1;
    processes[0].s.cpu_ms = 1250;
    processes[0].s.start_ms = T0_MS;
    processes[0].s.resident_bytes = 4096000;
    processes[0].s.virtual_bytes = 26341376;
    processes[0].s.open_fds = 14;
    processes[0].s.max_fds = 20000;
    processes[1].worker = 0;
    processes[1].s.cpu_ms = 30;
    processes[1].s.start_ms = T0_MS + 70;
    processes[1].s.open_fds = 7;
    processes[1].s.max_fds = PROCFS_UNLIMITED;
    s.n_processes = 2;
    s.processes = processes;
    return s;
}

/*
 * The histograms of make_snapshot's worker 0 (worker 1 has none) in a
 * totals object: cumulative counts, the bounds in ascending order. Then
 * they are deleted, so that the caller compares the rest as one string.
 */
static void
check_histograms(json_t *totals, const char *what)
{
    static const char *const order[] = {"100",    "1000",    "10000", "60000",
                                        "600000", "3600000", "+Inf"};
    json_t *h = json_object_get(totals, "connectionDurationMs");
    json_t *b = json_object_get(h, "buckets");
    const char *key;
    json_t *v;
    size_t i = 0;
    bool in_order = json_object_size(b) == NELEM(order);

    is_key(h, "sum", "4015150");
    json_object_foreach(b, key, v)
    {
        in_order = in_order && i < NELEM(order) && strcmp(key, order[i]) == 0;
        i++;
    }
    ok(in_order, "%s: connectionDurationMs buckets by bound, +Inf last", what);
    is_key(h, "buckets",
           "{\"+Inf\":6,\"100\":2,\"1000\":2,\"10000\":5,\"3600000\":5,"
           "\"60000\":5,\"600000\":5}");
    is_key(totals, "rxMessageBytes",
           "{\"buckets\":{\"+Inf\":100,\"1024\":100,\"1048576\":100,"
           "\"16384\":100,\"16777216\":100,\"262144\":100,\"64\":0},"
           "\"sum\":12345}");
    is_key(totals, "txMessageBytes",
           "{\"buckets\":{\"+Inf\":99,\"1024\":99,\"1048576\":99,"
           "\"16384\":99,\"16777216\":99,\"262144\":99,\"64\":99},"
           "\"sum\":6336}");
    json_object_del(totals, "connectionDurationMs");
    json_object_del(totals, "rxMessageBytes");
    json_object_del(totals, "txMessageBytes");
}

static void
test_stats(void)
{
    struct stats_json_snapshot s = make_snapshot();
    json_t *j = stats_json_stats(&s);

    ok(j != NULL && json_is_object(j), "stats is an object");
    if (j == NULL) {
        return;
    }
    is_int(json_object_size(j), 8, "stats has 8 keys");
    is_key(j, "reloads", "{\"done\":2,\"refused\":1}");
    is_key(j, "version", "\"0.1.0-test\"");
    is_key(j, "layoutVersion", "\"2.0\"");
    is_key(j, "started", "\"2023-11-14T22:13:20.123Z\"");
    is_key(j, "uptimeSeconds", "61");
    is_key(j, "cases", "{\"capacity\":4096,\"lastId\":15}");
    check_histograms(json_object_get(j, "totals"), "totals");
    is_key(j, "totals",
           "{\"accepted\":15,\"active\":2,\"caseLogWriteErrors\":7,"
           "\"clean\":7,"
           "\"closeCodesReceived\":{\"1000\":3,\"1007\":1,\"4000-4999\":2},"
           "\"closeCodesSent\":{\"1000\":5,\"3000-3999\":1,\"other\":1},"
           "\"deflateNegotiated\":4,\"peak\":6,"
           "\"refused\":{\"400\":3,\"404\":0,\"405\":0,\"426\":1,\"431\":0,"
           "\"503\":0,\"other\":2},"
           "\"rxFrames\":112,\"rxMessages\":101,\"rxOctets\":5700,"
           "\"timeouts\":{\"close\":2,\"handshake\":1,\"idle\":4,"
           "\"ping\":3},\"tlsHandshakesFailed\":2,\"tlsOpened\":4,"
           "\"txFrames\":110,\"txMessages\":100,\"txOctets\":4600,"
           "\"unclean\":6,\"unopened\":3,\"unrecorded\":1,"
           "\"wrongProtocol\":{\"plainOnTlsPort\":2,\"tlsOnPlainPort\":8}}");
    json_t *w = json_object_get(j, "workers");
    is_int(json_array_size(w), 2, "two workers listed");
    json_t *w0 = json_array_get(w, 0);
    json_t *w1 = json_array_get(w, 1);
    is_key(w0, "slot", "0");
    is_key(w0, "pid", "4321");
    is_key(w0, "generation", "2");
    is_key(w0, "state", "\"running\"");
    is_key(w0, "heartbeatAgeMs", "50");
    is_key(w0, "exits", "{\"crashed\":3,\"fatal\":0,\"retired\":1}");
    check_histograms(json_object_get(w0, "totals"), "worker 0");
    is_key(w0, "totals",
           "{\"accepted\":10,\"active\":2,\"caseLogWriteErrors\":5,"
           "\"clean\":6,"
           "\"closeCodesReceived\":{\"1000\":3,\"1007\":1},"
           "\"closeCodesSent\":{\"1000\":3,\"3000-3999\":1},"
           "\"deflateNegotiated\":4,\"peak\":5,"
           "\"refused\":{\"400\":0,\"404\":0,\"405\":0,\"426\":1,\"431\":0,"
           "\"503\":0,\"other\":2},"
           "\"rxFrames\":110,\"rxMessages\":100,\"rxOctets\":5000,"
           "\"timeouts\":{\"close\":2,\"handshake\":1,\"idle\":4,"
           "\"ping\":3},\"tlsHandshakesFailed\":2,\"tlsOpened\":3,"
           "\"txFrames\":108,\"txMessages\":99,\"txOctets\":4000,"
           "\"unclean\":2,\"unopened\":3,\"unrecorded\":1,"
           "\"wrongProtocol\":{\"plainOnTlsPort\":0,\"tlsOnPlainPort\":7}}");
    is_key(w1, "slot", "1");
    is_key(w1, "pid", "null");
    is_key(w1, "generation", "1");
    is_key(w1, "state", "\"down\"");
    is_key(w1, "heartbeatAgeMs", "null");
    is_int(json_integer_value(
               json_object_get(json_object_get(w1, "totals"), "peak")),
           4, "a worker's own peak is its own");
    json_decref(j);

    /* A heartbeat from the future (clock stepped back): no age. */
    workers[0].heartbeat_ms = s.now_ms + 10;
    j = stats_json_stats(&s);
    is_key(json_array_get(json_object_get(j, "workers"), 0), "heartbeatAgeMs",
           "null");
    json_decref(j);
}

/* The text of an evbuffer, NUL-terminated; the caller frees it. */
static char *
buffer_text(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *p = malloc(n + 1);
    if (p != NULL) {
        evbuffer_copyout(b, p, n);
        p[n] = '\0';
    }
    return p;
}

static bool
ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s);
    size_t t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Checks the exposition's structure; returns the number of samples. */
static unsigned
check_exposition(char *text, unsigned long long *accepted_sum,
                 unsigned long long *peak)
{
    regex_t sample;
    char family[128] = "";
    char helped[128] = "";
    unsigned n_samples = 0;
    unsigned bad_samples = 0;
    unsigned bad_order = 0;
    unsigned bad_counters = 0;
    unsigned families = 0;
    char *save = NULL;

    if (regcomp(&sample,
                "^[a-z_]+(\\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\\})? "
                "([0-9]+(\\.[0-9]+)?|\\+Inf)$",
                REG_EXTENDED | REG_NOSUB) != 0) {
        ok(false, "regcomp");
        return 0;
    }
    *accepted_sum = 0;
    *peak = 0;
    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char name[128];
        if (strncmp(line, "# HELP ", 7) == 0) {
            if (sscanf(line + 7, "%127s", name) != 1 ||
                strcmp(name, family) == 0) {
                bad_order++;
            }
            (void)snprintf(helped, sizeof(helped), "%s", name);
            family[0] = '\0';
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char type[32];
            if (sscanf(line + 7, "%127s %31s", name, type) != 2 ||
                strcmp(name, helped) != 0 ||
                (strcmp(type, "counter") != 0 && strcmp(type, "gauge") != 0 &&
                 strcmp(type, "histogram") != 0)) {
                tap_diag("TYPE not right after its HELP: %s", line);
                bad_order++;
            }
            if (strcmp(type, "counter") == 0 && !ends_with(name, "_total")) {
                tap_diag("counter not named *_total: %s", name);
                bad_counters++;
            }
            (void)snprintf(family, sizeof(family), "%s", name);
            helped[0] = '\0';
            families++;
            continue;
        }
        n_samples++;
        if (regexec(&sample, line, 0, NULL, 0) != 0) {
            tap_diag("bad sample line: %s", line);
            bad_samples++;
            continue;
        }
        size_t len = strcspn(line, "{ ");
        size_t flen = strlen(family);
        /* A histogram's samples are FAMILY_bucket, _sum and _count. */
        bool in_family =
            flen == len || (len > flen && line[flen] == '_' &&
                            (strncmp(line + flen, "_bucket", len - flen) == 0 ||
                             strncmp(line + flen, "_sum", len - flen) == 0 ||
                             strncmp(line + flen, "_count", len - flen) == 0));
        if (family[0] == '\0' || !in_family ||
            strncmp(line, family, flen) != 0) {
            tap_diag("sample outside its family (%s): %s", family, line);
            bad_order++;
        }
        const char *value = strrchr(line, ' ') + 1;
        if (strncmp(line, "wsd_connections_accepted_total{", 31) == 0) {
            *accepted_sum += strtoull(value, NULL, 10);
        }
        if (strncmp(line, "wsd_connections_peak ", 21) == 0) {
            *peak = strtoull(value, NULL, 10);
        }
    }
    regfree(&sample);
    ok(families >= 10, "%u metric families", families);
    is_int(bad_order, 0, "every metric has # HELP, then # TYPE, then samples");
    is_int(bad_samples, 0, "every sample line is name{labels} number");
    is_int(bad_counters, 0, "every counter's name ends in _total");
    return n_samples;
}

static void
test_prometheus(void)
{
    struct stats_json_snapshot s = make_snapshot();
    struct evbuffer *b = evbuffer_new();
    unsigned long long accepted;
    unsigned long long peak;

    is_int(stats_json_prometheus(&s, b), 0, "prometheus text written");
    char *text = buffer_text(b);
    evbuffer_free(b);
    if (text == NULL) {
        ok(false, "prometheus text copied");
        return;
    }
    ok(ends_with(text, "\n"), "the exposition ends with a newline");
    static const char *const lines[] = {
        "\nwsd_info{version=\"0.1.0-test\",layout=\"2.0\"} 1\n",
        "\nwsd_uptime_seconds 61\n",
        "\nwsd_worker_up{worker=\"0\"} 1\n",
        "\nwsd_worker_up{worker=\"1\"} 0\n",
        "\nwsd_worker_starts_total{worker=\"0\"} 2\n",
        "\nwsd_connections_accepted_total{worker=\"1\"} 5\n",
        "\nwsd_connections_active{worker=\"0\"} 2\n",
        "\nwsd_handshakes_refused_total{worker=\"0\",status=\"426\"} 1\n",
        "\nwsd_handshakes_refused_total{worker=\"1\",status=\"400\"} 3\n",
        "\nwsd_messages_total{worker=\"0\",direction=\"received\"} 100\n",
        "\nwsd_messages_total{worker=\"0\",direction=\"sent\"} 99\n",
        "\nwsd_bytes_total{worker=\"1\",direction=\"sent\"} 600\n",
        "\nwsd_closes_total{worker=\"1\",outcome=\"unclean\"} 4\n",
        "\nwsd_closes_total{worker=\"0\",outcome=\"unopened\"} 3\n",
        "\nwsd_tls_handshakes_failed_total{worker=\"0\"} 2\n",
        "\nwsd_deflate_negotiated_total{worker=\"0\"} 4\n",
        "\nwsd_tls_opened_total{worker=\"0\"} 3\n",
        "\nwsd_tls_opened_total{worker=\"1\"} 1\n",
        "\nwsd_timeouts_total{worker=\"0\",kind=\"handshake\"} 1\n",
        "\nwsd_timeouts_total{worker=\"0\",kind=\"idle\"} 4\n",
        "\nwsd_timeouts_total{worker=\"1\",kind=\"ping\"} 0\n",
        "\nwsd_connections_max 10000\n",
        "\nwsd_worker_exits_total{worker=\"0\",reason=\"crashed\"} 3\n",
        "\nwsd_worker_exits_total{worker=\"0\",reason=\"retired\"} 1\n",
        "\nwsd_worker_exits_total{worker=\"1\",reason=\"fatal\"} 0\n",
        "\nwsd_reloads_total{result=\"done\"} 2\n",
        "\nwsd_reloads_total{result=\"refused\"} 1\n",
        "\nprocess_cpu_seconds_total{process=\"master\"} 1.25\n",
        "\nprocess_cpu_seconds_total{process=\"worker\",worker=\"0\"} 0.03\n",
        "\nprocess_resident_memory_bytes{process=\"master\"} 4096000\n",
        "\nprocess_virtual_memory_bytes{process=\"master\"} 26341376\n",
        "\nprocess_open_fds{process=\"worker\",worker=\"0\"} 7\n",
        "\nprocess_max_fds{process=\"master\"} 20000\n",
        "\nprocess_max_fds{process=\"worker\",worker=\"0\"} +Inf\n",
        "\nprocess_start_time_seconds{process=\"master\"} 1700000000.123\n",
        "\nprocess_start_time_seconds{process=\"worker\",worker=\"0\"} "
        "1700000000.193\n",
        "\n# TYPE process_cpu_seconds_total counter\n",
        "\n# TYPE process_open_fds gauge\n",
        "\n# TYPE wsd_connection_duration_seconds histogram\n",
        "\nwsd_connection_duration_seconds_bucket{worker=\"0\",le=\"0.1\"} 2\n",
        "\nwsd_connection_duration_seconds_bucket{worker=\"0\",le=\"1\"} 2\n",
        "\nwsd_connection_duration_seconds_bucket{worker=\"0\",le=\"10\"} 5\n",
        "\nwsd_connection_duration_seconds_bucket{worker=\"0\",le=\"3600\"} "
        "5\n",
        "\nwsd_connection_duration_seconds_bucket{worker=\"0\",le=\"+Inf\"} "
        "6\n",
        "\nwsd_connection_duration_seconds_sum{worker=\"0\"} 4015.15\n",
        "\nwsd_connection_duration_seconds_count{worker=\"0\"} 6\n",
        "\nwsd_connection_duration_seconds_count{worker=\"1\"} 0\n",
        "\nwsd_connection_duration_seconds_sum{worker=\"1\"} 0\n",
        "\n# TYPE wsd_message_size_bytes histogram\n",
        "\nwsd_message_size_bytes_bucket{worker=\"0\",direction=\"received\","
        "le=\"64\"} 0\n",
        "\nwsd_message_size_bytes_bucket{worker=\"0\",direction=\"received\","
        "le=\"1024\"} 100\n",
        "\nwsd_message_size_bytes_sum{worker=\"0\",direction=\"received\"} "
        "12345\n",
        "\nwsd_message_size_bytes_bucket{worker=\"0\",direction=\"sent\","
        "le=\"64\"} 99\n",
        "\nwsd_message_size_bytes_count{worker=\"0\",direction=\"sent\"} 99\n",
        "\nwsd_cases_unrecorded_total{worker=\"0\"} 1\n",
        "\nwsd_case_log_write_errors_total{worker=\"0\"} 5\n",
        "\nwsd_case_log_write_errors_total{worker=\"1\"} 2\n",
        "\n# TYPE wsd_case_log_write_errors_total counter\n",
        "\nwsd_wrong_protocol_total{worker=\"0\",kind=\"tls_on_plain_port\"} "
        "7\n",
        "\nwsd_wrong_protocol_total{worker=\"1\",kind=\"plain_on_tls_port\"} "
        "2\n",
        "\n# TYPE wsd_connections_accepted_total counter\n",
        "\n# TYPE wsd_connections_active gauge\n",
    };
    for (size_t i = 0; i < NELEM(lines); i++) {
        ok(strstr(text, lines[i]) != NULL, "line %.*s", /* without \n */
           (int)strlen(lines[i]) - 2, lines[i] + 1);
    }
    static const char *const codes[] = {
        "{worker=\"0\",direction=\"sent\",code=\"1000\"} 3",
        "{worker=\"0\",direction=\"received\",code=\"1007\"} 1",
        "{worker=\"1\",direction=\"received\",code=\"4000-4999\"} 2",
    };
    for (size_t i = 0; i < NELEM(codes); i++) {
        char want[160];
        (void)snprintf(want, sizeof(want), "\nwsd_close_codes_total%s\n",
                       codes[i]);
        ok(strstr(text, want) != NULL, "line wsd_close_codes_total%s",
           codes[i]);
    }
    ok(strncmp(text, "# HELP wsd_info ", 16) == 0,
       "the exposition starts with a HELP line");
    unsigned n = check_exposition(text, &accepted, &peak);
    ok(n > 30, "%u samples", n);
    is_int(accepted, 15, "wsd_connections_accepted_total sums to accepted");
    is_int(peak, 6, "wsd_connections_peak is the segment's peak");
    free(text);

    /* No workers at all: still well formed. */
    s.n_workers = 0;
    b = evbuffer_new();
    is_int(stats_json_prometheus(&s, b), 0, "with no workers");
    text = buffer_text(b);
    evbuffer_free(b);
    if (text != NULL) {
        n = check_exposition(text, &accepted, &peak);
        ok(n >= 3, "the global samples are still there (%u)", n);
        free(text);
    }
}

/*
 * The wall clock stepped back below the master's start (NTP correcting a
 * clock that ran ahead at boot): the uptime is 0, not 2^64 ms less a
 * little, which Prometheus would keep as an uptime of 584 million years.
 */
static void
test_clock_back(void)
{
    struct stats_json_snapshot s = make_snapshot();
    struct evbuffer *b = evbuffer_new();

    s.now_ms = s.started_ms - 5000;
    json_t *j = stats_json_stats(&s);
    is_key(j, "uptimeSeconds", "0");
    json_decref(j);
    is_int(stats_json_prometheus(&s, b), 0, "clock back: text written");
    char *text = buffer_text(b);
    evbuffer_free(b);
    ok(text != NULL && strstr(text, "\nwsd_uptime_seconds 0\n") != NULL,
       "clock back: wsd_uptime_seconds 0");
    free(text);
}

/* The keys of object o in the order they come, joined by commas. */
static void
keys_of(json_t *o, char *out, size_t cap)
{
    const char *key;
    json_t *v;
    size_t len = 0;

    out[0] = '\0';
    json_object_foreach(o, key, v)
    {
        int n = snprintf(out + len, cap - len, "%s%s", len > 0 ? "," : "", key);
        len += n > 0 && (size_t)n < cap - len ? (size_t)n : 0;
    }
}

/* Octet sizes come out by increasing size, whatever order they came in. */
static void
test_octets_order(void)
{
    static const uint64_t sizes[] = {1000, 5, 70000, 64, 5, 1000, 7};
    struct stats_case c;
    char keys[256];

    memset(&c, 0, sizeof(c));
    c.id = 1;
    c.state = STATS_CASE_CLOSED;
    for (size_t i = 0; i < NELEM(sizes); i++) {
        stats_octets_add(&c.rx_octets, sizes[i]);
        stats_octets_add(&c.tx_octets, sizes[NELEM(sizes) - 1 - i]);
    }
    json_t *j = stats_json_case(&c, T0_MS);
    keys_of(json_object_get(j, "rxOctetStats"), keys, sizeof(keys));
    is_str(keys, "5,7,64,1000,70000", "rxOctetStats by increasing size");
    keys_of(json_object_get(j, "txOctetStats"), keys, sizeof(keys));
    is_str(keys, "5,7,64,1000,70000", "txOctetStats by increasing size");
    is_key(j, "rxOctetStats",
           "{\"1000\":2,\"5\":2,\"64\":1,\"7\":1,\"70000\":1}");
    json_decref(j);

    /* All the sizes a record keeps, in decreasing order. */
    memset(&c, 0, sizeof(c));
    for (uint64_t k = STATS_OCTET_SIZES; k > 0; k--) {
        stats_octets_add(&c.rx_octets, k);
    }
    j = stats_json_case(&c, T0_MS);
    const char *key;
    json_t *v;
    uint64_t want = 1;
    bool ordered = true;
    json_object_foreach(json_object_get(j, "rxOctetStats"), key, v)
    {
        ordered = ordered && strtoull(key, NULL, 10) == want++;
    }
    ok(ordered && want == STATS_OCTET_SIZES + 1,
       "every size given in decreasing order comes out increasing");
    json_decref(j);
}

/* A record with its request and 8 wire entries after it (the record
 * and the request fill whole cache lines, as stats_case_wire_offset
 * wants). */
struct case_with_room {
    struct stats_case c;
    uint8_t request[64]; /* cppcheck-suppress unusedStructMember */
    struct stats_wire wire[8];
};

static void
test_wirelog(void)
{
    static struct case_with_room r;
    static const uint8_t text[] =
        "Hello World! 123456789012345678\xc3\xa9 and more";
    memset(&r, 0, sizeof(r));
    r.c.request_cap = 64;
    r.c.wire_cap = 8;
    r.c.wire_tail = 4;
    struct stats_wire *w = stats_case_wire(&r.c);
    ok(w == r.wire, "the wire log follows the request's room");
    /* A read; a masked text frame cut inside a character; an unmasked
     * one whole; a binary one; the close steps. */
    w[0] = (struct stats_wire){STATS_WIRE_READ,   0, 0, 3, {0}, 300, 0, 0,
                               {0x81, 0x7e, 0xff}};
    w[1] = (struct stats_wire){STATS_WIRE_RFRAME,
                               0x81,
                               STATS_WIRE_MASKED,
                               32,
                               {0xa, 0xb, 0xc, 0xd},
                               40,
                               0,
                               0,
                               {0}};
    memcpy(w[1].head, text, 32);
    w[2] = (struct stats_wire){
        STATS_WIRE_TFRAME, 0xc1, 0, 5, {0}, 5, 0, 0, "abcde"};
    w[3] = (struct stats_wire){STATS_WIRE_TFRAME, 0x02, 0, 2, {0}, 2, 0, 0,
                               {0xff, 0x00}};
    w[4] = (struct stats_wire){STATS_WIRE_TIMEOUT, 0, 0, 0, {0}, 2, 0, 0, {0}};
    w[5] = (struct stats_wire){STATS_WIRE_SHUT, 0, 0, 0, {0}, 0, 0, 0, {0}};
    w[6] = (struct stats_wire){STATS_WIRE_DROP, 0, 0, 0, {0}, 0, 0, 0, {0}};
    w[7] = (struct stats_wire){99, 0, 0, 0, {0}, 0, 0, 0, {0}};
    r.c.wire_n = 8;
    json_t *j = stats_json_wirelog(&r.c);
    char *got = json_dumps(j, JSON_COMPACT);
    is_str(got,
           "[[\"RO\",[300,\"817eff ...\"]],"
           "[\"RF\",[40,\"Hello World! 123456789012345678 ...\"],1,"
           "true,0,true,\"0a0b0c0d\"],"
           "[\"TF\",[5,\"abcde\"],1,true,4,null,null,null,false],"
           "[\"TF\",[2,\"0xff00\"],2,false,0,null,null,null,false],"
           "[\"TMO\",\"ping\"],[\"SHUT\"],[\"DROP\",\"peer\"]]",
           "Autobahn's rows, wsd's own, an unknown kind left out");
    free(got);
    json_decref(j);

    /* Run over: the first 4, a gap of 92, the ring's 4 in order. */
    for (unsigned i = 0; i < 8; i++) {
        w[i] = (struct stats_wire){STATS_WIRE_READ, 0, 0, 0, {0}, i, 0, 0, {0}};
    }
    r.c.wire_n = 100; /* entries 96-99 sit at 4 + (n - 4) % 4 */
    j = stats_json_wirelog(&r.c);
    got = json_dumps(j, JSON_COMPACT);
    is_str(got,
           "[[\"RO\",[0,\"\"]],[\"RO\",[1,\" ...\"]],[\"RO\",[2,\" ...\"]],"
           "[\"RO\",[3,\" ...\"]],[\"GAP\",92],[\"RO\",[4,\" ...\"]],"
           "[\"RO\",[5,\" ...\"]],[\"RO\",[6,\" ...\"]],[\"RO\",[7,\" ...\"]]]",
           "a log run over: its first entries, the gap, its last ones");
    free(got);
    json_decref(j);

    /* Frames wsd marked: one more element, the list of its marks. */
    w[0] = (struct stats_wire){STATS_WIRE_RFRAME,
                               0x81,
                               STATS_WIRE_MASKED,
                               5,
                               {1, 2, 3},
                               5,
                               0,
                               0,
                               "after"};
    w[1] = (struct stats_wire){STATS_WIRE_RFRAME,
                               0x88,
                               STATS_WIRE_MASKED | STATS_WIRE_DISCARDED,
                               0,
                               {0},
                               126,
                               0,
                               0,
                               {0}};
    w[2] = (struct stats_wire){STATS_WIRE_RFRAME,
                               0x01,
                               STATS_WIRE_MASKED | STATS_WIRE_INCOMPLETE,
                               2,
                               {0},
                               21,
                               0,
                               0,
                               "ab"};
    w[3] = (struct stats_wire){STATS_WIRE_RFRAME,
                               0x8c,
                               STATS_WIRE_DISCARDED | STATS_WIRE_INCOMPLETE,
                               0,
                               {0},
                               11,
                               0,
                               0,
                               {0}};
    r.c.wire_n = 4;
    j = stats_json_wirelog(&r.c);
    got = json_dumps(j, JSON_COMPACT);
    is_str(got,
           "[[\"RF\",[5,\"after\"],1,true,0,true,\"01020300\"],"
           "[\"RF\",[126,\" ...\"],8,true,0,true,\"00000000\",[\"discarded\"]],"
           "[\"RF\",[21,\"ab ...\"],1,false,0,true,\"00000000\","
           "[\"incomplete\"]],"
           "[\"RF\",[11,\" ...\"],12,true,0,false,null,"
           "[\"discarded\",\"incomplete\"]]]",
           "RF rows: Autobahn's, and a list of marks after a discarded or "
           "incomplete frame's");
    free(got);
    json_decref(j);
}

/* A frame's payload head: text only when its bytes are UTF-8, or
 * would be but for a character the 32-octet cut split; else hex. */
static void
test_payload_head(void)
{
    static struct case_with_room r;
    static const struct {
        const char *head; /* 32 octets */
        uint64_t length;
        const char *shown;
        const char *name;
    } cases[] = {
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xff\xfe", 40,
         "0x41414141414141414141414141414141414141414141414141414141414"
         "1fffe ...",
         "two octets that are never UTF-8 before the cut: hex"},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xff", 40,
         "0x41414141414141414141414141414141414141414141414141414141414"
         "141ff ...",
         "one octet that is never UTF-8 before the cut: hex"},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xe0\x80", 40,
         "0x41414141414141414141414141414141414141414141414141414141414"
         "1e080 ...",
         "a lead octet with a continuation it never takes: hex"},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xf0\x9f\x98", 40,
         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAA ...",
         "a 4-octet character the cut split after 3: left out"},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xc3", 32,
         "0x41414141414141414141414141414141414141414141414141414141414"
         "141c3",
         "a whole payload ending inside a character: hex"},
    };

    memset(&r, 0, sizeof(r));
    r.c.request_cap = 64;
    r.c.wire_cap = 8;
    r.c.wire_n = 1;
    struct stats_wire *w = stats_case_wire(&r.c);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        w[0] = (struct stats_wire){STATS_WIRE_RFRAME, 0x82, 0, 32, {0},
                                   cases[i].length,   0,    0, {0}};
        memcpy(w[0].head, cases[i].head, 32);
        json_t *j = stats_json_wirelog(&r.c);
        json_t *head =
            json_array_get(json_array_get(json_array_get(j, 0), 1), 1);
        is_str(json_string_value(head), cases[i].shown, "%s", cases[i].name);
        json_decref(j);
    }
}

/* The hex of the wire log's rows, read back. */
static void
test_hex_read(void)
{
    uint8_t b[4];
    bool more = true;

    is_int(stats_json_hex_read("03e8", 4, b, sizeof(b), &more), 2,
           "hex: two bytes");
    ok(b[0] == 0x03 && b[1] == 0xe8 && !more, "hex: their values, no more");
    is_int(stats_json_hex_read("0A0b0C ...", 10, b, sizeof(b), &more), 3,
           "hex: either case, then \" ...\"");
    ok(b[0] == 0x0a && b[1] == 0x0b && b[2] == 0x0c && more,
       "hex: \" ...\" says there were more");
    is_int(stats_json_hex_read("0102030405", 10, b, 2, &more), 5,
           "hex: the count beyond the room");
    ok(b[0] == 1 && b[1] == 2 && b[2] == 0x0c, "hex: only the room written");
    is_int(stats_json_hex_read("", 0, NULL, 0, &more), 0, "hex: none");
    is_int(stats_json_hex_read("030", 3, b, sizeof(b), &more), -1,
           "hex: an odd number of digits refused");
    is_int(stats_json_hex_read("0x03", 4, b, sizeof(b), &more), -1,
           "hex: a character that is no digit refused");
    is_int(stats_json_hex_read("03 e8", 5, b, sizeof(b), &more), -1,
           "hex: a space refused");
}

/* libevent's allocations, through these once main has set them: the
 * fail_at-th from the last arming fails (0: none). */
static unsigned long alloc_count;
static unsigned long fail_at;

static void *
counted_malloc(size_t n)
{
    return fail_at != 0 && ++alloc_count == fail_at ? NULL : malloc(n);
}

static void *
counted_realloc(void *p, size_t n)
{
    return fail_at != 0 && ++alloc_count == fail_at ? NULL : realloc(p, n);
}

/*
 * An allocation that fails while the text is written: stats_json_prometheus
 * says so (and /metrics answers 500), never returns a text with lines left
 * out, which a scraper would store as gaps.
 */
static void
test_prometheus_no_memory(void)
{
    struct stats_json_snapshot s = make_snapshot();
    struct evbuffer *b = evbuffer_new();

    if (!ok(b != NULL && stats_json_prometheus(&s, b) == 0,
            "no memory: the whole text, for comparison")) {
        return;
    }
    size_t whole = evbuffer_get_length(b);
    evbuffer_free(b);
    unsigned failed = 0, partial = 0, tried = 0;
    for (unsigned long n = 1; n <= 200; n++) {
        b = evbuffer_new();
        if (b == NULL) {
            break;
        }
        alloc_count = 0;
        fail_at = n;
        int rc = stats_json_prometheus(&s, b);
        bool fired = alloc_count >= n;
        fail_at = 0;
        size_t len = evbuffer_get_length(b);
        evbuffer_free(b);
        if (!fired) {
            break; /* every allocation of the text has been failed once */
        }
        tried++;
        failed += rc != 0;
        partial += rc == 0 && len != whole;
    }
    ok(tried >= 3, "no memory: %u of the text's allocations failed in turn",
       tried);
    is_int(partial, 0, "no memory: never a text with lines left out");
    is_int(failed, tried, "no memory: each failure said");
}

int
main(void)
{
    /* Before libevent's first allocation. */
    event_set_mem_functions(counted_malloc, counted_realloc, free);
    test_case_full();
    test_case_fresh();
    test_case_variants();
    test_octets_order();
    test_wirelog();
    test_payload_head();
    test_string();
    test_hex_read();
    test_stats();
    test_prometheus();
    test_prometheus_no_memory();
    test_clock_back();
    return tap_done();
}
