/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for ws_close: which codes a peer may send (RFC 6455 §7.4),
 * parsing received close payloads (§5.5.1), and building close frames with
 * a reason cut to fit without splitting a UTF-8 sequence.
 */
#include "autoconf.h"

#include "ws_close.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "split.h"
#include "tap.h"

/* A byte string literal and its length, without the terminating NUL. */
#define BYTES(s) (const uint8_t *)(s), sizeof(s) - 1
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void
test_code_is_valid(void)
{
    /*
     * RFC 6455 §7.4.1, §7.4.2 and the IANA WebSocket Close Code Number
     * registry: the codes at and around every edge of the allowed ranges.
     */
    static const struct {
        uint32_t code;
        bool valid;
    } codes[] = {
        {0, false},          {1, false},
        {999, false},        {1000, true},
        {1001, true},        {1002, true},
        {1003, true},        {1004, false},
        {1005, false},       {1006, false},
        {1007, true},        {1008, true},
        {1009, true},        {1010, true},
        {1011, true},        {1012, true},
        {1013, true},        {1014, true},
        {1015, false},       {1016, false},
        {1100, false},       {2000, false},
        {2999, false},       {3000, true},
        {3999, true},        {4000, true},
        {4999, true},        {5000, false},
        {65535, false},      {65536, false},
        {66536, false},      {0x10000 + 1000, false},
        {UINT32_MAX, false},
    };
    unsigned n_valid = 0;

    for (size_t i = 0; i < NELEM(codes); i++) {
        is_int(ws_close_code_is_valid(codes[i].code), codes[i].valid,
               "code %lu is %s", (unsigned long)codes[i].code,
               codes[i].valid ? "valid" : "invalid");
    }
    /* 4 (1000-1003) + 8 (1007-1014) + 2000 (3000-4999). */
    for (uint32_t code = 0; code <= 0x20000; code++) {
        n_valid += ws_close_code_is_valid(code) ? 1 : 0;
    }
    is_int(n_valid, 2012, "exactly 2012 codes up to 0x20000 are valid");
}

struct parse_case {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    int want_rv;
    uint16_t want_code;      /* out->code on success, err->code on failure */
    const char *want_reason; /* the reason text, or the error sentence */
};

