/* SPDX-License-Identifier: MIT */
/*
 * The protocol of one wsc connection, on the core's calls: the reading of
 * the opening handshake's response (RFC 6455 §4.1; a refusal's body for
 * its reason), the permessage-deflate answer, the session's events in
 * the client's role, and what the caller sends (masked messages, pings,
 * our close). The I/O under it is wsc_conn.c's.
 */
#include "autoconf.h"

#include "wsc_conn_int.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"

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
        keepalive_message(&c->ka);
        c->cb.on_message(c, ev->opcode, ev->data, ev->len, c->arg);
        /* The callback is done with it: a server that falls silent after
         * a large message leaves wsc no copy of it (as wsd's conn.c). */
        ws_session_message_done(&c->session);
        return;
    case WS_EV_PING:
        wsc_conn_queue_control(c, ev->reply, ev->reply_len);
        return;
    case WS_EV_CLOSE:
        stats_record_close_in(&c->rec, ev->close.code, ev->close.has_code,
                              ev->close.reason, ev->close.reason_len);
        c->res.close_code = ev->close.has_code ? ev->close.code : 0;
        wsc_copy_cut(c->res.close_reason, sizeof(c->res.close_reason),
                     ev->close.reason, ev->close.reason_len);
        if (ev->reply_len > 0) {
            stats_record_close_out(&c->rec, ev->close.code, NULL, false);
            wsc_conn_queue_control(c, ev->reply, ev->reply_len);
        }
        c->t_close_ms = clock_mono_ms();
        say_closing(c);
        return;
    case WS_EV_FAIL:
        wsc_conn_outcome(c, WSC_PROTOCOL, "protocol error: %s (closed with %u)",
                         ev->error.reason, ev->error.code);
        if (ev->peer_closed) {
            stats_record_close_in(&c->rec, ev->close.code, ev->close.has_code,
                                  ev->close.reason, ev->close.reason_len);
        }
        if (ev->reply_len > 0) {
            stats_record_close_out(&c->rec, ev->error.code, ev->reason, true);
            wsc_conn_queue_control(c, ev->reply, ev->reply_len);
            c->t_close_ms = clock_mono_ms();
        }
        say_closing(c);
        return;
    }
}

/* Received bytes p[0..n) for the open session. */
void
wsc_conn_feed(struct wsc_conn *c, uint8_t *p, size_t n)
{
    while (n > 0 && c->phase == PH_OPEN) {
        struct ws_event ev;
        size_t used = ws_session_feed(&c->session, p, n, &ev);
        stats_record_feed(&c->rec, &ev);
        on_event(c, &ev);
        p += used;
        n -= used;
    }
}

/*
 * The refusal's body as far as it came, BODY_MAX bytes at most, in
 * *b[0..*n): of a chunked body, from its first chunk's data on (RFC 9112
 * §7.1: the first line is the chunk's size), so that it begins with the
 * text the server wrote.
 */
static void
refusal_body(struct wsc_conn *c, const char **b, size_t *n)
{
    size_t len = evbuffer_get_length(c->head);
    const char *p = (const char *)evbuffer_pullup(c->head, -1);
    size_t body = p != NULL && len > c->head_len ? len - c->head_len : 0;

    *b = p != NULL ? p + c->head_len : "";
    if (body > BODY_MAX) {
        body = BODY_MAX;
    }
    if (c->resp.chunked) {
        const char *lf = memchr(*b, '\n', body);
        size_t size_line = lf != NULL ? (size_t)(lf - *b) + 1 : body;
        *b += size_line;
        body -= size_line;
    }
    *n = body;
}

/* The refusal's body, as far as it came: its first line names why. */
void
wsc_conn_refused(struct wsc_conn *c)
{
    const char *b;
    size_t body;
    size_t line = 0;

    refusal_body(c, &b, &body);
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
    wsc_conn_outcome(c, WSC_REFUSED, "handshake refused: HTTP %u %s",
                     c->resp.status, k > 0 ? text : "(no reason given)");
    c->record_why = "handshake refused";
    wsc_conn_finish(c, true, false);
}

/* Whether the refusal's body has come as far as wsc_conn_refused reads
 * it: all it waits for, or its first line whole, which is all it shows
 * (a keep-alive server need not end the body soon, or ever). */
static bool
refusal_told(struct wsc_conn *c)
{
    const char *b;
    size_t n;

    if (evbuffer_get_length(c->head) - c->head_len >= c->body_need) {
        return true;
    }
    refusal_body(c, &b, &n);
    return memchr(b, '\n', n) != NULL;
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
    struct ws_handshake_config cfg = {
        path, REQUEST_MAX, (unsigned)(16 + c->set->n_headers), NULL, NULL};
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
            wsc_conn_outcome(c, WSC_REFUSED, "handshake failed: %s",
                             err.reason);
            c->record_why = "handshake failed";
            record_handshake(c, 101, NULL);
            wsc_conn_finish(c, true, false);
            return;
        }
        if (rc == 1) {
            struct ws_span e = c->resp.extensions[0];
            wsc_copy_cut(c->deflate_answer, sizeof(c->deflate_answer), e.p,
                         e.len);
        }
    }
    c->masks = (struct ws_mask_source){wsc_conn_fill_mask, c->set->random};
    ws_session_init_client(&c->session, &c->set->session_cfg, &c->masks);
    if (c->set->receive_after_close) {
        ws_session_receive_after_close(&c->session);
    }
    if (rc == 1 &&
        !ws_session_use_deflate(&c->session, &c->set->deflate_cfg, &params)) {
        /* The server compresses from now on: no session without it. */
        ws_session_clear(&c->session);
        wsc_conn_outcome(c, WSC_UNCLEAN,
                         "out of memory for permessage-deflate");
        c->record_why = "out of memory";
        record_handshake(c, 101, c->deflate_answer);
        wsc_conn_finish(c, true, false);
        return;
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
    wsc_conn_rearm_timer(c);
    /* What came with the 101 came first: it is read before the caller
     * sends anything (it may be the server's close, or a failure). */
    wsc_conn_feed(c, rest, n);
    if (c->phase == PH_OPEN &&
        ws_session_state(&c->session) == WS_SESSION_OPEN) {
        c->cb.on_open(c, c->arg);
    }
}

