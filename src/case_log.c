/* SPDX-License-Identifier: MIT */
/*
 * The case log: a record's JSON line built in a buffer of its own and
 * appended with one write(2).
 *
 * Why lines of several processes never interleave or tear. Every process
 * that writes the file has it open with O_APPEND, and writes each line,
 * its newline included, with a single write(2). On Linux, for a regular
 * file of a local filesystem (ext4, xfs, btrfs, tmpfs), the write path
 * takes the inode's exclusive lock, moves the offset to the end of the
 * file and copies the whole buffer before it lets go: another appender's
 * write waits for the lock, then starts after the last byte of this one.
 * So a line lands whole and in one piece, whatever its length, as POSIX
 * requires of O_APPEND (no other change to the file between finding its
 * end and writing). This does not hold on NFS, whose clients find the end
 * of the file each on their own, nor on a pipe for lines over PIPE_BUF:
 * the case log is meant to be a regular file on a local disk.
 *
 * What a short write leaves. The kernel writes less than asked when the
 * disk fills up in the middle of the line (ENOSPC comes with the next
 * write), at the file size limit (EFBIG; the workers ignore SIGXFSZ) or
 * on an I/O error after some of it went. The part written stays in the
 * file, without its newline. It is not retried: a retry would wait on a
 * failing disk, stall every connection of the worker, and would append
 * the rest after other processes' lines anyway. The line counts as an
 * error, and this process's next line starts with a newline, so that the
 * fragment ends on a line of its own (which a reader skips as not JSON)
 * and the lines after it are whole again.
 */
#include "autoconf.h"

#include "case_log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "stats_json.h"

void
case_log_init(struct case_log *cl)
{
    memset(cl, 0, sizeof(*cl));
    cl->fd = -1;
}

/*
 * path opened for appending, created 0640 and given to uid and gid (unless
 * uid is -1); -1 with "path: reason" in err[0..errlen). O_NONBLOCK changes
 * nothing for a regular file, but a FIFO or a terminal named by mistake
 * can then never block the worker: a write it cannot take fails (EAGAIN)
 * and is counted.
 */