/* Close payloads assembled by hand per RFC 6455 §5.5.1. */
static const struct parse_case parses[] = {
    {"empty payload", BYTES(""), 0, WS_CLOSE_NO_STATUS, ""},
    {"1000, no reason", BYTES("\x03\xe8"), 0, 1000, ""},
    {"1001 with reason", BYTES("\x03\xe9going away"), 0, 1001, "going away"},
    {"1002", BYTES("\x03\xea"), 0, 1002, ""},
    {"1003", BYTES("\x03\xeb"), 0, 1003, ""},
    {"1007", BYTES("\x03\xef"), 0, 1007, ""},
    {"1011", BYTES("\x03\xf3"), 0, 1011, ""},
    {"1014", BYTES("\x03\xf6"), 0, 1014, ""},
    {"3000", BYTES("\x0b\xb8"), 0, 3000, ""},
    {"4999", BYTES("\x13\x87"), 0, 4999, ""},
    {"1000, reason kosme",
     BYTES("\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), 0, 1000,
     "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"},
    {"1000, reason with NUL", BYTES("\x03\xe8\x61\x00\x62"), 0, 1000,
     "a"}, /* compared by length below */

    {"one byte", BYTES("\x03"), WS_FAIL, 1002, "close payload of one byte"},
    {"code 0", BYTES("\x00\x00"), WS_FAIL, 1002, "invalid close code"},
    {"code 999", BYTES("\x03\xe7"), WS_FAIL, 1002, "invalid close code"},
    {"code 1004", BYTES("\x03\xec"), WS_FAIL, 1002, "invalid close code"},
    {"code 1005", BYTES("\x03\xed"), WS_FAIL, 1002, "invalid close code"},
    {"code 1006", BYTES("\x03\xee"), WS_FAIL, 1002, "invalid close code"},
    {"code 1015", BYTES("\x03\xf7"), WS_FAIL, 1002, "invalid close code"},
    {"code 1016", BYTES("\x03\xf8"), WS_FAIL, 1002, "invalid close code"},
    {"code 2999", BYTES("\x0b\xb7"), WS_FAIL, 1002, "invalid close code"},
    {"code 5000", BYTES("\x13\x88"), WS_FAIL, 1002, "invalid close code"},
    {"code 65535", BYTES("\xff\xff"), WS_FAIL, 1002, "invalid close code"},
    {"code 1005 with valid reason", BYTES("\x03\xedok"), WS_FAIL, 1002,
     "invalid close code"},
    {"bad code and bad reason", BYTES("\x03\xee\xff"), WS_FAIL, 1002,
     "invalid close code"},
    {"reason with a surrogate", BYTES("\x03\xe8\xed\xa0\x80"), WS_FAIL, 1007,
     "close reason is not valid UTF-8"},
    {"reason cut mid-sequence", BYTES("\x03\xe8\x61\xe2\x82"), WS_FAIL, 1007,
     "close reason is not valid UTF-8"},
    {"reason with FF", BYTES("\x03\xe8\xff"), WS_FAIL, 1007,
     "close reason is not valid UTF-8"},
};

static void
test_parse(void)
{
    for (size_t i = 0; i < NELEM(parses); i++) {
        const struct parse_case *c = &parses[i];
        struct ws_close_payload out = {0, false, NULL, 0};
        struct ws_error err = {0, NULL};
        /* An exact heap copy (NULL for an empty payload) catches reads
         * past the payload. */
        uint8_t *p = split_piece_new(c->bytes, c->len);

        int rv = ws_close_parse(&out, p, c->len, &err);
        is_int(rv, c->want_rv, "parse %s: result", c->name);
        if (c->want_rv == 0) {
            size_t want_len = c->len > 2 ? c->len - 2 : 0;
            is_int(out.code, c->want_code, "parse %s: code", c->name);
            is_int(out.has_code, c->len >= 2, "parse %s: has a code or not",
                   c->name);
            is_int(out.reason_len, want_len, "parse %s: reason length",
                   c->name);
            if (want_len > 0) {
                ok(out.reason == p + 2, "parse %s: reason borrows the payload",
                   c->name);
                is_mem(out.reason, out.reason_len, c->bytes + 2, want_len,
                       "parse %s: reason bytes", c->name);
            }
            if (strlen(c->want_reason) > 0) {
                is_mem(out.reason, strlen(c->want_reason), c->want_reason,
                       strlen(c->want_reason), "parse %s: reason text",
                       c->name);
            }
        } else {
            is_int(err.code, c->want_code, "parse %s: close code", c->name);
            is_str(err.reason, c->want_reason, "parse %s: error", c->name);
        }
        split_piece_free(p, c->len);
    }

    /* The longest payload a frame can carry: code plus 123 bytes. */
    uint8_t p[125];
    struct ws_close_payload out;
    struct ws_error err = {0, NULL};
    p[0] = 0x0f; /* 4000 */
    p[1] = 0xa0;
    memset(p + 2, 'x', sizeof(p) - 2);
    is_int(ws_close_parse(&out, p, sizeof(p), &err), 0, "parse 125 bytes");
    is_int(out.code, 4000, "parse 125 bytes: code");
    is_int(out.reason_len, 123, "parse 125 bytes: reason length");
}

/* Builds into an exactly sized heap buffer; compares with want. */
static void
check_build(const char *name, uint16_t code, const char *reason,
            const uint8_t *want, size_t want_len)
{
    uint8_t big[WS_CLOSE_FRAME_MAX + 8];
    bool small_ok = true;

    memset(big, 0xee, sizeof(big));
    size_t n = ws_close_frame_build(big, sizeof(big), code, reason);
    is_mem(big, n, want, want_len, "build %s: bytes", name);
    ok(n <= WS_CLOSE_FRAME_MAX && big[n] == 0xee,
       "build %s: nothing written past the frame", name);

    for (size_t cap = 0; cap <= want_len; cap++) {
        uint8_t *out = cap > 0 ? malloc(cap) : NULL;
        if (out == NULL && cap > 0) {
            abort();
        }
        if (cap > 0) {
            memset(out, 0xee, cap);
        }
        n = ws_close_frame_build(out, cap, code, reason);
        if (cap < want_len) {
            small_ok = small_ok && n == 0;
            for (size_t k = 0; k < cap; k++) {
                small_ok = small_ok && out[k] == 0xee;
            }
        } else {
            small_ok =
                small_ok && n == want_len && memcmp(out, want, want_len) == 0;
        }
        free(out);
    }
    ok(small_ok, "build %s: 0 below %zu bytes of room, the frame at it", name,
       want_len);
}

/*
 * A reason of prefix_len ASCII 'a' followed by tail, and the frame expected
 * for it: 88, the payload length, the code and the first keep bytes.
 */
static void
check_build_cut(const char *name, size_t prefix_len, const char *tail,
                size_t keep)
{
    char reason[200];
    uint8_t want[WS_CLOSE_FRAME_MAX];

    memset(reason, 'a', prefix_len);
    memcpy(reason + prefix_len, tail, strlen(tail) + 1);
    want[0] = 0x88;
    want[1] = (uint8_t)(2 + keep);
    want[2] = 0x03; /* 1000 */
    want[3] = 0xe8;
    memcpy(want + 4, reason, keep);
    check_build(name, 1000, reason, want, 4 + keep);
}

static void
test_build(void)
{
    /* RFC 6455 §5.5.1: 88, length, code in network order, reason. */
    check_build("1000, no reason", 1000, NULL, BYTES("\x88\x02\x03\xe8"));
    check_build("1000, empty reason", 1000, "", BYTES("\x88\x02\x03\xe8"));
    check_build("1001 bye", 1001, "bye", BYTES("\x88\x05\x03\xe9\x62\x79\x65"));
    check_build("1002 with reason", WS_CLOSE_PROTOCOL_ERROR, "reserved opcode",
                BYTES("\x88\x11\x03\xea"
                      "reserved opcode"));
    check_build("4999", 4999, NULL, BYTES("\x88\x02\x13\x87"));
    /* §7.1.5: 1005 stands for "no status", which is an empty body. */
    check_build("no status", WS_CLOSE_NO_STATUS, NULL, BYTES("\x88\x00"));
    check_build("no status ignores reason", WS_CLOSE_NO_STATUS, "ignored",
                BYTES("\x88\x00"));

    /* §5.5: 125 payload bytes at most, so 123 bytes of reason. */
    check_build_cut("ASCII 122", 122, "", 122);
    check_build_cut("ASCII 123", 123, "", 123);
    check_build_cut("ASCII 124, cut", 124, "", 123);
    check_build_cut("ASCII 190, cut", 190, "", 123);
    /* A sequence that would straddle the 123-byte limit is dropped whole. */
    check_build_cut("2-byte ends at 123", 121, "\xc3\xa9", 123);
    check_build_cut("2-byte straddles", 122, "\xc3\xa9", 122);
    check_build_cut("3-byte ends at 123", 120, "\xe2\x82\xac", 123);
    check_build_cut("3-byte straddles by 1", 121, "\xe2\x82\xac", 121);
    check_build_cut("3-byte straddles by 2", 122, "\xe2\x82\xac", 122);
    check_build_cut("4-byte ends at 123", 119, "\xf0\x9f\x98\x80", 123);
    check_build_cut("4-byte straddles by 1", 120, "\xf0\x9f\x98\x80", 120);
    check_build_cut("4-byte straddles by 3", 122, "\xf0\x9f\x98\x80", 122);
    check_build_cut("2-byte after the limit", 123, "\xc3\xa9", 123);

    /* What the server builds, a peer's parser accepts. */
    uint8_t frame[WS_CLOSE_FRAME_MAX];
    char reason[160];
    struct ws_close_payload out;
    struct ws_error err = {0, NULL};
    memset(reason, 0, sizeof(reason));
    for (size_t i = 0; i + 2 < 150; i += 2) {
        reason[i] = '\xc3';
        reason[i + 1] = '\xa9';
    }
    size_t n = ws_close_frame_build(frame, sizeof(frame), 1001, reason);
    is_int(n, 2 + 2 + 122, "build 74 x U+00E9: cut to 122 bytes");
    is_int(ws_close_parse(&out, frame + 2, n - 2, &err), 0,
           "build 74 x U+00E9: the payload parses");
}

int
main(void)
{
    test_code_is_valid();
    test_parse();
    test_build();
    return tap_done();
}
