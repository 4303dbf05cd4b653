/* SPDX-License-Identifier: MIT */
/*
 * The deadline heap: sift up and down on an array of node pointers, each
 * node remembering its position so that it can be moved or removed in
 * O(log n).
 */
#include "autoconf.h"

#include "timer_heap.h"

#include <stdlib.h>

static void
place(struct timer_heap *h, size_t i, struct timer_node *t)
{
    h->v[i] = t;
    t->index = (uint32_t)i + 1;
}

static void
sift_up(struct timer_heap *h, size_t i)
{
    struct timer_node *t = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->v[parent]->deadline_ms <= t->deadline_ms) {
            break;
        }
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void
sift_down(struct timer_heap *h, size_t i)
{
    struct timer_node *t = h->v[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n) {
            break;
        }
        if (child + 1 < h->n &&
            h->v[child + 1]->deadline_ms < h->v[child]->deadline_ms) {
            child++;
        }
        if (t->deadline_ms <= h->v[child]->deadline_ms) {
            break;
        }
        place(h, i, h->v[child]);
        i = child;
    }
    place(h, i, t);
}

int
timer_heap_reserve(struct timer_heap *h, size_t want)
{
    if (want <= h->cap) {
        return 0;
    }
    size_t cap = h->cap < 64 ? 64 : h->cap;
    while (cap < want) {
        cap *= 2;
    }
    struct timer_node **v = realloc(h->v, cap * sizeof(*v));
    if (v == NULL) {
        return -1;
    }
    h->v = v;
    h->cap = cap;
    return 0;
}

void
timer_heap_set(struct timer_heap *h, struct timer_node *t, uint64_t deadline_ms)
{
    if (t->index == 0) {
        t->deadline_ms = deadline_ms;
        h->n++;
        place(h, h->n - 1, t);
        sift_up(h, h->n - 1);
        return;
    }
    uint64_t old = t->deadline_ms;
    t->deadline_ms = deadline_ms;
    if (deadline_ms < old) {
        sift_up(h, t->index - 1);
    } else if (deadline_ms > old) {
        sift_down(h, t->index - 1);
    }
}

void
timer_heap_remove(struct timer_heap *h, struct timer_node *t)
{
    if (t->index == 0) {
        return;
    }
    size_t i = t->index - 1;
    struct timer_node *last = h->v[--h->n];
    t->index = 0;
    if (last == t) {
        return;
    }
    /* The last node fills the hole, then finds its place either way. */
    place(h, i, last);
    if (i > 0 && h->v[(i - 1) / 2]->deadline_ms > last->deadline_ms) {
        sift_up(h, i);
    } else {
        sift_down(h, i);
    }
}

void
timer_heap_free(struct timer_heap *h)
{
    free(h->v);
    h->v = NULL;
    h->n = 0;
    h->cap = 0;
}
