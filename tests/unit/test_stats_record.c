/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for stats_record: what a connection's events do to its
 * worker's counters. How each ended connection is counted (clean,
 * unclean or unopened), permessage-deflate and timeouts by kind, and the
 * histograms of WebSocket length and message size at their bucket bounds.
 * The opening handshake's heads and the wire log: what each event logs,
 * in order, and what a log that runs over keeps (its first entries, a gap,
 * its last ones). The combined calls (stats_record_feed,
 * stats_record_message_sent) record what the calls they stand for do.
 * The segment is a real one (stats_shm_create), with one slot.
 */
#include "autoconf.h"

#include "stats_record.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "copy_small.h"
#include "report_autobahn.h"
#include "stats_json.h"
#include "tap.h"
#include "ws_session.h"

#define T0_MS 1700000000000ULL

static struct stats_shm shm;

static uint64_t
load(_Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

static struct stats_counters *
counters_of(struct stats_shm *m)
{
    return &stats_shm_slot(m, 0)->c;
}

static struct stats_counters *
counters(void)
{
    return counters_of(&shm);
}

/* Zeroes the slot's counters and opens a connection at T0_MS. */
static void
start(struct stats_record *r)
{
    memset(counters(), 0, sizeof(*counters()));
    stats_record_start(r, &shm, 0, NULL, 0, T0_MS);
}

static void
finish(struct stats_record *r, bool clean, uint64_t at_ms)
{
    struct stats_record_end e = {.dropped_by_me = true,
                                 .why = clean ? NULL : "why"};
    stats_record_finish(r, &e, at_ms);
}

/* A WebSocket through its closing handshake, or cut short. */
static void
websocket(struct stats_record *r, bool clean)
{
    stats_record_handshake(r, 101, NULL, NULL);
    if (clean) {
        stats_record_close_in(r, 1000, true, NULL, 0);
        stats_record_close_out(r, 1000, NULL, false);
    }
}

static void
test_outcomes(void)
{
    struct stats_record r;
    struct stats_counters *c = counters();

    start(&r);
    websocket(&r, true);
    finish(&r, true, T0_MS + 5);
    ok(load(&c->clean) == 1 && load(&c->unclean) == 0 &&
           load(&c->unopened) == 0,
       "a WebSocket with a closing handshake is clean");

    start(&r);
    websocket(&r, false);
    finish(&r, false, T0_MS + 5);
    ok(load(&c->clean) == 0 && load(&c->unclean) == 1 &&
           load(&c->unopened) == 0,
       "a WebSocket cut short is unclean");

    start(&r);
    stats_record_handshake(&r, 404, NULL, NULL);
    finish(&r, false, T0_MS + 5);
    ok(load(&c->clean) == 0 && load(&c->unclean) == 0 &&
           load(&c->unopened) == 1 && load(&c->refused[STATS_STATUS_404]) == 1,
       "a refusal is unopened, and refused by its status");

    start(&r);
    finish(&r, false, T0_MS + 5);
    ok(load(&c->unclean) == 0 && load(&c->unopened) == 1,
       "a connection gone before any answer is unopened");
    is_int(load(&c->active), 0, "and no longer active");

    memset(c, 0, sizeof(*c));
    stats_record_dropped(&shm, 0);
    ok(load(&c->accepted) == 1 && load(&c->unopened) == 1 &&
           load(&c->unclean) == 0 && load(&c->unrecorded) == 1,
       "a connection dropped unanswered: accepted, unopened, unrecorded");
}

static void
test_deflate_tls_timeouts(void)
{
    struct stats_record r;
    struct stats_counters *c = counters();

    start(&r);
    stats_record_handshake(&r, 101, NULL, "permessage-deflate");
    is_int(load(&c->deflate), 1, "a 101 with permessage-deflate counts");
    stats_record_handshake(&r, 101, NULL, NULL);
    is_int(load(&c->deflate), 1, "one without does not");
    stats_record_handshake(&r, 400, NULL, "permessage-deflate");
    is_int(load(&c->deflate), 1, "nor does a refusal");

    stats_record_tls_failed(&r);
    is_int(load(&c->tls_failed), 1, "a failed TLS handshake counts");

    static const enum stats_timeout kinds[] = {
        STATS_TIMEOUT_HANDSHAKE, STATS_TIMEOUT_CLOSE, STATS_TIMEOUT_CLOSE,
        STATS_TIMEOUT_PING,      STATS_TIMEOUT_IDLE,  STATS_TIMEOUT_IDLE,
        STATS_TIMEOUT_IDLE,
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        stats_record_timeout(&r, kinds[i]);
    }
    stats_record_timeout(&r, STATS_TIMEOUT_N);
    ok(load(&c->timeouts[STATS_TIMEOUT_HANDSHAKE]) == 1 &&
           load(&c->timeouts[STATS_TIMEOUT_CLOSE]) == 2 &&
           load(&c->timeouts[STATS_TIMEOUT_PING]) == 1 &&
           load(&c->timeouts[STATS_TIMEOUT_IDLE]) == 3,
       "timeouts counted by kind; an unknown kind is ignored");
    finish(&r, false, T0_MS);
}

/* Bucket i of a histogram after observing exactly one value. */
static void
test_message_sizes(void)
{
    static const struct {
        size_t len;
        unsigned bucket;
    } cases[] = {
        {0, 0},        {64, 0},       {65, 1},         {1024, 1},
        {1025, 2},     {16384, 2},    {16385, 3},      {262144, 3},
        {262145, 4},   {1048576, 4},  {1048577, 5},    {16777216, 5},
        {16777217, 6}, {1u << 30, 6}, {(size_t)-1, 6},
    };
    struct stats_record r;
    struct stats_counters *c = counters();

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        start(&r);
        stats_record_message_in(&r, cases[i].len);
        stats_record_message_out(&r, cases[i].len, false, 0);
        bool only = true;
        for (unsigned b = 0; b < STATS_SIZE_BUCKETS; b++) {
            uint64_t want = b == cases[i].bucket;
            only = only && load(&c->rx_message_bytes[b]) == want &&
                   load(&c->tx_message_bytes[b]) == want;
        }
        ok(only && load(&c->rx_message_bytes_sum) == cases[i].len &&
               load(&c->tx_message_bytes_sum) == cases[i].len,
           "a message of %zu bytes: bucket %u each way, and its size summed",
           cases[i].len, cases[i].bucket);
        finish(&r, false, T0_MS);
    }
}

static void
test_durations(void)
{
    static const struct {
        uint64_t ms;
        unsigned bucket;
    } cases[] = {
        {0, 0},      {100, 0},     {101, 1},     {1000, 1},
        {1001, 2},   {10000, 2},   {60000, 3},   {60001, 4},
        {600000, 4}, {3600000, 5}, {3600001, 6},
    };
    struct stats_record r;
    struct stats_counters *c = counters();

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        start(&r);
        websocket(&r, i % 2 == 0);
        finish(&r, i % 2 == 0, T0_MS + cases[i].ms);
        bool only = true;
        for (unsigned b = 0; b < STATS_DURATION_BUCKETS; b++) {
            only = only && load(&c->duration_ms[b]) == (b == cases[i].bucket);
        }
        ok(only && load(&c->duration_ms_sum) == cases[i].ms,
           "a WebSocket of %llu ms: bucket %u, its length summed",
           (unsigned long long)cases[i].ms, cases[i].bucket);
    }

    start(&r);
    websocket(&r, true);
    finish(&r, true, T0_MS - 10);
    ok(load(&c->duration_ms[0]) == 1 && load(&c->duration_ms_sum) == 0,
       "a clock stepped back: a length of 0");

    start(&r);
    stats_record_handshake(&r, 426, NULL, NULL);
    finish(&r, false, T0_MS + 50);
    stats_record_start(&r, &shm, 0, NULL, 0, T0_MS);
    finish(&r, false, T0_MS + 50);
    uint64_t n = 0;
    for (unsigned b = 0; b < STATS_DURATION_BUCKETS; b++) {
        n += load(&c->duration_ms[b]);
    }
    ok(n == 0 && load(&c->duration_ms_sum) == 0,
       "refusals and connections that never opened are no WebSocket length");
}

