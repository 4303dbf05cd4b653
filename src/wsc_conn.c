/* SPDX-License-Identifier: MIT */
/*
 * One connection of wsc: connect, the opening handshake (RFC 6455 §4.1),
 * the session in the client's role, the close (§7.1: the client waits
 * for the server to close TCP), and the record of it all. The protocol is
 * the core's (ws_handshake_client, ws_session, ws_deflate); the bytes go
 * through struct transport, TCP or TLS; this file does the I/O, the
 * timers and the bookkeeping between them.
 */
#include "autoconf.h"

#include "wsc_conn.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "clock.h"
#include "output.h"
#include "transport.h"
#include "transport_tls.h"
#include "ws_handshake_client.h"

#define RBUF_BYTES     (256 * 1024)
#define HEAD_MAX       (16 * 1024) /* a response head */
#define BODY_MAX       4096        /* of a refusal's body, what we read */
#define REQUEST_MAX    (16 * 1024)
#define READS_PER_TURN 16

enum phase {
    PH_CONNECT,   /* TCP connecting */
    PH_HANDSHAKE, /* request sent (or going), response awaited */
    PH_REFUSED,   /* a refusal's head read; reading its body */
    PH_OPEN,      /* the session runs (through its close) */
    PH_DONE,
};

struct wsc_conn {
    struct event_base *base;
    const struct wsc_settings *set;
    const struct wsc_url *url;
    struct wsc_callbacks cb;
    void *arg;
    struct addrinfo *ais;
    struct addrinfo *ai; /* the address being tried */
    int fd;
    int connect_errno; /* the last address's refusal */
    const struct transport *t;
    void *tctx;
    struct event *ev_io;
    short io_flags;
    struct event *ev_timer;
    enum phase phase;
    bool send_blocked;     /* a send would block: wait for writability */
    bool send_wants_read;  /* TLS: a send needs the peer's records first */
    bool recv_wants_write; /* TLS: a recv needs to send a record first */
    bool recording;        /* stats_record_start was called */
    bool in_drain;         /* inside cb.on_drain */
    bool closing_said;     /* cb.on_closing was called */
    uint64_t t_start_ms;   /* monotonic: the connection's start */
    uint64_t t_connected_ms;
    uint64_t t_close_ms; /* our close sent, or the closing handshake over */
    char key[WS_HANDSHAKE_KEY_LEN + 1];
    char *request;
    size_t request_len;
    struct evbuffer *head; /* the response as read, until the session */
    struct ws_handshake_response resp;
    size_t head_len;
    size_t body_need; /* a refusal's body bytes to read */
    struct ws_session session;
    bool session_on;
    char deflate_answer[STATS_EXT_MAX];
    struct output out;
    struct output_buf zbuf; /* framed, masked payloads */
    uint8_t *rbuf;
    struct stats_record rec;
    struct keepalive ka;
    const char *record_why; /* why the record is not clean; NULL: it is */
    bool outcome_set;
    struct wsc_result res;
};

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
static void
fill_mask(void *ctx, uint8_t key[4])
{
    if (!wsc_random_fill(ctx, key, 4)) {
        fputs("wsc: the operating system gives no random numbers\n", stderr);
        abort();
    }
}

/* p[0..n) as a string in dst[0..cap), cut to fit. */
static void
copy_cut(char *dst, size_t cap, const void *p, size_t n)
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
static void __attribute__((format(printf, 3, 4)))
set_outcome(struct wsc_conn *c, enum wsc_outcome o, const char *fmt, ...)
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

static void arm(struct wsc_conn *c);
static void rearm_timer(struct wsc_conn *c);
static void flush(struct wsc_conn *c, bool from_loop);

/*
 * The connection is over: the record finished, the socket closed, the
 * caller told. dropped_by_me: we close TCP first (a timeout, a failure);
 * else the server did.
 */
