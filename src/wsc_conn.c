/* SPDX-License-Identifier: MIT */
/*
 * One connection of wsc: connect, the socket's I/O through struct
 * transport (TCP or TLS), the timers, and the end (RFC 6455 §7.1: the
 * client waits for the server to close TCP), with the record of it all.
 * The protocol is the core's, driven by wsc_conn_proto.c; this file does
 * the I/O, the timers and the bookkeeping around it.
 */
#include "autoconf.h"

#include "wsc_conn_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "transport.h"
#include "transport_tls.h"

bool
wsc_random_fill(struct wsc_random *r, uint8_t *out, size_t n)
{
    while (n > 0) {
        if (r->pos == 0 || r->pos >= sizeof(r->buf)) {
            ssize_t got = getrandom(r->buf, sizeof(r->buf), 0);
            if (got != (ssize_t)sizeof(r->buf)) {
                return false;
            }
            r->pos = 0;
        }
        size_t k = sizeof(r->buf) - r->pos;
        if (k > n) {
            k = n;
        }
        memcpy(out, r->buf + r->pos, k);
        r->pos += k;
        out += k;
        n -= k;
    }
    return true;
}

/* The session's masking keys (§5.3): fresh from the OS, never reused. */
void
wsc_conn_fill_mask(void *ctx, uint8_t key[4])
{
    if (!wsc_random_fill(ctx, key, 4)) {
        fputs("wsc: the operating system gives no random numbers\n", stderr);
        abort();
    }
}

/* p[0..n) as a string in dst[0..cap), cut to fit. */
void
wsc_copy_cut(char *dst, size_t cap, const void *p, size_t n)
{
    if (n >= cap) {
        n = cap - 1;
    }
    if (n > 0) {
        memcpy(dst, p, n);
    }
    dst[n] = '\0';
}

/* The first cause of the end wins: a protocol failure stays one even if
 * its close then times out. */
void __attribute__((format(printf, 3, 4)))
wsc_conn_outcome(struct wsc_conn *c, enum wsc_outcome o, const char *fmt, ...)
{
    va_list ap;

    if (c->outcome_set) {
        return;
    }
    c->outcome_set = true;
    c->res.outcome = o;
    va_start(ap, fmt);
    vsnprintf(c->res.why, sizeof(c->res.why), fmt, ap);
    va_end(ap);
}

/*
 * The connection is over: the record finished, the socket closed, the
 * caller told. dropped_by_me: we close TCP first (a timeout, a failure);
 * else the server did.
 */
void
wsc_conn_finish(struct wsc_conn *c, bool dropped_by_me,
                bool server_drop_timeout)
{
    if (c->phase == PH_DONE) {
        return;
    }
    bool was_connecting = c->phase == PH_CONNECT;
    c->phase = PH_DONE;
    if (!c->outcome_set) {
        wsc_conn_outcome(c, WSC_UNCLEAN, "the connection ended");
    }
    if (c->recording) {
        enum ws_session_partial part =
            c->session_on ? ws_session_partial(&c->session) : WS_PARTIAL_NONE;
        struct stats_record_end e = {
            .dropped_by_me = dropped_by_me,
            .why = c->record_why,
            .rx_frame_incomplete = part != WS_PARTIAL_NONE,
            .rx_frame_logged = part == WS_PARTIAL_PAYLOAD,
            .server_drop_timeout = server_drop_timeout,
        };
        if (c->record_why == NULL && c->res.outcome != WSC_CLEAN &&
            c->res.outcome != WSC_PROTOCOL) {
            e.why = c->res.why;
        }
        stats_record_finish(&c->rec, &e, clock_wall_ms());
    }
    if (c->ev_io != NULL) {
        event_free(c->ev_io);
        c->ev_io = NULL;
    }
    event_del(c->ev_timer);
    if (c->fd >= 0) {
        if (dropped_by_me && c->t != NULL && !was_connecting) {
            /* close_notify and our FIN, as far as the socket takes them. */
            (void)c->t->shutdown(c->tctx, c->fd);
        }
        close(c->fd);
        c->fd = -1;
    }
    if (c->t != NULL) {
        c->t->free(c->tctx);
        c->t = NULL;
        c->tctx = NULL;
    }
    if (c->session_on) {
        ws_session_clear(&c->session);
        c->session_on = false;
    }
    c->cb.on_end(c, &c->res, c->arg);
}

