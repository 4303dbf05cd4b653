/* SPDX-License-Identifier: MIT */
/*
 * The per-connection protocol state machine of RFC 6455 after the opening
 * handshake, for either role. Processing order for data frames is fixed:
 * header checks, unmasking, UTF-8 validation of text as it arrives,
 * assembly. Not here: sockets, timers and statistics, which belong to
 * the programs around the core (conn.c, wsc).
 */
#include "autoconf.h"

#include "ws_session.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/*
 * A message buffer larger than this is released once its message has been
 * delivered, so that a connection at rest holds no large buffer; smaller
 * ones are kept, so that steady traffic of small split messages does not
 * allocate per message.
 */
#define WS_SESSION_KEEP_BYTES (16 * 1024)

void
ws_session_init(struct ws_session *s, const struct ws_session_config *cfg)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->state = WS_SESSION_OPEN;
}

void
ws_session_init_client(struct ws_session *s,
                       const struct ws_session_config *cfg,
                       const struct ws_mask_source *masks)
{
    ws_session_init(s, cfg);
    s->masks = masks;
}

/* A client's session: it masks what it sends and nothing may come masked. */
static bool
is_client(const struct ws_session *s)
{
    return s->masks != NULL;
}

bool
ws_session_use_deflate(struct ws_session *s,
                       const struct ws_deflate_config *cfg,
                       const struct ws_deflate_params *params)
{
    struct ws_deflate *d = calloc(1, sizeof(*d));

    if (d == NULL) {
        return false;
    }
    if (is_client(s)) {
        ws_deflate_init_client(d, cfg, params);
    } else {
        ws_deflate_init(d, cfg, params);
    }
    s->deflate = d;
    return true;
}

/* Whether a message of len bytes goes compressed. */
static bool
deflate_wants(const struct ws_session *s, size_t len)
{
    return s->deflate != NULL && ws_deflate_wants(s->deflate, len);
}

/*
 * §5.3: a client masks every frame it sends. Turns the unmasked control
 * frame in ev->reply (a pong or a close frame of ours) into its masked
 * form, with a fresh key; a server's reply stays as it is.
 */
static void
seal_reply(const struct ws_session *s, struct ws_event *ev)
{
    size_t n = ev->reply_len;

    if (!is_client(s) || n < 2) {
        return;
    }
    uint8_t key[4];
    s->masks->fill(s->masks->ctx, key);
    memmove(ev->reply + 6, ev->reply + 2, n - 2);
    memcpy(ev->reply + 2, key, 4);
    ev->reply[1] |= 0x80;
    ws_frame_mask(ev->reply + 6, n - 2, key, 0);
    ev->reply_len = n + 4;
}

/* Unmasks payload of the current frame in place; a server's frames come
 * unmasked, and XOR with nothing is skipped. */
static void
unmask(const struct ws_session *s, uint8_t *p, size_t n, uint64_t pos)
{
    if (s->frame.masked) {
        ws_frame_mask(p, n, s->frame.mask, pos);
    }
}

void
ws_session_receive_after_close(struct ws_session *s)
{
    s->receive_after_close = true;
}

void
ws_session_clear(struct ws_session *s)
{
    if (s->deflate != NULL) {
        ws_deflate_clear(s->deflate);
        free(s->deflate);
        s->deflate = NULL;
    }
    free(s->msg);
    s->msg = NULL;
    free(s->ctrl);
    s->ctrl = NULL;
    s->msg_len = 0;
    s->msg_cap = 0;
    s->state = WS_SESSION_CLOSED;
}

enum ws_session_state
ws_session_state(const struct ws_session *s)
{
    return (enum ws_session_state)s->state;
}

bool
ws_session_is_idle(const struct ws_session *s)
{
    return s->hdr_len == 0 && !s->in_payload && s->msg_opcode == 0;
}

enum ws_session_partial
ws_session_partial(const struct ws_session *s)
{
    if (s->hdr_len > 0) {
        return WS_PARTIAL_HEADER;
    }
    if (s->in_payload && s->frame_pos < s->frame.payload_len) {
        return WS_PARTIAL_PAYLOAD;
    }
    return WS_PARTIAL_NONE;
}

static void
event_clear(struct ws_event *ev)
{
    memset(ev, 0, offsetof(struct ws_event, reply));
    ev->type = WS_EV_NONE;
}