static void
finish(struct wsc_conn *c, bool dropped_by_me, bool server_drop_timeout)
{
    if (c->phase == PH_DONE) {
        return;
    }
    bool was_connecting = c->phase == PH_CONNECT;
    c->phase = PH_DONE;
    if (!c->outcome_set) {
        set_outcome(c, WSC_UNCLEAN, "the connection ended");
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

static void peer_eof(struct wsc_conn *c);

/* A transport call failed (WSD_IO_ERROR): TLS says why, else errno. */
static void
io_failed(struct wsc_conn *c, const char *what)
{
    int e = errno;

    /* A server may end TCP with a reset once the closing handshake is
     * over (the Autobahn testsuite's does): it closed TCP first all the
     * same. */
    if (e == ECONNRESET && c->phase == PH_OPEN &&
        ws_session_state(&c->session) == WS_SESSION_CLOSED) {
        peer_eof(c);
        return;
    }

    if (c->url->tls && c->tctx != NULL && c->phase == PH_HANDSHAKE) {
        const char *v = transport_tls_verify_error(c->tctx);
        if (v != NULL) {
            set_outcome(c, WSC_TLS,
                        "TLS: the server's certificate is refused: "
                        "%s (host %s)",
                        v, c->url->host);
        } else {
            set_outcome(c, WSC_TLS, "TLS handshake failed: %s",
                        c->set->tls->last_reason[0] != '\0'
                            ? c->set->tls->last_reason
                            : strerror(e));
        }
    } else {
        set_outcome(c, WSC_UNCLEAN, "%s: %s", what, strerror(e));
    }
    if (c->record_why == NULL) {
        c->record_why = "connection lost (read or write failed)";
    }
    finish(c, true, false);
}

/* Queues bytes behind what waits already; false: out of memory (ended). */
static bool
queue(struct wsc_conn *c, const struct iovec *iov, int n)
{
    if (!output_keep(&c->out, iov, n, 0)) {
        set_outcome(c, WSC_UNCLEAN, "out of memory");
        finish(c, true, false);
        return false;
    }
    return true;
}

/* Queues one of our control frames (a pong, a close) and records it. */
static bool
queue_control(struct wsc_conn *c, uint8_t *frame, size_t len)
{
    struct iovec iov = {frame, len};

    stats_record_control_out(&c->rec, frame, len);
    return queue(c, &iov, 1);
}

static void
say_closing(struct wsc_conn *c)
{
    if (!c->closing_said) {
        c->closing_said = true;
        if (c->cb.on_closing != NULL) {
            c->cb.on_closing(c, c->arg);
        }
    }
}

/* One event of the session (ws_session_feed's). */
static void
on_event(struct wsc_conn *c, struct ws_event *ev)
{
    switch (ev->type) {
    case WS_EV_NONE:
    case WS_EV_PONG:
        return;
    case WS_EV_MESSAGE:
        stats_record_message_in(&c->rec, ev->len);
        keepalive_message(&c->ka);
        c->cb.on_message(c, ev->opcode, ev->data, ev->len, c->arg);
        return;
    case WS_EV_PING:
        queue_control(c, ev->reply, ev->reply_len);
        return;
    case WS_EV_CLOSE:
        stats_record_close_in(&c->rec, ev->close.code, ev->close.has_code,
                              ev->close.reason, ev->close.reason_len);
        c->res.close_code = ev->close.has_code ? ev->close.code : 0;
        copy_cut(c->res.close_reason, sizeof(c->res.close_reason),
                 ev->close.reason, ev->close.reason_len);
        if (ev->reply_len > 0) {
            stats_record_close_out(&c->rec, ev->close.code, NULL, false);
            queue_control(c, ev->reply, ev->reply_len);
        }
        c->t_close_ms = clock_mono_ms();
        say_closing(c);
        return;
    case WS_EV_FAIL:
        set_outcome(c, WSC_PROTOCOL, "protocol error: %s (closed with %u)",
                    ev->error.reason, ev->error.code);
        if (ev->peer_closed) {
            stats_record_close_in(&c->rec, ev->close.code, ev->close.has_code,
                                  ev->close.reason, ev->close.reason_len);
        }
        if (ev->reply_len > 0) {
            stats_record_close_out(&c->rec, ev->error.code, ev->reason, true);
            queue_control(c, ev->reply, ev->reply_len);
            c->t_close_ms = clock_mono_ms();
        }
        say_closing(c);
        return;
    }
}

/* Received bytes p[0..n) for the open session. */
static void
feed(struct wsc_conn *c, uint8_t *p, size_t n)
{
    while (n > 0 && c->phase == PH_OPEN) {
        struct ws_event ev;
        size_t used = ws_session_feed(&c->session, p, n, &ev);
        if (ev.has_frame) {
            stats_record_frame_in(&c->rec, &ev.frame, ev.frame_discarded);
        }
        if (ev.frame_data != NULL) {
            stats_record_frame_data(&c->rec, ev.frame_data, ev.frame_data_len,
                                    ev.frame_data_pos);
        }
        on_event(c, &ev);
        p += used;
        n -= used;
    }
}

/* The refusal's body, as far as it came: its first line names why. */
static void
refused(struct wsc_conn *c)
{
    size_t len = evbuffer_get_length(c->head);
    const char *p = (const char *)evbuffer_pullup(c->head, -1);
    size_t body = len > c->head_len ? len - c->head_len : 0;
    const char *b = p != NULL ? p + c->head_len : "";
    size_t line = 0;

    if (body > BODY_MAX) {
        body = BODY_MAX;
    }
    while (line < body && b[line] != '\n' && b[line] != '\r') {
        line++;
    }
    char text[256];
    size_t k = 0;
    for (size_t i = 0; i < line && k + 1 < sizeof(text); i++) {
        unsigned char ch = (unsigned char)b[i];
        text[k++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    text[k] = '\0';
    set_outcome(c, WSC_REFUSED, "handshake refused: HTTP %u %s", c->resp.status,
                k > 0 ? text : "(no reason given)");
    c->record_why = "handshake refused";
    finish(c, true, false);
}

/* The path of our target (up to '?'), for reading our own request. */
static void
target_path(const char *target, char *out, size_t cap)
{
    size_t n = strcspn(target, "?");
    snprintf(out, cap, "%.*s", (int)n, target);
}

/*
 * The record's view of the handshake: our request read back by the
 * server's own parser (the record keeps the request's fields, whoever
 * wrote it), and the status and extension the server answered.
 */
static void
record_handshake(struct wsc_conn *c, unsigned status, const char *answer)
{
    char path[WSC_URL_TARGET_MAX];
    struct ws_handshake_request req;
    struct ws_error err = {0, NULL};

    target_path(c->url->target, path, sizeof(path));
    struct ws_handshake_config cfg = {path, REQUEST_MAX,
                                      (unsigned)(16 + c->set->n_headers)};
    memset(&req, 0, sizeof(req));
    bool parsed =
        ws_handshake_parse(&req, c->request, c->request_len, &cfg, &err) > 0;
    stats_record_handshake(&c->rec, status, parsed ? &req : NULL, answer);
}

/* The 101 checked: the session starts. rest[0..n) came after the head. */
static void
open_session(struct wsc_conn *c, uint8_t *rest, size_t n)
{
    struct ws_deflate_params params;
    struct ws_error err = {0, NULL};
    int rc = 0;

    if (c->set->deflate) {
        rc = ws_deflate_accept(&c->set->offer, c->resp.extensions,
                               c->resp.n_extensions, &params, &err);
        if (rc == WS_FAIL) {
            set_outcome(c, WSC_REFUSED, "handshake failed: %s", err.reason);
            c->record_why = "handshake failed";
            record_handshake(c, 101, NULL);
            finish(c, true, false);
            return;
        }
        if (rc == 1) {
            struct ws_span e = c->resp.extensions[0];
            copy_cut(c->deflate_answer, sizeof(c->deflate_answer), e.p, e.len);
        }
    }
    struct ws_mask_source masks = {fill_mask, c->set->random};
    ws_session_init_client(&c->session, &c->set->session_cfg, &masks);
    if (c->set->receive_after_close) {
        ws_session_receive_after_close(&c->session);
    }
    if (rc == 1) {
        ws_session_use_deflate(&c->session, &c->set->deflate_cfg, &params);
    }
    c->session_on = true;
    record_handshake(c, 101, rc == 1 ? c->deflate_answer : NULL);
    char version[32];
    char cipher[64];
    if (c->t->describe(c->tctx, version, sizeof(version), cipher,
                       sizeof(cipher))) {
        stats_record_tls(&c->rec, version, cipher);
    }
    c->phase = PH_OPEN;
    keepalive_start(&c->ka, clock_mono_ms());
    rearm_timer(c);
    /* What came with the 101 came first: it is read before the caller
     * sends anything (it may be the server's close, or a failure). */
    feed(c, rest, n);
    if (c->phase == PH_OPEN &&
        ws_session_state(&c->session) == WS_SESSION_OPEN) {
        c->cb.on_open(c, c->arg);
    }
}

/* Bytes of the response while the handshake runs. */
static void
handshake_bytes(struct wsc_conn *c, const uint8_t *p, size_t n)
{
    struct ws_error err = {0, NULL};

    if (evbuffer_add(c->head, p, n) != 0) {
        set_outcome(c, WSC_UNCLEAN, "out of memory");
        finish(c, true, false);
        return;
    }
    size_t len = evbuffer_get_length(c->head);
    if (c->phase == PH_REFUSED) {
        if (len >= c->head_len + c->body_need) {
            refused(c);
        }
        return;
    }
    char *buf = (char *)evbuffer_pullup(c->head, -1);
    ssize_t head =
        ws_handshake_response_parse(&c->resp, buf, len, HEAD_MAX, &err);
    if (head == WS_AGAIN) {
        return;
    }
    if (head == WS_FAIL) {
        set_outcome(c, WSC_REFUSED, "handshake failed: %s", err.reason);
        c->record_why = "handshake failed";
        stats_record_heads(&c->rec, NULL, 0, buf, len);
        record_handshake(c, 0, NULL);
        finish(c, true, false);
        return;
    }
    c->head_len = (size_t)head;
    stats_record_heads(&c->rec, NULL, 0, buf, c->head_len);
    struct ws_handshake_expect e = {c->key, c->set->protocols, c->set->deflate};
    if (ws_handshake_response_check(&c->resp, &e, &err) != 0) {
        if (c->resp.status != 101) {
            record_handshake(c, c->resp.status, NULL);
            c->phase = PH_REFUSED;
            c->body_need =
                c->resp.has_content_length && c->resp.content_length < BODY_MAX
                    ? (size_t)c->resp.content_length
                    : BODY_MAX;
            if (len >= c->head_len + c->body_need) {
                refused(c);
            }
            return;
        }
        set_outcome(c, WSC_REFUSED, "handshake failed: %s", err.reason);
        c->record_why = "handshake failed";
        record_handshake(c, 101, NULL);
        finish(c, true, false);
        return;
    }
    /* What came after the head is the session's: out of the buffer,
     * which the session may not keep pointers into. The head itself
     * stays until the session is open: the response's spans (its
     * extensions) point into it. */
    size_t rest = len - c->head_len;
    memcpy(c->rbuf, buf + c->head_len, rest);
    open_session(c, c->rbuf, rest);
    evbuffer_free(c->head);
    c->head = NULL;
}

/* The server closed its side. */
static void
peer_eof(struct wsc_conn *c)
{
    switch (c->phase) {
    case PH_HANDSHAKE:
        set_outcome(c, WSC_REFUSED,
                    "handshake failed: the server closed the connection "
                    "without an answer");
        c->record_why = "the server closed without an answer";
        break;
    case PH_REFUSED:
        refused(c);
        return;
    case PH_OPEN:
        if (ws_session_state(&c->session) == WS_SESSION_CLOSED &&
            c->rec.close_sent && c->rec.close_received) {
            set_outcome(c, WSC_CLEAN, "%s", "");
        } else if (c->rec.close_sent) {
            set_outcome(c, WSC_UNCLEAN,
                        "the server closed TCP without answering our close "
                        "frame");
            c->record_why = "the server closed TCP without a close frame";
        } else {
            set_outcome(c, WSC_UNCLEAN,
                        "the server dropped the TCP connection without a "
                        "closing handshake");
            c->record_why = "peer dropped the TCP connection without "
                            "previous WebSocket closing handshake";
        }
        break;
    case PH_CONNECT:
    case PH_DONE:
        break;
    }
    finish(c, false, false);
}

/* Reads what the socket has, a bounded number of times per turn. */
static void
do_read(struct wsc_conn *c)
{
    for (int i = 0; i < READS_PER_TURN && c->phase != PH_DONE; i++) {
        ssize_t n = c->t->recv(c->tctx, c->fd, c->rbuf, RBUF_BYTES);
        if (n > 0) {
            stats_record_read(&c->rec, c->rbuf, (size_t)n);
            keepalive_heard(&c->ka, clock_mono_ms());
            if (c->phase == PH_OPEN) {
                feed(c, c->rbuf, (size_t)n);
            } else {
                handshake_bytes(c, c->rbuf, (size_t)n);
            }
            if ((size_t)n < RBUF_BYTES) {
                break; /* drained for now: readiness says when there is
                          more, without a read that finds nothing */
            }
            continue;
        }
        if (n == WSD_IO_EOF) {
            peer_eof(c);
            return;
        }
        if (n == WSD_IO_WANT_WRITE) {
            c->recv_wants_write = true;
            break;
        }
        if (n != WSD_IO_AGAIN) {
            io_failed(c, "read");
            return;
        }
        break;
    }
    if (c->phase == PH_DONE) {
        return;
    }
    flush(c, true);
    if (c->phase != PH_DONE) {
        rearm_timer(c);
        if (c->t->has_pending(c->tctx)) {
            event_active(c->ev_io, EV_READ, 0);
        }
    }
}

/*
 * Sends what is queued. from_loop: called from the loop's own events
 * (not from a call of the caller's), so cb.on_drain may send more.
 */
static void
flush(struct wsc_conn *c, bool from_loop)
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
            arm(c);
            return;
        }
        io_failed(c, "write");
        return;
    }
    if (c->phase == PH_DONE) {
        return;
    }
    c->send_blocked = false;
    c->send_wants_read = false;
    arm(c);
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
        flush(c, true);
    }
    if ((what & EV_READ) != 0 && c->send_wants_read) {
        flush(c, true);
    }
    if (c->phase == PH_DONE) {
        return;
    }
    if ((what & EV_READ) != 0 ||
        ((what & EV_WRITE) != 0 && c->recv_wants_write)) {
        c->recv_wants_write = false;
        do_read(c);
    }
}