static int
open_file(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    int fd = open(
        path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
        0640);
    if (fd == -1) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    if (uid != (uid_t)-1 &&
        log_file_chown(fd, path, uid, gid, err, errlen) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int
case_log_open(struct case_log *cl, const char *dest, uid_t uid, gid_t gid,
              char *err, size_t errlen)
{
    case_log_close(cl);
    if (strcmp(dest, "off") == 0) {
        return 0;
    }
    if (strlen(dest) >= sizeof(cl->path)) {
        snprintf(err, errlen, "%.64s...: file name longer than %d bytes", dest,
                 CASE_LOG_PATH_MAX - 1);
        return -1;
    }
    strcpy(cl->path, dest);
    cl->fd = open_file(dest, uid, gid, err, errlen);
    if (cl->fd == -1) {
        cl->open_errno = errno;
        return -1;
    }
    return 0;
}

int
case_log_reopen(struct case_log *cl, uid_t uid, gid_t gid, char *err,
                size_t errlen)
{
    if (cl->path[0] == '\0') {
        return 0;
    }
    int fd = open_file(cl->path, uid, gid, err, errlen);
    if (fd == -1) {
        if (cl->fd == -1) {
            cl->open_errno = errno;
        }
        return -1;
    }
    if (cl->fd != -1) {
        close(cl->fd);
    }
    cl->fd = fd;
    cl->open_errno = 0;
    /* A fragment a short write left stays in the old file. */
    cl->torn = false;
    return 0;
}

void
case_log_close(struct case_log *cl)
{
    if (cl->fd != -1) {
        close(cl->fd);
    }
    free(cl->buf);
    case_log_init(cl);
}

bool
case_log_on(const struct case_log *cl)
{
    return cl->path[0] != '\0';
}

/* Room for n more bytes in the line buffer; false when out of memory. */
static bool
reserve(struct case_log *cl, size_t n)
{
    if (cl->cap - cl->len >= n) {
        return true;
    }
    size_t cap = cl->cap > 0 ? cl->cap : 4096;
    while (cap - cl->len < n) {
        if (cap > SIZE_MAX / 2) {
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(cl->buf, cap);
    if (p == NULL) {
        return false;
    }
    cl->buf = p;
    cl->cap = cap;
    return true;
}

/* jansson's output callback: appends to the line buffer. */
static int
append(const char *p, size_t n, void *arg)
{
    struct case_log *cl = arg;

    if (!reserve(cl, n)) {
        return -1;
    }
    memcpy(cl->buf + cl->len, p, n);
    cl->len += n;
    return 0;
}

/* The line of c in the buffer: a newline first after a short write,
 * the JSON, its newline. False when out of memory. */
static bool
build_line(struct case_log *cl, const struct stats_case *c, uint64_t now_ms)
{
    json_t *j = stats_json_case(c, now_ms);
    bool ok = j != NULL;

    cl->len = 0;
    if (ok && cl->torn) {
        ok = append("\n", 1, cl) == 0;
    }
    ok = ok && json_dump_callback(j, append, cl, JSON_COMPACT) == 0 &&
         append("\n", 1, cl) == 0;
    json_decref(j);
    return ok;
}

/* One more line that did not go in whole: counted, and logged unless a
 * message went out less than CASE_LOG_WARN_MS ago. */
static void
failed(struct case_log *cl, const struct stats_case *c, uint64_t mono_ms,
       _Atomic uint64_t *errors, const char *why)
{
    stats_add(errors, 1);
    if (cl->warned && mono_ms - cl->warned_ms < CASE_LOG_WARN_MS) {
        cl->unwarned++;
        return;
    }
    if (cl->unwarned > 0) {
        log_msg(LOG_LEVEL_ERROR,
                "case_log %s: case %" PRIu64 " not written: %s (and %" PRIu64
                " more lines not written since the last message)",
                cl->path, c->id, why, cl->unwarned);
    } else {
        log_msg(LOG_LEVEL_ERROR,
                "case_log %s: case %" PRIu64 " not written: %s", cl->path,
                c->id, why);
    }
    cl->warned = true;
    cl->warned_ms = mono_ms;
    cl->unwarned = 0;
}

int
case_log_write(struct case_log *cl, const struct stats_case *c, uint64_t now_ms,
               uint64_t mono_ms, _Atomic uint64_t *errors)
{
    char why[96];
    int rc = -1;

    if (!case_log_on(cl)) {
        return 0;
    }
    if (cl->fd == -1) {
        snprintf(why, sizeof(why), "the file is not open (%s)",
                 strerror(cl->open_errno != 0 ? cl->open_errno : EBADF));
        failed(cl, c, mono_ms, errors, why);
        return -1;
    }
    size_t lead = cl->torn ? 1 : 0; /* build_line's newline first */
    if (!build_line(cl, c, now_ms)) {
        failed(cl, c, mono_ms, errors, "out of memory");
        goto out;
    }
    /* One write for the whole line: see the top of this file. */
    ssize_t n = write(cl->fd, cl->buf, cl->len);
    int e = errno;
    cl->torn = log_line_torn(cl->torn, n, cl->len, lead);
    if (n == (ssize_t)cl->len) {
        rc = 0;
    } else if (n < 0) {
        snprintf(why, sizeof(why), "%s", strerror(e));
        failed(cl, c, mono_ms, errors, why);
    } else {
        snprintf(why, sizeof(why),
                 "short write (%zd of %zu bytes): the line is cut", n, cl->len);
        failed(cl, c, mono_ms, errors, why);
    }
out:
    if (cl->cap > CASE_LOG_KEEP_BYTES) {
        free(cl->buf);
        cl->buf = NULL;
        cl->cap = 0;
    }
    cl->len = 0;
    return rc;
}
