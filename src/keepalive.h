/* SPDX-License-Identifier: MIT */
/*
 * The keepalive policy of an open WebSocket: when to ping a silent peer,
 * when to give up on an unanswered ping, when to close an idle one. It
 * owns three timestamps and decides; the caller sends and closes. Pure:
 * the time is an argument (monotonic milliseconds), so every rule is
 * unit-tested without a clock.
 *
 * Reads only note the time (keepalive_heard); the one deadline the caller
 * arms (keepalive_deadline) finds out what happened since, so the hot
 * path never touches a timer.
 */
#ifndef WSD_KEEPALIVE_H
#define WSD_KEEPALIVE_H

#include <stdbool.h>
#include <stdint.h>

/* The limits, in milliseconds; 0 turns one off. */
struct keepalive_config {
    uint64_t ping_interval_ms; /* silence (no byte) before a ping */
    uint64_t pong_timeout_ms;  /* nothing back this long after it: close */
    uint64_t idle_timeout_ms;  /* no message this long: close */
};

struct keepalive {
    uint64_t last_rx_ms;      /* when the peer last sent bytes */
    uint64_t last_message_ms; /* when its last message (or the 101) was */
    uint64_t ping_sent_ms;    /* our unanswered ping; 0: none */
};

/* What is due at a deadline. */
enum keepalive_due {
    KEEPALIVE_WAIT,      /* nothing yet: arm the next deadline */
    KEEPALIVE_PING,      /* send a ping now (keepalive_pinged after) */
    KEEPALIVE_IDLE,      /* no message for idle_timeout_ms: close */
    KEEPALIVE_PONG_LATE, /* the ping went unanswered: close */
};

/* The session opened at now. */
void keepalive_start(struct keepalive *k, uint64_t now_ms);

/* Whether cfg asks for anything: with no ping and no idle timeout the
 * times heard are never read, and a caller may skip taking them (a clock
 * read per read of the socket). */
static inline bool
keepalive_on(const struct keepalive_config *cfg)
{
    return cfg->ping_interval_ms != 0 || cfg->idle_timeout_ms != 0;
}

/* Bytes arrived at now. */
static inline void
keepalive_heard(struct keepalive *k, uint64_t now_ms)
{
    k->last_rx_ms = now_ms;
}

/* A whole message arrived (with the last bytes heard). */
static inline void
keepalive_message(struct keepalive *k)
{
    k->last_message_ms = k->last_rx_ms;
}

/* Our ping went out at now. */
void keepalive_pinged(struct keepalive *k, uint64_t now_ms);

/* When the caller should ask again (monotonic ms), UINT64_MAX: never. */
uint64_t keepalive_deadline(const struct keepalive *k,
                            const struct keepalive_config *cfg);

/* What is due at now. Anything heard since our ping answers it. */
enum keepalive_due keepalive_check(struct keepalive *k,
                                   const struct keepalive_config *cfg,
                                   uint64_t now_ms);

#endif
