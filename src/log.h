/* SPDX-License-Identifier: MIT */
/*
 * Leveled logging to stderr ("wsd[PID]: level: message"), syslog, or a
 * file (the same with a UTC timestamp in front), and the access log: one
 * line per closed connection. Nothing is logged per message at the default
 * level (info). Each line is one write(2) on a descriptor opened for
 * append, so the lines of every process of wsd interleave whole.
 */
#ifndef WSD_LOG_H
#define WSD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Room for the name of the log or access log file, its NUL included. */
#define LOG_FILE_MAX 1024

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

/*
 * Sends the log to dest: "stderr", "syslog", or an absolute file name
 * (shorter than LOG_FILE_MAX; opened for append, created 0640). Returns 0,
 * or -1 with the problem in err[0..errlen) and the destination unchanged.
 */
int log_open(const char *dest, char *err, size_t errlen);

/*
 * The access log: "off" closes it, or an absolute file name. Returns 0,
 * or -1 with the problem in err[0..errlen) and the access log unchanged.
 */
int access_log_open(const char *dest, char *err, size_t errlen);

/*
 * Reopens the log and access log files by name (after they were renamed
 * by log rotation), creating them owned by uid and gid when those are not
 * -1 (so that workers without privileges can reopen them too). Returns 0,
 * or -1 with the problem in err[0..errlen); a file that cannot be
 * reopened keeps its old descriptor.
 */
int log_reopen(uid_t uid, gid_t gid, char *err, size_t errlen);

/*
 * Gives the open log and access log files (not stderr or syslog) to uid
 * and gid, so that workers running as them can reopen them by name.
 * Returns 0, or -1 with the problem in err[0..errlen).
 */
int log_chown(uid_t uid, gid_t gid, char *err, size_t errlen);

/*
 * Gives the file open on fd, named path, to uid and gid: a regular file
 * only, and only when path names it directly (not through a symbolic
 * link) and it has no other name, since a process of uid that can write
 * its directory could otherwise have any file of root's given to it. A
 * device or FIFO (/dev/null, /dev/stdout) keeps its owner, and so does a
 * file already uid's and gid's: 0. Otherwise -1 with "path: problem" in
 * err[0..errlen) and errno set (EPERM for a name refused), the file
 * unchanged.
 */
int log_file_chown(int fd, const char *path, uid_t uid, gid_t gid, char *err,
                   size_t errlen);

/*
 * Whether a file is left inside a line after a write of a line of len
 * bytes returned w (-1: failed, nothing written), torn telling whether it
 * was before; lead is 1 when the line began with the newline that ends
 * the part a short write left (then only that newline written ends the
 * part and leaves no new one), else 0. The rule of the log, the access log
 * and the case log.
 */
static inline bool
log_line_torn(bool torn, ssize_t w, size_t len, size_t lead)
{
    return w < 0 ? torn : (size_t)w < len && (size_t)w != lead;
}

/* The descriptors of the log and access log files (-1: none), which a
 * forked worker must keep. */
void log_fds(int *log_fd, int *access_fd);

/* In a forked child that closed the descriptors it does not keep:
 * reconnects to syslog when that is the destination. */
void log_after_fork(void);

/*
 * A function that also gets each log line, "wsd[PID]: level: message\n"
 * (len bytes, the newline included), e.g. to show a detaching daemon's
 * start-up problems on the terminal it started from.
 */
typedef void log_tee_fn(const char *line, size_t len);

/*
 * Passes every line at min_level or above to fn as well, when the log goes
 * to syslog or a file (a line on stderr is already on the terminal). NULL
 * stops it.
 */
void log_set_tee(log_tee_fn *fn, int min_level);

/* Whether an access log is open. */
bool access_log_on(void);

/* The longest access log line, its newline included. */
#define ACCESS_LOG_LINE_MAX 4096

/* Writes line (no newline; one is added) to the access log, if open; a
 * longer line is cut to ACCESS_LOG_LINE_MAX. */
void access_log_write(const char *line, size_t len);

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
