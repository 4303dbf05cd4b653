/* SPDX-License-Identifier: MIT */
/*
 * The master cycle (nginx's): listeners, TLS keys and the shared segment
 * before fork, a worker per slot, respawn at once when a worker dies (with
 * back-off when it keeps dying young; exit status 2 from a worker means
 * "do not respawn"), reload into a new generation of workers while the
 * old one serves out, log reopening, and bounded stops, fast or graceful.
 */
#include "autoconf.h"

#include "master.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin.h"
#include "case_log.h"
#include "clock.h"
#include "listener.h"
#include "log.h"
#include "process.h"
#include "stats_record.h"
#include "stats_shm.h"
#include "transport_tls.h"
#include "worker.h"

/* A worker that dies younger than this counts as crashing in a loop. */
#define MASTER_YOUNG_DEATH_MS  1000
#define MASTER_BACKOFF_BASE_MS 100
#define MASTER_BACKOFF_MAX_MS  5000
/* How long after the workers' own close timeout they are SIGKILLed. */
#define MASTER_STOP_GRACE_MS   1000
#define MASTER_FORK_RETRY_MS   1000

struct master_slot {
    pid_t pid; /* 0: no worker running */
    uint64_t started_ms;
    unsigned young_deaths; /* consecutive deaths before MASTER_YOUNG_DEATH_MS */
    bool fatal;            /* exited with WSD_EXIT_FATAL: not respawned */
    bool retiring;         /* of the generation before a reload */
    struct event *ev_respawn;
};

/* The sockets of one endpoint of a generation. */
struct master_listen {
    int *fds;   /* one per worker, SO_REUSEPORT; NULL: endpoint off */
    bool taken; /* from the generation before: given back if this one
                   does not run */
};

/* What a generation of workers serves: listeners, TLS and configuration. */
struct master_gen {
    struct config *cfg;
    struct master_listen ws;
    struct master_listen wss; /* fds NULL while TLS is off */
    SSL_CTX *tls_ctx;         /* NULL while TLS is off */
};

/*
 * The shared segment has two banks of `workers` slots: the running
 * generation's workers write to one, and after a reload the new ones
 * write to the other while the old ones finish in theirs (one writer per
 * slot, always).
 */
struct master {
    const struct config_item *items; /* where the configuration comes from */
    size_t n_items;
    struct master_gen gen;
    unsigned n;    /* workers per generation (fixed until restart) */
    unsigned bank; /* 0 or 1: the running generation's slots */
    struct event_base *base;
    pid_t pid;
    struct master_slot *slots; /* 2 * n */
    struct stats_shm shm;
    struct admin_census census; /* for the admin endpoint; workers 2 * n */
    bool stopping;
    bool reload_pending; /* waits for the previous generation to go */
    int exit_code;
    int signal_fd; /* signalfd of the signals the master takes */
    int admin_fd;  /* the admin endpoint's socket, -1 when off */
    struct admin *admin;
    int pidfile_fd; /* -1: no pidfile */
    char pidfile_path[CONFIG_FILE_MAX];
    struct case_log case_log; /* for the cases of workers that died */
    struct event *ev_signal;
    struct event *ev_stop_deadline;
    struct event *ev_retire_deadline;
};

static void
timer_ms(struct event *ev, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(ev, &tv);
}

/* Closes the descriptors from..to; one by one where close_range(2) is
 * missing (before Linux 5.9) or filtered, up to the descriptor limit. */
static void
close_from_to(unsigned from, unsigned to)
{
    if (close_range(from, to, 0) == 0) {
        return;
    }
    long max = sysconf(_SC_OPEN_MAX);
    if (max <= 0 || max > INT_MAX) {
        max = 65536;
    }
    for (unsigned fd = from; fd <= to && fd < (unsigned long)max; fd++) {
        close((int)fd);
    }
}

/* In a new worker: closes every descriptor above stdio but keep[0..n_keep)
 * (-1 entries keep nothing). */
static void
close_fds_but(const int *keep, size_t n_keep)
{
    unsigned from = 3;

    for (;;) {
        int next = -1;
        for (size_t i = 0; i < n_keep; i++) {
            if (keep[i] >= (int)from && (next == -1 || keep[i] < next)) {
                next = keep[i];
            }
        }
        if (next == -1) {
            break;
        }
        if ((unsigned)next > from) {
            close_from_to(from, (unsigned)next - 1);
        }
        from = (unsigned)next + 1;
    }
    close_from_to(from, ~0U);
}

static void
master_spawn(struct master *m, unsigned i)
{
    struct master_slot *s = &m->slots[i];
    struct stats_shm_slot *shm_slot = stats_shm_slot(&m->shm, i);
    unsigned k = i % m->n; /* the worker's listeners */
    pid_t pid = fork();

    if (pid == -1) {
        log_msg(LOG_LEVEL_CRIT, "fork (worker %u): %s; retrying in %d ms", i,
                strerror(errno), MASTER_FORK_RETRY_MS);
        timer_ms(s->ev_respawn, MASTER_FORK_RETRY_MS);
        return;
    }
    if (pid == 0) {
        /* The worker keeps stdio, the log files and its own listeners,
         * nothing else of the master's: not the other listeners, the
         * signalfd, the pidfile, the admin socket, nor an admin client's
         * connection, whose end would otherwise wait for the worker's. It
         * takes its signals through its own event base. */
        struct worker_listeners ls = {m->gen.ws.fds[k], -1, m->gen.tls_ctx};
        if (m->gen.wss.fds != NULL) {
            ls.tls_fd = m->gen.wss.fds[k];
        }
        int keep[4] = {ls.fd, ls.tls_fd, -1, -1};
        log_fds(&keep[2], &keep[3]);
        close_fds_but(keep, 4);
        log_after_fork();
        exit(worker_run(m->gen.cfg, i, &ls, &m->shm, m->pid));
    }
    s->pid = pid;
    m->census.workers[i].pid = pid;
    s->retiring = false;
    s->started_ms = clock_mono_ms();
    atomic_store_explicit(&shm_slot->pid, (int32_t)pid, memory_order_relaxed);
    atomic_fetch_add_explicit(&shm_slot->generation, 1, memory_order_relaxed);
    log_debug("worker %u started as pid %ld", i, (long)pid);
}