/* Without a record (stats_cases 0), the length comes from 32 bits. */
static void
test_durations_unrecorded(void)
{
    static const struct {
        uint64_t start_ms, ms;
        unsigned bucket;
        uint64_t length;
    } cases[] = {
        {T0_MS, 100, 0, 100},
        {T0_MS, 101, 1, 101},
        {T0_MS, 3600001, 6, 3600001},
        /* The low 32 bits wrap in between. */
        {0xffffff00ULL, 0x200, 1, 0x200},
        {T0_MS, 20ULL * 24 * 3600 * 1000, 6, 20ULL * 24 * 3600 * 1000},
    };
    struct stats_shm bare;
    struct stats_record r;

    struct stats_shm_size bare_size = {1, 0, 0, 0};
    if (stats_shm_create(&bare, &bare_size, T0_MS) != 0) {
        ok(false, "stats_shm_create without records");
        return;
    }
    struct stats_counters *c = &stats_shm_slot(&bare, 0)->c;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(c, 0, sizeof(*c));
        stats_record_start(&r, &bare, 0, NULL, 0, cases[i].start_ms);
        ok(r.rec == NULL, "no record to hold the case");
        stats_record_handshake(&r, 101, NULL, NULL);
        finish(&r, false, cases[i].start_ms + cases[i].ms);
        ok(load(&c->duration_ms[cases[i].bucket]) == 1 &&
               load(&c->duration_ms_sum) == cases[i].length,
           "unrecorded, %llu ms: bucket %u", (unsigned long long)cases[i].ms,
           cases[i].bucket);
    }
    memset(c, 0, sizeof(*c));
    stats_record_start(&r, &bare, 0, NULL, 0, T0_MS);
    stats_record_handshake(&r, 101, NULL, NULL);
    finish(&r, false, T0_MS - 10);
    ok(load(&c->duration_ms[0]) == 1 && load(&c->duration_ms_sum) == 0,
       "unrecorded, the clock stepped back: a length of 0");
    stats_shm_destroy(&bare);
}

/* A segment whose records keep 16 bytes of request and 12 wire entries
 * (the last 8 a ring), and a connection in it. */
static struct stats_shm wshm;

static struct stats_case *
wire_start(struct stats_record *r)
{
    stats_record_start(r, &wshm, 0, NULL, 0, T0_MS);
    return r->rec;
}

/* Record r->rec as the master reads it, into buf. */
static struct stats_case *
wire_copy(const struct stats_case *rec, void *buf)
{
    for (unsigned i = 0; i < wshm.n_cases; i++) {
        if (stats_shm_case(&wshm, i) == rec) {
            return stats_case_read(&wshm, i, buf) ? buf : NULL;
        }
    }
    return NULL;
}

static void
test_heads(void)
{
    static const char req[] = "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
    static const char small[] = "GET /\r\n\r\n";
    uint64_t buf[4096];
    struct stats_record r;
    struct stats_case *rec = wire_start(&r);

    stats_record_heads(&r, req, sizeof(req) - 1, resp, sizeof(resp) - 1);
    struct stats_case *c = wire_copy(rec, buf);
    ok(c != NULL, "heads: the record reads back");
    if (c == NULL) {
        return;
    }
    is_int(c->request_len, 16, "heads: the request cut at its room");
    ok(c->request_truncated, "heads: and flagged");
    is_mem(stats_case_request(c), c->request_len, req, 16,
           "heads: its first bytes as read");
    is_int(c->response_len, sizeof(resp) - 1, "heads: the response whole");
    ok(!c->response_truncated, "heads: not flagged");
    is_mem(c->response, c->response_len, resp, sizeof(resp) - 1,
           "heads: the response as sent");
    finish(&r, false, T0_MS);

    rec = wire_start(&r);
    stats_record_heads(&r, small, sizeof(small) - 1, NULL, 0);
    c = wire_copy(rec, buf);
    ok(c != NULL && c->request_len == sizeof(small) - 1 &&
           !c->request_truncated && c->response_len == 0,
       "heads: a request that fits is kept whole, unflagged");
    finish(&r, false, T0_MS);

    rec = wire_start(&r);
    stats_record_heads(&r, "GET /ws HTTP/1.1\r\n\r\n", 18, NULL, 0);
    c = wire_copy(rec, buf);
    ok(c != NULL && c->request_len == 16 && c->request_truncated,
       "heads: a head of 18 bytes cut to 16 is flagged");
    finish(&r, false, T0_MS);

    /* The caller cuts the heads (conn_head_len): what it passes is kept,
     * bytes after an empty line included. */
    rec = wire_start(&r);
    stats_record_heads(&r, "GET /\r\n\r\n\x81", 10, "HTTP/1.1\r\n\r\nx", 13);
    c = wire_copy(rec, buf);
    ok(c != NULL && c->request_len == 10 && !c->request_truncated &&
           c->response_len == 13,
       "heads: kept as passed, not searched again");
    finish(&r, false, T0_MS);
}

/* Row i of entry k of c's wire log as readers see it (stats_wire_rows);
 * a row of kind NONE when the entry has no such row. */
static const struct stats_wire *
row_at(const struct stats_case *c, uint64_t k, unsigned i, uint64_t *gap)
{
    static struct stats_wire rows[2];
    unsigned n = stats_wire_rows(stats_wire_at(c, k, gap), rows);

    if (i >= n) {
        memset(&rows[i < 2 ? i : 0], 0, sizeof(rows[0]));
        return &rows[i < 2 ? i : 0];
    }
    return &rows[i];
}

