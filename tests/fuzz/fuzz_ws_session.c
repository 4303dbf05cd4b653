/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the whole receive pipeline of ws_session: frame headers,
 * unmasking, inflation, UTF-8, fragmentation with interleaved control
 * frames, limits and the closing handshake. The first byte picks the
 * limits, whether permessage-deflate is on (with fixed parameters), and
 * whether we start a close ourselves; the top bit of the second picks
 * the client's role (the peer's frames come unmasked, ours go masked);
 * the rest of the second and the third seed the generator that cuts the
 * rest of the input into pieces, fed in a loop as src/conn.c's
 * conn_process does. Each message is copied out before the next call (as
 * the API requires) and echoed through ws_session_message, as conn_echo
 * does. Invariants: used <= len; progress (a call that consumes nothing
 * must report an event, and not forever); messages within
 * max_message_bytes, text valid UTF-8; replies well-formed frames; once
 * CLOSED, everything is discarded.
 */
#include "autoconf.h"

#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "ws_session.h"

/* Calls in a row that may consume nothing (each reporting an event). */
#define STALL_MAX 4

static const struct ws_session_config limits[] = {
    {64 * 1024, 64 * 1024},
    {125, 125},
    {1024 * 1024, 16 * 1024},
    {16, 1024},
};

static const struct ws_deflate_config deflate_cfgs[] = {
    {true, 1, 8, 0, 15, 15, false, false},
    {true, 1, 8, 0, 15, 15, true, true},
};
static const struct ws_deflate_params deflate_params[] = {
    {false, false, 15, 15},
    {true, true, 15, 15},
};

/* A client's masking keys, from the generator the input seeds. */
static void
fill_key(void *ctx, uint8_t key[4])
{
    uint32_t v = fuzz_rand(ctx);
    memcpy(key, &v, 4);
}

static bool
is_client(const struct ws_session *s)
{
    return s->masks != NULL;
}

/*
 * A reply must be exactly one frame of the expected opcode, masked by a
 * client and not by a server; its payload, unmasked, goes to out.
 * Returns the payload's length.
 */
static size_t
check_reply(const struct ws_session *s, const uint8_t *reply, size_t len,
            uint8_t opcode, uint8_t out[WS_CONTROL_PAYLOAD_MAX])
{
    struct ws_frame_header h;
    struct ws_error err = {0, NULL};
    ssize_t n = ws_frame_header_decode(&h, reply, len, &err);

    FUZZ_CHECK(n > 0 && h.fin && h.masked == is_client(s) &&
               h.opcode == opcode);
    FUZZ_CHECK((size_t)n + h.payload_len == len);
    memcpy(out, reply + n, h.payload_len);
    if (h.masked) {
        ws_frame_mask(out, h.payload_len, h.mask, 0);
    }
    return h.payload_len;
}

/* Copies the message out, as conn_echo must, and frames it as the echo. */
static void
echo(struct ws_session *s, const struct ws_event *ev)
{
    struct ws_out_message m;
    uint8_t *copy = malloc(ev->len + 1);
    size_t cap = ws_session_message_bound(s, ev->len);
    uint8_t *out = cap > 0 ? malloc(cap) : NULL;
    struct ws_frame_header h;
    struct ws_error err = {0, NULL};

    FUZZ_CHECK(copy != NULL && (cap == 0 || out != NULL));
    if (ev->len > 0) {
        memcpy(copy, ev->data, ev->len);
    }
    if (ws_session_message(s, ev->opcode, copy, ev->len, out, cap, &m)) {
        FUZZ_CHECK(ws_frame_header_decode(&h, m.hdr, m.hdr_len, &err) ==
                   (ssize_t)m.hdr_len);
        FUZZ_CHECK(h.opcode == ev->opcode && h.fin && h.masked == is_client(s));
        FUZZ_CHECK(h.payload_len == m.payload_len);
        FUZZ_CHECK(((h.rsv & WS_RSV1) != 0) == m.compressed);
        FUZZ_CHECK(m.compressed || m.payload_len == ev->len);
        if (!m.compressed && h.masked && m.payload_len > 0) {
            /* A client's payload, masked in out: the message again. */
            uint8_t *plain = malloc(m.payload_len);
            FUZZ_CHECK(plain != NULL);
            memcpy(plain, m.payload, m.payload_len);
            ws_frame_mask(plain, m.payload_len, h.mask, 0);
            FUZZ_CHECK(memcmp(plain, copy, m.payload_len) == 0);
            free(plain);
        }
    }
    free(out);
    free(copy);
}