/* A transport call failed (WSD_IO_ERROR): TLS says why, else errno. */
void
wsc_conn_io_failed(struct wsc_conn *c, const char *what)
{
    int e = errno;

    /* A server may end TCP with a reset once the closing handshake is
     * over (the Autobahn testsuite's does): it closed TCP first all the
     * same. */
    if (e == ECONNRESET && c->phase == PH_OPEN &&
        ws_session_state(&c->session) == WS_SESSION_CLOSED) {
        wsc_conn_peer_eof(c);
        return;
    }

    if (c->url->tls && c->tctx != NULL && c->phase == PH_HANDSHAKE) {
        const char *v = transport_tls_verify_error(c->tctx);
        if (v != NULL) {
            wsc_conn_outcome(c, WSC_TLS,
                             "TLS: the server's certificate is refused: "
                             "%s (host %s)",
                             v, c->url->host);
        } else {
            wsc_conn_outcome(c, WSC_TLS, "TLS handshake failed: %s",
                             c->set->tls->last_reason[0] != '\0'
                                 ? c->set->tls->last_reason
                                 : strerror(e));
        }
    } else {
        wsc_conn_outcome(c, WSC_UNCLEAN, "%s: %s", what, strerror(e));
    }
    if (c->record_why == NULL) {
        c->record_why = "connection lost (read or write failed)";
    }
    /* A reset or a broken pipe took the connection from us: the server,
     * or something on the way, ended TCP first, as wsd's record says
     * of a peer's and the testsuite's client of a server's; so did the
     * server's fatal alert (EREMOTEIO, from transport_tls). A TLS
     * refusal (EPROTO) is ours: we refused the certificate or the
     * server's bytes, and sent an alert. */
    bool ours = e == EPROTO;
    wsc_conn_finish(c, ours, false);
}

/* Queues bytes behind what waits already; false: out of memory (ended). */
bool
wsc_conn_queue(struct wsc_conn *c, const struct iovec *iov, int n)
{
    size_t before = output_kept_len(&c->out);

    if (!output_keep(&c->out, iov, n, 0)) {
        wsc_conn_outcome(c, WSC_UNCLEAN, "out of memory");
        wsc_conn_finish(c, true, false);
        return false;
    }
    wsc_conn_kept(c, output_kept_len(&c->out) - before);
    return true;
}

/* n more bytes were queued: answers, when they come of a read. */
void
wsc_conn_kept(struct wsc_conn *c, size_t n)
{
    if (c->in_read) {
        c->answer_bytes += n;
    }
}

/* Queues one of our control frames (a pong, a close) and records it. */
bool
wsc_conn_queue_control(struct wsc_conn *c, uint8_t *frame, size_t len)
{
    struct iovec iov = {frame, len};

    stats_record_control_out(&c->rec, frame, len);
    return wsc_conn_queue(c, &iov, 1);
}

/*
 * Reads what the socket has, a bounded number of times per turn; when the
 * bound leaves bytes unread, the next turn comes back for them. to_eof:
 * the peer's FIN has come (EV_CLOSED), so a short read has not drained
 * the socket: the end of the stream is read now, not on the next wait.
 */
