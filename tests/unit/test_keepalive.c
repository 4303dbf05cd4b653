/* SPDX-License-Identifier: MIT */
/*
 * The keepalive policy, with time as an argument: when a silent peer is
 * pinged, when an unanswered ping or an idle session closes, and which
 * deadline comes first.
 */
#include "autoconf.h"

#include "keepalive.h"

#include <stdint.h>

#include "tap.h"

static void
test_ping_and_pong(void)
{
    struct keepalive_config cfg = {30000, 10000, 0};
    struct keepalive k;

    keepalive_start(&k, 1000);
    is_int((long long)keepalive_deadline(&k, &cfg), 31000,
           "first deadline: ping_interval_ms after the 101");
    is_int(keepalive_check(&k, &cfg, 30999), KEEPALIVE_WAIT,
           "silent for less than the interval: wait");
    keepalive_heard(&k, 20000);
    is_int((long long)keepalive_deadline(&k, &cfg), 50000,
           "bytes heard: the ping moves to interval after them");
    is_int(keepalive_check(&k, &cfg, 50000), KEEPALIVE_PING,
           "silent for the interval: ping");
    keepalive_pinged(&k, 50000);
    is_int((long long)keepalive_deadline(&k, &cfg), 60000,
           "after the ping: pong_timeout_ms");
    is_int(keepalive_check(&k, &cfg, 59999), KEEPALIVE_WAIT,
           "pong not late yet: wait");
    is_int(keepalive_check(&k, &cfg, 60000), KEEPALIVE_PONG_LATE,
           "nothing back in pong_timeout_ms: close");

    keepalive_pinged(&k, 70000);
    keepalive_heard(&k, 70001);
    is_int(keepalive_check(&k, &cfg, 80001), KEEPALIVE_WAIT,
           "any byte after the ping answers it");
    is_int((long long)keepalive_deadline(&k, &cfg), 100001,
           "answered: the next ping an interval after the byte");
}

static void
test_idle(void)
{
    struct keepalive_config cfg = {30000, 10000, 60000};
    struct keepalive_config no_ping = {0, 10000, 60000};
    struct keepalive_config off = {0, 10000, 0};
    struct keepalive k;

    keepalive_start(&k, 0);
    keepalive_heard(&k, 50000); /* a ping or pong: bytes, no message */
    is_int((long long)keepalive_deadline(&k, &cfg), 60000,
           "idle comes before the next ping");
    is_int(keepalive_check(&k, &cfg, 60000), KEEPALIVE_IDLE,
           "no message in idle_timeout_ms: close, bytes or not");
    keepalive_heard(&k, 55000);
    keepalive_message(&k);
    is_int(keepalive_check(&k, &cfg, 60000), KEEPALIVE_WAIT,
           "a message resets idleness");
    is_int((long long)keepalive_deadline(&k, &no_ping), 115000,
           "no pings: only the idle deadline");
    is_int((long long)keepalive_deadline(&k, &off), (long long)UINT64_MAX,
           "both off: no deadline");
    is_int(keepalive_check(&k, &off, 1000000), KEEPALIVE_WAIT,
           "both off: never due");
}

int
main(void)
{
    test_ping_and_pong();
    test_idle();
    return tap_done();
}
