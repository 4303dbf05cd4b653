/* SPDX-License-Identifier: MIT */
/*
 * The statistics documents. Field names are Autobahn's (fuzzing.py's
 * report: rxOctetStats, wasClean, localCloseCode, ...), mapped from the
 * record's snake_case fields in one place each: stats_json_case for a
 * case (its closing behaviour in stats_json_set_closing, and its
 * statistics and wire log in renderers that report_autobahn shares),
 * totals_object for counters.
 */
#include "autoconf.h"

#include "stats_json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ws_utf8.h"

json_t *
stats_json_string(const char *p, size_t len)
{
    const uint8_t *b = (const uint8_t *)p;
    char *clean = NULL;
    size_t n = 0;
    json_t *j;

    if (ws_utf8_is_valid(b, len)) {
        return json_stringn(p, len);
    }
    /* At most 3 bytes out (U+FFFD) for each byte in. */
    clean = malloc(len * 3 + 1);
    if (clean == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len;) {
        size_t k = 1;
        while (k <= 4 && i + k <= len && !ws_utf8_is_valid(b + i, k)) {
            k++;
        }
        if (k <= 4 && i + k <= len) {
            memcpy(clean + n, b + i, k);
            n += k;
            i += k;
        } else {
            memcpy(clean + n, "\xef\xbf\xbd", 3);
            n += 3;
            i++;
        }
    }
    j = json_stringn(clean, n);
    free(clean);
    return j;
}

/* A NUL-terminated record field, or null when empty. */
json_t *
stats_json_field(const char *s, size_t cap)
{
    size_t len = strnlen(s, cap);
    return len == 0 ? json_null() : stats_json_string(s, len);
}

static json_t *
code_or_null(unsigned code)
{
    return code == 0 ? json_null() : json_integer(code);
}

/* UTC ISO 8601 with milliseconds, as Autobahn's "started". */
json_t *
stats_json_time(uint64_t ms)
{
    char buf[40];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL) {
        return json_null();
    }
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof(buf) - n, ".%03uZ", (unsigned)(ms % 1000));
    return json_string(buf);
}

/*
 * Autobahn's {"size": count} object, by increasing size (the record keeps
 * sizes in the order they first occurred; jansson keeps the order keys
 * are set in).
 */
json_t *
stats_json_octets(const struct stats_octets *o)
{
    json_t *j = json_object();
    char key[24];
    uint32_t n = o->n;
    uint32_t order[STATS_OCTET_SIZES];

    if (n > STATS_OCTET_SIZES) {
        n = STATS_OCTET_SIZES; /* a copy from shared memory: bound it */
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = i;
        for (; k > 0 && o->size[order[k - 1]] > o->size[i]; k--) {
            order[k] = order[k - 1];
        }
        order[k] = i;
    }
    for (uint32_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "%" PRIu32, o->size[order[i]]);
        json_object_set_new(j, key,
                            json_integer((json_int_t)o->count[order[i]]));
    }
    return j;
}

static json_t *
overflow(const struct stats_octets *o)
{
    if (o->overflow_count == 0) {
        return json_null();
    }
    return json_pack("{s:I, s:I}", "count", (json_int_t)o->overflow_count,
                     "octets", (json_int_t)o->overflow_octets);
}

/* Autobahn's {"opcode": count}, opcodes that occurred only. */
json_t *
stats_json_frames(const uint64_t by_opcode[16])
{
    json_t *j = json_object();
    char key[8];

    for (unsigned op = 0; op < 16; op++) {
        if (by_opcode[op] != 0) {
            snprintf(key, sizeof(key), "%u", op);
            json_object_set_new(j, key,
                                json_integer((json_int_t)by_opcode[op]));
        }
    }
    return j;
}

/* Bytes as lowercase hex, then " ..." when they are only the first of
 * total: Autobahn's binary log data. */
static json_t *
hex_head(const uint8_t *p, size_t n, uint64_t total, const char *prefix)
{
    char buf[8 + 2 * STATS_WIRE_HEAD + 8];
    size_t len = (size_t)snprintf(buf, sizeof(buf), "%s", prefix);

    if (n > STATS_WIRE_HEAD) {
        n = STATS_WIRE_HEAD;
    }
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%02x", p[i]);
    }
    if (total > n) {
        snprintf(buf + len, sizeof(buf) - len, " ...");
    }
    return json_string(buf);
}

static int
hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    return ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

ssize_t
stats_json_hex_read(const char *s, size_t len, uint8_t *out, size_t cap,
                    bool *more)
{
    *more = len >= 4 && memcmp(s + len - 4, " ...", 4) == 0;
    if (*more) {
        len -= 4;
    }
    if (len % 2 != 0) {
        return -1;
    }
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_digit(s[i]);
        int lo = hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        if (i / 2 < cap) {
            out[i / 2] = (uint8_t)(hi << 4 | lo);
        }
    }
    return (ssize_t)(len / 2);
}

/*
 * A frame's payload as Autobahn shows it: the text when it is UTF-8
 * (" ..." after a first part), else "0x" and its bytes in hex, the
 * testsuite's rule (a strict decode, else hex). A first part the
 * 32-octet cut ended inside a character is shown without that
 * character, but only when its last octets are a valid beginning of
 * one: octets that can never be UTF-8 make the whole head hex.
 */
