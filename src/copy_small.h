/* SPDX-License-Identifier: MIT */
/*
 * copy_small: a copy of at most 32 bytes in a few fixed-size moves, for
 * the hot paths that copy a short, variable length (an echo's frame head
 * into the output stage, a frame's first bytes into its wire-log entry),
 * where a call to memcpy with a variable length costs more than the copy.
 * It owns nothing.
 */
#ifndef WSD_COPY_SMALL_H
#define WSD_COPY_SMALL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* dst[0..n) = src[0..n) for n <= 32; the two may not overlap. Two moves
 * that overlap in the middle cover any n from k to 2k. */
static inline void
copy_small(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n >= 16) {
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

#endif