/* Makes ev_io wait for what the connection waits for. */
static void
arm(struct wsc_conn *c)
{
    short flags =
        (short)(EV_READ |
                (c->send_blocked || c->recv_wants_write ? EV_WRITE : 0));

    if (c->phase == PH_DONE || c->phase == PH_CONNECT || flags == c->io_flags) {
        return;
    }
    event_del(c->ev_io);
    event_assign(c->ev_io, c->base, c->fd, (short)(flags | EV_PERSIST), on_io,
                 c);
    event_add(c->ev_io, NULL);
    c->io_flags = flags;
}

static uint64_t
after(uint64_t t0, uint64_t ms)
{
    return ms == 0 ? UINT64_MAX : t0 + ms;
}

/* The one deadline of the current phase. */
static void
rearm_timer(struct wsc_conn *c)
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
        switch (keepalive_check(&c->ka, &s->keepalive, now)) {
        case KEEPALIVE_WAIT:
        case KEEPALIVE_IDLE:
            break;
        case KEEPALIVE_PING:
            wsc_conn_ping(c, NULL, 0);
            keepalive_pinged(&c->ka, now);
            break;
        case KEEPALIVE_PONG_LATE:
            stats_record_timeout(&c->rec, STATS_TIMEOUT_PING);
            set_outcome(c, WSC_TIMEOUT, "no pong within %llu ms of our ping",
                        (unsigned long long)s->keepalive.pong_timeout_ms);
            wsc_conn_close(c, WS_CLOSE_GOING_AWAY, "ping timeout");
            break;
        }
        rearm_timer(c);
        return;
    }
    stats_record_timeout(&c->rec, STATS_TIMEOUT_CLOSE);
    if (ws_session_state(&c->session) == WS_SESSION_CLOSING) {
        set_outcome(c, WSC_TIMEOUT,
                    "the server did not answer our close frame within %llu "
                    "ms",
                    (unsigned long long)s->close_timeout_ms);
        c->record_why = "peer did not respond (in time) in closing "
                        "handshake";
        finish(c, true, false);
        return;
    }
    set_outcome(c, WSC_TIMEOUT,
                "the server did not close the TCP connection within %llu ms "
                "of the closing handshake",
                (unsigned long long)s->close_timeout_ms);
    c->record_why = "server did not drop TCP connection in time";
    finish(c, true, true);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct wsc_conn *c = arg;
    const struct wsc_settings *s = c->set;
    (void)fd;
    (void)what;

    switch (c->phase) {
    case PH_CONNECT:
        set_outcome(c, WSC_TIMEOUT, "no connection to %s:%u within %llu ms",
                    c->url->host, c->url->port,
                    (unsigned long long)s->connect_timeout_ms);
        finish(c, true, false);
        return;
    case PH_HANDSHAKE:
    case PH_REFUSED:
        stats_record_timeout(&c->rec, STATS_TIMEOUT_HANDSHAKE);
        set_outcome(c, WSC_TIMEOUT,
                    "no answer to the opening handshake within %llu ms",
                    (unsigned long long)s->handshake_timeout_ms);
        c->record_why = "peer did not finish the opening handshake in time";
        finish(c, true, false);
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
        set_outcome(c, WSC_UNCLEAN, "out of memory");
        finish(c, true, false);
        return;
    }
    if (!wsc_random_fill(s->random, nonce, sizeof(nonce))) {
        set_outcome(c, WSC_UNCLEAN, "no random numbers for the key");
        finish(c, true, false);
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
        set_outcome(c, WSC_UNCLEAN, "cannot write the request: %s", err.reason);
        finish(c, true, false);
        return;
    }
    c->request_len = (size_t)n;
    stats_record_heads(&c->rec, c->request, c->request_len, NULL, 0);
    struct iovec iov = {c->request, c->request_len};
    if (!queue(c, &iov, 1)) {
        return;
    }
    c->io_flags = 0;
    arm(c);
    rearm_timer(c);
    flush(c, true);
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
        set_outcome(c, WSC_UNCLEAN, "out of memory");
        finish(c, true, false);
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
    set_outcome(c, WSC_UNCLEAN, "cannot connect to %s port %u: %s",
                c->url->host, c->url->port, strerror(c->connect_errno));
    finish(c, true, false);
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
    rearm_timer(c);
}

