/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for permessage-deflate (RFC 7692), three ways over one input:
 *  - negotiation: the input as one Sec-WebSocket-Extensions value, and cut
 *    at each newline into several, under a few server configurations; an
 *    accepted offer must grant parameters within the configuration;
 *  - inflation: the input as a compressed message, inflated with an output
 *    cap of INFLATE_CAP bytes enforced by the one-byte probe ws_session
 *    uses (inflate_onto_msg), fed whole and in two pieces split where the
 *    first byte says; both must give the same verdict and (unless the data
 *    is corrupt) the same bytes, so a decompression bomb is stopped at the
 *    cap either way;
 *  - round trip: the input compressed (twice, to exercise context
 *    takeover) must inflate back to itself.
 */
#include "autoconf.h"

#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "ws_deflate.h"

#define INFLATE_CAP  (64 * 1024)
#define INFLATE_ROOM 4096 /* output room offered per call */
#define VALUES_MAX   8

static const struct ws_deflate_config configs[] = {
    {true, 1, 8, 64, 15, 15, false, false},
    {true, 6, 9, 0, 10, 12, true, true},
    {false, 1, 8, 64, 15, 15, false, false},
};

/* Negotiates values[0..n) under cfg and checks what an acceptance grants. */
static void
negotiate(const struct ws_deflate_config *cfg, const struct ws_span *values,
          unsigned n)
{
    struct ws_deflate_params params;
    char resp[256];

    if (!ws_deflate_negotiate(cfg, values, n, &params, resp, sizeof(resp))) {
        return;
    }
    FUZZ_CHECK(cfg->enabled);
    FUZZ_CHECK(memchr(resp, '\0', sizeof(resp)) != NULL);
    FUZZ_CHECK(strncmp(resp, "permessage-deflate", 18) == 0);
    FUZZ_CHECK(params.server_max_window_bits >= WS_DEFLATE_WINDOW_MIN);
    FUZZ_CHECK(params.server_max_window_bits <= cfg->server_max_window_bits);
    FUZZ_CHECK(params.client_max_window_bits >= 8);
    FUZZ_CHECK(params.client_max_window_bits <= WS_DEFLATE_WINDOW_MAX);
    FUZZ_CHECK(!cfg->server_no_context_takeover ||
               params.server_no_context_takeover);
}

static void
check_negotiate(const uint8_t *data, size_t size)
{
    struct ws_span whole = {(const char *)data, size};
    struct ws_span values[VALUES_MAX];
    unsigned n = 0;
    const char *p = (const char *)data;
    const char *end = p + size;

    /* The values are the lines of the input (at most VALUES_MAX). */
    while (n < VALUES_MAX) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        values[n].p = p;
        values[n].len = (size_t)((nl != NULL ? nl : end) - p);
        n++;
        if (nl == NULL) {
            break;
        }
        p = nl + 1;
    }
    for (size_t c = 0; c < sizeof(configs) / sizeof(configs[0]); c++) {
        negotiate(&configs[c], &whole, 1);
        if (n > 1) {
            negotiate(&configs[c], values, n);
        }
    }
}

struct inflate_result {
    size_t len;     /* bytes produced, at most INFLATE_CAP */
    bool too_big;   /* the message would exceed INFLATE_CAP */
    uint16_t error; /* close code of a failure, 0 if none */
};

/*
 * Inflates in[0..n) onto out[r->len..INFLATE_CAP) the way ws_session's
 * inflate_onto_msg does. Returns false once the message is refused.
 */
static bool
inflate_onto(struct ws_deflate *d, const uint8_t *in, size_t n, uint8_t *out,
             struct inflate_result *r)
{
    struct ws_error err = {0, NULL};

    for (;;) {
        if (r->len == INFLATE_CAP) {
            uint8_t probe;
            size_t one = 1;
            if (ws_deflate_inflate(d, &in, &n, &probe, &one, &err) != 0) {
                r->error = err.code;
                return false;
            }
            r->too_big = one == 1;
            return !r->too_big;
        }
        size_t room = INFLATE_CAP - r->len;
        if (room > INFLATE_ROOM) {
            room = INFLATE_ROOM;
        }
        size_t produced = room;
        if (ws_deflate_inflate(d, &in, &n, out + r->len, &produced, &err) !=
            0) {
            FUZZ_CHECK(err.code == 1007 || err.code == 1011);
            r->error = err.code;
            return false;
        }
        FUZZ_CHECK(produced <= room);
        r->len += produced;
        if (produced < room && n == 0) {
            return true;
        }
        /* Stopped early with input left: an error comes next, and it
         * must come with no output (ws_deflate_inflate). */
        if (produced < room) {
            uint8_t more[INFLATE_ROOM];
            size_t room2 = sizeof(more);
            FUZZ_CHECK(ws_deflate_inflate(d, &in, &n, more, &room2, &err) != 0);
            FUZZ_CHECK(room2 == 0 && err.code == 1007);
            r->error = err.code;
            return false;
        }
    }
}

