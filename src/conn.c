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

#include "conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "keepalive.h"
#include "log.h"
#include "output.h"
#include "stats_record.h"
#include "transport.h"
#include "ws_handshake.h"
#include "ws_session.h"

#define CONN_SERVER                  "wsd/" VERSION
#define CONN_HANDSHAKE_INITIAL_BYTES 1024
/* Reads per readiness callback, so one busy peer cannot starve others. */
#define CONN_READS_PER_EVENT         4
/* Message payload one connection may have echoed in one callback before
 * the others get their turn (a message is never split: a 16 MiB one, or
 * a deflate bomb that inflates to it, still goes whole). */
#define CONN_WORK_BYTES              (1024 * 1024)
/* An echo's payload from this size on is sent from where it lies rather
 * than copied into the stage: a copy costs more than a second iovec. */
#define CONN_ZERO_COPY_BYTES         4096

enum conn_state {
    CONN_HANDSHAKE, /* reading the opening handshake */
    CONN_OPEN,      /* WebSocket: session OPEN, or CLOSING after our close */
    CONN_FLUSH,     /* last bytes queued; shut the sending side once sent */
    CONN_LINGER,    /* sending side shut; reading until the peer's EOF */
    CONN_CLOSED,    /* ended: inert until the loop frees it */
};

/* Exists only while the opening handshake is read. */
struct conn_handshake {
    struct ws_handshake_request req;
    size_t len; /* bytes in buf */
    size_t cap;
    char buf[];
};

/* Received bytes not processed yet: the connection's turn was over, or
 * its output reached the high-water mark. */
struct conn_held {
    size_t off, len;
    uint8_t buf[];
};

struct conn {
    struct loop_conn lc; /* its place in the loop: lists, deadline, turn */
    struct loop *loop;
    const struct transport *t;
    void *tctx; /* the transport's state, NULL for TCP */
    int fd;
    uint8_t state;         /* enum conn_state */
    bool read_paused;      /* output over the high-water mark, or flushing */
    bool send_blocked;     /* output waits for the socket to be writable */
    bool recv_wants_write; /* the transport's recv waits for writability */
    bool send_wants_read;  /* the transport's send waits for readability */
    uint8_t io_flags;      /* EV_READ and EV_WRITE ev_io waits for */
    bool has_session;      /* the handshake succeeded: session is live */
    struct keepalive ka;   /* while OPEN: pings and idleness */
    struct output out;     /* what the socket has not taken yet */
    union {
        struct conn_handshake *hs; /* during CONN_HANDSHAKE */
        struct conn_held *held;    /* after it; NULL when none */
    };
    struct ws_session session; /* from CONN_OPEN on */
    struct stats_record rec;   /* statistics */
};

_Static_assert(sizeof(struct conn) % sizeof(void *) == 0,
               "the event behind a connection is aligned");

static void conn_on_io(evutil_socket_t fd, short what, void *arg);
static void conn_on_read(struct conn *c);
static void conn_flush(struct conn *c);
static void conn_close(struct conn *c, enum conn_end why);

/* The event behind c (see conn_new). */
static struct event *
ev_io(struct conn *c)
{
    return (struct event *)(void *)(c + 1);
}

static struct conn *
conn_of(struct loop_conn *lc)
{
    return (struct conn *)(void *)((char *)lc - offsetof(struct conn, lc));
}

static bool
is_closed(const struct conn *c)
{
    return c->state == CONN_CLOSED;
}

/* Input kept for c's next turn: only an open connection processes it;
 * one closing frees it with the rest. */
static bool
has_held(const struct conn *c)
{
    return c->state == CONN_OPEN && c->held != NULL;
}

static void
timer_set(struct conn *c, uint64_t ms)
{
    loop_timer_set(c->loop, &c->lc, ms);
}

/*
 * Makes ev_io wait for exactly what c waits for: its own reading unless
 * paused, output the socket did not take, and, under TLS, a recv that
 * must send a record first or a send that must read first. Bytes no
 * readiness would announce (what the TLS transport already holds, input
 * kept at the end of c's turn) are taken after the next poll.
 */
