/* SPDX-License-Identifier: MIT */
/*
 * The admin HTTP endpoint, served by the master with libevent's evhttp:
 * GET /v1/stats, /v1/cases?after=ID&limit=N, /v1/cases/ID and /metrics,
 * answered from the shared segment, and /v1/events, a snapshot of it
 * pushed once a second (its tick, its history and its subscribers are
 * the endpoint's). Errors are JSON with their status;
 * requests are bounded in size and time; with a token configured, every
 * request needs "Authorization: Bearer TOKEN".
 */
#ifndef WSD_ADMIN_H
#define WSD_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

#include "stats_shm.h"

struct admin;

/* Why a worker exited (while the master was not stopping). */
enum admin_exit {
    ADMIN_EXIT_CRASHED, /* died while it should run: respawned */
    ADMIN_EXIT_FATAL,   /* exit status 2 (WSD_EXIT_FATAL): not respawned */
    ADMIN_EXIT_RETIRED, /* replaced by a reload, done with its connections */
    ADMIN_EXIT_N,
};

/* What the master knows of one worker slot. */
struct admin_worker {
    pid_t pid; /* the worker running in the slot; 0: none */
    uint64_t exits[ADMIN_EXIT_N];
};

/*
 * What the master knows of its processes, in its own memory: pids for the
 * process_* metrics, reloads and worker exits (so that a reload's retired
 * workers are not taken for crashes). The shared segment holds the
 * workers' pids too, but
 * a worker can write there, and the endpoint reads /proc only for the
 * processes the master itself started. The master owns it and keeps it
 * current; the endpoint reads it at each request.
 */
struct admin_census {
    pid_t master_pid;
    uint64_t max_connections;     /* per worker, of the running config */
    uint64_t admin_output_bytes;  /* of the running config */
    uint64_t reloads;             /* done: a new generation started */
    uint64_t reloads_refused;     /* refused: nothing changed */
    unsigned n_slots;             /* the segment's worker slots */
    struct admin_worker *workers; /* by slot: n_slots of them */
};

/*
 * Serves the listening socket fd on base. token (NUL-terminated, may be
 * empty for none) is copied; shm and census are borrowed and must outlive
 * the endpoint. Returns the endpoint, or NULL with a reason in
 * err[0..errlen).
 */
struct admin *admin_new(struct event_base *base, int fd,
                        const struct stats_shm *shm,
                        const struct admin_census *census, const char *token,
                        char *err, size_t errlen);

/*
 * Replaces the token the endpoint requires (on reload); "" for none.
 * Returns false, the old token kept, if it cannot be hashed.
 */
bool admin_set_token(struct admin *a, const char *token);

/* Stops serving and frees a (may be NULL), closing its socket. */
void admin_free(struct admin *a);

#endif
