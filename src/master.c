/* SPDX-License-Identifier: MIT */
/*
 * The master cycle (nginx's, with libevent's evsignal): listeners and the
 * shared segment before fork, a worker per slot, respawn at once when a
 * worker dies (with back-off when it keeps dying young), exit status 2 from
 * a worker means "do not respawn", and a bounded stop.
 */
#include "autoconf.h"

#include "master.h"

#include <errno.h>
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
#include "listener.h"
#include "log.h"
#include "stats_shm.h"
#include "transport_tls.h"
#include "worker.h"

/* A worker that dies younger than this counts as crashing in a loop. */
#define MASTER_YOUNG_DEATH_MS  1000
#define MASTER_BACKOFF_BASE_MS 100
#define MASTER_BACKOFF_MAX_MS  5000
/* How long after the workers' own close timeout they are SIGKILLed. */
#define MASTER_STOP_GRACE_MS   1000

struct master_slot {
    pid_t pid; /* 0: no worker running */
    uint64_t started_ms;
    unsigned young_deaths; /* consecutive deaths before MASTER_YOUNG_DEATH_MS */
    bool fatal;            /* exited with WSD_EXIT_FATAL: not respawned */
    struct event *ev_respawn;
};

struct master {
    const struct config *cfg;
    struct event_base *base;
    pid_t pid;
    int *listen_fds;
    int *tls_listen_fds; /* NULL while TLS is off */
    SSL_CTX *tls_ctx;    /* NULL while TLS is off */
    struct master_slot *slots;
    struct stats_shm shm;
    bool stopping;
    int exit_code;
    int signal_fd; /* signalfd of the signals the master takes */
    int admin_fd;  /* the admin endpoint's socket, -1 when off */
    struct admin *admin;
    struct event *ev_signal;
    struct event *ev_stop_deadline;
};

static uint64_t
now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/*
 * In a new worker: closes every descriptor above stdio but keep_a and
 * keep_b (-1: none).
 */
static void
close_fds_but(int keep_a, int keep_b)
{
    int lo = keep_a < keep_b ? keep_a : keep_b;
    int hi = keep_a < keep_b ? keep_b : keep_a;
    unsigned from = 3;

    if (lo < 3) {
        lo = hi; /* only one to keep */
        hi = -1;
    }
    if (lo >= 3) {
        if ((unsigned)lo > from) {
            close_range(from, (unsigned)lo - 1, 0);
        }
        from = (unsigned)lo + 1;
    }
    if (hi >= 3) {
        if ((unsigned)hi > from) {
            close_range(from, (unsigned)hi - 1, 0);
        }
        from = (unsigned)hi + 1;
    }
    close_range(from, ~0U, 0);
}

static void
master_spawn(struct master *m, unsigned i)
{
    struct master_slot *s = &m->slots[i];
    struct stats_shm_slot *shm_slot = stats_shm_slot(&m->shm, i);
    pid_t pid = fork();

    if (pid == -1) {
        log_errno(LOG_LEVEL_CRIT, "fork (worker %u)", i);
        return;
    }
    if (pid == 0) {
        /* The worker keeps stdio and its own slot's listeners, nothing
         * else of the master's: not the other slots' listeners, the
         * signalfd, the admin socket, nor an admin client's connection,
         * whose end would otherwise wait for the worker's. It takes its
         * signals through its own event base. */
        struct worker_listeners ls = {m->listen_fds[i], -1, m->tls_ctx};
        if (m->tls_listen_fds != NULL) {
            ls.tls_fd = m->tls_listen_fds[i];
        }
        close_fds_but(ls.fd, ls.tls_fd);
        exit(worker_run(m->cfg, i, &ls, &m->shm, m->pid));
    }
    s->pid = pid;
    s->started_ms = now_ms();
    atomic_store_explicit(&shm_slot->pid, (int32_t)pid, memory_order_relaxed);
    atomic_fetch_add_explicit(&shm_slot->generation, 1, memory_order_relaxed);
    log_debug("worker %u started as pid %ld", i, (long)pid);
}