/* Starts a failure event with code and reason (static), ev->reason its
 * words as a close frame carries them. */
static void
fail_begin(struct ws_event *ev, uint16_t code, const char *reason)
{
    size_t n = ws_close_reason_len(reason);

    event_clear(ev);
    ev->type = WS_EV_FAIL;
    ev->error.code = code;
    ev->error.reason = reason;
    if (n > 0) {
        memcpy(ev->reason, reason, n);
    }
    ev->reason[n] = '\0';
}

/*
 * Fails the connection (§7.1.7) with the event fail_begin started: our
 * close frame, carrying ev->reason, is the reply. With await_close (the
 * failing frame's extent is known, and it was not the peer's close), the
 * rest of it is skipped and the peer's answering close is awaited, so
 * that it can be seen (statistics mirror the peer's view of the closing
 * handshake); else the session is CLOSED at once.
 */
static void
fail_finish(struct ws_session *s, struct ws_event *ev, bool await_close)
{
    if (s->state == WS_SESSION_OPEN) {
        ev->reply_len = ws_close_frame_build(ev->reply, sizeof(ev->reply),
                                             ev->error.code, ev->reason);
        seal_reply(s, ev);
    }
    if (s->state == WS_SESSION_OPEN && await_close) {
        s->state = WS_SESSION_CLOSING;
        s->failed = true;
        s->skip_frame = true;
    } else {
        s->state = WS_SESSION_CLOSED;
    }
}

static void
fail_at(struct ws_session *s, struct ws_event *ev, uint16_t code,
        const char *reason, bool await_close)
{
    fail_begin(ev, code, reason);
    fail_finish(s, ev, await_close);
}

static void
fail(struct ws_session *s, struct ws_event *ev, uint16_t code,
     const char *reason)
{
    fail_at(s, ev, code, reason, true);
}

/*
 * Fails with 1009 for a limit: ev->error.reason is rule (static), and the
 * close frame says the limit too, so that the peer learns what it may
 * send: "message over max_message_bytes 16777216". 20 digits at most
 * keep it well within a close reason.
 */
static void
fail_limit(struct ws_session *s, struct ws_event *ev, const char *rule,
           uint64_t limit)
{
    char digits[20];
    size_t i = sizeof(digits);

    fail_begin(ev, WS_CLOSE_MESSAGE_TOO_BIG, rule);
    do {
        digits[--i] = (char)('0' + limit % 10);
        limit /= 10;
    } while (limit > 0);
    size_t n = strlen(ev->reason);
    if (n + 1 + sizeof(digits) - i <= WS_CLOSE_REASON_MAX) {
        ev->reason[n++] = ' ';
        memcpy(ev->reason + n, digits + i, sizeof(digits) - i);
        ev->reason[n + sizeof(digits) - i] = '\0';
    }
    fail_finish(s, ev, true);
}

bool
ws_session_close(struct ws_session *s, uint16_t code, const char *reason,
                 struct ws_event *ev)
{
    if (s->state != WS_SESSION_OPEN) {
        return false;
    }
    event_clear(ev);
    ev->has_frame = false;
    ev->frame_discarded = false;
    ev->frame_data = NULL;
    ev->reply_len =
        ws_close_frame_build(ev->reply, sizeof(ev->reply), code, reason);
    seal_reply(s, ev);
    s->state = WS_SESSION_CLOSING;
    return true;
}

size_t
ws_session_message_header(struct ws_session *s,
                          uint8_t out[WS_FRAME_HEADER_MAX], uint8_t opcode,
                          uint64_t len)
{
    if (s->state != WS_SESSION_OPEN || is_client(s)) {
        return 0;
    }
    ssize_t n = ws_frame_header_encode(out, WS_FRAME_HEADER_MAX, true, 0,
                                       opcode, len, NULL);
    return n > 0 ? (size_t)n : 0;
}

size_t
ws_session_message_bound(const struct ws_session *s, size_t len)
{
    if (s->deflate == NULL && !is_client(s)) {
        return 0; /* the common echo: framed as it is */
    }
    size_t bound = deflate_wants(s, len) ? ws_deflate_compress_bound(len) : 0;
    return is_client(s) && bound < len ? len : bound;
}