struct wsc_conn *
wsc_conn_start(struct event_base *base, const struct wsc_url *url,
               const struct wsc_settings *set, const struct wsc_callbacks *cb,
               void *arg, char *err, size_t errlen)
{
    struct addrinfo hints;
    char port[8];
    struct wsc_conn *c = calloc(1, sizeof(*c));

    if (c == NULL || (c->rbuf = malloc(RBUF_BYTES)) == NULL) {
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
        free(c->rbuf);
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
    c->ev_timer = evtimer_new(base, on_timer, c);
    if (c->ev_timer == NULL ||
        event_base_once(base, -1, EV_TIMEOUT, on_start, c, NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        wsc_conn_free(c);
        return NULL;
    }
    return c;
}

bool
wsc_conn_send(struct wsc_conn *c, uint8_t opcode, const uint8_t *p, size_t len)
{
    struct ws_out_message m;

    if (c->phase != PH_OPEN ||
        ws_session_state(&c->session) != WS_SESSION_OPEN) {
        return false;
    }
    size_t bound = ws_session_message_bound(&c->session, len);
    if (!output_buf_reserve(&c->zbuf, bound > 0 ? bound : 1) ||
        !ws_session_message(&c->session, opcode, p, len, c->zbuf.p, bound,
                            &m)) {
        return false;
    }
    const uint8_t *key = m.hdr + m.hdr_len - 4;
    stats_record_frame_out(&c->rec, m.hdr[0], m.payload_len, m.payload,
                           m.payload_len, key);
    stats_record_message_out(&c->rec, len, m.compressed, m.payload_len);
    struct iovec iov[2] = {{m.hdr, m.hdr_len},
                           {(void *)(uintptr_t)m.payload, m.payload_len}};
    int n = m.payload_len > 0 ? 2 : 1;
    size_t sent = 0;
    /* Nothing waits: straight from where the frame lies. */
    if (output_kept_len(&c->out) == 0 && !c->send_blocked &&
        !c->send_wants_read) {
        ssize_t r = c->t->send(c->tctx, c->fd, iov, n);
        if (r > 0) {
            stats_record_written(&c->rec, iov, n, (size_t)r);
            sent = (size_t)r;
        } else if (r == WSD_IO_AGAIN || r == WSD_IO_WANT_READ) {
            c->send_blocked = r == WSD_IO_AGAIN;
            c->send_wants_read = r == WSD_IO_WANT_READ;
        } else {
            io_failed(c, "write");
            return false;
        }
    }
    if (sent < m.hdr_len + m.payload_len &&
        !output_keep(&c->out, iov, n, sent)) {
        set_outcome(c, WSC_UNCLEAN, "out of memory");
        finish(c, true, false);
        return false;
    }
    output_buf_trim(&c->zbuf);
    if (output_kept_len(&c->out) > 0 && !c->send_blocked &&
        !c->send_wants_read) {
        flush(c, false);
    } else {
        arm(c);
    }
    return c->phase == PH_OPEN;
}

bool
wsc_conn_ping(struct wsc_conn *c, const uint8_t *p, size_t len)
{
    uint8_t frame[WS_SESSION_REPLY_MAX];
    uint8_t key[4];

    if (c->phase != PH_OPEN ||
        ws_session_state(&c->session) != WS_SESSION_OPEN ||
        len > WS_CONTROL_PAYLOAD_MAX) {
        return false;
    }
    fill_mask(c->set->random, key);
    ssize_t h = ws_frame_header_encode(frame, sizeof(frame), true, 0,
                                       WS_OP_PING, len, key);
    if (h <= 0) {
        return false;
    }
    if (len > 0) {
        memcpy(frame + h, p, len);
        ws_frame_mask(frame + h, len, key, 0);
    }
    if (!queue_control(c, frame, (size_t)h + len)) {
        return false;
    }
    flush(c, false);
    return c->phase == PH_OPEN;
}

bool
wsc_conn_close(struct wsc_conn *c, uint16_t code, const char *reason)
{
    struct ws_event ev;

    if (c->phase != PH_OPEN ||
        !ws_session_close(&c->session, code, reason, &ev)) {
        return false;
    }
    stats_record_close_out(&c->rec, code, reason, false);
    c->t_close_ms = clock_mono_ms();
    if (!queue_control(c, ev.reply, ev.reply_len)) {
        return false;
    }
    flush(c, false);
    if (c->phase != PH_DONE) {
        rearm_timer(c);
    }
    return true;
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
    output_buf_free(&c->zbuf);
    if (c->ais != NULL) {
        freeaddrinfo(c->ais);
    }
    free(c->request);
    free(c->rbuf);
    free(c);
}
