/* SPDX-License-Identifier: MIT */
/*
 * The worker cycle: a fresh event base after fork, privileges dropped,
 * accept with back-off on descriptor exhaustion, a heartbeat in the shared
 * segment, and three ways to end, each bounded: fast (TERM, INT), graceful
 * (QUIT) and retirement after a reload (USR2).
 */
#include "autoconf.h"

#include "worker.h"

#include <errno.h>
#if defined(HAVE_MALLOC_TRIM) && defined(HAVE_MALLINFO2)
#include <malloc.h>
#endif
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "accept_backoff.h"
#include "case_log.h"
#include "clock.h"
#include "conn.h"
#include "log.h"
#include "process.h"
#include "stats_record.h"
#include "transport.h"
#include "transport_tls.h"

#define WORKER_ACCEPTS_PER_EVENT 64
/* When a reload's grace is over, the old worker's 1001s go out over
 * WORKER_SPREAD_MS (worker.h) in this many steps: its clients reconnect
 * to the new workers spread out rather than all in the same moment. */
#define WORKER_SPREAD_STEPS      20
#define WORKER_HEARTBEAT_MS      1000
/* Connections past max_connections that are still answered 503 rather
 * than closed unanswered. */
#define WORKER_REFUSALS_MAX      64
/* Memory free() keeps in the heap past which the heartbeat gives it back
 * to the kernel (worker_release_memory). */
#define WORKER_TRIM_FREE_BYTES   (4 * 1024 * 1024)

/* The signals a worker takes: TERM and INT stop fast, QUIT stops
 * gracefully, USR2 (from the master, on reload) retires, USR1 reopens the
 * log files. */
#define WORKER_N_SIGNALS 5

struct worker;

/* How far along its end a worker is; each phase has its deadline. */
enum worker_phase {
    WORKER_RUNNING,
    WORKER_RETIRING, /* replaced by a reload: serving its connections out */
    WORKER_GRACEFUL, /* closing each connection between messages */
    WORKER_SPREAD,   /* reload grace over: 1001s spread out, paced */
    WORKER_FAST,     /* close 1001 sent to all: waiting for the answers */
};

static void worker_enter(struct worker *w, enum worker_phase phase);

/* The worker's number, 0 to workers - 1, whichever bank of slots its
 * generation writes to: what ps shows. */
static unsigned
worker_number(const struct config *cfg, unsigned slot)
{
    return cfg->workers > 0 ? slot % cfg->workers : slot;
}
static void worker_on_spread(evutil_socket_t fd, short what, void *arg);
static void worker_on_close_pump(evutil_socket_t fd, short what, void *arg);
static void close_begin(struct worker *w, uint64_t due);

/* One listening socket and the transport its connections take. */
struct worker_listener {
    struct worker *w;
    const struct transport *t;
    struct event *ev_accept;
};

struct worker {
    struct loop loop;
    unsigned slot_index;
    struct stats_shm_slot *slot; /* heartbeat; counters go through conns */
    pid_t master_pid;
    bool accept_paused;
    struct accept_backoff accept_backoff;
    struct worker_listener listeners[2]; /* ws://, then wss:// if TLS is on */
    unsigned n_listeners;
    struct transport_tls_env tls;
    struct event *ev_accept_resume;
    struct event *ev_heartbeat;
    EVP_MD *sha1; /* the handshakes' SHA-1 (loop.handshake_cfg), or NULL */
    EVP_MD_CTX *sha1_ctx;      /* and its context, or NULL */
    struct event *ev_deadline; /* drain deadline; in retirement, its end */
    enum worker_phase phase;
    uint64_t stop_end_ms;    /* a graceful stop's end (monotonic), or 0 */
    struct event *ev_spread; /* the steps of WORKER_SPREAD */
    unsigned spread_steps;   /* steps left */
    /* WORKER_GRACEFUL and WORKER_SPREAD: the closes, paced */
    struct event *ev_close_pump; /* after a close: the next 1001s */
    uint64_t close_left;         /* connections not yet told */
    uint64_t close_due;          /* of those, the ones that may be told */
    uint64_t close_window;       /* close handshakes under way at most */
    struct event *ev_signals[WORKER_N_SIGNALS];
    struct case_log case_log; /* closed cases' records (conn.c writes) */
};

