/* SPDX-License-Identifier: MIT */
/*
 * The deadline heap against a slow reference: random queues, moves and
 * removals, after each of which the heap's minimum must be the
 * reference's, every queued node must know its place, and popping
 * everything must give the deadlines in order.
 */
#include "autoconf.h"

#include "timer_heap.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "tap.h"

#define N 200

static uint32_t rng = 12345;

static uint32_t
next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* The reference: the smallest deadline among queued nodes. */
static uint64_t
ref_min(const struct timer_node *nodes, const bool *queued)
{
    uint64_t m = UINT64_MAX;
    for (size_t i = 0; i < N; i++) {
        if (queued[i] && nodes[i].deadline_ms < m) {
            m = nodes[i].deadline_ms;
        }
    }
    return m;
}

static bool
consistent(const struct timer_heap *h)
{
    for (size_t i = 0; i < h->n; i++) {
        if (h->v[i]->index != i + 1) {
            return false;
        }
        if (i > 0 && h->v[(i - 1) / 2]->deadline_ms > h->v[i]->deadline_ms) {
            return false;
        }
    }
    return true;
}

int
main(void)
{
    struct timer_heap h = {0};
    struct timer_node nodes[N] = {{0, 0}};
    bool queued[N] = {false};
    size_t n_queued = 0;
    unsigned bad_min = 0;
    unsigned bad_shape = 0;

    ok(timer_heap_min(&h) == NULL, "an empty heap has no minimum");
    is_int(timer_heap_reserve(&h, N), 0, "room for %d nodes", N);
    timer_heap_remove(&h, &nodes[0]);
    ok(h.n == 0, "removing a node not queued does nothing");
    for (int step = 0; step < 20000; step++) {
        size_t i = next() % N;
        uint32_t op = next() % 4;
        if (op < 2) {
            /* Few distinct deadlines: ties must hold too. */
            uint64_t d = next() % (op == 0 ? 50 : 100000);
            n_queued += !queued[i];
            timer_heap_set(&h, &nodes[i], d);
            queued[i] = true;
        } else if (op == 2) {
            n_queued -= queued[i];
            timer_heap_remove(&h, &nodes[i]);
            queued[i] = false;
        } else if (h.n > 0) {
            struct timer_node *m = timer_heap_min(&h);
            size_t k = (size_t)(m - nodes);
            timer_heap_remove(&h, m);
            queued[k] = false;
            n_queued--;
        }
        struct timer_node *m = timer_heap_min(&h);
        bad_min +=
            (m == NULL ? UINT64_MAX : m->deadline_ms) != ref_min(nodes, queued);
        bad_shape += !consistent(&h) || h.n != n_queued;
    }
    is_int((int)bad_min, 0, "the minimum matched the reference 20000 times");
    is_int((int)bad_shape, 0, "heap order, places and count held throughout");
    uint64_t last = 0;
    bool sorted = true;
    size_t popped = 0;
    while (h.n > 0) {
        struct timer_node *m = timer_heap_min(&h);
        sorted = sorted && m->deadline_ms >= last;
        last = m->deadline_ms;
        timer_heap_remove(&h, m);
        sorted = sorted && m->index == 0;
        popped++;
    }
    /* An empty heap here would make the order check say nothing. */
    ok(n_queued > 1 && popped == n_queued,
       "popping empties the heap: %zu nodes", popped);
    ok(sorted, "popping the minimum gives the deadlines in order");
    timer_heap_set(&h, &nodes[0], 7);
    timer_heap_set(&h, &nodes[1], 3);
    timer_heap_set(&h, &nodes[0], 1);
    ok(timer_heap_min(&h) == &nodes[0], "moving a node earlier makes it first");
    timer_heap_set(&h, &nodes[0], 9);
    ok(timer_heap_min(&h) == &nodes[1], "moving it later gives way");
    timer_heap_free(&h);
    ok(h.v == NULL && h.n == 0, "freed");
    return tap_done();
}