static void
conn_arm(struct conn *c)
{
    bool reading = !c->read_paused && !c->recv_wants_write;
    uint8_t flags;

    if (is_closed(c)) {
        return;
    }
    flags = (uint8_t)((reading || c->send_wants_read ? EV_READ : 0) |
                      (c->send_blocked || c->recv_wants_write ? EV_WRITE : 0));

    /* One event for both directions: its interest changes only when
     * output backs up (or TLS asks), not per message. */
    if (flags != c->io_flags) {
        if (c->io_flags != 0) {
            event_del(ev_io(c));
        }
        if (flags != 0) {
            event_assign(ev_io(c), c->loop->base, c->fd, flags | EV_PERSIST,
                         conn_on_io, c);
            event_add(ev_io(c), NULL);
        }
        c->io_flags = flags;
    }
    if (reading && (has_held(c) || c->t->has_pending(c->tctx))) {
        loop_turn_queue(c->loop, &c->lc);
    }
}

/* A recv would block: WSD_IO_WANT_WRITE waits for writability instead. */
static void
conn_recv_wait(struct conn *c, ssize_t n)
{
    if (n == WSD_IO_WANT_WRITE) {
        c->recv_wants_write = true;
        conn_arm(c);
    }
}

/* A send or shutdown would block: wait for the readiness it names. */
static void
conn_send_wait(struct conn *c, ssize_t n)
{
    c->send_blocked = n == WSD_IO_AGAIN;
    c->send_wants_read = n == WSD_IO_WANT_READ;
    conn_arm(c);
}

/*
 * Makes the stage free for c: bytes another connection left staged (only
 * a path that queued without sending does) go to that connection's own
 * buffer, and it waits for writability to send them.
 */
static void
stage_claim(struct conn *c)
{
    struct output_stage *st = &c->loop->stage;

    if (st->owner != &c->out && st->len > 0) {
        struct conn *o = (struct conn *)(void *)((char *)output_spill(st) -
                                                 offsetof(struct conn, out));
        o->send_blocked = true;
        conn_arm(o);
    }
}

/* Queues bytes to send (output.h): into the stage while c keeps nothing,
 * else behind what it keeps. A closed connection sends nothing more. */
static void
queue(struct conn *c, const void *p, size_t len)
{
    if (!is_closed(c)) {
        stage_claim(c);
        output_queue(&c->loop->stage, &c->out, p, len);
    }
}

/*
 * Sends iov[0..n) at once when nothing of c's waits before it, and keeps
 * whatever the socket does not take (all of it when c must wait). A send
 * error closes c.
 */
static void
send_or_keep(struct conn *c, const struct iovec *iov, int n)
{
    size_t took = 0;
    size_t all = 0;

    for (int i = 0; i < n; i++) {
        all += iov[i].iov_len;
    }

    if (output_kept_len(&c->out) == 0 && !c->send_blocked &&
        !c->send_wants_read) {
        ssize_t r = c->t->send(c->tctx, c->fd, iov, n);
        if (r == WSD_IO_ERROR) {
            log_errno(LOG_LEVEL_DEBUG, "send");
            conn_close(c, CONN_END_IO_ERROR);
            return;
        }
        if (r > 0) {
            took = (size_t)r;
            stats_record_written(&c->rec, took);
        }
    }
    if (took < all) {
        output_keep(&c->out, iov, n, took);
    }
}

/* Sends what the stage holds for c, straight from it. */
static void
stage_send(struct conn *c)
{
    struct iovec iov;

    if (output_take(&c->loop->stage, &c->out, &iov) == 1) {
        send_or_keep(c, &iov, 1);
    }
    output_stage_trim(&c->loop->stage);
}

/* After the last bytes are queued: send them, then close the TCP. */
static void
conn_finish(struct conn *c)
{
    c->state = CONN_FLUSH;
    c->read_paused = true;
    conn_arm(c);
    timer_set(c, c->loop->cfg->close_timeout_ms);
}