static void
test_wire_log(void)
{
    uint64_t buf[4096];
    struct stats_record r;
    struct stats_case *rec = wire_start(&r);
    uint8_t payload[46];
    struct ws_frame_header h = {true, WS_RSV1,      WS_OP_TEXT,
                                true, {1, 2, 3, 4}, 40};
    uint8_t ctrl[] = {0x88, 0x02, 0x03, 0xe8};
    uint8_t hdr[] = {0x81, 0x28};
    struct iovec iov[2] = {{hdr, 2}, {payload, 40}};
    uint64_t gap;

    for (unsigned i = 0; i < sizeof(payload); i++) {
        payload[i] = (uint8_t)('a' + i % 26);
    }
    stats_record_handshake(&r, 101, NULL, NULL);
    stats_record_read(&r, payload, 46);
    stats_record_frame_in(&r, &h, false);
    stats_record_frame_data(&r, payload, 5, 0);
    stats_record_frame_data(&r, payload + 5, 35, 5);
    stats_record_frame_data(&r, payload, 5, 0); /* not where it stands */
    stats_record_frame_out(&r, (const uint8_t[]){0x81, 40}, 2, payload, 40, 40);
    stats_record_written(&r, iov, 2, 30);
    stats_record_timeout(&r, STATS_TIMEOUT_PING);
    stats_record_control_out(&r, ctrl, sizeof(ctrl));
    stats_record_shut(&r);
    finish(&r, true, T0_MS + 5);

    struct stats_case *c = wire_copy(rec, buf);
    if (c == NULL) {
        ok(false, "wire: the record reads back");
        return;
    }
    is_int(c->wire_n, 8, "wire: 8 entries logged");
    is_int(stats_wire_kept(c), 8, "wire: all kept");
    const struct stats_wire *w = stats_wire_at(c, 0, &gap);
    ok(w->kind == STATS_WIRE_READ && w->length == 46 &&
           w->n_head == STATS_WIRE_ROOM &&
           memcmp(w->head, payload, STATS_WIRE_ROOM) == 0 && gap == 0,
       "wire: a read, its size and first 46 bytes kept");
    w = row_at(c, 0, 0, &gap);
    ok(w->kind == STATS_WIRE_READ && w->length == 46 && w->n_head == 32 &&
           memcmp(w->head, payload, 32) == 0 && gap == 0 &&
           row_at(c, 0, 1, &gap)->kind == STATS_WIRE_NONE,
       "wire: its one row, its size and first 32 bytes");
    w = stats_wire_at(c, 1, &gap);
    ok(w->kind == STATS_WIRE_RFRAME && w->bits == 0xc1 && w->length == 40 &&
           (w->flags & STATS_WIRE_MASKED) && memcmp(w->mask, h.mask, 4) == 0,
       "wire: a frame received: FIN, RSV1, text, its length and mask");
    ok(w->n_head == 32 && memcmp(w->head, payload, 32) == 0,
       "wire: its payload's first bytes, from two parts, once");
    w = stats_wire_at(c, 2, &gap);
    ok(w->kind == STATS_WIRE_TFRAME && w->flags == STATS_WIRE_WIRE &&
           w->n_hdr == 2 && w->n_head == 34 && memcmp(w->head, hdr, 2) == 0 &&
           memcmp(w->head + 2, payload, 32) == 0,
       "wire: a frame sent, kept as on the wire: its header and 32 bytes");
    w = row_at(c, 2, 0, &gap);
    ok(w->kind == STATS_WIRE_TFRAME && w->bits == 0x81 && w->length == 40 &&
           w->n_head == 32 && w->flags == 0 &&
           memcmp(w->head, payload, 32) == 0 &&
           row_at(c, 2, 1, &gap)->kind == STATS_WIRE_NONE,
       "wire: its row, its payload's first 32 bytes, and no write's (the "
       "write took 30 of its 42 bytes)");
    w = stats_wire_at(c, 3, &gap);
    ok(w->kind == STATS_WIRE_WRITE && w->length == 30 && w->n_head == 30 &&
           memcmp(w->head, hdr, 2) == 0 &&
           memcmp(w->head + 2, payload, 28) == 0,
       "wire: a write of 30 bytes over two buffers, its bytes as sent");
    w = stats_wire_at(c, 4, &gap);
    ok(w->kind == STATS_WIRE_TIMEOUT && w->length == STATS_TIMEOUT_PING,
       "wire: the ping timeout");
    w = row_at(c, 5, 0, &gap);
    ok(w->kind == STATS_WIRE_TFRAME && w->bits == 0x88 && w->length == 2 &&
           w->n_head == 2 && w->head[0] == 0x03 && w->head[1] == 0xe8,
       "wire: our close frame, code 1000");
    w = stats_wire_at(c, 6, &gap);
    ok(w->kind == STATS_WIRE_SHUT, "wire: our FIN");
    w = stats_wire_at(c, 7, &gap);
    ok(w->kind == STATS_WIRE_DROP && w->length == 1,
       "wire: last, we dropped TCP");
}

/* The ring's slot, masked where the ring is a power of two, is the slot
 * of the rule: head + (number - head) mod wire_tail. */
static void
test_wire_slot(void)
{
    static const uint32_t shapes[][2] = {{5, 5},    {12, 8},      {64, 16},
                                         {100, 16}, {4096, 1024}, {7, 3}};
    struct stats_case c;
    bool same = true;

    memset(&c, 0, sizeof(c));
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        c.wire_cap = shapes[i][0];
        c.wire_tail = shapes[i][1];
        uint64_t head = c.wire_cap - c.wire_tail;
        for (uint64_t n = 0; n < 5000; n++) {
            uint64_t want =
                n < c.wire_cap ? n : head + (n - head) % c.wire_tail;
            same = same && stats_wire_slot(&c, n) == want;
        }
    }
    ok(same, "wire slot: the mask and the division agree, rings of 3 to 1024");
}

/*
 * The writer follows the log slot by slot (stats_record's wire_slot)
 * while the reader computes each slot from the entry's number: for logs
 * whose ring is all of it (5 entries, not a power of two), part of it
 * (64: the last 16) and one entry, every kept entry reads back as the one
 * written with that number.
 */
static void
test_wire_cursor(void)
{
    static const uint32_t caps[] = {1, 5, 12, 64};
    uint64_t buf[8192] = {0};

    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        struct stats_shm seg;
        struct stats_shm_size size = {1, 1, 16, caps[i]};
        struct stats_record r;
        uint8_t b[STATS_WIRE_ROOM] = {0}; /* a read keeps its first 46 */
        uint64_t gap;
        bool same = true;

        if (stats_shm_create(&seg, &size, T0_MS) != 0) {
            ok(false, "wire cursor: a segment of %u entries", caps[i]);
            continue;
        }
        stats_record_start(&r, &seg, 0, NULL, 0, T0_MS);
        for (unsigned n = 0; n < 3 * caps[i] + 7; n++) {
            stats_record_read(&r, b, n + 1); /* entry n: length n + 1 */
        }
        struct stats_case *c =
            stats_case_read(&seg, 0, (struct stats_case *)(void *)buf)
                ? (struct stats_case *)(void *)buf
                : NULL;
        uint64_t kept = c != NULL ? stats_wire_kept(c) : 0;
        uint64_t number = 0;
        for (uint64_t k = 0; c != NULL && k < kept; k++) {
            const struct stats_wire *w = stats_wire_at(c, k, &gap);
            number += gap;
            same =
                same && w->kind == STATS_WIRE_READ && w->length == number + 1;
            number++;
        }
        ok(c != NULL && kept == caps[i] && number == c->wire_n && same,
           "wire cursor: a log of %u entries keeps the ones written, "
           "slot by slot as the reader finds them",
           caps[i]);
        stats_shm_destroy(&seg);
    }
}