static json_t *
payload_head(const struct stats_wire *w)
{
    char buf[STATS_WIRE_HEAD + 8];
    size_t n = w->n_head > STATS_WIRE_HEAD ? STATS_WIRE_HEAD : w->n_head;
    size_t shown = n;
    struct ws_utf8 u;

    ws_utf8_reset(&u);
    if (!ws_utf8_feed(&u, w->head, n, NULL)) {
        return hex_head(w->head, n, w->length, "0x");
    }
    if (!ws_utf8_is_complete(&u)) {
        if (w->length <= n) {
            return hex_head(w->head, n, w->length, "0x");
        }
        /* The cut split a character: its lead octet is among the last
         * three, and everything before it is whole. */
        for (size_t back = 1; back < 4 && back <= n; back++) {
            if (ws_utf8_is_valid(w->head, n - back)) {
                shown = n - back;
                break;
            }
        }
    }
    memcpy(buf, w->head, shown);
    if (w->length > shown) {
        memcpy(buf + shown, " ...", 4);
        shown += 4;
    }
    return json_stringn(buf, shown);
}

static const char *const timeout_keys[STATS_TIMEOUT_N] = {
    [STATS_TIMEOUT_HANDSHAKE] = "handshake",
    [STATS_TIMEOUT_CLOSE] = "close",
    [STATS_TIMEOUT_PING] = "ping",
    [STATS_TIMEOUT_IDLE] = "idle",
};

/*
 * A received frame's row as Autobahn has it, and, when wsd marked the
 * frame, one more element: the list of its marks ("discarded": skipped
 * unread; "incomplete": the connection ended inside it).
 */
/* A frame's masking key in hex, or null when it was not masked. */
static json_t *
mask_hex(const struct stats_wire *w)
{
    char mask[9];

    if ((w->flags & STATS_WIRE_MASKED) == 0) {
        return json_null();
    }
    snprintf(mask, sizeof(mask), "%02x%02x%02x%02x", w->mask[0], w->mask[1],
             w->mask[2], w->mask[3]);
    return json_string(mask);
}

static json_t *
rframe_row(const struct stats_wire *w)
{
    bool masked = (w->flags & STATS_WIRE_MASKED) != 0;
    json_t *row =
        json_pack("[s, [I, o], i, b, i, b, o]", "RF", (json_int_t)w->length,
                  payload_head(w), w->bits & 0x0f, (w->bits & 0x80) != 0,
                  (w->bits >> 4) & 0x7, masked, mask_hex(w));
    if ((w->flags & (STATS_WIRE_DISCARDED | STATS_WIRE_INCOMPLETE)) != 0) {
        json_t *marks = json_array();
        if ((w->flags & STATS_WIRE_DISCARDED) != 0) {
            json_array_append_new(marks, json_string("discarded"));
        }
        if ((w->flags & STATS_WIRE_INCOMPLETE) != 0) {
            json_array_append_new(marks, json_string("incomplete"));
        }
        json_array_append_new(row, marks);
    }
    return row;
}

/* One wire entry as an Autobahn wire log row (or wsd's own, where
 * Autobahn has none), or NULL for an entry of no known kind. */
static json_t *
wire_row(const struct stats_wire *w)
{
    unsigned opcode = w->bits & 0x0f;
    bool fin = (w->bits & 0x80) != 0;
    unsigned rsv = (w->bits >> 4) & 0x7;

    switch (w->kind) {
    case STATS_WIRE_READ:
        return json_pack("[s, [I, o]]", "RO", (json_int_t)w->length,
                         hex_head(w->head, w->n_head, w->length, ""));
    case STATS_WIRE_WRITE:
        return json_pack("[s, [I, o], b]", "TO", (json_int_t)w->length,
                         hex_head(w->head, w->n_head, w->length, ""), 0);
    case STATS_WIRE_RFRAME:
        return rframe_row(w);
    case STATS_WIRE_TFRAME:
        /* A client's frames carry their masking key, as Autobahn logs
         * its own client's. */
        return json_pack("[s, [I, o], i, b, i, o, n, n, b]", "TF",
                         (json_int_t)w->length, payload_head(w), opcode, fin,
                         rsv, mask_hex(w), 0);
    case STATS_WIRE_TIMEOUT:
        return json_pack("[s, s]", "TMO",
                         w->length < STATS_TIMEOUT_N ? timeout_keys[w->length]
                                                     : "unknown");
    case STATS_WIRE_SHUT:
        return json_pack("[s]", "SHUT");
    case STATS_WIRE_DROP:
        return json_pack("[s, s]", "DROP", w->length != 0 ? "me" : "peer");
    default:
        return NULL;
    }
}

/* The directive whose time ran out, by enum stats_timeout. */
static const char *const timeout_directives[STATS_TIMEOUT_N] = {
    [STATS_TIMEOUT_HANDSHAKE] = "handshake_timeout_ms",
    [STATS_TIMEOUT_CLOSE] = "close_timeout_ms",
    [STATS_TIMEOUT_PING] = "pong_timeout_ms",
    [STATS_TIMEOUT_IDLE] = "idle_timeout_ms",
};

/* One wire entry as a row of the Autobahn testsuite's kinds only (see
 * stats_json_wirelog_autobahn), or NULL for an entry it has none for. */
static json_t *
autobahn_row(const struct stats_wire *w)
{
    switch (w->kind) {
    case STATS_WIRE_TIMEOUT:
        return json_pack("[s, s]", "CTE",
                         w->length < STATS_TIMEOUT_N
                             ? timeout_directives[w->length]
                             : "unknown");
    case STATS_WIRE_SHUT:
    case STATS_WIRE_DROP:
        return NULL;
    default:
        return wire_row(w);
    }
}

/* Rows the log kept: its entries' (stats_wire_rows). */
static uint64_t
rows_kept(const struct stats_case *c)
{
    uint64_t kept = stats_wire_kept(c);
    uint64_t rows = 0;
    struct stats_wire row[2];

    for (uint64_t k = 0; k < kept; k++) {
        uint64_t gap;
        rows += stats_wire_rows(stats_wire_at(c, k, &gap), row);
    }
    return rows;
}

