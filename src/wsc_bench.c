/* SPDX-License-Identifier: MIT */
/*
 * `wsc bench URL`: the client core under load, as contrib/bench/wsbench
 * drives a server: N connections on one event loop, each sending a
 * binary message of S bytes when the echo of its last one has arrived
 * and checking that echo byte for byte, for a warm-up and then a
 * measured time. It prints the messages echoed per second and the
 * client's own CPU time per message (getrusage over the measured time),
 * the figure to set beside wsbench's generator CPU. A benchmark, never a
 * test: timings are not tests.
 */
#include "autoconf.h"

#include "wsc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

struct bench;

struct bench_conn {
    struct bench *b;
    struct wsc_conn *c;
    bool open;
    bool ended;
};

struct bench {
    struct wsc_options *o;
    struct wsc_run *run;
    struct bench_conn *conns;
    uint8_t *payload;
    uint64_t messages;   /* echoes that matched */
    uint64_t mismatches; /* echoes that did not */
    unsigned open;       /* connections open now */
    unsigned ended;
    unsigned failed; /* connections that ended before the measure's end */
    bool measuring;
    bool stopping;
    uint64_t t0_ms;
    uint64_t msgs0;
    double cpu0;
    struct event *timer;
};

static double
cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
b_open(struct wsc_conn *c, void *arg)
{
    struct bench_conn *bc = arg;

    bc->open = true;
    bc->b->open++;
    wsc_conn_send(c, WS_OP_BINARY, bc->b->payload, bc->b->o->bench_size);
}

static void
b_message(struct wsc_conn *c, uint8_t opcode, const uint8_t *p, size_t len,
          void *arg)
{
    struct bench_conn *bc = arg;
    struct bench *b = bc->b;

    if (opcode == WS_OP_BINARY && len == b->o->bench_size &&
        memcmp(p, b->payload, len) == 0) {
        b->messages++;
    } else {
        b->mismatches++;
    }
    if (!b->stopping) {
        wsc_conn_send(c, WS_OP_BINARY, b->payload, b->o->bench_size);
    }
}

static void
b_end(struct wsc_conn *c, const struct wsc_result *r, void *arg)
{
    struct bench_conn *bc = arg;
    struct bench *b = bc->b;
    (void)c;

    bc->ended = true;
    b->ended++;
    if (!b->stopping) {
        b->failed++;
        wsc_say("a connection ended: %s", r->why);
    }
    if (b->ended == b->o->bench_connections) {
        event_base_loopbreak(b->run->base);
    }
}

/* The warm-up is over: the measure starts; then it ends: every
 * connection closes. */
static void
b_tick(evutil_socket_t fd, short what, void *arg)
{
    struct bench *b = arg;
    (void)fd;
    (void)what;

    if (!b->measuring) {
        b->measuring = true;
        b->t0_ms = clock_mono_ms();
        b->msgs0 = b->messages;
        b->cpu0 = cpu_seconds();
        struct timeval tv = {(time_t)b->o->bench_seconds, 0};
        evtimer_add(b->timer, &tv);
        return;
    }
    double cpu = cpu_seconds() - b->cpu0;
    double secs = (double)(clock_mono_ms() - b->t0_ms) / 1000;
    uint64_t n = b->messages - b->msgs0;
    b->stopping = true;
    printf("wsc bench: %u x %zu B (deflate %s): %.0f msg/s over %.2f s; "
           "client %.2f us CPU/msg (%.0f%% of a core); %llu mismatches, "
           "%u connections failed\n",
           b->o->bench_connections, b->o->bench_size,
           b->o->set.deflate ? "on" : "off", (double)n / secs, secs,
           n > 0 ? cpu * 1e6 / (double)n : 0.0, cpu * 100 / secs,
           (unsigned long long)b->mismatches, b->failed);
    fflush(stdout);
    for (unsigned i = 0; i < b->o->bench_connections; i++) {
        if (!b->conns[i].ended) {
            wsc_conn_close(b->conns[i].c, WS_CLOSE_NORMAL, NULL);
        }
    }
}

int
wsc_bench_run(struct wsc_options *o, struct wsc_run *run)
{
    static const struct wsc_callbacks cb = {b_open, b_message, NULL, NULL,
                                            b_end};
    static const char words[] = "the quick brown fox jumps over the lazy dog ";
    struct bench b;
    char err[512];
    int rc = WSC_EXIT_UNCLEAN;

    memset(&b, 0, sizeof(b));
    b.o = o;
    b.run = run;
    b.conns = calloc(o->bench_connections, sizeof(*b.conns));
    b.payload = malloc(o->bench_size + 1);
    b.timer = evtimer_new(run->base, b_tick, &b);
    if (b.conns == NULL || b.payload == NULL || b.timer == NULL) {
        wsc_say("out of memory");
        goto out;
    }
    /* Text-like content, as wsbench's, so that deflate has work. */
    for (size_t i = 0; i < o->bench_size; i++) {
        b.payload[i] = (uint8_t)words[(i * 7 + i / 64) % (sizeof(words) - 1)];
    }
    for (unsigned i = 0; i < o->bench_connections; i++) {
        b.conns[i].b = &b;
        b.conns[i].c = wsc_conn_start(run->base, &o->url, &o->set, &cb,
                                      &b.conns[i], err, sizeof(err));
        if (b.conns[i].c == NULL) {
            wsc_say("%s", err);
            b.conns[i].ended = true;
            b.ended++;
            b.failed++;
        }
    }
    struct timeval warm = {(time_t)o->bench_warmup, 0};
    evtimer_add(b.timer, &warm);
    if (b.ended < o->bench_connections) {
        event_base_dispatch(run->base);
    }
    rc = b.failed == 0 && b.mismatches == 0 && b.stopping ? WSC_EXIT_CLEAN
                                                          : WSC_EXIT_UNCLEAN;
out:
    for (unsigned i = 0; b.conns != NULL && i < o->bench_connections; i++) {
        wsc_conn_free(b.conns[i].c);
    }
    if (b.timer != NULL) {
        event_free(b.timer);
    }
    free(b.conns);
    free(b.payload);
    return rc;
}