static void
check_event(struct ws_session *s, const struct ws_event *ev)
{
    uint8_t payload[WS_CONTROL_PAYLOAD_MAX];
    size_t n = 0;

    switch (ev->type) {
    case WS_EV_NONE:
        break;
    case WS_EV_MESSAGE:
        FUZZ_CHECK(ev->len <= s->cfg->max_message_bytes);
        FUZZ_CHECK(ev->opcode == WS_OP_TEXT || ev->opcode == WS_OP_BINARY);
        FUZZ_CHECK(ev->opcode != WS_OP_TEXT ||
                   ws_utf8_is_valid(ev->data, ev->len));
        echo(s, ev);
        break;
    case WS_EV_PING:
        FUZZ_CHECK(ev->len <= WS_CONTROL_PAYLOAD_MAX);
        n = check_reply(s, ev->reply, ev->reply_len, WS_OP_PONG, payload);
        FUZZ_CHECK(n == ev->len &&
                   (n == 0 || memcmp(payload, ev->data, n) == 0));
        break;
    case WS_EV_PONG:
        FUZZ_CHECK(ev->len <= WS_CONTROL_PAYLOAD_MAX);
        break;
    case WS_EV_CLOSE:
        FUZZ_CHECK(ws_session_state(s) == WS_SESSION_CLOSED);
        FUZZ_CHECK(ev->close.reason_len <= WS_CONTROL_PAYLOAD_MAX - 2);
        FUZZ_CHECK(ws_utf8_is_valid(ev->close.reason, ev->close.reason_len));
        if (ev->reply_len > 0) {
            check_reply(s, ev->reply, ev->reply_len, WS_OP_CLOSE, payload);
        }
        break;
    case WS_EV_FAIL:
        FUZZ_CHECK(ws_session_state(s) != WS_SESSION_OPEN);
        FUZZ_CHECK(ev->error.reason != NULL);
        FUZZ_CHECK(ws_close_code_is_valid(ev->error.code));
        /* The words of our close: the rule, and maybe its limit. */
        FUZZ_CHECK(strncmp(ev->reason, ev->error.reason,
                           strlen(ev->error.reason)) == 0);
        if (ev->reply_len > 0) {
            n = check_reply(s, ev->reply, ev->reply_len, WS_OP_CLOSE, payload);
            FUZZ_CHECK(n == 2 + strlen(ev->reason) &&
                       memcmp(payload + 2, ev->reason, n - 2) == 0);
        }
        break;
    }
}

/* Feeds in[0..len) until it is consumed, as conn_process does. */
static void
feed(struct ws_session *s, uint8_t *in, size_t len)
{
    unsigned stalls = 0;

    while (len > 0) {
        struct ws_event ev;
        bool closed = ws_session_state(s) == WS_SESSION_CLOSED;
        size_t used = ws_session_feed(s, in, len, &ev);

        FUZZ_CHECK(used <= len);
        /* Once CLOSED, frames are only delimited: bytes are taken, and
         * headers reported discarded, with no event. */
        FUZZ_CHECK(!closed || (used > 0 && ev.type == WS_EV_NONE &&
                               (!ev.has_frame || ev.frame_discarded) &&
                               ev.frame_data == NULL));
        /* A frame header takes bytes; its fields are the codec's. */
        FUZZ_CHECK(!ev.has_frame ||
                   (used > 0 && ev.frame.opcode <= 0xf && ev.frame.rsv <= 7));
        if (used == 0) {
            FUZZ_CHECK(ev.type != WS_EV_NONE);
            FUZZ_CHECK(++stalls <= STALL_MAX);
        } else {
            stalls = 0;
        }
        check_event(s, &ev);
        in += used;
        len -= used;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ws_session s;
    uint8_t knobs = size > 0 ? data[0] : 0;
    uint32_t seed = size > 2 ? (uint32_t)(data[1] & 0x7f) << 8 | data[2] : 1;
    bool client = size > 2 && (data[1] & 0x80) != 0;
    uint32_t key_state = seed ^ 0x5bd1e995u;
    struct ws_mask_source masks = {fill_key, &key_state};
    size_t skip = size < 3 ? size : 3;
    size_t len = size - skip;
    uint8_t *buf = malloc(len + 1);
    /* Pieces of 1 to 2^k bytes; k from the knobs, so 1-byte feeds too. */
    uint32_t span = 1u << (((unsigned)knobs >> 4) & 0xf);
    size_t close_at = (knobs & 0x08) ? seed % (len + 1) : (size_t)-1;
    size_t at = 0;

    FUZZ_CHECK(buf != NULL);
    if (len > 0) {
        memcpy(buf, data + skip, len);
    }
    if (client) {
        ws_session_init_client(&s, &limits[(knobs >> 1) & 3], &masks);
    } else {
        ws_session_init(&s, &limits[(knobs >> 1) & 3]);
    }
    if (knobs & 1) {
        unsigned which = (knobs >> 3) & 1;
        ws_session_use_deflate(&s, &deflate_cfgs[which],
                               &deflate_params[which]);
    }
    while (at < len) {
        size_t piece = 1 + fuzz_rand(&seed) % span;
        if (piece > len - at) {
            piece = len - at;
        }
        if (at <= close_at && close_at < at + piece) {
            struct ws_event ev;
            bool open = ws_session_state(&s) == WS_SESSION_OPEN;
            FUZZ_CHECK(ws_session_close(&s, WS_CLOSE_GOING_AWAY, "bye", &ev) ==
                       open);
            FUZZ_CHECK(!open || ws_session_state(&s) == WS_SESSION_CLOSING);
        }
        feed(&s, buf + at, piece);
        at += piece;
    }
    ws_session_clear(&s);
    free(buf);
    return 0;
}