static void
do_read(struct wsc_conn *c, bool to_eof)
{
    bool more = false; /* the last read may have left bytes */

    for (int i = 0; i < READS_PER_TURN && c->phase != PH_DONE; i++) {
        uint8_t *rbuf = c->set->rbuf;
        ssize_t n = c->t->recv(c->tctx, c->fd, rbuf, WSC_RBUF_BYTES);
        more = false;
        if (n > 0) {
            /* Asked before the bytes are used, which may end c. */
            bool drained = c->t->drained(c->tctx, (size_t)n, WSC_RBUF_BYTES);
            stats_record_read(&c->rec, rbuf, (size_t)n);
            if (keepalive_on(&c->set->keepalive)) {
                keepalive_heard(&c->ka, clock_mono_ms());
            }
            c->in_read = true;
            if (c->phase == PH_OPEN) {
                wsc_conn_feed(c, rbuf, (size_t)n);
            } else {
                wsc_conn_handshake_bytes(c, rbuf, (size_t)n);
            }
            c->in_read = false;
            /* Only answers wait to go out, at most the whole queue. */
            if (c->answer_bytes >= WSC_WRITE_HIGH_WATER &&
                output_kept_len(&c->out) >= WSC_WRITE_HIGH_WATER) {
                c->read_paused = true; /* wsc_conn_flush resumes */
                more = false;
                break;
            }
            if (drained && !to_eof) {
                break; /* drained for now: readiness says when there is
                          more, without a read that finds nothing */
            }
            more = true;
            continue;
        }
        if (n == WSD_IO_EOF) {
            /* What the last bytes asked for (the answer to the server's
             * close) goes out first, as it does when the end comes in a
             * read of its own: a half-closed server still reads. */
            wsc_conn_flush(c, false);
            if (c->phase != PH_DONE) {
                wsc_conn_peer_eof(c);
            }
            return;
        }
        if (n == WSD_IO_WANT_WRITE) {
            c->recv_wants_write = true;
            break;
        }
        if (n != WSD_IO_AGAIN) {
            wsc_conn_io_failed(c, "read");
            return;
        }
        break;
    }
    if (c->phase == PH_DONE) {
        return;
    }
    wsc_conn_flush(c, true);
    if (c->phase != PH_DONE) {
        wsc_conn_rearm_timer(c);
        if (more || c->t->has_pending(c->tctx)) {
            event_active(c->ev_io, (short)(EV_READ | (to_eof ? EV_CLOSED : 0)),
                         0);
        }
    }
}

/*
 * Sends what is queued. from_loop: called from the loop's own events
 * (not from a call of the caller's), so cb.on_drain may send more.
 */
void
wsc_conn_flush(struct wsc_conn *c, bool from_loop)
{
    while (c->phase != PH_DONE && output_kept_len(&c->out) > 0) {
        struct iovec iov[OUTPUT_IOV_MAX];
        int n = output_kept_spans(&c->out, iov, OUTPUT_IOV_MAX);
        ssize_t sent = c->t->send(c->tctx, c->fd, iov, n);
        if (sent > 0) {
            stats_record_written(&c->rec, iov, n, (size_t)sent);
            output_kept_drain(&c->out, (size_t)sent);
            continue;
        }
        if (sent == WSD_IO_AGAIN || sent == WSD_IO_WANT_READ) {
            c->send_blocked = sent == WSD_IO_AGAIN;
            c->send_wants_read = sent == WSD_IO_WANT_READ;
            wsc_conn_arm(c);
            return;
        }
        wsc_conn_io_failed(c, "write");
        return;
    }
    if (c->phase == PH_DONE) {
        return;
    }
    c->send_blocked = false;
    c->send_wants_read = false;
    c->answer_bytes = 0;
    if (c->read_paused) {
        /* All sent: read again, from what came meanwhile, now. */
        c->read_paused = false;
        event_active(c->ev_io, EV_READ, 0);
    }
    wsc_conn_arm(c);
    if (from_loop && c->phase == PH_OPEN && !c->in_drain &&
        c->cb.on_drain != NULL &&
        ws_session_state(&c->session) == WS_SESSION_OPEN) {
        c->in_drain = true;
        c->cb.on_drain(c, c->arg);
        c->in_drain = false;
    }
}

static void
on_io(evutil_socket_t fd, short what, void *arg)
{
    struct wsc_conn *c = arg;
    (void)fd;

    if ((what & EV_WRITE) != 0 && c->send_blocked) {
        wsc_conn_flush(c, true);
    }
    if ((what & EV_READ) != 0 && c->send_wants_read) {
        wsc_conn_flush(c, true);
    }
    if (c->phase == PH_DONE) {
        return;
    }
    if (c->read_paused) {
        return; /* until what is queued is sent */
    }
    if ((what & (EV_READ | EV_CLOSED)) != 0 ||
        ((what & EV_WRITE) != 0 && c->recv_wants_write)) {
        c->recv_wants_write = false;
        do_read(c, (what & EV_CLOSED) != 0);
    }
}

/*
 * Makes ev_io wait for what the connection waits for, level-triggered.
 * Not edge-triggered, though a short read proves a TCP socket drained: a
 * reset that comes with the last bytes raises no edge of its own, and
 * libevent reports it (EPOLLERR) as readiness alone, without EV_CLOSED,
 * so that no further wait would ever announce it. Over TCP EV_CLOSED
 * tells a FIN that came with the last bytes (do_read's to_eof).
 */