static void
test_wire_overrun(void)
{
    uint64_t buf[4096];
    struct stats_record r;
    struct stats_case *rec = wire_start(&r);
    struct ws_frame_header h = {true, 0, WS_OP_BINARY, true, {0}, 1000};
    uint8_t b[64] = {0};
    uint64_t gap;

    stats_record_frame_in(&r, &h, false); /* entry 0, kept: of the first 4 */
    for (unsigned i = 1; i < 30; i++) {
        stats_record_read(&r, b, i);
    }
    stats_record_frame_in(&r, &h, false); /* entry 30, in the ring */
    for (unsigned i = 31; i < 40; i++) {
        stats_record_read(&r, b, i); /* push it out of the ring */
    }
    stats_record_frame_data(&r, b, 8, 0); /* its entry is gone */
    finish(&r, false, T0_MS);

    struct stats_case *c = wire_copy(rec, buf);
    if (c == NULL) {
        ok(false, "overrun: the record reads back");
        return;
    }
    is_int(c->wire_n, 41, "overrun: 41 entries logged");
    is_int(stats_wire_kept(c), 12, "overrun: 12 kept");
    bool ok_head = true;
    for (unsigned k = 0; k < 4; k++) {
        const struct stats_wire *w = stats_wire_at(c, k, &gap);
        ok_head = ok_head && gap == 0 &&
                  (k == 0 ? w->kind == STATS_WIRE_RFRAME
                          : w->kind == STATS_WIRE_READ && w->length == k);
    }
    ok(ok_head, "overrun: the first 4 entries as they came");
    const struct stats_wire *w = stats_wire_at(c, 4, &gap);
    is_int(gap, 41 - 12, "overrun: 29 entries lost before the ring's first");
    ok(w->kind == STATS_WIRE_READ && w->length == 33,
       "overrun: the ring starts at entry 33");
    bool ok_tail = true;
    for (unsigned k = 5; k < 11; k++) {
        w = stats_wire_at(c, k, &gap);
        ok_tail = ok_tail && gap == 0 && w->kind == STATS_WIRE_READ &&
                  w->length == 29 + k && w->n_head == 29 + k;
    }
    ok(ok_tail, "overrun: then 34 to 39 in order, the frame's late payload "
                "written into none of them");
    w = stats_wire_at(c, 11, &gap);
    ok(w->kind == STATS_WIRE_DROP, "overrun: the drop is the last entry");

    /* A record whose ring size came corrupt from the segment: bounded. */
    struct stats_case *raw = rec;
    stats_case_begin(raw);
    raw->wire_tail = 0;
    raw->wire_n = 1000;
    stats_case_end(raw);
    c = wire_copy(rec, buf);
    ok(c != NULL && stats_wire_kept(c) == 12 &&
           stats_wire_at(c, 11, &gap) != NULL && gap == 0,
       "overrun: a corrupt ring reads as the first 12 entries");
}

/*
 * Frames after the peer's close (Autobahn 7.1.x) count by opcode like any
 * other, and their wire entries say they were discarded; a compressed one
 * adds nothing to the compressed bytes received.
 */
static void
test_discarded(void)
{
    uint64_t buf[4096];
    struct stats_record r;
    struct stats_case *rec = wire_start(&r);
    struct ws_frame_header text = {true, WS_RSV1, WS_OP_TEXT, true, {0}, 9};
    struct ws_frame_header close = {true, 0, WS_OP_CLOSE, true, {0}, 2};
    struct ws_frame_header ping = {true, 0, WS_OP_PING, true, {0}, 4};
    struct stats_counters *wc = &stats_shm_slot(&wshm, 0)->c;
    uint64_t frames0 = load(&wc->rx_frames);
    uint64_t gap;

    stats_record_handshake(&r, 101, NULL, NULL);
    stats_record_frame_in(&r, &text, false);
    stats_record_frame_in(&r, &close, false);
    stats_record_frame_in(&r, &text, true);
    stats_record_frame_in(&r, &ping, true);
    finish(&r, true, T0_MS);
    is_int(load(&wc->rx_frames) - frames0, 4,
           "discarded: the worker counts every frame");
    struct stats_case *c = wire_copy(rec, buf);
    if (c == NULL) {
        ok(false, "discarded: the record reads back");
        return;
    }
    ok(c->rx_frames[WS_OP_TEXT] == 2 && c->rx_frames[WS_OP_CLOSE] == 1 &&
           c->rx_frames[WS_OP_PING] == 1,
       "discarded: rx_frames counts them by opcode");
    is_int(c->rx_compressed_bytes, 9,
           "discarded: the compressed bytes of the processed frame only");
    bool marks = true;
    for (unsigned k = 0; k < 4; k++) {
        const struct stats_wire *w = stats_wire_at(c, k, &gap);
        marks = marks && w->kind == STATS_WIRE_RFRAME &&
                ((w->flags & STATS_WIRE_DISCARDED) != 0) == (k >= 2) &&
                (w->flags & STATS_WIRE_INCOMPLETE) == 0;
    }
    ok(marks, "discarded: the last two entries are marked, the first not");
    ok(!c->rx_frame_incomplete, "discarded: no frame cut");
}

/*
 * A connection that ends inside a frame: the record says so, and when
 * the frame's header had come, its entry too; not when only part of a
 * header had (the last entry is another frame's).
 */
static void
test_incomplete(void)
{
    uint64_t buf[4096];
    struct stats_record r;
    struct stats_case *rec = wire_start(&r);
    struct ws_frame_header h = {false, 0, WS_OP_TEXT, true, {0}, 21};
    struct stats_record_end e = {.why = "peer dropped the TCP connection first",
                                 .rx_frame_incomplete = true,
                                 .rx_frame_logged = true};
    uint64_t gap;

    stats_record_handshake(&r, 101, NULL, NULL);
    stats_record_frame_in(&r, &h, false);
    stats_record_read(&r, (const uint8_t *)"x", 1);
    stats_record_finish(&r, &e, T0_MS);
    struct stats_case *c = wire_copy(rec, buf);
    ok(c != NULL && c->rx_frame_incomplete, "incomplete: the record says so");
    const struct stats_wire *w = c != NULL ? stats_wire_at(c, 0, &gap) : NULL;
    ok(w != NULL && w->kind == STATS_WIRE_RFRAME &&
           (w->flags & STATS_WIRE_INCOMPLETE) != 0 &&
           (w->flags & STATS_WIRE_DISCARDED) == 0,
       "incomplete: the frame's entry is marked");

    rec = wire_start(&r);
    e.rx_frame_logged = false;
    stats_record_handshake(&r, 101, NULL, NULL);
    h.payload_len = 1;
    stats_record_frame_in(&r, &h, false);
    stats_record_finish(&r, &e, T0_MS);
    c = wire_copy(rec, buf);
    w = c != NULL ? stats_wire_at(c, 0, &gap) : NULL;
    ok(c != NULL && c->rx_frame_incomplete && w != NULL &&
           (w->flags & STATS_WIRE_INCOMPLETE) == 0,
       "incomplete: cut in a header, the last whole frame is not marked");

    rec = wire_start(&r);
    stats_record_handshake(&r, 101, NULL, NULL);
    stats_record_frame_in(&r, &h, false);
    finish(&r, true, T0_MS);
    c = wire_copy(rec, buf);
    ok(c != NULL && !c->rx_frame_incomplete, "incomplete: not otherwise");
}

/*
 * A client's record (wsc's): its frames sent are masked, logged unmasked
 * with their key, and its close is clean only when the server closed the
 * TCP connection first; a server that kept it open after the closing
 * handshake is said so.
 */
