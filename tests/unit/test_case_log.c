/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for case_log: a record goes into the file as one line of its
 * JSON, with one write(2); a failed write (/dev/full, EIO) and a short
 * one are counted and logged at most once per CASE_LOG_WARN_MS, and the
 * line after a short write starts on a line of its own; reopen follows a
 * rename; off writes nothing. Then several processes append at once and
 * every line must come out whole, with a control run in which each line
 * goes out in two writes, to show that the check does catch tearing.
 *
 * The test has its own write(): the library's calls resolve to it (an
 * executable's definition comes before libc's), so that it can count the
 * calls on the case log's descriptor and make one fail or come back short.
 */
#include "autoconf.h"

#include "case_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "stats_json.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* What the test's write() does to the descriptor it watches. */
static int watched_fd = -1;
static int write_calls;   /* calls on watched_fd */
static int fail_errno;    /* the next call fails with it; 0: none */
static bool short_next;   /* the next call writes half and says so */
static bool split_writes; /* every call goes out in two writes (control) */

ssize_t
write(int fd, const void *buf, size_t n)
{
    if (fd != watched_fd) {
        return (ssize_t)syscall(SYS_write, fd, buf, n);
    }
    write_calls++;
    if (fail_errno != 0) {
        errno = fail_errno;
        fail_errno = 0;
        return -1;
    }
    if (short_next) {
        short_next = false;
        return (ssize_t)syscall(SYS_write, fd, buf, n / 2);
    }
    if (split_writes && n > 1) {
        ssize_t a = (ssize_t)syscall(SYS_write, fd, buf, n / 2);
        sched_yield(); /* let another appender in between */
        ssize_t b = (ssize_t)syscall(SYS_write, fd, (const char *)buf + n / 2,
                                     n - n / 2);
        return a < 0 || b < 0 ? -1 : a + b;
    }
    return (ssize_t)syscall(SYS_write, fd, buf, n);
}

static char dir[64];
static char log_path[96];

/* The file at path, NUL-terminated (malloc'd; *len its length), or NULL. */
static char *
slurp(const char *path, size_t *len)
{
    struct stat st;
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t n = 0;

    if (f != NULL && fstat(fileno(f), &st) == 0 && st.st_size >= 0) {
        text = malloc((size_t)st.st_size + 1);
    }
    if (text != NULL) {
        n = fread(text, 1, (size_t)st.st_size, f);
        text[n] = '\0';
    }
    if (f != NULL) {
        fclose(f);
    }
    if (len != NULL) {
        *len = n;
    }
    return text;
}

static int
count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p != NULL;
         p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static int
log_count(const char *needle)
{
    char *text = slurp(log_path, NULL);
    int n = text != NULL ? count(text, needle) : -1;
    free(text);
    return n;
}

/* A closed case in a segment of its own: a request head (padded with a
 * header of pad bytes), wire_n entries of wire log with 32 bytes of head
 * each, a peer's string with a quote. */
static struct stats_case *
make_case_padded(struct stats_shm *shm, uint32_t wire_cap, uint64_t wire_n,
                 uint64_t id, uint32_t pad)
{
    static const char req[] = "GET /ws?case=7 HTTP/1.1\r\nHost: x\r\n";
    struct stats_shm_size size = {1, 1, (uint32_t)sizeof(req) + 16 + pad,
                                  wire_cap};
    if (shm->hdr == NULL && stats_shm_create(shm, &size, 1700000000000) != 0) {
        return NULL;
    }
    struct stats_case *c = stats_case_start(shm, 0, id);
    if (c == NULL) {
        return NULL;
    }
    uint8_t *p = stats_case_request(c);
    memcpy(p, req, sizeof(req) - 1);
    c->request_len = sizeof(req) - 1;
    if (pad > 0) {
        memcpy(p + c->request_len, "X-Pad: ", 7);
        memset(p + c->request_len + 7, 'p', pad);
        memcpy(p + c->request_len + 7 + pad, "\r\n", 2);
        c->request_len += 7 + pad + 2;
    }
    memcpy(p + c->request_len, "\r\n", 2);
    c->request_len += 2;
    stats_copy(c->peer, sizeof(c->peer), "127.0.0.1:5555", 14);
    stats_copy(c->user_agent, sizeof(c->user_agent), "ua \"q\"\n", 7);
    c->http_status = 101;
    c->started_ms = 1700000000000;
    c->ended_ms = 1700000000250;
    struct stats_wire *w = stats_case_wire(c);
    for (uint64_t i = 0; i < wire_n && i < wire_cap; i++) {
        w[i].kind = STATS_WIRE_READ;
        w[i].length = 1000 + i;
        w[i].n_head = STATS_WIRE_HEAD;
        memset(w[i].head, (int)('a' + i % 26), STATS_WIRE_HEAD);
    }
    c->wire_n = wire_n;
    c->state = STATS_CASE_CLOSED;
    stats_case_end(c);
    return c;
}

