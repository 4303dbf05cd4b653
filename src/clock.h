/* SPDX-License-Identifier: MIT */
/*
 * The two clocks of the daemon, in milliseconds: Unix time for what is
 * shown or recorded (case records, heartbeats), the monotonic clock for
 * durations and deadlines, which a step of the wall clock (NTP, an
 * operator) must not stretch or cut short.
 */
#ifndef WSD_CLOCK_H
#define WSD_CLOCK_H

#include <stdint.h>
#include <sys/time.h>
#include <time.h>

static inline uint64_t
clock_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static inline uint64_t
clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
