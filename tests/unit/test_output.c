/* SPDX-License-Identifier: MIT */
/*
 * The output path without sockets: bytes queued by two connections through
 * one stage must reach each connection's "wire" whole and in order, however
 * little of each send the socket takes, and whatever spills, zero-copy
 * spans and kept buffers happen on the way, and whether bytes are queued
 * one span or two at a time (output_queue2, a header and its payload).
 * Checked against a reference (what each connection queued) over random
 * runs, plus the named cases.
 */
#include "autoconf.h"

#include "output.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define WIRE_MAX (1 << 20)

/* One connection: what it queued (the reference) and what went out. */
struct peer {
    struct output out;
    uint8_t *queued;
    size_t n_queued;
    uint8_t *wire;
    size_t n_wire;
};

static void
peer_init(struct peer *p)
{
    memset(p, 0, sizeof(*p));
    p->queued = malloc(WIRE_MAX);
    p->wire = malloc(WIRE_MAX);
    if (p->queued == NULL || p->wire == NULL) {
        abort();
    }
}

static void
peer_free(struct output_stage *st, struct peer *p)
{
    output_clear(st, &p->out);
    free(p->queued);
    free(p->wire);
}

/* Out of memory is not what these tests are about. */
static void
ok_or_die(bool ok)
{
    if (!ok) {
        abort();
    }
}

static void
put(struct output_stage *st, struct peer *p, const void *b, size_t len)
{
    memcpy(p->queued + p->n_queued, b, len);
    p->n_queued += len;
    ok_or_die(output_queue(st, &p->out, b, len));
}

/* put, as a short first span (a header) and the rest (its payload). */
static void
put2(struct output_stage *st, struct peer *p, const uint8_t *b, size_t len)
{
    size_t na = 1 + tap_rand() % (len < 16 ? len : 16);
    memcpy(p->queued + p->n_queued, b, len);
    p->n_queued += len;
    ok_or_die(output_queue2(st, &p->out, b, na, b + na, len - na));
}

/* A socket that takes at most `room` bytes of iov[0..n). */
static size_t
sock_send(struct peer *p, const struct iovec *iov, int n, size_t room)
{
    size_t took = 0;

    for (int i = 0; i < n && took < room; i++) {
        size_t k = iov[i].iov_len < room - took ? iov[i].iov_len : room - took;
        memcpy(p->wire + p->n_wire, iov[i].iov_base, k);
        p->n_wire += k;
        took += k;
    }
    return took;
}

/* What conn.c does at a callback's end: the stage, then the kept bytes,
 * through a socket with room for `room` bytes in all (0: it is full). */
static void
flush(struct output_stage *st, struct peer *p, size_t room)
{
    struct iovec iov[OUTPUT_IOV_MAX];

    if (output_take(st, &p->out, iov) == 1) {
        size_t sent =
            output_kept_len(&p->out) == 0 ? sock_send(p, iov, 1, room) : 0;
        ok_or_die(output_keep(&p->out, iov, 1, sent));
        room -= sent;
    }
    output_stage_trim(st);
    int n;
    while (room > 0 &&
           (n = output_kept_spans(&p->out, iov, OUTPUT_IOV_MAX)) > 0) {
        size_t sent = sock_send(p, iov, n, room);
        output_kept_drain(&p->out, sent);
        room -= sent;
    }
}

static bool
same(const struct peer *p)
{
    return p->n_wire <= p->n_queued &&
           memcmp(p->wire, p->queued, p->n_wire) == 0;
}

