/* SPDX-License-Identifier: MIT */
#include "autoconf.h"

#include "zlib_peer.h"

#include <stdlib.h>
#include <string.h>

/* RFC 7692 §7.2.1: the end of a sync flush, removed from a message. */
static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};

void
zlib_peer_deflater(z_stream *zs, int level, int bits)
{
    memset(zs, 0, sizeof(*zs));
    if (deflateInit2(zs, level, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        abort();
    }
}

size_t
zlib_peer_compress(z_stream *zs, const uint8_t *in, size_t len, uint8_t *out,
                   size_t cap, bool strip)
{
    zs->next_in = (Bytef *)(uintptr_t)in;
    zs->avail_in = (uInt)len;
    zs->next_out = out;
    zs->avail_out = (uInt)cap;
    if (deflate(zs, Z_SYNC_FLUSH) != Z_OK || zs->avail_in != 0 ||
        zs->avail_out == 0) {
        abort();
    }
    size_t n = cap - zs->avail_out;
    if (n < sizeof(tail) ||
        memcmp(out + n - sizeof(tail), tail, sizeof(tail)) != 0) {
        abort();
    }
    return strip ? n - sizeof(tail) : n;
}

void
zlib_peer_inflater(z_stream *zs, int bits)
{
    memset(zs, 0, sizeof(*zs));
    if (inflateInit2(zs, -bits) != Z_OK) {
        abort();
    }
}

long
zlib_peer_inflate(z_stream *zs, const uint8_t *in, size_t len, uint8_t *out,
                  size_t cap, size_t chunk)
{
    size_t pos = 0;

    for (int part = 0; part < 2; part++) {
        zs->next_in = (Bytef *)(uintptr_t)(part == 0 ? in : tail);
        zs->avail_in = part == 0 ? (uInt)len : (uInt)sizeof(tail);
        for (;;) {
            size_t room = cap - pos < chunk ? cap - pos : chunk;
            zs->next_out = out + pos;
            zs->avail_out = (uInt)room;
            int rc = inflate(zs, Z_SYNC_FLUSH);
            pos += room - zs->avail_out;
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                return -1;
            }
            if (zs->avail_in == 0 && zs->avail_out > 0) {
                break;
            }
            if (pos == cap) {
                return -1;
            }
        }
    }
    return (long)pos;
}
