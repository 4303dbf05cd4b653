/* SPDX-License-Identifier: MIT */
/*
 * Rates, the last minute and the last 15 minutes of the counters, from
 * one snapshot a tick (stats_live.h).
 */
#include "autoconf.h"

#include "stats_live.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The rates a sample keeps, per second, in the order of history_keys. */
enum live_rate {
    LIVE_ACCEPTED,
    LIVE_RX_MESSAGES,
    LIVE_TX_MESSAGES,
    LIVE_RX_OCTETS,
    LIVE_TX_OCTETS,
    LIVE_CLEAN,
    LIVE_UNCLEAN,
    LIVE_UNOPENED,
    LIVE_RATE_N,
};

static const char *const rate_keys[LIVE_RATE_N] = {
    "accepted", "rxMessages", "txMessages", "rxOctets",
    "txOctets", "clean",      "unclean",    "unopened",
};

struct live_sample {
    uint64_t t_ms;
    uint64_t active;
    double rate[LIVE_RATE_N];
};

/* The sum of the workers' totals at one tick. */
struct live_totals {
    uint64_t t_ms;
    struct stats_totals sum;
};

/* What is known of one process (a worker slot's, or the master's). */
struct live_process {
    int pid;         /* the process the figures below are of; 0: none */
    bool has_cpu;    /* cpu_ms holds a reading of pid */
    uint64_t cpu_ms; /* its CPU time at the last tick */
    uint64_t resident_bytes;
    double cpu_percent; /* of one CPU, since the tick before; < 0: unknown */
    uint64_t rx_messages, tx_messages; /* the slot's, at the last tick */
    double rx_rate, tx_rate;
};

struct stats_live {
    unsigned n_slots;
    struct live_process *procs; /* by slot, then the master's */
    struct live_sample history[STATS_LIVE_HISTORY];
    unsigned n_history; /* in use */
    unsigned next_history;
    struct live_totals minute[STATS_LIVE_MINUTE + 1];
    unsigned n_minute;
    unsigned next_minute;
};

struct stats_live *
stats_live_new(unsigned n_slots)
{
    struct stats_live *l = calloc(1, sizeof(*l));

    if (l == NULL) {
        return NULL;
    }
    l->n_slots = n_slots;
    l->procs = calloc((size_t)n_slots + 1, sizeof(*l->procs));
    if (l->procs == NULL) {
        free(l);
        return NULL;
    }
    return l;
}

void
stats_live_free(struct stats_live *l)
{
    if (l != NULL) {
        free(l->procs);
        free(l);
    }
}

/* The i-th newest of n entries of a ring of cap whose next slot is next. */
static unsigned
ring_back(unsigned next, unsigned cap, unsigned i)
{
    return (next + cap - 1 - i) % cap;
}

/*
 * Every field of stats_totals is a uint64_t counter, so that the totals
 * of two ticks subtract field by field without naming each.
 */
#define TOTALS_WORDS (sizeof(struct stats_totals) / sizeof(uint64_t))
_Static_assert(sizeof(struct stats_totals) % sizeof(uint64_t) == 0,
               "stats_totals holds uint64_t counters only");

/* now - then, field by field, 0 where a counter went back (never, as
 * slots are never reset; a slot is memory workers write). */
static void
totals_since(struct stats_totals *out, const struct stats_totals *now,
             const struct stats_totals *then)
{
    uint64_t a[TOTALS_WORDS];
    uint64_t b[TOTALS_WORDS];

    memcpy(a, now, sizeof(a));
    memcpy(b, then, sizeof(b));
    for (size_t i = 0; i < TOTALS_WORDS; i++) {
        a[i] = a[i] >= b[i] ? a[i] - b[i] : 0;
    }
    memcpy(out, a, sizeof(a));
}

static double
per_second(uint64_t now, uint64_t then, uint64_t ms)
{
    return ms > 0 && now >= then ? (double)(now - then) * 1000.0 / (double)ms
                                 : 0.0;
}

static void
sum_workers(const struct stats_json_snapshot *s, struct stats_totals *sum)
{
    memset(sum, 0, sizeof(*sum));
    for (unsigned i = 0; i < s->n_workers; i++) {
        stats_totals_add(sum, &s->workers[i].t);
    }
    sum->peak = s->peak_active;
}

