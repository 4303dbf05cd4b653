/* SPDX-License-Identifier: MIT */
/*
 * Leveled logging. The level is process state set once at start; the pid
 * is read at each call so that workers log their own after fork.
 */
#include "autoconf.h"

#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int log_threshold = LOG_LEVEL_INFO;

static const char *const log_names[] = {
    "debug", "info", "notice", "warn", "error", "crit", "alert",
};

void
log_set_level(int level)
{
    log_threshold = level;
}

int
log_level_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
        if (strcmp(name, log_names[i]) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void log_write(int level, const char *suffix, const char *fmt,
                      va_list ap) __attribute__((format(printf, 3, 0)));

static void
log_write(int level, const char *suffix, const char *fmt, va_list ap)
{
    char line[1024];
    int n = snprintf(line, sizeof(line), "wsd[%ld]: %s: ", (long)getpid(),
                     log_names[level]);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        return;
    }
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    size_t len = m < 0 ? (size_t)n : (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2) {
        len = sizeof(line) - 2;
    }
    if (suffix != NULL) {
        size_t slen = strlen(suffix);
        if (len + 2 + slen > sizeof(line) - 2) {
            slen = sizeof(line) - 2 - len > 2 ? sizeof(line) - 4 - len : 0;
        }
        if (slen > 0) {
            memcpy(line + len, ": ", 2);
            memcpy(line + len + 2, suffix, slen);
            len += 2 + slen;
        }
    }
    line[len++] = '\n';
    /* One write per line, so that lines of several processes never mix. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void
log_msg(int level, const char *fmt, ...)
{
    va_list ap;
    if (level < log_threshold) {
        return;
    }
    va_start(ap, fmt);
    log_write(level, NULL, fmt, ap);
    va_end(ap);
}

void
log_errno(int level, const char *fmt, ...)
{
    int saved = errno;
    if (level >= log_threshold) {
        va_list ap;
        va_start(ap, fmt);
        log_write(level, strerror(saved), fmt, ap);
        va_end(ap);
    }
    errno = saved;
}
