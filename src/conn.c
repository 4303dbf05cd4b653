/* SPDX-License-Identifier: MIT */
/*
 * A connection's life: opening handshake, WebSocket session, and the close
 * of the TCP connection. The server closes TCP first (RFC 6455 §7.1.1):
 * once the last bytes are sent it shuts down its sending side and reads
 * until the peer's end of stream ("lingering close"), so that no unread
 * data makes the kernel reset the connection and lose our close frame.
 *
 * A closed connection (CONN_CLOSED) stays in memory, inert, until the
 * callback that closed it has returned (loop.h): code that may have
 * closed it checks the state, never whether it still exists.
 */
#include "autoconf.h"

#include "conn_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "case_log.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "transport.h"

static struct conn *
conn_of(struct loop_conn *lc)
{
    return (struct conn *)(void *)((char *)lc - offsetof(struct conn, lc));
}

/* After the last bytes are queued: send them, then close the TCP. The
 * caller sends (conn_flush) or waits (conn_send_wait) next, and either
 * arms c for what it then waits for: arming here, before the send, would
 * stop watching reads only for the lingering close to watch them again,
 * two epoll_ctl calls per connection. */
void
conn_finish(struct conn *c)
{
    c->state = CONN_FLUSH;
    c->read_paused = true;
    conn_timer_set(c, c->loop->cfg->close_timeout_ms);
}

/*
 * Queues our close frame with code 1001 and reason (static) on an open
 * session and starts the close timeout. Returns false when the session is
 * not open (nothing done).
 */
bool
conn_queue_going_away(struct conn *c, const char *reason)
{
    struct ws_event ev;

    if (c->state != CONN_OPEN ||
        !ws_session_close(&c->session, WS_CLOSE_GOING_AWAY, reason, &ev)) {
        return false;
    }
    stats_record_close_out(&c->rec, WS_CLOSE_GOING_AWAY, reason, false);
    stats_record_control_out(&c->rec, ev.reply, ev.reply_len);
    conn_queue(c, ev.reply, ev.reply_len);
    conn_timer_set(c, c->loop->cfg->close_timeout_ms);
    return true;
}

/* Arms c's one deadline for what keepalive.h says is next. */
void
conn_keepalive_arm(struct conn *c)
{
    uint64_t next = keepalive_deadline(&c->ka, &c->loop->keepalive_cfg);
    uint64_t now;

    if (next == UINT64_MAX) {
        loop_timer_del(c->loop, &c->lc);
        return;
    }
    now = clock_mono_ms();
    conn_timer_set(c, next > now ? next - now : 0);
}

/* The keepalive deadline has come: close, ping, or wait again. */
static void
keepalive_fire(struct conn *c)
{
    const struct keepalive_config *kc = &c->loop->keepalive_cfg;
    uint64_t now = clock_mono_ms();
    uint8_t hdr[WS_FRAME_HEADER_MAX];
    size_t n;

    enum keepalive_due due = keepalive_check(&c->ka, kc, now);
    uint64_t at;

    /* A peer still reading what we queued for it is not silent: a ping
     * would wait behind those bytes (transport.h). */
    if ((due == KEEPALIVE_PING || due == KEEPALIVE_PONG_LATE) &&
        transport_peer_took(c->fd, now, &at) && at > c->ka.last_rx_ms) {
        keepalive_heard(&c->ka, at);
        due = keepalive_check(&c->ka, kc, now);
    }
    switch (due) {
    case KEEPALIVE_IDLE:
        log_debug("no message from the peer in %llu ms: closing",
                  (unsigned long long)kc->idle_timeout_ms);
        stats_record_timeout(&c->rec, STATS_TIMEOUT_IDLE);
        conn_queue_going_away(c, "idle timeout");
        break;
    case KEEPALIVE_PONG_LATE:
        log_debug("no answer to our ping in %llu ms: closing",
                  (unsigned long long)kc->pong_timeout_ms);
        stats_record_timeout(&c->rec, STATS_TIMEOUT_PING);
        conn_queue_going_away(c, "ping timeout");
        break;
    case KEEPALIVE_PING:
        n = ws_session_message_header(&c->session, hdr, WS_OP_PING, 0);
        if (n > 0) {
            stats_record_control_out(&c->rec, hdr, n);
            conn_queue(c, hdr, n);
            keepalive_pinged(&c->ka, now);
        }
        conn_keepalive_arm(c);
        break;
    case KEEPALIVE_WAIT:
        conn_keepalive_arm(c);
        break;
    }
    conn_flush(c);
}

