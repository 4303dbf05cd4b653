/* SPDX-License-Identifier: MIT */
/*
 * A worker's loop context: everything its connections share. It owns the
 * event base, the settings the protocol core takes (derived from the
 * configuration once), the read buffer, the compression scratch buffer,
 * the output stage, the list of connections, one epoll set watching all
 * of their sockets (and a timerfd in it that ends a long wait on them),
 * one timer for all of their deadlines (a heap), the queue of connections
 * waiting for a turn, and the list of closed connections waiting to be freed.
 *
 * It schedules connections without knowing what they are: each embeds a
 * struct loop_conn, and the loop calls back through struct loop_hooks
 * (libevent's pattern: the caller owns the memory, the loop links it).
 *
 * Freeing happens at one safe point. loop_close() only unlinks a
 * connection; its memory is freed (hooks->free) when the callback that
 * closed it has returned, from an event of the loop's own (as Redis frees
 * clients asynchronously), so no code on the stack ever holds a pointer
 * to freed memory and no function has to say whether it freed one.
 */
#ifndef WSD_LOOP_H
#define WSD_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "keepalive.h"
#include "output.h"
#include "timer_heap.h"
#include "ws_deflate.h"
#include "ws_handshake.h"
#include "ws_session.h"

struct case_log;
struct config;
struct loop;
struct stats_shm;

/* The loop's part of one connection: zero-fill before loop_add. */
struct loop_conn {
    TAILQ_ENTRY(loop_conn) entry; /* in conns, then in closed */
    TAILQ_ENTRY(loop_conn) turn;  /* in turns; tqe_prev NULL: not queued */
    struct timer_node timer;      /* its deadline, in the heap */
};

TAILQ_HEAD(loop_conn_list, loop_conn);

typedef void loop_conn_fn(struct loop_conn *lc);
typedef void loop_fn(struct loop *l);

typedef void loop_io_fn(struct loop_conn *lc, short what);

/* What the loop calls; every field is required. */
struct loop_hooks {
    loop_io_fn *on_io;      /* lc's socket is ready: what, EV_READ and/or
                               EV_WRITE, among what loop_io_watch asked */
    loop_conn_fn *on_timer; /* lc's deadline has come (it is unset now) */
    loop_conn_fn *on_turn;  /* lc's turn (loop_turn_queue) has come */
    loop_conn_fn *free;     /* frees a closed connection's memory */
};

/* Readiness reports the loop takes from the kernel at once. */
#define LOOP_IO_BATCH      128
/* How long the connections' sockets may hold a worker's loop while they
 * keep it busy, before libevent's other events (accepts, signals,
 * timers) are looked at: a latency those may take, in ms (loop.c). */
#define LOOP_IO_STAY_MS    2
/* Waits of a stay that take a timeout before its timer is set (loop.c). */
#define LOOP_IO_STAY_TIMED 4

struct loop {
    struct event_base *base;
    const struct config *cfg;
    struct ws_session_config session_cfg;
    struct ws_handshake_config handshake_cfg;
    struct ws_deflate_config deflate_cfg;
    struct keepalive_config keepalive_cfg;
    const struct stats_shm *shm; /* the shared statistics segment */
    unsigned slot_index;         /* this worker's slot in it */
    struct case_log *case_log;   /* the worker's, for closed cases */
    uint8_t *rbuf;               /* the read buffer, shared: each
                                    connection consumes what it read
                                    before the next read */
    size_t rbuf_bytes;
    struct output_buf scratch; /* compression output, shared likewise */
    struct output_stage stage;
    struct loop_conn_list conns; /* open connections */
    uint64_t n_conns;
    bool draining;      /* the worker is shutting down */
    loop_fn *on_closed; /* called when draining, after each close */
    /* internal: */
    const struct loop_hooks *hooks;
    struct loop_conn_list closed;
    struct event *ev_reap;
    struct timer_heap timers;
    struct event *ev_timers;  /* fires at the earliest deadline */
    uint64_t timers_armed_ms; /* the deadline ev_timers is set for */
    /* Connections with bytes no readiness will announce go on from a
     * zero timer, which libevent runs only after it has polled the
     * sockets again: those queued before it fired take their turn (up
     * to turns_last), those queued meanwhile wait for the next poll. */
    struct loop_conn_list turns;
    struct loop_conn *turns_last;
    struct event *ev_turns;
    /* Every connection's socket is watched by one epoll set of the
     * loop's own, which libevent watches as one descriptor: a
     * connection's readiness costs one report, not libevent's
     * activation of an event per socket. */
    int io_fd;
    struct event *ev_io;
    uint64_t io_last_ms; /* when the set's last batch was handled */
    /* A timerfd in that set (reported with data.ptr NULL) that ends the
     * longer stays on it (io_fire), -1 when there is none; stay_armed_ms:
     * when it fires, 0 when it is not set or has been seen firing. */
    int stay_fd;
    uint64_t stay_armed_ms;
};

/*
 * Builds l for a worker: a fresh event base (nothing of the master's loop
 * survives fork), the core's settings from cfg, the read buffer and the
 * loop's events. cfg, shm and hooks are borrowed; so is case_log, which
 * the caller sets after (NULL: none). Returns 0, or -1 when
 * out of memory (loop_clear then frees what was made).
 */
int loop_init(struct loop *l, const struct config *cfg,
              const struct stats_shm *shm, unsigned slot_index,
              const struct loop_hooks *hooks);

/* Frees the closed connections and everything l holds; the open ones
 * must have been closed (loop_close) first. */
void loop_clear(struct loop *l);

/*
 * Links a new connection in (at the tail of conns), with room in the
 * timer heap so that setting its deadline never allocates. Returns 0, or
 * -1 when out of memory (lc not linked).
 */
int loop_add(struct loop *l, struct loop_conn *lc);

/*
 * Unlinks lc (its deadline, its turn) and moves it to the closed list:
 * hooks->free runs once the current callback has returned, or in
 * loop_clear. Calls on_closed when draining (n_conns already less). Once
 * closed, a connection is neither closed again, nor queued, nor moved.
 */
void loop_close(struct loop *l, struct loop_conn *lc);

/*
 * Watches lc's socket fd for what (EV_READ and/or EV_WRITE; 0: nothing),
 * having watched it for was until now (0: nothing): hooks->on_io is
 * called once it is ready, in the loop's turn to poll sockets, and again
 * while it stays ready. A closed connection must watch nothing. Returns
 * 0, or -1 with errno set (the kernel refused; it watches as before).
 */
int loop_io_watch(struct loop *l, struct loop_conn *lc, int fd, short was,
                  short what);

/* lc's deadline is ms from now, replacing the one it had. */
void loop_timer_set(struct loop *l, struct loop_conn *lc, uint64_t ms);

/* lc waits for no deadline. */
void loop_timer_del(struct loop *l, struct loop_conn *lc);

/* lc has bytes to process that no readiness will announce: it goes on
 * (hooks->on_turn) after the next poll, once the others ready then have
 * had their turn. Nothing if it is queued already. */
void loop_turn_queue(struct loop *l, struct loop_conn *lc);

/* Moves lc to the tail of conns (behind those not yet visited). */
void loop_conn_to_tail(struct loop *l, struct loop_conn *lc);

/*
 * The compression buffer with room for need bytes, or NULL. Its contents
 * live only until the caller has queued them; loop_scratch_done releases
 * one a large message grew.
 */
uint8_t *loop_scratch(struct loop *l, size_t need);
void loop_scratch_done(struct loop *l);

#endif
