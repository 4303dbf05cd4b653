/* SPDX-License-Identifier: MIT */
/*
 * A connection's way out: the readiness its event waits for, the bytes it
 * queues (through the worker's stage, output.h), the sends, and the end
 * of its sending side once its last bytes are out (conn_int.h).
 */
#include "autoconf.h"

#include "conn_int.h"

#include "config.h"
#include "log.h"
#include "transport.h"

/*
 * Makes ev_io wait for exactly what c waits for: its own reading unless
 * paused, output the socket did not take, and, under TLS, a recv that
 * must send a record first or a send that must read first. Bytes no
 * readiness would announce (what the TLS transport already holds, input
 * kept at the end of c's turn) are taken after the next poll.
 */
void
conn_arm(struct conn *c)
{
    bool reading = !c->read_paused && !c->recv_wants_write;
    uint8_t flags;

    if (conn_is_closed(c)) {
        return;
    }
    flags = (uint8_t)((reading || c->send_wants_read ? EV_READ : 0) |
                      (c->send_blocked || c->recv_wants_write ? EV_WRITE : 0));

    /* One watch for both directions: its interest changes only when
     * output backs up (or TLS asks), not per message. */
    if (flags != c->io_flags) {
        if (loop_io_watch(c->loop, &c->lc, c->fd, c->io_flags, flags) == -1) {
            /* As libevent's event_add: nothing changes, the deadline
             * still ends it. */
            log_errno(LOG_LEVEL_ERROR, "epoll_ctl");
        } else {
            c->io_flags = flags;
        }
    }
    if (reading && (conn_has_held(c) || c->t->has_pending(c->tctx))) {
        loop_turn_queue(c->loop, &c->lc);
    }
}

/* A recv would block: WSD_IO_WANT_WRITE waits for writability instead. */
void
conn_recv_wait(struct conn *c, ssize_t n)
{
    if (n == WSD_IO_WANT_WRITE) {
        c->recv_wants_write = true;
        conn_arm(c);
    }
}

/* A send or shutdown would block: wait for the readiness it names. */
void
conn_send_wait(struct conn *c, ssize_t n)
{
    c->send_blocked = n == WSD_IO_AGAIN;
    c->send_wants_read = n == WSD_IO_WANT_READ;
    conn_arm(c);
}

/*
 * Bytes another connection left staged (only a path that queued without
 * sending does) go to that connection's own buffer, and it waits for
 * writability to send them (conn_stage_claim's rare case).
 */
void
conn_stage_spill(struct loop *l)
{
    bool kept;
    struct output *out = output_spill(&l->stage, &kept);

    if (out == NULL) {
        return; /* nothing was staged */
    }
    struct conn *o =
        (struct conn *)(void *)((char *)out - offsetof(struct conn, out));
    o->out_lost = o->out_lost || !kept;
    o->send_blocked = true;
    conn_arm(o);
}

/* Queues bytes to send (output.h): into the stage while c keeps nothing,
 * else behind what it keeps. A closed connection sends nothing more. */
void
conn_queue(struct conn *c, const void *p, size_t len)
{
    if (!conn_is_closed(c) && !c->out_lost) {
        conn_stage_claim(c);
        c->out_lost = !output_queue(&c->loop->stage, &c->out, p, len);
    }
}

/*
 * Sends iov[0..n) at once when nothing of c's waits before it, and keeps
 * whatever the socket does not take (all of it when c must wait). A send
 * error closes c.
 */
/* What the send of iov[0..n) returned (r; 0 or any other result below 0
 * but WSD_IO_ERROR: nothing taken): counted, the rest kept, or, on an
 * error, c closed. */
static void
sent_or_keep(struct conn *c, const struct iovec *iov, int n, ssize_t r)
{
    size_t took = 0;
    size_t all = 0;

    for (int i = 0; i < n; i++) {
        all += iov[i].iov_len;
    }
    if (r == WSD_IO_ERROR) {
        enum conn_end why = conn_end_of(r); /* errno, before the log */
        log_errno(LOG_LEVEL_DEBUG, "send");
        conn_close(c, why);
        return;
    }
    if (r > 0) {
        took = (size_t)r;
        stats_record_written(&c->rec, iov, n, took);
    }
    if (took < all && !c->out_lost) {
        c->out_lost = !output_keep(&c->out, iov, n, took);
    }
}

