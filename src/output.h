/* SPDX-License-Identifier: MIT */
/*
 * The way out of a worker: the bytes its connections queue to send, kept
 * until a socket takes them. It owns two kinds of storage:
 *
 *  - the worker's stage (struct output_stage): one connection's output
 *    while one callback runs, sent at the callback's end with one sendmsg
 *    straight from it. Most echoes never need more: a connection whose
 *    socket takes everything holds no output buffer at all;
 *  - each connection's kept bytes (struct output): what its socket did
 *    not take, in an evbuffer made on first need and freed once empty.
 *
 * and the worker's growable scratch buffers (struct output_buf). It does
 * no I/O: the caller sends the spans it is handed and says how much of
 * them went (output_keep), so every path is unit-tested without sockets.
 *
 * Order: while the stage holds a connection's bytes, that connection has
 * nothing kept (queue() goes to the kept buffer once something is), so
 * the stage's bytes always go before the kept ones, and a connection's
 * bytes leave in the order they were queued.
 */
#ifndef WSD_OUTPUT_H
#define WSD_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include <event2/buffer.h>

#include "copy_small.h"

/* A buffer grown on demand and released once a large message grew it. */
struct output_buf {
    uint8_t *p;
    size_t cap;
};

/* Past this size, output_buf_trim releases a buffer after use. */
#define OUTPUT_BUF_KEEP_BYTES (256 * 1024)

/* At most this many spans of kept bytes go into one sendmsg. */
#define OUTPUT_IOV_MAX 32

/*
 * Makes b hold at least need bytes: twice its size, or need when that is
 * more (one large message is not rounded up). Returns false, b as it
 * was, when out of memory.
 */
bool output_buf_reserve(struct output_buf *b, size_t need);

/* Releases b whatever its size. */
void output_buf_free(struct output_buf *b);

/* Releases b when it grew past OUTPUT_BUF_KEEP_BYTES. */
static inline void
output_buf_trim(struct output_buf *b)
{
    if (b->cap > OUTPUT_BUF_KEEP_BYTES) {
        output_buf_free(b);
    }
}

/*
 * One connection's output: zero-fill before use. The calls that keep
 * bytes return false when they could not (out of memory): the stream is
 * torn then, and its connection must queue nothing more and close.
 */
struct output {
    struct evbuffer *kept; /* bytes the socket did not take; NULL: none */
};

/* The worker's stage: zero-fill before use. */
struct output_stage {
    struct output_buf buf;
    size_t len;
    struct output *owner; /* whose bytes buf holds; NULL: nobody's */
};

/* Bytes o keeps, not counting the stage. */
static inline size_t
output_kept_len(const struct output *o)
{
    return o->kept != NULL ? evbuffer_get_length(o->kept) : 0;
}

/* Everything o has to send: kept, and what the stage holds for it. */
static inline size_t
output_pending(const struct output_stage *st, const struct output *o)
{
    return output_kept_len(o) + (st->owner == o ? st->len : 0);
}

/* output_queue's way when the stage cannot simply take the bytes. */
bool output_queue_slow(struct output_stage *st, struct output *o, const void *p,
                       size_t len);

/*
 * Queues len bytes for o: into the stage while o keeps nothing (to be
 * taken with output_take before the callback ends), else behind what it
 * keeps. Returns false when they fit nowhere (out of memory). The stage
 * must hold nobody else's bytes: output_spill first.
 */
static inline bool
output_queue(struct output_stage *st, struct output *o, const void *p,
             size_t len)
{
    /* The hot path of every echo: inline, one copy into room there is. */
    if (o->kept == NULL && (st->owner == o || st->len == 0) &&
        st->buf.cap - st->len >= len && len > 0) {
        memcpy(st->buf.p + st->len, p, len);
        st->len += len;
        st->owner = o;
        return true;
    }
    return output_queue_slow(st, o, p, len);
}

/*
 * Queues a[0..na) then b[0..nb) for o, as two output_queue calls would
 * (a frame's header and its payload): one test of room for both, and a
 * short a (up to 16 bytes, as a header is) copied without a call.
 */
static inline bool
output_queue2(struct output_stage *st, struct output *o, const void *a,
              size_t na, const void *b, size_t nb)
{
    if (o->kept == NULL && (st->owner == o || st->len == 0) && na > 0 &&
        na <= 16 && st->buf.cap - st->len >= na + nb) {
        uint8_t *dst = st->buf.p + st->len;
        copy_small(dst, a, na);
        if (nb > 0) {
            memcpy(dst + na, b, nb);
        }
        st->len += na + nb;
        st->owner = o;
        return true;
    }
    return output_queue(st, o, a, na) && output_queue(st, o, b, nb);
}

/*
 * Moves what the stage holds into its owner's kept buffer and returns
 * that owner (NULL when the stage held nothing), which must now wait for
 * its socket to be writable to send them; *kept is false when they could
 * not be kept (that owner's stream is torn). Only a path that queued
 * without sending leaves the stage full for the next connection.
 */
struct output *output_spill(struct output_stage *st, bool *kept);

/*
 * Takes what the stage holds for o as one span into iov[0] (returns 1),
 * or returns 0 when it holds nothing of o's. Either way the stage is o's
 * no more: the span must be sent or kept (output_keep) before the next
 * output_queue, and it stays valid until then.
 */
static inline int
output_take(struct output_stage *st, const struct output *o, struct iovec *iov)
{
    int n = 0;

    if (st->owner == o) {
        if (st->len > 0) {
            iov->iov_base = st->buf.p;
            iov->iov_len = st->len;
            n = 1;
        }
        st->len = 0;
        st->owner = NULL;
    }
    return n;
}

/*
 * Keeps, behind what o keeps already, the bytes of iov[0..n) past the
 * first `sent` (those the socket took). Returns false when out of memory.
 */
bool output_keep(struct output *o, const struct iovec *iov, int n, size_t sent);

/* Up to max spans of o's kept bytes, in order; returns how many. */
int output_kept_spans(const struct output *o, struct iovec *iov, int max);

/* The first n kept bytes were sent; an emptied buffer is freed. */
void output_kept_drain(struct output *o, size_t n);

/*
 * Releases the stage's buffer when a burst grew it, but never while it
 * holds bytes (they may be another connection's).
 */
static inline void
output_stage_trim(struct output_stage *st)
{
    if (st->len == 0) {
        st->owner = NULL;
        output_buf_trim(&st->buf);
    }
}

/* Forgets o: drops what it keeps and what the stage holds for it. */
void output_clear(struct output_stage *st, struct output *o);

#endif
