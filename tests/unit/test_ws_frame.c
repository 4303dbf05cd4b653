/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for ws_frame: header decoding of the RFC 6455 §5.7 examples and
 * of hand-assembled good and bad headers, fed whole, one byte at a time and
 * at random splits; header encoding against the same bytes; masking against
 * a plain byte loop.
 */
#include "autoconf.h"

#include "ws_frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "split.h"
#include "tap.h"

/* A byte string literal and its length, without the terminating NUL. */
#define BYTES(s) (const uint8_t *)(s), sizeof(s) - 1
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct good_header {
    const char *name;
    const uint8_t *bytes; /* the header, maybe followed by payload */
    size_t len;
    size_t header_len;
    bool fin;
    uint8_t rsv;
    uint8_t opcode;
    const char *mask; /* the 4-byte masking key, or NULL when unmasked */
    uint64_t payload_len;
    const char *payload; /* the unmasked payload, or NULL if not given */
};

static const struct good_header good[] = {
    /* RFC 6455 §5.7: a single-frame unmasked text message, "Hello". */
    {"RFC 6455 5.7 unmasked Hello", BYTES("\x81\x05\x48\x65\x6c\x6c\x6f"), 2,
     true, 0, WS_OP_TEXT, NULL, 5, "Hello"},
    /* RFC 6455 §5.7: a single-frame masked text message, "Hello". */
    {"RFC 6455 5.7 masked Hello",
     BYTES("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"), 6, true, 0,
     WS_OP_TEXT, "\x37\xfa\x21\x3d", 5, "Hello"},
    /* RFC 6455 §5.7: a fragmented unmasked text message, first "Hel"... */
    {"RFC 6455 5.7 fragment Hel", BYTES("\x01\x03\x48\x65\x6c"), 2, false, 0,
     WS_OP_TEXT, NULL, 3, "Hel"},
    /* ... then "lo" in a final continuation frame. */
    {"RFC 6455 5.7 fragment lo", BYTES("\x80\x02\x6c\x6f"), 2, true, 0,
     WS_OP_CONT, NULL, 2, "lo"},
    /* RFC 6455 §5.7: an unmasked Ping whose body is "Hello". */
    {"RFC 6455 5.7 unmasked Ping", BYTES("\x89\x05\x48\x65\x6c\x6c\x6f"), 2,
     true, 0, WS_OP_PING, NULL, 5, "Hello"},
    /* RFC 6455 §5.7: a masked Pong answering it. */
    {"RFC 6455 5.7 masked Pong",
     BYTES("\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"), 6, true, 0,
     WS_OP_PONG, "\x37\xfa\x21\x3d", 5, "Hello"},
    /* RFC 6455 §5.7: 256 bytes of binary data, 16-bit length (header). */
    {"RFC 6455 5.7 256-byte binary", BYTES("\x82\x7e\x01\x00"), 4, true, 0,
     WS_OP_BINARY, NULL, 256, NULL},
    /* RFC 6455 §5.7: 64KiB of binary data, 64-bit length (header). */
    {"RFC 6455 5.7 64KiB binary",
     BYTES("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"), 10, true, 0,
     WS_OP_BINARY, NULL, 65536, NULL},
    /* RFC 7692 §7.2.3.1: "Hello" compressed in one frame, RSV1 set. */
    {"RFC 7692 7.2.3.1 compressed Hello",
     BYTES("\xc1\x07\xf2\x48\xcd\xc9\xc9\x07\x00"), 2, true, WS_RSV1,
     WS_OP_TEXT, NULL, 7, NULL},

    /* Hand-assembled by the §5.2 layout: the length boundaries. */
    {"empty text", BYTES("\x81\x00"), 2, true, 0, WS_OP_TEXT, NULL, 0, ""},
    {"7-bit length 125", BYTES("\x82\x7d"), 2, true, 0, WS_OP_BINARY, NULL, 125,
     NULL},
    {"16-bit length 126", BYTES("\x82\x7e\x00\x7e"), 4, true, 0, WS_OP_BINARY,
     NULL, 126, NULL},
    {"16-bit length 65535", BYTES("\x02\x7e\xff\xff"), 4, false, 0,
     WS_OP_BINARY, NULL, 65535, NULL},
    {"64-bit length 2^63-1", BYTES("\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff"),
     10, true, 0, WS_OP_BINARY, NULL, UINT64_C(0x7fffffffffffffff), NULL},
    {"masked 64-bit length 2^32",
     BYTES("\x82\xff\x00\x00\x00\x01\x00\x00\x00\x00\x01\x02\x03\x04"), 14,
     true, 0, WS_OP_BINARY, "\x01\x02\x03\x04", UINT64_C(0x100000000), NULL},
    {"masked 16-bit length 300", BYTES("\x81\xfe\x01\x2c\xa1\xb2\xc3\xd4"), 8,
     true, 0, WS_OP_TEXT, "\xa1\xb2\xc3\xd4", 300, NULL},
    {"Ping of 125 bytes", BYTES("\x89\x7d"), 2, true, 0, WS_OP_PING, NULL, 125,
     NULL},
    {"empty Close", BYTES("\x88\x00"), 2, true, 0, WS_OP_CLOSE, NULL, 0, ""},
    {"masked empty Close", BYTES("\x88\x80\x00\x00\x00\x00"), 6, true, 0,
     WS_OP_CLOSE, "\x00\x00\x00\x00", 0, ""},
    {"all RSV bits, reported", BYTES("\xf2\x00"), 2, true,
     WS_RSV1 | WS_RSV2 | WS_RSV3, WS_OP_BINARY, NULL, 0, ""},
    {"RSV2 on a Ping, reported", BYTES("\xa9\x00"), 2, true, WS_RSV2,
     WS_OP_PING, NULL, 0, ""},
    {"non-final continuation", BYTES("\x00\x01\x21"), 2, false, 0, WS_OP_CONT,
     NULL, 1, "!"},
};

