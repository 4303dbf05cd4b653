/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target shares: the libFuzzer entry point each defines
 * (declared here so that -Wmissing-prototypes holds), and FUZZ_CHECK, an
 * assertion that stays on in every build and aborts, so that libFuzzer and
 * the replayer both see a broken invariant as a crash.
 */
#ifndef WSD_TESTS_FUZZ_FUZZ_H
#define WSD_TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__,         \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

/*
 * A small deterministic generator (xorshift32) for split points: the seed
 * comes from the input itself, so a crash replays from its file alone.
 */
static inline uint32_t
fuzz_rand(uint32_t *state)
{
    uint32_t x = *state != 0 ? *state : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

#endif
