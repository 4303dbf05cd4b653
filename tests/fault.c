/* SPDX-License-Identifier: MIT */
/*
 * A fault injector for the integration tests, loaded into wsd or wsc with
 * LD_PRELOAD: it makes chosen calls of chosen functions fail, or (for the
 * send family) come back short, deterministically, so that a test can
 * show what the program does when an allocation, a send, an accept or a
 * fork fails at a given point. It is not part of wsd.
 *
 * WSD_FAULT holds rules separated by ';', each a list of key=value
 * separated by ',':
 *   func=NAME    the function: malloc, calloc, realloc, send, sendmsg,
 *                write, writev, accept, accept4, fork, SSL_new,
 *                deflateInit2_, inflateInit2_ (required)
 *   comm=PREFIX  only in processes whose name (prctl PR_GET_NAME, e.g.
 *                "wsd: worker 1") begins with PREFIX
 *   min=N max=N  only calls for at least / at most N bytes (the size
 *                allocated, or the bytes offered to a send)
 *   nth=N        the first matching call that fails (1-based; default 1)
 *   count=N      how many matching calls fail from there (default 1;
 *                0: every one)
 *   errno=NAME   the errno set (ENOMEM, EAGAIN, EPIPE, ECONNRESET,
 *                EMFILE, ENFILE, ENOBUFS, EINTR; default ENOMEM for the
 *                allocators and zlib's inits, EAGAIN otherwise)
 *   short=N      send family: instead of failing, send at most N bytes
 *   arm=PATH     the rule counts and fires only while PATH exists
 * Counts are kept per process (a forked child inherits its parent's).
 * Every fault injected appends a line naming it to the file
 * WSD_FAULT_LOG, when that is set, so that a test can see it happened.
 *
 * The allocators cannot be replaced in a program that defines its own,
 * as one built with AddressSanitizer does: the line "fault: malloc is
 * not ours" in WSD_FAULT_LOG at start says so.
 */
#include "autoconf.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <zlib.h>

#define FAULT_RULES_MAX 8
#define FAULT_TEXT_MAX  128

struct fault_rule {
    char func[32];
    char comm[32];
    char arm[FAULT_TEXT_MAX];
    size_t min;
    size_t max;
    unsigned long nth;
    unsigned long count;
    unsigned long seen; /* matching calls so far, in this process */
    int err;
    long short_bytes; /* -1: fail instead */
};

static struct fault_rule rules[FAULT_RULES_MAX];
static int n_rules;
static int in_fault; /* no rule applies to calls made while deciding */

static const struct {
    const char *name;
    int value;
} errnos[] = {
    {"ENOMEM", ENOMEM},         {"EAGAIN", EAGAIN}, {"EPIPE", EPIPE},
    {"ECONNRESET", ECONNRESET}, {"EMFILE", EMFILE}, {"ENFILE", ENFILE},
    {"ENOBUFS", ENOBUFS},       {"EINTR", EINTR},
};

static int
errno_of(const char *name)
{
    for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++) {
        if (strcmp(errnos[i].name, name) == 0) {
            return errnos[i].value;
        }
    }
    return atoi(name);
}

static bool
is_allocator(const char *func)
{
    return strcmp(func, "malloc") == 0 || strcmp(func, "calloc") == 0 ||
           strcmp(func, "realloc") == 0 || strcmp(func, "deflateInit2_") == 0 ||
           strcmp(func, "inflateInit2_") == 0 || strcmp(func, "SSL_new") == 0;
}

static void
set_field(struct fault_rule *r, const char *key, const char *val)
{
    if (strcmp(key, "func") == 0) {
        snprintf(r->func, sizeof(r->func), "%s", val);
    } else if (strcmp(key, "comm") == 0) {
        snprintf(r->comm, sizeof(r->comm), "%s", val);
    } else if (strcmp(key, "arm") == 0) {
        snprintf(r->arm, sizeof(r->arm), "%s", val);
    } else if (strcmp(key, "min") == 0) {
        r->min = strtoul(val, NULL, 10);
    } else if (strcmp(key, "max") == 0) {
        r->max = strtoul(val, NULL, 10);
    } else if (strcmp(key, "nth") == 0) {
        r->nth = strtoul(val, NULL, 10);
    } else if (strcmp(key, "count") == 0) {
        r->count = strtoul(val, NULL, 10);
    } else if (strcmp(key, "errno") == 0) {
        r->err = errno_of(val);
    } else if (strcmp(key, "short") == 0) {
        r->short_bytes = strtol(val, NULL, 10);
    }
}

static void fault_log(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
fault_log(const char *fmt, ...)
{
    const char *path = getenv("WSD_FAULT_LOG");
    char line[256];
    va_list ap;

    if (path == NULL) {
        return;
    }
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n > sizeof(line) - 2) {
        n = (int)sizeof(line) - 2;
    }
    line[n++] = '\n';
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd != -1) {
        ssize_t w = write(fd, line, (size_t)n);
        (void)w;
        close(fd);
    }
}

