/* SPDX-License-Identifier: MIT */
/*
 * A worker's loop context: its shared buffers, the deadlines and turns of
 * its connections, and the one place where closed connections are freed.
 */
#include "autoconf.h"

#include "loop.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"

/* One read buffer per worker, shared by its connections. */
#define LOOP_READ_BUFFER_BYTES (256 * 1024)

static void
settings_init(struct loop *l, const struct config *cfg)
{
    l->session_cfg.max_message_bytes = cfg->max_message_bytes;
    l->session_cfg.max_frame_bytes = cfg->max_frame_bytes;
    l->handshake_cfg.path = cfg->path;
    l->handshake_cfg.max_bytes = cfg->max_handshake_bytes;
    l->handshake_cfg.max_headers = (unsigned)cfg->max_headers;
    l->deflate_cfg.enabled = cfg->deflate;
    l->deflate_cfg.level = (int)cfg->deflate_level;
    l->deflate_cfg.mem_level = (int)cfg->deflate_mem_level;
    l->deflate_cfg.min_bytes = cfg->deflate_min_bytes;
    l->deflate_cfg.server_max_window_bits =
        (uint8_t)cfg->deflate_server_max_window_bits;
    l->deflate_cfg.client_max_window_bits =
        (uint8_t)cfg->deflate_client_max_window_bits;
    l->deflate_cfg.server_no_context_takeover =
        cfg->deflate_server_no_context_takeover;
    l->deflate_cfg.client_no_context_takeover =
        cfg->deflate_client_no_context_takeover;
    l->keepalive_cfg.ping_interval_ms = cfg->ping_interval_ms;
    l->keepalive_cfg.pong_timeout_ms = cfg->pong_timeout_ms;
    l->keepalive_cfg.idle_timeout_ms = cfg->idle_timeout_ms;
}

/* Sets the one timer for the earliest deadline of the heap. */
static void
timers_arm(struct loop *l)
{
    const struct timer_node *first = timer_heap_min(&l->timers);

    if (first == NULL) {
        evtimer_del(l->ev_timers);
        l->timers_armed_ms = UINT64_MAX;
        return;
    }
    if (first->deadline_ms == l->timers_armed_ms) {
        return;
    }
    uint64_t now = clock_mono_ms();
    uint64_t ms = first->deadline_ms > now ? first->deadline_ms - now : 0;
    struct timeval tv = {
        .tv_sec = (time_t)(ms / 1000),
        .tv_usec = (suseconds_t)(ms % 1000) * 1000,
    };
    evtimer_add(l->ev_timers, &tv);
    l->timers_armed_ms = first->deadline_ms;
}

/* Every connection whose deadline has come. */
static void
timers_fire(evutil_socket_t fd, short what, void *arg)
{
    struct loop *l = arg;
    uint64_t now = clock_mono_ms();
    (void)fd;
    (void)what;

    l->timers_armed_ms = UINT64_MAX;
    /* Bounded: a deadline set again for now is taken on the next turn. */
    for (size_t k = l->timers.n; k > 0; k--) {
        struct timer_node *t = timer_heap_min(&l->timers);
        if (t == NULL || t->deadline_ms > now) {
            break;
        }
        timer_heap_remove(&l->timers, t);
        l->hooks->on_timer(
            (struct loop_conn *)(void *)((char *)t -
                                         offsetof(struct loop_conn, timer)));
    }
    timers_arm(l);
}

static void
turns_start(struct loop *l)
{
    struct timeval now = {0, 0};
    evtimer_add(l->ev_turns, &now);
}

static bool
turn_queued(const struct loop_conn *lc)
{
    return lc->turn.tqe_prev != NULL;
}

static void
turn_unlink(struct loop *l, struct loop_conn *lc)
{
    TAILQ_REMOVE(&l->turns, lc, turn);
    lc->turn.tqe_prev = NULL;
}

