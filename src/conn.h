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
#include "conn_record.h"
#include "stats_shm.h"
#include "timer_heap.h"
#include "ws_handshake.h"
#include "ws_session.h"

struct conn;
struct conn_env;
struct transport;

typedef void conn_env_fn(struct conn_env *env);

/* A worker's scratch memory, grown on demand and released once large. */
struct conn_buf {
    uint8_t *p;
    size_t cap;
};

/* What every connection of a worker shares; owned by the worker. */
struct conn_env {
    struct event_base *base;
    const struct config *cfg;
    struct ws_session_config session_cfg;
    struct ws_handshake_config handshake_cfg;
    struct ws_deflate_config deflate_cfg;
    uint8_t *rbuf; /* the worker's read buffer, shared */
    size_t rbuf_bytes;
    struct conn_buf zbuf; /* the worker's compression output, shared */
    /* One connection's output while one callback runs, sent with one
     * writev at its end; only what the socket does not take is copied
     * into that connection's own buffer. */
    struct conn_buf stage;
    size_t stage_len;
    struct conn *stage_owner;    /* whose bytes stage holds; NULL: none */
    const struct stats_shm *shm; /* the shared statistics segment */
    unsigned slot_index;         /* this worker's slot in it */
    TAILQ_HEAD(conn_list, conn) conns;
    uint64_t n_conns;         /* connections in conns */
    struct timer_heap timers; /* every connection's deadline */
    struct event *ev_timers;  /* fires at the earliest of them */
    uint64_t timers_armed_ms; /* the deadline ev_timers is set for */
    /* Connections with bytes no readiness will announce (input kept at
     * the end of their turn, records the TLS transport holds): they go
     * on from a zero timer, which libevent runs only after it has polled
     * the sockets again, so that the others take their turn first. NULL
     * entries are connections closed meanwhile. */
    struct conn **turns;
    size_t n_turns, turns_cap;
    struct event *ev_turns;
    bool draining;         /* the worker is shutting down */
    bool graceful;         /* close each connection between messages */
    conn_env_fn *on_empty; /* called when draining and n_conns hits 0 */
};

/* How a connection ended, for its statistics record. */
enum conn_end {
    CONN_END_DONE,     /* our lingering close ran its course */
    CONN_END_PEER_EOF, /* the peer closed the TCP connection first */
    CONN_END_IO_ERROR, /* reset or another socket error */
    CONN_END_NO_MEMORY,
    CONN_END_HANDSHAKE_TIMEOUT, /* handshake_timeout_ms */
    CONN_END_CLOSE_TIMEOUT,     /* our close frame went unanswered */
    CONN_END_FLUSH_TIMEOUT,     /* the peer did not read our last bytes */
    CONN_END_SHUTDOWN,          /* the worker is stopping */
};

/*
 * The worker's timer for all of its connections: call init once env->base
 * exists (returns 0, or -1 when out of memory) and clear after the last
 * connection is gone.
 */
int conn_env_timers_init(struct conn_env *env);
void conn_env_timers_clear(struct conn_env *env);

/*
 * Takes over the accepted, non-blocking socket fd from peer (may be NULL)
 * and the transport state tctx that t reads and writes it through (NULL
 * for transport_tcp; TLS state from transport_tls_conn_new). The
 * opening-handshake timer starts now, so it also bounds a TLS handshake.
 * With refuse set, the connection only answers 503 (the worker is at
 * max_connections) and closes. Returns the connection, or NULL (tctx
 * freed, fd closed) when out of memory.
 */
struct conn *conn_new(struct conn_env *env, int fd, const struct transport *t,
                      void *tctx, const struct sockaddr *peer,
                      socklen_t peer_len, bool refuse);

/*
 * Starts closing c because the worker is shutting down: an open WebSocket
 * gets close 1001, a connection still in its opening handshake is dropped.
 * c may be freed before this returns.
 */
void conn_shutdown(struct conn *c);

/*
 * conn_shutdown() for the connection at the head of env's list, which
 * then goes to the tail: called n_conns times, it reaches each once.
 * Returns false when there is none. May free it.
 */
bool conn_shutdown_next(struct conn_env *env);

/* conn_shutdown() for every connection of env. */
void conn_shutdown_all(struct conn_env *env);

/*
 * Graceful shutdown (set env->graceful first): every open WebSocket gets
 * close 1001 as soon as no message is in flight either way (at once if
 * none is); a connection still in its opening handshake gets it right
 * after its 101. May free connections.
 */
void conn_shutdown_graceful_all(struct conn_env *env);

/* Frees c now (events, buffers, session, socket), recording why it ended. */
void conn_close(struct conn *c, enum conn_end why);

#endif