static void
test_client(void)
{
    uint64_t buf[4096];
    struct stats_record r;
    struct stats_case *rec = wire_start(&r);
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    /* RFC 6455 §5.7: "Hello" masked with that key. */
    static const uint8_t hello[] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
    static const uint8_t close[] = {0x88, 0x82, 0x37, 0xfa,
                                    0x21, 0x3d, 0x34, 0x12};
    struct stats_counters *cn = counters_of(&wshm);
    uint64_t gap;

    stats_record_client(&r);
    stats_record_handshake(&r, 101, NULL, NULL);
    stats_record_frame_out(
        &r, (const uint8_t[]){0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d}, 6, hello, 5,
        5);
    stats_record_control_out(&r, close, sizeof(close));
    stats_record_close_out(&r, 1000, NULL, false);
    stats_record_close_in(&r, 1000, true, NULL, 0);
    struct stats_record_end peer = {.dropped_by_me = false};
    uint64_t clean_before = load(&cn->clean);
    stats_record_finish(&r, &peer, T0_MS + 3);
    struct stats_case *c = wire_copy(rec, buf);
    if (c == NULL) {
        ok(false, "client: the record reads back");
        return;
    }
    ok(c->client_flags == STATS_CASE_CLIENT, "client: the record says so");
    const struct stats_wire *w = stats_wire_at(c, 0, &gap);
    ok(w->kind == STATS_WIRE_TFRAME && w->n_hdr == 6 && w->n_head == 11 &&
           memcmp(w->head + 6, hello, 5) == 0,
       "client: a masked frame sent, kept masked as sent");
    w = row_at(c, 0, 0, &gap);
    ok(w->kind == STATS_WIRE_TFRAME && (w->flags & STATS_WIRE_MASKED) &&
           memcmp(w->mask, key, 4) == 0 && w->n_head == 5 &&
           memcmp(w->head, "Hello", 5) == 0,
       "client: its row shows it unmasked, with its key");
    w = row_at(c, 1, 0, &gap);
    ok(w->kind == STATS_WIRE_TFRAME && w->bits == 0x88 && w->length == 2 &&
           (w->flags & STATS_WIRE_MASKED) && w->n_head == 2 &&
           w->head[0] == 0x03 && w->head[1] == 0xe8,
       "client: its masked close frame, code 1000 unmasked");
    ok(c->was_clean && load(&cn->clean) == clean_before + 1,
       "client: clean when the server closed the TCP connection");

    rec = wire_start(&r);
    stats_record_client(&r);
    stats_record_handshake(&r, 101, NULL, NULL);
    stats_record_close_out(&r, 1000, NULL, false);
    stats_record_close_in(&r, 1000, true, NULL, 0);
    struct stats_record_end me = {.dropped_by_me = true,
                                  .why = "the server kept TCP open",
                                  .server_drop_timeout = true};
    stats_record_finish(&r, &me, T0_MS + 3);
    c = wire_copy(rec, buf);
    ok(c != NULL && !c->was_clean &&
           c->client_flags ==
               (STATS_CASE_CLIENT | STATS_CASE_SERVER_DROP_TIMEOUT),
       "client: not clean when it dropped TCP after a server's timeout");

    rec = wire_start(&r);
    stats_record_client(&r);
    stats_record_handshake(&r, 101, NULL, NULL);
    stats_record_close_out(&r, 1000, NULL, false);
    stats_record_close_in(&r, 1000, true, NULL, 0);
    struct stats_record_end first = {.dropped_by_me = true};
    stats_record_finish(&r, &first, T0_MS + 3);
    c = wire_copy(rec, buf);
    ok(c != NULL && !c->was_clean,
       "client: not clean when the client closed the TCP connection first");
}

/* An event as ws_session_feed reports it. */
static struct ws_event
feed_event(enum ws_event_type type, const struct ws_frame_header *h,
           bool discarded, const uint8_t *data, size_t n, uint64_t pos)
{
    struct ws_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.has_frame = h != NULL;
    if (h != NULL) {
        ev.frame = *h;
    }
    ev.frame_discarded = discarded;
    ev.frame_data = data;
    ev.frame_data_len = n;
    ev.frame_data_pos = pos;
    ev.len = type == WS_EV_MESSAGE ? 123 : 0;
    return ev;
}

/* What stats_record_feed does, by the calls it stands for. */
static void
feed_by_parts(struct stats_record *r, const struct ws_event *ev)
{
    if (ev->has_frame) {
        stats_record_frame_in(r, &ev->frame, ev->frame_discarded);
    }
    if (ev->frame_data != NULL) {
        stats_record_frame_data(r, ev->frame_data, ev->frame_data_len,
                                ev->frame_data_pos);
    }
    if (ev->type == WS_EV_MESSAGE) {
        stats_record_message_in(r, ev->len);
    }
}

/* What stats_record_message_sent does, likewise. */
static void
sent_by_parts(struct stats_record *r, const struct ws_out_message *m,
              size_t len)
{
    stats_record_frame_out(r, m->hdr, m->hdr_len, m->payload, m->payload_len,
                           m->payload_len);
    stats_record_message_out(r, len, m->compressed, m->payload_len);
}

/* The peer's address as the record writes it, every number's length. */
static void
test_peer(void)
{
    static const struct {
        uint32_t addr;
        uint16_t port;
        const char *want;
    } v4[] = {
        {0x00000000, 0, "0.0.0.0:0"},
        {0x01020304, 9, "1.2.3.4:9"},
        {0x0a141e28, 10, "10.20.30.40:10"},
        {0x6364c7c8, 99, "99.100.199.200:99"},
        {0x7f000001, 100, "127.0.0.1:100"},
        {0x7f000001, 999, "127.0.0.1:999"},
        {0x7f000001, 1000, "127.0.0.1:1000"},
        {0x7f000001, 9999, "127.0.0.1:9999"},
        {0x7f000001, 10000, "127.0.0.1:10000"},
        {0xffffffff, 65535, "255.255.255.255:65535"},
    };
    struct stats_record r;

    for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
        struct sockaddr_in in = {.sin_family = AF_INET,
                                 .sin_port = htons(v4[i].port),
                                 .sin_addr.s_addr = htonl(v4[i].addr)};
        stats_record_start(&r, &shm, 0, (struct sockaddr *)&in, sizeof(in),
                           T0_MS);
        ok(r.rec != NULL && strcmp(r.rec->peer, v4[i].want) == 0, "peer: %s",
           v4[i].want);
        finish(&r, false, T0_MS);
    }
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6,
                               .sin6_port = htons(443),
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    stats_record_start(&r, &shm, 0, (struct sockaddr *)&in6, sizeof(in6),
                       T0_MS);
    ok(r.rec != NULL && strcmp(r.rec->peer, "[::1]:443") == 0,
       "peer: [::1]:443");
    finish(&r, false, T0_MS);
}

/* Whether two records read the same to every reader: the case as
 * /v1/cases shows it, and its Autobahn report with the wire log. */
static bool
same_to_readers(const struct stats_case *a, const struct stats_case *b)
{
    json_t *ja = stats_json_case(a, T0_MS);
    json_t *jb = stats_json_case(b, T0_MS);
    json_t *ra = report_autobahn_case(a, T0_MS);
    json_t *rb = report_autobahn_case(b, T0_MS);
    bool same =
        ja != NULL && ra != NULL && json_equal(ja, jb) && json_equal(ra, rb);

    json_decref(ja);
    json_decref(jb);
    json_decref(ra);
    json_decref(rb);
    return same;
}

/*
 * A record reused is as good as a new one: a case started in a record
 * whose every byte is stale (0xa5) reads, through a handshake, frames
 * both ways and a closing handshake, exactly as the same case started in
 * a record never used.
 */