/* Rows logged in all: an entry stands for one row, or two (wire_merged). */
static uint64_t
rows_logged(const struct stats_case *c)
{
    return c->wire_merged <= c->wire_n ? c->wire_n + c->wire_merged : c->wire_n;
}

/* The rows of the log as kept, with wsd's own kinds or Autobahn's only. */
static json_t *
wirelog(const struct stats_case *c, bool autobahn)
{
    json_t *log = json_array();
    uint64_t kept = stats_wire_kept(c);

    for (uint64_t k = 0; k < kept; k++) {
        uint64_t gap;
        struct stats_wire rows[2];
        unsigned n = stats_wire_rows(stats_wire_at(c, k, &gap), rows);
        if (gap > 0) {
            /* Rows, not entries, were lost (at least one an entry). */
            uint64_t all = rows_logged(c);
            uint64_t left = rows_kept(c);
            gap = all > left + gap ? all - left : gap;
        }
        if (gap > 0 && autobahn) {
            json_array_append_new(log, json_pack("[s, b]", "WLM", 0));
            json_array_append_new(log, json_pack("[s, b]", "WLM", 1));
        } else if (gap > 0) {
            json_array_append_new(log,
                                  json_pack("[s, I]", "GAP", (json_int_t)gap));
        }
        for (unsigned i = 0; i < n; i++) {
            json_t *row =
                autobahn ? autobahn_row(&rows[i]) : wire_row(&rows[i]);
            if (row != NULL) {
                json_array_append_new(log, row);
            }
        }
    }
    return log;
}

json_t *
stats_json_wirelog(const struct stats_case *c)
{
    return wirelog(c, false);
}

json_t *
stats_json_wirelog_autobahn(const struct stats_case *c)
{
    return wirelog(c, true);
}

/* The request head as read: text (invalid UTF-8 as U+FFFD), or null. */
static json_t *
request_head(const struct stats_case *c)
{
    if (c->request_len == 0) {
        return json_null();
    }
    return stats_json_string((const char *)(const void *)(c + 1),
                             c->request_len);
}

void
stats_json_set_closing(json_t *j, const struct stats_case *c)
{
    json_object_set_new(j, "closedByMe", json_boolean(c->closed_by_me));
    json_object_set_new(j, "failedByMe", json_boolean(c->failed_by_me));
    json_object_set_new(j, "droppedByMe", json_boolean(c->dropped_by_me));
    json_object_set_new(j, "wasClean", json_boolean(c->was_clean));
    json_object_set_new(
        j, "wasNotCleanReason",
        c->was_clean ? json_null()
                     : stats_json_field(c->was_not_clean_reason,
                                        sizeof(c->was_not_clean_reason)));
    json_object_set_new(j, "wasOpenHandshakeTimeout",
                        json_boolean(c->was_open_handshake_timeout));
    json_object_set_new(j, "wasCloseHandshakeTimeout",
                        json_boolean(c->was_close_handshake_timeout));
    json_object_set_new(j, "localCloseCode",
                        c->local_close_has_code
                            ? json_integer(c->local_close_code)
                            : json_null());
    /* By their lengths: a peer's reason may hold NUL (valid UTF-8). */
    json_object_set_new(j, "localCloseReason",
                        c->local_close_reason_len == 0
                            ? json_null()
                            : stats_json_string(c->local_close_reason,
                                                c->local_close_reason_len));
    json_object_set_new(j, "remoteCloseCode",
                        c->remote_close_has_code
                            ? json_integer(c->remote_close_code)
                            : json_null());
    json_object_set_new(j, "remoteCloseReason",
                        c->remote_close_reason_len == 0
                            ? json_null()
                            : stats_json_string(c->remote_close_reason,
                                                c->remote_close_reason_len));
}

static const char *const case_states[] = {"free", "handshake", "open",
                                          "closing", "closed"};