void
wsc_conn_arm(struct wsc_conn *c)
{
    short flags =
        (short)((c->read_paused && !c->send_wants_read ? 0 : EV_READ) |
                (c->send_blocked || c->recv_wants_write ? EV_WRITE : 0));

    if (c->phase == PH_DONE || c->phase == PH_CONNECT || flags == c->io_flags) {
        return;
    }
    event_del(c->ev_io);
    short closed = c->t->short_read_drains ? EV_CLOSED : 0;
    event_assign(c->ev_io, c->base, c->fd, (short)(flags | EV_PERSIST | closed),
                 on_io, c);
    event_add(c->ev_io, NULL);
    c->io_flags = flags;
}

static uint64_t
after(uint64_t t0, uint64_t ms)
{
    return ms == 0 ? UINT64_MAX : t0 + ms;
}

/* The one deadline of the current phase. */
void
wsc_conn_rearm_timer(struct wsc_conn *c)
{
    const struct wsc_settings *s = c->set;
    uint64_t at = UINT64_MAX;

    switch (c->phase) {
    case PH_CONNECT:
        at = after(c->t_start_ms, s->connect_timeout_ms);
        break;
    case PH_HANDSHAKE:
    case PH_REFUSED:
        at = after(c->t_connected_ms, s->handshake_timeout_ms);
        break;
    case PH_OPEN:
        at = ws_session_state(&c->session) == WS_SESSION_OPEN
                 ? keepalive_deadline(&c->ka, &s->keepalive)
                 : after(c->t_close_ms, s->close_timeout_ms);
        break;
    case PH_DONE:
        return;
    }
    /* Armed for that time already (or for none): most reads change
     * nothing, and leave the timer alone. */
    if (at == c->timer_at) {
        return;
    }
    c->timer_at = at;
    event_del(c->ev_timer);
    if (at != UINT64_MAX) {
        uint64_t now = clock_mono_ms();
        uint64_t ms = at > now ? at - now : 0;
        struct timeval tv = {(time_t)(ms / 1000),
                             (suseconds_t)(ms % 1000 * 1000)};
        evtimer_add(c->ev_timer, &tv);
    }
}

/* The session's deadline: a ping, a pong late, or a close unanswered. */
static void
open_timeout(struct wsc_conn *c, uint64_t now)
{
    const struct wsc_settings *s = c->set;

    if (ws_session_state(&c->session) == WS_SESSION_OPEN) {
        enum keepalive_due due = keepalive_check(&c->ka, &s->keepalive, now);
        uint64_t at;

        /* A server still reading what we queued for it is not silent
         * (transport.h), as in the worker. */
        if ((due == KEEPALIVE_PING || due == KEEPALIVE_PONG_LATE) &&
            transport_peer_took(c->fd, now, &at) && at > c->ka.last_rx_ms) {
            keepalive_heard(&c->ka, at);
            due = keepalive_check(&c->ka, &s->keepalive, now);
        }
        switch (due) {
        case KEEPALIVE_WAIT:
        case KEEPALIVE_IDLE:
            break;
        case KEEPALIVE_PING:
            wsc_conn_ping(c, NULL, 0);
            keepalive_pinged(&c->ka, now);
            break;
        case KEEPALIVE_PONG_LATE:
            stats_record_timeout(&c->rec, STATS_TIMEOUT_PING);
            wsc_conn_outcome(c, WSC_TIMEOUT,
                             "no pong within %llu ms of our ping",
                             (unsigned long long)s->keepalive.pong_timeout_ms);
            wsc_conn_close(c, WS_CLOSE_GOING_AWAY, "ping timeout");
            break;
        }
        wsc_conn_rearm_timer(c);
        return;
    }
    stats_record_timeout(&c->rec, STATS_TIMEOUT_CLOSE);
    if (ws_session_state(&c->session) == WS_SESSION_CLOSING) {
        wsc_conn_outcome(
            c, WSC_TIMEOUT,
            "the server did not answer our close frame within %llu "
            "ms",
            (unsigned long long)s->close_timeout_ms);
        c->record_why = "peer did not respond (in time) in closing "
                        "handshake";
        wsc_conn_finish(c, true, false);
        return;
    }
    wsc_conn_outcome(
        c, WSC_TIMEOUT,
        "the server did not close the TCP connection within %llu ms "
        "of the closing handshake",
        (unsigned long long)s->close_timeout_ms);
    c->record_why = "server did not drop TCP connection in time";
    wsc_conn_finish(c, true, true);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct wsc_conn *c = arg;
    const struct wsc_settings *s = c->set;
    (void)fd;
    (void)what;

    c->timer_at = UINT64_MAX; /* it fired: nothing is armed */
    switch (c->phase) {
    case PH_CONNECT:
        wsc_conn_outcome(c, WSC_TIMEOUT,
                         "no connection to %s:%u within %llu ms", c->url->host,
                         c->url->port,
                         (unsigned long long)s->connect_timeout_ms);
        wsc_conn_finish(c, true, false);
        return;
    case PH_REFUSED:
        /* The answer came, a refusal: that is what ends it, with its
         * body's reason as far as it came, not the time the body took. */
        wsc_conn_refused(c);
        return;
    case PH_HANDSHAKE:
        stats_record_timeout(&c->rec, STATS_TIMEOUT_HANDSHAKE);
        wsc_conn_outcome(c, WSC_TIMEOUT,
                         "no answer to the opening handshake within %llu ms",
                         (unsigned long long)s->handshake_timeout_ms);
        c->record_why = "peer did not finish the opening handshake in time";
        wsc_conn_finish(c, true, false);
        return;
    case PH_OPEN:
        open_timeout(c, clock_mono_ms());
        return;
    case PH_DONE:
        return;
    }
}

