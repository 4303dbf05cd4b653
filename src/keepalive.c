/* SPDX-License-Identifier: MIT */
/*
 * The keepalive policy: pings for silent peers, closes for unanswered
 * pings and idle sessions (keepalive.h).
 */
#include "autoconf.h"

#include "keepalive.h"

void
keepalive_start(struct keepalive *k, uint64_t now_ms)
{
    k->last_rx_ms = now_ms;
    k->last_message_ms = now_ms;
    k->ping_sent_ms = 0;
}

void
keepalive_pinged(struct keepalive *k, uint64_t now_ms)
{
    k->ping_sent_ms = now_ms;
}

uint64_t
keepalive_deadline(const struct keepalive *k,
                   const struct keepalive_config *cfg)
{
    uint64_t next = UINT64_MAX;

    if (k->ping_sent_ms != 0) {
        next = k->ping_sent_ms + cfg->pong_timeout_ms;
    } else if (cfg->ping_interval_ms != 0) {
        next = k->last_rx_ms + cfg->ping_interval_ms;
    }
    if (cfg->idle_timeout_ms != 0 &&
        k->last_message_ms + cfg->idle_timeout_ms < next) {
        next = k->last_message_ms + cfg->idle_timeout_ms;
    }
    return next;
}

enum keepalive_due
keepalive_check(struct keepalive *k, const struct keepalive_config *cfg,
                uint64_t now_ms)
{
    if (k->ping_sent_ms != 0 && k->last_rx_ms >= k->ping_sent_ms) {
        k->ping_sent_ms = 0; /* the peer is alive: pong or not */
    }
    if (cfg->idle_timeout_ms != 0 &&
        now_ms - k->last_message_ms >= cfg->idle_timeout_ms) {
        return KEEPALIVE_IDLE;
    }
    if (k->ping_sent_ms != 0) {
        return now_ms - k->ping_sent_ms >= cfg->pong_timeout_ms
                   ? KEEPALIVE_PONG_LATE
                   : KEEPALIVE_WAIT;
    }
    if (cfg->ping_interval_ms != 0 &&
        now_ms - k->last_rx_ms >= cfg->ping_interval_ms) {
        return KEEPALIVE_PING;
    }
    return KEEPALIVE_WAIT;
}
