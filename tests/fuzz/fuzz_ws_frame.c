/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the RFC 6455 §5.2 frame header codec. A header that
 * ws_frame_header_decode accepts must encode back to the very same bytes
 * (decode refuses non-minimal lengths, so the encoding is unique), masked
 * or not. ws_frame_header_extent must never fail on a complete header,
 * must find the size the length and mask bits imply (computed here
 * independently), and must agree with decode whenever decode succeeds.
 * Decode may fail fast on a partial header, but then consistently.
 */
#include "autoconf.h"

#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "ws_frame.h"

/* The header size bytes 0-1 imply, or 0 when fewer than 2 bytes. */
static size_t
implied_size(const uint8_t *p, size_t len)
{
    size_t n = 2;

    if (len < 2) {
        return 0;
    }
    if ((p[1] & 0x7f) == 126) {
        n += 2;
    } else if ((p[1] & 0x7f) == 127) {
        n += 8;
    }
    if (p[1] & 0x80) {
        n += 4;
    }
    return n;
}

/* The payload length as it stands in the header p (complete). */
static uint64_t
implied_length(const uint8_t *p)
{
    uint8_t len7 = p[1] & 0x7f;
    uint64_t v = 0;

    if (len7 < 126) {
        return len7;
    }
    for (size_t i = 0; i < (len7 == 126 ? 2u : 8u); i++) {
        v = v << 8 | p[2 + i];
    }
    return v;
}

static void
check_round_trip(const struct ws_frame_header *h, const uint8_t *data,
                 ssize_t n)
{
    uint8_t out[WS_FRAME_HEADER_MAX];
    ssize_t m =
        ws_frame_header_encode(out, sizeof(out), h->fin, h->rsv, h->opcode,
                               h->payload_len, h->masked ? h->mask : NULL);

    FUZZ_CHECK(m == n);
    FUZZ_CHECK(memcmp(out, data, (size_t)n) == 0);
    /* One byte short of room: "no room", and nothing else. */
    m = ws_frame_header_encode(out, (size_t)n - 1, h->fin, h->rsv, h->opcode,
                               h->payload_len, h->masked ? h->mask : NULL);
    FUZZ_CHECK(m == 0);
}

/*
 * Every proper prefix of a complete header decodes to "need more" or to a
 * failure (fail fast); a prefix that fails means the whole header fails
 * with the same reason, and a header that decodes has no failing prefix.
 */
static void
check_prefixes(const uint8_t *data, size_t want, ssize_t n_whole)
{
    for (size_t k = 0; k < want; k++) {
        struct ws_frame_header h;
        struct ws_error err = {0, NULL};
        ssize_t n = ws_frame_header_decode(&h, data, k, &err);
        FUZZ_CHECK(n == WS_AGAIN || n == WS_FAIL);
        if (n == WS_FAIL) {
            struct ws_error whole = {0, NULL};
            FUZZ_CHECK(n_whole == WS_FAIL);
            FUZZ_CHECK(ws_frame_header_decode(&h, data, want, &whole) ==
                       WS_FAIL);
            FUZZ_CHECK(whole.reason == err.reason);
            return;
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ws_frame_header h;
    struct ws_frame_header x;
    struct ws_error err = {0, NULL};
    size_t want = implied_size(data, size);
    ssize_t n = ws_frame_header_decode(&h, data, size, &err);
    ssize_t e = ws_frame_header_extent(&x, data, size);

    if (want == 0 || size < want) {
        /* Decode may fail fast on a partial header; extent waits. */
        FUZZ_CHECK(e == WS_AGAIN);
        FUZZ_CHECK(n == WS_AGAIN || (n == WS_FAIL && err.code == 1002));
        return 0;
    }
    check_prefixes(data, want, n);
    FUZZ_CHECK(e == (ssize_t)want);
    FUZZ_CHECK(x.payload_len == implied_length(data));
    FUZZ_CHECK(x.masked == ((data[1] & 0x80) != 0));
    FUZZ_CHECK(x.opcode == (data[0] & 0x0f));
    if (n == WS_FAIL) {
        FUZZ_CHECK(err.code == 1002);
        FUZZ_CHECK(err.reason != NULL);
        return 0;
    }
    FUZZ_CHECK(n == e);
    FUZZ_CHECK(h.fin == x.fin && h.rsv == x.rsv && h.opcode == x.opcode);
    FUZZ_CHECK(h.masked == x.masked && h.payload_len == x.payload_len);
    FUZZ_CHECK(!h.masked || memcmp(h.mask, x.mask, 4) == 0);
    FUZZ_CHECK(ws_frame_opcode_is_known(h.opcode));
    FUZZ_CHECK(!ws_frame_opcode_is_control(h.opcode) ||
               (h.fin && h.payload_len <= WS_CONTROL_PAYLOAD_MAX));
    check_round_trip(&h, data, n);
    return 0;
}
