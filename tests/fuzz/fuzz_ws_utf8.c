/* SPDX-License-Identifier: MIT */
/*
 * Differential fuzz target for the incremental UTF-8 validator: a slow
 * reference, written plainly from RFC 3629 §4 and Unicode Table 3-7, decodes
 * the input one code point at a time; ws_utf8 is fed the same bytes whole,
 * in two pieces split where the first byte says, and one byte at a time.
 * All must agree on valid, invalid or unfinished, and on the offset of the
 * first byte that can never be part of valid UTF-8.
 */
#include "autoconf.h"

#include "fuzz.h"

#include <stdbool.h>

#include "ws_utf8.h"

enum verdict {
    UTF8_VALID,      /* well-formed throughout and complete */
    UTF8_UNFINISHED, /* well-formed so far, a sequence left open */
    UTF8_INVALID,    /* a byte that nothing can make valid, at bad_at */
};

/*
 * Table 3-7: the lead byte fixes the sequence's length and the range of
 * its second byte; every later byte is 80..BF.
 */
static bool
lead_byte(uint8_t b, unsigned *n_cont, uint8_t *lo, uint8_t *hi)
{
    *lo = 0x80;
    *hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
        *n_cont = 1;
    } else if (b == 0xe0) {
        *n_cont = 2;
        *lo = 0xa0; /* no overlong 3-byte forms */
    } else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) {
        *n_cont = 2;
    } else if (b == 0xed) {
        *n_cont = 2;
        *hi = 0x9f; /* no surrogates D800..DFFF */
    } else if (b == 0xf0) {
        *n_cont = 3;
        *lo = 0x90; /* no overlong 4-byte forms */
    } else if (b >= 0xf1 && b <= 0xf3) {
        *n_cont = 3;
    } else if (b == 0xf4) {
        *n_cont = 3;
        *hi = 0x8f; /* nothing above U+10FFFF */
    } else {
        return false; /* 80..C1 and F5..FF never begin a sequence */
    }
    return true;
}

static enum verdict
reference(const uint8_t *p, size_t len, size_t *bad_at)
{
    size_t i = 0;

    while (i < len) {
        unsigned n_cont;
        uint8_t lo, hi;
        uint32_t cp;

        if (p[i] < 0x80) {
            i++;
            continue;
        }
        if (!lead_byte(p[i], &n_cont, &lo, &hi)) {
            *bad_at = i;
            return UTF8_INVALID;
        }
        cp = p[i] & (0x3fu >> n_cont);
        for (unsigned k = 1; k <= n_cont; k++) {
            if (i + k == len) {
                return UTF8_UNFINISHED;
            }
            uint8_t b = p[i + k];
            if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf)) {
                *bad_at = i + k;
                return UTF8_INVALID;
            }
            cp = cp << 6 | (b & 0x3fu);
        }
        /* What the ranges above promise, checked on the decoded value. */
        FUZZ_CHECK(cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff));
        FUZZ_CHECK(cp >= (n_cont == 1   ? 0x80u
                          : n_cont == 2 ? 0x800u
                                        : 0x10000u));
        i += n_cont + 1;
    }
    return UTF8_VALID;
}

/* Feeds p[0..len) in pieces of step bytes (the last may be shorter). */
static enum verdict
feed_pieces(const uint8_t *p, size_t len, size_t step, size_t *bad_at)
{
    struct ws_utf8 u;
    size_t at = 0;

    ws_utf8_reset(&u);
    while (at < len) {
        size_t n = len - at < step ? len - at : step;
        size_t bad = (size_t)-1;
        if (!ws_utf8_feed(&u, p + at, n, &bad)) {
            FUZZ_CHECK(bad < n);
            *bad_at = at + bad;
            return UTF8_INVALID;
        }
        at += n;
    }
    return ws_utf8_is_complete(&u) ? UTF8_VALID : UTF8_UNFINISHED;
}

/* Two pieces, cut at split. */
static enum verdict
feed_split(const uint8_t *p, size_t len, size_t split, size_t *bad_at)
{
    struct ws_utf8 u;
    size_t bad = (size_t)-1;

    ws_utf8_reset(&u);
    if (!ws_utf8_feed(&u, p, split, &bad)) {
        FUZZ_CHECK(bad < split);
        *bad_at = bad;
        return UTF8_INVALID;
    }
    if (!ws_utf8_feed(&u, p + split, len - split, &bad)) {
        FUZZ_CHECK(bad < len - split);
        *bad_at = split + bad;
        return UTF8_INVALID;
    }
    return ws_utf8_is_complete(&u) ? UTF8_VALID : UTF8_UNFINISHED;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t ref_bad = 0;
    size_t bad = 0;
    enum verdict want = reference(data, size, &ref_bad);
    size_t split = size > 0 ? data[0] % (size + 1) : 0;

    FUZZ_CHECK(ws_utf8_is_valid(data, size) == (want == UTF8_VALID));

    FUZZ_CHECK(feed_pieces(data, size, size + 1, &bad) == want);
    FUZZ_CHECK(want != UTF8_INVALID || bad == ref_bad);

    FUZZ_CHECK(feed_split(data, size, split, &bad) == want);
    FUZZ_CHECK(want != UTF8_INVALID || bad == ref_bad);

    FUZZ_CHECK(feed_pieces(data, size, 1, &bad) == want);
    FUZZ_CHECK(want != UTF8_INVALID || bad == ref_bad);
    return 0;
}