/* The running generation's slots are [first, first + n). */
static unsigned
bank_first(const struct master *m)
{
    return m->bank * m->n;
}

static void
master_on_respawn(evutil_socket_t fd, short what, void *arg)
{
    struct master *m = arg;
    (void)fd;
    (void)what;
    for (unsigned i = bank_first(m); i < bank_first(m) + m->n; i++) {
        struct master_slot *s = &m->slots[i];
        if (s->pid == 0 && !s->fatal && !m->stopping &&
            !evtimer_pending(s->ev_respawn, NULL)) {
            master_spawn(m, i);
        }
    }
}

static unsigned
master_live_workers(const struct master *m)
{
    unsigned n = 0;
    for (unsigned i = 0; i < 2 * m->n; i++) {
        n += m->slots[i].pid != 0;
    }
    return n;
}

static unsigned
master_retiring_workers(const struct master *m)
{
    unsigned n = 0;
    for (unsigned i = 0; i < 2 * m->n; i++) {
        n += m->slots[i].pid != 0 && m->slots[i].retiring;
    }
    return n;
}

static void master_reload(struct master *m);
static void master_check_nofile(const struct config *cfg);

/* A worker that died, and what logging its cases takes. */
struct master_dead {
    struct master *m;
    unsigned slot;
    struct stats_case *copy; /* room for one record; NULL: none */
    uint64_t now_ms;
};

/*
 * Appends a record the master closed for a dead worker to the case log
 * and the access log, as the worker would have, from a copy (the segment
 * is the workers' to write: stats_case_read bounds what the copy says).
 * Case log write errors count in the dead worker's slot, which the
 * master alone writes until the replacement starts.
 */
static void
master_log_dead_case(void *arg, unsigned record)
{
    struct master_dead *d = arg;
    struct master *m = d->m;
    struct stats_shm_slot *slot = stats_shm_slot(&m->shm, d->slot);
    bool to_case_log = case_log_on(&m->case_log);

    if ((!to_case_log && !access_log_on()) || slot == NULL) {
        return;
    }
    if (d->copy == NULL || !stats_case_read(&m->shm, record, d->copy)) {
        if (to_case_log) {
            stats_add(&slot->c.case_log_write_errors, 1);
        }
        log_msg(LOG_LEVEL_ERROR, "%s: a case of dead worker %u not written: %s",
                to_case_log ? "case_log" : "access_log", d->slot,
                d->copy == NULL ? "out of memory" : "its record is unreadable");
        return;
    }
    if (to_case_log) {
        case_log_write(&m->case_log, d->copy, d->now_ms, clock_mono_ms(),
                       &slot->c.case_log_write_errors);
    }
    stats_record_access_line(d->copy);
}

/* A worker is gone: record it and decide whether and when to respawn. */
static void
master_worker_died(struct master *m, unsigned i, int status)
{
    struct master_slot *s = &m->slots[i];
    struct stats_shm_slot *shm_slot = stats_shm_slot(&m->shm, i);
    uint64_t lived = clock_mono_ms() - s->started_ms;
    bool retired = s->retiring;
    long pid = (long)s->pid; /* named in the lines below, for ps */

    s->pid = 0;
    m->census.workers[i].pid = 0;
    s->retiring = false;
    atomic_store_explicit(&shm_slot->pid, 0, memory_order_relaxed);
    /* Before any replacement writes to the slot: settle the dead
     * worker's open cases and counters, and log the cases. */
    struct master_dead dead = {m, i, NULL, clock_wall_ms()};
    if (case_log_on(&m->case_log) || access_log_on()) {
        dead.copy = malloc(m->shm.case_bytes);
    }
    unsigned lost = stats_shm_worker_died(&m->shm, i, dead.now_ms,
                                          master_log_dead_case, &dead);
    free(dead.copy);
    if (lost > 0) {
        log_msg(LOG_LEVEL_WARN,
                "worker %u (pid %ld) died with %u open connections", i, pid,
                lost);
    }
    if (retired) {
        m->census.workers[i].exits[ADMIN_EXIT_RETIRED]++;
        log_msg(LOG_LEVEL_INFO,
                "worker %u (pid %ld) of the previous generation is done", i,
                pid);
        if (master_retiring_workers(m) == 0) {
            evtimer_del(m->ev_retire_deadline);
            if (m->reload_pending && !m->stopping) {
                m->reload_pending = false;
                master_reload(m);
            }
        }
        return;
    }
    if (m->stopping) {
        return;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == WSD_EXIT_FATAL) {
        m->census.workers[i].exits[ADMIN_EXIT_FATAL]++;
        log_msg(LOG_LEVEL_ERROR,
                "worker %u (pid %ld) exited with status %d (broken "
                "configuration or start-up): not respawned",
                i, pid, WSD_EXIT_FATAL);
        s->fatal = true;
        return;
    }
    m->census.workers[i].exits[ADMIN_EXIT_CRASHED]++;
    char how[48];
    if (WIFSIGNALED(status)) {
        snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
    } else {
        snprintf(how, sizeof(how), "exited with status %d",
                 WEXITSTATUS(status));
    }
    s->young_deaths = lived < MASTER_YOUNG_DEATH_MS ? s->young_deaths + 1 : 0;
    if (s->young_deaths <= 1) {
        log_msg(LOG_LEVEL_WARN, "worker %u (pid %ld) %s, respawning", i, pid,
                how);
        master_spawn(m, i);
        return;
    }
    /* 100, 200, 400 ... ms, at most MASTER_BACKOFF_MAX_MS. */
    unsigned shift = s->young_deaths < 8 ? s->young_deaths - 2 : 6;
    uint64_t delay = (uint64_t)MASTER_BACKOFF_BASE_MS << shift;
    if (delay > MASTER_BACKOFF_MAX_MS) {
        delay = MASTER_BACKOFF_MAX_MS;
    }
    log_msg(LOG_LEVEL_WARN,
            "worker %u (pid %ld) %s and keeps dying: next start in %llu ms", i,
            pid, how, (unsigned long long)delay);
    timer_ms(s->ev_respawn, delay);
}