/* ws_session_message for what its fast path leaves: compression, a
 * client's masking, long lengths; kept out of line so that the common
 * echo does not pay for its frame. */
static __attribute__((noinline)) bool
message_framed(struct ws_session *s, uint8_t opcode, const uint8_t *data,
               size_t len, uint8_t *out, size_t cap, struct ws_out_message *m)
{
    uint8_t key[4];
    bool client = is_client(s);

    if (s->state != WS_SESSION_OPEN ||
        (client && (cap < len || (len > 0 && out == NULL)))) {
        return false;
    }
    m->payload = data;
    m->payload_len = len;
    m->compressed = false;
    if (out != NULL && deflate_wants(s, len) &&
        cap >= ws_deflate_compress_bound(len)) {
        ssize_t n = ws_deflate_compress(s->deflate, data, len, out, cap);
        if (n >= 0) {
            m->payload = out;
            m->payload_len = (size_t)n;
            m->compressed = true;
        }
    }
    if (client) {
        /* §5.3: masked in out, with a key of its own. */
        s->masks->fill(s->masks->ctx, key);
        /* Compressed in out already, or copied there as it is masked. */
        ws_frame_mask_copy(out, m->payload, m->payload_len, key, 0);
        m->payload = out;
    }
    /* RFC 7692 §6: RSV1 on the first frame marks a compressed message. */
    ssize_t n = ws_frame_header_encode(m->hdr, WS_FRAME_HEADER_MAX, true,
                                       m->compressed ? WS_RSV1 : 0, opcode,
                                       m->payload_len, client ? key : NULL);
    m->hdr_len = n > 0 ? (size_t)n : 0;
    return n > 0;
}

bool
ws_session_message(struct ws_session *s, uint8_t opcode, const uint8_t *data,
                   size_t len, uint8_t *out, size_t cap,
                   struct ws_out_message *m)
{
    if (s->state == WS_SESSION_OPEN && !is_client(s) && s->deflate == NULL &&
        opcode <= 0x0f && len < 65536) {
        /* A server's message as it is, the common echo: its header (§5.2,
         * the length in the fewest bytes) written here. */
        m->payload = data;
        m->payload_len = len;
        m->compressed = false;
        m->hdr[0] = (uint8_t)(0x80 | opcode);
        if (len < 126) {
            m->hdr[1] = (uint8_t)len;
            m->hdr_len = 2;
        } else {
            m->hdr[1] = 126;
            m->hdr[2] = (uint8_t)(len >> 8);
            m->hdr[3] = (uint8_t)len;
            m->hdr_len = 4;
        }
        return true;
    }
    return message_framed(s, opcode, data, len, out, cap, m);
}

/*
 * Makes room for `more` bytes after msg_len: when the current frame ends
 * an uncompressed message, for all it can still bring, at once (a large
 * frame arriving a record or a read at a time is then never copied to a
 * bigger buffer; malloc's pages are touched only as its bytes arrive);
 * otherwise growing geometrically. Never past the message limit
 * (already checked by the caller).
 */
static bool
msg_reserve(struct ws_session *s, size_t more)
{
    size_t need = s->msg_len + more;
    if (need <= s->msg_cap && s->msg != NULL) {
        return true;
    }
    size_t cap = s->msg_cap < 256 ? 256 : s->msg_cap * 2;
    if (cap < need) {
        cap = need;
    }
    uint64_t frame_end = s->msg_len + (s->frame.payload_len - s->frame_pos);
    if (s->frame.fin && !s->msg_compressed) {
        cap = (size_t)frame_end;
    }
    if (cap > s->cfg->max_message_bytes) {
        cap = (size_t)s->cfg->max_message_bytes;
    }
    if (cap < need) {
        cap = need;
    }
    uint8_t *p = realloc(s->msg, cap);
    if (p == NULL) {
        return false;
    }
    s->msg = p;
    s->msg_cap = cap;
    return true;
}

static void
msg_release(struct ws_session *s)
{
    s->msg_len = 0;
    if (s->msg_cap > WS_SESSION_KEEP_BYTES) {
        free(s->msg);
        s->msg = NULL;
        s->msg_cap = 0;
    }
}

/*
 * Whether data frames are read: while open, and after our close when the
 * caller asked for the peer's messages until its close (not after a
 * failure of ours).
 */
