/* SPDX-License-Identifier: MIT */
/*
 * A connection's opening handshake: the request read into a buffer that
 * grows to max_handshake_bytes, parsed by the core (ws_handshake.h), and
 * answered with 101 and the negotiated permessage-deflate, or refused
 * with the status the core chose (conn_int.h). A client that speaks the
 * other protocol of its port is answered at its first bytes, in its own:
 * TLS on the ws:// port with a TLS alert, plain HTTP on the wss:// port
 * with a 400 in the clear.
 */
#include "autoconf.h"

#include "conn_int.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "transport.h"

void
conn_record_transport(struct conn *c)
{
    char version[16];
    char cipher[48];

    if (c->tctx != NULL && !c->rec.tls &&
        c->t->describe(c->tctx, version, sizeof(version), cipher,
                       sizeof(cipher))) {
        stats_record_tls(&c->rec, version, cipher);
    }
}

/* The length of the HTTP head in buf[0..len): through its empty line,
 * or all of it (one that never ended). */
static size_t
head_len(const char *buf, size_t len)
{
    size_t scanned = 0;
    size_t end;

    return ws_http_find_end(&scanned, buf, len, len, &end) ? end : len;
}

void
conn_record_refusal(struct conn *c, const char *resp, size_t n)
{
    const char *req = c->hs != NULL ? c->hs->buf : NULL;
    size_t req_len = c->hs != NULL ? head_len(c->hs->buf, c->hs->len) : 0;

    stats_record_heads(&c->rec, req, req_len, resp, head_len(resp, n));
}

static void
conn_refuse_handshake(struct conn *c, const struct ws_error *err)
{
    char resp[1024];
    size_t n =
        ws_handshake_response_error(resp, sizeof(resp), err, &c->hs->req,
                                    &c->loop->handshake_cfg, CONN_SERVER);

    log_debug("handshake refused: %u %s", err->code, err->reason);
    stats_record_handshake(&c->rec, err->code, &c->hs->req, NULL);
    conn_record_refusal(c, resp, n);
    conn_queue(c, resp, n);
    free(c->hs);
    c->hs = NULL;
    conn_finish(c);
}

/*
 * The worker has no memory to go on with c's handshake (for the request's
 * buffer, or to compute Sec-WebSocket-Accept): 503 naming it, written
 * from the stack, then the close. The request may be unread or partly
 * read: the lingering close reads the rest, so that the kernel does not
 * answer our 503 with a reset.
 */
static void
conn_refuse_no_memory(struct conn *c, const char *what)
{
    struct ws_error err = {503, "out of memory"};
    char resp[512];
    size_t n = ws_handshake_response_error(resp, sizeof(resp), &err, NULL, NULL,
                                           CONN_SERVER);

    log_msg(LOG_LEVEL_ERROR, "out of memory %s: refused with 503", what);
    if (c->has_session) {
        ws_session_clear(&c->session);
        c->has_session = false;
    }
    stats_record_handshake(&c->rec, err.code, NULL, NULL);
    conn_record_refusal(c, resp, n);
    conn_queue(c, resp, n);
    free(c->hs);
    c->hs = NULL;
    conn_finish(c);
}

/*
 * A TLS client came to the ws:// port (ws_handshake_is_tls_record): it
 * would wait out the handshake timeout for an answer it can read. Tell it
 * at once in its own protocol, with a fatal unexpected_message alert in a
 * TLS record (RFC 8446 §6, RFC 5246 §7.2: alert 21, level 2, description
 * 10; record version 3.1, as for a first record), then close.
 * unexpected_message rather than protocol_version: no TLS version would
 * do, and that alert would send its user after the wrong setting.
 */
static void
conn_refuse_tls(struct conn *c)
{
    static const uint8_t alert[] = {21, 3, 1, 0, 2, 2, 10};

    log_debug("TLS handshake on the ws:// port: alert, then close");
    stats_record_wrong_protocol(&c->rec, STATS_WRONG_TLS_ON_PLAIN);
    /* A ClientHello, not HTTP: kept as read, not cut at a blank line
     * its bytes may happen to hold. */
    stats_record_heads(&c->rec, c->hs->buf, c->hs->len, (const char *)alert,
                       sizeof(alert));
    c->wrong_protocol = 1 + STATS_WRONG_TLS_ON_PLAIN;
    conn_queue(c, alert, sizeof(alert));
    free(c->hs);
    c->hs = NULL;
    conn_finish(c);
}

