/* SPDX-License-Identifier: MIT */
/*
 * Leveled logging and the access log. The level and destinations are
 * process state set at start (and on reload or reopen); the pid is read at
 * each call so that workers log their own after fork.
 */
#include "autoconf.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* A destination of lines: a file by name, or stderr when path is "". */
struct log_file {
    char path[LOG_FILE_MAX];
    int fd;    /* -1: closed */
    bool torn; /* a short write left part of a line without its newline */
};

static int log_threshold = LOG_LEVEL_INFO;
static bool log_syslog;
static struct log_file log_main = {"", STDERR_FILENO, false};
static struct log_file log_access = {"", -1, false};
static log_tee_fn *log_tee; /* NULL: no tee */
static int log_tee_level;

static const int syslog_priorities[] = {
    LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR, LOG_CRIT, LOG_ALERT,
};

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

static int
open_append(const char *path, char *err, size_t errlen)
{
    int fd =
        open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd == -1) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    }
    return fd;
}

/* Points f at path, or at stderr for "". */
static int
log_file_set(struct log_file *f, const char *path, int fallback, char *err,
             size_t errlen)
{
    int fd = fallback;

    if (strlen(path) >= sizeof(f->path)) {
        snprintf(err, errlen, "%.64s...: file name longer than %d bytes", path,
                 LOG_FILE_MAX - 1);
        return -1;
    }
    if (path[0] != '\0') {
        fd = open_append(path, err, errlen);
        if (fd == -1) {
            return -1;
        }
    }
    if (f->fd > STDERR_FILENO) {
        close(f->fd);
    }
    f->fd = fd;
    f->torn = false;
    snprintf(f->path, sizeof(f->path), "%s", path);
    return 0;
}