struct bad_header {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    size_t fail_at; /* the shortest prefix that is judged bad */
    const char *reason;
};

/* Hand-assembled headers that break §5.2 whatever the session. */
static const struct bad_header bad[] = {
    {"opcode 0x3", BYTES("\x83\x00"), 1, "reserved opcode"},
    {"opcode 0x4", BYTES("\x84\x00"), 1, "reserved opcode"},
    {"opcode 0x5", BYTES("\x85\x00"), 1, "reserved opcode"},
    {"opcode 0x6", BYTES("\x86\x00"), 1, "reserved opcode"},
    {"opcode 0x7, not final", BYTES("\x07\x00"), 1, "reserved opcode"},
    {"opcode 0xb", BYTES("\x8b\x00"), 1, "reserved opcode"},
    {"opcode 0xc", BYTES("\x8c\x00"), 1, "reserved opcode"},
    {"opcode 0xd", BYTES("\x8d\x00"), 1, "reserved opcode"},
    {"opcode 0xe", BYTES("\x8e\x00"), 1, "reserved opcode"},
    {"opcode 0xf, not final", BYTES("\x0f\x00"), 1, "reserved opcode"},
    {"fragmented Close", BYTES("\x08\x00"), 1, "fragmented control frame"},
    {"fragmented Ping", BYTES("\x09\x05\x48\x65\x6c\x6c\x6f"), 1,
     "fragmented control frame"},
    {"fragmented Pong", BYTES("\x0a\x00"), 1, "fragmented control frame"},
    {"Ping of 126 bytes", BYTES("\x89\x7e\x00\x7e"), 2,
     "control frame payload over 125 bytes"},
    {"Close with 64-bit length",
     BYTES("\x88\x7f\x00\x00\x00\x00\x00\x00\x01"
           "\x00"),
     2, "control frame payload over 125 bytes"},
    {"masked Pong of 126 bytes", BYTES("\x8a\xfe\x00\x7e\x01\x02\x03\x04"), 2,
     "control frame payload over 125 bytes"},
    {"64-bit length, top bit set",
     BYTES("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"), 10,
     "64-bit payload length with the most significant bit set"},
    {"64-bit length, all ones, masked",
     BYTES("\x82\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x02\x03\x04"), 10,
     "64-bit payload length with the most significant bit set"},
    {"16-bit length holding 125", BYTES("\x82\x7e\x00\x7d"), 4,
     "payload length not minimally encoded"},
    {"16-bit length holding 0, masked",
     BYTES("\x81\xfe\x00\x00\x01\x02\x03\x04"), 4,
     "payload length not minimally encoded"},
    {"64-bit length holding 65535",
     BYTES("\x82\x7f\x00\x00\x00\x00\x00\x00\xff\xff"), 10,
     "payload length not minimally encoded"},
    {"64-bit length holding 126",
     BYTES("\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x7e"), 10,
     "payload length not minimally encoded"},
    {"64-bit length holding 0",
     BYTES("\x00\x7f\x00\x00\x00\x00\x00\x00\x00"
           "\x00"),
     10, "payload length not minimally encoded"},
};