/* TCP is up: the transport, the record, and the request. */
static void
connected(struct wsc_conn *c)
{
    const struct wsc_settings *s = c->set;
    uint8_t nonce[WS_HANDSHAKE_NONCE_LEN];
    char offer[160];
    struct ws_error err = {0, NULL};
    int one = 1;

    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->t_connected_ms = clock_mono_ms();
    stats_record_start(&c->rec, s->shm, 0, c->ai->ai_addr, c->ai->ai_addrlen,
                       clock_wall_ms());
    stats_record_client(&c->rec);
    c->recording = true;
    c->phase = PH_HANDSHAKE;
    if (c->url->tls) {
        c->t = &transport_tls;
        c->tctx = transport_tls_client_conn_new(s->tls, c->fd, c->url->host);
    } else {
        c->t = &transport_tcp;
    }
    c->head = evbuffer_new();
    c->request = malloc(REQUEST_MAX);
    if ((c->url->tls && c->tctx == NULL) || c->head == NULL ||
        c->request == NULL) {
        wsc_conn_outcome(c, WSC_UNCLEAN, "out of memory");
        wsc_conn_finish(c, true, false);
        return;
    }
    if (!wsc_random_fill(s->random, nonce, sizeof(nonce))) {
        wsc_conn_outcome(c, WSC_UNCLEAN, "no random numbers for the key");
        wsc_conn_finish(c, true, false);
        return;
    }
    ws_handshake_client_key(nonce, c->key);
    if (s->deflate) {
        ws_deflate_offer_write(&s->offer, offer, sizeof(offer));
    }
    struct ws_client_request req = {
        c->url->host_header, c->url->target, c->key,
        s->origin,           s->protocols,   s->deflate ? offer : NULL,
        s->user_agent,       s->headers,     s->n_headers,
    };
    ssize_t n =
        ws_handshake_client_request(c->request, REQUEST_MAX, &req, &err);
    if (n <= 0) {
        wsc_conn_outcome(c, WSC_UNCLEAN, "cannot write the request: %s",
                         err.reason);
        wsc_conn_finish(c, true, false);
        return;
    }
    c->request_len = (size_t)n;
    stats_record_heads(&c->rec, c->request, c->request_len, NULL, 0);
    struct iovec iov = {c->request, c->request_len};
    if (!wsc_conn_queue(c, &iov, 1)) {
        return;
    }
    c->io_flags = 0;
    wsc_conn_arm(c);
    wsc_conn_rearm_timer(c);
    wsc_conn_flush(c, true);
}

static void try_connect(struct wsc_conn *c);

