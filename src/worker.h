/* SPDX-License-Identifier: MIT */
/*
 * A worker process: its own event loop, accepting on its slot's listening
 * socket and running the connections it accepts, until told to stop.
 */
#ifndef WSD_WORKER_H
#define WSD_WORKER_H

#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "config.h"
#include "stats_shm.h"

/* How long a retiring worker takes at least to send its 1001s once the
 * reload's grace is over (spread, so that its clients do not all reconnect
 * at once). */
#define WORKER_SPREAD_MS 1000

/*
 * How long that worker then has to close its connections before it drops
 * the rest: shutdown_timeout_ms, as long as a graceful stop (its 1001s are
 * paced to the close handshakes under way, so that many take longer than
 * the spread), and at least the spread and close_timeout_ms.
 */
static inline uint64_t
worker_spread_ms(const struct config *cfg)
{
    uint64_t least = WORKER_SPREAD_MS + cfg->close_timeout_ms;
    return cfg->shutdown_timeout_ms > least ? cfg->shutdown_timeout_ms : least;
}

/* What the master hands the worker of one slot. */
struct worker_listeners {
    int fd;           /* the slot's ws:// listening socket */
    int tls_fd;       /* its wss:// listening socket, or -1: TLS is off */
    SSL_CTX *tls_ctx; /* the master's TLS context, or NULL: TLS is off */
};

/*
 * Runs worker `slot` in a freshly forked child: resets signal dispositions,
 * names the process, becomes cfg->user if set, builds a new event base and
 * serves the sockets of ls (WebSocket over plain TCP on ls->fd, over TLS on
 * ls->tls_fd) until told to stop or until the master dies:
 *   SIGTERM, SIGINT  open connections get close 1001 and close_timeout_ms
 *                    to finish;
 *   SIGQUIT          each connection gets 1001 between messages, paced
 *                    to its share of close_window close handshakes under
 *                    way, and the stop is over within shutdown_timeout_ms;
 *   SIGUSR2          (reload) stops accepting and serves its connections
 *                    for shutdown_timeout_ms, then closes them with 1001
 *                    spread over WORKER_SPREAD_MS or more and paced as
 *                    on SIGQUIT, and drops those left after
 *                    worker_spread_ms;
 *   SIGUSR1          reopens the log files.
 * Returns the process exit status: 0, or WSD_EXIT_FATAL when it cannot
 * start.
 */
int worker_run(const struct config *cfg, unsigned slot,
               const struct worker_listeners *ls, struct stats_shm *shm,
               pid_t master_pid);

#endif