/*
 * Decodes the first n bytes of p from a piece of exactly n bytes (NULL when
 * n is 0), so that a read past the end of what was given is caught.
 */
static ssize_t
decode_prefix(struct ws_frame_header *h, const uint8_t *p, size_t n,
              struct ws_error *err)
{
    uint8_t *piece = split_piece_new(p, n);
    ssize_t rv = ws_frame_header_decode(h, piece, n, err);

    split_piece_free(piece, n);
    return rv;
}

static bool
header_matches(const struct ws_frame_header *h, const struct good_header *g)
{
    return h->fin == g->fin && h->rsv == g->rsv && h->opcode == g->opcode &&
           h->masked == (g->mask != NULL) &&
           (g->mask == NULL || memcmp(h->mask, g->mask, 4) == 0) &&
           h->payload_len == g->payload_len;
}

/*
 * A stateless decoder is fed "incrementally" by calling it again on a longer
 * prefix: every prefix shorter than the header must give WS_AGAIN and every
 * longer one the same header. The prefix grows by the pieces `how` cuts.
 */
static bool
decode_growing(const struct good_header *g, enum split how)
{
    size_t n = 0;

    for (;;) {
        struct ws_frame_header h;
        struct ws_error err = {0, NULL};
        ssize_t rv = decode_prefix(&h, g->bytes, n, &err);

        if (n < g->header_len) {
            if (rv != WS_AGAIN) {
                tap_diag("prefix of %zu bytes gave %zd", n, rv);
                return false;
            }
        } else if (rv != (ssize_t)g->header_len || !header_matches(&h, g)) {
            tap_diag("prefix of %zu bytes gave %zd", n, rv);
            return false;
        }
        if (n == g->len) {
            return true;
        }
        n += split_next(how, g->len - n);
    }
}

static void
test_decode_good(void)
{
    for (size_t i = 0; i < NELEM(good); i++) {
        const struct good_header *g = &good[i];
        struct ws_frame_header h;
        struct ws_error err = {0, NULL};

        memset(&h, 0xa5, sizeof(h));
        is_int(decode_prefix(&h, g->bytes, g->len, &err), g->header_len,
               "%s (%s): header size", g->name, split_name(SPLIT_WHOLE));
        ok(header_matches(&h, g), "%s (%s): fields", g->name,
           split_name(SPLIT_WHOLE));
        ok(decode_growing(g, SPLIT_ONE_BYTE), "%s (%s): AGAIN, then the header",
           g->name, split_name(SPLIT_ONE_BYTE));
        ok(decode_growing(g, SPLIT_RANDOM), "%s (%s): AGAIN, then the header",
           g->name, split_name(SPLIT_RANDOM));
        ok(err.reason == NULL, "%s: err untouched", g->name);

        if (g->payload != NULL) {
            uint8_t body[16];
            size_t body_len = g->len - g->header_len;

            is_int(body_len, g->payload_len, "%s: the whole payload is there",
                   g->name);
            memcpy(body, g->bytes + g->header_len, body_len);
            if (h.masked) {
                ws_frame_mask(body, body_len, h.mask, 0);
            }
            is_mem(body, body_len, g->payload, strlen(g->payload),
                   "%s: payload", g->name);
        }
    }
}