static void
worker_accept_stop(struct worker *w)
{
    for (unsigned i = 0; i < w->n_listeners; i++) {
        event_del(w->listeners[i].ev_accept);
    }
}

static void
worker_accept_pause(struct worker *w)
{
    struct timeval tv = {0, ACCEPT_BACKOFF_PAUSE_MS * 1000};
    worker_accept_stop(w);
    w->accept_paused = true;
    evtimer_add(w->ev_accept_resume, &tv);
}

static void
worker_on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd;
    (void)what;
    if (w->accept_paused && !w->loop.draining) {
        w->accept_paused = false;
        for (unsigned i = 0; i < w->n_listeners; i++) {
            event_add(w->listeners[i].ev_accept, NULL);
        }
    }
}

static void
worker_on_accept(evutil_socket_t fd, short what, void *arg)
{
    struct worker_listener *l = arg;
    struct worker *w = l->w;
    (void)what;

    for (int i = 0; i < WORKER_ACCEPTS_PER_EVENT; i++) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof(peer);
        int cfd = accept4(fd, (struct sockaddr *)&peer, &peer_len,
                          SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd == -1) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (accept_backoff_is_needed(errno)) {
                accept_backoff_note(&w->accept_backoff, "accept4", errno);
                worker_accept_pause(w);
            } else if (errno != EAGAIN) { /* EWOULDBLOCK on Linux */
                log_errno(LOG_LEVEL_ERROR, "accept4");
            }
            return;
        }
        uint64_t limit = w->loop.cfg->max_connections;
        if (w->loop.n_conns >= limit + WORKER_REFUSALS_MAX) {
            /* As many 503s are on their way: more would only cost
             * memory. Closed unanswered, but counted. */
            stats_record_dropped(w->loop.shm, w->slot_index);
            close(cfd);
            continue;
        }
        void *tctx = NULL;
        if (l->t == &transport_tls) {
            tctx = transport_tls_conn_new(&w->tls, cfd,
                                          (struct sockaddr *)&peer, peer_len);
            if (tctx == NULL) {
                log_msg(LOG_LEVEL_ERROR, "out of memory for a TLS connection");
                stats_record_dropped(w->loop.shm, w->slot_index);
                close(cfd);
                continue;
            }
        }
        conn_new(&w->loop, cfd, l->t, tctx, (struct sockaddr *)&peer, peer_len,
                 w->loop.n_conns >= limit);
    }
}

/*
 * Gives the kernel back the heap pages free() keeps. Once a buffer of
 * several MiB (a 16 MiB message) has been freed, glibc's malloc raises its
 * mmap threshold to that size and serves every smaller large buffer from
 * its heap, whose free pages it releases only at the top: without this, a
 * burst of large messages (a peer's, or many peers' at once) would leave
 * the worker at the burst's peak for good. Once a second, and only when
 * that much is free, so the cost is a walk of malloc's free lists.
 */
static void
worker_release_memory(void)
{
#if defined(HAVE_MALLOC_TRIM) && defined(HAVE_MALLINFO2)
    struct mallinfo2 mi = mallinfo2();

    if (mi.fordblks >= WORKER_TRIM_FREE_BYTES) {
        (void)malloc_trim(0);
    }
#endif
}

static void
worker_on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd;
    (void)what;

    atomic_store_explicit(&w->slot->heartbeat_ms, clock_wall_ms(),
                          memory_order_relaxed);
    transport_tls_report(&w->tls);
    worker_release_memory();
    /* PR_SET_PDEATHSIG covers a master that dies; this covers the window
     * before it was set. */
    if (getppid() != w->master_pid) {
        log_msg(LOG_LEVEL_WARN, "master is gone, worker exits");
        event_base_loopbreak(w->loop.base);
    }
}

/* This worker's share of close_window, which is the whole generation's:
 * SO_REUSEPORT gives each worker about as many connections. */
static uint64_t
close_window_of(const struct config *cfg)
{
    uint64_t n = cfg->workers > 0 ? cfg->workers : 1;
    return (cfg->close_window + n - 1) / n;
}

/*
 * A graceful stop lasts shutdown_timeout_ms in all: its last part is the
 * fast stop, close_timeout_ms long for the peers' answers to the 1001, or
 * half the stop if close_timeout_ms is longer, so that a message under way
 * always gets the first half.
 */