static void
reused_case(struct stats_shm *seg, bool full)
{
    static const char req[] = "GET /ws?case=3&agent=x HTTP/1.1\r\n"
                              "Host: h\r\nUser-Agent: ua\r\n"
                              "Sec-WebSocket-Key: k\r\n\r\n";
    static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
    struct sockaddr_in peer = {.sin_family = AF_INET,
                               .sin_port = htons(4242),
                               .sin_addr.s_addr = htonl(0x7f000001)};
    uint8_t p[36]; /* the read below keeps its 36 bytes */
    struct ws_frame_header h = {true, 0, WS_OP_TEXT, true, {1, 2, 3, 4}, 30};
    struct ws_out_message m = {{0x81, 30}, 2, p, 30, false};
    struct ws_event ev = feed_event(WS_EV_MESSAGE, &h, false, p, 30, 0);
    struct iovec iov = {p, 32};
    struct ws_handshake_request hr;
    struct stats_record r;

    memset(p, 'x', sizeof(p));
    memset(&hr, 0, sizeof(hr));
    hr.path = (struct ws_span){"/ws", 3};
    hr.query = (struct ws_span){"case=3&agent=x", 14};
    hr.key = (struct ws_span){"k", 1};
    hr.user_agent = (struct ws_span){"ua", 2};
    hr.extensions[0] = (struct ws_span){"permessage-deflate", 18};
    hr.n_extensions = 1;
    if (!full) {
        /* Nothing but a 101 and an end: every field left as reset. */
        stats_record_start(&r, seg, 0, NULL, 0, T0_MS);
        stats_record_handshake(&r, 101, NULL, NULL);
        finish(&r, false, T0_MS + 5);
        return;
    }
    stats_record_start(&r, seg, 0, (struct sockaddr *)&peer, sizeof(peer),
                       T0_MS);
    stats_record_tls(&r, "TLSv1.3", "TLS_AES_128_GCM_SHA256");
    stats_record_handshake(&r, 101, &hr, "permessage-deflate");
    stats_record_heads(&r, req, sizeof(req) - 1, resp, sizeof(resp) - 1);
    stats_record_read(&r, p, 36);
    stats_record_feed(&r, &ev);
    stats_record_message_sent(&r, &m, 30);
    stats_record_written(&r, &iov, 1, 32);
    stats_record_close_in(&r, 1000, true, (const uint8_t *)"bye", 3);
    stats_record_close_out(&r, 1000, NULL, false);
    finish(&r, true, T0_MS + 5);
}

/*
 * A record reused is as good as a new one: a case started in a record
 * whose every byte is stale (0xa5) reads exactly as the same case started
 * in a record never used: one with a request, TLS, frames both ways and a
 * closing handshake, and one with nothing but a 101 and an end, which
 * leaves every field as the reset left it.
 */
static void
test_reused(void)
{
    struct stats_shm_size size = {1, 1, 64, 12};
    /* cppcheck-suppress unassignedVariable */
    uint64_t buf_a[2048];
    /* cppcheck-suppress unassignedVariable */
    uint64_t buf_b[2048];

    for (int full = 1; full >= 0; full--) {
        struct stats_shm fresh;
        struct stats_shm stale;
        if (!ok(stats_shm_create(&fresh, &size, T0_MS) == 0 &&
                    stats_shm_create(&stale, &size, T0_MS) == 0,
                "reused: two segments")) {
            return;
        }
        struct stats_case *old = stats_shm_case(&stale, 0);
        memset((char *)old + sizeof(old->seq), 0xa5,
               stale.case_bytes - sizeof(old->seq));
        reused_case(&fresh, full);
        reused_case(&stale, full);
        struct stats_case *a = (struct stats_case *)(void *)buf_a;
        struct stats_case *b = (struct stats_case *)(void *)buf_b;
        if (ok(stats_case_read(&fresh, 0, a) && stats_case_read(&stale, 0, b),
               "reused: both read back")) {
            b->id = a->id;
            ok(same_to_readers(a, b),
               "reused: a stale record reads as a new one (%s case: case, "
               "report, wire log)",
               full ? "a full" : "a bare");
        }
        stats_shm_destroy(&fresh);
        stats_shm_destroy(&stale);
    }
}

static void
test_combined(void)
{
    uint64_t buf_a[4096];
    uint64_t buf_b[4096];
    uint8_t p[40];
    struct ws_frame_header whole = {true,         0, WS_OP_BINARY, true,
                                    {1, 2, 3, 4}, 20};
    struct ws_frame_header big = {true, WS_RSV1,      WS_OP_TEXT,
                                  true, {5, 6, 7, 8}, 40};
    struct ws_frame_header skip = {true, 0, WS_OP_PING, true, {9, 9, 9, 9}, 3};
    struct ws_event evs[8];
    struct ws_out_message out[3];
    struct stats_counters before;
    struct stats_counters after_a;
    struct stats_record a;
    struct stats_record b;

    for (unsigned i = 0; i < sizeof(p); i++) {
        p[i] = (uint8_t)(0x30 + i);
    }
    evs[0] = feed_event(WS_EV_MESSAGE, &whole, false, p, 20, 0);
    evs[1] = feed_event(WS_EV_NONE, &big, false, NULL, 0, 0);
    evs[2] = feed_event(WS_EV_NONE, NULL, false, p, 5, 0);
    evs[3] = feed_event(WS_EV_NONE, NULL, false, p + 5, 30, 5);
    evs[4] = feed_event(WS_EV_MESSAGE, NULL, false, p + 35, 5, 35);
    evs[5] = feed_event(WS_EV_NONE, &skip, true, NULL, 0, 0);
    evs[6] = feed_event(WS_EV_NONE, &big, false, p, 40, 0);
    evs[7] = feed_event(WS_EV_NONE, NULL, false, p, 4, 0);
    memset(out, 0, sizeof(out));
    out[0] = (struct ws_out_message){{0x82, 20}, 2, p, 20, false};
    out[1] = (struct ws_out_message){{0xc1, 38}, 2, p, 38, true};
    out[2] =
        (struct ws_out_message){{0x81, 0x80 | 40, 1, 2, 3, 4}, 6, p, 40, false};

    struct stats_case *rec_a = wire_start(&a);
    stats_record_handshake(&a, 101, NULL, NULL);
    memcpy(&before, counters_of(&wshm), sizeof(before));
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        feed_by_parts(&a, &evs[i]);
    }
    for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
        sent_by_parts(&a, &out[i], 100 + i);
    }
    memcpy(&after_a, counters_of(&wshm), sizeof(after_a));
    memcpy(counters_of(&wshm), &before, sizeof(before));

    struct stats_case *rec_b = wire_start(&b);
    stats_record_handshake(&b, 101, NULL, NULL);
    memcpy(counters_of(&wshm), &before, sizeof(before));
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        stats_record_feed(&b, &evs[i]);
    }
    for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
        stats_record_message_sent(&b, &out[i], 100 + i);
    }
    ok(memcmp(&after_a, counters_of(&wshm), sizeof(after_a)) == 0,
       "combined: the worker's counters as by the separate calls");

    struct stats_case *ca = wire_copy(rec_a, buf_a);
    struct stats_case *cb = wire_copy(rec_b, buf_b);
    ok(ca != NULL && cb != NULL, "combined: both records read back");
    if (ca == NULL || cb == NULL) {
        return;
    }
    ok(ca->wire_n == 7 && cb->wire_n == 7, "combined: 7 wire entries each");
    cb->seq = ca->seq;
    cb->id = ca->id;
    /* The records were used before: what a reader can reach of them. */
    bool same = same_to_readers(ca, cb);
    for (uint64_t k = 0; same && k < stats_wire_kept(ca); k++) {
        uint64_t gap_a;
        uint64_t gap_b;
        struct stats_wire rows_a[2];
        struct stats_wire rows_b[2];
        unsigned na = stats_wire_rows(stats_wire_at(ca, k, &gap_a), rows_a);
        unsigned nb = stats_wire_rows(stats_wire_at(cb, k, &gap_b), rows_b);
        same = na == nb && na > 0 &&
               memcmp(rows_a, rows_b, na * sizeof(rows_a[0])) == 0 &&
               gap_a == gap_b;
    }
    ok(same,
       "combined: the record and its wire log's rows byte for byte as by "
       "the separate calls (a whole frame, one in parts, a discarded one, a "
       "head cut at 32 bytes, messages sent plain, compressed and "
       "masked)");
    finish(&a, false, T0_MS);
    finish(&b, false, T0_MS);
}