static bool
takes_data(const struct ws_session *s)
{
    return s->state == WS_SESSION_OPEN ||
           (s->state == WS_SESSION_CLOSING && s->receive_after_close &&
            !s->failed);
}

/*
 * Judges a decoded header against the session: masking, RSV bits and the
 * fragmentation rules. Returns false after failing the connection.
 */
static bool
check_header(struct ws_session *s, struct ws_event *ev)
{
    const struct ws_frame_header *h = &s->frame;
    const char *refused = NULL;

    /* §5.1: a server MUST close the connection on an unmasked frame, a
     * client on a masked one. §5.2: RSV bits MUST be 0 unless an
     * extension defines them; permessage-deflate defines RSV1 on the
     * first frame of a data message only (RFC 7692 §6, §6.1). */
    if (!h->masked && !is_client(s)) {
        refused = "client frame is not masked";
    } else if (h->masked && is_client(s)) {
        refused = "server frame is masked";
    } else if ((h->rsv & (WS_RSV2 | WS_RSV3)) != 0 && s->deflate != NULL) {
        refused = "RSV2 or RSV3 set: permessage-deflate defines RSV1 only";
    } else if ((h->rsv & (WS_RSV2 | WS_RSV3)) != 0 ||
               ((h->rsv & WS_RSV1) != 0 && s->deflate == NULL)) {
        refused = "RSV bits set without a negotiated extension";
    } else if ((h->rsv & WS_RSV1) != 0 &&
               ws_frame_opcode_is_control(h->opcode)) {
        refused = "RSV1 set on a control frame";
    } else if ((h->rsv & WS_RSV1) != 0 && h->opcode == WS_OP_CONT) {
        refused = "RSV1 set on a continuation frame";
    }
    if (refused != NULL) {
        /* A refused close frame is the peer's close all the same: nothing
         * follows it (§5.5.1), so none is awaited, as for a close whose
         * header breaks §5.2 (read_header). */
        bool peer_close = h->opcode == WS_OP_CLOSE;
        fail_at(s, ev, WS_CLOSE_PROTOCOL_ERROR, refused, !peer_close);
        ev->peer_closed = peer_close;
        return false;
    }
    if (ws_frame_opcode_is_control(h->opcode) || s->failed) {
        return true; /* after a failure, data is skipped unjudged */
    }
    /* §5.4: fragments of one message come in order, uninterleaved. */
    if (h->opcode == WS_OP_CONT && s->msg_opcode == 0) {
        fail(s, ev, WS_CLOSE_PROTOCOL_ERROR,
             "continuation frame without a message to continue");
        return false;
    }
    if (h->opcode != WS_OP_CONT && s->msg_opcode != 0) {
        fail(s, ev, WS_CLOSE_PROTOCOL_ERROR,
             "new data frame while a fragmented message is unfinished");
        return false;
    }
    /* While closing, data is discarded unread, so no limit applies; the
     * fragmentation rules still do, to keep finding frame boundaries. */
    if (takes_data(s) && h->payload_len > s->cfg->max_frame_bytes) {
        fail_limit(s, ev, WS_SESSION_FRAME_OVER, s->cfg->max_frame_bytes);
        return false;
    }
    /* A compressed message counts its inflated bytes, as they come out
     * (inflate_onto_msg); only the frame limit bounds it on the wire. */
    bool compressed =
        h->opcode == WS_OP_CONT ? s->msg_compressed : (h->rsv & WS_RSV1) != 0;
    if (takes_data(s) && !compressed &&
        h->payload_len > s->cfg->max_message_bytes - s->msg_len) {
        fail_limit(s, ev, WS_SESSION_MESSAGE_OVER, s->cfg->max_message_bytes);
        return false;
    }
    if (h->opcode != WS_OP_CONT) {
        s->msg_opcode = h->opcode;
        s->msg_compressed = (h->rsv & WS_RSV1) != 0;
        s->msg_len = 0;
        ws_utf8_reset(&s->utf8);
    }
    return true;
}

/*
 * Whether the current frame is taken unread: refused (skip_frame), after
 * the peer's close, or, after ours, anything but the peer's close and,
 * with receive_after_close, its data frames.
 */
