/* SPDX-License-Identifier: MIT */
/*
 * Leveled logging to stderr as "wsd[PID]: level: message". Nothing is
 * logged per message at the default level (info).
 */
#ifndef WSD_LOG_H
#define WSD_LOG_H

enum log_level {
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_INFO,
    LOG_LEVEL_NOTICE,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
    LOG_LEVEL_CRIT,
    LOG_LEVEL_ALERT,
};

/* Messages below level are dropped. */
void log_set_level(int level);

/* The level named by name ("debug" ... "alert"), or -1. */
int log_level_from_name(const char *name);

void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* log_msg with ": " and strerror(errno) appended; preserves errno. */
void log_errno(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

/* Exit status meaning "configuration or start-up is broken: do not
 * respawn" (nginx's convention). */
#define WSD_EXIT_FATAL 2

#endif