json_t *
stats_json_case(const struct stats_case *c, uint64_t now_ms)
{
    uint64_t end = c->ended_ms != 0 ? c->ended_ms : now_ms;
    json_t *j = json_object();
    json_t *deflate = json_null();

    if (c->deflate_offer[0] != '\0' || c->deflate_response[0] != '\0') {
        deflate = json_pack(
            "{s:o, s:o, s:I, s:I, s:I, s:I}", "offered",
            stats_json_field(c->deflate_offer, sizeof(c->deflate_offer)),
            "granted",
            stats_json_field(c->deflate_response, sizeof(c->deflate_response)),
            "rxCompressedBytes", (json_int_t)c->rx_compressed_bytes,
            "rxInflatedBytes", (json_int_t)c->rx_payload_bytes,
            "txUncompressedBytes", (json_int_t)c->tx_payload_bytes,
            "txCompressedBytes", (json_int_t)c->tx_compressed_bytes);
    }
    json_object_set_new(j, "id", json_integer((json_int_t)c->id));
    json_object_set_new(j, "worker", json_integer(c->worker));
    json_object_set_new(j, "peer", stats_json_field(c->peer, sizeof(c->peer)));
    json_object_set_new(j, "path", stats_json_field(c->path, sizeof(c->path)));
    json_object_set_new(j, "case",
                        stats_json_field(c->query_case, sizeof(c->query_case)));
    json_object_set_new(
        j, "agent", stats_json_field(c->query_agent, sizeof(c->query_agent)));
    json_object_set_new(j, "userAgent",
                        stats_json_field(c->user_agent, sizeof(c->user_agent)));
    json_object_set_new(j, "httpStatus", code_or_null(c->http_status));
    json_object_set_new(j, "started", stats_json_time(c->started_ms));
    json_object_set_new(
        j, "durationMs",
        json_integer(
            (json_int_t)(end > c->started_ms ? end - c->started_ms : 0)));
    json_object_set_new(
        j, "state",
        json_string(c->state < 5 ? case_states[c->state] : "unknown"));
    json_object_set_new(j, "rxOctetStats", stats_json_octets(&c->rx_octets));
    json_object_set_new(j, "txOctetStats", stats_json_octets(&c->tx_octets));
    json_object_set_new(j, "rxOctetOverflow", overflow(&c->rx_octets));
    json_object_set_new(j, "txOctetOverflow", overflow(&c->tx_octets));
    json_object_set_new(j, "rxFrameStats", stats_json_frames(c->rx_frames));
    json_object_set_new(j, "txFrameStats", stats_json_frames(c->tx_frames));
    json_object_set_new(j, "rxFrameIncomplete",
                        json_boolean(c->rx_frame_incomplete));
    json_object_set_new(j, "rxMessages",
                        json_integer((json_int_t)c->rx_messages));
    json_object_set_new(j, "txMessages",
                        json_integer((json_int_t)c->tx_messages));
    json_object_set_new(j, "rxPayloadBytes",
                        json_integer((json_int_t)c->rx_payload_bytes));
    json_object_set_new(j, "txPayloadBytes",
                        json_integer((json_int_t)c->tx_payload_bytes));
    stats_json_set_closing(j, c);
    json_object_set_new(j, "key", stats_json_field(c->key, sizeof(c->key)));
    json_object_set_new(j, "httpRequest", request_head(c));
    json_object_set_new(j, "httpRequestTruncated",
                        json_boolean(c->request_truncated));
    json_object_set_new(j, "httpResponse",
                        c->response_len == 0
                            ? json_null()
                            : stats_json_string(c->response, c->response_len));
    json_object_set_new(j, "httpResponseTruncated",
                        json_boolean(c->response_truncated));
    json_object_set_new(j, "wirelog", stats_json_wirelog(c));
    json_object_set_new(j, "wirelogEntries",
                        json_integer((json_int_t)rows_logged(c)));
    json_object_set_new(j, "deflate", deflate);
    json_object_set_new(
        j, "tls",
        c->tls ? json_pack(
                     "{s:o, s:o}", "version",
                     stats_json_field(c->tls_version, sizeof(c->tls_version)),
                     "cipher",
                     stats_json_field(c->tls_cipher, sizeof(c->tls_cipher)))
               : json_null());
    return j;
}

static const char *const status_keys[STATS_STATUS_N] = {
    "400", "404", "405", "426", "431", "503", "other",
};

/* The keys of wrong_protocol, in JSON and as Prometheus labels. */
static const char *const wrong_keys[STATS_WRONG_N] = {
    [STATS_WRONG_TLS_ON_PLAIN] = "tlsOnPlainPort",
    [STATS_WRONG_PLAIN_ON_TLS] = "plainOnTlsPort",
};
static const char *const wrong_labels[STATS_WRONG_N] = {
    [STATS_WRONG_TLS_ON_PLAIN] = "tls_on_plain_port",
    [STATS_WRONG_PLAIN_ON_TLS] = "plain_on_tls_port",
};

/* The key of close-code bucket i: "1000" ... "1015", then the ranges. */
static void
close_key(unsigned i, char *key, size_t cap)
{
    if (i < STATS_CLOSE_3XXX) {
        snprintf(key, cap, "%u", 1000 + i);
    } else {
        snprintf(key, cap, "%s",
                 i == STATS_CLOSE_3XXX   ? "3000-3999"
                 : i == STATS_CLOSE_4XXX ? "4000-4999"
                                         : "other");
    }
}

static json_t *
close_codes(const uint64_t *by_bucket)
{
    json_t *j = json_object();
    char key[16];

    for (unsigned i = 0; i < STATS_CLOSE_N; i++) {
        if (by_bucket[i] != 0) {
            close_key(i, key, sizeof(key));
            json_object_set_new(j, key, json_integer((json_int_t)by_bucket[i]));
        }
    }
    return j;
}

static json_t *
count(uint64_t n)
{
    return json_integer((json_int_t)n);
}

#define HISTOGRAM_BUCKETS_MAX 8
_Static_assert(STATS_DURATION_BUCKETS <= HISTOGRAM_BUCKETS_MAX &&
                   STATS_SIZE_BUCKETS <= HISTOGRAM_BUCKETS_MAX,
               "room for the buckets of every histogram");

/*
 * Cumulative bucket counts ("le", Prometheus' sense) of a histogram of
 * n_bounds + 1 buckets, each at most the next: a slot is memory workers
 * write, so the sums saturate rather than wrap.
 */
static void
cumulative(const uint64_t *buckets, unsigned n, uint64_t *out)
{
    uint64_t run = 0;
    for (unsigned i = 0; i < n; i++) {
        run = buckets[i] > UINT64_MAX - run ? UINT64_MAX : run + buckets[i];
        out[i] = run;
    }
}

/* {"buckets": {"BOUND": count, ..., "+Inf": count}, "sum": n}, the counts
 * cumulative, the bounds in ascending order. */
static json_t *
histogram_object(const uint64_t *buckets, const uint64_t *bounds,
                 unsigned n_bounds, uint64_t sum)
{
    uint64_t cum[HISTOGRAM_BUCKETS_MAX];
    json_t *b = json_object();
    char key[24];

    cumulative(buckets, n_bounds + 1, cum);
    for (unsigned i = 0; i <= n_bounds; i++) {
        if (i < n_bounds) {
            snprintf(key, sizeof(key), "%" PRIu64, bounds[i]);
        } else {
            snprintf(key, sizeof(key), "+Inf");
        }
        json_object_set_new(b, key, json_integer((json_int_t)cum[i]));
    }
    return json_pack("{s:o, s:I}", "buckets", b, "sum", (json_int_t)sum);
}

