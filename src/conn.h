/* SPDX-License-Identifier: MIT */
/*
 * One client connection in a worker: its socket and transport, output
 * buffer, timer, opening handshake and ws_session. The only place that
 * turns libevent callbacks into protocol calls; conn_close() is the only
 * way a connection ends.
 */
#ifndef WSD_CONN_H
#define WSD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "config.h"
#include "stats_shm.h"
#include "ws_handshake.h"
#include "ws_session.h"

struct conn;
struct conn_env;
struct transport;

typedef void conn_env_fn(struct conn_env *env);

/* What every connection of a worker shares; owned by the worker. */
struct conn_env {
    struct event_base *base;
    const struct config *cfg;
    struct ws_session_config session_cfg;
    struct ws_handshake_config handshake_cfg;
    struct ws_deflate_config deflate_cfg;
    uint8_t *rbuf; /* the worker's read buffer, shared */
    size_t rbuf_bytes;
    uint8_t *zbuf; /* the worker's compression output, shared */
    size_t zbuf_bytes;
    struct stats_shm_slot *slot; /* this worker's statistics slot */
    TAILQ_HEAD(conn_list, conn) conns;
    uint64_t n_conns;      /* connections in conns */
    bool draining;         /* the worker is shutting down */
    conn_env_fn *on_empty; /* called when draining and n_conns hits 0 */
};

/*
 * Takes over the accepted, non-blocking socket fd and the transport state
 * tctx that t reads and writes it through (NULL for transport_tcp; TLS
 * state from transport_tls_conn_new). The opening-handshake timer starts
 * now, so it also bounds a TLS handshake. With refuse set, the connection
 * only answers 503 (the worker is at max_connections) and closes. Returns
 * the connection, or NULL (tctx freed, fd closed) when out of memory.
 */
struct conn *conn_new(struct conn_env *env, int fd, const struct transport *t,
                      void *tctx, bool refuse);

/*
 * Starts closing c because the worker is shutting down: an open WebSocket
 * gets close 1001, a connection still in its opening handshake is dropped.
 * c may be freed before this returns.
 */
void conn_shutdown(struct conn *c);

/* conn_shutdown() for every connection of env. */
void conn_shutdown_all(struct conn_env *env);

/* Frees c now: events, buffers, session, socket. */
void conn_close(struct conn *c);

#endif
