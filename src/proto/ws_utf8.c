/* SPDX-License-Identifier: MIT */
/*
 * The incremental UTF-8 validator. It checks each byte against the
 * well-formed byte sequences of Unicode Table 3-7 (the same set RFC 3629 §4
 * describes), so it fails at the first byte that no valid sequence could
 * contain, as RFC 6455 §8.1 asks. It does not decode code points.
 */
#include "autoconf.h"

#include "ws_utf8.h"

#include <string.h>

/* Eight bytes at a time; any set top bit means a byte that is not ASCII. */
#define UTF8_HIGH_BITS UINT64_C(0x8080808080808080)

void
ws_utf8_reset(struct ws_utf8 *u)
{
    u->need = 0;
    u->lo = 0;
    u->hi = 0;
}

/*
 * Starts a multi-byte sequence with lead byte b. Returns false when b cannot
 * begin a sequence. Unicode Table 3-7 narrows the range of the second byte
 * after E0, ED, F0 and F4; every later continuation byte is 80..BF.
 */
static bool
utf8_lead(struct ws_utf8 *u, uint8_t b)
{
    u->lo = 0x80;
    u->hi = 0xbf;

    if (b < 0xc2) {
        /* 80..BF continue a sequence; C0 and C1 could only be overlong. */
        return false;
    }
    if (b < 0xe0) {
        u->need = 1;
        return true;
    }
    if (b < 0xf0) {
        u->need = 2;
        if (b == 0xe0) {
            /* E0 80..9F would encode U+0000..U+07FF in three bytes. */
            u->lo = 0xa0;
        } else if (b == 0xed) {
            /* ED A0..BF would encode the surrogates U+D800..U+DFFF. */
            u->hi = 0x9f;
        }
        return true;
    }
    if (b < 0xf5) {
        u->need = 3;
        if (b == 0xf0) {
            /* F0 80..8F would encode U+0000..U+FFFF in four bytes. */
            u->lo = 0x90;
        } else if (b == 0xf4) {
            /* F4 90..BF would encode U+110000 and above. */
            u->hi = 0x8f;
        }
        return true;
    }
    /* F5..FF would start U+140000 and above, or are not UTF-8 at all. */
    return false;
}

static bool
utf8_fail(size_t *bad_at, size_t i)
{
    if (bad_at != NULL) {
        *bad_at = i;
    }
    return false;
}

bool
ws_utf8_feed(struct ws_utf8 *u, const uint8_t *p, size_t len, size_t *bad_at)
{
    size_t i = 0;

    while (i < len) {
        if (u->need == 0) {
            /*
             * Text is mostly ASCII: skip it a word at a time. memcpy keeps
             * the load alignment-safe and free of aliasing problems.
             */
            while (len - i >= 8) {
                uint64_t w;

                memcpy(&w, p + i, sizeof(w));
                if ((w & UTF8_HIGH_BITS) != 0) {
                    break;
                }
                i += 8;
            }
            if (i == len) {
                break;
            }
            if (p[i] < 0x80) {
                i++;
                continue;
            }
            if (!utf8_lead(u, p[i])) {
                return utf8_fail(bad_at, i);
            }
            i++;
            continue;
        }

        if (p[i] < u->lo || p[i] > u->hi) {
            /*
             * Either not a continuation byte (the sequence was cut short),
             * or one Table 3-7 excludes after this lead byte.
             */
            return utf8_fail(bad_at, i);
        }
        u->need--;
        u->lo = 0x80;
        u->hi = 0xbf;
        i++;
    }
    return true;
}

bool
ws_utf8_is_complete(const struct ws_utf8 *u)
{
    return u->need == 0;
}

bool
ws_utf8_is_valid(const uint8_t *p, size_t len)
{
    struct ws_utf8 u;

    ws_utf8_reset(&u);
    return ws_utf8_feed(&u, p, len, NULL) && ws_utf8_is_complete(&u);
}

size_t
ws_utf8_cut(const uint8_t *p, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }
    if ((p[max] & 0xc0) != 0x80) {
        return max; /* the byte past the cut begins a character */
    }
    for (size_t i = max; i > 0 && max - i < 3; i--) {
        uint8_t b = p[i - 1];
        if ((b & 0xc0) == 0xc0) {
            size_t need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
            return i - 1 + need > max ? i - 1 : max;
        }
        if ((b & 0xc0) != 0x80) {
            break;
        }
    }
    return max;
}
