/* SPDX-License-Identifier: MIT */
/*
 * The case log (the case_log directive): each closed case's full record,
 * as GET /v1/cases/ID serves it, appended to a file as one compact JSON
 * line, so that no case is lost when the ring of records reuses its
 * record. A struct case_log is one process's handle on the file: its
 * descriptor, the file's name (to reopen it after rotation), the line
 * being written and the state of its error messages. Each worker owns
 * one, and so does the master, for the records of workers that died
 * before they finished them. Not here: which cases are written (conn.c,
 * master.c), the records (stats_shm.h) and their JSON (stats_json.h).
 *
 * Lines of several processes never interleave or tear: each is one
 * write(2) on a descriptor opened with O_APPEND (case_log.c says why that
 * is atomic, and what a short write leaves). A write that fails or comes
 * back short is counted and logged (at most one message per
 * CASE_LOG_WARN_MS), never retried: the worker never waits for the disk.
 */
#ifndef WSD_CASE_LOG_H
#define WSD_CASE_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stats_shm.h"

/* Room for the file's name, its NUL included (config's CONFIG_FILE_MAX). */
#define CASE_LOG_PATH_MAX 1024

/* At most one error message per this many ms (monotonic). */
#define CASE_LOG_WARN_MS 10000

/* A line buffer grown past this is freed once its line is written: the
 * common record's line is a few KiB, a record with a long wire log's
 * may be megabytes. */
#define CASE_LOG_KEEP_BYTES (64 * 1024)

struct case_log {
    char path[CASE_LOG_PATH_MAX]; /* absolute; "": off */
    int fd;                       /* -1: off, or the open failed */
    int open_errno;               /* why the last open failed; 0: it did not */
    bool torn;          /* the last write was short: the next line starts with a
                           newline, ending the fragment left in the file */
    bool warned;        /* an error message was logged, at warned_ms */
    uint64_t warned_ms; /* monotonic ms */
    uint64_t unwarned;  /* errors since that message, not logged */
    char *buf;          /* the line being written; NULL: none yet */
    size_t len, cap;    /* bytes of buf in use, and its size */
};

/* An off case log (no file, nothing allocated). */
void case_log_init(struct case_log *cl);

/*
 * Opens dest, "off" or an absolute file name shorter than
 * CASE_LOG_PATH_MAX: O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC (and
 * O_NONBLOCK, O_NOCTTY: see case_log.c), created 0640, then given to uid
 * and gid unless uid is -1 (so that workers running as them can reopen it
 * by name after rotation). The file open before, if any, is closed.
 * Returns 0, or -1 with "PATH: reason" in err[0..errlen): cl then keeps
 * the name without a file (a name too long: cl is off), its lines count
 * as errors, and case_log_reopen tries again.
 */
int case_log_open(struct case_log *cl, const char *dest, uid_t uid, gid_t gid,
                  char *err, size_t errlen);

/*
 * Opens the file again by its name (log rotation renamed it), created
 * and given to uid and gid as case_log_open does. Returns 0 (also when
 * off), or -1 with the reason in err[0..errlen): the old descriptor, if
 * any, stays in use.
 */
int case_log_reopen(struct case_log *cl, uid_t uid, gid_t gid, char *err,
                    size_t errlen);

/* Closes the file and frees the line buffer: cl is off. */
void case_log_close(struct case_log *cl);

/* Whether a file is configured (even if it could not be opened: its
 * lines then count as write errors). */
bool case_log_on(const struct case_log *cl);

/*
 * Appends c (a closed record, followed by its request head and wire log
 * as stats_json_case reads them) as one line: stats_json_case(c, now_ms),
 * compact, and a newline, in one write(2). When the line does not go
 * into the file whole (the file is not open, out of memory, the write
 * failed or was short), adds 1 to *errors (the caller's own counter,
 * single writer) and logs why, unless it logged within CASE_LOG_WARN_MS
 * of mono_ms; that message then says how many more failed. Nothing is
 * retried. Returns 0 when the line was written whole, else -1. Nothing
 * when off (returns 0).
 */
int case_log_write(struct case_log *cl, const struct stats_case *c,
                   uint64_t now_ms, uint64_t mono_ms, _Atomic uint64_t *errors);

#endif
