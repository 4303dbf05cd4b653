/* SPDX-License-Identifier: MIT */
/*
 * The other side of permessage-deflate (RFC 7692) for the unit tests,
 * made of plain zlib and nothing of ws_deflate: a client's compressor
 * (raw deflate, a sync flush per message, §7.2.1) and an independent
 * inflater to check what the code under test produced (§7.2.2). Every
 * zlib refusal aborts the test program: it is the test that is broken.
 */
#ifndef WSD_TESTS_ZLIB_PEER_H
#define WSD_TESTS_ZLIB_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

/* Initialises zs as a raw deflate stream of `bits` at `level`. */
void zlib_peer_deflater(z_stream *zs, int level, int bits);

/*
 * Compresses in[0..len) with zs and a sync flush into out[0..cap), as a
 * client compresses one message; checks that the output ends in the
 * 00 00 ff ff tail and, with strip, removes it (§7.2.1). Aborts when the
 * output does not fit. Returns the bytes written.
 */
size_t zlib_peer_compress(z_stream *zs, const uint8_t *in, size_t len,
                          uint8_t *out, size_t cap, bool strip);

/* Initialises zs as a raw inflate stream of `bits`. */
void zlib_peer_inflater(z_stream *zs, int bits);

/*
 * Inflates in[0..len) and the tail (§7.2.2) with zs into out[0..cap),
 * handing out at most `chunk` bytes of room per call, so that a distance
 * beyond the window cannot be served from the output buffer and zlib
 * reports it. Returns the bytes inflated, or -1 on a zlib error or when
 * the output fills out.
 */
long zlib_peer_inflate(z_stream *zs, const uint8_t *in, size_t len,
                       uint8_t *out, size_t cap, size_t chunk);

#endif