void
conn_send_or_keep(struct conn *c, const struct iovec *iov, int n)
{
    ssize_t r = 0;

    if (output_kept_len(&c->out) == 0 && !c->send_blocked &&
        !c->send_wants_read) {
        r = c->t->send(c->tctx, c->fd, iov, n);
    }
    sent_or_keep(c, iov, n, r);
}

/* Sends what the stage holds for c, straight from it. */
static void
stage_send(struct conn *c)
{
    struct iovec iov;

    if (output_take(&c->loop->stage, &c->out, &iov) == 1) {
        conn_send_or_keep(c, &iov, 1);
    }
    output_stage_trim(&c->loop->stage);
}

/* Shuts the sending side once all is sent (CONN_FLUSH), then lingers. */
static void
conn_shut_send(struct conn *c)
{
    int rc = c->t->shutdown(c->tctx, c->fd);

    if (rc == WSD_IO_AGAIN || rc == WSD_IO_WANT_READ) {
        /* TLS: the close_notify waits for room in the socket. */
        conn_send_wait(c, rc);
        return;
    }
    if (rc != 0) {
        conn_close(c, conn_end_of(rc));
        return;
    }
    stats_record_shut(&c->rec);
    c->state = CONN_LINGER;
    c->read_paused = false;
    conn_timer_set(c, c->loop->cfg->close_timeout_ms);
    conn_arm(c);
}

/* Sends what c keeps, as far as the socket takes it. Returns false when
 * c waits for readiness now (armed for it) or was closed. */
static bool
send_kept(struct conn *c)
{
    struct iovec iov[OUTPUT_IOV_MAX];
    int nv;

    while (c->out.kept != NULL &&
           (nv = output_kept_spans(&c->out, iov, OUTPUT_IOV_MAX)) > 0) {
        ssize_t n = c->t->send(c->tctx, c->fd, iov, nv);
        if (n == WSD_IO_AGAIN || n == WSD_IO_WANT_READ) {
            conn_send_wait(c, n);
            return false;
        }
        if (n < 0) {
            enum conn_end why = conn_end_of(n); /* errno, before the log */
            log_errno(LOG_LEVEL_DEBUG, "send");
            conn_close(c, why);
            return false;
        }
        stats_record_written(&c->rec, iov, nv, (size_t)n);
        output_kept_drain(&c->out, (size_t)n);
    }
    return true;
}

/*
 * The end of most callbacks: an open connection that waits for nothing
 * and keeps nothing sends what the stage holds for it, and when the
 * socket takes it all, nothing else is to be done but conn_arm. Returns
 * false, having done nothing, for any other case, and also when the
 * socket took less, having counted what it took and kept the rest.
 */
static bool
flush_staged(struct conn *c)
{
    struct output_stage *st = &c->loop->stage;
    struct iovec iov;

    if (st->owner != &c->out || c->state != CONN_OPEN || c->out.kept != NULL ||
        c->send_blocked || c->send_wants_read || c->read_paused ||
        c->out_lost || c->graceful || output_take(st, &c->out, &iov) == 0) {
        return false;
    }
    ssize_t r = c->t->send(c->tctx, c->fd, &iov, 1);
    if (r != (ssize_t)iov.iov_len) {
        sent_or_keep(c, &iov, 1, r);
        output_stage_trim(st);
        return false;
    }
    stats_record_written(&c->rec, &iov, 1, iov.iov_len);
    output_stage_trim(st);
    conn_arm(c);
    return true;
}

/* Sends what is pending; once all is sent in CONN_FLUSH, lingers. */
void
conn_flush(struct conn *c)
{
    if (flush_staged(c)) {
        return;
    }
again:
    stage_send(c);
    if (!conn_is_closed(c) && c->out_lost) {
        log_msg(LOG_LEVEL_ERROR, "out of memory for a connection's output");
        conn_close(c, CONN_END_NO_MEMORY);
    }
    /* Kept bytes are the rare case: their iovecs are send_kept's. */
    if (conn_is_closed(c) || (c->out.kept != NULL && !send_kept(c))) {
        return;
    }
    /* Graceful shutdown: nothing in flight either way any more. */
    if (c->graceful && c->state == CONN_OPEN && !conn_has_held(c) &&
        ws_session_is_idle(&c->session) &&
        conn_queue_going_away(c, "server shutting down")) {
        goto again;
    }
    c->send_blocked = false;
    c->send_wants_read = false;
    if (c->state == CONN_OPEN) {
        c->read_paused = false;
    }
    if (c->state == CONN_FLUSH) {
        conn_shut_send(c);
        return;
    }
    conn_arm(c);
}
