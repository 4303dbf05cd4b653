/* SPDX-License-Identifier: MIT */
/*
 * What a listener does when accept() fails for want of descriptors or
 * memory: the socket stays readable, so accepting again at once would spin
 * (libevent does not back off). The caller stops accepting for
 * ACCEPT_BACKOFF_PAUSE_MS; this module says which errors call for that, and
 * logs the pause at most once per ACCEPT_BACKOFF_LOG_MS, with the number
 * of pauses since its last line, since the shortage can last. It keeps no
 * timer: pausing and resuming are the caller's (the worker's accept
 * events, the admin endpoint's evconnlistener).
 */
#ifndef WSD_ACCEPT_BACKOFF_H
#define WSD_ACCEPT_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

#define ACCEPT_BACKOFF_PAUSE_MS 100
#define ACCEPT_BACKOFF_LOG_MS   10000

/* One listener's pauses; zero-fill before use. */
struct accept_backoff {
    uint64_t pauses; /* since the last log line */
    uint64_t log_ms; /* monotonic time of that line; 0: none yet */
};

/* Whether accept() failing with err calls for a pause: EMFILE, ENFILE,
 * ENOBUFS or ENOMEM. */
bool accept_backoff_is_needed(int err);

/*
 * Counts one pause after accept() failed with err, and logs at warn level
 * "WHAT: STRERROR: pausing accepts for 100 ms (N pauses since the last such
 * line)" unless such a line went out less than ACCEPT_BACKOFF_LOG_MS ago.
 * what names the listener and the call, e.g. "accept4" or "admin: accept".
 */
void accept_backoff_note(struct accept_backoff *b, const char *what, int err);

#endif
