/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for stats_record: what a connection's events do to its
 * worker's counters. How each ended connection is counted (clean,
 * unclean or unopened), permessage-deflate and timeouts by kind, and the
 * histograms of WebSocket length and message size at their bucket bounds.
 * The segment is a real one (stats_shm_create), with one slot.
 */
#include "autoconf.h"

#include "stats_record.h"

#include <string.h>

#include "tap.h"

#define T0_MS 1700000000000ULL

static struct stats_shm shm;

static uint64_t
load(_Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

static struct stats_counters *
counters(void)
{
    return &stats_shm_slot(&shm, 0)->c;
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
    struct stats_record_end e = {true, false, false, clean ? NULL : "why"};
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

    if (stats_shm_create(&bare, 1, 0, T0_MS) != 0) {
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

int
main(void)
{
    if (stats_shm_create(&shm, 1, 4, T0_MS) != 0) {
        ok(false, "stats_shm_create");
        return tap_done();
    }
    test_outcomes();
    test_deflate_tls_timeouts();
    test_message_sizes();
    test_durations();
    test_durations_unrecorded();
    stats_shm_destroy(&shm);
    return tap_done();
}