static void
master_reap(struct master *m)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (unsigned i = 0; i < 2 * m->n; i++) {
            if (m->slots[i].pid == pid) {
                master_worker_died(m, i, status);
                break;
            }
        }
    }
    if (m->stopping && master_live_workers(m) == 0) {
        event_base_loopbreak(m->base);
        return;
    }
    bool all_fatal = true;
    for (unsigned i = bank_first(m); i < bank_first(m) + m->n; i++) {
        all_fatal = all_fatal && m->slots[i].fatal;
    }
    if (all_fatal) {
        log_msg(LOG_LEVEL_CRIT, "every worker failed to start: exiting");
        m->exit_code = WSD_EXIT_FATAL;
        event_base_loopbreak(m->base);
    }
}

/* Workers past their deadline (retiring ones only, or all) are killed. */
static void
master_kill_late(struct master *m, bool retiring_only)
{
    for (unsigned i = 0; i < 2 * m->n; i++) {
        struct master_slot *s = &m->slots[i];
        if (s->pid != 0 && (s->retiring || !retiring_only)) {
            log_msg(LOG_LEVEL_WARN, "worker %u did not stop in time: killed",
                    i);
            kill(s->pid, SIGKILL);
        }
    }
}

static void
master_on_stop_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    master_kill_late(arg, false);
}

static void
master_on_retire_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    master_kill_late(arg, true);
}

/*
 * TERM and INT: fast shutdown; QUIT: graceful. The workers get the same
 * signal, and are killed if they overrun their own deadline.
 */
static void
master_stop(struct master *m, int sig)
{
    const struct config *cfg = m->gen.cfg;

    if (m->stopping && sig == SIGQUIT) {
        return; /* already stopping, graceful or not */
    }
    log_msg(LOG_LEVEL_INFO, "signal %d: %s shutdown", sig,
            sig == SIGQUIT ? "graceful" : "fast");
    process_notify("STOPPING=1");
    m->stopping = true;
    m->reload_pending = false;
    for (unsigned i = 0; i < 2 * m->n; i++) {
        evtimer_del(m->slots[i].ev_respawn);
        if (m->slots[i].pid != 0) {
            kill(m->slots[i].pid, sig == SIGQUIT ? SIGQUIT : SIGTERM);
        }
    }
    if (master_live_workers(m) == 0) {
        event_base_loopbreak(m->base);
        return;
    }
    /* A worker's own deadline: shutdown_timeout_ms on QUIT (its fast stop
     * included), close_timeout_ms for the close handshakes on TERM; one
     * that a reload's spread had begun to close (which QUIT does not
     * restart) has that spread's. */
    uint64_t ms = cfg->close_timeout_ms;
    if (sig == SIGQUIT) {
        ms = worker_spread_ms(cfg); /* at least shutdown_timeout_ms */
    }
    ms += MASTER_STOP_GRACE_MS;
    timer_ms(m->ev_stop_deadline, ms);
}

/* USR1: the master reopens the log files, then the workers do. */
static void
master_reopen_logs(struct master *m)
{
    const struct config *cfg = m->gen.cfg;
    char err[CONFIG_FILE_MAX + 64];
    bool drop = cfg->user[0] != '\0';

    uid_t uid = drop ? cfg->uid : (uid_t)-1;
    gid_t gid = drop ? cfg->gid : (gid_t)-1;

    /* First the master, which creates the new files for the workers
     * (given to their user), then the workers. */
    bool ok = true;
    if (log_reopen(uid, gid, err, sizeof(err)) != 0) {
        log_msg(LOG_LEVEL_ERROR, "cannot reopen %s", err);
        ok = false;
    }
    if (case_log_reopen(&m->case_log, uid, gid, err, sizeof(err)) != 0) {
        log_msg(LOG_LEVEL_ERROR, "cannot reopen case_log %s", err);
        ok = false;
    }
    if (ok) {
        log_msg(LOG_LEVEL_INFO, "reopened the log files");
    }
    for (unsigned i = 0; i < 2 * m->n; i++) {
        if (m->slots[i].pid != 0) {
            kill(m->slots[i].pid, SIGUSR1);
        }
    }
}

/*
 * The master takes its signals through a signalfd rather than libevent's
 * evsignal: libevent's signal state is global to the process, and a worker
 * forked from inside the master's loop must build its own without
 * inheriting the master's.
 */
static void
master_on_signal(evutil_socket_t fd, short what, void *arg)
{
    struct master *m = arg;
    struct signalfd_siginfo si;
    (void)what;

    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            master_reap(m);
            break;
        case SIGHUP:
            if (!m->stopping) {
                master_reload(m);
            }
            break;
        case SIGUSR1:
            master_reopen_logs(m);
            break;
        case SIGUSR2:
            /* The master's to workers only (retire); sent to the master
             * by hand it would otherwise end the daemon. */
            log_msg(LOG_LEVEL_WARN, "signal USR2 ignored: wsd has no "
                                    "binary upgrade (HUP reloads)");
            break;
        default:
            master_stop(m, (int)si.ssi_signo);
            break;
        }
    }
}

static void
gen_listen_free(struct master_listen *l, unsigned n)
{
    if (l->fds != NULL) {
        listener_close(l->fds, n);
    }
    free(l->fds);
    l->fds = NULL;
}

static void
gen_free(struct master_gen *g, unsigned n)
{
    gen_listen_free(&g->ws, n);
    gen_listen_free(&g->wss, n);
    SSL_CTX_free(g->tls_ctx);
    free(g->cfg);
    memset(g, 0, sizeof(*g));
}