static void
test_decode_bad(void)
{
    for (size_t i = 0; i < NELEM(bad); i++) {
        const struct bad_header *b = &bad[i];
        bool early_ok = true, late_ok = true;
        size_t n_late = 0;

        for (size_t n = 0; n <= b->len; n++) {
            struct ws_frame_header h;
            struct ws_error err = {0, NULL};
            ssize_t rv = decode_prefix(&h, b->bytes, n, &err);

            if (n < b->fail_at) {
                early_ok = early_ok && rv == WS_AGAIN;
            } else {
                n_late++;
                late_ok = late_ok && rv == WS_FAIL && err.code == 1002 &&
                          err.reason != NULL &&
                          strcmp(err.reason, b->reason) == 0;
                if (n == b->len) {
                    is_str(err.reason, b->reason, "%s: reason", b->name);
                    is_int(err.code, 1002, "%s: close code", b->name);
                }
            }
        }
        ok(early_ok, "%s: AGAIN for every prefix under %zu bytes", b->name,
           b->fail_at);
        /* A row whose fail_at lies past its bytes would check nothing. */
        ok(late_ok && n_late > 0, "%s: WS_FAIL from %zu bytes on", b->name,
           b->fail_at);
    }
}

static void
test_encode(void)
{
    /* Encoding the fields of each good header gives the same bytes. */
    for (size_t i = 0; i < NELEM(good); i++) {
        const struct good_header *g = &good[i];
        uint8_t out[WS_FRAME_HEADER_MAX + 2];

        memset(out, 0xee, sizeof(out));
        ssize_t rv =
            ws_frame_header_encode(out, sizeof(out), g->fin, g->rsv, g->opcode,
                                   g->payload_len, (const uint8_t *)g->mask);
        is_int(rv, g->header_len, "encode %s: size", g->name);
        is_mem(out, g->header_len, g->bytes, g->header_len, "encode %s: bytes",
               g->name);

        bool small_ok = true;
        for (size_t cap = 0; cap < g->header_len; cap++) {
            uint8_t *tight = cap > 0 ? malloc(cap) : NULL;
            if (tight == NULL && cap > 0) {
                abort();
            }
            if (cap > 0) {
                memset(tight, 0xee, cap);
            }
            small_ok = small_ok &&
                       ws_frame_header_encode(tight, cap, g->fin, g->rsv,
                                              g->opcode, g->payload_len,
                                              (const uint8_t *)g->mask) == 0;
            for (size_t k = 0; k < cap; k++) {
                small_ok = small_ok && tight[k] == 0xee;
            }
            free(tight);
        }
        ok(small_ok, "encode %s: 0 and nothing written when cap is short",
           g->name);
    }

    uint8_t out[WS_FRAME_HEADER_MAX];
    is_int(ws_frame_header_encode(out, sizeof(out), true, 0, 0x10, 0, NULL), -1,
           "encode: opcode 0x10 is refused");
    is_int(
        ws_frame_header_encode(out, sizeof(out), true, 8, WS_OP_TEXT, 0, NULL),
        -1, "encode: rsv 8 is refused");
    is_int(ws_frame_header_encode(out, sizeof(out), true, 0, WS_OP_BINARY,
                                  UINT64_C(0x8000000000000000), NULL),
           -1, "encode: a length of 2^63 is refused");
    is_int(ws_frame_header_encode(out, sizeof(out), true, 0, WS_OP_BINARY,
                                  UINT64_MAX, NULL),
           -1, "encode: a length of 2^64-1 is refused");
}