/* The zero timer: each connection queued before it fired takes a turn. */
static void
turns_fire(evutil_socket_t fd, short what, void *arg)
{
    struct loop *l = arg;
    struct loop_conn *lc;
    (void)fd;
    (void)what;

    l->turns_last = TAILQ_LAST(&l->turns, loop_conn_list);
    while (l->turns_last != NULL && (lc = TAILQ_FIRST(&l->turns)) != NULL) {
        if (lc == l->turns_last) {
            l->turns_last = NULL; /* the round ends with it */
        }
        turn_unlink(l, lc);
        l->hooks->on_turn(lc);
    }
    l->turns_last = NULL;
    if (!TAILQ_EMPTY(&l->turns)) {
        turns_start(l);
    }
}

void
loop_turn_queue(struct loop *l, struct loop_conn *lc)
{
    if (turn_queued(lc)) {
        return;
    }
    if (TAILQ_EMPTY(&l->turns)) {
        turns_start(l);
    }
    TAILQ_INSERT_TAIL(&l->turns, lc, turn);
}

static void
turn_cancel(struct loop *l, struct loop_conn *lc)
{
    if (!turn_queued(lc)) {
        return;
    }
    if (lc == l->turns_last) {
        /* The round now ends with the one before it (NULL: none). */
        l->turns_last = TAILQ_PREV(lc, loop_conn_list, turn);
    }
    turn_unlink(l, lc);
}

/*
 * Whether libevent has work of its own that the connections' set must
 * not keep waiting: turns or frees queued, an event made active, a stop.
 */
static bool
libevent_waits(const struct loop *l)
{
    return !TAILQ_EMPTY(&l->turns) || !TAILQ_EMPTY(&l->closed) ||
           event_base_get_num_events(l->base, EVENT_BASE_COUNT_ACTIVE) > 0 ||
           event_base_got_break(l->base) || event_base_got_exit(l->base);
}

/*
 * The stay's timer, in the sockets' set l->io_fd. Edge-triggered and
 * one-shot: an expiry is reported once, and nothing has to read it.
 * Without it (out of descriptors) stays end by the waits' timeouts.
 */
static void
stay_init(struct loop *l)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};

    l->stay_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (l->stay_fd != -1 &&
        epoll_ctl(l->io_fd, EPOLL_CTL_ADD, l->stay_fd, &ev) != 0) {
        close(l->stay_fd);
        l->stay_fd = -1;
    }
}

/*
 * Sets the stay's timer to fire at until (clock_mono_ms), unless a stay
 * that ended early left it set, for sooner: the stay ends then. Returns
 * whether it is set.
 */
static bool
stay_arm(struct loop *l, uint64_t until)
{
    struct itimerspec its = {
        .it_value.tv_sec = (time_t)(until / 1000),
        .it_value.tv_nsec = (long)(until % 1000) * 1000000,
    };

    if (l->stay_armed_ms != 0) {
        return true;
    }
    if (l->stay_fd == -1 ||
        timerfd_settime(l->stay_fd, TFD_TIMER_ABSTIME, &its, NULL) != 0) {
        return false;
    }
    l->stay_armed_ms = until;
    return true;
}

/*
 * The sockets that are ready, as libevent would report them: an error or
 * a hang-up as both readable and writable, each connection told only
 * what it watches (the hook masks it), in the kernel's order.
 *
 * libevent calls this when the set is ready; the set is then waited on
 * here, for LOOP_IO_STAY_MS at most, as long as reports keep coming and
 * libevent has nothing of its own to run. Returning to libevent after
 * each batch would cost two waits per wakeup (libevent's on its own set,
 * which holds this one, then this one's), where a busy worker needs one:
 * with a few reports per wakeup, the second epoll_wait was 6% of the CPU
 * of a wss echo. libevent's own events (accepts, signals, timers) wait
 * at most LOOP_IO_STAY_MS meanwhile; a signal ends the wait at once.
 * Only a set busy a moment ago is waited on: after a quiet spell (a
 * keepalive pong, a message now and then) the wait would most likely
 * end empty, one wait more instead of one less.
 *
 * A stay of more than LOOP_IO_STAY_TIMED waits sets a timer in the set
 * (stay_fd) to end it, and its waits from then on have no timeout of
 * their own: a timeout arms a kernel timer for its wait, and one under
 * 2 ms is nearly always the CPU's earliest (the tick is 4 ms at
 * HZ=250), so each such wait set the timer device and set it back (a
 * guest's kernel read its clock twice as often, perf). With 100 busy
 * wss connections a stay has a wait per echo or so: the CPU per echo
 * was x1.06-1.07 with a timeout each, and one connection's x1.17 over
 * ws. A stay of a few waits keeps their timeouts, which cost less than
 * setting the timer.
 */