static bool
frame_is_discarded(const struct ws_session *s)
{
    if (s->skip_frame || s->state == WS_SESSION_CLOSED) {
        return true;
    }
    return s->state == WS_SESSION_CLOSING && s->frame.opcode != WS_OP_CLOSE &&
           (!takes_data(s) || ws_frame_opcode_is_control(s->frame.opcode));
}

/*
 * Takes the next frame header from the kept partial header and in.
 * Returns the bytes of in it used; sets *done when a whole header was
 * decoded (and judged: ev->type is WS_EV_FAIL if it was refused). Once
 * CLOSED, headers are only delimited (§5.2 no longer judged).
 */
static size_t
take_header(struct ws_session *s, uint8_t *in, size_t len, bool *done,
            struct ws_event *ev)
{
    struct ws_error err = {0, NULL};
    const uint8_t *p = in;
    size_t avail = len;
    size_t copy = 0;
    ssize_t n;

    *done = false;
    if (s->hdr_len > 0) {
        copy = sizeof(s->hdr) - s->hdr_len;
        if (copy > len) {
            copy = len;
        }
        memcpy(s->hdr + s->hdr_len, in, copy);
        p = s->hdr;
        avail = s->hdr_len + copy;
    }
    bool delimit_only = s->lenient || s->state == WS_SESSION_CLOSED;
    n = delimit_only ? ws_frame_header_extent(&s->frame, p, avail)
                     : ws_frame_header_decode(&s->frame, p, avail, &err);
    if (n == WS_AGAIN) {
        if (s->hdr_len == 0) {
            memcpy(s->hdr, in, len); /* len < WS_FRAME_HEADER_MAX */
            s->hdr_len = (uint8_t)len;
            return len;
        }
        s->hdr_len = (uint8_t)(s->hdr_len + copy);
        return copy;
    }
    *done = true;
    if (n < 0) {
        /* The header itself breaks §5.2: fail now, at this byte. Its
         * extent can still be read (the same bytes, again, leniently, in
         * the next call), so the frame is reported and skipped, and the
         * peer's close still awaited; but not when its 64-bit length has
         * the top bit set (no end is known: all that follows is taken as
         * its payload), nor when it is the peer's close (nothing follows
         * it). */
        bool endless = avail >= 3 && (p[1] & 0x7f) == 127 && (p[2] & 0x80);
        bool peer_close = (p[0] & 0x0f) == WS_OP_CLOSE;
        fail_at(s, ev, err.code, err.reason, !endless && !peer_close);
        ev->peer_closed = peer_close;
        s->lenient = true;
        return 0;
    }
    size_t used = (size_t)n - s->hdr_len;
    s->hdr_len = 0;
    ev->has_frame = true;
    ev->frame = s->frame;
    ev->frame_data = NULL; /* what came before was another frame's */
    s->in_payload = true;
    s->frame_pos = 0;
    if (delimit_only) {
        s->lenient = false;
        s->skip_frame = true; /* the frame refused above, or after CLOSED */
    } else {
        s->skip_frame = false;
        check_header(s, ev); /* on failure, skip_frame skips its payload */
    }
    ev->frame_discarded = frame_is_discarded(s);
    return used;
}

/* A whole control frame's payload is in p[0..len), unmasked. */
static void
control_frame(struct ws_session *s, uint8_t *p, size_t len, struct ws_event *ev)
{
    struct ws_error err = {0, NULL};

    switch (s->frame.opcode) {
    case WS_OP_PING:
        if (s->state != WS_SESSION_OPEN) {
            return; /* §5.5.1: nothing more is sent after our close */
        }
        ev->type = WS_EV_PING;
        ev->data = p;
        ev->len = len;
        /* §5.5.3: the pong carries the ping's application data. */
        ev->reply[0] = 0x80 | WS_OP_PONG;
        ev->reply[1] = (uint8_t)len;
        memcpy(ev->reply + 2, p, len);
        ev->reply_len = 2 + len;
        seal_reply(s, ev);
        return;
    case WS_OP_PONG:
        if (s->state == WS_SESSION_OPEN) {
            ev->type = WS_EV_PONG;
            ev->data = p;
            ev->len = len;
        }
        return;
    case WS_OP_CLOSE:
        if (ws_close_parse(&ev->close, p, len, &err) != 0) {
            /* The peer's close, however bad, is its last frame: after our
             * answer nothing more will come, so close at once (CLOSED).
             * What it carried is reported for the record. */
            fail_at(s, ev, err.code, err.reason, false);
            ev->peer_closed = true;
            ev->close.code = (uint16_t)(len >= 2 ? p[0] << 8 | p[1] : 0);
            ev->close.has_code = len >= 2;
            ev->close.reason = len > 2 ? p + 2 : NULL;
            ev->close.reason_len = len > 2 ? len - 2 : 0;
            return;
        }
        ev->type = WS_EV_CLOSE;
        if (s->state == WS_SESSION_OPEN) {
            /* §5.5.1: answer with a close, echoing the status code. */
            ev->reply_len = ws_close_frame_build(ev->reply, sizeof(ev->reply),
                                                 ev->close.code, NULL);
            seal_reply(s, ev);
        }
        s->state = WS_SESSION_CLOSED;
        return;
    default:
        /* Reserved control opcodes never pass ws_frame_header_decode. */
        fail(s, ev, WS_CLOSE_PROTOCOL_ERROR, "reserved opcode");
        return;
    }
}