/*
 * Echoes a message, compressed when permessage-deflate asks for it. When
 * nothing is queued before it, a large one goes out in one sendmsg straight
 * from where it lies, and only what the socket did not take is copied.
 */
static void
conn_echo(struct conn *c, const struct ws_event *ev)
{
    struct loop *l = c->loop;
    struct ws_out_message m;
    size_t bound = ws_session_message_bound(&c->session, ev->len);
    uint8_t *zbuf = bound > 0 ? loop_scratch(l, bound) : NULL;

    if (!ws_session_message(&c->session, ev->opcode, ev->data, ev->len, zbuf,
                            zbuf != NULL ? bound : 0, &m)) {
        return;
    }
    stats_record_message_sent(&c->rec, &m, ev->len);
    if (m.payload_len >= CONN_ZERO_COPY_BYTES) {
        struct iovec iov[3];
        int n = 0;
        conn_stage_claim(c);
        n += output_take(&l->stage, &c->out, &iov[n]);
        iov[n].iov_base = m.hdr;
        iov[n++].iov_len = m.hdr_len;
        iov[n].iov_base = (void *)(uintptr_t)m.payload;
        iov[n++].iov_len = m.payload_len;
        conn_send_or_keep(c, iov, n);
        output_stage_trim(&l->stage);
    } else {
        conn_queue_frame(c, m.hdr, m.hdr_len, m.payload, m.payload_len);
    }
    if (zbuf != NULL) {
        loop_scratch_done(l);
    }
}

/* The peer's close frame, and our answer if it was the first. */
static void
conn_on_close(struct conn *c, const struct ws_event *ev)
{
    stats_record_close_in(&c->rec, ev->close.code, ev->close.has_code,
                          ev->close.reason, ev->close.reason_len);
    if (ev->reply_len > 0) {
        /* §5.5.1: our answer echoes the peer's code. */
        stats_record_close_out(&c->rec, ev->close.code, NULL, false);
        stats_record_control_out(&c->rec, ev->reply, ev->reply_len);
    }
    conn_queue(c, ev->reply, ev->reply_len);
    conn_finish(c);
}

/* The peer broke the protocol: our close frame, then the close. */
static void
conn_on_fail(struct conn *c, const struct ws_event *ev)
{
    if (ev->error.code == WS_CLOSE_INTERNAL_ERROR) {
        /* Not the peer's doing but ours (no memory): worth an operator's
         * attention, unlike a peer's protocol error. */
        log_msg(LOG_LEVEL_ERROR, "failing a connection with %u: %s",
                ev->error.code, ev->reason);
    } else {
        log_debug("failing connection: %u %s", ev->error.code, ev->reason);
    }
    if (ev->peer_closed) {
        stats_record_close_in(&c->rec, ev->close.code, ev->close.has_code,
                              ev->close.reason, ev->close.reason_len);
    }
    if (ev->reply_len > 0) {
        stats_record_close_out(&c->rec, ev->error.code, ev->reason, true);
        stats_record_control_out(&c->rec, ev->reply, ev->reply_len);
    }
    conn_queue(c, ev->reply, ev->reply_len);
    if (ws_session_state(&c->session) == WS_SESSION_CLOSING) {
        /* §7.1.1: the peer's frames can still be told apart, so the
         * closing handshake can complete: wait for its close (as after
         * our own), then close the TCP first. */
        conn_timer_set(c, c->loop->cfg->close_timeout_ms);
    } else {
        conn_finish(c);
    }
}

/*
 * Runs received bytes through the session and queues what its events call
 * for, in wire order, until the bytes are used up, *budget (the work this
 * callback may still do: message payload echoed, and CONN_FRAME_COST a
 * frame) is spent, or the output reaches
 * the high-water mark (reading pauses). Returns the bytes used. Once c is
 * no longer open, the session takes the rest (and only delimits what
 * follows a close: those frames are counted, discarded).
 */
