/* SPDX-License-Identifier: MIT */
/*
 * Reading and parsing /proc (proc(5)) for the process_* metrics.
 */
#include "autoconf.h"

#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Skips spaces, then reads a decimal number; *p moves past it. */
static int
number(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t n = 0;

    while (s < end && *s == ' ') {
        s++;
    }
    if (s == end || *s < '0' || *s > '9') {
        return -1;
    }
    while (s < end && *s >= '0' && *s <= '9') {
        uint64_t d = (uint64_t)(*s - '0');
        if (n > (UINT64_MAX - d) / 10) {
            return -1;
        }
        n = n * 10 + d;
        s++;
    }
    *p = s;
    *out = n;
    return 0;
}

/* Skips spaces, then one field of anything but spaces. */
static int
skip_field(const char **p, const char *end)
{
    const char *s = *p;

    while (s < end && *s == ' ') {
        s++;
    }
    if (s == end || *s == '\n') {
        return -1;
    }
    while (s < end && *s != ' ' && *s != '\n') {
        s++;
    }
    *p = s;
    return 0;
}

int
procfs_parse_stat(const char *text, size_t len, struct procfs_stat *out)
{
    const char *end = text + len;
    const char *p = end;
    uint64_t v;

    /* The command name may hold ")": the fields start after the last. */
    while (p > text && p[-1] != ')') {
        p--;
    }
    if (p == text) {
        return -1;
    }
    /* proc(5) numbers the fields from 1 (pid); state is field 3. */
    for (unsigned field = 3; field <= 22; field++) {
        if (field == 14 || field == 15 || field == 22) {
            if (number(&p, end, &v) != 0) {
                return -1;
            }
            if (field == 14) {
                out->utime = v;
            } else if (field == 15) {
                out->stime = v;
            } else {
                out->starttime = v;
            }
        } else if (skip_field(&p, end) != 0) {
            return -1;
        }
    }
    return 0;
}

int
procfs_parse_statm(const char *text, size_t len, uint64_t *size_pages,
                   uint64_t *resident_pages)
{
    const char *p = text;
    const char *end = text + len;

    if (number(&p, end, size_pages) != 0 ||
        number(&p, end, resident_pages) != 0) {
        return -1;
    }
    return 0;
}

/* The line of text[0..len) that starts with prefix: its rest, or NULL. */
static const char *
line_after(const char *text, size_t len, const char *prefix,
           const char **line_end)
{
    const char *end = text + len;
    size_t plen = strlen(prefix);

    for (const char *p = text; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl != NULL ? nl : end;
        if ((size_t)(stop - p) >= plen && memcmp(p, prefix, plen) == 0) {
            *line_end = stop;
            return p + plen;
        }
        p = stop + 1;
    }
    return NULL;
}

int
procfs_parse_limits(const char *text, size_t len, uint64_t *max_fds)
{
    const char *end;
    const char *p = line_after(text, len, "Max open files", &end);
    static const char unlimited[] = "unlimited";

    if (p == NULL) {
        return -1;
    }
    while (p < end && *p == ' ') {
        p++;
    }
    if ((size_t)(end - p) >= sizeof(unlimited) - 1 &&
        memcmp(p, unlimited, sizeof(unlimited) - 1) == 0) {
        *max_fds = PROCFS_UNLIMITED;
        return 0;
    }
    return number(&p, end, max_fds);
}

int
procfs_parse_btime(const char *text, size_t len, uint64_t *boot_s)
{
    const char *end;
    const char *p = line_after(text, len, "btime ", &end);

    return p == NULL ? -1 : number(&p, end, boot_s);
}

/* Reads a whole /proc file into buf[0..cap); returns its length or -1. */
static ssize_t
read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t len = 0;

    if (fd == -1) {
        return -1;
    }
    while (len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    return (ssize_t)len;
}

/* Entries of /proc/PID/fd: the descriptors open. */
static int
count_fds(pid_t pid, uint64_t *out)
{
    char path[64];
    DIR *d;
    struct dirent *e;
    uint64_t n = 0;

    snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
    d = opendir(path);
    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    *out = n;
    return 0;
}

int
procfs_system_read(struct procfs_system *sys)
{
    long hz = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    /* Line by line: the "intr" line before btime has a number per
     * interrupt, which makes it long on a large machine. */
    FILE *f = fopen("/proc/stat", "re");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = -1;

    if (hz <= 0 || page <= 0 || f == NULL) {
        goto out;
    }
    sys->ticks_per_s = (uint64_t)hz;
    sys->page_bytes = (uint64_t)page;
    errno = EINVAL;
    while ((n = getline(&line, &cap, f)) != -1) {
        if (procfs_parse_btime(line, (size_t)n, &sys->boot_s) == 0) {
            rc = 0;
            break;
        }
    }
out:
    free(line);
    if (f != NULL) {
        fclose(f);
    }
    return rc;
}

int
procfs_usage(pid_t pid, const struct procfs_system *sys,
             struct procfs_sample *out)
{
    char path[64];
    char buf[4096]; /* stat and statm are far shorter */
    ssize_t n;
    struct procfs_stat st = {0}; /* filled by a parse that succeeds */
    uint64_t size_pages;
    uint64_t resident_pages;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if ((n = read_file(path, buf, sizeof(buf))) == -1) {
        return -1;
    }
    if (procfs_parse_stat(buf, (size_t)n, &st) != 0) {
        goto fail_parse;
    }
    out->cpu_ms = (st.utime + st.stime) * 1000 / sys->ticks_per_s;
    out->start_ms = sys->boot_s * 1000 + st.starttime * 1000 / sys->ticks_per_s;
    snprintf(path, sizeof(path), "/proc/%ld/statm", (long)pid);
    if ((n = read_file(path, buf, sizeof(buf))) == -1) {
        return -1;
    }
    if (procfs_parse_statm(buf, (size_t)n, &size_pages, &resident_pages) != 0) {
        goto fail_parse;
    }
    out->virtual_bytes = size_pages * sys->page_bytes;
    out->resident_bytes = resident_pages * sys->page_bytes;
    return 0;
fail_parse:
    errno = EINVAL;
    return -1;
}

int
procfs_sample(pid_t pid, const struct procfs_system *sys,
              struct procfs_sample *out)
{
    char path[64];
    char buf[4096]; /* limits is about 1.4 KB */
    ssize_t n;

    if (procfs_usage(pid, sys, out) != 0) {
        return -1;
    }
    snprintf(path, sizeof(path), "/proc/%ld/limits", (long)pid);
    if ((n = read_file(path, buf, sizeof(buf))) == -1) {
        return -1;
    }
    if (procfs_parse_limits(buf, (size_t)n, &out->max_fds) != 0) {
        errno = EINVAL;
        return -1;
    }
    return count_fds(pid, &out->open_fds);
}
