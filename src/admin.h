/* SPDX-License-Identifier: MIT */
/*
 * The admin HTTP endpoint, served by the master with libevent's evhttp:
 * GET /v1/stats, /v1/cases?after=ID&limit=N, /v1/cases/ID and /metrics,
 * answered from the shared segment. Errors are JSON with their status;
 * requests are bounded in size and time; with a token configured, every
 * request needs "Authorization: Bearer TOKEN".
 */
#ifndef WSD_ADMIN_H
#define WSD_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#include "stats_shm.h"

struct admin;

/*
 * Serves the listening socket fd on base. token (NUL-terminated, may be
 * empty for none) is copied. Returns the endpoint, or NULL with a reason
 * in err[0..errlen).
 */
struct admin *admin_new(struct event_base *base, int fd,
                        const struct stats_shm *shm, const char *token,
                        char *err, size_t errlen);

/*
 * Replaces the token the endpoint requires (on reload); "" for none.
 * Returns false, the old token kept, if it cannot be hashed.
 */
bool admin_set_token(struct admin *a, const char *token);

/* Stops serving and frees a (may be NULL), closing its socket. */
void admin_free(struct admin *a);

#endif