static int *
fds_new(unsigned n)
{
    int *fds = calloc(n, sizeof(*fds));
    for (unsigned i = 0; fds != NULL && i < n; i++) {
        fds[i] = -1;
    }
    return fds;
}

/* Gives l's sockets back to old if l took them from there. */
static void
gen_listen_give_back(struct master_listen *l, struct master_listen *old)
{
    if (l->taken) {
        old->fds = l->fds;
        l->fds = NULL;
        l->taken = false;
    }
}

/*
 * Frees g, a generation that will not run, after giving back to old the
 * listeners gen_open took from it: a refused reload changes nothing.
 */
static void
gen_abandon(struct master_gen *g, struct master_gen *old, unsigned n)
{
    if (old != NULL) {
        gen_listen_give_back(&g->ws, &old->ws);
        gen_listen_give_back(&g->wss, &old->wss);
    }
    gen_free(g, n);
}

/*
 * Fills l with the sockets of directive on addr: those of old (whose
 * configured address was old_addr) when the address is unchanged, taken
 * from it, else n new ones (held: see listener_open). Returns 0, or -1
 * with the problem in err[0..errlen).
 */
static int
gen_listen(struct master_listen *l, struct master_listen *old,
           const struct config_addr *old_addr, const char *directive,
           const struct config_addr *addr, unsigned n,
           const struct listener_held *held, size_t n_held, char *err,
           size_t errlen)
{
    if (old != NULL && old->fds != NULL &&
        strcmp(old_addr->text, addr->text) == 0) {
        l->fds = old->fds;
        l->taken = true;
        old->fds = NULL;
        return 0;
    }
    l->fds = fds_new(n);
    if (l->fds == NULL) {
        snprintf(err, errlen, "%s %s: out of memory", directive, addr->text);
        return -1;
    }
    return listener_open(directive, addr, n, l->fds, held, n_held, err, errlen);
}

/*
 * Fills g for cfg (which it takes over): the TLS context, and m->n
 * listeners each, taken from old when their address is unchanged or
 * opened anew (held: the running listeners, see listener_open). Returns
 * 0, or -1 with the problem, located in m's sources of cfg, in
 * err[0..CONFIG_ERROR_MAX) (g freed, old intact).
 */
static int
gen_open(struct master_gen *g, struct config *cfg, const struct master *m,
         struct master_gen *old, const struct listener_held *held,
         size_t n_held, char *err)
{
    unsigned n = m->n;

    memset(g, 0, sizeof(*g));
    g->cfg = cfg;
    if (config_tls_is_on(cfg)) {
        /* Before anything binds or forks: a bad certificate stops wsd (or
         * the reload) at once, and every worker inherits the same context
         * (and with it the session ticket keys). */
        g->tls_ctx = transport_tls_ctx_new(cfg, err, CONFIG_ERROR_MAX);
        if (g->tls_ctx == NULL) {
            goto fail;
        }
    }
    if (gen_listen(&g->ws, old != NULL ? &old->ws : NULL,
                   old != NULL ? &old->cfg->listen : NULL, "listen",
                   &cfg->listen, n, held, n_held, err, CONFIG_ERROR_MAX) != 0) {
        goto fail;
    }
    if (g->tls_ctx != NULL &&
        gen_listen(&g->wss, old != NULL ? &old->wss : NULL,
                   old != NULL ? &old->cfg->tls_listen : NULL, "tls_listen",
                   &cfg->tls_listen, n, held, n_held, err,
                   CONFIG_ERROR_MAX) != 0) {
        goto fail;
    }
    return 0;
fail:
    config_locate(cfg, m->items, m->n_items, err);
    gen_abandon(g, old, n); /* frees cfg too */
    return -1;
}

/*
 * The admin endpoint cfg asks for, made ready without touching the running
 * one: *fresh is a new endpoint when the address changed (NULL when it is
 * unchanged or turned off). Returns 0, or -1 with the problem in
 * err[0..CONFIG_ERROR_MAX).
 */
static int
admin_prepare(struct master *m, const struct config *cfg,
              const struct config *old, const struct listener_held *held,
              size_t n_held, struct admin **fresh, int *fresh_fd, char *err)
{
    char why[256];

    *fresh = NULL;
    *fresh_fd = -1;
    if (cfg->admin_listen.len == 0 ||
        (old != NULL && m->admin != NULL &&
         strcmp(old->admin_listen.text, cfg->admin_listen.text) == 0)) {
        return 0;
    }
    *fresh_fd = listener_open_one("admin_listen", &cfg->admin_listen, held,
                                  n_held, err, CONFIG_ERROR_MAX);
    if (*fresh_fd == -1) {
        return -1;
    }
    *fresh = admin_new(m->base, *fresh_fd, &m->shm, &m->census,
                       cfg->admin_token, why, sizeof(why));
    if (*fresh == NULL) {
        snprintf(err, CONFIG_ERROR_MAX, "admin endpoint: %s", why);
        close(*fresh_fd);
        *fresh_fd = -1;
        return -1;
    }
    return 0;
}

/* Puts the endpoint admin_prepare made (or none) in service. */
static void
admin_commit(struct master *m, const struct config *cfg, struct admin *fresh,
             int fresh_fd)
{
    if (fresh != NULL || cfg->admin_listen.len == 0) {
        admin_free(m->admin); /* closes its socket */
        m->admin = fresh;
        m->admin_fd = fresh_fd;
    } else if (m->admin != NULL &&
               !admin_set_token(m->admin, cfg->admin_token)) {
        log_msg(LOG_LEVEL_ERROR, "admin endpoint: cannot hash the token");
    }
}

/*
 * The log destinations and level of cfg (old: the running configuration,
 * NULL at start). On failure (logged), nothing has changed.
 */