/* A frame of len payload bytes as on the wire in f[] (its size
 * returned): opcode binary, masked with key when key is not NULL, its
 * payload pl[0..len) unmasked in u[] (bytes that differ from one length
 * to the next). */
static size_t
wire_frame(uint8_t *f, uint8_t *u, size_t len, const uint8_t *key)
{
    size_t h = 2;

    f[0] = 0x82;
    f[1] = key != NULL ? 0x80 : 0;
    if (len < 126) {
        f[1] |= (uint8_t)len;
    } else if (len < 65536) {
        f[1] |= 126;
        f[2] = (uint8_t)(len >> 8);
        f[3] = (uint8_t)len;
        h = 4;
    } else {
        f[1] |= 127;
        for (int i = 0; i < 8; i++) {
            f[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        }
        h = 10;
    }
    if (key != NULL) {
        memcpy(f + h, key, 4);
        h += 4;
    }
    for (size_t i = 0; i < len; i++) {
        u[i] = (uint8_t)(i * 7 + len);
        f[h + i] = key != NULL ? (uint8_t)(u[i] ^ key[i % 4]) : u[i];
    }
    return h + len;
}

/* The wire log of r's record as /v1/cases/ID shows it, and its count of
 * rows; r is finished. */
static char *
wirelog_text(struct stats_record *r, uint64_t *rows, uint64_t *entries)
{
    uint64_t buf[4096];
    struct stats_case *rec = r->rec;

    finish(r, false, T0_MS);
    struct stats_case *c = wire_copy(rec, buf);
    if (c == NULL) {
        return NULL;
    }
    json_t *j = stats_json_case(c, T0_MS);
    json_t *log = json_object_get(j, "wirelog");
    *rows = (uint64_t)json_integer_value(json_object_get(j, "wirelogEntries"));
    *entries = c->wire_n;
    char *text = json_dumps(log, JSON_COMPACT);
    json_decref(j);
    return text;
}

/*
 * An echo as a server logs it, the read one whole masked frame of len
 * bytes, the write one whole frame: once as the worker reports it (the
 * frame whole in its read, the write one buffer), once with the read and
 * the frame in entries of their own (the session not saying the frame
 * was whole) and the write in two buffers (its first byte alone, as the
 * header and the payload of a large echo go out). Both logs read the
 * same, row for row, the write's row its size and first bytes; the first
 * takes two entries, the second three.
 */
static void
shared_echo(size_t len, const uint8_t *key)
{
    static uint8_t in[65536 + 14];
    static uint8_t payload[65536];
    static uint8_t out[65536 + 14];
    static uint8_t unused[65536];
    char *text[2];
    uint64_t rows[2];
    uint64_t entries[2];

    size_t n = wire_frame(in, payload, len, key);
    size_t hn = n - len;
    size_t m = wire_frame(out, unused, len, NULL);
    struct ws_out_message msg;
    memset(&msg, 0, sizeof(msg));
    memcpy(msg.hdr, out, m - len);
    msg.hdr_len = m - len;
    msg.payload = out + msg.hdr_len;
    msg.payload_len = len;
    for (int shared = 1; shared >= 0; shared--) {
        struct stats_record r;
        wire_start(&r);
        stats_record_handshake(&r, 101, NULL, NULL);
        stats_record_read(&r, in, n);
        struct ws_frame_header h = {true,        0,   WS_OP_BINARY,
                                    key != NULL, {0}, len};
        if (key != NULL) {
            memcpy(h.mask, key, 4);
        }
        struct ws_event ev =
            feed_event(WS_EV_MESSAGE, &h, false, payload, len, 0);
        ev.frame_whole = shared ? n : 0;
        stats_record_feed(&r, &ev);
        stats_record_message_sent(&r, &msg, len);
        struct iovec whole[1] = {{out, m}};
        struct iovec cut[2] = {{out, 1}, {out + 1, m - 1}};
        if (shared) {
            stats_record_written(&r, whole, 1, m);
        } else {
            stats_record_written(&r, cut, 2, m);
        }
        text[shared] = wirelog_text(&r, &rows[shared], &entries[shared]);
    }
    /* The write's row, from the bytes sent. */
    char to[128];
    size_t k = m;
    if (k > 32) {
        k = 32;
    }
    int at = snprintf(to, sizeof(to), "[\"TO\",[%zu,\"", m);
    for (size_t i = 0; i < k; i++) {
        at += snprintf(to + at, sizeof(to) - (size_t)at, "%02x", out[i]);
    }
    snprintf(to + at, sizeof(to) - (size_t)at, "%s\"],false]",
             m > k ? " ..." : "");
    ok(text[0] != NULL && text[1] != NULL && strcmp(text[0], text[1]) == 0 &&
           rows[0] == 5 && rows[1] == 5 && strstr(text[1], to) != NULL,
       "shared entries: an echo of %zu bytes (header %zu%s) reads as five "
       "rows either way",
       len, hn, key != NULL ? ", masked" : "");
    is_int(entries[0] - entries[1], 1,
           "shared entries: the read's entry shared for the %zu-byte echo",
           len);
    is_int(entries[1], 3,
           "shared entries: %zu-byte echo: two entries and the drop", len);
    free(text[0]);
    free(text[1]);
}

/* Kinds of the entries of r's record, in order, as a string ("RrTW..."). */
static void
entry_kinds(struct stats_record *r, char *out, size_t cap)
{
    uint64_t buf[4096];
    struct stats_case *c = wire_copy(r->rec, buf);
    size_t k = 0;

    for (uint64_t i = 0; c != NULL && i < stats_wire_kept(c) && k + 1 < cap;
         i++) {
        uint64_t gap;
        const struct stats_wire *w = stats_wire_at(c, i, &gap);
        bool shared = (w->flags & STATS_WIRE_WIRE) != 0 &&
                      (w->kind == STATS_WIRE_RFRAME ||
                       (w->flags & STATS_WIRE_WRITTEN) != 0);
        char kind = "-RWFTOSD"[w->kind < 8 ? w->kind : 0];
        out[k++] = shared ? (char)(kind + 32) : kind;
    }
    out[k] = '\0';
}

/* What keeps a read or a write from sharing a frame's entry. */
static void
test_shared_not(void)
{
    static const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
    uint8_t in[64];
    uint8_t payload[40];
    uint8_t out[64];
    char kinds[16];
    struct ws_frame_header h = {true, 0, WS_OP_BINARY, true, {0}, 20};
    memcpy(h.mask, key, 4);
    size_t n = wire_frame(in, payload, 20, key);
    size_t m = wire_frame(out, payload + 20, 20, NULL);
    uint8_t hdr[2] = {out[0], out[1]};
    struct stats_record r;

    /* Each case: a read, the frame's event, a frame sent, its write. */
    struct ws_event ev = feed_event(WS_EV_MESSAGE, &h, false, payload, 20, 0);
    ev.frame_whole = n;

    wire_start(&r);
    stats_record_read(&r, in, n);
    stats_record_feed(&r, &ev);
    stats_record_frame_out(&r, hdr, 2, out + 2, 20, 20);
    stats_record_written(&r, (struct iovec[]){{out, m}}, 1, m);
    entry_kinds(&r, kinds, sizeof(kinds));
    is_str(kinds, "ft", "shared: the read and the write each share");
    finish(&r, false, T0_MS);

    wire_start(&r);
    stats_record_read(&r, in, n + 1); /* a byte of the next frame too */
    stats_record_feed(&r, &ev);
    stats_record_written(&r, (struct iovec[]){{out, m}}, 1, m);
    entry_kinds(&r, kinds, sizeof(kinds));
    is_str(kinds, "RFW",
           "not shared: a read larger than the frame, a write "
           "with no frame before it");
    finish(&r, false, T0_MS);

    wire_start(&r);
    stats_record_read(&r, in, n);
    stats_record_timeout(&r, STATS_TIMEOUT_PING); /* logged in between */
    stats_record_feed(&r, &ev);
    stats_record_frame_out(&r, hdr, 2, out + 2, 20, 20);
    stats_record_shut(&r);
    stats_record_written(&r, (struct iovec[]){{out, m}}, 1, m);
    entry_kinds(&r, kinds, sizeof(kinds));
    is_str(kinds, "ROFTSW", "not shared: an entry logged in between");
    finish(&r, false, T0_MS);

    wire_start(&r);
    stats_record_read(&r, in, n);
    struct ws_event skip = ev;
    skip.frame_discarded = true;
    skip.frame_data = NULL;
    stats_record_feed(&r, &skip);
    stats_record_frame_out(&r, hdr, 2, out + 2, 20, 20);
    stats_record_written(&r, (struct iovec[]){{out, m - 1}}, 1, m - 1);
    entry_kinds(&r, kinds, sizeof(kinds));
    is_str(kinds, "RFTW",
           "not shared: a discarded frame, a write one byte "
           "short of the frame");
    finish(&r, false, T0_MS);

    wire_start(&r);
    stats_record_frame_out(&r, hdr, 2, out + 2, 20, 20);
    uint8_t other[64];
    memcpy(other, out, m);
    other[m - 1] ^= 1; /* the same size, other bytes */
    stats_record_written(&r, (struct iovec[]){{other, m}}, 1, m);
    stats_record_written(&r, (struct iovec[]){{out, m}}, 1, m);
    entry_kinds(&r, kinds, sizeof(kinds));
    is_str(kinds, "TWW",
           "not shared: a write of other bytes, and then "
           "of the frame's, no longer the last entry");
    finish(&r, false, T0_MS);

    wire_start(&r);
    stats_record_frame_out(&r, hdr, 2, out + 2, 20, 20);
    stats_record_written(&r, (struct iovec[]){{out, m}}, 1, m);
    stats_record_written(&r, (struct iovec[]){{out, m}}, 1, m);
    entry_kinds(&r, kinds, sizeof(kinds));
    is_str(kinds, "tW",
           "shared once: a second write of the same bytes is "
           "its own");
    finish(&r, false, T0_MS);

    /* A large echo's write: its header, then its payload where it lies,
     * the payload's bytes the frame's or not. */
    const struct {
        uint8_t *payload;
        const char *kinds;
        const char *what;
    } split[] = {
        {out + 2, "t", "shared: a write in two buffers, compared across both"},
        {other + 2, "TW", "not shared: the second buffer's bytes other"},
    };
    for (size_t i = 0; i < sizeof(split) / sizeof(split[0]); i++) {
        struct iovec two[2] = {{out, 2}, {split[i].payload, m - 2}};
        wire_start(&r);
        stats_record_frame_out(&r, hdr, 2, out + 2, 20, 20);
        stats_record_written(&r, two, 2, m);
        entry_kinds(&r, kinds, sizeof(kinds));
        is_str(kinds, split[i].kinds, "%s", split[i].what);
        finish(&r, false, T0_MS);
    }
}

/* A log run over by shared entries: the gap counts the rows lost. */
static void
test_shared_gap(void)
{
    static const uint8_t key[4] = {9, 8, 7, 6};
    uint8_t in[64];
    uint8_t payload[20];
    uint8_t out[64];
    struct ws_frame_header h = {true, 0, WS_OP_BINARY, true, {9, 8, 7, 6}, 20};
    size_t n = wire_frame(in, payload, 20, key);
    size_t m = wire_frame(out, payload, 20, NULL);
    struct ws_out_message msg = {{out[0], out[1]}, 2, out + 2, 20, false};
    struct stats_record r;
    uint64_t rows;
    uint64_t entries;

    wire_start(&r);
    for (int i = 0; i < 20; i++) {
        stats_record_read(&r, in, n);
        struct ws_event ev =
            feed_event(WS_EV_MESSAGE, &h, false, payload, 20, 0);
        ev.frame_whole = n;
        stats_record_feed(&r, &ev);
        stats_record_message_sent(&r, &msg, 20);
        stats_record_written(&r, (struct iovec[]){{out, m}}, 1, m);
    }
    /* 41 entries with the drop, 81 rows; kept: the first 4 entries (8
     * rows) and the ring's 8 (7 echo entries and the drop: 15 rows). */
    char *text = wirelog_text(&r, &rows, &entries);
    ok(text != NULL && strstr(text, "[\"GAP\",58]") != NULL,
       "shared entries run over: the gap counts 58 rows lost");
    ok(entries == 41 && rows == 81,
       "shared entries run over: 41 entries stand for 81 rows");
    free(text);
}

static void
test_shared(void)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    static const size_t lens[] = {0,   1,   20,  26,    32,   40,
                                  125, 126, 200, 65535, 65536};

    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        shared_echo(lens[i], key);
    }
    shared_echo(20, NULL); /* a client's read: unmasked */
    test_shared_not();
    test_shared_gap();
}