static size_t
conn_process(struct conn *c, uint8_t *p, size_t n, size_t *budget)
{
    uint64_t high_water = c->loop->cfg->write_high_water_bytes;
    struct ws_event ev;
    size_t n0 = n;
    size_t left = *budget; /* in a register, stored back once */

    while (n > 0 && !conn_is_closed(c)) {
        if (c->state == CONN_OPEN &&
            (left == 0 ||
             output_pending(&c->loop->stage, &c->out) >= high_water)) {
            break;
        }
        size_t used = ws_session_feed(&c->session, p, n, &ev);
        p += used;
        n -= used;
        stats_record_feed(&c->rec, &ev);
        /* Its payload (a message's, a ping's or a pong's: ev.len is 0
         * for the other events) and its frame. */
        size_t cost = ev.len + (size_t)ev.has_frame * CONN_FRAME_COST;
        left -= cost < left ? cost : left;
        switch (ev.type) {
        case WS_EV_NONE:
        case WS_EV_PONG:
            break;
        case WS_EV_MESSAGE:
            keepalive_message(&c->ka);
            conn_echo(c, &ev);
            /* What the socket did not take is kept apart: a peer that
             * falls silent now holds no copy of its message. */
            ws_session_message_done(&c->session);
            break;
        case WS_EV_PING:
            stats_record_control_out(&c->rec, ev.reply, ev.reply_len);
            conn_queue(c, ev.reply, ev.reply_len);
            break;
        case WS_EV_CLOSE:
            conn_on_close(c, &ev);
            break;
        case WS_EV_FAIL:
            conn_on_fail(c, &ev);
            break;
        }
    }
    *budget = left;
    if (c->state == CONN_OPEN &&
        output_pending(&c->loop->stage, &c->out) >= high_water) {
        c->read_paused = true;
        conn_arm(c);
    }
    return n0 - n;
}

/* conn_process, keeping what it did not use for c's next turn (c holds
 * nothing yet). */
void
conn_process_or_hold(struct conn *c, uint8_t *p, size_t n, size_t *budget)
{
    size_t used = conn_process(c, p, n, budget);

    if (used == n || conn_is_closed(c)) {
        return;
    }
    n -= used;
    struct conn_held *h = malloc(sizeof(*h) + n);
    if (h == NULL) {
        log_msg(LOG_LEVEL_ERROR, "out of memory for a connection's input");
        conn_close(c, CONN_END_NO_MEMORY);
        return;
    }
    h->off = 0;
    h->len = n;
    memcpy(h->buf, p + used, n);
    c->held = h;
}

/* Processes what c holds. */
static void
conn_process_held(struct conn *c, size_t *budget)
{
    struct conn_held *h = c->held;

    h->off += conn_process(c, h->buf + h->off, h->len - h->off, budget);
    if (h->off == h->len && !conn_is_closed(c)) {
        free(h);
        c->held = NULL;
    }
}

static void
conn_read_frames(struct conn *c)
{
    struct loop *l = c->loop;
    size_t budget = CONN_WORK_BYTES;

    if (conn_has_held(c)) {
        conn_process_held(c, &budget);
        if (c->held != NULL || c->state != CONN_OPEN || c->read_paused ||
            budget == 0) {
            /* Its turn is over, or it waits for its output to drain. */
            conn_flush(c);
            return;
        }
    }
    /* A TLS recv returns one record (16 KiB at most): read on until the
     * transport says nothing is left, within the same bounds of work. */
    int reads =
        c->t->short_read_drains ? CONN_READS_PER_EVENT : CONN_RECORDS_PER_EVENT;
    for (int i = 0; i < reads; i++) {
        ssize_t n = c->t->recv(c->tctx, c->fd, l->rbuf, l->rbuf_bytes);
        if (n == WSD_IO_AGAIN || n == WSD_IO_WANT_WRITE) {
            conn_recv_wait(c, n);
            break;
        }
        if (n < 0) {
            /* The peer went away without a close handshake. Told from
             * errno before the log line may change it. */
            enum conn_end why = conn_end_of(n);
            log_debug("connection lost: %s",
                      n == WSD_IO_EOF ? "end of stream" : strerror(errno));
            /* What its last bytes asked for goes out first, as it does
             * when the end comes in a read of its own: over TLS, the
             * close_notify read ahead with them ends this loop before
             * its flush. A half-closed peer may still read. */
            if (n == WSD_IO_EOF) {
                conn_flush(c);
            }
            conn_close(c, why);
            return;
        }
        /* Asked before the bytes are used, which may end c. */
        bool drained = c->t->drained(c->tctx, (size_t)n, l->rbuf_bytes);
        stats_record_read(&c->rec, l->rbuf, (size_t)n);
        if (i == 0) {
            keepalive_heard(&c->ka, clock_mono_ms());
        }
        conn_process_or_hold(c, l->rbuf, (size_t)n, &budget);
        if (c->state != CONN_OPEN || c->held != NULL || c->read_paused ||
            budget == 0 || drained) {
            break;
        }
    }
    conn_flush(c);
}