/* Random headers through encode and decode come back unchanged. */
static void
test_round_trip(void)
{
    static const uint8_t opcodes[] = {WS_OP_CONT,  WS_OP_TEXT, WS_OP_BINARY,
                                      WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG};
    static const uint64_t lengths[] = {0,
                                       1,
                                       125,
                                       126,
                                       127,
                                       65535,
                                       65536,
                                       65537,
                                       UINT64_C(0xffffffff),
                                       UINT64_C(0x100000000),
                                       UINT64_C(0x7fffffffffffffff)};
    unsigned failures = 0;

    for (unsigned t = 0; t < 5000; t++) {
        uint8_t opcode = opcodes[tap_rand_below(NELEM(opcodes))];
        bool control = opcode >= WS_OP_CLOSE;
        bool fin = control || tap_rand_below(2) == 0;
        uint8_t rsv = (uint8_t)tap_rand_below(8);
        uint64_t len = tap_rand_below(2) == 0
                           ? lengths[tap_rand_below(NELEM(lengths))]
                           : tap_rand() >> tap_rand_below(64);
        uint8_t mask[4];
        bool masked = tap_rand_below(2) == 0;
        uint8_t buf[WS_FRAME_HEADER_MAX];
        struct ws_frame_header h;
        struct ws_error err = {0, NULL};

        if (control) {
            len %= WS_CONTROL_PAYLOAD_MAX + 1;
        } else {
            len &= UINT64_C(0x7fffffffffffffff);
        }
        for (size_t k = 0; k < 4; k++) {
            mask[k] = (uint8_t)tap_rand();
        }
        ssize_t n = ws_frame_header_encode(buf, sizeof(buf), fin, rsv, opcode,
                                           len, masked ? mask : NULL);
        ssize_t m = ws_frame_header_decode(&h, buf, (size_t)n, &err);
        if (n < 2 || m != n || h.fin != fin || h.rsv != rsv ||
            h.opcode != opcode || h.masked != masked || h.payload_len != len ||
            (masked && memcmp(h.mask, mask, 4) != 0)) {
            if (failures++ == 0) {
                tap_diag("op %u len %llu masked %d: encode %zd decode %zd",
                         opcode, (unsigned long long)len, masked, n, m);
            }
        }
    }
    is_int(failures, 0, "encode then decode: 5000 random headers agree");
}

static void
mask_bytewise(uint8_t *p, size_t len, const uint8_t mask[4], uint64_t offset)
{
    for (size_t i = 0; i < len; i++) {
        p[i] ^= mask[(offset + i) % 4];
    }
}

static void
test_mask_rfc(void)
{
    /* RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d. */
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    static const uint8_t masked[5] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
    uint8_t buf[5];

    memcpy(buf, masked, 5);
    ws_frame_mask(buf, 5, key, 0);
    is_mem(buf, 5, "Hello", 5, "unmask RFC 6455 5.7 Hello (whole)");
    ws_frame_mask(buf, 5, key, 0);
    is_mem(buf, 5, masked, 5, "mask RFC 6455 5.7 Hello (whole)");

    memcpy(buf, masked, 5);
    for (size_t i = 0; i < 5; i++) {
        ws_frame_mask(buf + i, 1, key, i);
    }
    is_mem(buf, 5, "Hello", 5, "unmask RFC 6455 5.7 Hello (1-byte)");

    memcpy(buf, masked, 5);
    for (size_t at = 0; at < 5;) {
        size_t n = tap_rand_below(4);
        if (n > 5 - at) {
            n = 5 - at;
        }
        ws_frame_mask(buf + at, n, key, at);
        at += n;
    }
    is_mem(buf, 5, "Hello", 5, "unmask RFC 6455 5.7 Hello (random)");
}

