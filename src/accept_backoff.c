/* SPDX-License-Identifier: MIT */
/*
 * The accept pause on descriptor or memory exhaustion, shared by the
 * workers' listeners and the admin endpoint.
 */
#include "autoconf.h"

#include "accept_backoff.h"

#include <errno.h>
#include <string.h>

#include "clock.h"
#include "log.h"

bool
accept_backoff_is_needed(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

void
accept_backoff_note(struct accept_backoff *b, const char *what, int err)
{
    uint64_t now = clock_mono_ms();

    b->pauses++;
    if (b->log_ms == 0 || now - b->log_ms >= ACCEPT_BACKOFF_LOG_MS) {
        log_msg(LOG_LEVEL_WARN,
                "%s: %s: pausing accepts for %d ms (%llu pauses since the "
                "last such line)",
                what, strerror(err), ACCEPT_BACKOFF_PAUSE_MS,
                (unsigned long long)b->pauses);
        b->pauses = 0;
        b->log_ms = now;
    }
}
