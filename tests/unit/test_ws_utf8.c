/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for ws_utf8: a table of valid and invalid sequences with the
 * exact offset of the first bad byte, each fed whole, one byte at a time and
 * at random splits; then a differential test against a slow reference
 * validator, kept here, over random byte strings.
 */
#include "autoconf.h"

#include "ws_utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "split.h"
#include "tap.h"

/* A byte string literal and its length, without the terminating NUL. */
#define BYTES(s) (const uint8_t *)(s), sizeof(s) - 1

/* The outcome of validating a whole string. */
struct result {
    bool ok;       /* no invalid byte was found */
    bool complete; /* when ok: no sequence left unfinished */
    size_t bad_at; /* when !ok: offset of the first invalid byte */
};

struct utf8_case {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    bool ok; /* the expected struct result, flattened */
    bool complete;
    size_t bad_at;
};

#define VALID             true, true, 0
#define INCOMPLETE        true, false, 0
#define INVALID_AT(where) false, false, (where)

/*
 * Sequences from Unicode Table 3-7 ("Well-Formed UTF-8 Byte Sequences") and
 * RFC 3629 §4, assembled by hand. The expected bad offset is the first byte
 * at which the table admits no continuation.
 */
static const struct utf8_case cases[] = {
    {"empty", BYTES(""), VALID},
    {"ASCII", BYTES("Hello"), VALID},
    {"U+0000", BYTES("\x00"), VALID},
    {"U+007F, last 1-byte", BYTES("\x7f"), VALID},
    {"U+0080, first 2-byte", BYTES("\xc2\x80"), VALID},
    {"U+07FF, last 2-byte", BYTES("\xdf\xbf"), VALID},
    {"U+0800, first 3-byte", BYTES("\xe0\xa0\x80"), VALID},
    {"U+0FFF", BYTES("\xe0\xbf\xbf"), VALID},
    {"U+1000", BYTES("\xe1\x80\x80"), VALID},
    {"U+D7FF, before surrogates", BYTES("\xed\x9f\xbf"), VALID},
    {"U+E000, after surrogates", BYTES("\xee\x80\x80"), VALID},
    {"U+FFFD", BYTES("\xef\xbf\xbd"), VALID},
    {"U+FFFF, last 3-byte", BYTES("\xef\xbf\xbf"), VALID},
    {"U+10000, first 4-byte", BYTES("\xf0\x90\x80\x80"), VALID},
    {"U+3FFFF", BYTES("\xf0\xbf\xbf\xbf"), VALID},
    {"U+40000", BYTES("\xf1\x80\x80\x80"), VALID},
    {"U+100000", BYTES("\xf4\x80\x80\x80"), VALID},
    {"U+10FFFF, last code point", BYTES("\xf4\x8f\xbf\xbf"), VALID},
    /* Greek "kosme", the classic mixed 2- and 3-byte sample. */
    {"kosme", BYTES("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), VALID},
    {"ASCII word, then 2-byte", BYTES("abcdefg\xc3\xa9hijklmnop"), VALID},
    {"16 ASCII, 4-byte, 9 ASCII",
     BYTES("0123456789abcdef\xf0\x9f\x98\x80"
           "012345678"),
     VALID},

    /* Lone continuation bytes and bytes that never appear in UTF-8. */
    {"lone 80", BYTES("\x80"), INVALID_AT(0)},
    {"lone BF", BYTES("\xbf"), INVALID_AT(0)},
    {"ASCII, lone 80", BYTES("A\x80"), INVALID_AT(1)},
    {"2-byte, extra continuation", BYTES("\xc2\x80\x80"), INVALID_AT(2)},
    {"C0, overlong lead", BYTES("\xc0\xaf"), INVALID_AT(0)},
    {"C1, overlong lead", BYTES("\xc1\xbf"), INVALID_AT(0)},
    {"F5 lead, above U+10FFFF", BYTES("\xf5\x80\x80\x80"), INVALID_AT(0)},
    {"F7 lead", BYTES("\xf7\xbf\xbf\xbf"), INVALID_AT(0)},
    {"F8 lead, 5-byte form", BYTES("\xf8\x88\x80\x80\x80"), INVALID_AT(0)},
    {"FC lead, 6-byte form", BYTES("\xfc\x84\x80\x80\x80\x80"), INVALID_AT(0)},
    {"FE", BYTES("\xfe"), INVALID_AT(0)},
    {"FF", BYTES("\xff"), INVALID_AT(0)},

    /* Overlong forms: Table 3-7 narrows the second byte after E0 and F0. */
    {"overlong U+002F in 3 bytes", BYTES("\xe0\x80\xaf"), INVALID_AT(1)},
    {"overlong U+07FF in 3 bytes", BYTES("\xe0\x9f\xbf"), INVALID_AT(1)},
    {"overlong U+002F in 4 bytes", BYTES("\xf0\x80\x80\xaf"), INVALID_AT(1)},
    {"overlong U+FFFF in 4 bytes", BYTES("\xf0\x8f\xbf\xbf"), INVALID_AT(1)},

    /* Surrogates U+D800..U+DFFF: ED A0..BF. */
    {"U+D800, first surrogate", BYTES("\xed\xa0\x80"), INVALID_AT(1)},
    {"U+DBFF", BYTES("\xed\xaf\xbf"), INVALID_AT(1)},
    {"U+DC00", BYTES("\xed\xb0\x80"), INVALID_AT(1)},
    {"U+DFFF, last surrogate", BYTES("\xed\xbf\xbf"), INVALID_AT(1)},
    {"kosme, then U+D800",
     BYTES("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce"
           "\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64"),
     INVALID_AT(12)},

    /* Above U+10FFFF: F4 90..BF. */
    {"U+110000", BYTES("\xf4\x90\x80\x80"), INVALID_AT(1)},
    {"F4 BF", BYTES("\xf4\xbf\xbf\xbf"), INVALID_AT(1)},

    /* A sequence cut short by a byte that is not a continuation. */
    {"C2, then ASCII", BYTES("\xc2\x41"), INVALID_AT(1)},
    {"E1 80, then ASCII", BYTES("\xe1\x80\x41"), INVALID_AT(2)},
    {"F0 90 80, then ASCII", BYTES("\xf0\x90\x80\x41"), INVALID_AT(3)},
    {"C2, then a new lead", BYTES("\xc2\xc2\x80"), INVALID_AT(1)},
    {"E0, then FF", BYTES("\xe0\xff"), INVALID_AT(1)},

    /* Truncated at the end: still a valid prefix, but not complete. */
    {"C2 at end", BYTES("\xc2"), INCOMPLETE},
    {"E0 A0 at end", BYTES("\xe0\xa0"), INCOMPLETE},
    {"ED 9F at end", BYTES("\xed\x9f"), INCOMPLETE},
    {"F0 90 80 at end", BYTES("\xf0\x90\x80"), INCOMPLETE},
    {"F4 8F BF at end", BYTES("\xf4\x8f\xbf"), INCOMPLETE},
    {"kosme, then E1 at end",
     BYTES("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xe1"), INCOMPLETE},

    /* Failures inside and just after the 8-byte ASCII fast path. */
    {"8 ASCII, then 80", BYTES("01234567\x80"), INVALID_AT(8)},
    {"15 ASCII, then FF", BYTES("0123456789abcde\xff"), INVALID_AT(15)},
    {"16 ASCII, then C0", BYTES("0123456789abcdef\xc0\x80"), INVALID_AT(16)},
    {"7 ASCII, E0 80", BYTES("0123456\xe0\x80zzzzzzzz"), INVALID_AT(8)},
    {"9 ASCII, ED A0, ASCII", BYTES("012345678\xed\xa0\x80zzzzzzzz"),
     INVALID_AT(10)},
};

/*
 * The reference validator: decodes one code point at a time, plainly. After
 * each byte of a sequence it computes the range of code points the bytes
 * read so far could still become, and calls the byte bad when that range
 * holds no scalar value encoded in that many bytes (overlong, surrogate, or
 * above U+10FFFF). It shares nothing with the code under test.
 */
static size_t
ref_seq_len(uint8_t b)
{
    if ((b & 0x80) == 0x00) {
        return 1;
    }
    if ((b & 0xe0) == 0xc0) {
        return 2;
    }
    if ((b & 0xf0) == 0xe0) {
        return 3;
    }
    if ((b & 0xf8) == 0xf0) {
        return 4;
    }
    return 0;
}

static bool
ref_range_alive(uint32_t lo, uint32_t hi, size_t n)
{
    static const uint32_t shortest[5] = {0, 0, 0x80, 0x800, 0x10000};

    if (lo < shortest[n]) {
        lo = shortest[n];
    }
    if (hi > 0x10ffff) {
        hi = 0x10ffff;
    }
    if (lo > hi) {
        return false;
    }
    /* Alive unless every remaining candidate is a surrogate. */
    return !(lo >= 0xd800 && hi <= 0xdfff);
}

static struct result
ref_validate(const uint8_t *p, size_t len)
{
    static const uint8_t lead_bits[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    struct result r = {true, true, 0};
    size_t i = 0;

    while (i < len) {
        size_t n = ref_seq_len(p[i]);

        if (n == 0) {
            r.ok = false;
            r.bad_at = i;
            return r;
        }
        uint32_t cp = p[i] & lead_bits[n];
        for (size_t k = 0; k < n; k++) {
            if (k > 0) {
                if (i + k == len) {
                    r.complete = false;
                    return r;
                }
                if ((p[i + k] & 0xc0) != 0x80) {
                    r.ok = false;
                    r.bad_at = i + k;
                    return r;
                }
                cp = cp << 6 | (p[i + k] & 0x3fu);
            }
            unsigned free_bits = (unsigned)(6 * (n - 1 - k));
            uint32_t lo = cp << free_bits;
            uint32_t hi = lo | ((UINT32_C(1) << free_bits) - 1);
            if (!ref_range_alive(lo, hi, n)) {
                r.ok = false;
                r.bad_at = i + k;
                return r;
            }
        }
        i += n;
    }
    return r;
}

static size_t
ref_encode(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (uint8_t)(0xf0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/*
 * Feeds p[0..len) to a fresh validator in pieces cut as split says, each in
 * a heap block of exactly its size (split_piece_new()). Random splits add
 * empty pieces too, and an empty string is fed once as an empty piece.
 */
static struct result
feed_split(const uint8_t *p, size_t len, enum split split)
{
    struct ws_utf8 u = {0};
    struct result r = {true, true, 0};
    size_t at = 0;

    do {
        size_t n = 0;
        size_t bad = 0;

        /* An empty piece must leave the state alone. */
        if (at < len && (split != SPLIT_RANDOM || tap_rand_below(4) != 0)) {
            n = split_next(split, len - at);
        }
        /* An empty piece is passed as NULL: it must not be read at all. */
        uint8_t *piece = split_piece_new(p + at, n);
        bool fed = ws_utf8_feed(&u, piece, n, &bad);
        split_piece_free(piece, n);
        if (!fed) {
            r.ok = false;
            r.complete = false;
            r.bad_at = at + bad;
            return r;
        }
        at += n;
    } while (at < len);
    r.complete = ws_utf8_is_complete(&u);
    return r;
}

static bool
same_result(struct result a, struct result b)
{
    if (a.ok != b.ok) {
        return false;
    }
    return a.ok ? a.complete == b.complete : a.bad_at == b.bad_at;
}

static void
check_result(struct result got, struct result want, const char *name,
             const char *how)
{
    if (want.ok) {
        ok(got.ok && got.complete == want.complete, "%s (%s): %s", name, how,
           want.complete ? "valid" : "valid but incomplete");
        if (!got.ok) {
            tap_diag("rejected at offset %zu", got.bad_at);
        }
    } else {
        ok(!got.ok && got.bad_at == want.bad_at, "%s (%s): bad at %zu", name,
           how, want.bad_at);
        if (got.ok) {
            tap_diag("accepted (complete: %d)", got.complete);
        } else if (got.bad_at != want.bad_at) {
            tap_diag("rejected at offset %zu", got.bad_at);
        }
    }
}

static void
test_table(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct utf8_case *c = &cases[i];
        struct result want = {c->ok, c->complete, c->bad_at};

        for (int s = SPLIT_WHOLE; s <= SPLIT_RANDOM; s++) {
            check_result(feed_split(c->bytes, c->len, (enum split)s), want,
                         c->name, split_name((enum split)s));
        }
        is_int(ws_utf8_is_valid(c->bytes, c->len), want.ok && want.complete,
               "%s: ws_utf8_is_valid", c->name);
        /* The reference must agree with the table before it judges. */
        check_result(ref_validate(c->bytes, c->len), want, c->name,
                     "reference");
    }
}

static void
test_api_edges(void)
{
    struct ws_utf8 u = {0};
    size_t bad = 99;

    ok(ws_utf8_is_complete(&u), "zero-filled state is complete");
    ok(ws_utf8_feed(&u, NULL, 0, &bad), "empty feed succeeds");
    is_int(bad, 99, "empty feed leaves bad_at alone");
    ok(!ws_utf8_feed(&u, BYTES("\xff"), NULL), "bad_at may be NULL");

    ws_utf8_reset(&u);
    ok(ws_utf8_is_complete(&u), "reset after a failure: complete");
    ok(ws_utf8_feed(&u, BYTES("\xe2\x82"), &bad), "euro sign, first part");
    ok(!ws_utf8_is_complete(&u), "euro sign, first part: incomplete");
    ok(ws_utf8_feed(&u, BYTES("\xac"), &bad), "euro sign, last byte");
    ok(ws_utf8_is_complete(&u), "euro sign: complete");

    /* State carries across calls: the second piece fails at its own 0. */
    ws_utf8_reset(&u);
    ok(ws_utf8_feed(&u, BYTES("abc\xed"), &bad), "ED at the end of a piece");
    ok(!ws_utf8_feed(&u, BYTES("\xa0\x80"), &bad), "A0 in the next piece");
    is_int(bad, 0, "bad_at is relative to the piece");
}

/* A random multi-byte sequence with 1 to 3 of its last bytes missing. */
static size_t
rand_truncated(uint8_t *out)
{
    size_t n =
        ref_encode((uint32_t)(0x80 + tap_rand_below(0x10ffff - 0x80 + 1)), out);

    return n - 1 - tap_rand_below(n - 1);
}

/* One random piece of test input, biased towards bytes above 0x7f. */
static size_t
rand_piece(uint8_t *out, bool valid_only)
{
    static const uint32_t edges[] = {
        0x7f,   0x80,   0x7ff,   0x800,   0xfff,   0x1000,  0xd7ff,   0xe000,
        0xfffd, 0xffff, 0x10000, 0x3ffff, 0x40000, 0xfffff, 0x100000, 0x10ffff,
    };
    static const uint8_t leads[] = {0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1,
                                    0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4,
                                    0xf5, 0xf7, 0xf8, 0xfe, 0xff};
    uint32_t cp;
    size_t n;

    switch (tap_rand_below(valid_only ? 4 : 8)) {
    case 0:
        n = 1 + tap_rand_below(20);
        for (size_t i = 0; i < n; i++) {
            out[i] = (uint8_t)(0x20 + tap_rand_below(0x5f));
        }
        return n;
    case 1:
        return ref_encode(
            edges[tap_rand_below(sizeof(edges) / sizeof(edges[0]))], out);
    case 2:
    case 3:
        do {
            cp = (uint32_t)(0x80 + tap_rand_below(0x10ffff - 0x80 + 1));
        } while (cp >= 0xd800 && cp <= 0xdfff);
        return ref_encode(cp, out);
    case 4:
        out[0] = (uint8_t)(0x80 + tap_rand_below(0x80));
        return 1;
    case 5:
        out[0] = leads[tap_rand_below(sizeof(leads))];
        out[1] = (uint8_t)(0x80 + tap_rand_below(0x40));
        return 2;
    case 6:
        return rand_truncated(out);
    default:
        out[0] = (uint8_t)tap_rand_below(256);
        return 1;
    }
}

static void
test_differential(void)
{
    enum { STRINGS = 20000, MAX_LEN = 96 };
    unsigned mismatches[3] = {0, 0, 0};
    unsigned n_ok = 0, n_incomplete = 0, n_bad = 0, n_is_valid_wrong = 0;

    for (unsigned t = 0; t < STRINGS; t++) {
        uint8_t buf[MAX_LEN + 32];
        size_t len = 0;
        size_t want_len = tap_rand_below(MAX_LEN);
        bool valid_only = tap_rand_below(4) == 0;

        while (len < want_len) {
            len += rand_piece(buf + len, valid_only);
        }
        if (valid_only && tap_rand_below(2) == 0) {
            len += rand_truncated(buf + len);
        }

        struct result want = ref_validate(buf, len);
        n_ok += want.ok && want.complete;
        n_incomplete += want.ok && !want.complete;
        n_bad += !want.ok;

        for (int s = SPLIT_WHOLE; s <= SPLIT_RANDOM; s++) {
            struct result got = feed_split(buf, len, (enum split)s);
            if (!same_result(got, want) && mismatches[s]++ == 0) {
                tap_diag("%s split: string %u differs (got ok=%d bad_at=%zu,"
                         " want ok=%d bad_at=%zu)",
                         split_name((enum split)s), t, got.ok, got.bad_at,
                         want.ok, want.bad_at);
            }
        }
        if (ws_utf8_is_valid(buf, len) != (want.ok && want.complete)) {
            n_is_valid_wrong++;
        }
    }
    tap_diag("random strings: %u valid, %u incomplete, %u invalid", n_ok,
             n_incomplete, n_bad);
    for (int s = SPLIT_WHOLE; s <= SPLIT_RANDOM; s++) {
        is_int(mismatches[s], 0, "differential, %s: %d strings agree",
               split_name((enum split)s), STRINGS);
    }
    is_int(n_is_valid_wrong, 0, "differential: ws_utf8_is_valid agrees");
    ok(n_ok > STRINGS / 10 && n_incomplete > STRINGS / 100 &&
           n_bad > STRINGS / 10,
       "differential: the mix covers valid, incomplete and invalid");
}

/* ws_utf8_cut: at most max bytes, never half a character. */
static void
test_cut(void)
{
    static const struct {
        const char *s;
        size_t max;
        size_t want;
        const char *name;
    } t[] = {
        {"abc", 5, 3, "a string that fits is kept whole"},
        {"abc", 3, 3, "one of exactly max bytes too"},
        {"abcd", 3, 3, "ASCII is cut at max"},
        {"ab\xc3\xa9", 3, 2, "a 2-byte character the cut splits is left out"},
        {"a\xe2\x82\xac", 2, 1, "a 3-byte one, cut after its lead byte"},
        {"a\xe2\x82\xac", 3, 1, "a 3-byte one, cut inside it"},
        {"a\xf0\x9f\x98\x80"
         "b",
         4, 1, "a 4-byte one, cut before its last"},
        {"a\xf0\x9f\x98\x80"
         "b",
         5, 5, "a cut after a whole character"},
        {"\xc3\xa9\x80\x80", 3, 3,
         "a stray continuation byte after a whole character is cut where "
         "it falls"},
        {"a\x80\x80\x80\x80\x80", 4, 4,
         "continuation bytes without a lead byte are cut where they fall"},
        {"\xc3\xa9", 1, 0, "a cut inside the first character keeps nothing"},
        {"", 0, 0, "an empty string"},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        is_int(ws_utf8_cut((const uint8_t *)t[i].s, strlen(t[i].s), t[i].max),
               t[i].want, "cut: %s", t[i].name);
    }
}

int
main(void)
{
    tap_seed();
    test_table();
    test_api_edges();
    test_differential();
    test_cut();
    return tap_done();
}