/* The process sample of slot (-1: the master) in s, or NULL. */
static const struct stats_json_process *
find_process(const struct stats_json_snapshot *s, int slot)
{
    for (unsigned i = 0; i < s->n_processes; i++) {
        if (s->processes[i].worker == slot) {
            return &s->processes[i];
        }
    }
    return NULL;
}

/* One process's CPU share and memory since the tick before, ms ago. */
static void
update_process(struct live_process *p, int pid,
               const struct stats_json_process *sample, uint64_t ms)
{
    if (pid != p->pid) {
        p->has_cpu = false; /* another process: no reading to compare */
        p->pid = pid;
    }
    p->cpu_percent = -1;
    if (sample == NULL) {
        p->has_cpu = false;
        p->resident_bytes = 0;
        return;
    }
    if (p->has_cpu && ms > 0 && sample->s.cpu_ms >= p->cpu_ms) {
        p->cpu_percent =
            (double)(sample->s.cpu_ms - p->cpu_ms) * 100.0 / (double)ms;
    }
    p->has_cpu = true;
    p->cpu_ms = sample->s.cpu_ms;
    p->resident_bytes = sample->s.resident_bytes;
}

static void
update_workers(struct stats_live *l, const struct stats_json_snapshot *s,
               uint64_t ms)
{
    for (unsigned i = 0; i < s->n_workers; i++) {
        const struct stats_json_worker *w = &s->workers[i];
        if (w->slot >= l->n_slots) {
            continue;
        }
        struct live_process *p = &l->procs[w->slot];
        update_process(p, w->pid, find_process(s, (int)w->slot), ms);
        p->rx_rate = per_second(w->t.rx_messages, p->rx_messages, ms);
        p->tx_rate = per_second(w->t.tx_messages, p->tx_messages, ms);
        p->rx_messages = w->t.rx_messages;
        p->tx_messages = w->t.tx_messages;
    }
    const struct stats_json_process *m = find_process(s, -1);
    /* The master is always the same process. */
    update_process(&l->procs[l->n_slots], 1, m, ms);
}

void
stats_live_add(struct stats_live *l, const struct stats_json_snapshot *s)
{
    struct live_totals *now = &l->minute[l->next_minute];
    const struct live_totals *before =
        l->n_minute > 0
            ? &l->minute[ring_back(l->next_minute, STATS_LIVE_MINUTE + 1, 0)]
            : NULL;
    uint64_t ms = before != NULL && s->now_ms > before->t_ms
                      ? s->now_ms - before->t_ms
                      : 0;
    struct live_sample *h = &l->history[l->next_history];

    now->t_ms = s->now_ms;
    sum_workers(s, &now->sum);
    memset(h, 0, sizeof(*h));
    h->t_ms = s->now_ms;
    h->active = now->sum.active;
    if (before != NULL) {
        const struct stats_totals *a = &now->sum;
        const struct stats_totals *b = &before->sum;
        h->rate[LIVE_ACCEPTED] = per_second(a->accepted, b->accepted, ms);
        h->rate[LIVE_RX_MESSAGES] =
            per_second(a->rx_messages, b->rx_messages, ms);
        h->rate[LIVE_TX_MESSAGES] =
            per_second(a->tx_messages, b->tx_messages, ms);
        h->rate[LIVE_RX_OCTETS] = per_second(a->rx_octets, b->rx_octets, ms);
        h->rate[LIVE_TX_OCTETS] = per_second(a->tx_octets, b->tx_octets, ms);
        h->rate[LIVE_CLEAN] = per_second(a->clean, b->clean, ms);
        h->rate[LIVE_UNCLEAN] = per_second(a->unclean, b->unclean, ms);
        h->rate[LIVE_UNOPENED] = per_second(a->unopened, b->unopened, ms);
    }
    update_workers(l, s, ms);
    l->next_minute = (l->next_minute + 1) % (STATS_LIVE_MINUTE + 1);
    if (l->n_minute < STATS_LIVE_MINUTE + 1) {
        l->n_minute++;
    }
    l->next_history = (l->next_history + 1) % STATS_LIVE_HISTORY;
    if (l->n_history < STATS_LIVE_HISTORY) {
        l->n_history++;
    }
}

/* A rate as JSON, to the thousandth (rates are not exact anyway). */
static json_t *
rate(double r)
{
    return json_real((double)(int64_t)(r * 1000.0 + 0.5) / 1000.0);
}