int
log_open(const char *dest, char *err, size_t errlen)
{
    if (strcmp(dest, "syslog") == 0) {
        openlog("wsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        log_syslog = true;
        return log_file_set(&log_main, "", STDERR_FILENO, err, errlen);
    }
    if (log_file_set(&log_main, strcmp(dest, "stderr") == 0 ? "" : dest,
                     STDERR_FILENO, err, errlen) != 0) {
        return -1;
    }
    if (log_syslog) {
        closelog();
        log_syslog = false;
    }
    return 0;
}

int
access_log_open(const char *dest, char *err, size_t errlen)
{
    if (strcmp(dest, "off") == 0) {
        return log_file_set(&log_access, "", -1, err, errlen);
    }
    return log_file_set(&log_access, dest, -1, err, errlen);
}

void
log_after_fork(void)
{
    if (log_syslog) {
        /* The child closed the parent's syslog socket with its other
         * descriptors: forget it before its number is reused. */
        closelog();
        openlog("wsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    }
}

void
log_fds(int *log_fd, int *access_fd)
{
    *log_fd = log_main.fd > STDERR_FILENO ? log_main.fd : -1;
    *access_fd = log_access.fd;
}

void
log_set_tee(log_tee_fn *fn, int min_level)
{
    log_tee = fn;
    log_tee_level = min_level;
}

bool
access_log_on(void)
{
    return log_access.fd != -1;
}

int
log_file_chown(int fd, const char *path, uid_t uid, gid_t gid, char *err,
               size_t errlen)
{
    struct stat fs;
    struct stat ls;

    if (fstat(fd, &fs) == -1) {
        int e = errno;
        snprintf(err, errlen, "%s: fstat: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    if (!S_ISREG(fs.st_mode) || (fs.st_uid == uid && fs.st_gid == gid)) {
        return 0;
    }
    /* The name must be the file itself, and its only name: a process of
     * uid that can write the directory could otherwise point it, by a
     * symbolic or a hard link, at any file of root's and have it given
     * away. */
    if (lstat(path, &ls) == -1 || !S_ISREG(ls.st_mode) ||
        ls.st_dev != fs.st_dev || ls.st_ino != fs.st_ino || fs.st_nlink != 1) {
        snprintf(err, errlen,
                 "%s: not given to the workers' user: a symbolic link, or a "
                 "file with other names",
                 path);
        errno = EPERM;
        return -1;
    }
    if (fchown(fd, uid, gid) == -1) {
        int e = errno;
        snprintf(err, errlen, "%s: chown: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    return 0;
}

static int
reopen_one(struct log_file *f, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    if (f->path[0] == '\0') {
        return 0;
    }
    int fd = open_append(f->path, err, errlen);
    if (fd == -1) {
        return -1;
    }
    if (uid != (uid_t)-1 &&
        log_file_chown(fd, f->path, uid, gid, err, errlen) != 0) {
        close(fd);
        return -1;
    }
    /* The same descriptor number, now on the new file. */
    int rc = dup2(fd, f->fd) == -1 ? -1 : 0;
    if (rc != 0) {
        snprintf(err, errlen, "%s: dup2: %s", f->path, strerror(errno));
    } else {
        /* A part of a line a short write left stays in the old file. */
        f->torn = false;
    }
    close(fd);
    return rc;
}

static int
chown_one(const struct log_file *f, uid_t uid, gid_t gid, char *err,
          size_t errlen)
{
    if (f->path[0] == '\0') {
        return 0;
    }
    return log_file_chown(f->fd, f->path, uid, gid, err, errlen);
}

int
log_chown(uid_t uid, gid_t gid, char *err, size_t errlen)
{
    int a = chown_one(&log_main, uid, gid, err, errlen);
    int b = chown_one(&log_access, uid, gid, a == 0 ? err : NULL,
                      a == 0 ? errlen : 0);
    return a == 0 && b == 0 ? 0 : -1;
}

int
log_reopen(uid_t uid, gid_t gid, char *err, size_t errlen)
{
    int a = reopen_one(&log_main, uid, gid, err, errlen);
    int b = reopen_one(&log_access, uid, gid, a == 0 ? err : NULL,
                       a == 0 ? errlen : 0);
    return a == 0 && b == 0 ? 0 : -1;
}

/*
 * Writes line[0..len), a whole line with its newline, to f in one
 * write(2); line[-1] must be there to write into. A write that comes
 * back short (a full disk, the file size limit) leaves part of a line
 * without its newline, and is not retried (the process would wait on a
 * failing disk, and the rest would land after other processes' lines
 * anyway): this process's next line then starts with a newline, so that
 * the part ends on a line of its own and the lines after it are whole,
 * as in the case log.
 */
static void
write_line(struct log_file *f, char *line, size_t len)
{
    size_t lead = f->torn ? 1 : 0;

    if (lead != 0) {
        line--;
        line[0] = '\n';
        len++;
    }
    f->torn = log_line_torn(f->torn, write(f->fd, line, len), len, lead);
}

void
access_log_write(const char *line, size_t len)
{
    /* One byte in front for write_line's newline. */
    char buf[1 + ACCESS_LOG_LINE_MAX];

    if (log_access.fd == -1) {
        return;
    }
    if (len > ACCESS_LOG_LINE_MAX - 1) {
        len = ACCESS_LOG_LINE_MAX - 1;
    }
    memcpy(buf + 1, line, len);
    buf[1 + len++] = '\n';
    write_line(&log_access, buf + 1, len);
}

static void log_write(int level, const char *suffix, const char *fmt,
                      va_list ap) __attribute__((format(printf, 3, 0)));

static void
log_write(int level, const char *suffix, const char *fmt, va_list ap)
{
    char stamp[40];
    /* Room for the time stamp in front of the line, so that a file gets
     * both in one write, and for write_line's newline before it. */
    char buf[1 + sizeof(stamp) + 1024];
    char *line = buf + 1 + sizeof(stamp);
    size_t room = sizeof(buf) - 1 - sizeof(stamp);

    int n = snprintf(line, room, "wsd[%ld]: ", (long)getpid());
    if (n < 0 || (size_t)n >= room) {
        return;
    }
    size_t head = (size_t)n; /* syslog names the process itself */
    int k = snprintf(line + head, room - head, "%s: ", log_names[level]);
    if (k < 0 || (size_t)k >= room - head) {
        return;
    }
    size_t len = head + (size_t)k;
    int m = vsnprintf(line + len, room - len, fmt, ap);
    len = m < 0 ? len : len + (size_t)m;
    if (len > room - 2) {
        len = room - 2;
    }
    if (suffix != NULL) {
        size_t slen = strlen(suffix);
        if (len + 2 + slen > room - 2) {
            slen = room - 2 - len > 2 ? room - 4 - len : 0;
        }
        if (slen > 0) {
            memcpy(line + len, ": ", 2);
            memcpy(line + len + 2, suffix, slen);
            len += 2 + slen;
        }
    }
    line[len++] = '\n';
    if (log_tee != NULL && level >= log_tee_level &&
        (log_syslog || log_main.fd != STDERR_FILENO)) {
        log_tee(line, len);
    }
    if (log_syslog) {
        syslog(syslog_priorities[level], "%.*s", (int)(len - head - 1),
               line + head);
        return;
    }
    if (log_main.path[0] != '\0') {
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        size_t t = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
        int ms = snprintf(stamp + t, sizeof(stamp) - t, ".%03ldZ ",
                          (long)tv.tv_usec / 1000);
        t += ms > 0 && (size_t)ms < sizeof(stamp) - t ? (size_t)ms : 0;
        line -= t;
        len += t;
        memcpy(line, stamp, t);
    }
    /* One write per line, so that lines of several processes never mix. */
    write_line(&log_main, line, len);
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