static uint64_t
graceful_fast_ms(const struct config *cfg)
{
    uint64_t half = cfg->shutdown_timeout_ms / 2;
    return cfg->close_timeout_ms < half ? cfg->close_timeout_ms : half;
}

/*
 * The fast stop's deadline: close_timeout_ms, but not past the end of a
 * graceful stop under way (a SIGTERM in the middle of one included).
 */
static uint64_t
fast_deadline_ms(const struct worker *w)
{
    uint64_t ms = w->loop.cfg->close_timeout_ms;
    if (w->stop_end_ms != 0) {
        uint64_t now = clock_mono_ms();
        uint64_t left = w->stop_end_ms > now ? w->stop_end_ms - now : 0;
        ms = left < ms ? left : ms;
    }
    return ms;
}

static void
worker_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd;
    (void)what;
    switch (w->phase) {
    case WORKER_RUNNING:
        return;
    case WORKER_RETIRING:
        log_msg(LOG_LEVEL_INFO,
                "worker %u: reload grace over, closing %llu connection%s "
                "over %d ms or more, %llu at a time at most",
                w->slot_index, (unsigned long long)w->loop.n_conns,
                w->loop.n_conns == 1 ? "" : "s", WORKER_SPREAD_MS,
                (unsigned long long)close_window_of(w->loop.cfg));
        worker_enter(w, WORKER_SPREAD);
        return;
    case WORKER_GRACEFUL: {
        /* The fast stop gets its share and no more: libevent's timer
         * may fire a millisecond before the drain's end by our clock. */
        uint64_t end = clock_mono_ms() + graceful_fast_ms(w->loop.cfg);
        if (end < w->stop_end_ms) {
            w->stop_end_ms = end;
        }
        log_msg(LOG_LEVEL_INFO,
                "worker %u: drain time over, closing %llu connection%s now "
                "(%llu ms left for the close handshakes)",
                w->slot_index, (unsigned long long)w->loop.n_conns,
                w->loop.n_conns == 1 ? "" : "s",
                (unsigned long long)fast_deadline_ms(w));
        worker_enter(w, WORKER_FAST);
        return;
    }
    case WORKER_SPREAD:
    case WORKER_FAST:
        log_msg(LOG_LEVEL_INFO, "shutdown deadline: dropping %llu connections",
                (unsigned long long)w->loop.n_conns);
        event_base_loopbreak(w->loop.base);
        return;
    }
}

/* A connection closed while the worker stops: the loop ends with the
 * last, and in a paced close the next 1001 may go out. */
static void
worker_on_closed(struct loop *l)
{
    struct worker *w =
        (struct worker *)(void *)((char *)l - offsetof(struct worker, loop));
    if (l->n_conns == 0) {
        event_base_loopbreak(l->base);
    } else if (w->close_due > 0) {
        event_active(w->ev_close_pump, EV_TIMEOUT, 1);
    }
}

/*
 * Stops accepting for good; the loop ends when the last connection is
 * gone. The listening sockets are closed too: a listener the master still
 * holds goes on for the next workers, and one it dropped (its address
 * changed on reload) refuses at once rather than queue clients nobody
 * will accept.
 */
static void
worker_drain(struct worker *w)
{
    w->loop.draining = true;
    worker_accept_stop(w);
    evtimer_del(w->ev_accept_resume);
    for (unsigned i = 0; i < w->n_listeners; i++) {
        struct event *ev = w->listeners[i].ev_accept;
        if (event_get_fd(ev) != -1) {
            close(event_get_fd(ev));
            event_assign(ev, w->loop.base, -1, 0, worker_on_accept,
                         &w->listeners[i]);
        }
    }
}

static void
deadline_set(struct worker *w, uint64_t ms)
{
    struct timeval tv = {
        .tv_sec = (time_t)(ms / 1000),
        .tv_usec = (suseconds_t)(ms % 1000) * 1000,
    };
    evtimer_add(w->ev_deadline, &tv);
}

/*
 * Moves w to a later phase of its end (never back): stops accepting,
 * starts the phase's deadline and tells the connections. The loop ends as
 * soon as no connection is left.
 */