static void
on_connect(evutil_socket_t fd, short what, void *arg)
{
    struct wsc_conn *c = arg;
    int e = 0;
    socklen_t len = sizeof(e);
    (void)what;

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0) {
        e = errno;
    }
    event_free(c->ev_io);
    c->ev_io = NULL;
    if (e != 0) {
        c->connect_errno = e;
        close(c->fd);
        c->fd = -1;
        c->ai = c->ai->ai_next;
        try_connect(c);
        return;
    }
    c->ev_io = event_new(c->base, c->fd, 0, on_io, c);
    if (c->ev_io == NULL) {
        wsc_conn_outcome(c, WSC_UNCLEAN, "out of memory");
        wsc_conn_finish(c, true, false);
        return;
    }
    connected(c);
}

/* Tries the addresses in turn, from c->ai on. */
static void
try_connect(struct wsc_conn *c)
{
    for (; c->ai != NULL; c->ai = c->ai->ai_next) {
        struct addrinfo *a = c->ai;
        c->fd =
            socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   a->ai_protocol);
        if (c->fd < 0) {
            c->connect_errno = errno;
            continue;
        }
        if (connect(c->fd, a->ai_addr, a->ai_addrlen) == 0 ||
            errno == EINPROGRESS) {
            c->ev_io = event_new(c->base, c->fd, EV_WRITE, on_connect, c);
            if (c->ev_io != NULL && event_add(c->ev_io, NULL) == 0) {
                return;
            }
        }
        c->connect_errno = errno;
        if (c->ev_io != NULL) {
            event_free(c->ev_io);
            c->ev_io = NULL;
        }
        close(c->fd);
        c->fd = -1;
    }
    wsc_conn_outcome(c, WSC_UNCLEAN, "cannot connect to %s port %u: %s",
                     c->url->host, c->url->port, strerror(c->connect_errno));
    wsc_conn_finish(c, true, false);
}

/* Starts the connection from the loop, so that its first callback comes
 * after wsc_conn_start has returned. */
static void
on_start(evutil_socket_t fd, short what, void *arg)
{
    struct wsc_conn *c = arg;
    (void)fd;
    (void)what;

    try_connect(c);
    wsc_conn_rearm_timer(c);
}

struct wsc_conn *
wsc_conn_start(struct event_base *base, const struct wsc_url *url,
               const struct wsc_settings *set, const struct wsc_callbacks *cb,
               void *arg, char *err, size_t errlen)
{
    struct addrinfo hints;
    char port[8];
    struct wsc_conn *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        free(c);
        return NULL;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    snprintf(port, sizeof(port), "%u", url->port);
    int rc = getaddrinfo(url->host, port, &hints, &c->ais);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", url->host,
                 gai_strerror(rc));
        free(c);
        return NULL;
    }
    c->base = base;
    c->set = set;
    c->url = url;
    c->cb = *cb;
    c->arg = arg;
    c->fd = -1;
    c->ai = c->ais;
    c->connect_errno = ECONNREFUSED;
    c->t_start_ms = clock_mono_ms();
    c->timer_at = UINT64_MAX;
    c->ev_timer = evtimer_new(base, on_timer, c);
    if (c->ev_timer == NULL ||
        event_base_once(base, -1, EV_TIMEOUT, on_start, c, NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        wsc_conn_free(c);
        return NULL;
    }
    return c;
}

size_t
wsc_conn_pending(const struct wsc_conn *c)
{
    return output_kept_len(&c->out);
}

const char *
wsc_conn_deflate(const struct wsc_conn *c)
{
    return c->deflate_answer;
}

void
wsc_conn_free(struct wsc_conn *c)
{
    if (c == NULL) {
        return;
    }
    if (c->ev_io != NULL) {
        event_free(c->ev_io);
    }
    if (c->ev_timer != NULL) {
        event_free(c->ev_timer);
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    if (c->t != NULL) {
        c->t->free(c->tctx);
    }
    if (c->session_on) {
        ws_session_clear(&c->session);
    }
    if (c->head != NULL) {
        evbuffer_free(c->head);
    }
    output_kept_drain(&c->out, output_kept_len(&c->out));
    if (c->ais != NULL) {
        freeaddrinfo(c->ais);
    }
    free(c->request);
    free(c);
}
