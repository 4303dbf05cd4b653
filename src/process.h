/* SPDX-License-Identifier: MIT */
/*
 * A daemon's habits, kept out of the master's cycle: process titles,
 * detaching, the pidfile, dropping privileges, the descriptor limit and
 * systemd's readiness protocol. Each call logs nothing itself and reports
 * its problem to the caller, which decides how loud it is.
 */
#ifndef WSD_PROCESS_H
#define WSD_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Makes room for process titles in the memory of argv and environ (as
 * nginx does): environ is copied to the heap, so that argv's strings may
 * be overwritten. Call once, first thing in main, with main's argc and
 * argv; read no argv string afterwards (copy what must last before).
 */
void process_title_init(int argc, char **argv);

/*
 * Sets what ps shows for this process (the command line) and its name
 * (/proc/PID/comm, cut to 15 bytes).
 */
void process_title_set(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * Detaches: forks, and the parent waits until the child reports, through
 * process_daemon_ready(), that it runs (exit status 0) or until it dies.
 * Meanwhile it copies to its stderr what the child passes to
 * process_daemon_report(), and when the child dies it exits with the
 * child's status (128 + N for signal N, 2 for a 0 before ready), saying so
 * on stderr when the child reported nothing. The child returns 0 in a new
 * session, with its working directory at / and its stdin on /dev/null;
 * stdout and stderr stay until it is ready, so start-up errors still reach
 * the terminal. Returns -1 with errno set if the fork or pipe fails (in the
 * caller's process).
 */
int process_daemonize(void);

/*
 * In a daemonized child that is not ready yet: sends line[0..len) (a whole
 * line, its newline included) for the waiting parent to print, e.g. why
 * start-up fails while the log goes to a file. Does nothing otherwise.
 * Matches log_tee_fn.
 */
void process_daemon_report(const char *line, size_t len);

/*
 * In a daemonized child: tells the waiting parent that start-up
 * succeeded, and points stdout and stderr at /dev/null. Does nothing when
 * not daemonized.
 */
void process_daemon_ready(void);

/*
 * Creates and locks the pidfile at path and writes the calling process's
 * pid into it. Returns its descriptor (keep it open: the lock lasts as
 * long), or -1 with the problem in err[0..errlen): another process holds
 * the lock (its pid is named), or the file cannot be created.
 */
int process_pidfile_open(const char *path, char *err, size_t errlen);

/*
 * Whether path could be opened for appending, as the logs and the pidfile
 * are at start-up, without creating or changing anything (wsd -t): an
 * existing file is opened for writing and closed again; a new one needs
 * a directory it can be created in. 0, or -1 with err saying
 * "WHAT: PATH: reason".
 */
int process_check_writable(const char *what, const char *path, char *err,
                           size_t errlen);

/* Removes the pidfile at path that fd (from process_pidfile_open) locks. */
void process_pidfile_remove(const char *path, int fd);

/*
 * Becomes user uid with group gid and supplementary groups of user (a
 * name; NULL: none). Returns 0, or -1 with errno set by the failing call.
 */
int process_drop_privileges(const char *user, uid_t uid, gid_t gid);

/*
 * Raises RLIMIT_NOFILE to at least need descriptors, the hard limit too
 * when privileged. Returns 0 when the soft limit is now at least need, or
 * -1 with the limit obtained in *got.
 */
int process_raise_nofile(uint64_t need, uint64_t *got);

/*
 * Sends state (e.g. "READY=1") to systemd's $NOTIFY_SOCKET, if set
 * (sd_notify(3)'s protocol: one datagram to a Unix socket, abstract when
 * the name starts with '@'). Returns 0, or -1 when it is set but the
 * datagram cannot be sent.
 */
int process_notify(const char *state);

#endif