static void
worker_enter(struct worker *w, enum worker_phase phase)
{
    const struct config *cfg = w->loop.cfg;

    if (phase <= w->phase) {
        return;
    }
    w->phase = phase;
    worker_drain(w);
    if (w->loop.n_conns == 0) {
        event_base_loopbreak(w->loop.base);
        return;
    }
    switch (phase) {
    case WORKER_RUNNING:
        return;
    case WORKER_RETIRING:
        process_title_set("wsd: worker %u (retiring)",
                          worker_number(w->loop.cfg, w->slot_index));
        deadline_set(w, cfg->shutdown_timeout_ms);
        return;
    case WORKER_GRACEFUL:
        w->stop_end_ms = clock_mono_ms() + cfg->shutdown_timeout_ms;
        deadline_set(w, cfg->shutdown_timeout_ms - graceful_fast_ms(cfg));
        close_begin(w, w->loop.n_conns); /* all due, paced */
        return;
    case WORKER_SPREAD:
        deadline_set(w, worker_spread_ms(cfg));
        close_begin(w, 0); /* the steps let them go */
        w->spread_steps = WORKER_SPREAD_STEPS;
        worker_on_spread(-1, 0, w);
        return;
    case WORKER_FAST:
        w->close_due = 0; /* all told at once */
        evtimer_del(w->ev_spread);
        deadline_set(w, fast_deadline_ms(w));
        conn_shutdown_all(&w->loop);
        return;
    }
}

/*
 * Sends the 1001s that are due, while fewer than the worker's share of
 * close_window close handshakes are under way (the connections told and
 * still open): the next goes out as an earlier close ends. Tens of
 * thousands sent at once would queue their answers behind one another
 * past close_timeout_ms when the CPU cannot keep up (README, Scale).
 */
static void
close_pump(struct worker *w)
{
    /* Connections not yet told may have closed on their own. */
    if (w->close_left > w->loop.n_conns) {
        w->close_left = w->loop.n_conns;
    }
    if (w->close_due > w->close_left) {
        w->close_due = w->close_left;
    }
    while (w->close_due > 0 &&
           w->loop.n_conns - w->close_left < w->close_window) {
        w->close_due--;
        w->close_left--;
        /* A reload's spread tells clients they may reconnect at once; a
         * graceful stop closes between messages. */
        bool more = w->phase == WORKER_SPREAD
                        ? conn_shutdown_next(&w->loop, "server reloading")
                        : conn_graceful_next(&w->loop);
        if (!more) {
            w->close_left = 0;
            w->close_due = 0;
        }
    }
}

static void
worker_on_close_pump(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    close_pump(arg);
}

/* Starts the paced closes of all connections, due of them at once. */
static void
close_begin(struct worker *w, uint64_t due)
{
    w->close_window = close_window_of(w->loop.cfg);
    w->close_left = w->loop.n_conns;
    w->close_due = due;
    close_pump(w);
}

/* One step of WORKER_SPREAD: lets an even share of the rest go. */
static void
worker_on_spread(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd;
    (void)what;

    if (w->phase != WORKER_SPREAD || w->spread_steps == 0) {
        return;
    }
    uint64_t held = w->close_left - w->close_due;
    w->close_due += (held + w->spread_steps - 1) / w->spread_steps;
    w->spread_steps--;
    close_pump(w);
    if (w->close_left > w->close_due && w->spread_steps > 0 &&
        w->phase == WORKER_SPREAD) {
        struct timeval tv = {0, WORKER_SPREAD_MS * 1000 / WORKER_SPREAD_STEPS};
        evtimer_add(w->ev_spread, &tv);
    }
}

static void
worker_on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct worker *w = arg;
    char err[CONFIG_ERROR_MAX];
    (void)what;

    if (sig == SIGUSR1 &&
        log_reopen((uid_t)-1, (gid_t)-1, err, sizeof(err)) != 0) {
        log_msg(LOG_LEVEL_ERROR, "worker %u: cannot reopen %s", w->slot_index,
                err);
    }
    if (sig == SIGUSR1 && case_log_reopen(&w->case_log, (uid_t)-1, (gid_t)-1,
                                          err, sizeof(err)) != 0) {
        log_msg(LOG_LEVEL_ERROR, "worker %u: cannot reopen case_log %s",
                w->slot_index, err);
    }
    log_debug("worker %u: signal %d, %llu connections", w->slot_index, (int)sig,
              (unsigned long long)w->loop.n_conns);
    switch (sig) {
    case SIGUSR1:
        return;
    case SIGUSR2:
        /* Replaced by a reload: the new workers accept from now on, and
         * this one keeps its connections until shutdown_timeout_ms. */
        worker_enter(w, WORKER_RETIRING);
        return;
    case SIGQUIT:
        worker_enter(w, WORKER_GRACEFUL);
        return;
    default: /* SIGTERM, SIGINT */
        worker_enter(w, WORKER_FAST);
        return;
    }
}