static int
master_logs(struct master *m, const struct config *cfg,
            const struct config *old)
{
    char err[CONFIG_FILE_MAX + 64];
    bool drop = cfg->user[0] != '\0';
    struct case_log fresh;

    bool access_changed =
        old == NULL || strcmp(old->access_log, cfg->access_log) != 0;
    bool case_changed =
        old == NULL || strcmp(old->case_log, cfg->case_log) != 0;
    /* At start, the end of wsd; on reload, of the reload only. */
    int level = old == NULL ? LOG_LEVEL_CRIT : LOG_LEVEL_ERROR;

    /* The master's own case log, for dead workers' cases; the workers
     * open theirs. Created here first, so that a worker that runs as
     * user can open it. */
    case_log_init(&fresh);
    if (case_changed &&
        case_log_open(&fresh, cfg->case_log, drop ? cfg->uid : (uid_t)-1,
                      drop ? cfg->gid : (gid_t)-1, err, sizeof(err)) != 0) {
        log_msg(level, "case_log: %s", err);
        case_log_close(&fresh);
        return -1;
    }
    if (access_changed &&
        access_log_open(cfg->access_log, err, sizeof(err)) != 0) {
        log_msg(level, "access_log: %s", err);
        case_log_close(&fresh);
        return -1;
    }
    if ((old == NULL || strcmp(old->log, cfg->log) != 0) &&
        log_open(cfg->log, err, sizeof(err)) != 0) {
        log_msg(level, "log: %s", err);
        if (access_changed && old != NULL) {
            access_log_open(old->access_log, err, sizeof(err));
        }
        case_log_close(&fresh);
        return -1;
    }
    if (case_changed) {
        /* fresh holds no buffer yet: its fields move over whole. */
        case_log_close(&m->case_log);
        m->case_log = fresh;
    }
    /* Workers reopen these by name after rotation, without root. */
    if (cfg->user[0] != '\0' &&
        log_chown(cfg->uid, cfg->gid, err, sizeof(err)) != 0) {
        log_msg(LOG_LEVEL_WARN,
                "%s: workers will not be able to reopen it after rotation",
                err);
    }
    log_set_level(cfg->log_level);
    return 0;
}

/* addr as HOST:PORT with the port fd is bound to (port 0 asks the kernel
 * for one). */
struct bound_text {
    char s[sizeof(((struct config_addr *)0)->text) + 8];
};

static struct bound_text
bound_text(const struct config_addr *addr, int fd)
{
    struct bound_text b;
    const char *colon = strrchr(addr->text, ':');

    snprintf(b.s, sizeof(b.s), "%.*s:%u", (int)(colon - addr->text), addr->text,
             listener_port(fd));
    return b;
}

/* One endpoint the master listens on, for the messages and the checks. */
struct master_endpoint {
    struct listener_held l;         /* directive, a socket, SO_REUSEPORT */
    const char *ready_key;          /* its name in the --ready_fd line */
    const struct config_addr *addr; /* as configured */
};

/* The running configuration's endpoints, in the order ws://, wss://,
 * admin, into e; returns how many there are. */
static size_t
master_endpoints(const struct master *m, struct master_endpoint e[3])
{
    const struct config *cfg = m->gen.cfg;
    size_t n = 0;

    if (m->gen.ws.fds != NULL) {
        e[n++] = (struct master_endpoint){
            {"listen", m->gen.ws.fds[0], true}, "listen", &cfg->listen};
    }
    if (m->gen.wss.fds != NULL) {
        e[n++] =
            (struct master_endpoint){{"tls_listen", m->gen.wss.fds[0], true},
                                     "tls_listen",
                                     &cfg->tls_listen};
    }
    if (m->admin_fd != -1) {
        e[n++] = (struct master_endpoint){
            {"admin_listen", m->admin_fd, false}, "admin", &cfg->admin_listen};
    }
    return n;
}

/* Logs head, then the path and every endpoint with the address it is
 * bound to: one line that says where wsd serves. */
static void
master_log_endpoints(const struct master *m, const char *head)
{
    const struct config *cfg = m->gen.cfg;
    struct master_endpoint e[3];
    size_t n = master_endpoints(m, e);
    char line[2 * CONFIG_FILE_MAX];
    int k = snprintf(line, sizeof(line), "%s, path %s", head, cfg->path);
    size_t len = k > 0 && (size_t)k < sizeof(line) ? (size_t)k : 0;

    /* It fits: the path and the certificate are at most CONFIG_PATH_MAX
     * and CONFIG_FILE_MAX, the rest a few dozen bytes each. */
    for (size_t i = 0; i < n; i++) {
        bool tls = e[i].addr == &cfg->tls_listen;
        k = snprintf(line + len, sizeof(line) - len, ", %s %s%s%s%s",
                     e[i].l.directive, bound_text(e[i].addr, e[i].l.fd).s,
                     tls ? " (certificate " : "",
                     tls ? cfg->tls_certificate : "", tls ? ")" : "");
        len += k > 0 && (size_t)k < sizeof(line) - len ? (size_t)k : 0;
    }
    log_msg(LOG_LEVEL_INFO, "%s", line);
}

/*
 * The reload's last step: the workers of the current bank retire (USR2),
 * next becomes the current generation in the other bank, and its workers
 * start. The retiring ones get until the grace of the old configuration.
 */
static void
master_switch_generation(struct master *m, const struct master_gen *next)
{
    for (unsigned i = bank_first(m); i < bank_first(m) + m->n; i++) {
        struct master_slot *s = &m->slots[i];
        evtimer_del(s->ev_respawn);
        s->fatal = false;
        if (s->pid != 0) {
            s->retiring = true;
            kill(s->pid, SIGUSR2);
        }
    }
    uint64_t grace = m->gen.cfg->shutdown_timeout_ms +
                     worker_spread_ms(m->gen.cfg) + MASTER_STOP_GRACE_MS;
    gen_free(&m->gen, m->n);
    m->gen = *next;
    m->census.max_connections = m->gen.cfg->max_connections;
    m->census.admin_output_bytes = m->gen.cfg->admin_output_bytes;
    m->census.reloads++;
    m->bank ^= 1;
    if (master_retiring_workers(m) > 0) {
        timer_ms(m->ev_retire_deadline, grace);
    }
    for (unsigned i = bank_first(m); i < bank_first(m) + m->n; i++) {
        m->slots[i].young_deaths = 0;
        m->slots[i].fatal = false;
        master_spawn(m, i);
    }
}

