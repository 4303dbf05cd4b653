/* SPDX-License-Identifier: MIT */
/*
 * A small TAP producer for the unit tests (automake's tap-driver.sh reads
 * it). Each check prints "ok N - name" or "not ok N - name" with the place
 * and the values that differed; tap_done() prints the plan and returns the
 * exit status.
 */
#ifndef WSD_TESTS_TAP_H
#define WSD_TESTS_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool tap_ok_at(const char *file, int line, bool cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool tap_is_int_at(const char *file, int line, long long got, long long want,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
bool tap_is_mem_at(const char *file, int line, const void *got, size_t got_len,
                   const void *want, size_t want_len, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
bool tap_is_str_at(const char *file, int line, const char *got,
                   const char *want, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the plan; returns 0 when every check passed, else 1. */
int tap_done(void);

/*
 * A seeded xorshift generator for random splits: the seed comes from
 * WSD_TEST_SEED when set, else from the clock, and is printed as a TAP
 * comment so that a failing run can be repeated.
 */
uint64_t tap_seed(void);
uint64_t tap_rand(void);
/* A number in [0, n) from tap_rand(); n > 0. */
size_t tap_rand_below(size_t n);

#define ok(cond, ...) tap_ok_at(__FILE__, __LINE__, (cond), __VA_ARGS__)
#define is_int(g, w, ...)                                                      \
    tap_is_int_at(__FILE__, __LINE__, (long long)(g), (long long)(w),          \
                  __VA_ARGS__)
#define is_mem(g, gl, w, wl, ...)                                              \
    tap_is_mem_at(__FILE__, __LINE__, (g), (gl), (w), (wl), __VA_ARGS__)
#define is_str(g, w, ...)                                                      \
    tap_is_str_at(__FILE__, __LINE__, (g), (w), __VA_ARGS__)

#endif