/* copy_small and same_small, which the wire log's entries are filled and
 * compared with, at every length: the bytes moved, and each byte that
 * differs seen. */
static void
test_copy_small(void)
{
    uint8_t src[48];
    uint8_t dst[48];
    uint8_t other[32];
    bool copies = true;
    bool compares = true;

    for (unsigned i = 0; i < sizeof(src); i++) {
        src[i] = (uint8_t)(i * 37 + 1);
    }
    for (size_t n = 0; n <= 48; n++) {
        memset(dst, 0, sizeof(dst));
        copy_small(dst, src, n);
        copies = copies && memcmp(dst, src, n) == 0;
        for (size_t i = n; i < sizeof(dst); i++) {
            copies = copies && dst[i] == 0;
        }
    }
    for (size_t n = 0; n <= 32; n++) {
        memcpy(other, src, n);
        compares = compares && same_small(src, other, n);
        for (size_t i = 0; i < n; i++) {
            other[i] ^= 0x10;
            compares = compares && !same_small(src, other, n);
            other[i] ^= 0x10;
        }
    }
    ok(copies, "copy_small: 0 to 48 bytes, each copied, none after");
    ok(compares, "same_small: 0 to 32 bytes, equal, and any one byte changed "
                 "seen");
}

int
main(void)
{
    struct stats_shm_size size = {1, 4, 0, 0};
    if (stats_shm_create(&shm, &size, T0_MS) != 0) {
        ok(false, "stats_shm_create");
        return tap_done();
    }
    test_outcomes();
    test_deflate_tls_timeouts();
    test_message_sizes();
    test_durations();
    test_durations_unrecorded();
    test_peer();
    test_copy_small();
    struct stats_shm_size wsize = {1, 4, 16, 12};
    if (stats_shm_create(&wshm, &wsize, T0_MS) != 0) {
        ok(false, "stats_shm_create with request and wire room");
    } else {
        test_heads();
        test_wire_log();
        test_wire_slot();
        test_wire_overrun();
        test_wire_cursor();
        test_discarded();
        test_incomplete();
        test_client();
        test_combined();
        test_shared();
        stats_shm_destroy(&wshm);
        test_reused();
    }
    stats_shm_destroy(&shm);
    return tap_done();
}