/* Bytes of the response while the handshake runs. */
void
wsc_conn_handshake_bytes(struct wsc_conn *c, const uint8_t *p, size_t n)
{
    struct ws_error err = {0, NULL};

    if (evbuffer_add(c->head, p, n) != 0) {
        wsc_conn_outcome(c, WSC_UNCLEAN, "out of memory");
        wsc_conn_finish(c, true, false);
        return;
    }
    size_t len = evbuffer_get_length(c->head);
    if (c->phase == PH_REFUSED) {
        if (refusal_told(c)) {
            wsc_conn_refused(c);
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
        wsc_conn_outcome(c, WSC_REFUSED, "handshake failed: %s", err.reason);
        c->record_why = "handshake failed";
        stats_record_heads(&c->rec, NULL, 0, buf, len);
        record_handshake(c, 0, NULL);
        wsc_conn_finish(c, true, false);
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
            if (refusal_told(c)) {
                wsc_conn_refused(c);
            }
            return;
        }
        wsc_conn_outcome(c, WSC_REFUSED, "handshake failed: %s", err.reason);
        c->record_why = "handshake failed";
        record_handshake(c, 101, NULL);
        wsc_conn_finish(c, true, false);
        return;
    }
    /* What came after the head is the session's, read where it lies (the
     * session keeps no pointer into its input). The head stays until the
     * session is open: the response's spans (its extensions) point into
     * it. */
    open_session(c, (uint8_t *)buf + c->head_len, len - c->head_len);
    evbuffer_free(c->head);
    c->head = NULL;
}

/* The server closed its side. */
void
wsc_conn_peer_eof(struct wsc_conn *c)
{
    switch (c->phase) {
    case PH_HANDSHAKE:
        wsc_conn_outcome(c, WSC_REFUSED,
                         "handshake failed: the server closed the connection "
                         "without an answer");
        c->record_why = "the server closed without an answer";
        break;
    case PH_REFUSED:
        wsc_conn_refused(c);
        return;
    case PH_OPEN:
        if (ws_session_state(&c->session) == WS_SESSION_CLOSED &&
            c->rec.close_sent && c->rec.close_received) {
            wsc_conn_outcome(c, WSC_CLEAN, "%s", "");
        } else if (c->rec.close_sent) {
            wsc_conn_outcome(
                c, WSC_UNCLEAN,
                "the server closed TCP without answering our close "
                "frame");
            c->record_why = "the server closed TCP without a close frame";
        } else {
            wsc_conn_outcome(c, WSC_UNCLEAN,
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
    wsc_conn_finish(c, false, false);
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
    struct output_buf *zbuf = c->set->scratch;
    /* The frame goes out as one span: the payload (masked, or
     * compressed and masked) lands after room for the longest header,
     * and the header is put right before it. */
    if (!output_buf_reserve(zbuf, WS_FRAME_HEADER_MAX + bound) ||
        !ws_session_message(&c->session, opcode, p, len,
                            zbuf->p + WS_FRAME_HEADER_MAX, bound, &m)) {
        return false;
    }
    stats_record_message_sent(&c->rec, &m, len);
    struct iovec iov[2] = {{m.hdr, m.hdr_len},
                           {(void *)(uintptr_t)m.payload, m.payload_len}};
    int n = m.payload_len > 0 ? 2 : 1;
    if (m.payload == zbuf->p + WS_FRAME_HEADER_MAX) {
        uint8_t *frame = zbuf->p + WS_FRAME_HEADER_MAX - m.hdr_len;
        memcpy(frame, m.hdr, m.hdr_len);
        iov[0] = (struct iovec){frame, m.hdr_len + m.payload_len};
        n = 1;
    }
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
            wsc_conn_io_failed(c, "write");
            return false;
        }
    }
    if (sent < m.hdr_len + m.payload_len) {
        if (!output_keep(&c->out, iov, n, sent)) {
            wsc_conn_outcome(c, WSC_UNCLEAN, "out of memory");
            wsc_conn_finish(c, true, false);
            return false;
        }
        wsc_conn_kept(c, m.hdr_len + m.payload_len - sent);
    }
    output_buf_trim(zbuf);
    if (output_kept_len(&c->out) > 0 && !c->send_blocked &&
        !c->send_wants_read) {
        wsc_conn_flush(c, false);
    } else {
        wsc_conn_arm(c);
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
    wsc_conn_fill_mask(c->set->random, key);
    ssize_t h = ws_frame_header_encode(frame, sizeof(frame), true, 0,
                                       WS_OP_PING, len, key);
    if (h <= 0) {
        return false;
    }
    if (len > 0) {
        memcpy(frame + h, p, len);
        ws_frame_mask(frame + h, len, key, 0);
    }
    if (!wsc_conn_queue_control(c, frame, (size_t)h + len)) {
        return false;
    }
    wsc_conn_flush(c, false);
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
    if (!wsc_conn_queue_control(c, ev.reply, ev.reply_len)) {
        return false;
    }
    wsc_conn_flush(c, false);
    if (c->phase != PH_DONE) {
        wsc_conn_rearm_timer(c);
    }
    return true;
}