/* Inflates data as one message arriving in two pieces cut at split. */
static void
inflate_message(const uint8_t *data, size_t size, size_t split, uint8_t *out,
                struct inflate_result *r)
{
    static const struct ws_deflate_params params = {false, false, 15, 15};
    struct ws_deflate d;
    struct ws_error err = {0, NULL};

    memset(&d, 0, sizeof(d));
    memset(r, 0, sizeof(*r));
    ws_deflate_init(&d, &configs[0], &params);
    if (inflate_onto(&d, data, split, out, r) &&
        inflate_onto(&d, data + split, size - split, out, r) &&
        inflate_onto(&d, WS_DEFLATE_TAIL, WS_DEFLATE_TAIL_LEN, out, r) &&
        ws_deflate_inflate_end(&d, &err) != 0) {
        FUZZ_CHECK(err.code == 1007);
        r->error = err.code;
    }
    ws_deflate_clear(&d);
}

static void
check_inflate(const uint8_t *data, size_t size)
{
    static uint8_t out_whole[INFLATE_CAP];
    static uint8_t out_split[INFLATE_CAP];
    struct inflate_result whole;
    struct inflate_result split;

    inflate_message(data, size, size, out_whole, &whole);
    inflate_message(data, size, size > 0 ? data[0] % (size + 1) : 0, out_split,
                    &split);
    FUZZ_CHECK(whole.too_big == split.too_big);
    FUZZ_CHECK(whole.error == split.error);
    /* What came out before an error may depend on the cut; not the rest. */
    if (whole.error == 0) {
        FUZZ_CHECK(whole.len == split.len);
        FUZZ_CHECK(memcmp(out_whole, out_split, whole.len) == 0);
    }
}

/*
 * Compresses data with the sender's parameters and inflates it with the
 * receiver's matching ones, rounds times on the same two contexts.
 */
static void
check_round_trip(const uint8_t *data, size_t size, uint8_t knobs)
{
    struct ws_deflate_params tx = {(knobs & 1) != 0, false,
                                   (uint8_t)(9 + (knobs >> 1) % 7), 15};
    struct ws_deflate_params rx = {false, tx.server_no_context_takeover, 15,
                                   tx.server_max_window_bits};
    struct ws_deflate sender;
    struct ws_deflate receiver;
    size_t cap = ws_deflate_compress_bound(size);
    uint8_t *z = malloc(cap);
    uint8_t *back = malloc(size + 1);

    FUZZ_CHECK(z != NULL && back != NULL);
    memset(&sender, 0, sizeof(sender));
    memset(&receiver, 0, sizeof(receiver));
    ws_deflate_init(&sender, &configs[knobs & 0x80 ? 1 : 0], &tx);
    ws_deflate_init(&receiver, &configs[0], &rx);
    for (int round = 0; round < 2; round++) {
        struct ws_error err = {0, NULL};
        ssize_t zlen = ws_deflate_compress(&sender, data, size, z, cap);
        FUZZ_CHECK(zlen > 0 && (size_t)zlen <= cap);

        const uint8_t *in = z;
        size_t in_len = (size_t)zlen;
        size_t produced = size + 1;
        FUZZ_CHECK(ws_deflate_inflate(&receiver, &in, &in_len, back, &produced,
                                      &err) == 0);
        FUZZ_CHECK(in_len == 0);
        size_t more = size + 1 - produced;
        in = WS_DEFLATE_TAIL;
        in_len = WS_DEFLATE_TAIL_LEN;
        FUZZ_CHECK(ws_deflate_inflate(&receiver, &in, &in_len, back + produced,
                                      &more, &err) == 0);
        FUZZ_CHECK(produced + more == size);
        FUZZ_CHECK(size == 0 || memcmp(back, data, size) == 0);
        FUZZ_CHECK(ws_deflate_inflate_end(&receiver, &err) == 0);
    }
    ws_deflate_clear(&sender);
    ws_deflate_clear(&receiver);
    free(z);
    free(back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_negotiate(data, size);
    check_inflate(data, size);
    check_round_trip(data, size, size > 0 ? data[size - 1] : 0);
    return 0;
}