/*
 * The master's dispositions go back to the defaults, but its mask (which
 * blocks the signals below) stays until the worker's signal events are
 * added: a USR1 or USR2 that came before would otherwise end the worker
 * with the default action. unblock_signals() then delivers it.
 */
static void
reset_signals(void)
{
    static const int sigs[] = {SIGTERM, SIGINT,  SIGQUIT, SIGHUP,
                               SIGCHLD, SIGUSR1, SIGUSR2};
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaction(sigs[i], &sa, NULL);
    }
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    /* A log file over RLIMIT_FSIZE: a write that fails (EFBIG), counted
     * for the case log, rather than a dead worker. */
    sigaction(SIGXFSZ, &sa, NULL);
    /* A hangup is the master's to handle (it reloads). */
    sigaction(SIGHUP, &sa, NULL);
}

static void
unblock_signals(void)
{
    sigset_t none;

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static void
worker_free(struct worker *w)
{
    w->loop.draining = false; /* no on_closed while freeing */
    conn_close_all(&w->loop);
    for (size_t i = 0; i < WORKER_N_SIGNALS; i++) {
        if (w->ev_signals[i] != NULL) {
            event_free(w->ev_signals[i]);
        }
    }
    if (w->ev_deadline != NULL) {
        event_free(w->ev_deadline);
    }
    if (w->ev_spread != NULL) {
        event_free(w->ev_spread);
    }
    if (w->ev_close_pump != NULL) {
        event_free(w->ev_close_pump);
    }
    if (w->ev_heartbeat != NULL) {
        event_free(w->ev_heartbeat);
    }
    if (w->ev_accept_resume != NULL) {
        event_free(w->ev_accept_resume);
    }
    for (unsigned i = 0; i < w->n_listeners; i++) {
        if (w->listeners[i].ev_accept != NULL) {
            event_free(w->listeners[i].ev_accept);
        }
    }
    transport_tls_report(&w->tls);
    loop_clear(&w->loop);
    transport_tls_env_done(&w->tls);
    EVP_MD_CTX_free(w->sha1_ctx);
    EVP_MD_free(w->sha1);
    /* After conn_close_all, which wrote the last cases. */
    case_log_close(&w->case_log);
}

/* Makes w's events: accepting on ls's sockets, the heartbeat, the
 * deadlines and the signals. Returns false when out of memory. */
static bool
worker_events_new(struct worker *w, const struct worker_listeners *ls)
{
    static const int sigs[WORKER_N_SIGNALS] = {SIGTERM, SIGINT, SIGQUIT,
                                               SIGUSR1, SIGUSR2};
    struct event_base *base = w->loop.base;
    bool ok = true;

    w->listeners[w->n_listeners++].t = &transport_tcp;
    if (ls->tls_fd != -1) {
        w->listeners[w->n_listeners++].t = &transport_tls;
    }
    for (unsigned i = 0; i < w->n_listeners; i++) {
        struct worker_listener *l = &w->listeners[i];
        l->w = w;
        l->ev_accept = event_new(base, i == 0 ? ls->fd : ls->tls_fd,
                                 EV_READ | EV_PERSIST, worker_on_accept, l);
        ok = ok && l->ev_accept != NULL;
    }
    w->ev_accept_resume = evtimer_new(base, worker_on_accept_resume, w);
    w->ev_heartbeat = event_new(base, -1, EV_PERSIST, worker_on_heartbeat, w);
    w->ev_deadline = evtimer_new(base, worker_on_deadline, w);
    w->ev_spread = evtimer_new(base, worker_on_spread, w);
    w->ev_close_pump = event_new(base, -1, 0, worker_on_close_pump, w);
    for (size_t i = 0; i < WORKER_N_SIGNALS; i++) {
        w->ev_signals[i] = evsignal_new(base, sigs[i], worker_on_signal, w);
        ok = ok && w->ev_signals[i] != NULL;
    }
    return ok && w->ev_accept_resume != NULL && w->ev_heartbeat != NULL &&
           w->ev_deadline != NULL && w->ev_spread != NULL &&
           w->ev_close_pump != NULL;
}

int
worker_run(const struct config *cfg, unsigned slot,
           const struct worker_listeners *ls, struct stats_shm *shm,
           pid_t master_pid)
{
    struct worker w;
    int rc = WSD_EXIT_FATAL;
    char err[CONFIG_FILE_MAX + 64];

    memset(&w, 0, sizeof(w));
    case_log_init(&w.case_log);
    reset_signals();
    process_title_set("wsd: worker %u", worker_number(cfg, slot));
    /* Each worker appends to the case log with a descriptor of its own,
     * opened while it may still create the file where the master can. A
     * failure costs no connection: the worker serves, and counts each
     * case it could not write. */
    if (case_log_open(&w.case_log, cfg->case_log, (uid_t)-1, (gid_t)-1, err,
                      sizeof(err)) != 0) {
        log_msg(LOG_LEVEL_ERROR, "worker %u: cannot open case_log %s", slot,
                err);
    }
    /* The listeners are bound and the keys read: the worker needs no
     * privilege from here on. */
    if (cfg->user[0] != '\0' &&
        process_drop_privileges(cfg->user, cfg->uid, cfg->gid) != 0) {
        log_errno(LOG_LEVEL_CRIT, "worker %u: cannot become user %s", slot,
                  cfg->user);
        case_log_close(&w.case_log);
        return WSD_EXIT_FATAL;
    }
    /* If the master dies, so does the worker (no orphan holds the port).
     * After the change of user, which would clear it. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != master_pid) {
        case_log_close(&w.case_log);
        return 0;
    }

    w.slot_index = slot;
    w.master_pid = master_pid;
    transport_tls_env_init(&w.tls, ls->tls_ctx);
    w.slot = stats_shm_slot(shm, slot);
    /* A fresh base: nothing of the master's loop is shared after fork. */
    bool loop_ok = loop_init(&w.loop, cfg, shm, slot, &conn_loop_hooks) == 0;
    /* Fetched once, not at each handshake (ws_handshake.h); without it
     * each handshake fetches its own. */
    w.sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    w.loop.handshake_cfg.sha1 = w.sha1;
    /* One context for every handshake's digest (ws_handshake.h). */
    w.sha1_ctx = EVP_MD_CTX_new();
    w.loop.handshake_cfg.sha1_ctx = w.sha1_ctx;
    w.loop.case_log = &w.case_log;
    w.loop.on_closed = worker_on_closed;
    if (w.slot == NULL || !loop_ok) {
        log_msg(LOG_LEVEL_CRIT, "worker %u cannot start: out of memory", slot);
        goto out;
    }
    if (!worker_events_new(&w, ls)) {
        log_msg(LOG_LEVEL_CRIT, "worker %u cannot start: out of memory", slot);
        goto out;
    }
    stats_shm_recount(shm, slot);
    /* Before the first accept: a record's first use then costs no page
     * fault in a handshake (stats_shm.h). */
    if (stats_shm_populate(shm, slot) != 0 && errno != EINVAL) {
        log_errno(LOG_LEVEL_WARN,
                  "worker %u: cannot make its case records resident now; "
                  "each takes its memory at first use",
                  slot);
    }
    struct timeval beat = {WORKER_HEARTBEAT_MS / 1000, 0};
    for (unsigned i = 0; i < w.n_listeners; i++) {
        event_add(w.listeners[i].ev_accept, NULL);
    }
    event_add(w.ev_heartbeat, &beat);
    for (size_t i = 0; i < WORKER_N_SIGNALS; i++) {
        event_add(w.ev_signals[i], NULL);
    }
    unblock_signals();
    atomic_store_explicit(&w.slot->heartbeat_ms, clock_wall_ms(),
                          memory_order_relaxed);
    log_debug("worker %u started", slot);

    if (event_base_dispatch(w.loop.base) == -1) {
        log_msg(LOG_LEVEL_CRIT, "worker %u: event loop failed", slot);
        goto out;
    }
    rc = 0;
out:
    worker_free(&w);
    return rc;
}
