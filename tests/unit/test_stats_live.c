/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for stats_live: rates per second between two ticks, the
 * last minute's totals over a ring that wraps, each worker's CPU share
 * (and none across a respawn), the history's rows oldest first and
 * bounded to 15 minutes, and the event's keys.
 */
#include "autoconf.h"

#include "stats_live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tap_json.h"

#define T0_MS 1700000000000ULL

/* Two workers and their processes, changed tick by tick. */
struct fixture {
    struct stats_json_worker w[2];
    struct stats_json_process p[3];
    struct stats_json_snapshot s;
};

static void
fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    for (unsigned i = 0; i < 2; i++) {
        f->w[i].slot = i;
        f->w[i].pid = 100 + (int)i;
        f->w[i].generation = 1;
        f->p[i + 1].worker = (int)i;
        f->p[i + 1].s.resident_bytes = 1 << 20;
    }
    f->p[0].worker = -1;
    f->s.version = "test";
    f->s.n_workers = 2;
    f->s.workers = f->w;
    f->s.n_processes = 3;
    f->s.processes = f->p;
    f->s.started_ms = T0_MS;
    f->s.now_ms = T0_MS;
}

/* The integer in column col of row row of rows. */
static long long
cell(const json_t *rows, size_t row, size_t col)
{
    return (long long)json_integer_value(
        json_array_get(json_array_get(rows, row), col));
}

static double
real_at(const json_t *o, const char *path0, const char *path1)
{
    const json_t *v = json_object_get(json_object_get(o, path0), path1);
    return json_number_value(v);
}

static void
test_rates(void)
{
    struct fixture f;
    struct stats_live *l = stats_live_new(4);

    fixture_init(&f);
    stats_live_add(l, &f.s);
    json_t *e = stats_live_event(l, &f.s);
    is_int((long long)real_at(e, "rates", "accepted"), 0,
           "first tick: no rate yet");
    json_decref(e);

    /* Two seconds later: 10 more accepted, 300 messages each way. */
    f.s.now_ms += 2000;
    f.w[0].t.accepted = 6;
    f.w[1].t.accepted = 4;
    f.w[0].t.active = 3;
    f.w[0].t.rx_messages = 300;
    f.w[0].t.tx_messages = 300;
    f.p[1].s.cpu_ms = 500; /* of 2000 ms: 25 % */
    f.p[0].s.cpu_ms = 20;
    stats_live_add(l, &f.s);
    e = stats_live_event(l, &f.s);
    ok(real_at(e, "rates", "accepted") == 5.0, "5 accepted a second");
    ok(real_at(e, "rates", "rxMessages") == 150.0, "150 messages a second");
    const json_t *w0 = json_array_get(json_object_get(e, "workers"), 0);
    ok(json_number_value(json_object_get(w0, "cpuPercent")) == 25.0,
       "worker 0: 25 %% of a CPU");
    ok(json_number_value(json_object_get(w0, "txMessagesPerSecond")) == 150.0,
       "worker 0: 150 messages a second out");
    is_key(w0, "pid", "100");
    is_key(w0, "residentBytes", "1048576");
    ok(real_at(e, "master", "cpuPercent") == 1.0, "the master: 1 %% of a CPU");
    is_key(json_object_get(e, "stats"), "uptimeSeconds", "2");
    is_key(json_object_get(json_object_get(e, "stats"), "totals"), "accepted",
           "10");
    static const char *const keys[] = {"time",    "stats",      "rates",
                                       "workers", "lastMinute", "master"};
    has_exactly_keys(e, keys, sizeof(keys) / sizeof(keys[0]), "the event");
    json_decref(e);

    /* A respawn: another pid in slot 0, whose CPU time is its own. */
    f.s.now_ms += 1000;
    f.w[0].pid = 200;
    f.p[1].s.cpu_ms = 10;
    stats_live_add(l, &f.s);
    e = stats_live_event(l, &f.s);
    w0 = json_array_get(json_object_get(e, "workers"), 0);
    is_key(w0, "cpuPercent", "null");
    is_key(w0, "pid", "200");
    json_decref(e);
    stats_live_free(l);
}

static void
test_last_minute(void)
{
    struct fixture f;
    struct stats_live *l = stats_live_new(2);

    fixture_init(&f);
    /* 100 ticks, one a second, each closing one connection with 1000. */
    for (unsigned i = 0; i < 100; i++) {
        f.w[1].t.close_sent[STATS_CLOSE_1000] = i;
        f.w[1].t.clean = i;
        f.w[1].t.active = i == 70 ? 42 : 1;
        stats_live_add(l, &f.s);
        f.s.now_ms += 1000;
    }
    f.s.now_ms -= 1000;
    json_t *e = stats_live_event(l, &f.s);
    const json_t *m = json_object_get(e, "lastMinute");
    is_key(m, "seconds", "60.0");
    const json_t *t = json_object_get(m, "totals");
    is_key(json_object_get(t, "closeCodesSent"), "1000", "60");
    is_key(t, "clean", "60");
    is_key(t, "active", "1");
    is_key(t, "peak", "42");
    json_decref(e);

    /* The history: every tick so far, oldest first. */
    json_t *h = stats_live_history(l);
    const json_t *rows = json_object_get(h, "samples");
    is_int(json_array_size(rows), 100, "a row per tick");
    is_int(cell(rows, 0, 0), 1700000000000LL, "row 0, column 0");
    is_int(cell(rows, 99, 0), 1700000099000LL, "row 99, column 0");
    is_int(cell(rows, 70, 1), 42LL, "row 70, column 1");
    is_int(json_array_size(json_array_get(rows, 0)),
           json_array_size(json_object_get(h, "keys")), "a value per key");
    json_decref(h);
    stats_live_free(l);
}

static void
test_history_bound(void)
{
    struct fixture f;
    struct stats_live *l = stats_live_new(2);

    fixture_init(&f);
    for (unsigned i = 0; i < STATS_LIVE_HISTORY + 50; i++) {
        stats_live_add(l, &f.s);
        f.s.now_ms += 1000;
    }
    json_t *h = stats_live_history(l);
    const json_t *rows = json_object_get(h, "samples");
    is_int(json_array_size(rows), STATS_LIVE_HISTORY, "15 minutes kept");
    is_int(cell(rows, 0, 0), 1700000050000LL, "row 0, column 0");
    json_decref(h);
    stats_live_free(l);
}

int
main(void)
{
    test_rates();
    test_last_minute();
    test_history_bound();
    return tap_done();
}