/* Parses WSD_FAULT once, on the first call that asks (the loader may call
 * malloc before any constructor has run). */
static void
parse_rules(void)
{
    static int parsed;
    char text[1024];

    if (parsed) {
        return;
    }
    parsed = 1;
    const char *env = getenv("WSD_FAULT");
    if (env == NULL) {
        return;
    }
    snprintf(text, sizeof(text), "%s", env);
    char *save_rule = NULL;
    for (char *rule = strtok_r(text, ";", &save_rule);
         rule != NULL && n_rules < FAULT_RULES_MAX;
         rule = strtok_r(NULL, ";", &save_rule)) {
        struct fault_rule *r = &rules[n_rules];
        memset(r, 0, sizeof(*r));
        r->max = SIZE_MAX;
        r->nth = 1;
        r->count = 1;
        r->short_bytes = -1;
        char *save_kv = NULL;
        for (char *kv = strtok_r(rule, ",", &save_kv); kv != NULL;
             kv = strtok_r(NULL, ",", &save_kv)) {
            char *eq = strchr(kv, '=');
            if (eq != NULL) {
                *eq = '\0';
                set_field(r, kv, eq + 1);
            }
        }
        if (r->err == 0) {
            r->err = is_allocator(r->func) ? ENOMEM : EAGAIN;
        }
        if (r->func[0] != '\0') {
            n_rules++;
        }
    }
}

/*
 * The rule that makes this call of func (for size bytes) fail, or NULL.
 * Keeps errno as it was.
 */
static struct fault_rule *
fault_for(const char *func, size_t size)
{
    struct fault_rule *hit = NULL;
    int saved = errno;

    if (in_fault) {
        return NULL;
    }
    in_fault = 1;
    parse_rules();
    for (int i = 0; i < n_rules && hit == NULL; i++) {
        struct fault_rule *r = &rules[i];
        char name[17] = "";
        if (strcmp(r->func, func) != 0 || size < r->min || size > r->max) {
            continue;
        }
        if (r->comm[0] != '\0' &&
            (prctl(PR_GET_NAME, name, 0, 0, 0) == -1 ||
             strncmp(name, r->comm, strlen(r->comm)) != 0)) {
            continue;
        }
        if (r->arm[0] != '\0' && access(r->arm, F_OK) == -1) {
            continue;
        }
        r->seen++;
        if (r->seen >= r->nth &&
            (r->count == 0 || r->seen < r->nth + r->count)) {
            char name_now[17] = "";
            (void)prctl(PR_GET_NAME, name_now, 0, 0, 0);
            if (r->short_bytes >= 0) {
                fault_log("fault: %s(%zu) short to %ld in %s (call %lu)", func,
                          size, r->short_bytes, name_now, r->seen);
            } else {
                fault_log("fault: %s(%zu) failed with %s in %s (call %lu)",
                          func, size, strerror(r->err), name_now, r->seen);
            }
            hit = r;
        }
    }
    in_fault = 0;
    errno = saved;
    return hit;
}

/* Sets the function pointer fp to the next definition of name: libc's,
 * zlib's or OpenSSL's (POSIX's way of storing dlsym's answer in one). */
#define NEXT(fp, name) (*(void **)(&(fp)) = dlsym(RTLD_NEXT, name))

/* The allocators. dlsym may allocate, so they call glibc's own entry
 * points, which need no lookup. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

void *
malloc(size_t size)
{
    struct fault_rule *r = fault_for("malloc", size);

    if (r != NULL) {
        errno = r->err;
        return NULL;
    }
    return __libc_malloc(size);
}

void *
calloc(size_t n, size_t size)
{
    struct fault_rule *r = fault_for(
        "calloc", size != 0 && n > SIZE_MAX / size ? SIZE_MAX : n * size);

    if (r != NULL) {
        errno = r->err;
        return NULL;
    }
    return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t size)
{
    struct fault_rule *r = fault_for("realloc", size);

    if (r != NULL) {
        errno = r->err;
        return NULL;
    }
    return __libc_realloc(p, size);
}

/* Whether malloc, as the program calls it, is this file's. */
__attribute__((constructor)) static void
fault_check_malloc(void)
{
    Dl_info info;
    void *m = dlsym(RTLD_DEFAULT, "malloc");

    /* Compared by file: within this object, malloc's address is the
     * program's one too. */
    if (m == NULL || dladdr(m, &info) == 0 || info.dli_fname == NULL ||
        strstr(info.dli_fname, "fault.so") == NULL) {
        fault_log("fault: malloc is not ours");
    }
}

static size_t
iov_total(const struct iovec *iov, int n)
{
    size_t total = 0;

    for (int i = 0; i < n; i++) {
        total += iov[i].iov_len;
    }
    return total;
}