static void
master_on_respawn(evutil_socket_t fd, short what, void *arg)
{
    struct master *m = arg;
    (void)fd;
    (void)what;
    for (unsigned i = 0; i < m->cfg->workers; i++) {
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
    for (unsigned i = 0; i < m->cfg->workers; i++) {
        n += m->slots[i].pid != 0;
    }
    return n;
}

/* A worker is gone: record it and decide whether and when to respawn. */
static void
master_worker_died(struct master *m, unsigned i, int status)
{
    struct master_slot *s = &m->slots[i];
    struct stats_shm_slot *shm_slot = stats_shm_slot(&m->shm, i);
    uint64_t lived = now_ms() - s->started_ms;

    s->pid = 0;
    atomic_store_explicit(&shm_slot->pid, 0, memory_order_relaxed);
    /* Before any replacement writes to the slot: settle the dead
     * worker's open cases and counters. */
    unsigned lost = stats_shm_worker_died(&m->shm, i, now_ms());
    if (lost > 0) {
        log_msg(LOG_LEVEL_WARN, "worker %u died with %u open connections", i,
                lost);
    }
    if (m->stopping) {
        return;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == WSD_EXIT_FATAL) {
        log_msg(LOG_LEVEL_ERROR,
                "worker %u exited with status %d (broken configuration or "
                "start-up): not respawned",
                i, WSD_EXIT_FATAL);
        s->fatal = true;
        return;
    }
    if (WIFSIGNALED(status)) {
        log_msg(LOG_LEVEL_WARN, "worker %u killed by signal %d, respawning", i,
                WTERMSIG(status));
    } else {
        log_msg(LOG_LEVEL_WARN, "worker %u exited with status %d, respawning",
                i, WEXITSTATUS(status));
    }
    s->young_deaths = lived < MASTER_YOUNG_DEATH_MS ? s->young_deaths + 1 : 0;
    if (s->young_deaths <= 1) {
        master_spawn(m, i);
        return;
    }
    /* 100, 200, 400 ... ms, at most MASTER_BACKOFF_MAX_MS. */
    unsigned shift = s->young_deaths < 8 ? s->young_deaths - 2 : 6;
    uint64_t delay = (uint64_t)MASTER_BACKOFF_BASE_MS << shift;
    if (delay > MASTER_BACKOFF_MAX_MS) {
        delay = MASTER_BACKOFF_MAX_MS;
    }
    log_msg(LOG_LEVEL_WARN, "worker %u keeps dying: next start in %llu ms", i,
            (unsigned long long)delay);
    struct timeval tv = {(time_t)(delay / 1000),
                         (suseconds_t)(delay % 1000) * 1000};
    evtimer_add(s->ev_respawn, &tv);
}

static void
master_reap(struct master *m)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (unsigned i = 0; i < m->cfg->workers; i++) {
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
    for (unsigned i = 0; i < m->cfg->workers; i++) {
        all_fatal = all_fatal && m->slots[i].fatal;
    }
    if (all_fatal) {
        log_msg(LOG_LEVEL_CRIT, "every worker failed to start: exiting");
        m->exit_code = WSD_EXIT_FATAL;
        event_base_loopbreak(m->base);
    }
}

static void
master_on_stop_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct master *m = arg;
    (void)fd;
    (void)what;
    for (unsigned i = 0; i < m->cfg->workers; i++) {
        if (m->slots[i].pid != 0) {
            log_msg(LOG_LEVEL_WARN, "worker %u did not stop in time: killed",
                    i);
            kill(m->slots[i].pid, SIGKILL);
        }
    }
}

static void
master_stop(struct master *m, int sig)
{
    if (m->stopping) {
        return;
    }
    log_msg(LOG_LEVEL_INFO, "signal %d: stopping", sig);
    m->stopping = true;
    for (unsigned i = 0; i < m->cfg->workers; i++) {
        evtimer_del(m->slots[i].ev_respawn);
        if (m->slots[i].pid != 0) {
            kill(m->slots[i].pid, SIGTERM);
        }
    }
    if (master_live_workers(m) == 0) {
        event_base_loopbreak(m->base);
        return;
    }
    uint64_t ms = m->cfg->close_timeout_ms + MASTER_STOP_GRACE_MS;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(m->ev_stop_deadline, &tv);
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
        if (si.ssi_signo == SIGCHLD) {
            master_reap(m);
        } else {
            master_stop(m, (int)si.ssi_signo);
        }
    }
}