/*
 * HUP: builds the configuration anew from the same sources. A valid one
 * starts a new generation of workers in the other bank of slots; the old
 * workers stop accepting and serve their connections out (USR2). Anything
 * wrong is logged and nothing changes.
 */
static void
master_reload(struct master *m)
{
    char err[CONFIG_ERROR_MAX];
    struct master_gen next;
    struct config *cfg;
    struct master_endpoint e[3];
    struct listener_held held[3];

    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL) {
        log_msg(LOG_LEVEL_ERROR, "reload: out of memory");
        return;
    }
    if (config_build(cfg, m->items, m->n_items, err) != 0 ||
        config_reloadable(m->gen.cfg, cfg, err) != 0 ||
        master_check_config(cfg, err, sizeof(err)) != 0) {
        config_locate(cfg, m->items, m->n_items, err);
        log_msg(LOG_LEVEL_ERROR, "reload refused, configuration unchanged: %s",
                err);
        m->census.reloads_refused++;
        free(cfg);
        return;
    }
    if (master_retiring_workers(m) > 0) {
        /* Two banks only: the generation before must go first, now; the
         * reload runs (reading the configuration again) once it is gone. */
        log_msg(LOG_LEVEL_WARN,
                "reload: the previous generation is still draining: closing "
                "its connections first");
        free(cfg);
        m->reload_pending = true;
        for (unsigned i = 0; i < 2 * m->n; i++) {
            if (m->slots[i].pid != 0 && m->slots[i].retiring) {
                kill(m->slots[i].pid, SIGTERM);
            }
        }
        return;
    }
    process_notify("RELOADING=1");
    log_msg(LOG_LEVEL_INFO, "reloading the configuration");
    size_t n_held = master_endpoints(m, e);
    for (size_t i = 0; i < n_held; i++) {
        held[i] = e[i].l;
    }
    if (gen_open(&next, cfg, m, &m->gen, held, n_held, err) != 0) {
        /* cfg is freed */
        log_msg(LOG_LEVEL_ERROR, "reload refused, configuration unchanged: %s",
                err);
        m->census.reloads_refused++;
        goto done;
    }
    struct admin *fresh;
    int fresh_fd;
    if (admin_prepare(m, cfg, m->gen.cfg, held, n_held, &fresh, &fresh_fd,
                      err) != 0) {
        config_locate(cfg, m->items, m->n_items, err);
        log_msg(LOG_LEVEL_ERROR, "reload refused, configuration unchanged: %s",
                err);
        m->census.reloads_refused++;
        gen_abandon(&next, &m->gen, m->n);
        goto done;
    }
    if (master_logs(m, cfg, m->gen.cfg) != 0) {
        log_msg(LOG_LEVEL_ERROR, "reload refused, configuration unchanged");
        m->census.reloads_refused++;
        admin_free(fresh);
        gen_abandon(&next, &m->gen, m->n);
        goto done;
    }
    admin_commit(m, cfg, fresh, fresh_fd);
    master_check_nofile(cfg);
    master_switch_generation(m, &next);
    char head[64];
    snprintf(head, sizeof(head), "reloaded: %u new worker%s", m->n,
             m->n == 1 ? "" : "s");
    master_log_endpoints(m, head);
done:
    process_notify("READY=1");
}

static void
master_write_ready(const struct master *m, int ready_fd)
{
    struct master_endpoint e[3];
    size_t n = master_endpoints(m, e);
    char line[512];
    int k = snprintf(line, sizeof(line), "ready pid=%ld", (long)m->pid);
    size_t len = k > 0 ? (size_t)k : 0;

    for (size_t i = 0; i < n; i++) {
        k = snprintf(line + len, sizeof(line) - len, " %s=%s", e[i].ready_key,
                     bound_text(e[i].addr, e[i].l.fd).s);
        len += k > 0 && (size_t)k < sizeof(line) - len ? (size_t)k : 0;
    }
    line[len++] = '\n';
    if (write(ready_fd, line, len) != (ssize_t)len) {
        log_errno(LOG_LEVEL_WARN, "write(ready_fd)");
    }
    close(ready_fd);
}

static void
master_free(struct master *m)
{
    if (m->admin != NULL) {
        admin_free(m->admin); /* closes admin_fd */
    } else if (m->admin_fd != -1) {
        close(m->admin_fd);
    }
    if (m->ev_signal != NULL) {
        event_free(m->ev_signal);
    }
    if (m->signal_fd != -1) {
        close(m->signal_fd);
    }
    if (m->ev_stop_deadline != NULL) {
        event_free(m->ev_stop_deadline);
    }
    if (m->ev_retire_deadline != NULL) {
        event_free(m->ev_retire_deadline);
    }
    if (m->slots != NULL) {
        for (unsigned i = 0; i < 2 * m->n; i++) {
            if (m->slots[i].ev_respawn != NULL) {
                event_free(m->slots[i].ev_respawn);
            }
        }
    }
    if (m->base != NULL) {
        event_base_free(m->base);
    }
    gen_free(&m->gen, m->n);
    free(m->slots);
    free(m->census.workers);
    stats_shm_destroy(&m->shm);
    case_log_close(&m->case_log);
    if (m->pidfile_fd != -1) {
        process_pidfile_remove(m->pidfile_path, m->pidfile_fd);
    }
}

/*
 * What each worker may need open at once: its connections, the ones
 * refused with 503, and a few of its own (listeners, event loop, logs).
 */
#define MASTER_FDS_PER_WORKER_EXTRA 128
/* What a worker holds open of its own at rest (stdio, listeners, its
 * event loop's descriptors, a spare for accept's EMFILE, logs): about. */
#define MASTER_FDS_AT_REST          16