/*
 * Bytes read after our last ones were sent: a WebSocket's session is
 * CLOSED by then and only delimits them, so that each frame still counts
 * (discarded); its events are none.
 */
static void
conn_linger_frames(struct conn *c, uint8_t *p, size_t n)
{
    struct ws_event ev;

    while (n > 0) {
        size_t used = ws_session_feed(&c->session, p, n, &ev);
        if (ev.has_frame) {
            stats_record_frame_in(&c->rec, &ev.frame, ev.frame_discarded);
        }
        if (used == 0) {
            break; /* not CLOSED: cannot be, but never spin */
        }
        p += used;
        n -= used;
    }
}

static void
conn_read_linger(struct conn *c)
{
    for (int i = 0; i < CONN_READS_PER_EVENT; i++) {
        ssize_t n =
            c->t->recv(c->tctx, c->fd, c->loop->rbuf, c->loop->rbuf_bytes);
        if (n == WSD_IO_AGAIN || n == WSD_IO_WANT_WRITE) {
            conn_recv_wait(c, n);
            return;
        }
        if (n < 0) {
            /* Our side was shut first: the peer's end of stream (or its
             * reset) completes the close. */
            conn_close(c, CONN_END_DONE);
            return;
        }
        stats_record_read(&c->rec, c->loop->rbuf, (size_t)n);
        if (c->has_session) {
            conn_linger_frames(c, c->loop->rbuf, (size_t)n);
        }
    }
}

static void
conn_on_read(struct conn *c)
{
    if (c->send_wants_read) {
        /* TLS: the send waited for the peer's records, which are here. */
        c->send_wants_read = false;
        conn_flush(c);
    }
    if (c->read_paused || c->recv_wants_write) {
        return;
    }
    switch ((enum conn_state)c->state) {
    case CONN_HANDSHAKE:
        conn_read_handshake(c);
        return;
    case CONN_OPEN:
        conn_read_frames(c);
        return;
    case CONN_LINGER:
        conn_read_linger(c);
        return;
    case CONN_FLUSH:
    case CONN_CLOSED:
        return;
    }
}

/* c's socket is ready for what, of what it watches; a connection closed
 * earlier in the same poll is told nothing. */
static void
conn_on_io(struct loop_conn *lc, short what)
{
    struct conn *c = conn_of(lc);

    what &= c->io_flags;
    bool read = (what & EV_READ) != 0;
    if ((what & EV_WRITE) != 0) {
        /* TLS: a recv that had a record to send first can go on now. */
        read = read || c->recv_wants_write;
        c->recv_wants_write = false;
        conn_flush(c);
    }
    if (read) {
        conn_on_read(c);
    }
}

static void
conn_on_turn(struct loop_conn *lc)
{
    conn_on_read(conn_of(lc));
}

static void
conn_on_timer(struct loop_conn *lc)
{
    struct conn *c = conn_of(lc);

    switch ((enum conn_state)c->state) {
    case CONN_HANDSHAKE:
        log_debug("opening handshake timed out");
        stats_record_timeout(&c->rec, STATS_TIMEOUT_HANDSHAKE);
        c->t->timed_out(c->tctx);
        conn_close(c, CONN_END_HANDSHAKE_TIMEOUT);
        return;
    case CONN_OPEN:
        if (ws_session_state(&c->session) == WS_SESSION_OPEN) {
            keepalive_fire(c);
            return;
        }
        log_debug("peer did not answer our close in time");
        stats_record_timeout(&c->rec, STATS_TIMEOUT_CLOSE);
        conn_close(c, CONN_END_CLOSE_TIMEOUT);
        return;
    case CONN_FLUSH:
        log_debug("peer did not read our last bytes in time");
        stats_record_timeout(&c->rec, STATS_TIMEOUT_CLOSE);
        conn_close(c, CONN_END_FLUSH_TIMEOUT);
        return;
    case CONN_LINGER:
        /* Our part is done: the peer merely did not close its side. */
        log_debug("peer did not close its side in time");
        conn_close(c, CONN_END_DONE);
        return;
    case CONN_CLOSED:
        return;
    }
}

/* Frees what a closed connection still holds; the loop's safe point. */
static void
conn_free(struct loop_conn *lc)
{
    struct conn *c = conn_of(lc);

    free(c->hs); /* or c->held: the same pointer */
    if (c->has_session) {
        ws_session_clear(&c->session);
    }
    c->t->free(c->tctx);
    free(c);
}

