/* SPDX-License-Identifier: MIT */
/*
 * The worker's stage, each connection's kept bytes and the worker's
 * growable buffers (output.h says how they fit together).
 */
#include "autoconf.h"

#include "output.h"

#include <stdlib.h>
#include <string.h>

bool
output_buf_reserve(struct output_buf *b, size_t need)
{
    if (b->cap >= need) {
        return true;
    }
    size_t cap = b->cap < 2048 ? 4096 : 2 * b->cap;
    if (cap < need) {
        cap = need;
    }
    uint8_t *p = realloc(b->p, cap);
    if (p == NULL) {
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void
output_buf_free(struct output_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->cap = 0;
}

/* Appends to o's kept buffer, made on first use. */
static bool
keep(struct output *o, const void *p, size_t len)
{
    if (len == 0) {
        return true;
    }
    if (o->kept == NULL && (o->kept = evbuffer_new()) == NULL) {
        return false;
    }
    return evbuffer_add(o->kept, p, len) == 0;
}

bool
output_queue_slow(struct output_stage *st, struct output *o, const void *p,
                  size_t len)
{
    bool kept = true;

    if (len == 0) {
        return true;
    }
    if (output_kept_len(o) == 0 && (st->owner == o || st->len == 0)) {
        if (output_buf_reserve(&st->buf, st->len + len)) {
            memcpy(st->buf.p + st->len, p, len);
            st->len += len;
            st->owner = o;
            return true;
        }
        /* No room to grow: what is staged for o goes first, then this. */
        (void)output_spill(st, &kept);
    }
    return keep(o, p, len) && kept;
}

struct output *
output_spill(struct output_stage *st, bool *kept)
{
    struct output *o = st->len > 0 ? st->owner : NULL;

    *kept = o == NULL || keep(o, st->buf.p, st->len);
    st->len = 0;
    st->owner = NULL;
    return o;
}

bool
output_keep(struct output *o, const struct iovec *iov, int n, size_t sent)
{
    bool ok = true;

    for (int i = 0; i < n && ok; i++) {
        size_t skip = sent < iov[i].iov_len ? sent : iov[i].iov_len;
        ok = keep(o, (const uint8_t *)iov[i].iov_base + skip,
                  iov[i].iov_len - skip);
        sent -= skip;
    }
    return ok;
}

int
output_kept_spans(const struct output *o, struct iovec *iov, int max)
{
    struct evbuffer_iovec v[OUTPUT_IOV_MAX];

    if (o->kept == NULL) {
        return 0;
    }
    if (max > OUTPUT_IOV_MAX) {
        max = OUTPUT_IOV_MAX;
    }
    int n = evbuffer_peek(o->kept, -1, NULL, v, max);
    if (n > max) {
        n = max; /* the first max of them, in order */
    }
    for (int i = 0; i < n; i++) {
        iov[i].iov_base = v[i].iov_base;
        iov[i].iov_len = v[i].iov_len;
    }
    return n;
}

void
output_kept_drain(struct output *o, size_t n)
{
    if (o->kept == NULL) {
        return;
    }
    evbuffer_drain(o->kept, n);
    if (evbuffer_get_length(o->kept) == 0) {
        /* Nothing waits: an idle connection holds no output buffer. */
        evbuffer_free(o->kept);
        o->kept = NULL;
    }
}

void
output_clear(struct output_stage *st, struct output *o)
{
    if (st->owner == o) {
        st->len = 0;
        output_stage_trim(st);
    }
    if (o->kept != NULL) {
        evbuffer_free(o->kept);
        o->kept = NULL;
    }
}