/* The data frame's payload is complete; a final one ends the message. */
static void
data_frame_done(struct ws_session *s, uint8_t *p, size_t len,
                struct ws_event *ev)
{
    if (!s->frame.fin) {
        return;
    }
    /* §8.1: a text message must end on a complete UTF-8 sequence. */
    if (s->msg_opcode == WS_OP_TEXT && !ws_utf8_is_complete(&s->utf8)) {
        fail(s, ev, WS_CLOSE_INVALID_PAYLOAD,
             "text message is not valid UTF-8");
        return;
    }
    ev->type = WS_EV_MESSAGE;
    ev->opcode = s->msg_opcode;
    ev->data = p;
    ev->len = len;
    s->msg_opcode = 0;
}

/* Validates new text bytes; fails fast at the first invalid one (§8.1). */
static bool
check_text(struct ws_session *s, const uint8_t *p, size_t len,
           struct ws_event *ev)
{
    if (s->msg_opcode != WS_OP_TEXT || ws_utf8_feed(&s->utf8, p, len, NULL)) {
        return true;
    }
    fail(s, ev, WS_CLOSE_INVALID_PAYLOAD, "text message is not valid UTF-8");
    return false;
}

/*
 * Inflates compressed payload p[0..n) (already unmasked) onto the message,
 * validating text as it comes out. The message limit applies to the
 * inflated bytes, and inflation stops there: a decompression bomb fails
 * with 1009 having produced no more than max_message_bytes.
 */
static bool
inflate_onto_msg(struct ws_session *s, const uint8_t *p, size_t n,
                 struct ws_event *ev)
{
    struct ws_error err = {0, NULL};
    uint64_t max = s->cfg->max_message_bytes;

    for (;;) {
        if (s->msg_len == max) {
            /* At the limit: one more byte of output means too big. */
            uint8_t probe;
            size_t one = 1;
            if (ws_deflate_inflate(s->deflate, &p, &n, &probe, &one, &err) !=
                0) {
                fail(s, ev, err.code, err.reason);
                return false;
            }
            if (one == 1) {
                fail_limit(s, ev, WS_SESSION_MESSAGE_OVER, max);
                return false;
            }
            return true;
        }
        if (s->msg_len == s->msg_cap && !msg_reserve(s, 1)) {
            fail(s, ev, WS_CLOSE_INTERNAL_ERROR, "out of memory");
            return false;
        }
        size_t room = s->msg_cap - s->msg_len;
        size_t produced = room;
        uint8_t *dst = s->msg + s->msg_len;
        if (ws_deflate_inflate(s->deflate, &p, &n, dst, &produced, &err) != 0) {
            fail(s, ev, err.code, err.reason);
            return false;
        }
        s->msg_len += produced;
        if (!check_text(s, dst, produced, ev)) {
            return false;
        }
        /* zlib stops early when the input is used up, or before an
         * error the next call reports (see ws_deflate_inflate). */
        if (produced < room && n == 0) {
            return true;
        }
    }
}

/* The current frame's payload has all been taken (gathered, inflated or
 * skipped): deliver what it completes. */
static void
payload_done(struct ws_session *s, bool discard, bool control,
             struct ws_event *ev)
{
    const struct ws_frame_header *h = &s->frame;
    struct ws_error err = {0, NULL};

