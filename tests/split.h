/* SPDX-License-Identifier: MIT */
/*
 * How the unit tests cut an input into the pieces they feed an incremental
 * parser (B9): whole, one byte at a time, or at random points drawn from
 * tap_rand(), so that the seed tap_seed() printed repeats a run. Each piece
 * can be copied into a heap block of exactly its size, so that
 * AddressSanitizer catches a read past the piece, and is scribbled over when
 * freed, so that nothing the parser kept may still point into it.
 */
#ifndef WSD_TESTS_SPLIT_H
#define WSD_TESTS_SPLIT_H

#include <stddef.h>
#include <stdint.h>

enum split {
    SPLIT_WHOLE,
    SPLIT_ONE_BYTE,
    SPLIT_RANDOM,
};

/* How many random splits a test tries for each input. */
#define SPLIT_RANDOM_RUNS 8

/* The name of a way to split, for check names: "whole", ... */
const char *split_name(enum split how);

/*
 * The length of the next piece when left bytes remain (left > 0): all of
 * them, one, or at random mostly short pieces of 1 to 8 bytes, which cut
 * headers and sequences, and one time in four up to all that is left.
 * Never 0 and never more than left.
 */
size_t split_next(enum split how, size_t left);

/*
 * A heap copy of p[0..n) exactly n bytes long, or NULL when n is 0 (a
 * parser must not touch an empty piece at all). Aborts when out of memory.
 * Free it with split_piece_free().
 */
void *split_piece_new(const void *p, size_t n);

/* Scribbles over the n bytes of a piece from split_piece_new() and frees
 * it; accepts NULL. */
void split_piece_free(void *piece, size_t n);

#endif
