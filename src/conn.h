/* SPDX-License-Identifier: MIT */
/*
 * One client connection in a worker, from accept to the close of its TCP
 * connection: the opening handshake, the WebSocket session (echo and
 * keepalive), the close handshake and the lingering close. It owns the
 * socket, its transport state, the connection's output, its session and
 * its statistics record; the worker's loop (loop.h) schedules it and
 * frees it. The only place that turns readiness into protocol calls;
 * conn_close() is the only way a connection ends.
 */
#ifndef WSD_CONN_H
#define WSD_CONN_H

#include <stdbool.h>
#include <sys/socket.h>

#include "loop.h"

struct conn;
struct transport;

/* How a connection ended, for its statistics record. */
enum conn_end {
    CONN_END_DONE,           /* our lingering close ran its course */
    CONN_END_PEER_EOF,       /* the peer closed the TCP connection first */
    CONN_END_IO_ERROR,       /* reset or another socket error */
    CONN_END_TLS_REFUSED,    /* OpenSSL refused the peer's bytes: an alert,
                                then we close */
    CONN_END_TLS_PEER_ALERT, /* the peer's fatal TLS alert ended it */
    CONN_END_NO_MEMORY,
    CONN_END_HANDSHAKE_TIMEOUT, /* handshake_timeout_ms */
    CONN_END_CLOSE_TIMEOUT,     /* our close frame went unanswered */
    CONN_END_FLUSH_TIMEOUT,     /* the peer did not read our last bytes */
    CONN_END_SHUTDOWN,          /* the worker is stopping */
};

/* What a worker's loop calls for its connections (loop_init). */
extern const struct loop_hooks conn_loop_hooks;

/*
 * Takes over the accepted, non-blocking socket fd from peer (may be NULL)
 * and the transport state tctx that t reads and writes it through (NULL
 * for transport_tcp; TLS state from transport_tls_conn_new). The
 * opening-handshake timer starts now, so it also bounds a TLS handshake.
 * With refuse set, the connection only answers 503 (the worker is at
 * max_connections) and closes. Out of memory, tctx is freed and fd
 * closed.
 */
void conn_new(struct loop *l, int fd, const struct transport *t, void *tctx,
              const struct sockaddr *peer, socklen_t peer_len, bool refuse);

/*
 * Starts closing the connection at the head of l's list because the
 * worker is going away (an open WebSocket gets close 1001 with reason, a
 * static string such as "server reloading"; one still in its opening
 * handshake is dropped) and moves it to the tail: called n_conns times,
 * it reaches each once; a NULL reason is conn_graceful_next's step.
 * Returns false when there is none.
 */
bool conn_shutdown_next(struct loop *l, const char *reason);

/* What conn_shutdown_next does, for every connection of l, with the
 * reason "server shutting down". */
void conn_shutdown_all(struct loop *l);

/*
 * Graceful shutdown of the connection at the head of l's list, moved to
 * the tail as conn_shutdown_next does: an open WebSocket gets close 1001
 * as soon as no message is in flight either way (at once if none is); one
 * still in its opening handshake gets it right after its 101. Returns
 * false when there is none.
 */
bool conn_graceful_next(struct loop *l);

/* Closes every connection of l at once, recording CONN_END_SHUTDOWN. */
void conn_close_all(struct loop *l);

#endif