static void
test_named(void)
{
    struct output_stage st;
    struct peer a;
    struct peer b;
    struct iovec iov[3];

    memset(&st, 0, sizeof(st));
    peer_init(&a);
    peer_init(&b);

    put(&st, &a, "hello", 5);
    ok(st.owner == &a.out && st.len == 5 && a.out.kept == NULL,
       "queue: staged, nothing kept");
    is_int(output_pending(&st, &a.out), 5, "pending: the staged bytes");
    is_int(output_pending(&st, &b.out), 0, "pending: none for another");
    flush(&st, &a, 1000);
    ok(a.n_wire == 5 && same(&a) && a.out.kept == NULL && st.len == 0,
       "flush: all sent from the stage, nothing kept");

    put(&st, &a, "abcdef", 6);
    flush(&st, &a, 2);
    ok(a.n_wire == 7 && output_kept_len(&a.out) == 4,
       "partial send: the rest kept (%zu)", output_kept_len(&a.out));
    put(&st, &a, "XY", 2);
    ok(st.len == 0 && output_kept_len(&a.out) == 6,
       "queue behind kept bytes: kept too, not staged");
    flush(&st, &a, 1000);
    ok(a.n_wire == a.n_queued && same(&a) && a.out.kept == NULL,
       "flush: kept bytes sent in order, buffer freed");

    /* A path that queued without sending leaves the stage to another. */
    put(&st, &a, "left", 4);
    bool kept = false;
    ok(output_spill(&st, &kept) == &a.out && kept && st.len == 0 &&
           output_kept_len(&a.out) == 4,
       "spill: to its owner's kept bytes, owner returned");
    ok(output_spill(&st, &kept) == NULL && kept, "spill: nothing staged, NULL");
    put(&st, &b, "b1", 2);
    flush(&st, &b, 1000);
    flush(&st, &a, 1000);
    ok(same(&a) && a.n_wire == a.n_queued && same(&b) && b.n_wire == b.n_queued,
       "after a spill: both streams whole");

    /* Zero-copy: staged bytes, then two spans of the caller's own. */
    put(&st, &a, "HDR", 3);
    int n = output_take(&st, &a.out, &iov[0]);
    ok(n == 1 && st.owner == NULL && st.len == 0,
       "take: the stage is free again");
    char hdr[] = "ab";
    char payload[] = "PAYLOAD";
    iov[n].iov_base = hdr;
    iov[n++].iov_len = 2;
    iov[n].iov_base = payload;
    iov[n++].iov_len = 7;
    memcpy(a.queued + a.n_queued, "abPAYLOAD", 9);
    a.n_queued += 9;
    size_t sent = sock_send(&a, iov, n, 4);
    ok(output_keep(&a.out, iov, n, sent), "zero-copy: the rest kept");
    is_int(output_kept_len(&a.out), 8, "zero-copy: the unsent 8 kept");
    flush(&st, &a, 1000);
    ok(same(&a) && a.n_wire == a.n_queued, "zero-copy: stream whole");
    is_int(output_take(&st, &b.out, &iov[0]), 0, "take: nothing of b's");

    /* A burst grows the stage; trim releases it only once empty. */
    uint8_t *big = calloc(1, OUTPUT_BUF_KEEP_BYTES + 1);
    if (big == NULL) {
        abort();
    }
    put(&st, &b, big, OUTPUT_BUF_KEEP_BYTES + 1);
    output_stage_trim(&st);
    ok(st.buf.p != NULL && st.len > 0, "trim: never while bytes are staged");
    flush(&st, &b, WIRE_MAX);
    ok(st.buf.p == NULL && st.buf.cap == 0,
       "trim: a grown stage released once sent");
    ok(same(&b) && b.n_wire == b.n_queued, "burst: stream whole");
    free(big);

    put(&st, &a, "gone", 4);
    output_clear(&st, &a.out);
    ok(st.len == 0 && st.owner == NULL && a.out.kept == NULL,
       "clear: drops the staged and the kept bytes");
    peer_free(&st, &a);
    peer_free(&st, &b);
    output_buf_free(&st.buf);
}

/* Random interleavings of two connections' queues, spills and sends. */
static void
test_random(void)
{
    struct output_stage st;
    struct peer p[2];
    uint8_t chunk[9000];
    bool whole = true;

    memset(&st, 0, sizeof(st));
    peer_init(&p[0]);
    peer_init(&p[1]);
    for (int step = 0; step < 20000; step++) {
        struct peer *x = &p[tap_rand() % 2];
        struct peer *other = x == &p[0] ? &p[1] : &p[0];
        size_t len =
            tap_rand() % 40 == 0 ? tap_rand() % sizeof(chunk) : tap_rand() % 64;
        if (x->n_queued + len + sizeof(chunk) > WIRE_MAX) {
            continue;
        }
        for (size_t i = 0; i < len; i++) {
            chunk[i] = (uint8_t)tap_rand();
        }
        if (st.owner == &other->out && st.len > 0) {
            bool kept;
            (void)output_spill(&st, &kept); /* as conn.c's stage_claim */
            ok_or_die(kept);
        }
        if (len > 0 && tap_rand() % 2 == 0) {
            put2(&st, x, chunk, len);
        } else {
            put(&st, x, chunk, len);
        }
        if (tap_rand() % 3 == 0) {
            size_t rooms[] = {0, 1, 7, 100, 5000, WIRE_MAX};
            flush(&st, x, rooms[tap_rand() % 6]);
        }
        whole = whole && same(x);
    }
    for (int i = 0; i < 2; i++) {
        if (st.owner == &p[1 - i].out && st.len > 0) {
            bool kept;
            (void)output_spill(&st, &kept);
            ok_or_die(kept);
        }
        flush(&st, &p[i], WIRE_MAX);
        flush(&st, &p[i], WIRE_MAX);
    }
    ok(whole, "random: every prefix sent matches what was queued");
    ok(p[0].n_wire == p[0].n_queued && same(&p[0]) &&
           p[1].n_wire == p[1].n_queued && same(&p[1]),
       "random: both streams whole in the end (%zu and %zu bytes)", p[0].n_wire,
       p[1].n_wire);
    ok(p[0].out.kept == NULL && p[1].out.kept == NULL,
       "random: no buffer kept once all is sent");
    peer_free(&st, &p[0]);
    peer_free(&st, &p[1]);
    output_buf_free(&st.buf);
}

int
main(void)
{
    test_named();
    test_random();
    return tap_done();
}