json_t *
stats_json_totals(const struct stats_totals *t)
{
    json_t *j = json_object();
    json_t *refused = json_object();
    json_t *wrong = json_object();
    json_t *timeouts = json_object();

    for (unsigned i = 0; i < STATS_STATUS_N; i++) {
        json_object_set_new(refused, status_keys[i], count(t->refused[i]));
    }
    for (unsigned i = 0; i < STATS_WRONG_N; i++) {
        json_object_set_new(wrong, wrong_keys[i], count(t->wrong_protocol[i]));
    }
    for (unsigned i = 0; i < STATS_TIMEOUT_N; i++) {
        json_object_set_new(timeouts, timeout_keys[i], count(t->timeouts[i]));
    }
    json_object_set_new(j, "accepted", count(t->accepted));
    json_object_set_new(j, "active", count(t->active));
    json_object_set_new(j, "peak", count(t->peak));
    json_object_set_new(j, "refused", refused);
    json_object_set_new(j, "wrongProtocol", wrong);
    json_object_set_new(j, "rxMessages", count(t->rx_messages));
    json_object_set_new(j, "txMessages", count(t->tx_messages));
    json_object_set_new(j, "rxFrames", count(t->rx_frames));
    json_object_set_new(j, "txFrames", count(t->tx_frames));
    json_object_set_new(j, "rxOctets", count(t->rx_octets));
    json_object_set_new(j, "txOctets", count(t->tx_octets));
    json_object_set_new(j, "closeCodesSent", close_codes(t->close_sent));
    json_object_set_new(j, "closeCodesReceived",
                        close_codes(t->close_received));
    json_object_set_new(j, "clean", count(t->clean));
    json_object_set_new(j, "unclean", count(t->unclean));
    json_object_set_new(j, "unopened", count(t->unopened));
    json_object_set_new(j, "unrecorded", count(t->unrecorded));
    json_object_set_new(j, "tlsHandshakesFailed", count(t->tls_failed));
    json_object_set_new(j, "deflateNegotiated", count(t->deflate));
    json_object_set_new(j, "tlsOpened", count(t->tls));
    json_object_set_new(j, "caseLogWriteErrors",
                        count(t->case_log_write_errors));
    json_object_set_new(j, "timeouts", timeouts);
    json_object_set_new(
        j, "connectionDurationMs",
        histogram_object(t->duration_ms, stats_duration_bounds_ms,
                         STATS_DURATION_BUCKETS - 1, t->duration_ms_sum));
    json_object_set_new(j, "rxMessageBytes",
                        histogram_object(t->rx_message_bytes, stats_size_bounds,
                                         STATS_SIZE_BUCKETS - 1,
                                         t->rx_message_bytes_sum));
    json_object_set_new(j, "txMessageBytes",
                        histogram_object(t->tx_message_bytes, stats_size_bounds,
                                         STATS_SIZE_BUCKETS - 1,
                                         t->tx_message_bytes_sum));
    return j;
}

/* Whole seconds since the master started; 0 while the wall clock reads
 * earlier (stepped back since). */
static uint64_t
uptime_seconds(const struct stats_json_snapshot *s)
{
    return s->now_ms > s->started_ms ? (s->now_ms - s->started_ms) / 1000 : 0;
}

json_t *
stats_json_stats(const struct stats_json_snapshot *s)
{
    struct stats_totals sum;
    json_t *workers = json_array();
    char layout[24];

    memset(&sum, 0, sizeof(sum));
    for (unsigned i = 0; i < s->n_workers; i++) {
        const struct stats_json_worker *w = &s->workers[i];
        json_t *o = json_pack(
            "{s:i, s:o, s:i, s:s, s:o, s:o}", "slot", (int)w->slot, "pid",
            w->pid != 0 ? json_integer(w->pid) : json_null(), "generation",
            (int)w->generation, "state", w->pid != 0 ? "running" : "down",
            "heartbeatAgeMs",
            w->heartbeat_ms != 0 && s->now_ms >= w->heartbeat_ms
                ? json_integer((json_int_t)(s->now_ms - w->heartbeat_ms))
                : json_null(),
            "totals", stats_json_totals(&w->t));
        json_object_set_new(o, "exits",
                            json_pack("{s:I, s:I, s:I}", "crashed",
                                      (json_int_t)w->crashed, "fatal",
                                      (json_int_t)w->fatal, "retired",
                                      (json_int_t)w->retired));
        json_array_append_new(workers, o);
        stats_totals_add(&sum, &w->t);
    }
    /* The sum of per-worker peaks is not a peak: the segment keeps the
     * true one. */
    sum.peak = s->peak_active;
    snprintf(layout, sizeof(layout), "%u.%u", s->layout_major, s->layout_minor);
    return json_pack(
        "{s:s, s:s, s:o, s:I, s:o, s:{s:I, s:I}, s:{s:I, s:I}, s:o}", "version",
        s->version, "layoutVersion", layout, "started",
        stats_json_time(s->started_ms), "uptimeSeconds",
        (json_int_t)uptime_seconds(s), "totals", stats_json_totals(&sum),
        "cases", "capacity", (json_int_t)s->n_cases, "lastId",
        (json_int_t)s->last_case_id, "reloads", "done", (json_int_t)s->reloads,
        "refused", (json_int_t)s->reloads_refused, "workers", workers);
}

/* Prometheus ---------------------------------------------------------------*/

/* The text being written, and whether any of it was lost (no memory):
 * then none of it is served, rather than a text with lines left out. */
struct prom_out {
    struct evbuffer *b;
    bool lost;
};

static void prom_printf(struct prom_out *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
prom_printf(struct prom_out *out, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (evbuffer_add_vprintf(out->b, fmt, ap) < 0) {
        out->lost = true;
    }
    va_end(ap);
}

#define PROM_HEAD(out, name, type, help)                                       \
    prom_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type)