static json_t *
rates_object(const struct live_sample *h)
{
    json_t *j = json_object();

    for (unsigned i = 0; i < LIVE_RATE_N; i++) {
        json_object_set_new(j, rate_keys[i],
                            rate(h != NULL ? h->rate[i] : 0.0));
    }
    return j;
}

/*
 * What changed since the oldest tick kept, at most STATS_LIVE_MINUTE
 * seconds ago: the totals' document of the difference, with "active" the
 * connections open now and "peak" the most open at any tick of the span.
 */
static json_t *
last_minute(const struct stats_live *l)
{
    struct stats_totals d;
    const struct live_totals *now =
        &l->minute[ring_back(l->next_minute, STATS_LIVE_MINUTE + 1, 0)];
    const struct live_totals *then = &l->minute[ring_back(
        l->next_minute, STATS_LIVE_MINUTE + 1, l->n_minute - 1)];
    uint64_t peak = 0;

    totals_since(&d, &now->sum, &then->sum);
    for (unsigned i = 0; i < l->n_minute && i < l->n_history; i++) {
        const struct live_sample *h =
            &l->history[ring_back(l->next_history, STATS_LIVE_HISTORY, i)];
        peak = h->active > peak ? h->active : peak;
    }
    d.active = now->sum.active;
    d.peak = peak;
    return json_pack("{s:f, s:o}", "seconds",
                     (double)(now->t_ms - then->t_ms) / 1000.0, "totals",
                     stats_json_totals(&d));
}

static json_t *
process_object(const struct live_process *p)
{
    return json_pack("{s:o, s:o}", "cpuPercent",
                     p->cpu_percent >= 0 ? rate(p->cpu_percent) : json_null(),
                     "residentBytes",
                     p->has_cpu ? json_integer((json_int_t)p->resident_bytes)
                                : json_null());
}

static json_t *
workers_array(const struct stats_live *l, const struct stats_json_snapshot *s)
{
    json_t *a = json_array();

    for (unsigned i = 0; i < s->n_workers; i++) {
        unsigned slot = s->workers[i].slot;
        if (slot >= l->n_slots) {
            continue;
        }
        const struct live_process *p = &l->procs[slot];
        json_t *o = process_object(p);
        json_object_set_new(o, "slot", json_integer(slot));
        json_object_set_new(o, "pid",
                            p->pid > 0 ? json_integer(p->pid) : json_null());
        json_object_set_new(o, "rxMessagesPerSecond", rate(p->rx_rate));
        json_object_set_new(o, "txMessagesPerSecond", rate(p->tx_rate));
        json_array_append_new(a, o);
    }
    return a;
}

json_t *
stats_live_event(const struct stats_live *l,
                 const struct stats_json_snapshot *s)
{
    const struct live_sample *h =
        l->n_history > 0
            ? &l->history[ring_back(l->next_history, STATS_LIVE_HISTORY, 0)]
            : NULL;

    if (l->n_minute == 0) {
        return NULL;
    }
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "time",
                     stats_json_time(s->now_ms), "stats", stats_json_stats(s),
                     "rates", rates_object(h), "lastMinute", last_minute(l),
                     "workers", workers_array(l, s), "master",
                     process_object(&l->procs[l->n_slots]));
}

json_t *
stats_live_history(const struct stats_live *l)
{
    json_t *keys = json_pack("[s, s]", "t", "active");
    json_t *samples = json_array();

    for (unsigned i = 0; i < LIVE_RATE_N; i++) {
        json_array_append_new(keys, json_string(rate_keys[i]));
    }
    for (unsigned i = l->n_history; i-- > 0;) {
        const struct live_sample *h =
            &l->history[ring_back(l->next_history, STATS_LIVE_HISTORY, i)];
        json_t *row =
            json_pack("[I, I]", (json_int_t)h->t_ms, (json_int_t)h->active);
        for (unsigned k = 0; k < LIVE_RATE_N; k++) {
            json_array_append_new(row, rate(h->rate[k]));
        }
        json_array_append_new(samples, row);
    }
    return json_pack("{s:i, s:o, s:o}", "intervalMs", STATS_LIVE_INTERVAL_MS,
                     "keys", keys, "samples", samples);
}