/*
 * ws_frame_mask against the byte loop for every misalignment of p, lengths
 * around the word size, and offsets whose low bits and high bits vary;
 * guard bytes on both sides must stay untouched.
 */
static void
test_mask_words(void)
{
    enum { GUARD = 16, MAX_LEN = 600 };
    static const uint64_t offsets[] = {0,
                                       1,
                                       2,
                                       3,
                                       4,
                                       5,
                                       7,
                                       125,
                                       UINT64_C(0x100000001),
                                       UINT64_C(0xfffffffffffffffd),
                                       UINT64_MAX};
    uint8_t want[GUARD + 8 + MAX_LEN + GUARD] = {0};
    uint8_t got[sizeof(want)];
    uint8_t copy[sizeof(want)];
    unsigned pairs = 0, failures = 0, copy_failures = 0;

    for (size_t align = 0; align < 8; align++) {
        for (size_t len = 0; len <= MAX_LEN; len++) {
            for (size_t o = 0; o <= NELEM(offsets); o++) {
                uint64_t offset = o < NELEM(offsets) ? offsets[o] : tap_rand();
                uint8_t key[4];

                for (size_t k = 0; k < sizeof(want); k++) {
                    want[k] = (uint8_t)tap_rand();
                }
                for (size_t k = 0; k < 4; k++) {
                    key[k] = (uint8_t)tap_rand();
                }
                memcpy(got, want, sizeof(got));
                /* The copy lands at another alignment than its source. */
                memcpy(copy, want, sizeof(copy));
                ws_frame_mask_copy(copy + GUARD + (7 - align),
                                   want + GUARD + align, len, key, offset);
                mask_bytewise(want + GUARD + align, len, key, offset);
                ws_frame_mask(got + GUARD + align, len, key, offset);
                pairs++;
                if (memcmp(got, want, sizeof(got)) != 0 && failures++ == 0) {
                    tap_diag("align %zu len %zu offset %llu differs", align,
                             len, (unsigned long long)offset);
                }
                if (memcmp(copy + GUARD + (7 - align), want + GUARD + align,
                           len) != 0 &&
                    copy_failures++ == 0) {
                    tap_diag("copy: align %zu len %zu offset %llu differs",
                             align, len, (unsigned long long)offset);
                }
            }
        }
    }
    is_int(failures, 0, "mask: %u (alignment, length, offset) cases agree",
           pairs);
    is_int(copy_failures, 0,
           "mask_copy: the same %u cases into another alignment", pairs);
}

/* A 64KiB payload unmasked in random pieces, as a session would. */
static void
test_mask_pieces(void)
{
    enum { LEN = 65536 };
    static const uint8_t key[4] = {0x01, 0x80, 0xfe, 0x7f};
    uint8_t *want = malloc(LEN);
    uint8_t *got = malloc(LEN);

    if (want == NULL || got == NULL) {
        abort();
    }
    for (size_t i = 0; i < LEN; i++) {
        want[i] = (uint8_t)tap_rand();
    }
    memcpy(got, want, LEN);
    mask_bytewise(want, LEN, key, 0);
    for (size_t at = 0; at < LEN;) {
        size_t n = tap_rand_below(100);
        if (n > LEN - at) {
            n = LEN - at;
        }
        ws_frame_mask(got + at, n, key, at);
        at += n;
    }
    is_mem(got, LEN, want, LEN, "mask: 64KiB in random pieces");

    memcpy(got, want, LEN);
    mask_bytewise(want, LEN, key, 0);
    ws_frame_mask(got, LEN, key, 0);
    is_mem(got, LEN, want, LEN, "mask: 64KiB whole");
    free(want);
    free(got);
}

