/* SPDX-License-Identifier: MIT */
#include "autoconf.h"

#include "tap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned tap_count;
static unsigned tap_failed;
static uint64_t tap_state;

static bool report(const char *file, int line, bool cond, const char *fmt,
                   va_list ap) __attribute__((format(printf, 4, 0)));

static bool
report(const char *file, int line, bool cond, const char *fmt, va_list ap)
{
    tap_count++;
    printf("%sok %u - ", cond ? "" : "not ", tap_count);
    vprintf(fmt, ap);
    printf("\n");
    if (!cond) {
        tap_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    return cond;
}

bool
tap_ok_at(const char *file, int line, bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(file, line, cond, fmt, ap);
    va_end(ap);
    return cond;
}

bool
tap_is_int_at(const char *file, int line, long long got, long long want,
              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(file, line, got == want, fmt, ap);
    va_end(ap);
    if (got != want) {
        printf("#   got %lld, want %lld\n", got, want);
    }
    return got == want;
}

static void
dump(const char *label, const void *p, size_t len)
{
    const unsigned char *b = p;
    printf("#   %s (%zu bytes):", label, len);
    for (size_t i = 0; i < len && i < 64; i++) {
        printf(" %02x", b[i]);
    }
    printf("%s\n", len > 64 ? " ..." : "");
}

bool
tap_is_mem_at(const char *file, int line, const void *got, size_t got_len,
              const void *want, size_t want_len, const char *fmt, ...)
{
    bool same = got_len == want_len &&
                (want_len == 0 || memcmp(got, want, want_len) == 0);
    va_list ap;
    va_start(ap, fmt);
    report(file, line, same, fmt, ap);
    va_end(ap);
    if (!same) {
        dump("got", got, got_len);
        dump("want", want, want_len);
    }
    return same;
}

bool
tap_is_str_at(const char *file, int line, const char *got, const char *want,
              const char *fmt, ...)
{
    bool same =
        got != NULL && want != NULL ? strcmp(got, want) == 0 : got == want;
    va_list ap;
    va_start(ap, fmt);
    report(file, line, same, fmt, ap);
    va_end(ap);
    if (!same) {
        printf("#   got \"%s\", want \"%s\"\n", got ? got : "(null)",
               want ? want : "(null)");
    }
    return same;
}

void
tap_diag(const char *fmt, ...)
{
    va_list ap;
    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

int
tap_done(void)
{
    printf("1..%u\n", tap_count);
    if (tap_failed > 0) {
        printf("# %u of %u checks failed\n", tap_failed, tap_count);
    }
    return tap_failed > 0 || tap_count == 0 ? 1 : 0;
}

uint64_t
tap_seed(void)
{
    const char *env = getenv("WSD_TEST_SEED");
    uint64_t seed = env != NULL ? strtoull(env, NULL, 0)
                                : (uint64_t)time(NULL) ^ (uint64_t)clock();
    if (seed == 0) {
        seed = 1;
    }
    tap_state = seed;
    printf("# random seed %llu (set WSD_TEST_SEED to repeat)\n",
           (unsigned long long)seed);
    return seed;
}

uint64_t
tap_rand(void)
{
    if (tap_state == 0) {
        tap_state = 1;
    }
    tap_state ^= tap_state << 13;
    tap_state ^= tap_state >> 7;
    tap_state ^= tap_state << 17;
    return tap_state;
}

size_t
tap_rand_below(size_t n)
{
    return (size_t)(tap_rand() % n);
}
