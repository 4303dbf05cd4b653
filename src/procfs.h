/* SPDX-License-Identifier: MIT */
/*
 * What Linux's /proc says of a process: CPU time, memory, descriptors open
 * and allowed, start time, the figures of Prometheus' standard process_*
 * metrics. The master reads them for itself and for each of its workers
 * (it is root, or their user). The parsers are pure, so that the unit
 * tests feed them text; procfs_sample does the reading. Not here: any
 * output format (stats_json.c).
 */
#ifndef WSD_PROCFS_H
#define WSD_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCFS_UNLIMITED UINT64_MAX /* a limit of "unlimited" */

/* What every sample needs of the system, read once per scrape. */
struct procfs_system {
    uint64_t ticks_per_s; /* sysconf(_SC_CLK_TCK) */
    uint64_t page_bytes;  /* sysconf(_SC_PAGESIZE) */
    uint64_t boot_s;      /* btime of /proc/stat: boot, Unix time in s */
};

struct procfs_sample {
    uint64_t cpu_ms;   /* user and system time */
    uint64_t start_ms; /* Unix time in ms */
    uint64_t resident_bytes;
    uint64_t virtual_bytes;
    uint64_t open_fds;
    uint64_t max_fds; /* soft RLIMIT_NOFILE, or PROCFS_UNLIMITED */
};

/* The fields of /proc/PID/stat that a sample takes, in the kernel's units. */
struct procfs_stat {
    uint64_t utime, stime; /* clock ticks */
    uint64_t starttime;    /* clock ticks after boot */
};

/*
 * Parses /proc/PID/stat (text[0..len), not NUL-terminated): the fields
 * after the command name, which is in parentheses and may hold anything,
 * spaces and ')' included. Returns 0, or -1 when the text does not hold
 * them.
 */
int procfs_parse_stat(const char *text, size_t len, struct procfs_stat *out);

/*
 * Parses /proc/PID/statm: its first two fields, total and resident
 * program size, in pages. Returns 0, or -1.
 */
int procfs_parse_statm(const char *text, size_t len, uint64_t *size_pages,
                       uint64_t *resident_pages);

/*
 * The soft limit of the "Max open files" line of /proc/PID/limits, or
 * PROCFS_UNLIMITED for "unlimited". Returns 0, or -1 without that line.
 */
int procfs_parse_limits(const char *text, size_t len, uint64_t *max_fds);

/* The "btime" line of /proc/stat, in *boot_s. Returns 0, or -1. */
int procfs_parse_btime(const char *text, size_t len, uint64_t *boot_s);

/* Fills sys from sysconf and /proc/stat. Returns 0, or -1 (errno set). */
int procfs_system_read(struct procfs_system *sys);

/*
 * Reads /proc/PID/stat and statm alone: CPU time, start, memory (out's
 * other fields untouched), which is cheap enough to do every second
 * whatever the descriptors open. Returns 0, or -1 as procfs_sample.
 */
int procfs_usage(pid_t pid, const struct procfs_system *sys,
                 struct procfs_sample *out);

/*
 * Reads /proc/PID/stat, statm, limits and fd. Returns 0, or -1 when the
 * process is gone or one of them cannot be read or parsed (errno set,
 * EINVAL for a text that does not parse).
 */
int procfs_sample(pid_t pid, const struct procfs_system *sys,
                  struct procfs_sample *out);

#endif
