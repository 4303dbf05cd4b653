/* SPDX-License-Identifier: MIT */
/*
 * An incremental UTF-8 validator (RFC 3629, as RFC 6455 §8.1 requires for
 * text). Its state survives across calls, so a message can be checked as its
 * fragments and pieces arrive, and it stops at the first byte that can never
 * begin or continue a valid sequence (fail fast, §8.1).
 */
#ifndef WSD_PROTO_WS_UTF8_H
#define WSD_PROTO_WS_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Zero-fill (or ws_utf8_reset) before use. */
struct ws_utf8 {
    /* internal: */
    uint8_t need;   /* continuation bytes still expected */
    uint8_t lo, hi; /* the range the next continuation byte must fall in */
};

void ws_utf8_reset(struct ws_utf8 *u);

/*
 * Feeds p[0..len). Returns true when every byte so far could still be part
 * of valid UTF-8. Returns false at the first invalid byte and stores its
 * offset within p in *bad_at (which may be NULL); the state is then
 * undefined until ws_utf8_reset().
 */
bool ws_utf8_feed(struct ws_utf8 *u, const uint8_t *p, size_t len,
                  size_t *bad_at);

/* True when no multi-byte sequence is left unfinished. */
bool ws_utf8_is_complete(const struct ws_utf8 *u);

/* Validates a whole buffer: ws_utf8_feed plus ws_utf8_is_complete. */
bool ws_utf8_is_valid(const uint8_t *p, size_t len);

/*
 * Where to cut p[0..len) to keep at most max bytes without splitting a
 * character: len when it fits, else max, or the start of the character
 * that would straddle the cut (left out whole). Bytes that are not UTF-8
 * are cut where they fall: it looks back at most 3 bytes for a lead byte.
 */
size_t ws_utf8_cut(const uint8_t *p, size_t len, size_t max);

#endif