const struct loop_hooks conn_loop_hooks = {
    .on_io = conn_on_io,
    .on_timer = conn_on_timer,
    .on_turn = conn_on_turn,
    .free = conn_free,
};

void
conn_new(struct loop *l, int fd, const struct transport *t, void *tctx,
         const struct sockaddr *peer, socklen_t peer_len, bool refuse)
{
    struct conn *c = calloc(1, sizeof(*c));

    if (c == NULL || loop_add(l, &c->lc) != 0) {
        log_msg(LOG_LEVEL_ERROR, "out of memory for a new connection");
        /* Closed unanswered, with no record: counted all the same. */
        stats_record_dropped(l->shm, l->slot_index);
        free(c);
        t->free(tctx);
        close(fd);
        return;
    }
    c->loop = l;
    c->fd = fd;
    c->t = t;
    c->tctx = tctx;
    c->state = CONN_HANDSHAKE;
    /* TCP_NODELAY comes from the listening socket (listener.c). */
    stats_record_start(&c->rec, l->shm, l->slot_index, peer, peer_len,
                       clock_wall_ms());
    conn_arm(c);
    conn_timer_set(c, l->cfg->handshake_timeout_ms);
    if (refuse) {
        struct ws_error err = {503, "connection limit of this worker reached"};
        char resp[512];
        size_t n = ws_handshake_response_error(resp, sizeof(resp), &err, NULL,
                                               NULL, CONN_SERVER);
        struct iovec iov = {resp, n};
        /* Kept, not staged: the socket is writable at once, and conn_on_io
         * sends it. */
        c->out_lost = !output_keep(&c->out, &iov, 1, 0);
        stats_record_handshake(&c->rec, 503, NULL, NULL);
        conn_record_refusal(c, resp, n);
        conn_finish(c);
        conn_send_wait(c, WSD_IO_AGAIN);
    }
}

/* What each way of ending means for the record. */
static const struct {
    bool dropped_by_me;
    const char *why; /* NULL: clean if close frames went both ways */
} conn_ends[] = {
    [CONN_END_DONE] = {true, NULL},
    [CONN_END_PEER_EOF] = {false, "peer dropped the TCP connection first"},
    [CONN_END_IO_ERROR] = {false, "connection error"},
    [CONN_END_TLS_REFUSED] = {true, "TLS error: an alert sent, closed"},
    [CONN_END_TLS_PEER_ALERT] = {false, "TLS error: the peer sent an alert"},
    [CONN_END_NO_MEMORY] = {true, "out of memory"},
    [CONN_END_HANDSHAKE_TIMEOUT] = {true, "opening handshake timed out"},
    [CONN_END_CLOSE_TIMEOUT] = {true, "peer did not answer our close in time"},
    [CONN_END_FLUSH_TIMEOUT] = {true, "peer did not read our last bytes"},
    [CONN_END_SHUTDOWN] = {true, "server shutting down"},
};

/* Why the peer of each wrong protocol was refused, for its record. */
static const char *const conn_wrong_protocol_why[STATS_WRONG_N] = {
    [STATS_WRONG_TLS_ON_PLAIN] = "TLS handshake on the plain ws:// port",
    [STATS_WRONG_PLAIN_ON_TLS] = "plain HTTP request on the TLS port",
};

/*
 * A TLS connection (the TCP transport keeps no state) still in its opening
 * handshake whose TLS handshake never completed (conn_record_transport
 * sets rec.tls at that moment): when the peer ends it or it times out,
 * its TLS handshake failed.
 */
static bool
conn_tls_never_began(const struct conn *c)
{
    return c->state == CONN_HANDSHAKE && c->tctx != NULL && !c->rec.tls;
}

enum conn_end
conn_end_of(ssize_t n)
{
    return n == WSD_IO_EOF                           ? CONN_END_PEER_EOF
           : n == WSD_IO_ERROR && errno == EPROTO    ? CONN_END_TLS_REFUSED
           : n == WSD_IO_ERROR && errno == EREMOTEIO ? CONN_END_TLS_PEER_ALERT
                                                     : CONN_END_IO_ERROR;
}

/*
 * The one way a connection ends: records why, drops its output and its
 * events, and hands it to the loop, which frees it once the current
 * callback has returned. Nothing more happens to c after this.
 */