    s->in_payload = false;
    if (discard) {
        if (h->fin && !s->skip_frame && !control) {
            s->msg_opcode = 0;
        }
        s->skip_frame = false;
        s->ctrl_len = 0; /* a part gathered before our close, if any */
    } else if (control) {
        s->ctrl_len = 0;
        control_frame(s, s->ctrl, h->payload_len, ev);
    } else if (s->msg_compressed && h->fin &&
               ws_deflate_inflate_end(s->deflate, &err) != 0) {
        fail(s, ev, err.code, err.reason);
    } else {
        data_frame_done(s, s->msg, s->msg_len, ev);
        if (ev->type == WS_EV_MESSAGE) {
            s->drop_msg = true;
        }
    }
}

/* Consumes payload bytes of the current frame from in; returns how many. */
static size_t
take_payload(struct ws_session *s, uint8_t *in, size_t len, struct ws_event *ev)
{
    struct ws_frame_header *h = &s->frame;
    uint64_t left = h->payload_len - s->frame_pos;
    size_t n = left < len ? (size_t)left : len;
    bool control = ws_frame_opcode_is_control(h->opcode);
    bool discard = frame_is_discarded(s);

    /* Where this call's part of the payload is unmasked (below), for the
     * caller's log. */
    ev->frame_data = NULL;
    ev->frame_data_len = n;
    ev->frame_data_pos = s->frame_pos;
    if (discard) {
        s->frame_pos += n;
    } else if (control) {
        if (s->ctrl_len == 0 && n == left) {
            /* The whole payload is here: use it in place. */
            unmask(s, in, n, 0);
            ev->frame_data = in;
            s->in_payload = false;
            control_frame(s, in, n, ev);
            return n;
        }
        if (s->ctrl == NULL &&
            (s->ctrl = malloc(WS_CONTROL_PAYLOAD_MAX)) == NULL) {
            fail_at(s, ev, WS_CLOSE_INTERNAL_ERROR, "out of memory", false);
            s->frame_pos += n; /* skipped, not kept: the frame still ends */
            if (s->frame_pos == h->payload_len) {
                payload_done(s, true, control, ev);
            }
            return n;
        }
        memcpy(s->ctrl + s->ctrl_len, in, n);
        unmask(s, s->ctrl + s->ctrl_len, n, s->frame_pos);
        ev->frame_data = s->ctrl + s->ctrl_len;
        s->ctrl_len = (uint8_t)(s->ctrl_len + n);
        s->frame_pos += n;
    } else if (s->msg_compressed) {
        unmask(s, in, n, s->frame_pos);
        ev->frame_data = in;
        s->frame_pos += n;
        if (!inflate_onto_msg(s, in, n, ev)) {
            return n;
        }
        /* RFC 7692 §7.2.2: the message's end is inflated with the tail
         * the sender removed. */
        if (s->frame_pos == h->payload_len && h->fin &&
            !inflate_onto_msg(s, WS_DEFLATE_TAIL, WS_DEFLATE_TAIL_LEN, ev)) {
            return n;
        }
    } else if (s->msg_len == 0 && h->fin && n == left) {
        /* A whole unfragmented message is here: no copy. */
        unmask(s, in, n, 0);
        ev->frame_data = in;
        s->in_payload = false;
        if (check_text(s, in, n, ev)) {
            data_frame_done(s, in, n, ev);
        }
        return n;
    } else {
        if (!msg_reserve(s, n)) {
            fail(s, ev, WS_CLOSE_INTERNAL_ERROR, "out of memory");
            s->frame_pos += n; /* skipped, not kept */
            return n;
        }
        uint8_t *dst = s->msg + s->msg_len;
        if (n > 0) {
            memcpy(dst, in, n);
        }
        unmask(s, dst, n, s->frame_pos);
        ev->frame_data = dst;
        s->msg_len += n;
        s->frame_pos += n;
        if (!check_text(s, dst, n, ev)) {
            return n;
        }
    }

    if (s->frame_pos == h->payload_len) {
        payload_done(s, discard, control, ev);
    }
    return n;
}