static void
io_fire(evutil_socket_t fd, short what, void *arg)
{
    struct loop *l = arg;
    struct epoll_event evs[LOOP_IO_BATCH];
    uint64_t until = 0; /* when the stay ends; 0: no stay yet */
    unsigned waits = 0; /* of the stay, with a timeout each */
    int timeout = 0;
    (void)what;

    for (;;) {
        int n = epoll_wait(fd, evs, LOOP_IO_BATCH, timeout);
        if (n <= 0) {
            return; /* quiet for the rest of the stay, or a signal */
        }
        if (timeout != 0) {
            /* What the callbacks read as libevent's now. */
            event_base_update_cache_time(l->base);
        }
        bool stay_over = false;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                /* The stay's timer: this stay's end, or an earlier's. */
                l->stay_armed_ms = 0;
                stay_over = true;
                continue;
            }
            uint32_t e = evs[i].events;
            short ready = (e & (EPOLLERR | EPOLLHUP)) != 0
                              ? EV_READ | EV_WRITE
                              : (short)(((e & EPOLLIN) != 0 ? EV_READ : 0) |
                                        ((e & EPOLLOUT) != 0 ? EV_WRITE : 0));
            l->hooks->on_io(evs[i].data.ptr, ready);
        }
        if ((stay_over && n == 1) || libevent_waits(l)) {
            return; /* the timer alone is no batch */
        }
        uint64_t now = clock_mono_ms();
        bool busy = now - l->io_last_ms <= LOOP_IO_STAY_MS;
        l->io_last_ms = now;
        if (stay_over) {
            return;
        }
        if (until == 0) {
            if (!busy) {
                return;
            }
            until = now + LOOP_IO_STAY_MS;
        }
        if (timeout == -1) {
            continue; /* the timer ends the stay */
        }
        if (now >= until) {
            return;
        }
        /* A stay of a few waits takes their timeouts; a longer one sets
         * its timer once, and its waits have none. */
        if (++waits > LOOP_IO_STAY_TIMED && stay_arm(l, until)) {
            timeout = -1;
        } else {
            timeout = (int)(until - now);
        }
    }
}

int
loop_io_watch(struct loop *l, struct loop_conn *lc, int fd, short was,
              short what)
{
    struct epoll_event ev = {
        .events = ((what & EV_READ) != 0 ? EPOLLIN : 0) |
                  ((what & EV_WRITE) != 0 ? EPOLLOUT : 0),
        .data.ptr = lc,
    };
    int op = was == 0    ? EPOLL_CTL_ADD
             : what == 0 ? EPOLL_CTL_DEL
                         : EPOLL_CTL_MOD;

    if (was == 0 && what == 0) {
        return 0;
    }
    return epoll_ctl(l->io_fd, op, fd, &ev);
}

/* The safe point: the callback that closed them has returned. */
static void
reap(evutil_socket_t fd, short what, void *arg)
{
    struct loop *l = arg;
    struct loop_conn *lc;
    (void)fd;
    (void)what;

    while ((lc = TAILQ_FIRST(&l->closed)) != NULL) {
        TAILQ_REMOVE(&l->closed, lc, entry);
        l->hooks->free(lc);
    }
}

