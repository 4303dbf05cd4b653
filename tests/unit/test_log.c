/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for log: a line of the log file and of the access log is
 * one write(2) with its newline; after a write that comes back short (a
 * full disk), the next line starts on a line of its own, so that the part
 * written stands alone and every line after it is whole; a failed write
 * changes nothing; a reopen starts afresh.
 *
 * The test has its own write(): the library's calls resolve to it (an
 * executable's definition comes before libc's), so that it can make the
 * next call on any descriptor but stdout's come back short or fail.
 */
#include "autoconf.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tap.h"

static int fail_errno;  /* the next call fails with it; 0: none */
static bool short_next; /* the next call writes 10 bytes and says so */

ssize_t
write(int fd, const void *buf, size_t n)
{
    if (fd == STDOUT_FILENO) {
        return (ssize_t)syscall(SYS_write, fd, buf, n);
    }
    if (fail_errno != 0) {
        errno = fail_errno;
        fail_errno = 0;
        return -1;
    }
    if (short_next && n > 10) {
        short_next = false;
        return (ssize_t)syscall(SYS_write, fd, buf, 10);
    }
    return (ssize_t)syscall(SYS_write, fd, buf, n);
}

static char dir[64];

/* The file at path, NUL-terminated (malloc'd), or NULL. */
static char *
slurp(const char *path)
{
    struct stat st;
    FILE *f = fopen(path, "r");
    char *text = NULL;

    if (f != NULL && fstat(fileno(f), &st) == 0 && st.st_size >= 0) {
        text = malloc((size_t)st.st_size + 1);
    }
    if (text != NULL) {
        size_t n = fread(text, 1, (size_t)st.st_size, f);
        text[n] = '\0';
    }
    if (f != NULL) {
        fclose(f);
    }
    return text;
}

/* Line i (0 first) of the file at path, without its newline, into out;
 * "" past the end. Returns the number of lines (a part without a newline
 * at the end counts). */
static int
line_of(const char *path, int i, char *out, size_t cap)
{
    char *text = slurp(path);
    int n = 0;

    out[0] = '\0';
    for (char *p = text; p != NULL && *p != '\0'; n++) {
        char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (n == i) {
            size_t k = len < cap - 1 ? len : cap - 1;
            memcpy(out, p, k);
            out[k] = '\0';
        }
        p = nl != NULL ? nl + 1 : p + len;
    }
    free(text);
    return n;
}

/* Whether s ends with suffix. */
static bool
ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s);
    size_t b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void
test_log_file(void)
{
    char path[96];
    char err[256];
    char line[1200];

    snprintf(path, sizeof(path), "%s/wsd.log", dir);
    ok(log_open(path, err, sizeof(err)) == 0, "log: opened");
    log_msg(LOG_LEVEL_ERROR, "first whole line");
    short_next = true;
    log_msg(LOG_LEVEL_ERROR, "second line, cut short");
    log_msg(LOG_LEVEL_ERROR, "third line");
    is_int(line_of(path, 0, line, sizeof(line)), 3,
           "log: a short write's part, then the next line, each its own");
    ok(ends_with(line, ": error: first whole line"), "log: line 1 whole");
    line_of(path, 1, line, sizeof(line));
    is_int((int)strlen(line), 10, "log: line 2 is the part written");
    line_of(path, 2, line, sizeof(line));
    ok(ends_with(line, ": error: third line") && strncmp(line, "20", 2) == 0,
       "log: line 3 whole, its time stamp first");

    fail_errno = ENOSPC;
    log_msg(LOG_LEVEL_ERROR, "lost to a full disk");
    log_msg(LOG_LEVEL_ERROR, "fourth line");
    is_int(line_of(path, 3, line, sizeof(line)), 4,
           "log: a failed write leaves no line, and no empty one");
    ok(ends_with(line, ": error: fourth line"), "log: line 4 whole");

    /* Cut again, then the file is renamed and reopened: the part stays
     * in the old file, and the new one starts with a whole line. */
    short_next = true;
    log_msg(LOG_LEVEL_ERROR, "cut before the rotation");
    char old[128];
    snprintf(old, sizeof(old), "%s.1", path);
    ok(rename(path, old) == 0 &&
           log_reopen((uid_t)-1, (gid_t)-1, err, sizeof(err)) == 0,
       "log: renamed and reopened");
    log_msg(LOG_LEVEL_ERROR, "after the rotation");
    is_int(line_of(path, 0, line, sizeof(line)), 1,
           "log: the new file has one line");
    ok(ends_with(line, ": error: after the rotation"),
       "log: ... whole, with no newline in front");
    log_open("stderr", err, sizeof(err));
    unlink(old);
    unlink(path);
}

static void
test_access_log(void)
{
    char path[96];
    char err[256];
    char line[256];

    snprintf(path, sizeof(path), "%s/access.log", dir);
    ok(access_log_open(path, err, sizeof(err)) == 0, "access: opened");
    short_next = true;
    access_log_write("peer=a status=101 first", 23);
    access_log_write("peer=b status=404 second", 24);
    is_int(line_of(path, 0, line, sizeof(line)), 2,
           "access: a short write's part and the next line apart");
    is_str(line, "peer=a sta", "access: line 1 is the part written");
    line_of(path, 1, line, sizeof(line));
    is_str(line, "peer=b status=404 second", "access: line 2 whole");
    access_log_open("off", err, sizeof(err));
    unlink(path);
}

int
main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/test_log.%ld", (long)getpid());
    if (mkdir(dir, 0700) != 0) {
        tap_diag("cannot create %s", dir);
        return 1;
    }
    test_log_file();
    test_access_log();
    rmdir(dir);
    return tap_done();
}