/* One series per worker of a counter read from stats_totals. */
static void
prom_per_worker(struct prom_out *out, const struct stats_json_snapshot *s,
                const char *name, const char *type, const char *help,
                size_t offset)
{
    PROM_HEAD(out, name, type, help);
    for (unsigned i = 0; i < s->n_workers; i++) {
        uint64_t v;
        memcpy(&v, (const char *)&s->workers[i].t + offset, sizeof(v));
        prom_printf(out, "%s{worker=\"%u\"} %" PRIu64 "\n", name,
                    s->workers[i].slot, v);
    }
}

/*
 * A counter counted both ways, per worker, with a direction label: every
 * metric with a direction says "received" or "sent", never rx or tx.
 */
/* A counter per worker and per key of an array of counters in the totals
 * (at offset), the key as the label's value. */
static void
prom_by_label(struct prom_out *out, const struct stats_json_snapshot *s,
              const char *name, const char *help, const char *label,
              const char *const *keys, unsigned n, size_t offset)
{
    PROM_HEAD(out, name, "counter", help);
    for (unsigned i = 0; i < s->n_workers; i++) {
        for (unsigned k = 0; k < n; k++) {
            uint64_t v;
            memcpy(&v, (const char *)&s->workers[i].t + offset + k * sizeof(v),
                   sizeof(v));
            prom_printf(out, "%s{worker=\"%u\",%s=\"%s\"} %" PRIu64 "\n", name,
                        s->workers[i].slot, label, keys[k], v);
        }
    }
}

static void
prom_both_ways(struct prom_out *out, const struct stats_json_snapshot *s,
               const char *name, const char *help, size_t rx_off, size_t tx_off)
{
    PROM_HEAD(out, name, "counter", help);
    for (unsigned i = 0; i < s->n_workers; i++) {
        uint64_t rx, tx;
        memcpy(&rx, (const char *)&s->workers[i].t + rx_off, sizeof(rx));
        memcpy(&tx, (const char *)&s->workers[i].t + tx_off, sizeof(tx));
        prom_printf(out,
                    "%s{worker=\"%u\",direction=\"received\"} %" PRIu64 "\n"
                    "%s{worker=\"%u\",direction=\"sent\"} %" PRIu64 "\n",
                    name, s->workers[i].slot, rx, name, s->workers[i].slot, tx);
    }
}

/* ms as seconds in decimal, without trailing zeros: 100 is "0.1". */
static void
seconds_text(char *buf, size_t cap, uint64_t ms)
{
    int n = snprintf(buf, cap, "%" PRIu64 ".%03u", ms / 1000,
                     (unsigned)(ms % 1000));
    size_t len = n > 0 && (size_t)n < cap ? (size_t)n : 0;

    while (len > 0 && buf[len - 1] == '0') {
        buf[--len] = '\0';
    }
    if (len > 0 && buf[len - 1] == '.') {
        buf[--len] = '\0';
    }
}

/* Which histogram of a worker's totals, and how its values print. */
struct prom_histogram {
    const char *name;
    const char *labels; /* after worker="N", e.g. ",direction=\"sent\"" */
    const uint64_t *bounds;
    unsigned n_bounds;
    bool ms;                     /* values in ms, shown in seconds */
    size_t buckets_off, sum_off; /* in struct stats_totals */
};

static void
prom_value(char *buf, size_t cap, uint64_t v, bool ms)
{
    if (ms) {
        seconds_text(buf, cap, v);
    } else {
        snprintf(buf, cap, "%" PRIu64, v);
    }
}

/* One worker's series of a histogram: buckets, sum and count. */
static void
prom_histogram(struct prom_out *out, const struct stats_json_worker *w,
               const struct prom_histogram *h)
{
    uint64_t b[HISTOGRAM_BUCKETS_MAX];
    uint64_t cum[HISTOGRAM_BUCKETS_MAX];
    uint64_t sum;
    char le[32];
    char v[32];

    memcpy(b, (const char *)&w->t + h->buckets_off,
           (h->n_bounds + 1) * sizeof(b[0]));
    memcpy(&sum, (const char *)&w->t + h->sum_off, sizeof(sum));
    cumulative(b, h->n_bounds + 1, cum);
    for (unsigned i = 0; i <= h->n_bounds; i++) {
        if (i < h->n_bounds) {
            prom_value(le, sizeof(le), h->bounds[i], h->ms);
        } else {
            snprintf(le, sizeof(le), "+Inf");
        }
        prom_printf(out, "%s_bucket{worker=\"%u\"%s,le=\"%s\"} %" PRIu64 "\n",
                    h->name, w->slot, h->labels, le, cum[i]);
    }
    prom_value(v, sizeof(v), sum, h->ms);
    prom_printf(out,
                "%s_sum{worker=\"%u\"%s} %s\n"
                "%s_count{worker=\"%u\"%s} %" PRIu64 "\n",
                h->name, w->slot, h->labels, v, h->name, w->slot, h->labels,
                cum[h->n_bounds]);
}

static const struct prom_histogram prom_duration = {
    "wsd_connection_duration_seconds",
    "",
    stats_duration_bounds_ms,
    STATS_DURATION_BUCKETS - 1,
    true,
    offsetof(struct stats_totals, duration_ms),
    offsetof(struct stats_totals, duration_ms_sum),
};

static const struct prom_histogram prom_message_size[2] = {
    {"wsd_message_size_bytes", ",direction=\"received\"", stats_size_bounds,
     STATS_SIZE_BUCKETS - 1, false,
     offsetof(struct stats_totals, rx_message_bytes),
     offsetof(struct stats_totals, rx_message_bytes_sum)},
    {"wsd_message_size_bytes", ",direction=\"sent\"", stats_size_bounds,
     STATS_SIZE_BUCKETS - 1, false,
     offsetof(struct stats_totals, tx_message_bytes),
     offsetof(struct stats_totals, tx_message_bytes_sum)},
};