int
loop_init(struct loop *l, const struct config *cfg, const struct stats_shm *shm,
          unsigned slot_index, const struct loop_hooks *hooks)
{
    struct event_config *ecfg = event_config_new();

    memset(l, 0, sizeof(*l));
    l->cfg = cfg;
    l->shm = shm;
    l->slot_index = slot_index;
    l->hooks = hooks;
    settings_init(l, cfg);
    TAILQ_INIT(&l->conns);
    TAILQ_INIT(&l->closed);
    TAILQ_INIT(&l->turns);
    l->timers_armed_ms = UINT64_MAX;
    l->io_fd = -1;
    l->stay_fd = -1;
    if (ecfg != NULL) {
        event_config_set_flag(ecfg, EVENT_BASE_FLAG_NOLOCK);
        l->base = event_base_new_with_config(ecfg);
        event_config_free(ecfg);
    }
    if (l->base == NULL) {
        return -1;
    }
    l->rbuf_bytes = LOOP_READ_BUFFER_BYTES;
    l->rbuf = malloc(l->rbuf_bytes);
    l->ev_timers = evtimer_new(l->base, timers_fire, l);
    l->ev_turns = evtimer_new(l->base, turns_fire, l);
    l->ev_reap = event_new(l->base, -1, 0, reap, l);
    l->io_fd = epoll_create1(EPOLL_CLOEXEC);
    if (l->io_fd != -1) {
        l->ev_io =
            event_new(l->base, l->io_fd, EV_READ | EV_PERSIST, io_fire, l);
        stay_init(l);
    }
    if (l->ev_io == NULL || event_add(l->ev_io, NULL) != 0) {
        return -1;
    }
    return l->rbuf != NULL && l->ev_timers != NULL && l->ev_turns != NULL &&
                   l->ev_reap != NULL
               ? 0
               : -1;
}

void
loop_clear(struct loop *l)
{
    reap(-1, 0, l);
    if (l->ev_timers != NULL) {
        event_free(l->ev_timers);
    }
    if (l->ev_turns != NULL) {
        event_free(l->ev_turns);
    }
    if (l->ev_reap != NULL) {
        event_free(l->ev_reap);
    }
    if (l->ev_io != NULL) {
        event_free(l->ev_io);
    }
    if (l->io_fd != -1) {
        close(l->io_fd);
    }
    if (l->stay_fd != -1) {
        close(l->stay_fd);
    }
    timer_heap_free(&l->timers);
    if (l->base != NULL) {
        event_base_free(l->base);
    }
    free(l->rbuf);
    output_buf_free(&l->scratch);
    output_buf_free(&l->stage.buf);
    memset(l, 0, sizeof(*l));
}

int
loop_add(struct loop *l, struct loop_conn *lc)
{
    if (timer_heap_reserve(&l->timers, (size_t)l->n_conns + 1) != 0) {
        return -1;
    }
    TAILQ_INSERT_TAIL(&l->conns, lc, entry);
    l->n_conns++;
    return 0;
}

void
loop_close(struct loop *l, struct loop_conn *lc)
{
    turn_cancel(l, lc);
    loop_timer_del(l, lc);
    TAILQ_REMOVE(&l->conns, lc, entry);
    l->n_conns--;
    if (TAILQ_EMPTY(&l->closed)) {
        event_active(l->ev_reap, EV_TIMEOUT, 1);
    }
    TAILQ_INSERT_TAIL(&l->closed, lc, entry);
    if (l->draining && l->on_closed != NULL) {
        l->on_closed(l);
    }
}

void
loop_timer_set(struct loop *l, struct loop_conn *lc, uint64_t ms)
{
    timer_heap_set(&l->timers, &lc->timer, clock_mono_ms() + ms);
    timers_arm(l);
}

void
loop_timer_del(struct loop *l, struct loop_conn *lc)
{
    timer_heap_remove(&l->timers, &lc->timer);
}

void
loop_conn_to_tail(struct loop *l, struct loop_conn *lc)
{
    TAILQ_REMOVE(&l->conns, lc, entry);
    TAILQ_INSERT_TAIL(&l->conns, lc, entry);
}

uint8_t *
loop_scratch(struct loop *l, size_t need)
{
    return output_buf_reserve(&l->scratch, need) ? l->scratch.p : NULL;
}

void
loop_scratch_done(struct loop *l)
{
    output_buf_trim(&l->scratch);
}