/*
 * Plain HTTP came to the wss:// port (the transport said WSD_IO_PLAINTEXT
 * and now carries bytes in the clear): a browser or a client given
 * http:// or ws:// for a wss:// URL. Answer in its own protocol, as
 * nginx does, then close; the lingering close reads its request.
 */
static void
conn_refuse_plaintext(struct conn *c)
{
    struct ws_error err = {400, "plain HTTP request was sent to HTTPS port"};
    char resp[512];
    size_t n = ws_handshake_response_error(resp, sizeof(resp), &err, NULL, NULL,
                                           CONN_SERVER);

    log_debug("plain HTTP on the TLS port: 400, then close");
    stats_record_wrong_protocol(&c->rec, STATS_WRONG_PLAIN_ON_TLS);
    stats_record_handshake(&c->rec, 400, NULL, NULL);
    conn_record_refusal(c, resp, n);
    c->wrong_protocol = 1 + STATS_WRONG_PLAIN_ON_TLS;
    conn_queue(c, resp, n);
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
    char ext[WS_DEFLATE_RESPONSE_MAX + 1];
    char resp[512];
    bool use_deflate =
        ws_deflate_negotiate(&l->deflate_cfg, hs->req.extensions,
                             hs->req.n_extensions, &deflate, ext, sizeof(ext));

    ws_session_init(&c->session, &l->session_cfg);
    c->has_session = true;
    if (use_deflate &&
        !ws_session_use_deflate(&c->session, &l->deflate_cfg, &deflate)) {
        /* Declining an extension is an answer the client must take. */
        log_msg(LOG_LEVEL_WARN, "out of memory for permessage-deflate: "
                                "the connection goes on without it");
        use_deflate = false;
    }
    size_t n = ws_handshake_response_101(resp, sizeof(resp), &hs->req,
                                         use_deflate ? ext : NULL, CONN_SERVER);
    if (n == 0) {
        /* SHA-1 failed: OpenSSL allocates a context for each digest. */
        conn_refuse_no_memory(c, "for Sec-WebSocket-Accept");
        return;
    }

    stats_record_handshake(&c->rec, 101, &hs->req, use_deflate ? ext : NULL);
    stats_record_heads(&c->rec, hs->buf, request_len, resp, n);
    conn_queue(c, resp, n);
    c->state = CONN_OPEN;
    keepalive_start(&c->ka, clock_mono_ms());
    conn_keepalive_arm(c);
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

void
conn_read_handshake(struct conn *c)
{
    const struct ws_handshake_config *hc = &c->loop->handshake_cfg;
    struct ws_error err = {0, NULL};

    for (;;) {
        struct conn_handshake *hs = c->hs;
        if ((hs == NULL || hs->len == hs->cap) &&
            (hs = handshake_grow(c)) == NULL) {
            conn_refuse_no_memory(c, "for a handshake request");
            conn_flush(c);
            return;
        }
        ssize_t n =
            c->t->recv(c->tctx, c->fd, hs->buf + hs->len, hs->cap - hs->len);
        /* Whatever it returned, the recv may have completed the TLS
         * handshake: the record says so from then on. */
        conn_record_transport(c);
        if (n == WSD_IO_AGAIN || n == WSD_IO_WANT_WRITE) {
            conn_recv_wait(c, n);
            return;
        }
        if (n == WSD_IO_PLAINTEXT) {
            conn_refuse_plaintext(c);
            conn_flush(c);
            return;
        }
        if (n < 0) {
            conn_close(c, conn_end_of(n));
            return;
        }
        stats_record_read(&c->rec, (const uint8_t *)hs->buf + hs->len,
                          (size_t)n);
        hs->len += (size_t)n;
        if (c->t == &transport_tcp &&
            ws_handshake_is_tls_record(hs->buf, hs->len)) {
            conn_refuse_tls(c);
            conn_flush(c);
            return;
        }
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