static struct stats_case *
make_case(struct stats_shm *shm, uint32_t wire_cap, uint64_t wire_n,
          uint64_t id)
{
    return make_case_padded(shm, wire_cap, wire_n, id, 0);
}

/* stats_json_case(c) as compact text (malloc'd). */
static char *
want_json(const struct stats_case *c)
{
    json_t *j = stats_json_case(c, 0);
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

static void
test_line(void)
{
    struct stats_shm shm = {0};
    struct case_log cl;
    _Atomic uint64_t errors = 0;
    char path[128];
    char err[256];

    snprintf(path, sizeof(path), "%s/cases.log", dir);
    struct stats_case *c = make_case(&shm, 16, 5, 17);
    ok(c != NULL, "a closed case");
    if (c == NULL) {
        return;
    }
    case_log_init(&cl);
    ok(!case_log_on(&cl), "a new case log is off");
    is_int(case_log_open(&cl, path, (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0,
           "open %s", path);
    ok(case_log_on(&cl), "then on");
    ok((fcntl(cl.fd, F_GETFL) & O_APPEND) != 0, "opened for append");
    ok((fcntl(cl.fd, F_GETFD) & FD_CLOEXEC) != 0, "and close-on-exec");
    watched_fd = cl.fd;
    write_calls = 0;
    is_int(case_log_write(&cl, c, 0, 0, &errors), 0, "a line written");
    is_int(write_calls, 1, "with one write(2)");
    c->id = 18;
    is_int(case_log_write(&cl, c, 0, 0, &errors), 0, "another");
    is_int(write_calls, 2, "one write(2) each");
    is_int(errors, 0, "no error counted");

    size_t len;
    char *text = slurp(path, &len);
    char *want = want_json(c);
    ok(text != NULL && want != NULL, "read back");
    if (text != NULL && want != NULL) {
        char *nl = strchr(text, '\n');
        ok(nl != NULL && len == 2 * (size_t)(nl + 1 - text),
           "two lines of the same length, each ending with its newline");
        /* The second line is case 18, exactly stats_json_case's text. */
        is_int(len == 2 * (strlen(want) + 1) &&
                   memcmp(text + len / 2, want, strlen(want)) == 0,
               1,
               "a line is the record's JSON, compact, as the admin "
               "endpoint serves it");
        json_error_t jerr;
        json_t *j =
            json_loadb(text, nl != NULL ? (size_t)(nl - text) : 0, 0, &jerr);
        ok(j != NULL && json_integer_value(json_object_get(j, "id")) == 17,
           "the first line parses as JSON: case 17 (%s)", jerr.text);
        ok(json_array_size(json_object_get(j, "wirelog")) == 5 &&
               json_string_length(json_object_get(j, "httpRequest")) == 36,
           "with its wire log and request head");
        json_decref(j);
    }
    free(text);
    free(want);
    case_log_close(&cl);
    ok(!case_log_on(&cl) && cl.fd == -1, "closed: off");
    watched_fd = -1;
    stats_shm_destroy(&shm);
}

static void
test_errors(void)
{
    struct stats_shm shm = {0};
    struct case_log cl;
    _Atomic uint64_t errors = 0;
    char path[128];
    char err[256];
    char want[256];

    struct stats_case *c = make_case(&shm, 16, 2, 40);
    if (c == NULL) {
        ok(false, "a closed case");
        return;
    }
    /* The kernel's own full disk: every write fails with ENOSPC. */
    case_log_init(&cl);
    is_int(
        case_log_open(&cl, "/dev/full", (uid_t)-1, (gid_t)-1, err, sizeof(err)),
        0, "open /dev/full");
    is_int(case_log_write(&cl, c, 0, 1000, &errors), -1,
           "/dev/full: the write fails");
    is_int(errors, 1, "/dev/full: counted");
    snprintf(want, sizeof(want),
             "error: case_log /dev/full: case 40 not written: %s\n",
             strerror(ENOSPC));
    is_int(log_count(want), 1, "/dev/full: logged: %s", want);
    c->id = 41;
    case_log_write(&cl, c, 0, 1000 + CASE_LOG_WARN_MS - 1, &errors);
    c->id = 42;
    case_log_write(&cl, c, 0, 1000 + CASE_LOG_WARN_MS - 1, &errors);
    is_int(errors, 3, "every failed line counted");
    is_int(log_count("case_log /dev/full"), 1,
           "but not logged again within CASE_LOG_WARN_MS");
    c->id = 43;
    case_log_write(&cl, c, 0, 1000 + CASE_LOG_WARN_MS, &errors);
    snprintf(want, sizeof(want),
             "case_log /dev/full: case 43 not written: %s (and 2 more lines "
             "not written since the last message)\n",
             strerror(ENOSPC));
    is_int(log_count(want), 1,
           "CASE_LOG_WARN_MS later, logged with the "
           "count of the others: %s",
           want);
    is_int(errors, 4, "4 errors");
    case_log_close(&cl);

    /* An I/O error, then a short write, on a regular file. */
    snprintf(path, sizeof(path), "%s/errors.log", dir);
    case_log_init(&cl);
    case_log_open(&cl, path, (uid_t)-1, (gid_t)-1, err, sizeof(err));
    watched_fd = cl.fd;
    fail_errno = EIO;
    c->id = 50;
    is_int(case_log_write(&cl, c, 0, 50000, &errors), -1, "EIO: fails");
    is_int(errors, 5, "EIO: counted");
    snprintf(want, sizeof(want), "case 50 not written: %s\n", strerror(EIO));
    is_int(log_count(want), 1,
           "EIO: logged, the time since the last "
           "message being past CASE_LOG_WARN_MS");
    short_next = true;
    write_calls = 0;
    c->id = 51;
    is_int(case_log_write(&cl, c, 0, 70000, &errors), -1,
           "a short write fails");
    is_int(write_calls, 1, "and is not retried");
    is_int(errors, 6, "short: counted");
    is_int(log_count("case 51 not written: short write ("), 1,
           "short: logged as such");
    c->id = 52;
    is_int(case_log_write(&cl, c, 0, 70001, &errors), 0,
           "the next line is written");
    c->id = 53;
    is_int(case_log_write(&cl, c, 0, 70002, &errors), 0, "and the next");
    is_int(errors, 6, "without errors");

    char *text = slurp(path, NULL);
    char *want52 = NULL;
    char *want53 = NULL;
    c->id = 52;
    want52 = want_json(c);
    c->id = 53;
    want53 = want_json(c);
    ok(text != NULL && want52 != NULL && want53 != NULL, "read back");
    if (text != NULL && want52 != NULL && want53 != NULL) {
        /* Line 1: half of case 51's line; 2 and 3 whole. */
        char *l2 = strchr(text, '\n');
        char *l3 = l2 != NULL ? strchr(l2 + 1, '\n') : NULL;
        json_t *j =
            l2 != NULL ? json_loadb(text, (size_t)(l2 - text), 0, NULL) : NULL;
        ok(l2 != NULL && strncmp(text, "{\"id\":51,", 9) == 0 && j == NULL,
           "the fragment the short write left ends on its own line");
        json_decref(j);
        ok(l2 != NULL && strncmp(l2 + 1, want52, strlen(want52)) == 0 &&
               l2[1 + strlen(want52)] == '\n',
           "the line after it is whole, case 52");
        ok(l3 != NULL && strncmp(l3 + 1, want53, strlen(want53)) == 0 &&
               l3[1 + strlen(want53)] == '\n' && l3[2 + strlen(want53)] == '\0',
           "then case 53, the last line (one newline only: no empty line)");
    }
    free(text);
    free(want52);
    free(want53);
    watched_fd = -1;
    case_log_close(&cl);
    stats_shm_destroy(&shm);
}

static void
test_open_reopen_off(void)
{
    struct stats_shm shm = {0};
    struct case_log cl;
    _Atomic uint64_t errors = 0;
    char path[128];
    char moved[140];
    char bad[160];
    char err[512];
    char want[512];

    struct stats_case *c = make_case(&shm, 8, 1, 60);
    if (c == NULL) {
        ok(false, "a closed case");
        return;
    }
    snprintf(path, sizeof(path), "%s/rotate.log", dir);
    snprintf(moved, sizeof(moved), "%s.1", path);
    case_log_init(&cl);
    case_log_open(&cl, path, (uid_t)-1, (gid_t)-1, err, sizeof(err));
    case_log_write(&cl, c, 0, 0, &errors);
    ok(rename(path, moved) == 0, "rotation: the file renamed");
    c->id = 61;
    case_log_write(&cl, c, 0, 0, &errors);
    is_int(case_log_reopen(&cl, (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0,
           "reopen");
    c->id = 62;
    case_log_write(&cl, c, 0, 0, &errors);
    char *old = slurp(moved, NULL);
    char *cur = slurp(path, NULL);
    ok(old != NULL && count(old, "\n") == 2 && count(old, "{\"id\":60,") == 1 &&
           count(old, "{\"id\":61,") == 1,
       "before the reopen, lines go to the renamed file");
    ok(cur != NULL && count(cur, "\n") == 1 && count(cur, "{\"id\":62,") == 1,
       "after it, to a new file of the name");
    free(old);
    free(cur);
    is_int(errors, 0, "no errors");

    /* A reopen that fails keeps the file it had. */
    rename(path, moved);
    snprintf(bad, sizeof(bad), "%s/no/such/dir.log", dir);
    struct case_log other;
    case_log_init(&other);
    is_int(case_log_open(&other, bad, (uid_t)-1, (gid_t)-1, err, sizeof(err)),
           -1, "open in a missing directory fails");
    snprintf(want, sizeof(want), "%s: %s", bad, strerror(ENOENT));
    is_str(err, want, "with the file's name and why");
    ok(case_log_on(&other), "the name is kept");
    c->id = 63;
    is_int(case_log_write(&other, c, 0, 0, &errors), -1,
           "a line without a file fails");
    is_int(errors, 1, "and counts");
    snprintf(want, sizeof(want),
             "case_log %s: case 63 not written: the file is not open (%s)", bad,
             strerror(ENOENT));
    is_int(log_count(want), 1, "logged: %s", want);
    is_int(case_log_reopen(&other, (uid_t)-1, (gid_t)-1, err, sizeof(err)), -1,
           "reopen fails too");
    case_log_close(&other);

    /* off: nothing opened, nothing written, nothing counted. */
    is_int(case_log_open(&cl, "off", (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0,
           "off");
    ok(!case_log_on(&cl) && cl.fd == -1, "off: no file");
    is_int(case_log_write(&cl, c, 0, 0, &errors), 0, "off: nothing to write");
    is_int(case_log_reopen(&cl, (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0,
           "off: nothing to reopen");
    is_int(errors, 1, "off: nothing counted");
    case_log_close(&cl);
    unlink(moved);
    stats_shm_destroy(&shm);
}

/* Lines of some 64 KiB, mostly one long string, which takes the kernel
 * longer to copy than jansson to write out: appends overlap often. */
#define WRITERS 4
#define LINES   200
#define WIRE    16
#define PAD     60000

/* In a child: LINES cases numbered from first, each a line. */
static int
writer(const char *path, uint64_t first)
{
    struct stats_shm shm = {0};
    struct case_log cl;
    _Atomic uint64_t errors = 0;
    char err[256];

    struct stats_case *c = make_case_padded(&shm, WIRE, WIRE, first, PAD);
    case_log_init(&cl);
    if (c == NULL ||
        case_log_open(&cl, path, (uid_t)-1, (gid_t)-1, err, sizeof(err)) != 0) {
        return 1;
    }
    watched_fd = cl.fd;
    for (uint64_t k = 0; k < LINES; k++) {
        c->id = first + k;
        case_log_write(&cl, c, 0, 0, &errors);
    }
    case_log_close(&cl);
    stats_shm_destroy(&shm);
    return errors == 0 ? 0 : 1;
}

/*
 * WRITERS processes append LINES lines each to one file at once. Returns
 * the number of lines that are not a whole record, or -1 when the run
 * itself failed; *seen counts the ids found whole, *dup those seen twice.
 */
static int
run_writers(const char *path, int *seen, int *dup)
{
    static unsigned char found[WRITERS * LINES];
    pid_t pids[WRITERS];
    int bad = 0;
    bool run_ok = true;

    unlink(path);
    memset(found, 0, sizeof(found));
    for (int i = 0; i < WRITERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            _exit(writer(path, 1 + (uint64_t)i * LINES));
        }
        run_ok = run_ok && pids[i] > 0;
    }
    for (int i = 0; i < WRITERS; i++) {
        int status;
        run_ok = run_ok && pids[i] > 0 && waitpid(pids[i], &status, 0) > 0 &&
                 WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    char *text = slurp(path, NULL);
    if (!run_ok || text == NULL) {
        free(text);
        return -1;
    }
    *seen = 0;
    *dup = 0;
    for (char *line = text, *nl; *line != '\0'; line = nl + 1) {
        nl = strchr(line, '\n');
        if (nl == NULL) {
            bad++;
            break;
        }
        json_t *j = json_loadb(line, (size_t)(nl - line), 0, NULL);
        json_int_t id = json_integer_value(json_object_get(j, "id"));
        if (j == NULL || id < 1 || id > WRITERS * LINES ||
            json_array_size(json_object_get(j, "wirelog")) != WIRE) {
            bad++;
        } else if (found[id - 1]++ != 0) {
            (*dup)++;
        } else {
            (*seen)++;
        }
        json_decref(j);
    }
    free(text);
    unlink(path);
    return bad;
}

static void
test_concurrent(void)
{
    char path[128];
    int seen = 0;
    int dup = 0;

    snprintf(path, sizeof(path), "%s/concurrent.log", dir);
    int bad = run_writers(path, &seen, &dup);
    is_int(bad, 0,
           "%d processes appending at once: every line is a whole "
           "record",
           WRITERS);
    is_int(seen, WRITERS * LINES, "every case has its line");
    is_int(dup, 0, "only one");

    /* Control: each line in two writes, another process let in between.
     * The same check must find torn lines (bounded: a few runs). */
    split_writes = true;
    int runs = 0;
    int torn = 0;
    while (runs < 5 && torn <= 0) {
        runs++;
        torn = run_writers(path, &seen, &dup);
    }
    split_writes = false;
    ok(torn > 0,
       "control: with each line in two writes, the check finds torn lines "
       "(%d in %d runs)",
       torn, runs);
}

int
main(void)
{
    char err[256];

    snprintf(dir, sizeof(dir), "/tmp/test_case_log.%ld", (long)getpid());
    snprintf(log_path, sizeof(log_path), "%s.log", dir);
    if (mkdir(dir, 0700) != 0 || log_open(log_path, err, sizeof(err)) != 0) {
        tap_diag("cannot set up %s: %s", dir, err);
        return 1;
    }
    test_line();
    test_errors();
    test_open_reopen_off();
    test_concurrent();
    log_open("stderr", err, sizeof(err));
    unlink(log_path);
    char path[128];
    snprintf(path, sizeof(path), "%s/cases.log", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/errors.log", dir);
    unlink(path);
    rmdir(dir);
    return tap_done();
}