/*
 * One of Prometheus' standard process metrics (client_golang's names and
 * help), a series per process of wsd: {process="master"} and
 * {process="worker",worker="SLOT"}.
 */
static void
prom_process(struct prom_out *out, const struct stats_json_snapshot *s,
             const char *name, const char *type, const char *help,
             size_t offset, bool ms)
{
    char v[32];

    PROM_HEAD(out, name, type, help);
    for (unsigned i = 0; i < s->n_processes; i++) {
        const struct stats_json_process *p = &s->processes[i];
        uint64_t n;
        memcpy(&n, (const char *)&p->s + offset, sizeof(n));
        if (n == PROCFS_UNLIMITED) {
            snprintf(v, sizeof(v), "+Inf");
        } else {
            prom_value(v, sizeof(v), n, ms);
        }
        if (p->worker < 0) {
            prom_printf(out, "%s{process=\"master\"} %s\n", name, v);
        } else {
            prom_printf(out, "%s{process=\"worker\",worker=\"%d\"} %s\n", name,
                        p->worker, v);
        }
    }
}

static void
prom_processes(struct prom_out *out, const struct stats_json_snapshot *s)
{
    prom_process(out, s, "process_cpu_seconds_total", "counter",
                 "Total user and system CPU time spent in seconds.",
                 offsetof(struct procfs_sample, cpu_ms), true);
    prom_process(out, s, "process_resident_memory_bytes", "gauge",
                 "Resident memory size in bytes.",
                 offsetof(struct procfs_sample, resident_bytes), false);
    prom_process(out, s, "process_virtual_memory_bytes", "gauge",
                 "Virtual memory size in bytes.",
                 offsetof(struct procfs_sample, virtual_bytes), false);
    prom_process(out, s, "process_open_fds", "gauge",
                 "Number of open file descriptors.",
                 offsetof(struct procfs_sample, open_fds), false);
    prom_process(out, s, "process_max_fds", "gauge",
                 "Maximum number of open file descriptors.",
                 offsetof(struct procfs_sample, max_fds), false);
    prom_process(out, s, "process_start_time_seconds", "gauge",
                 "Start time of the process since unix epoch in seconds.",
                 offsetof(struct procfs_sample, start_ms), true);
}

/* The master's own series: version, uptime, workers, exits, reloads. */
static void
prom_master(struct prom_out *out, const struct stats_json_snapshot *s)
{
    PROM_HEAD(out, "wsd_info", "gauge", "wsd's version and layout, as labels.");
    prom_printf(out, "wsd_info{version=\"%s\",layout=\"%u.%u\"} 1\n",
                s->version, s->layout_major, s->layout_minor);
    PROM_HEAD(out, "wsd_uptime_seconds", "gauge",
              "Seconds since the master started.");
    prom_printf(out, "wsd_uptime_seconds %" PRIu64 "\n", uptime_seconds(s));
    PROM_HEAD(out, "wsd_worker_up", "gauge",
              "1 while a worker runs in the slot.");
    for (unsigned i = 0; i < s->n_workers; i++) {
        prom_printf(out, "wsd_worker_up{worker=\"%u\"} %d\n",
                    s->workers[i].slot, s->workers[i].pid != 0);
    }
    PROM_HEAD(out, "wsd_worker_starts_total", "counter",
              "Workers started in the slot (respawns included).");
    for (unsigned i = 0; i < s->n_workers; i++) {
        prom_printf(out, "wsd_worker_starts_total{worker=\"%u\"} %u\n",
                    s->workers[i].slot, s->workers[i].generation);
    }
    PROM_HEAD(out, "wsd_worker_exits_total", "counter",
              "Workers that exited, by reason: crashed (died while it should "
              "run; respawned), fatal (exit status 2; not respawned), "
              "retired (replaced by a reload).");
    for (unsigned i = 0; i < s->n_workers; i++) {
        const struct stats_json_worker *w = &s->workers[i];
        prom_printf(
            out,
            "wsd_worker_exits_total{worker=\"%u\",reason=\"crashed\"} %" PRIu64
            "\n"
            "wsd_worker_exits_total{worker=\"%u\",reason=\"fatal\"} %" PRIu64
            "\n"
            "wsd_worker_exits_total{worker=\"%u\",reason=\"retired\"} %" PRIu64
            "\n",
            w->slot, w->crashed, w->slot, w->fatal, w->slot, w->retired);
    }
    PROM_HEAD(out, "wsd_reloads_total", "counter",
              "Configuration reloads (SIGHUP), by result: done (a new "
              "generation of workers started) or refused (nothing changed).");
    prom_printf(out,
                "wsd_reloads_total{result=\"done\"} %" PRIu64 "\n"
                "wsd_reloads_total{result=\"refused\"} %" PRIu64 "\n",
                s->reloads, s->reloads_refused);
}