/* iov cut to at most limit bytes, into out (of n entries); its count. */
static int
iov_cut(const struct iovec *iov, int n, size_t limit, struct iovec *out)
{
    int k = 0;

    for (int i = 0; i < n && limit > 0; i++) {
        out[k] = iov[i];
        if (out[k].iov_len > limit) {
            out[k].iov_len = limit;
        }
        limit -= out[k].iov_len;
        k++;
    }
    return k;
}

ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
    static ssize_t (*real)(int, const void *, size_t, int);
    struct fault_rule *r = fault_for("send", len);

    if (real == NULL) {
        NEXT(real, "send");
    }
    if (r != NULL && r->short_bytes >= 0 && (size_t)r->short_bytes < len) {
        return real(fd, buf, (size_t)r->short_bytes, flags);
    }
    if (r != NULL && r->short_bytes < 0) {
        errno = r->err;
        return -1;
    }
    return real(fd, buf, len, flags);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
    static ssize_t (*real)(int, const void *, size_t);
    struct fault_rule *r = fault_for("write", len);

    if (real == NULL) {
        NEXT(real, "write");
    }
    if (r != NULL && r->short_bytes >= 0 && (size_t)r->short_bytes < len) {
        return real(fd, buf, (size_t)r->short_bytes);
    }
    if (r != NULL && r->short_bytes < 0) {
        errno = r->err;
        return -1;
    }
    return real(fd, buf, len);
}

ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
    static ssize_t (*real)(int, const struct msghdr *, int);
    struct iovec cut[64];
    size_t len = iov_total(msg->msg_iov, (int)msg->msg_iovlen);
    struct fault_rule *r = fault_for("sendmsg", len);

    if (real == NULL) {
        NEXT(real, "sendmsg");
    }
    if (r != NULL && r->short_bytes >= 0 && (size_t)r->short_bytes < len &&
        msg->msg_iovlen <= 64) {
        struct msghdr m = *msg;
        m.msg_iov = cut;
        m.msg_iovlen = (size_t)iov_cut(msg->msg_iov, (int)msg->msg_iovlen,
                                       (size_t)r->short_bytes, cut);
        return real(fd, &m, flags);
    }
    if (r != NULL && r->short_bytes < 0) {
        errno = r->err;
        return -1;
    }
    return real(fd, msg, flags);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
    static ssize_t (*real)(int, const struct iovec *, int);
    struct iovec cut[64];
    size_t len = iov_total(iov, n);
    struct fault_rule *r = fault_for("writev", len);

    if (real == NULL) {
        NEXT(real, "writev");
    }
    if (r != NULL && r->short_bytes >= 0 && (size_t)r->short_bytes < len &&
        n <= 64) {
        return real(fd, cut, iov_cut(iov, n, (size_t)r->short_bytes, cut));
    }
    if (r != NULL && r->short_bytes < 0) {
        errno = r->err;
        return -1;
    }
    return real(fd, iov, n);
}

int
accept4(int fd, __SOCKADDR_ARG addr, socklen_t *len, int flags)
{
    static int (*real)(int, __SOCKADDR_ARG, socklen_t *, int);
    struct fault_rule *r = fault_for("accept4", 0);

    if (real == NULL) {
        NEXT(real, "accept4");
    }
    if (r != NULL) {
        errno = r->err;
        return -1;
    }
    return real(fd, addr, len, flags);
}

int
accept(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
    static int (*real)(int, __SOCKADDR_ARG, socklen_t *);
    struct fault_rule *r = fault_for("accept", 0);

    if (real == NULL) {
        NEXT(real, "accept");
    }
    if (r != NULL) {
        errno = r->err;
        return -1;
    }
    return real(fd, addr, len);
}

pid_t
fork(void)
{
    static pid_t (*real)(void);
    struct fault_rule *r = fault_for("fork", 0);

    if (real == NULL) {
        NEXT(real, "fork");
    }
    if (r != NULL) {
        errno = r->err == ENOMEM ? ENOMEM : EAGAIN;
        return -1;
    }
    return real();
}

/* zlib's initialisers (deflateInit2 and inflateInit2 are macros for
 * these): Z_MEM_ERROR, as zlib returns when its allocation fails. */
int
deflateInit2_(z_streamp z, int level, int method, int bits, int mem_level,
              int strategy, const char *version, int size)
{
    static int (*real)(z_streamp, int, int, int, int, int, const char *, int);

    if (fault_for("deflateInit2_", 0) != NULL) {
        return Z_MEM_ERROR;
    }
    if (real == NULL) {
        NEXT(real, "deflateInit2_");
    }
    return real(z, level, method, bits, mem_level, strategy, version, size);
}

int
inflateInit2_(z_streamp z, int bits, const char *version, int size)
{
    static int (*real)(z_streamp, int, const char *, int);

    if (fault_for("inflateInit2_", 0) != NULL) {
        return Z_MEM_ERROR;
    }
    if (real == NULL) {
        NEXT(real, "inflateInit2_");
    }
    return real(z, bits, version, size);
}

/* OpenSSL's per-connection object: NULL, as when it cannot allocate. */
SSL *
SSL_new(SSL_CTX *ctx)
{
    static SSL *(*real)(SSL_CTX *);

    if (fault_for("SSL_new", 0) != NULL) {
        return NULL;
    }
    if (real == NULL) {
        NEXT(real, "SSL_new");
    }
    return real(ctx);
}
