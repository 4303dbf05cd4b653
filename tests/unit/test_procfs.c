/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for procfs: the parsers fed the kernel's text as proc(5)
 * describes it (a command name holding spaces and parentheses, limits
 * "unlimited", a btime line among others) and refusing what is not; then
 * a sample of this very process, checked against what the test reads
 * itself through other calls (getrlimit, a count of /proc/self/fd).
 */
#include "autoconf.h"

#include "procfs.h"

#include <dirent.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void
test_stat(void)
{
    /* Fields 1-24 of proc(5); utime 14 = 1234, stime 15 = 567, starttime
     * 22 = 8901234. The command name holds ") (" and spaces. */
    static const char stat[] =
        "4242 (wsd: worker) (0)) S 1 4242 4242 0 -1 4194560 300 0 0 0 "
        "1234 567 0 0 20 0 1 0 8901234 26607616 605 18446744073709551615\n";
    struct procfs_stat st;

    memset(&st, 0, sizeof(st));
    is_int(procfs_parse_stat(stat, strlen(stat), &st), 0, "stat parses");
    ok(st.utime == 1234 && st.stime == 567 && st.starttime == 8901234,
       "utime, stime and starttime after a name with ')' and spaces");

    static const char *const bad[] = {
        "",
        "4242 wsd S 1",
        "4242 (wsd) S 1 4242 4242 0 -1 4194560 300 0 0 0 12",
        "4242 (wsd) S 1 4242 4242 0 -1 4194560 300 0 0 0 x 567 0 0 20 0 1 0 "
        "8901234",
        "4242 (wsd) S 1 4242 4242 0 -1 4194560 300 0 0 0 "
        "99999999999999999999999 1 0 0 20 0 1 0 1",
    };
    for (size_t i = 0; i < NELEM(bad); i++) {
        is_int(procfs_parse_stat(bad[i], strlen(bad[i]), &st), -1,
               "stat refused: \"%.30s...\"", bad[i]);
    }
    /* Not NUL-terminated: the length is the end. */
    is_int(procfs_parse_stat(stat, 60, &st), -1, "stat cut short: refused");
}

static void
test_statm(void)
{
    uint64_t size = 0;
    uint64_t resident = 0;

    is_int(
        procfs_parse_statm("6496 605 452 83 0 553 0\n", 24, &size, &resident),
        0, "statm parses");
    ok(size == 6496 && resident == 605, "statm: size and resident pages");
    is_int(procfs_parse_statm("6496\n", 5, &size, &resident), -1,
           "statm without resident: refused");
    is_int(procfs_parse_statm("", 0, &size, &resident), -1,
           "empty statm: refused");
}

static void
test_limits(void)
{
    static const char limits[] =
        "Limit                     Soft Limit           Hard Limit           "
        "Units     \n"
        "Max cpu time              unlimited            unlimited            "
        "seconds   \n"
        "Max open files            20000                524288               "
        "files     \n"
        "Max locked memory         8388608              8388608              "
        "bytes     \n";
    static const char unlimited[] =
        "Max open files            unlimited            unlimited            "
        "files     \n";
    uint64_t n = 0;

    is_int(procfs_parse_limits(limits, strlen(limits), &n), 0, "limits parse");
    is_int((long long)n, 20000, "the soft limit of Max open files");
    is_int(procfs_parse_limits(unlimited, strlen(unlimited), &n), 0,
           "unlimited parses");
    ok(n == PROCFS_UNLIMITED, "unlimited is PROCFS_UNLIMITED");
    is_int(procfs_parse_limits(limits, 140, &n), -1,
           "limits without the line: refused");
}

static void
test_btime(void)
{
    static const char stat[] = "cpu  1 2 3 4\n"
                               "intr 12345 0 0 0\n"
                               "ctxt 99\n"
                               "btime 1700000000\n"
                               "processes 4242\n";
    uint64_t boot = 0;

    is_int(procfs_parse_btime(stat, strlen(stat), &boot), 0, "btime parses");
    is_int((long long)boot, 1700000000, "btime's value");
    is_int(procfs_parse_btime(stat, 30, &boot), -1, "no btime line: refused");
    is_int(procfs_parse_btime("xbtime 5\n", 9, &boot), -1,
           "btime only at the start of a line");
}

static uint64_t
fds_now(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    uint64_t n = 0;

    if (d == NULL) {
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

static void
test_self(void)
{
    struct procfs_system sys;
    struct procfs_sample s;
    struct rlimit rl;
    time_t now = time(NULL);

    is_int(procfs_system_read(&sys), 0, "the system's clock ticks and btime");
    ok(sys.ticks_per_s > 0 && sys.page_bytes > 0 && sys.boot_s > 0 &&
           sys.boot_s <= (uint64_t)now,
       "ticks %llu/s, pages of %llu bytes, booted before now",
       (unsigned long long)sys.ticks_per_s, (unsigned long long)sys.page_bytes);
    is_int(procfs_sample(getpid(), &sys, &s), 0, "a sample of this process");
    getrlimit(RLIMIT_NOFILE, &rl);
    ok(s.max_fds == (rl.rlim_cur == RLIM_INFINITY ? PROCFS_UNLIMITED
                                                  : (uint64_t)rl.rlim_cur),
       "max_fds is getrlimit's soft limit (%llu)",
       (unsigned long long)s.max_fds);
    /* opendir holds one descriptor while either of us counts. */
    is_int((long long)s.open_fds, (long long)fds_now(),
           "open_fds as /proc/self/fd lists them");
    ok(s.start_ms >= sys.boot_s * 1000 &&
           s.start_ms <= (uint64_t)now * 1000 + 1000,
       "started after boot and not after now");
    ok(s.resident_bytes > 0 && s.virtual_bytes >= s.resident_bytes,
       "resident memory, within the virtual");
    ok(s.cpu_ms < (uint64_t)60 * 60 * 1000, "CPU time (%llu ms) is sane",
       (unsigned long long)s.cpu_ms);
    ok(procfs_sample(-1, &sys, &s) == -1, "no process -1");
}

int
main(void)
{
    test_stat();
    test_statm();
    test_limits();
    test_btime();
    test_self();
    return tap_done();
}