/*
 * The master takes its signals through a signalfd. Blocked from the start:
 * one sent as soon as the pidfile exists (logrotate's USR1) waits for the
 * loop instead of ending the master. Their dispositions go back to the
 * defaults, as a SIGCHLD ignored by whoever started us would make the
 * kernel reap the workers and say nothing. Workers inherit the mask and
 * keep it until their own signal events are in place (worker_run). Fills
 * sigs with them; returns 0, or -1 (logged).
 */
static int
master_signals_block(sigset_t *sigs)
{
    static const int handled[] = {SIGCHLD, SIGTERM, SIGINT, SIGQUIT,
                                  SIGHUP,  SIGUSR1, SIGUSR2};
    struct sigaction sa;

    sigemptyset(sigs);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++) {
        sigaddset(sigs, handled[i]);
        sigaction(handled[i], &sa, NULL);
    }
    if (sigprocmask(SIG_BLOCK, sigs, NULL) == -1) {
        log_errno(LOG_LEVEL_CRIT, "sigprocmask");
        return -1;
    }
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    /* A log file over RLIMIT_FSIZE fails the write (EFBIG), rather than
     * ending the daemon. Workers ignore it too (worker.c). */
    sigaction(SIGXFSZ, &sa, NULL);
    return 0;
}

/* The master's loop: its base, the signalfd for sigs, the deadlines and
 * the respawn timers of every slot. Returns 0, or -1 (logged). */
static int
master_events_new(struct master *m, const sigset_t *sigs)
{
    /* The master's own events (its signals: a worker's death, a reload,
     * a stop; its deadlines and respawns) at priority 0, before the
     * admin endpoint's (libevent's default, 1), and the endpoint runs one
     * callback between looks for them: a burst of heavy requests (a
     * /v1/cases of 1,000 records is built in one go, 0.1 s) cannot hold
     * a respawn or a stop back behind the whole burst. */
    struct event_config *ecfg = event_config_new();
    if (ecfg == NULL ||
        event_config_set_max_dispatch_interval(ecfg, NULL, 1, 1) != 0) {
        event_config_free(ecfg);
        log_msg(LOG_LEVEL_CRIT, "out of memory");
        return -1;
    }
    m->base = event_base_new_with_config(ecfg);
    event_config_free(ecfg);
    if (m->base == NULL || event_base_priority_init(m->base, 2) != 0) {
        log_msg(LOG_LEVEL_CRIT, "event_base_new failed");
        return -1;
    }
    m->signal_fd = signalfd(-1, sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (m->signal_fd == -1) {
        log_errno(LOG_LEVEL_CRIT, "signalfd");
        return -1;
    }
    m->ev_signal = event_new(m->base, m->signal_fd, EV_READ | EV_PERSIST,
                             master_on_signal, m);
    if (m->ev_signal == NULL || event_priority_set(m->ev_signal, 0) != 0 ||
        event_add(m->ev_signal, NULL) != 0) {
        log_msg(LOG_LEVEL_CRIT, "cannot watch signals");
        return -1;
    }
    m->ev_stop_deadline = evtimer_new(m->base, master_on_stop_deadline, m);
    m->ev_retire_deadline = evtimer_new(m->base, master_on_retire_deadline, m);
    for (unsigned i = 0; i < 2 * m->n; i++) {
        m->slots[i].ev_respawn = evtimer_new(m->base, master_on_respawn, m);
        if (m->slots[i].ev_respawn == NULL ||
            event_priority_set(m->slots[i].ev_respawn, 0) != 0) {
            log_msg(LOG_LEVEL_CRIT, "out of memory");
            return -1;
        }
    }
    if (m->ev_stop_deadline == NULL || m->ev_retire_deadline == NULL ||
        event_priority_set(m->ev_stop_deadline, 0) != 0 ||
        event_priority_set(m->ev_retire_deadline, 0) != 0) {
        log_msg(LOG_LEVEL_CRIT, "out of memory");
        return -1;
    }
    return 0;
}

/* Everything is in place: the starting command may go, the workers
 * start, and the start-up line, ready_fd and systemd say so. */
static void
master_start(struct master *m, int ready_fd)
{
    /* Detached now: the listeners are bound, and the workers must not
     * inherit the starting command's stdout and stderr. */
    process_daemon_ready();
    for (unsigned i = 0; i < m->n; i++) {
        master_spawn(m, i);
    }
    char head[64];
    snprintf(head, sizeof(head), "wsd %s: %u worker%s", VERSION, m->n,
             m->n == 1 ? "" : "s");
    master_log_endpoints(m, head);
    if (ready_fd != -1) {
        master_write_ready(m, ready_fd);
    }
    if (process_notify("READY=1") != 0) {
        log_errno(LOG_LEVEL_WARN, "sd_notify(READY=1)");
    }
}

/*
 * Maps the shared segment for cfg: two banks of slots and records (see
 * struct master). Returns 0, or -1 with the problem, naming stats_cases
 * and the size asked for, in err[0..errlen).
 */
static int
shm_create(struct stats_shm *shm, const struct config *cfg, char *err,
           size_t errlen)
{
    struct stats_shm_size size = {
        .n_slots = 2 * cfg->workers,
        .n_cases = 2 * (unsigned)cfg->stats_cases,
        .request_cap = (uint32_t)cfg->case_request_bytes,
        .wire_cap = (uint32_t)cfg->case_wirelog,
    };
    if (stats_shm_create(shm, &size, clock_wall_ms()) == 0) {
        return 0;
    }
    int saved = errno;
    size_t record = stats_case_bytes(size.request_cap, size.wire_cap);
    snprintf(err, errlen,
             "stats_cases %" PRIu64 ": cannot map the shared segment for "
             "twice as many records (a reload's workers get the second "
             "bank) of %zu bytes each (case_request_bytes and case_wirelog "
             "set it), %" PRIu64 " MiB in all: %s",
             cfg->stats_cases, record,
             2 * cfg->stats_cases * record / (1024 * 1024), strerror(saved));
    return -1;
}

int
master_check_records(const struct config *cfg, char *err, size_t errlen)
{
    struct stats_shm shm;

    memset(&shm, 0, sizeof(shm));
    if (shm_create(&shm, cfg, err, errlen) != 0) {
        return -1;
    }
    stats_shm_destroy(&shm);
    return 0;
}

int
master_check_config(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->user[0] != '\0' && geteuid() != 0) {
        snprintf(err, errlen,
                 "user %s: wsd must start as root to change user (it runs as "
                 "uid %ld)",
                 cfg->user, (long)geteuid());
        return -1;
    }
    if (strcmp(cfg->log, "stderr") != 0 && strcmp(cfg->log, "syslog") != 0 &&
        process_check_writable("log", cfg->log, err, errlen) != 0) {
        return -1;
    }
    if (strcmp(cfg->access_log, "off") != 0 &&
        process_check_writable("access_log", cfg->access_log, err, errlen) !=
            0) {
        return -1;
    }
    if (strcmp(cfg->case_log, "off") != 0 &&
        process_check_writable("case_log", cfg->case_log, err, errlen) != 0) {
        return -1;
    }
    if (cfg->pidfile[0] != '\0' &&
        process_check_writable("pidfile", cfg->pidfile, err, errlen) != 0) {
        return -1;
    }
    return 0;
}