/* Appends " key=HOST:PORT" for addr, with the port fd is bound to. */
static size_t
ready_addr(char *p, size_t len, const char *key, const struct config_addr *addr,
           int fd)
{
    const char *colon = strrchr(addr->text, ':');
    int n = snprintf(p, len, " %s=%.*s:%u", key, (int)(colon - addr->text),
                     addr->text, listener_port(fd));
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

static void
master_write_ready(const struct master *m, int ready_fd)
{
    char line[256];
    int n = snprintf(line, sizeof(line), "ready pid=%ld", (long)m->pid);
    size_t len = n > 0 ? (size_t)n : 0;

    len += ready_addr(line + len, sizeof(line) - len, "listen", &m->cfg->listen,
                      m->listen_fds[0]);
    if (m->tls_listen_fds != NULL) {
        len += ready_addr(line + len, sizeof(line) - len, "tls_listen",
                          &m->cfg->tls_listen, m->tls_listen_fds[0]);
    }
    if (m->admin_fd != -1) {
        len += ready_addr(line + len, sizeof(line) - len, "admin",
                          &m->cfg->admin_listen, m->admin_fd);
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
    if (m->slots != NULL) {
        for (unsigned i = 0; i < m->cfg->workers; i++) {
            if (m->slots[i].ev_respawn != NULL) {
                event_free(m->slots[i].ev_respawn);
            }
        }
    }
    if (m->base != NULL) {
        event_base_free(m->base);
    }
    if (m->listen_fds != NULL) {
        listener_close(m->listen_fds, m->cfg->workers);
    }
    if (m->tls_listen_fds != NULL) {
        listener_close(m->tls_listen_fds, m->cfg->workers);
    }
    free(m->listen_fds);
    free(m->tls_listen_fds);
    SSL_CTX_free(m->tls_ctx);
    free(m->slots);
    stats_shm_destroy(&m->shm);
}

int
master_run(const struct config *cfg, int ready_fd)
{
    struct master m;
    struct sigaction sa;
    sigset_t sigs;
    unsigned n = cfg->workers;

    memset(&m, 0, sizeof(m));
    m.cfg = cfg;
    m.pid = getpid();
    m.exit_code = WSD_EXIT_FATAL;
    m.signal_fd = -1;
    m.admin_fd = -1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    prctl(PR_SET_NAME, "wsd: master");

    if (config_tls_is_on(cfg)) {
        /* Before anything binds or forks: a bad certificate stops wsd at
         * once, and every worker inherits the same context (and with it
         * the session ticket keys). */
        char err[2 * CONFIG_FILE_MAX + 128];
        m.tls_ctx = transport_tls_ctx_new(cfg, err, sizeof(err));
        if (m.tls_ctx == NULL) {
            log_msg(LOG_LEVEL_CRIT, "cannot start: %s", err);
            goto out;
        }
        m.tls_listen_fds = calloc(n, sizeof(*m.tls_listen_fds));
    }
    m.listen_fds = calloc(n, sizeof(*m.listen_fds));
    m.slots = calloc(n, sizeof(*m.slots));
    /* -1 before any failure can reach master_free, which closes them. */
    for (unsigned i = 0; i < n; i++) {
        if (m.listen_fds != NULL) {
            m.listen_fds[i] = -1;
        }
        if (m.tls_listen_fds != NULL) {
            m.tls_listen_fds[i] = -1;
        }
    }
    if (m.listen_fds == NULL || m.slots == NULL ||
        (m.tls_ctx != NULL && m.tls_listen_fds == NULL)) {
        log_msg(LOG_LEVEL_CRIT, "out of memory");
        goto out;
    }
    if (listener_open(&cfg->listen, n, m.listen_fds) != 0) {
        goto out;
    }
    if (m.tls_listen_fds != NULL &&
        listener_open(&cfg->tls_listen, n, m.tls_listen_fds) != 0) {
        goto out;
    }
    if (stats_shm_create(&m.shm, n, (unsigned)cfg->stats_cases, now_ms()) !=
        0) {
        log_errno(LOG_LEVEL_CRIT, "mmap(shared segment)");
        goto out;
    }
    m.base = event_base_new();
    if (m.base == NULL) {
        log_msg(LOG_LEVEL_CRIT, "event_base_new failed");
        goto out;
    }
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGCHLD);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGQUIT);
    if (sigprocmask(SIG_BLOCK, &sigs, NULL) == -1) {
        log_errno(LOG_LEVEL_CRIT, "sigprocmask");
        goto out;
    }
    m.signal_fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (m.signal_fd == -1) {
        log_errno(LOG_LEVEL_CRIT, "signalfd");
        goto out;
    }
    m.ev_signal = event_new(m.base, m.signal_fd, EV_READ | EV_PERSIST,
                            master_on_signal, &m);
    if (m.ev_signal == NULL || event_add(m.ev_signal, NULL) != 0) {
        log_msg(LOG_LEVEL_CRIT, "cannot watch signals");
        goto out;
    }
    m.ev_stop_deadline = evtimer_new(m.base, master_on_stop_deadline, &m);
    if (m.ev_stop_deadline == NULL) {
        goto out;
    }
    for (unsigned i = 0; i < n; i++) {
        m.slots[i].ev_respawn = evtimer_new(m.base, master_on_respawn, &m);
        if (m.slots[i].ev_respawn == NULL) {
            goto out;
        }
    }
    if (cfg->admin_listen.len != 0) {
        char err[256];
        if (listener_open(&cfg->admin_listen, 1, &m.admin_fd) != 0) {
            goto out;
        }
        m.admin = admin_new(m.base, m.admin_fd, &m.shm, cfg->admin_token, err,
                            sizeof(err));
        if (m.admin == NULL) {
            log_msg(LOG_LEVEL_CRIT, "admin endpoint: %s", err);
            goto out;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        master_spawn(&m, i);
    }
    log_msg(LOG_LEVEL_INFO, "wsd %s: %u workers on %s port %u, path %s",
            VERSION, n, cfg->listen.text, listener_port(m.listen_fds[0]),
            cfg->path);
    if (m.tls_listen_fds != NULL) {
        log_msg(LOG_LEVEL_INFO, "wss on %s port %u, certificate %s",
                cfg->tls_listen.text, listener_port(m.tls_listen_fds[0]),
                cfg->tls_certificate);
    }
    if (ready_fd != -1) {
        master_write_ready(&m, ready_fd);
    }
    m.exit_code = 0;
    if (event_base_dispatch(m.base) == -1) {
        log_msg(LOG_LEVEL_CRIT, "master event loop failed");
        m.exit_code = WSD_EXIT_FATAL;
    }
out:
    master_free(&m);
    return m.exit_code;
}