/*
 * The common case in one step: between messages of an open session,
 * in[0..len) begins with a whole final text or binary frame, masked as
 * the role wants it (a client's frames masked, a server's not),
 * uncompressed, with a 7- or 16-bit length (minimally encoded) within
 * the limits. Leaves the session and ev exactly as take_header
 * and take_payload would (every rule they check holds for such a frame),
 * and returns the frame's size; returns 0, touching nothing, for any
 * other input.
 */
static size_t
feed_whole_frame(struct ws_session *s, uint8_t *in, size_t len,
                 struct ws_event *ev)
{
    uint8_t b0 = in[0];
    uint8_t b1 = in[1];
    size_t plen = b1 & 0x7f;
    /* What comes to a server is masked, what comes to a client not. */
    bool masked = !is_client(s);
    size_t hdr = masked ? 6 : 2;

    if ((b0 != (0x80 | WS_OP_BINARY) && b0 != (0x80 | WS_OP_TEXT)) ||
        ((b1 & 0x80) != 0) != masked || plen == 127 || len < hdr) {
        return 0;
    }
    if (plen == 126) {
        if (len < hdr + 2) {
            return 0;
        }
        plen = (size_t)in[2] << 8 | in[3];
        hdr += 2;
        if (plen < 126) {
            return 0; /* not minimal: the slow path fails it */
        }
    }
    if (len - hdr < plen || plen > s->cfg->max_frame_bytes ||
        plen > s->cfg->max_message_bytes - s->msg_len) {
        return 0;
    }
    struct ws_frame_header *h = &s->frame;
    h->fin = true;
    h->rsv = 0;
    h->opcode = b0 & 0x0f;
    h->masked = masked;
    if (masked) {
        memcpy(h->mask, in + hdr - 4, sizeof(h->mask));
    } else {
        memset(h->mask, 0, sizeof(h->mask));
    }
    h->payload_len = plen;
    s->in_payload = false;
    s->frame_pos = 0;
    s->skip_frame = false;
    s->msg_opcode = h->opcode;
    s->msg_compressed = false;
    s->msg_len = 0;
    ws_utf8_reset(&s->utf8);
    ev->has_frame = true;
    ev->frame = *h;
    ev->frame_discarded = false;

    uint8_t *p = in + hdr;
    if (masked) {
        ws_frame_mask(p, plen, h->mask, 0);
    }
    ev->frame_data = p;
    ev->frame_data_len = plen;
    ev->frame_data_pos = 0;
    ev->frame_whole = hdr + plen;
    /* Binary needs no call to learn that it is not text. */
    if (h->opcode != WS_OP_TEXT || check_text(s, p, plen, ev)) {
        data_frame_done(s, p, plen, ev);
    }
    return hdr + plen;
}

/* ws_session_feed's loop over headers and payload, for what
 * feed_whole_frame does not take; out of line, as it needs a larger
 * frame than the common case. */
static __attribute__((noinline)) size_t
feed_frames(struct ws_session *s, uint8_t *in, size_t len, struct ws_event *ev)
{
    size_t used = 0;

    while (ev->type == WS_EV_NONE) {
        if (!s->in_payload) {
            bool done;
            /* One header per call, and none after another frame's
             * payload shown in frame_data. */
            if (used == len || ev->has_frame || ev->frame_data != NULL) {
                break;
            }
            used += take_header(s, in + used, len - used, &done, ev);
            if (!done) {
                break;
            }
            continue;
        }
        /* An empty payload completes without more input. */
        if (used == len && s->frame_pos < s->frame.payload_len) {
            break;
        }
        used += take_payload(s, in + used, len - used, ev);
    }
    return used;
}

void
ws_session_message_release(struct ws_session *s)
{
    s->drop_msg = false;
    msg_release(s);
}

size_t
ws_session_feed(struct ws_session *s, uint8_t *in, size_t len,
                struct ws_event *ev)
{
    event_clear(ev);
    ev->has_frame = false;
    ev->frame_discarded = false;
    ev->frame_data = NULL;
    ev->frame_whole = 0;
    ws_session_message_done(s);
    if (s->state == WS_SESSION_OPEN && !s->in_payload && s->hdr_len == 0 &&
        !s->lenient && s->msg_opcode == 0 && len >= 2) {
        size_t used = feed_whole_frame(s, in, len, ev);
        if (used > 0) {
            return used;
        }
    }
    return feed_frames(s, in, len, ev);
}