/*
 * The descriptors a worker needs for cfg's max_connections: the soft
 * limit is raised towards them, and a limit below them is logged with
 * the number of connections a worker can take (it has about
 * MASTER_FDS_AT_REST open of its own; past that, accept(2) fails and
 * the worker pauses accepting while clients wait).
 */
static void
master_check_nofile(const struct config *cfg)
{
    uint64_t need = cfg->max_connections + MASTER_FDS_PER_WORKER_EXTRA;
    uint64_t got;

    if (process_raise_nofile(need, &got) != 0) {
        log_msg(LOG_LEVEL_WARN,
                "RLIMIT_NOFILE is %llu, below the %llu descriptors that "
                "max_connections %llu needs: a worker will stop accepting "
                "past about %llu connections, its clients left waiting "
                "(raise the limit with ulimit -n or LimitNOFILE=, or lower "
                "max_connections)",
                (unsigned long long)got, (unsigned long long)need,
                (unsigned long long)cfg->max_connections,
                (unsigned long long)(got > MASTER_FDS_AT_REST
                                         ? got - MASTER_FDS_AT_REST
                                         : 0));
    }
}

int
master_run(struct config *cfg, const struct config_item *items, size_t n_items,
           int ready_fd)
{
    struct master m;
    sigset_t sigs;
    unsigned n = cfg->workers;
    char err[CONFIG_ERROR_MAX];

    memset(&m, 0, sizeof(m));
    m.items = items;
    m.n_items = n_items;
    m.n = n;
    m.pid = getpid();
    m.exit_code = WSD_EXIT_FATAL;
    m.signal_fd = -1;
    m.admin_fd = -1;
    m.pidfile_fd = -1;
    case_log_init(&m.case_log);
    if (master_signals_block(&sigs) != 0) {
        free(cfg);
        return WSD_EXIT_FATAL;
    }
    process_title_set("wsd: master");

    if (cfg->pidfile[0] != '\0') {
        snprintf(m.pidfile_path, sizeof(m.pidfile_path), "%s", cfg->pidfile);
        m.pidfile_fd = process_pidfile_open(cfg->pidfile, err, sizeof(err));
        if (m.pidfile_fd == -1) {
            config_locate(cfg, items, n_items, err);
            log_msg(LOG_LEVEL_CRIT, "cannot start: %s", err);
            free(cfg);
            goto out;
        }
    }
    if (master_check_config(cfg, err, sizeof(err)) != 0) {
        config_locate(cfg, items, n_items, err);
        log_msg(LOG_LEVEL_CRIT, "cannot start: %s", err);
        free(cfg);
        goto out;
    }
    if (master_logs(&m, cfg, NULL) != 0) {
        free(cfg);
        goto out;
    }
    /* Once the log is where it goes, so that a file or syslog has it. */
    master_check_nofile(cfg);
    if (cfg->log_syslog_default) {
        log_msg(LOG_LEVEL_NOTICE, "%s", CONFIG_LOG_SYSLOG_DEFAULT);
    }
    if (gen_open(&m.gen, cfg, &m, NULL, NULL, 0, err) != 0) { /* frees cfg */
        log_msg(LOG_LEVEL_CRIT, "%s", err);
        goto out;
    }
    m.slots = calloc(2 * n, sizeof(*m.slots));
    m.census.workers = calloc(2 * n, sizeof(*m.census.workers));
    m.census.master_pid = m.pid;
    m.census.n_slots = 2 * n;
    m.census.max_connections = m.gen.cfg->max_connections;
    m.census.admin_output_bytes = m.gen.cfg->admin_output_bytes;
    if (m.slots == NULL || m.census.workers == NULL) {
        log_msg(LOG_LEVEL_CRIT, "out of memory");
        goto out;
    }
    if (shm_create(&m.shm, cfg, err, sizeof(err)) != 0) {
        config_locate(cfg, items, n_items, err);
        log_msg(LOG_LEVEL_CRIT, "%s", err);
        goto out;
    }
    stats_shm_set_banks(&m.shm, 2);
    if (master_events_new(&m, &sigs) != 0) {
        goto out;
    }
    struct admin *fresh;
    if (admin_prepare(&m, cfg, NULL, NULL, 0, &fresh, &m.admin_fd, err) != 0) {
        config_locate(cfg, items, n_items, err);
        log_msg(LOG_LEVEL_CRIT, "%s", err);
        goto out;
    }
    m.admin = fresh;
    master_start(&m, ready_fd);
    m.exit_code = 0;
    if (event_base_dispatch(m.base) == -1) {
        log_msg(LOG_LEVEL_CRIT, "master event loop failed");
        m.exit_code = WSD_EXIT_FATAL;
    }
    log_msg(LOG_LEVEL_INFO, "exiting");
out:
    master_free(&m);
    return m.exit_code;
}
