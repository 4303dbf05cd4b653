/* SPDX-License-Identifier: MIT */
/*
 * copy_small: a copy of at most 48 bytes in a few fixed-size moves, for
 * the hot paths that copy a short, variable length (an echo's frame head
 * into the output stage, a frame's first bytes into its wire-log entry),
 * where a call to memcpy with a variable length costs more than the copy;
 * and same_small, a comparison of at most 32 bytes the same way (a write
 * against the frame logged before it). It owns nothing.
 */
#ifndef WSD_COPY_SMALL_H
#define WSD_COPY_SMALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* dst[0..n) = src[0..n) for n <= 48; the two may not overlap. Two moves
 * that overlap in the middle cover any n from k to 2k (past 32: 32 and
 * the last 16). */
static inline void
copy_small(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n > 32) {
        memcpy(dst, src, 32);
        memcpy(dst + n - 16, src + n - 16, 16);
    } else if (n >= 16) {
        memcpy(dst, src, 16);
        memcpy(dst + n - 16, src + n - 16, 16);
    } else if (n >= 8) {
        memcpy(dst, src, 8);
        memcpy(dst + n - 8, src + n - 8, 8);
    } else if (n >= 4) {
        memcpy(dst, src, 4);
        memcpy(dst + n - 4, src + n - 4, 4);
    } else if (n > 0) {
        dst[0] = src[0];
        dst[n - 1] = src[n - 1];
        dst[n / 2] = src[n / 2];
    }
}

/* Whether a[0..n) and b[0..n) are the same bytes, n <= 32: the same
 * overlapping moves, compared. */
static inline bool
same_small(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint64_t x[4];
    uint64_t y[4];

    if (n >= 16) {
        memcpy(x, a, 16);
        memcpy(y, b, 16);
        memcpy(x + 2, a + n - 16, 16);
        memcpy(y + 2, b + n - 16, 16);
        return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) |
                (x[3] ^ y[3])) == 0;
    }
    if (n >= 8) {
        memcpy(x, a, 8);
        memcpy(y, b, 8);
        memcpy(x + 1, a + n - 8, 8);
        memcpy(y + 1, b + n - 8, 8);
        return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
    }
    if (n >= 4) {
        uint32_t u[2];
        uint32_t v[2];
        memcpy(u, a, 4);
        memcpy(v, b, 4);
        memcpy(u + 1, a + n - 4, 4);
        memcpy(v + 1, b + n - 4, 4);
        return ((u[0] ^ v[0]) | (u[1] ^ v[1])) == 0;
    }
    return n == 0 ||
           (a[0] == b[0] && a[n - 1] == b[n - 1] && a[n / 2] == b[n / 2]);
}

#endif