static void
test_opcodes(void)
{
    /* RFC 6455 §5.2: 0-2 data, 3-7 reserved, 8-a control, b-f reserved. */
    static const bool known[16] = {1, 1, 1, 0, 0, 0, 0, 0,
                                   1, 1, 1, 0, 0, 0, 0, 0};
    static const bool control[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                     1, 1, 1, 1, 1, 1, 1, 1};

    for (uint8_t op = 0; op < 16; op++) {
        is_int(ws_frame_opcode_is_known(op), known[op], "opcode 0x%x known",
               op);
        is_int(ws_frame_opcode_is_control(op), control[op],
               "opcode 0x%x control", op);
    }
    ok(!ws_frame_opcode_is_known(0x10) && !ws_frame_opcode_is_control(0x10),
       "0x10 is neither known nor control");
    ok(!ws_frame_opcode_is_known(0x81) && !ws_frame_opcode_is_control(0x88),
       "values above 0xf are neither known nor control");

    /* RFC 6455 §11.8's names; the others reserved. */
    static const char *const names[16] = {
        "continuation", "text",     "binary",   "reserved",
        "reserved",     "reserved", "reserved", "reserved",
        "close",        "ping",     "pong",     "reserved",
        "reserved",     "reserved", "reserved", "reserved"};
    for (uint8_t op = 0; op < 16; op++) {
        is_str(ws_frame_opcode_name(op), names[op], "opcode 0x%x is named %s",
               op, names[op]);
    }
    ok(ws_frame_opcode_name(0x10) == NULL, "0x10 has no name");
}

/*
 * ws_frame_header_extent reads headers decode refuses, for their size and
 * length only; every shorter prefix asks for more.
 */
static void
test_extent(void)
{
    static const struct {
        const char *name;
        const uint8_t bytes[14];
        size_t len;
        uint8_t opcode;
        uint64_t payload_len;
    } cases[] = {
        /* 0x83: a final frame of reserved opcode 3, masked, 5 bytes. */
        {"reserved opcode", {0x83, 0x85, 1, 2, 3, 4}, 6, 0x3, 5},
        /* 0x89, 126 in 16 bits: a ping over 125 bytes, masked. */
        {"ping of 126 bytes",
         {0x89, 0xfe, 0x00, 0x7e, 1, 2, 3, 4},
         8,
         0x9,
         126},
        /* 0x09: a fragmented ping, unmasked, empty. */
        {"fragmented ping", {0x09, 0x00}, 2, 0x9, 0},
        /* 0x82, 126 in 16 bits holding 5: not minimally encoded. */
        {"non-minimal length", {0x82, 0xfe, 0x00, 0x05, 9, 9, 9, 9}, 8, 0x2, 5},
        /* 0x82, 127 and the top bit set: reported as it stands. */
        {"64-bit length, top bit set",
         {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0x01, 1, 2, 3, 4},
         14,
         0x2,
         0x8000000000000001ULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ws_frame_header h;
        for (size_t k = 0; k < cases[i].len; k++) {
            is_int(ws_frame_header_extent(&h, cases[i].bytes, k), WS_AGAIN,
                   "extent %s: %zu bytes ask for more", cases[i].name, k);
        }
        is_int(ws_frame_header_extent(&h, cases[i].bytes, cases[i].len),
               cases[i].len, "extent %s: header size", cases[i].name);
        is_int(h.opcode, cases[i].opcode, "extent %s: opcode", cases[i].name);
        ok(h.payload_len == cases[i].payload_len, "extent %s: length",
           cases[i].name);
    }
}

int
main(void)
{
#if defined(WS_FRAME_MASK_VECTORS) && WS_FRAME_MASK_VECTORS == 32 &&           \
    defined(__x86_64__) && defined(__linux__) && !defined(__clang__)
    /* This build runs the AVX2 loops, which this CPU cannot. */
    if (!__builtin_cpu_supports("avx2")) {
        printf("1..0 # SKIP this CPU has no AVX2\n");
        return 0;
    }
#endif
    tap_seed();
    test_extent();
    test_decode_good();
    test_decode_bad();
    test_encode();
    test_round_trip();
    test_mask_rfc();
    test_mask_words();
    test_mask_pieces();
    test_opcodes();
    return tap_done();
}
