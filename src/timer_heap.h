/* SPDX-License-Identifier: MIT */
/*
 * A binary min-heap of deadlines, one node embedded in each object that
 * waits (a connection), so that a worker needs one libevent timer for all
 * of its connections instead of a 128-byte struct event each. Pure: no
 * clock, no libevent.
 */
#ifndef WSD_TIMER_HEAP_H
#define WSD_TIMER_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct timer_node {
    uint64_t deadline_ms; /* when it is due */
    uint32_t index;       /* position in the heap + 1; 0: not queued */
};

struct timer_heap {
    struct timer_node **v; /* v[0] is the earliest */
    size_t n;
    size_t cap;
};

/* Makes room for `want` queued nodes. Returns 0, or -1 (out of memory). */
int timer_heap_reserve(struct timer_heap *h, size_t want);

/*
 * Queues t for deadline, or moves it there if it is queued already. Needs
 * room (timer_heap_reserve) for a node not yet queued: never allocates.
 */
void timer_heap_set(struct timer_heap *h, struct timer_node *t,
                    uint64_t deadline_ms);

/* Takes t out of the heap; nothing if it is not queued. */
void timer_heap_remove(struct timer_heap *h, struct timer_node *t);

/* The earliest node, or NULL when the heap is empty. */
static inline struct timer_node *
timer_heap_min(const struct timer_heap *h)
{
    return h->n > 0 ? h->v[0] : NULL;
}

/* Frees the heap's array (the nodes belong to their owners). */
void timer_heap_free(struct timer_heap *h);

#endif