/*
 * Queues our close frame with code 1001 and reason (static) on an open
 * session and starts the close timeout. Returns false when the session is
 * not open (nothing done).
 */
static bool
queue_going_away(struct conn *c, const char *reason)
{
    struct ws_event ev;

    if (c->state != CONN_OPEN ||
        !ws_session_close(&c->session, WS_CLOSE_GOING_AWAY, reason, &ev)) {
        return false;
    }
    stats_record_close_out(&c->rec, WS_CLOSE_GOING_AWAY, reason, false);
    stats_record_frame_out(&c->rec, WS_OP_CLOSE);
    queue(c, ev.reply, ev.reply_len);
    timer_set(c, c->loop->cfg->close_timeout_ms);
    return true;
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
        conn_close(c, CONN_END_IO_ERROR);
        return;
    }
    c->state = CONN_LINGER;
    c->read_paused = false;
    timer_set(c, c->loop->cfg->close_timeout_ms);
    conn_arm(c);
}

/* Sends what is pending; once all is sent in CONN_FLUSH, lingers. */
static void
conn_flush(struct conn *c)
{
    struct iovec iov[OUTPUT_IOV_MAX];

again:
    stage_send(c);
    if (!is_closed(c) && c->out.lost) {
        log_msg(LOG_LEVEL_ERROR, "out of memory for a connection's output");
        conn_close(c, CONN_END_NO_MEMORY);
    }
    if (is_closed(c)) {
        return;
    }
    int nv;
    while (c->out.kept != NULL &&
           (nv = output_kept_spans(&c->out, iov, OUTPUT_IOV_MAX)) > 0) {
        ssize_t n = c->t->send(c->tctx, c->fd, iov, nv);
        if (n == WSD_IO_AGAIN || n == WSD_IO_WANT_READ) {
            conn_send_wait(c, n);
            return;
        }
        if (n < 0) {
            log_errno(LOG_LEVEL_DEBUG, "send");
            conn_close(c, CONN_END_IO_ERROR);
            return;
        }
        stats_record_written(&c->rec, (size_t)n);
        output_kept_drain(&c->out, (size_t)n);
    }
    /* Graceful shutdown: nothing in flight either way any more. */
    if (c->loop->graceful && c->state == CONN_OPEN && !has_held(c) &&
        ws_session_is_idle(&c->session) &&
        queue_going_away(c, "server shutting down")) {
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

/* Arms c's one deadline for what keepalive.h says is next. */
static void
keepalive_arm(struct conn *c)
{
    uint64_t next = keepalive_deadline(&c->ka, &c->loop->keepalive_cfg);
    uint64_t now;

    if (next == UINT64_MAX) {
        loop_timer_del(c->loop, &c->lc);
        return;
    }
    now = clock_mono_ms();
    timer_set(c, next > now ? next - now : 0);
}

/* The keepalive deadline has come: close, ping, or wait again. */
static void
keepalive_fire(struct conn *c)
{
    const struct keepalive_config *kc = &c->loop->keepalive_cfg;
    uint64_t now = clock_mono_ms();
    uint8_t hdr[WS_FRAME_HEADER_MAX];
    size_t n;

    switch (keepalive_check(&c->ka, kc, now)) {
    case KEEPALIVE_IDLE:
        log_debug("no message from the peer in %llu ms: closing",
                  (unsigned long long)kc->idle_timeout_ms);
        queue_going_away(c, "idle timeout");
        break;
    case KEEPALIVE_PONG_LATE:
        log_debug("no answer to our ping in %llu ms: closing",
                  (unsigned long long)kc->pong_timeout_ms);
        queue_going_away(c, "ping timeout");
        break;
    case KEEPALIVE_PING:
        n = ws_session_message_header(&c->session, hdr, WS_OP_PING, 0);
        if (n > 0) {
            stats_record_frame_out(&c->rec, WS_OP_PING);
            queue(c, hdr, n);
            keepalive_pinged(&c->ka, now);
        }
        keepalive_arm(c);
        break;
    case KEEPALIVE_WAIT:
        keepalive_arm(c);
        break;
    }
    conn_flush(c);
}

/*
 * Echoes a message, compressed when permessage-deflate asks for it. When
 * nothing is queued before it, a large one goes out in one writev straight
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
    stats_record_frame_out(&c->rec, ev->opcode);
    stats_record_message_out(&c->rec, ev->len, m.compressed, m.payload_len);
    if (m.payload_len >= CONN_ZERO_COPY_BYTES) {
        struct iovec iov[3];
        int n = 0;
        stage_claim(c);
        n += output_take(&l->stage, &c->out, &iov[n]);
        iov[n].iov_base = m.hdr;
        iov[n++].iov_len = m.hdr_len;
        iov[n].iov_base = (void *)(uintptr_t)m.payload;
        iov[n++].iov_len = m.payload_len;
        send_or_keep(c, iov, n);
        output_stage_trim(&l->stage);
    } else {
        queue(c, m.hdr, m.hdr_len);
        queue(c, m.payload, m.payload_len);
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
        stats_record_frame_out(&c->rec, WS_OP_CLOSE);
    }
    queue(c, ev->reply, ev->reply_len);
    conn_finish(c);
}

/* The peer broke the protocol: our close frame, then the close. */
static void
conn_on_fail(struct conn *c, const struct ws_event *ev)
{
    log_debug("failing connection: %u %s", ev->error.code, ev->error.reason);
    if (ev->peer_closed) {
        stats_record_close_in(&c->rec, ev->close.code, ev->close.has_code,
                              ev->close.reason, ev->close.reason_len);
    }
    if (ev->reply_len > 0) {
        stats_record_close_out(&c->rec, ev->error.code, ev->error.reason, true);
        stats_record_frame_out(&c->rec, WS_OP_CLOSE);
    }
    queue(c, ev->reply, ev->reply_len);
    if (ws_session_state(&c->session) == WS_SESSION_CLOSING) {
        /* §7.1.1: the peer's frames can still be told apart, so the
         * closing handshake can complete: wait for its close (as after
         * our own), then close the TCP first. */
        timer_set(c, c->loop->cfg->close_timeout_ms);
    } else {
        conn_finish(c);
    }
}

/*
 * Runs received bytes through the session and queues what its events call
 * for, in wire order, until the bytes are used up, *budget (message
 * payload this callback may still echo) is spent, or the output reaches
 * the high-water mark (reading pauses). Returns the bytes used. Once c is
 * no longer open, the session takes the rest (and ignores what follows a
 * close).
 */
static size_t
conn_process(struct conn *c, uint8_t *p, size_t n, size_t *budget)
{
    uint64_t high_water = c->loop->cfg->write_high_water_bytes;
    struct ws_event ev;
    size_t n0 = n;

    while (n > 0 && !is_closed(c)) {
        if (c->state == CONN_OPEN &&
            (*budget == 0 ||
             output_pending(&c->loop->stage, &c->out) >= high_water)) {
            break;
        }
        size_t used = ws_session_feed(&c->session, p, n, &ev);
        p += used;
        n -= used;
        if (ev.has_frame) {
            stats_record_frame_in(&c->rec, &ev.frame);
        }
        switch (ev.type) {
        case WS_EV_NONE:
        case WS_EV_PONG:
            break;
        case WS_EV_MESSAGE:
            keepalive_message(&c->ka);
            stats_record_message_in(&c->rec, ev.len);
            *budget -= ev.len < *budget ? ev.len : *budget;
            conn_echo(c, &ev);
            break;
        case WS_EV_PING:
            stats_record_frame_out(&c->rec, WS_OP_PONG);
            queue(c, ev.reply, ev.reply_len);
            break;
        case WS_EV_CLOSE:
            conn_on_close(c, &ev);
            break;
        case WS_EV_FAIL:
            conn_on_fail(c, &ev);
            break;
        }
    }
    if (c->state == CONN_OPEN &&
        output_pending(&c->loop->stage, &c->out) >= high_water) {
        c->read_paused = true;
        conn_arm(c);
    }
    return n0 - n;
}

/* conn_process, keeping what it did not use for c's next turn (c holds
 * nothing yet). */
static void
conn_process_or_hold(struct conn *c, uint8_t *p, size_t n, size_t *budget)
{
    size_t used = conn_process(c, p, n, budget);

    if (used == n || is_closed(c)) {
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
    if (h->off == h->len && !is_closed(c)) {
        free(h);
        c->held = NULL;
    }
}

/* Once a request is read, a TLS handshake is done: record what it chose. */
static void
record_transport(struct conn *c)
{
    char version[16];
    char cipher[48];

    if (c->t->describe(c->tctx, version, sizeof(version), cipher,
                       sizeof(cipher))) {
        stats_record_tls(&c->rec, version, cipher);
    }
}

static void
conn_refuse_handshake(struct conn *c, const struct ws_error *err)
{
    char resp[1024];
    size_t n =
        ws_handshake_response_error(resp, sizeof(resp), err, CONN_SERVER);

    log_debug("handshake refused: %u %s", err->code, err->reason);
    record_transport(c);
    stats_record_handshake(&c->rec, err->code, &c->hs->req, NULL);
    queue(c, resp, n);
    free(c->hs);
    c->hs = NULL;
    conn_finish(c);
}

/* The request is complete and acceptable: answer 101 and go on. */
static void
conn_accept_handshake(struct conn *c, size_t request_len)
{
    struct loop *l = c->loop;
    struct conn_handshake *hs = c->hs;
    struct ws_deflate_params deflate;
    char ext[160];
    char resp[512];
    bool use_deflate =
        ws_deflate_negotiate(&l->deflate_cfg, hs->req.extensions,
                             hs->req.n_extensions, &deflate, ext, sizeof(ext));
    size_t n = ws_handshake_response_101(resp, sizeof(resp), &hs->req,
                                         use_deflate ? ext : NULL, CONN_SERVER);

    record_transport(c);
    stats_record_handshake(&c->rec, 101, &hs->req, use_deflate ? ext : NULL);
    queue(c, resp, n);
    ws_session_init(&c->session, &l->session_cfg);
    c->has_session = true;
    if (use_deflate) {
        ws_session_use_deflate(&c->session, &l->deflate_cfg, &deflate);
    }
    c->state = CONN_OPEN;
    keepalive_start(&c->ka, clock_mono_ms());
    keepalive_arm(c);
    /* Frames sent right behind the request are already here. */
    c->hs = NULL; /* c->held from now on */
    if (hs->len > request_len) {
        size_t budget = CONN_WORK_BYTES;
        conn_process_or_hold(c, (uint8_t *)hs->buf + request_len,
                             hs->len - request_len, &budget);
    }
    free(hs);
}

/* Makes room for more of the request: up to one byte over the limit, so
 * that a request too large is seen as such (431), not as incomplete. */
static struct conn_handshake *
handshake_grow(struct conn *c)
{
    struct conn_handshake *hs = c->hs;
    size_t max = c->loop->handshake_cfg.max_bytes + 1;
    size_t cap = hs == NULL ? CONN_HANDSHAKE_INITIAL_BYTES : hs->cap * 2;

    if (cap > max) {
        cap = max;
    }
    hs = realloc(c->hs, sizeof(*hs) + cap);
    if (hs == NULL) {
        return NULL;
    }
    if (c->hs == NULL) {
        memset(hs, 0, sizeof(*hs));
    }
    hs->cap = cap;
    c->hs = hs;
    return hs;
}

static void
conn_read_handshake(struct conn *c)
{
    const struct ws_handshake_config *hc = &c->loop->handshake_cfg;
    struct ws_error err = {0, NULL};

    for (;;) {
        struct conn_handshake *hs = c->hs;
        if ((hs == NULL || hs->len == hs->cap) &&
            (hs = handshake_grow(c)) == NULL) {
            log_msg(LOG_LEVEL_ERROR, "out of memory in a handshake");
            conn_close(c, CONN_END_NO_MEMORY);
            return;
        }
        ssize_t n =
            c->t->recv(c->tctx, c->fd, hs->buf + hs->len, hs->cap - hs->len);
        if (n == WSD_IO_AGAIN || n == WSD_IO_WANT_WRITE) {
            conn_recv_wait(c, n);
            return;
        }
        if (n < 0) {
            conn_close(c,
                       n == WSD_IO_EOF ? CONN_END_PEER_EOF : CONN_END_IO_ERROR);
            return;
        }
        stats_record_read(&c->rec, (size_t)n);
        hs->len += (size_t)n;
        ssize_t r = ws_handshake_parse(&hs->req, hs->buf, hs->len, hc, &err);
        if (r == WS_AGAIN) {
            continue;
        }
        if (r < 0) {
            conn_refuse_handshake(c, &err);
        } else {
            conn_accept_handshake(c, (size_t)r);
        }
        conn_flush(c);
        return;
    }
}

static void
conn_read_frames(struct conn *c)
{
    struct loop *l = c->loop;
    size_t budget = CONN_WORK_BYTES;

    if (has_held(c)) {
        conn_process_held(c, &budget);
        if (c->held != NULL || c->state != CONN_OPEN || c->read_paused ||
            budget == 0) {
            /* Its turn is over, or it waits for its output to drain. */
            conn_flush(c);
            return;
        }
    }
    for (int i = 0; i < CONN_READS_PER_EVENT; i++) {
        ssize_t n = c->t->recv(c->tctx, c->fd, l->rbuf, l->rbuf_bytes);
        if (n == WSD_IO_AGAIN || n == WSD_IO_WANT_WRITE) {
            conn_recv_wait(c, n);
            break;
        }
        if (n < 0) {
            /* The peer went away without a close handshake. */
            log_debug("connection lost: %s",
                      n == WSD_IO_EOF ? "end of stream" : strerror(errno));
            conn_close(c,
                       n == WSD_IO_EOF ? CONN_END_PEER_EOF : CONN_END_IO_ERROR);
            return;
        }
        stats_record_read(&c->rec, (size_t)n);
        if (i == 0) {
            keepalive_heard(&c->ka, clock_mono_ms());
        }
        conn_process_or_hold(c, l->rbuf, (size_t)n, &budget);
        if (c->state != CONN_OPEN || c->held != NULL || c->read_paused ||
            budget == 0 || (size_t)n < l->rbuf_bytes) {
            break;
        }
    }
    conn_flush(c);
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
        stats_record_read(&c->rec, (size_t)n);
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

static void
conn_on_io(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    bool read = (what & EV_READ) != 0;
    (void)fd;

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
        conn_close(c, CONN_END_HANDSHAKE_TIMEOUT);
        return;
    case CONN_OPEN:
        if (ws_session_state(&c->session) == WS_SESSION_OPEN) {
            keepalive_fire(c);
            return;
        }
        log_debug("peer did not answer our close in time");
        conn_close(c, CONN_END_CLOSE_TIMEOUT);
        return;
    case CONN_FLUSH:
        log_debug("peer did not read our last bytes in time");
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
    close(c->fd);
    free(c);
}

const struct loop_hooks conn_loop_hooks = {
    .on_timer = conn_on_timer,
    .on_turn = conn_on_turn,
    .free = conn_free,
};

void
conn_new(struct loop *l, int fd, const struct transport *t, void *tctx,
         const struct sockaddr *peer, socklen_t peer_len, bool refuse)
{
    /* The connection's event lives right behind it, in the same block:
     * libevent lets the caller own an event's memory (event_assign). */
    struct conn *c = calloc(1, sizeof(*c) + event_get_struct_event_size());
    int one = 1;

    if (c == NULL || loop_add(l, &c->lc) != 0) {
        log_msg(LOG_LEVEL_ERROR, "out of memory for a new connection");
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
    event_assign(ev_io(c), l->base, fd, EV_READ | EV_PERSIST, conn_on_io, c);
    /* Echoes are small and latency matters more than packet count; the
     * write path already batches what one read produces. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) {
        log_errno(LOG_LEVEL_DEBUG, "setsockopt(TCP_NODELAY)");
    }
    stats_record_start(&c->rec, l->shm, l->slot_index, peer, peer_len,
                       clock_wall_ms());
    conn_arm(c);
    timer_set(c, l->cfg->handshake_timeout_ms);
    if (refuse) {
        struct ws_error err = {503, "connection limit of this worker reached"};
        char resp[512];
        size_t n =
            ws_handshake_response_error(resp, sizeof(resp), &err, CONN_SERVER);
        struct iovec iov = {resp, n};
        /* Kept, not staged: the socket is writable at once, and conn_on_io
         * sends it. */
        output_keep(&c->out, &iov, 1, 0);
        stats_record_handshake(&c->rec, 503, NULL, NULL);
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
    [CONN_END_NO_MEMORY] = {true, "out of memory"},
    [CONN_END_HANDSHAKE_TIMEOUT] = {true, "opening handshake timed out"},
    [CONN_END_CLOSE_TIMEOUT] = {true, "peer did not answer our close in time"},
    [CONN_END_FLUSH_TIMEOUT] = {true, "peer did not read our last bytes"},
    [CONN_END_SHUTDOWN] = {true, "server shutting down"},
};

/*
 * The one way a connection ends: records why, drops its output and its
 * events, and hands it to the loop, which frees it once the current
 * callback has returned. Nothing more happens to c after this.
 */
static void
conn_close(struct conn *c, enum conn_end why)
{
    struct stats_record_end end = {
        .dropped_by_me = conn_ends[why].dropped_by_me,
        .open_handshake_timeout = why == CONN_END_HANDSHAKE_TIMEOUT,
        .close_handshake_timeout = why == CONN_END_CLOSE_TIMEOUT,
        .why = conn_ends[why].why,
    };

    if (is_closed(c)) {
        return;
    }
    if (why == CONN_END_DONE && c->rec.rec != NULL &&
        c->rec.rec->http_status != 101) {
        end.why = "opening handshake refused";
    }
    stats_record_finish(&c->rec, &end, clock_wall_ms());
    c->state = CONN_CLOSED;
    output_clear(&c->loop->stage, &c->out);
    if (c->io_flags != 0) {
        event_del(ev_io(c));
        c->io_flags = 0;
    }
    loop_close(c->loop, &c->lc);
}

/* Starts closing c because the worker is shutting down. */
static void
conn_shutdown(struct conn *c)
{
    if (c->state == CONN_HANDSHAKE) {
        conn_close(c, CONN_END_SHUTDOWN);
    } else if (queue_going_away(c, "server shutting down")) {
        conn_flush(c);
    }
}

bool
conn_shutdown_next(struct loop *l)
{
    struct loop_conn *lc = TAILQ_FIRST(&l->conns);

    if (lc == NULL) {
        return false;
    }
    conn_shutdown(conn_of(lc));
    /* Still open: behind the ones not yet told. */
    loop_conn_to_tail(l, lc);
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
        conn_shutdown(conn_of(lc));
    }
}

void
conn_shutdown_graceful_all(struct loop *l)
{
    struct loop_conn *lc;
    struct loop_conn *next;

    for (lc = TAILQ_FIRST(&l->conns); lc != NULL; lc = next) {
        struct conn *c = conn_of(lc);
        next = TAILQ_NEXT(lc, entry);
        if (c->state == CONN_OPEN && !c->send_blocked && !c->send_wants_read) {
            conn_flush(c); /* sends the close if nothing is in flight */
        }
    }
}

void
conn_close_all(struct loop *l)
{
    struct loop_conn *lc;

    while ((lc = TAILQ_FIRST(&l->conns)) != NULL) {
        conn_close(conn_of(lc), CONN_END_SHUTDOWN);
    }
}