/* Connections: how many, how they were refused, ended, timed out. */
static void
prom_connections(struct prom_out *out, const struct stats_json_snapshot *s)
{
    prom_per_worker(out, s, "wsd_connections_accepted_total", "counter",
                    "Connections accepted.",
                    offsetof(struct stats_totals, accepted));
    prom_per_worker(out, s, "wsd_connections_active", "gauge",
                    "Connections open now.",
                    offsetof(struct stats_totals, active));
    PROM_HEAD(out, "wsd_connections_max", "gauge",
              "Connections a worker serves (max_connections); past it, 503. "
              "Each takes a descriptor: compare with process_max_fds.");
    prom_printf(out, "wsd_connections_max %" PRIu64 "\n", s->max_connections);
    PROM_HEAD(out, "wsd_connections_peak", "gauge",
              "Most connections open at once, all workers together.");
    prom_printf(out, "wsd_connections_peak %" PRIu64 "\n", s->peak_active);
    prom_by_label(out, s, "wsd_handshakes_refused_total",
                  "Opening handshakes refused, by HTTP status.", "status",
                  status_keys, STATS_STATUS_N,
                  offsetof(struct stats_totals, refused));
    prom_by_label(out, s, "wsd_wrong_protocol_total",
                  "Connections that spoke TLS to the ws:// port or plain HTTP "
                  "to the wss:// port.",
                  "kind", wrong_labels, STATS_WRONG_N,
                  offsetof(struct stats_totals, wrong_protocol));
    PROM_HEAD(out, "wsd_closes_total", "counter",
              "Connections ended, by outcome: clean (a WebSocket with a "
              "closing handshake both ways), unclean (a WebSocket ended "
              "otherwise, or lost with its worker), unopened (no WebSocket: "
              "refused, or gone before any answer).");
    for (unsigned i = 0; i < s->n_workers; i++) {
        const struct stats_totals *t = &s->workers[i].t;
        unsigned slot = s->workers[i].slot;
        prom_printf(
            out,
            "wsd_closes_total{worker=\"%u\",outcome=\"clean\"} %" PRIu64 "\n"
            "wsd_closes_total{worker=\"%u\",outcome=\"unclean\"} %" PRIu64 "\n"
            "wsd_closes_total{worker=\"%u\",outcome=\"unopened\"} %" PRIu64
            "\n",
            slot, t->clean, slot, t->unclean, slot, t->unopened);
    }
    prom_per_worker(out, s, "wsd_cases_unrecorded_total", "counter",
                    "Connections that found no free statistics record.",
                    offsetof(struct stats_totals, unrecorded));
    prom_per_worker(out, s, "wsd_tls_handshakes_failed_total", "counter",
                    "TLS connections that ended before their handshake "
                    "finished (refused by OpenSSL, the peer gone, or timed "
                    "out).",
                    offsetof(struct stats_totals, tls_failed));
    prom_per_worker(out, s, "wsd_deflate_negotiated_total", "counter",
                    "WebSockets opened with permessage-deflate.",
                    offsetof(struct stats_totals, deflate));
    prom_per_worker(out, s, "wsd_tls_opened_total", "counter",
                    "WebSockets opened over TLS (wss://).",
                    offsetof(struct stats_totals, tls));
    prom_per_worker(out, s, "wsd_case_log_write_errors_total", "counter",
                    "Case log lines not written whole (a failed or short "
                    "write: a full disk, an I/O error); the record stays in "
                    "the ring until reused.",
                    offsetof(struct stats_totals, case_log_write_errors));
    PROM_HEAD(out, prom_duration.name, "histogram",
              "WebSockets (answered 101) by length, from accept to close.");
    for (unsigned i = 0; i < s->n_workers; i++) {
        prom_histogram(out, &s->workers[i], &prom_duration);
    }
    prom_by_label(out, s, "wsd_timeouts_total",
                  "Timeouts that ran out, by kind: handshake "
                  "(handshake_timeout_ms), close (close_timeout_ms), ping "
                  "(pong_timeout_ms) and idle (idle_timeout_ms).",
                  "kind", timeout_keys, STATS_TIMEOUT_N,
                  offsetof(struct stats_totals, timeouts));
}

/* What crossed the wire: messages, frames, bytes, close codes, sizes. */
static void
prom_traffic(struct prom_out *out, const struct stats_json_snapshot *s)
{
    char key[16];

    prom_both_ways(out, s, "wsd_messages_total", "WebSocket messages.",
                   offsetof(struct stats_totals, rx_messages),
                   offsetof(struct stats_totals, tx_messages));
    prom_both_ways(out, s, "wsd_frames_total", "WebSocket frames.",
                   offsetof(struct stats_totals, rx_frames),
                   offsetof(struct stats_totals, tx_frames));
    prom_both_ways(out, s, "wsd_bytes_total",
                   "Bytes received and sent, handshakes included (over TLS, "
                   "the plaintext).",
                   offsetof(struct stats_totals, rx_octets),
                   offsetof(struct stats_totals, tx_octets));
    PROM_HEAD(out, "wsd_close_codes_total", "counter",
              "Close frames by code, sent and received.");
    for (unsigned i = 0; i < s->n_workers; i++) {
        for (unsigned k = 0; k < STATS_CLOSE_N; k++) {
            const struct stats_totals *t = &s->workers[i].t;
            if (t->close_sent[k] == 0 && t->close_received[k] == 0) {
                continue;
            }
            close_key(k, key, sizeof(key));
            prom_printf(
                out,
                "wsd_close_codes_total{worker=\"%u\",direction=\"sent\","
                "code=\"%s\"} %" PRIu64 "\n"
                "wsd_close_codes_total{worker=\"%u\",direction=\"received\","
                "code=\"%s\"} %" PRIu64 "\n",
                s->workers[i].slot, key, t->close_sent[k], s->workers[i].slot,
                key, t->close_received[k]);
        }
    }
    PROM_HEAD(out, "wsd_message_size_bytes", "histogram",
              "WebSocket messages by payload size (after inflation), "
              "received and sent.");
    for (unsigned i = 0; i < s->n_workers; i++) {
        for (unsigned k = 0; k < 2; k++) {
            prom_histogram(out, &s->workers[i], &prom_message_size[k]);
        }
    }
}

int
stats_json_prometheus(const struct stats_json_snapshot *s, struct evbuffer *b)
{
    struct prom_out out = {b, false};

    prom_master(&out, s);
    prom_connections(&out, s);
    prom_traffic(&out, s);
    prom_processes(&out, s);
    return out.lost ? -1 : 0;
}