void
conn_close(struct conn *c, enum conn_end why)
{
    struct stats_record_end end = {
        .dropped_by_me = conn_ends[why].dropped_by_me,
        .open_handshake_timeout = why == CONN_END_HANDSHAKE_TIMEOUT,
        .close_handshake_timeout = why == CONN_END_CLOSE_TIMEOUT,
        .why = conn_ends[why].why,
    };

    if (conn_is_closed(c)) {
        return;
    }
    if (c->has_session) {
        /* A frame the peer began and did not finish: it cannot be
         * delimited, and the record says so. */
        enum ws_session_partial cut = ws_session_partial(&c->session);
        end.rx_frame_incomplete = cut != WS_PARTIAL_NONE;
        end.rx_frame_logged = cut == WS_PARTIAL_PAYLOAD;
    }
    if (why == CONN_END_DONE && c->wrong_protocol != 0) {
        end.why = conn_wrong_protocol_why[c->wrong_protocol - 1];
    } else if (why == CONN_END_DONE && c->rec.rec != NULL &&
               c->rec.rec->http_status != 101) {
        end.why = "opening handshake refused";
    }
    /* A handshake that completed in a send (a 503 at the connection
     * limit) or a linger read is recorded now. */
    conn_record_transport(c);
    if (why != CONN_END_SHUTDOWN && why != CONN_END_NO_MEMORY &&
        conn_tls_never_began(c)) {
        stats_record_tls_failed(&c->rec);
    }
    struct stats_case *rec = c->rec.rec; /* finish lets go of it */
    uint64_t now_ms = clock_wall_ms();
    stats_record_finish(&c->rec, &end, now_ms);
    if (rec != NULL && c->loop->case_log != NULL) {
        /* The record is whole and stays as it is until this worker
         * starts another case in it: after this call. */
        case_log_write(c->loop->case_log, rec, now_ms, clock_mono_ms(),
                       &c->rec.counters->case_log_write_errors);
    }
    c->state = CONN_CLOSED;
    output_clear(&c->loop->stage, &c->out);
    /* The transport goes first, while its socket is still c's: TLS
     * reports a handshake that never finished as it goes. */
    c->t->free(c->tctx);
    c->tctx = NULL;
    /* Closing the socket takes it out of the epoll set (no other
     * descriptor refers to it), so no EPOLL_CTL_DEL first; a poll's
     * events already fetched for c find io_flags 0 (conn_on_io). */
    close(c->fd);
    c->fd = -1;
    c->io_flags = 0;
    loop_close(c->loop, &c->lc);
}

/* Starts closing c because the worker is going away, for reason. */
static void
conn_shutdown(struct conn *c, const char *reason)
{
    if (c->state == CONN_HANDSHAKE) {
        conn_close(c, CONN_END_SHUTDOWN);
    } else if (conn_queue_going_away(c, reason)) {
        conn_flush(c);
    }
}

/* Graceful shutdown of c: close 1001 between messages (conn_flush sends
 * it once nothing is in flight either way). */
static void
conn_shutdown_graceful(struct conn *c)
{
    c->graceful = true;
    if (c->state == CONN_OPEN && !c->send_blocked && !c->send_wants_read) {
        conn_flush(c);
    }
}

bool
conn_shutdown_next(struct loop *l, const char *reason)
{
    struct loop_conn *lc = TAILQ_FIRST(&l->conns);

    if (lc == NULL) {
        return false;
    }
    if (reason != NULL) {
        conn_shutdown(conn_of(lc), reason);
    } else {
        conn_shutdown_graceful(conn_of(lc));
    }
    if (!conn_is_closed(conn_of(lc))) {
        /* Still open: behind the ones not yet told. */
        loop_conn_to_tail(l, lc);
    }
    return true;
}

void
conn_shutdown_all(struct loop *l)
{
    struct loop_conn *lc;
    struct loop_conn *next;

    /* Closing unlinks from conns: take the next one first. */
    for (lc = TAILQ_FIRST(&l->conns); lc != NULL; lc = next) {
        next = TAILQ_NEXT(lc, entry);
        conn_shutdown(conn_of(lc), "server shutting down");
    }
}

bool
conn_graceful_next(struct loop *l)
{
    return conn_shutdown_next(l, NULL);
}

void
conn_close_all(struct loop *l)
{
    struct loop_conn *lc;

    while ((lc = TAILQ_FIRST(&l->conns)) != NULL) {
        conn_close(conn_of(lc), CONN_END_SHUTDOWN);
    }
}
