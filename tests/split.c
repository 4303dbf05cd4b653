/* SPDX-License-Identifier: MIT */
#include "autoconf.h"

#include "split.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"

const char *
split_name(enum split how)
{
    switch (how) {
    case SPLIT_WHOLE:
        return "whole";
    case SPLIT_ONE_BYTE:
        return "one byte at a time";
    case SPLIT_RANDOM:
        return "random splits";
    }
    return "?";
}

size_t
split_next(enum split how, size_t left)
{
    size_t n = left;

    if (left == 0) {
        abort();
    }
    switch (how) {
    case SPLIT_WHOLE:
        break;
    case SPLIT_ONE_BYTE:
        n = 1;
        break;
    case SPLIT_RANDOM:
        n = tap_rand_below(4) == 0 ? 1 + tap_rand_below(left)
                                   : 1 + tap_rand_below(8);
        break;
    }
    return n < left ? n : left;
}

void *
split_piece_new(const void *p, size_t n)
{
    void *piece;

    if (n == 0) {
        return NULL;
    }
    piece = malloc(n);
    if (piece == NULL) {
        abort();
    }
    memcpy(piece, p, n);
    return piece;
}

void
split_piece_free(void *piece, size_t n)
{
    if (piece != NULL) {
        memset(piece, 0xdd, n);
    }
    free(piece);
}
