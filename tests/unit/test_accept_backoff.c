/* SPDX-License-Identifier: MIT */
/*
 * The accept pause: which accept() errors call for one, and its log line,
 * written for the first pause, then not again until ACCEPT_BACKOFF_LOG_MS
 * have passed, counting the pauses in between. The log goes to a file of
 * this test, read back.
 */
#include "autoconf.h"

#include "accept_backoff.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "tap.h"

static char log_path[64];

/* The lines of the log so far, as one string (static). */
static const char *
log_text(void)
{
    static char text[4096];
    FILE *f = fopen(log_path, "r");
    size_t n = f != NULL ? fread(text, 1, sizeof(text) - 1, f) : 0;

    if (f != NULL) {
        fclose(f);
    }
    text[n] = '\0';
    return text;
}

static int
count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p != NULL;
         p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

int
main(void)
{
    static const int needed[] = {EMFILE, ENFILE, ENOBUFS, ENOMEM};
    static const int not_needed[] = {EAGAIN, EINTR, ECONNABORTED, EINVAL};
    struct accept_backoff b;
    char err[256];

    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
        ok(accept_backoff_is_needed(needed[i]), "%s calls for a pause",
           strerror(needed[i]));
    }
    for (size_t i = 0; i < sizeof(not_needed) / sizeof(not_needed[0]); i++) {
        ok(!accept_backoff_is_needed(not_needed[i]), "%s does not",
           strerror(not_needed[i]));
    }

    snprintf(log_path, sizeof(log_path), "/tmp/test_accept_backoff.%ld.log",
             (long)getpid());
    if (log_open(log_path, err, sizeof(err)) != 0) {
        tap_diag("log_open: %s", err);
        return 1;
    }
    memset(&b, 0, sizeof(b));
    accept_backoff_note(&b, "test: accept", EMFILE);
    char want[256];
    snprintf(want, sizeof(want),
             "warn: test: accept: %s: pausing accepts for %d ms (1 pauses "
             "since the last such line)",
             strerror(EMFILE), ACCEPT_BACKOFF_PAUSE_MS);
    is_int(count(log_text(), want), 1, "the first pause is logged: %s", want);
    accept_backoff_note(&b, "test: accept", EMFILE);
    accept_backoff_note(&b, "test: accept", ENFILE);
    is_int(count(log_text(), "pausing accepts"), 1,
           "the next pauses, within ACCEPT_BACKOFF_LOG_MS, are not");
    is_int((long long)b.pauses, 2, "... but counted");
    /* As if the line had gone out ACCEPT_BACKOFF_LOG_MS ago. */
    b.log_ms = clock_mono_ms() - ACCEPT_BACKOFF_LOG_MS;
    accept_backoff_note(&b, "test: accept", ENFILE);
    snprintf(want, sizeof(want),
             "test: accept: %s: pausing accepts for %d ms (3 pauses since "
             "the last such line)",
             strerror(ENFILE), ACCEPT_BACKOFF_PAUSE_MS);
    is_int(count(log_text(), want), 1,
           "ACCEPT_BACKOFF_LOG_MS later, a line with the count: %s", want);
    is_int((long long)b.pauses, 0, "the count starts again");
    log_open("stderr", err, sizeof(err));
    unlink(log_path);
    return tap_done();
}
