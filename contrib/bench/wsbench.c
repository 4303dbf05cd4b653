/* SPDX-License-Identifier: MIT */
/*
 * wsbench: the WebSocket load generator behind `make bench`
 * (contrib/bench/run). A benchmark tool, not a test: it measures and
 * prints, and judges nothing but the echoed bytes, which it compares with
 * what it sent, byte for byte, counting every difference as an error.
 *
 * One thread and epoll over N client connections to one echo server:
 *
 *   pingpong  each connection sends its next message when the echo of the
 *             last one has arrived;
 *   pipeline  each keeps --depth messages in flight;
 *   idle      opens the connections, holds them and sends nothing.
 *
 * For scale runs (contrib/bench/scale) connections can come from many
 * loopback source addresses (--source-addresses: 127.0.0.0/8, so the
 * ports of one address are no limit), open at a given rate (--rate), and
 * an idle run can report as soon as its connections are open and then
 * hold them (--hold), printing how many are still open whenever that
 * changes, until the server has closed them all or wsbench gets SIGTERM.
 * Idle runs also report the establishment curve: handshakes and server
 * CPU per second.
 *
 * With --tls it speaks TLS (1.3, OpenSSL) to a wss:// endpoint: a full
 * handshake per connection, no resumption, and no certificate check (a
 * load generator against a loopback server with a throwaway
 * certificate, never a client to trust). What it sends goes out through
 * a per-connection staging buffer of up to 64 KiB per SSL_write, so a
 * message of up to 16 KiB and its header cost one or two records, as
 * from any client that writes a frame at once.
 *
 * With --deflate it offers permessage-deflate (RFC 7692) as a browser
 * does, with context takeover both ways, and really compresses what it
 * sends and inflates what it receives with zlib, so that both of the
 * server's zlib streams work. With --server-pid / --server-tree it reads
 * the server's CPU time (utime + stime, /proc/PID/stat) at the start and
 * end of the measured window, and its VmRSS and Pss (/proc/PID/status,
 * smaps_rollup) around the opening of idle connections.
 *
 * It prints one line for people and one JSON object on a line of its own
 * for contrib/bench/run. Exit status: 0 when every echo matched and no
 * connection failed, 1 otherwise, 2 on bad usage.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <zlib.h>

#define BENCH_MAX_PIDS        64
#define BENCH_RBUF_BYTES      (256 * 1024)
#define BENCH_ZOUT_BYTES      (64 * 1024)
#define BENCH_HS_BYTES        4096
#define BENCH_IOV_MAX         64
#define BENCH_POOL_SPREAD     65536 /* message starts vary over this span */
#define BENCH_CONNECT_TIMEOUT 60.0  /* seconds for every connection to open,
                                     * plus the time --rate or 1,000 per
                                     * second takes to start them */
#define BENCH_TLS_RATE        100.0 /* --tls: the same with a full handshake
                                     * each, on a shared CPU */
#define BENCH_EST_MAX         86400 /* per-second establishment samples */
#define BENCH_HOLD_PRINT_S    0.05  /* --hold: at most one count per 50 ms */
#define BENCH_CLOSE_TIMEOUT   3.0 /* seconds for close handshakes at the end */
#define BENCH_TLS_STAGE       (64 * 1024) /* --tls: bytes per SSL_write */
#define BENCH_READS_TLS       64 /* --tls: SSL_reads per readiness (records
                                  * of up to 16 KiB each) */

/* RFC 6455 §1.3's example key, and the accept value it implies. */
#define BENCH_KEY    "dGhlIHNhbXBsZSBub25jZQ=="
#define BENCH_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* RFC 6455 §5.3: any key will do for a benchmark as long as it is not 0,
 * so that the server's unmasking really changes bytes. */
static const uint8_t bench_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

enum bench_mode {
    MODE_PINGPONG,
    MODE_PIPELINE,
    MODE_IDLE,
};

enum bench_phase {
    PHASE_CONNECT, /* opening connections (idle: the warm one first) */
    PHASE_SETTLE,  /* idle: waiting before a memory reading */
    PHASE_WARMUP,  /* traffic flows, nothing is counted */
    PHASE_MEASURE, /* traffic flows and is counted */
    PHASE_HOLD,    /* idle: holding the connections */
    PHASE_CLOSE,   /* close handshakes */
};

struct bench_opts {
    const char *host;
    unsigned port;
    const char *path;
    const char *label;
    unsigned n_conns;
    size_t msg_bytes;
    enum bench_mode mode;
    unsigned depth;    /* messages in flight per connection */
    double duration_s; /* the measured window */
    double warmup_s;   /* traffic before the window */
    bool deflate;      /* offer permessage-deflate */
    const char *offer; /* the Sec-WebSocket-Extensions value offered */
    int deflate_level; /* zlib level of what we send */
    bool text;         /* text messages instead of binary */
    unsigned connect_parallel;
    unsigned source_addrs; /* 0: let the kernel pick 127.0.0.1 */
    double rate;           /* connections started per second, 0: no limit */
    double connect_timeout_s; /* 0: BENCH_CONNECT_TIMEOUT and the rate's */
    bool hold;             /* idle: report early, hold until closed */
    bool tls;              /* wss: TLS 1.3 over each connection */
    pid_t pids[BENCH_MAX_PIDS]; /* processes measured as they are */
    unsigned n_pids;
    pid_t trees[BENCH_MAX_PIDS]; /* processes measured with descendants */
    unsigned n_trees;
};

/* One message sent and not yet echoed. */
struct bench_slot {
    uint8_t hdr[14];
    size_t hdr_bytes;
    const uint8_t *body; /* masked payload on the wire */
    size_t body_bytes;
    size_t off; /* the plain payload: pool.plain + off */
    uint64_t sent_ns;
    uint8_t *zbuf; /* --deflate: this slot's compressed body */
    size_t zbuf_cap;
};

enum bench_conn_state {
    CONN_IDLE,       /* not yet connecting */
    CONN_CONNECTING, /* connect(2) in progress */
    CONN_TLS,        /* --tls: the TLS handshake in progress */
    CONN_HANDSHAKE,  /* request sent, reading the response */
    CONN_OPEN,
    CONN_CLOSING, /* our close frame is queued or sent */
    CONN_DONE,    /* socket closed */
};

struct bench_conn {
    int fd;
    enum bench_conn_state state;
    bool want_out; /* EPOLLOUT is registered */
    char *hs;      /* the response head while in CONN_HANDSHAKE */
    size_t hs_len;
    size_t req_off; /* handshake request bytes sent */
    SSL *ssl;       /* --tls, from the TCP connect on */
    uint8_t *stage; /* --tls: what the last SSL_write took (made on first */
    size_t stage_len; /* use); non-zero while that write must be repeated */
    /* permessage-deflate as granted */
    bool pmd;
    bool client_no_takeover; /* reset our compressor after each message */
    int client_bits;         /* the window we may compress with */
    z_stream *def;           /* made on first use: idle connections */
    z_stream *inf;           /* hold none */
    bool r_zend;             /* the echo ended its deflate stream */
    /* messages in flight: slots [head, head + n_out) in a ring of depth;
     * the first n_sent of them are fully written, and wr_off bytes of the
     * next one */
    struct bench_slot *slots;
    unsigned head;
    unsigned n_out;
    unsigned n_sent;
    size_t wr_off;
    uint8_t ctl[2 + 4 + 125]; /* a control frame to send (pong, close) */
    size_t ctl_len;
    size_t ctl_off;
    /* receiving: the frame header being read, then its payload */
    uint8_t rh[14];
    size_t rh_len;
    uint64_t r_left; /* payload bytes left in the current frame */
    uint8_t r_op;    /* opcode of the current frame */
    bool r_fin;
    bool r_in_msg;     /* inside a data message */
    bool r_compressed; /* the current message has RSV1 */
    bool r_bad;        /* the current message differs from ours */
    size_t r_got;      /* its (inflated) payload bytes so far */
    uint8_t r_ctl[125];
    size_t r_ctl_len;
    bool server_closed; /* the server's close came first: we answered it */
};

/* A log-linear histogram of round trips in nanoseconds: 128 buckets per
 * power of two, so a percentile is within 1% of the true value. */
#define HIST_SUB_BITS 7
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_BUCKETS  ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct bench_hist {
    uint64_t n[HIST_BUCKETS];
    uint64_t count;
};

struct bench_mem {
    uint64_t rss_kib;
    uint64_t pss_kib;
};

struct bench {
    struct bench_opts o;
    int ep;
    struct sockaddr_in addr;
    SSL_CTX *tls; /* --tls */
    unsigned tls_errors_printed;
    struct bench_conn *conns;
    unsigned n_conns; /* o.n_conns, plus the warm one when idle */
    enum bench_phase phase;
    double phase_end;      /* seconds on the monotonic clock */
    unsigned next_connect; /* the next connection to start */
    unsigned n_connecting; /* connect or handshake in progress */
    unsigned n_open;
    unsigned n_failed;       /* connections lost or refused */
    unsigned n_server_clean; /* server's close answered, then its FIN */
    unsigned connect_target; /* connections to open in this phase */
    bool sending;            /* echoes trigger new messages */
    uint64_t seq;            /* messages sent, for payload offsets */
    uint64_t msgs;           /* echoes verified in the window */
    uint64_t mismatches;     /* echoes that differ from what was sent */
    uint64_t protocol_errors;
    struct bench_hist hist;
    uint8_t *plain;  /* payload pool */
    uint8_t *masked; /* the same, masked with bench_mask */
    size_t pool_bytes;
    uint8_t *rbuf;
    uint8_t *zout;        /* inflate output, compared then dropped */
    char extensions[256]; /* the first response's extension header */
    pid_t measured[1024]; /* the processes whose CPU and memory count */
    unsigned n_measured;
    uint64_t cpu_ticks_start;
    double t_start;
    double t_end;
    struct rusage ru_start;
    struct rusage ru_end;
    uint64_t cpu_ticks_end;
    struct bench_mem mem_base;
    struct bench_mem mem_after;
    unsigned mem_conns; /* connections opened between the readings */
    uint64_t rss_end_kib;
    /* --rate: connections started since rate_t0 */
    double rate_t0;
    unsigned rate_started;
    /* establishment: cumulative open connections and server CPU ticks at
     * each whole second after est_t0, and the end of the storm */
    double est_t0;
    double est_end;
    unsigned est_n;
    unsigned est_open0;
    uint64_t est_cpu0;
    unsigned *est_open;
    uint64_t *est_cpu;
    /* --hold */
    bool hold_reported;
    uint64_t errors_reported;
    unsigned hold_printed; /* the count last printed */
    double hold_print_t;
};

static volatile sig_atomic_t bench_stop; /* SIGTERM or SIGINT arrived */

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what)
{
    fprintf(stderr, "wsbench: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL) {
        die("calloc");
    }
    return p;
}

/* Histogram ------------------------------------------------------------- */

static unsigned
hist_index(uint64_t v)
{
    if (v < HIST_SUB) {
        return (unsigned)v;
    }
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= HIST_SUB_BITS */
    unsigned sub = (unsigned)(v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1);
    return (e - HIST_SUB_BITS + 1) * HIST_SUB + sub;
}

/* The smallest value of bucket i. */
static uint64_t
hist_value(unsigned i)
{
    if (i < HIST_SUB) {
        return i;
    }
    unsigned e = i / HIST_SUB + HIST_SUB_BITS - 1;
    uint64_t sub = i % HIST_SUB;
    return (((uint64_t)1 << HIST_SUB_BITS) | sub) << (e - HIST_SUB_BITS);
}

static void
hist_add(struct bench_hist *h, uint64_t v)
{
    h->n[hist_index(v)]++;
    h->count++;
}

/* The q-quantile (0 < q < 1) in microseconds, or -1 without samples. */
static double
hist_quantile_us(const struct bench_hist *h, double q)
{
    if (h->count == 0) {
        return -1;
    }
    uint64_t rank = (uint64_t)((double)h->count * q);
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->n[i];
        if (seen > rank) {
            return (double)hist_value(i) / 1000.0;
        }
    }
    return -1;
}

/* The server's processes, from /proc ------------------------------------- */

/* Fields of /proc/PID/stat after the command name, which may hold spaces:
 * index 0 is field 3 (state). Returns false if the process is gone. */
static bool
proc_stat_fields(pid_t pid, unsigned long long *ppid, unsigned long long *utime,
                 unsigned long long *stime)
{
    char path[64];
    char buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL) {
        return false;
    }
    unsigned long long v[13] = {0};
    char *save = NULL;
    char *tok = strtok_r(p + 1, " ", &save);
    for (unsigned i = 0; tok != NULL && i < 13; i++) {
        v[i] = strtoull(tok, NULL, 10);
        tok = strtok_r(NULL, " ", &save);
    }
    /* index 1: ppid (field 4); 11: utime (14); 12: stime (15) */
    *ppid = v[1];
    *utime = v[11];
    *stime = v[12];
    return true;
}

static void
measured_add(struct bench *b, pid_t pid)
{
    for (unsigned i = 0; i < b->n_measured; i++) {
        if (b->measured[i] == pid) {
            return;
        }
    }
    if (b->n_measured < sizeof(b->measured) / sizeof(b->measured[0])) {
        b->measured[b->n_measured++] = pid;
    }
}

/* Every descendant of root, found by walking /proc for parents until no
 * new process turns up (a tree is shallow: wsd's is two levels). */
static void
measured_add_tree(struct bench *b, pid_t root)
{
    bool grew = true;
    measured_add(b, root);
    while (grew) {
        grew = false;
        DIR *d = opendir("/proc");
        if (d == NULL) {
            die("opendir /proc");
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!isdigit((unsigned char)de->d_name[0])) {
                continue;
            }
            pid_t pid = (pid_t)atoi(de->d_name);
            unsigned long long ppid, ut, st;
            if (!proc_stat_fields(pid, &ppid, &ut, &st)) {
                continue;
            }
            bool parent_in = false;
            bool self_in = false;
            for (unsigned i = 0; i < b->n_measured; i++) {
                parent_in |= b->measured[i] == (pid_t)ppid;
                self_in |= b->measured[i] == pid;
            }
            if (parent_in && !self_in) {
                measured_add(b, pid);
                grew = true;
            }
        }
        closedir(d);
    }
}

/* utime + stime of every measured process, in clock ticks. */
static uint64_t
server_cpu_ticks(const struct bench *b)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < b->n_measured; i++) {
        unsigned long long ppid, ut, st;
        if (proc_stat_fields(b->measured[i], &ppid, &ut, &st)) {
            sum += ut + st;
        }
    }
    return sum;
}

/* The value in kB of the line starting with key in a /proc file. */
static uint64_t
proc_kib(pid_t pid, const char *file, const char *key)
{
    char path[64];
    char line[256];
    size_t klen = strlen(key);
    uint64_t v = 0;
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, klen) == 0) {
            v = strtoull(line + klen, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static struct bench_mem
server_mem(const struct bench *b)
{
    struct bench_mem m = {0, 0};
    for (unsigned i = 0; i < b->n_measured; i++) {
        m.rss_kib += proc_kib(b->measured[i], "status", "VmRSS:");
        m.pss_kib += proc_kib(b->measured[i], "smaps_rollup", "Pss:");
    }
    return m;
}

/* Payloads --------------------------------------------------------------- */

/* Text that compresses about as well as chat or JSON does (3:1 or so at
 * zlib level 1), from a fixed seed so that every run sends the same. */
static void
pool_init(struct bench *b)
{
    static const char *const words[] = {
        "the",    "of",    "message", "server",    "client", "frame",  "socket",
        "event",  "value", "\"id\":", "\"type\":", "true",   "false",  "null",
        "update", "user",  "channel", "price",     "time",   "status", "ok",
        "error",  "data",  "stream",  "window",    "buffer", "count",  "state",
        "open",   "close", "ping",    "pong",
    };
    uint64_t x = 0x9e3779b97f4a7c15u;
    size_t n = b->o.msg_bytes + BENCH_POOL_SPREAD + 8;

    b->pool_bytes = n;
    b->plain = xcalloc(n, 1);
    b->masked = xcalloc(n, 1);
    for (size_t i = 0; i < n;) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const char *w = words[x % (sizeof(words) / sizeof(words[0]))];
        for (const char *p = w; *p != '\0' && i < n; p++) {
            b->plain[i++] = (uint8_t)*p;
        }
        if (i < n) {
            /* a digit now and then: numbers are what compresses worst */
            b->plain[i++] = (x >> 32) % 5 == 0 ? (uint8_t)('0' + (x >> 40) % 10)
                                               : (uint8_t)' ';
        }
    }
    /* Message starts are multiples of 4, so one masked copy serves all. */
    for (size_t i = 0; i < n; i++) {
        b->masked[i] = (uint8_t)(b->plain[i] ^ bench_mask[i % 4]);
    }
}

static size_t
pool_next_off(struct bench *b)
{
    uint64_t k = (b->seq++ * 4099u) % (BENCH_POOL_SPREAD / 4);
    return (size_t)k * 4;
}

/* Frames we send --------------------------------------------------------- */

static size_t
frame_header(uint8_t *h, unsigned first_byte, uint64_t len)
{
    size_t n = 2;
    h[0] = (uint8_t)first_byte;
    if (len < 126) {
        h[1] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        h[1] = 0x80 | 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        n = 4;
    } else {
        h[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++) {
            h[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        }
        n = 10;
    }
    memcpy(h + n, bench_mask, 4);
    return n + 4;
}

/* The transport: plain TCP, or TLS over it with --tls ------------------- */

/* What an SSL call that returned r <= 0 means, as read(2) and write(2)
 * would say it: 0 the peer closed, -1 with errno EAGAIN (try again on
 * readiness; *wants_out tells whether that is writability) or EPROTO. */
static ssize_t
tls_result(struct bench *b, struct bench_conn *c, int r, bool *wants_out)
{
    int e = SSL_get_error(c->ssl, r);

    switch (e) {
    case SSL_ERROR_WANT_READ:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        *wants_out = true;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        if (errno == 0) {
            return 0;
        }
        return -1;
    default:
        if (b->tls_errors_printed++ < 5) {
            unsigned long code = ERR_peek_last_error();
            char text[256];
            ERR_error_string_n(code, text, sizeof(text));
            fprintf(stderr, "wsbench: connection %u: TLS: %s\n",
                    (unsigned)(c - b->conns), text);
        }
        ERR_clear_error();
        errno = EPROTO;
        return -1;
    }
}

/* Reads up to cap bytes: > 0 read, 0 the peer closed, -1 and errno. */
static ssize_t
conn_recv(struct bench *b, struct bench_conn *c, void *buf, size_t cap)
{
    if (c->ssl == NULL) {
        return read(c->fd, buf, cap);
    }
    size_t n = 0;
    bool wants_out = false;
    ERR_clear_error();
    errno = 0;
    int r = SSL_read_ex(c->ssl, buf, cap, &n);
    return r == 1 ? (ssize_t)n : tls_result(b, c, r, &wants_out);
}

/* Writes len bytes of p as one SSL_write: all of them or, on -1 with
 * EAGAIN, none, and the call must then be repeated with the same bytes
 * (which the caller keeps); *wants_out says whether writability is what
 * is awaited. Plain TCP takes what the socket takes. */
static ssize_t
conn_send(struct bench *b, struct bench_conn *c, const void *p, size_t len,
          bool *wants_out)
{
    if (c->ssl == NULL) {
        ssize_t w = write(c->fd, p, len);
        *wants_out = w == -1 && errno == EAGAIN;
        return w;
    }
    size_t w = 0;
    ERR_clear_error();
    errno = 0;
    int r = SSL_write_ex(c->ssl, p, len, &w);
    return r == 1 ? (ssize_t)w : tls_result(b, c, r, wants_out);
}

static void
conn_want_out(struct bench *b, struct bench_conn *c, bool want)
{
    if (c->want_out == want || c->state == CONN_DONE) {
        return;
    }
    struct epoll_event ev = {
        .events = EPOLLIN | (want ? (uint32_t)EPOLLOUT : 0u),
        .data.ptr = c,
    };
    if (epoll_ctl(b->ep, EPOLL_CTL_MOD, c->fd, &ev) == -1) {
        die("epoll_ctl");
    }
    c->want_out = want;
}

static z_stream *
zlib_new(bool compress, int level, int bits)
{
    z_stream *z = xcalloc(1, sizeof(*z));
    int rc = compress ? deflateInit2(z, level, Z_DEFLATED, -bits, 8,
                                     Z_DEFAULT_STRATEGY)
                      : inflateInit2(z, -bits);
    if (rc != Z_OK) {
        fprintf(stderr, "wsbench: zlib init failed (%d)\n", rc);
        exit(2);
    }
    return z;
}

/* Compresses the slot's payload into its own buffer (RFC 7692 §7.2.1:
 * a sync flush, without its final 00 00 ff ff), masked. */
static void
slot_deflate(struct bench *b, struct bench_conn *c, struct bench_slot *s)
{
    if (c->def == NULL) {
        c->def = zlib_new(true, b->o.deflate_level, c->client_bits);
    }
    size_t need = deflateBound(c->def, (uLong)b->o.msg_bytes) + 64;
    if (s->zbuf_cap < need) {
        free(s->zbuf);
        s->zbuf = xcalloc(need, 1);
        s->zbuf_cap = need;
    }
    c->def->next_in = b->plain + s->off;
    c->def->avail_in = (uInt)b->o.msg_bytes;
    c->def->next_out = s->zbuf;
    c->def->avail_out = (uInt)s->zbuf_cap;
    int rc = deflate(c->def, Z_SYNC_FLUSH);
    if (rc != Z_OK || c->def->avail_in != 0 || c->def->avail_out == 0) {
        fprintf(stderr, "wsbench: deflate failed (%d)\n", rc);
        exit(2);
    }
    size_t n = s->zbuf_cap - c->def->avail_out - 4;
    if (c->client_no_takeover) {
        deflateReset(c->def);
    }
    for (size_t i = 0; i < n; i++) {
        s->zbuf[i] ^= bench_mask[i % 4];
    }
    s->body = s->zbuf;
    s->body_bytes = n;
}

/* Queues the next message of c. */
static void
conn_queue_message(struct bench *b, struct bench_conn *c)
{
    struct bench_slot *s = &c->slots[(c->head + c->n_out) % b->o.depth];
    unsigned op = b->o.text ? 0x1 : 0x2;
    unsigned rsv1 = 0;

    s->off = pool_next_off(b);
    if (c->pmd) {
        slot_deflate(b, c, s);
        rsv1 = 0x40;
    } else {
        s->body = b->masked + s->off;
        s->body_bytes = b->o.msg_bytes;
    }
    s->hdr_bytes = frame_header(s->hdr, 0x80 | rsv1 | op, s->body_bytes);
    s->sent_ns = now_ns();
    c->n_out++;
}

static void
conn_queue_control(struct bench_conn *c, unsigned op, const uint8_t *p,
                   size_t len)
{
    if (c->ctl_len > c->ctl_off) {
        return; /* one at a time is plenty for a benchmark's peers */
    }
    size_t h = frame_header(c->ctl, 0x80 | op, len);
    for (size_t i = 0; i < len; i++) {
        c->ctl[h + i] = (uint8_t)(p[i] ^ bench_mask[i % 4]);
    }
    c->ctl_len = h + len;
    c->ctl_off = 0;
}

static void conn_fail(struct bench *b, struct bench_conn *c, const char *why);
static void conn_note_failure(struct bench *b, const struct bench_conn *c,
                              const char *why);

/* --tls: copies the first BENCH_TLS_STAGE bytes of iov into c's stage,
 * which conn_write then sends as one SSL_write; returns the bytes taken. */
static size_t
conn_stage(struct bench_conn *c, const struct iovec *iov, int n)
{
    size_t len = 0;

    if (c->stage == NULL) {
        c->stage = xcalloc(1, BENCH_TLS_STAGE);
    }
    for (int i = 0; i < n && len < BENCH_TLS_STAGE; i++) {
        size_t k = iov[i].iov_len;
        if (k > BENCH_TLS_STAGE - len) {
            k = BENCH_TLS_STAGE - len;
        }
        memcpy(c->stage + len, iov[i].iov_base, k);
        len += k;
    }
    c->stage_len = len;
    return len;
}

/* Writes what c has queued: a control frame between messages, then the
 * messages not yet written, as many as the socket takes in one writev
 * (--tls: in SSL_writes of up to BENCH_TLS_STAGE bytes). */
static void
conn_write(struct bench *b, struct bench_conn *c)
{
    for (;;) {
        if (c->stage_len > 0) {
            bool wants_out = false;
            ssize_t w = conn_send(b, c, c->stage, c->stage_len, &wants_out);
            if (w == -1 && errno == EAGAIN) {
                conn_want_out(b, c, wants_out);
                return;
            }
            if (w <= 0) {
                conn_fail(b, c, "write");
                return;
            }
            c->stage_len = 0;
        }
        struct iovec iov[BENCH_IOV_MAX];
        int n = 0;
        size_t skip = c->wr_off;
        bool ctl_first = c->ctl_len > c->ctl_off && c->wr_off == 0;

        if (ctl_first) {
            iov[n].iov_base = c->ctl + c->ctl_off;
            iov[n++].iov_len = c->ctl_len - c->ctl_off;
        }
        for (unsigned i = c->n_sent; i < c->n_out && n + 2 <= BENCH_IOV_MAX;
             i++) {
            struct bench_slot *s = &c->slots[(c->head + i) % b->o.depth];
            if (skip < s->hdr_bytes) {
                iov[n].iov_base = s->hdr + skip;
                iov[n++].iov_len = s->hdr_bytes - skip;
                skip = 0;
            } else {
                skip -= s->hdr_bytes;
            }
            iov[n].iov_base = (void *)(uintptr_t)(s->body + skip);
            iov[n++].iov_len = s->body_bytes - skip;
            skip = 0;
        }
        if (n == 0) {
            conn_want_out(b, c, false);
            return;
        }
        ssize_t w = c->ssl != NULL ? (ssize_t)conn_stage(c, iov, n)
                                   : writev(c->fd, iov, n);
        if (w == -1) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                conn_want_out(b, c, true);
                return;
            }
            conn_fail(b, c, "write");
            return;
        }
        size_t left = (size_t)w;
        if (ctl_first) {
            size_t k = c->ctl_len - c->ctl_off;
            k = k < left ? k : left;
            c->ctl_off += k;
            left -= k;
        }
        while (left > 0) {
            struct bench_slot *s =
                &c->slots[(c->head + c->n_sent) % b->o.depth];
            size_t rest = s->hdr_bytes + s->body_bytes - c->wr_off;
            if (left < rest) {
                c->wr_off += left;
                left = 0;
            } else {
                left -= rest;
                c->wr_off = 0;
                c->n_sent++;
            }
        }
    }
}

/* Connections ------------------------------------------------------------ */

static void
conn_drop(struct bench *b, struct bench_conn *c)
{
    if (c->state == CONN_DONE || c->state == CONN_IDLE) {
        return;
    }
    if (c->state == CONN_CONNECTING || c->state == CONN_TLS ||
        c->state == CONN_HANDSHAKE) {
        b->n_connecting--;
    } else {
        b->n_open--;
    }
    if (c->ssl != NULL) {
        if (c->state == CONN_OPEN || c->state == CONN_CLOSING) {
            SSL_shutdown(c->ssl); /* our close_notify, if the socket takes
                                   * it; the TCP close follows anyway */
        }
        SSL_free(c->ssl);
        c->ssl = NULL;
        ERR_clear_error();
    }
    free(c->stage);
    c->stage = NULL;
    c->stage_len = 0;
    epoll_ctl(b->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->state = CONN_DONE;
    free(c->hs);
    c->hs = NULL;
}

static void
conn_note_failure(struct bench *b, const struct bench_conn *c,
                  const char *why)
{
    if (b->phase != PHASE_CLOSE) {
        b->n_failed++;
        if (b->n_failed <= 5) {
            fprintf(stderr, "wsbench: connection %u: %s%s%s\n",
                    (unsigned)(c - b->conns), why, errno != 0 ? ": " : "",
                    errno != 0 ? strerror(errno) : "");
        }
    }
}

static void
conn_fail(struct bench *b, struct bench_conn *c, const char *why)
{
    conn_note_failure(b, c, why);
    conn_drop(b, c);
}

static void
conn_start(struct bench *b, struct bench_conn *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd == -1) {
        die("socket");
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (b->o.source_addrs > 0) {
        /* 127.0.0.0/8 is all loopback: source k is 127.a.b.c counted
         * from 127.0.1.1 with c in 1..250, and each address has its own
         * ephemeral ports, which the kernel picks at connect time. */
        unsigned k = (unsigned)(c - b->conns) % b->o.source_addrs;
        uint32_t host = 0x7f000000u | (((k / 250u) + 1u) << 8) | (k % 250u + 1u);
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(host);
#ifdef IP_BIND_ADDRESS_NO_PORT
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#endif
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
            c->fd = fd;
            c->state = CONN_CONNECTING;
            b->n_connecting++;
            conn_fail(b, c, "bind");
            return;
        }
    }
    c->fd = fd;
    c->state = CONN_CONNECTING;
    c->want_out = true;
    b->n_connecting++;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(b->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
        die("epoll_ctl");
    }
    if (connect(fd, (struct sockaddr *)&b->addr, sizeof(b->addr)) == -1 &&
        errno != EINPROGRESS) {
        conn_fail(b, c, "connect");
    }
}

static size_t
handshake_request(const struct bench *b, char *buf, size_t cap)
{
    int n =
        snprintf(buf, cap,
                 "GET %s HTTP/1.1\r\n"
                 "Host: %s:%u\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Key: " BENCH_KEY "\r\n"
                 "Sec-WebSocket-Version: 13\r\n"
                 "%s%s%s"
                 "\r\n",
                 b->o.path, b->o.host, b->o.port,
                 b->o.deflate ? "Sec-WebSocket-Extensions: " : "",
                 b->o.deflate ? b->o.offer : "", b->o.deflate ? "\r\n" : "");
    return n > 0 ? (size_t)n : 0;
}

/* The value of header name in the response head, copied into out. */
static bool
header_value(const char *head, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p != NULL;
         p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ' || *v == '\t') {
                v++;
            }
            const char *end = strstr(v, "\r\n");
            size_t len = end != NULL ? (size_t)(end - v) : strlen(v);
            if (len >= cap) {
                len = cap - 1;
            }
            memcpy(out, v, len);
            out[len] = '\0';
            return true;
        }
    }
    return false;
}

/* Reads the permessage-deflate parameters the server granted (RFC 7692
 * §7.1) and makes the zlib streams that follow from them. */
static bool
conn_setup_deflate(struct bench_conn *c, const char *ext)
{
    int client_bits = 15;
    const char *p = strstr(ext, "permessage-deflate");

    if (p == NULL) {
        return true; /* declined: plain messages */
    }
    if (strstr(p, "client_no_context_takeover") != NULL) {
        c->client_no_takeover = true;
    }
    const char *cb = strstr(p, "client_max_window_bits=");
    if (cb != NULL) {
        client_bits = atoi(cb + strlen("client_max_window_bits="));
    }
    if (client_bits < 9) {
        client_bits = 9; /* zlib cannot deflate with 8; 9 fits in 8's window
                            only for inflaters that ignore the difference */
    }
    c->pmd = true;
    c->client_bits = client_bits;
    return true;
}

static void conn_feed(struct bench *b, struct bench_conn *c, const uint8_t *p,
                      size_t n);

static void conn_kick(struct bench *b, struct bench_conn *c);

/* The response head is complete: check it, and pass what follows it to
 * the frame reader. */
static void
conn_handshake_done(struct bench *b, struct bench_conn *c, size_t head_len)
{
    char accept[64];
    char ext[256] = "";

    c->hs[head_len - 2] = '\0'; /* keep the last header's \r\n */
    if (strncmp(c->hs, "HTTP/1.1 101", 12) != 0) {
        char *eol = strstr(c->hs, "\r\n");
        if (eol != NULL) {
            *eol = '\0';
        }
        errno = 0;
        fprintf(stderr, "wsbench: handshake refused: %s\n", c->hs);
        conn_fail(b, c, "handshake refused");
        return;
    }
    if (!header_value(c->hs, "Sec-WebSocket-Accept", accept, sizeof(accept)) ||
        strcmp(accept, BENCH_ACCEPT) != 0) {
        errno = 0;
        conn_fail(b, c, "wrong Sec-WebSocket-Accept");
        return;
    }
    header_value(c->hs, "Sec-WebSocket-Extensions", ext, sizeof(ext));
    if (b->extensions[0] == '\0' && ext[0] != '\0') {
        snprintf(b->extensions, sizeof(b->extensions), "%s", ext);
    }
    if (b->o.deflate && !conn_setup_deflate(c, ext)) {
        exit(2);
    }
    size_t rest = c->hs_len - head_len;
    uint8_t after[BENCH_HS_BYTES];
    memcpy(after, c->hs + head_len, rest);
    free(c->hs);
    c->hs = NULL;
    c->state = CONN_OPEN;
    b->n_connecting--;
    b->n_open++;
    if (b->phase == PHASE_WARMUP || b->phase == PHASE_MEASURE) {
        conn_kick(b, c);
    }
    if (rest > 0) {
        conn_feed(b, c, after, rest);
    }
}

static void
conn_read_handshake(struct bench *b, struct bench_conn *c)
{
    if (c->hs == NULL) {
        c->hs = xcalloc(1, BENCH_HS_BYTES + 1);
    }
    for (;;) {
        ssize_t n =
            conn_recv(b, c, c->hs + c->hs_len, BENCH_HS_BYTES - c->hs_len);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1 && errno == EAGAIN) {
            return;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = 0;
            }
            conn_fail(b, c, "handshake: connection closed");
            return;
        }
        c->hs_len += (size_t)n;
        c->hs[c->hs_len] = '\0';
        char *end = strstr(c->hs, "\r\n\r\n");
        if (end != NULL) {
            conn_handshake_done(b, c, (size_t)(end - c->hs) + 4);
            return;
        }
        if (c->hs_len == BENCH_HS_BYTES) {
            errno = 0;
            conn_fail(b, c, "handshake response too large");
            return;
        }
    }
}

static void
conn_send_request(struct bench *b, struct bench_conn *c)
{
    char req[512];
    size_t len = handshake_request(b, req, sizeof(req));

    while (c->req_off < len) {
        bool wants_out = false;
        ssize_t n = conn_send(b, c, req + c->req_off, len - c->req_off,
                              &wants_out);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1 && errno == EAGAIN) {
            conn_want_out(b, c, wants_out);
            return;
        }
        if (n == -1) {
            conn_fail(b, c, "write request");
            return;
        }
        c->req_off += (size_t)n;
    }
    c->state = CONN_HANDSHAKE;
    conn_want_out(b, c, false);
}

/* Frames we receive ------------------------------------------------------ */

/* Compares the next n bytes of the message being received with what was
 * sent in the oldest slot. */
static void
conn_check(struct bench *b, struct bench_conn *c, const uint8_t *p, size_t n)
{
    const struct bench_slot *s = &c->slots[c->head];
    if (c->r_bad) {
        return;
    }
    if (c->r_got + n > b->o.msg_bytes ||
        memcmp(b->plain + s->off + c->r_got, p, n) != 0) {
        c->r_bad = true;
    }
    c->r_got += n;
}

/* Inflates compressed bytes of the current message and compares them. */
static bool
conn_inflate(struct bench *b, struct bench_conn *c, const uint8_t *p, size_t n)
{
    if (c->inf == NULL) {
        c->inf = zlib_new(false, 0, 15);
    }
    z_stream *z = c->inf;
    if (c->r_zend) {
        return true; /* what follows a final block is not deflate data */
    }
    z->next_in = (Bytef *)(uintptr_t)p;
    z->avail_in = (uInt)n;
    for (;;) {
        z->next_out = b->zout;
        z->avail_out = BENCH_ZOUT_BYTES;
        int rc = inflate(z, Z_SYNC_FLUSH);
        if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) {
            return false;
        }
        size_t out = BENCH_ZOUT_BYTES - z->avail_out;
        conn_check(b, c, b->zout, out);
        if (rc == Z_STREAM_END) {
            /* A final block (RFC 7692 §7.2.3.4) ends the stream: the next
             * message starts a fresh one. */
            c->r_zend = true;
            inflateReset(z);
            return true;
        }
        if (z->avail_out != 0 && (z->avail_in == 0 || rc == Z_BUF_ERROR)) {
            return z->avail_in == 0;
        }
    }
}

static void
conn_protocol_error(struct bench *b, struct bench_conn *c, const char *why)
{
    b->protocol_errors++;
    errno = 0;
    conn_fail(b, c, why);
}

/* The echo of the oldest slot is complete. */
static void
conn_message_done(struct bench *b, struct bench_conn *c)
{
    static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};
    const struct bench_slot *s = &c->slots[c->head];

    if (c->r_compressed && !conn_inflate(b, c, tail, sizeof(tail))) {
        conn_protocol_error(b, c, "echo does not inflate");
        return;
    }
    if (c->r_got != b->o.msg_bytes) {
        c->r_bad = true;
    }
    if (c->r_bad) {
        b->mismatches++;
    }
    if (b->phase == PHASE_MEASURE) {
        b->msgs++;
        hist_add(&b->hist, now_ns() - s->sent_ns);
    }
    c->head = (c->head + 1) % b->o.depth;
    c->n_out--;
    c->n_sent--;
    c->r_in_msg = false;
    if (b->sending && c->state == CONN_OPEN) {
        conn_queue_message(b, c);
    }
}

static void
conn_control_done(struct bench *b, struct bench_conn *c)
{
    switch (c->r_op) {
    case 0x9:
        conn_queue_control(c, 0xa, c->r_ctl, c->r_ctl_len);
        return;
    case 0x8:
        if (c->state == CONN_OPEN && b->phase != PHASE_CLOSE) {
            /* The server closes first (a reload, a stop): counted as a
             * failure of the run, and answered as a client does, with
             * its status code back (RFC 6455 5.5.1), then the server's
             * TCP close awaited, so that the server's close handshake is
             * whole. Messages not begun are never sent. */
            errno = 0;
            conn_note_failure(b, c, "server sent close");
            c->n_out = c->n_sent + (c->wr_off > 0 ? 1u : 0u);
            if (c->ctl_off == 0) {
                c->ctl_len = 0; /* a pong not yet begun */
            }
            conn_queue_control(c, 0x8, c->r_ctl,
                               c->r_ctl_len >= 2 ? 2 : 0);
            c->state = CONN_CLOSING;
            c->server_closed = true;
            return;
        }
        /* The server answered our close: the connection is over. */
        conn_drop(b, c);
        return;
    default:
        return;
    }
}

/* A frame header is complete in c->rh: start its payload. */
static bool
conn_frame_begin(struct bench_conn *c)
{
    uint8_t op = c->rh[0] & 0x0f;
    bool rsv1 = (c->rh[0] & 0x40) != 0;

    c->r_fin = (c->rh[0] & 0x80) != 0;
    c->r_op = op;
    if (op >= 0x8) {
        c->r_ctl_len = 0;
        return c->r_left <= 125 && c->r_fin;
    }
    if (op == 0x0) {
        return c->r_in_msg;
    }
    if (c->r_in_msg || c->n_sent == 0 || (op != 0x1 && op != 0x2)) {
        return false; /* an echo we did not ask for */
    }
    c->r_in_msg = true;
    c->r_compressed = rsv1;
    c->r_bad = false;
    c->r_zend = false;
    c->r_got = 0;
    return !rsv1 || c->pmd;
}

/* The length of the frame header being read: 2 until its second byte is
 * in, then 2, 4 or 10 (servers do not mask). */
static size_t
rh_need(const struct bench_conn *c)
{
    if (c->rh_len < 2) {
        return 2;
    }
    switch (c->rh[1] & 0x7f) {
    case 126:
        return 4;
    case 127:
        return 10;
    default:
        return 2;
    }
}

/* Runs received bytes through the frame reader. */
static void
conn_feed(struct bench *b, struct bench_conn *c, const uint8_t *p, size_t n)
{
    while (n > 0 && c->state != CONN_DONE) {
        if (c->rh_len < rh_need(c)) {
            c->rh[c->rh_len++] = *p++;
            n--;
            if (c->rh_len == 2 && (c->rh[1] & 0x80) != 0) {
                conn_protocol_error(b, c, "masked frame from the server");
                return;
            }
            if (c->rh_len < rh_need(c)) {
                continue;
            }
            uint64_t len = c->rh[1] & 0x7f;
            if (len >= 126) {
                len = 0;
                for (size_t i = 2; i < c->rh_len; i++) {
                    len = len << 8 | c->rh[i];
                }
            }
            c->r_left = len;
            if (!conn_frame_begin(c)) {
                conn_protocol_error(b, c, "unexpected frame");
                return;
            }
        } else {
            size_t k = c->r_left < n ? (size_t)c->r_left : n;
            if (c->r_op >= 0x8) {
                memcpy(c->r_ctl + c->r_ctl_len, p, k);
                c->r_ctl_len += k;
            } else if (c->r_compressed) {
                if (!conn_inflate(b, c, p, k)) {
                    conn_protocol_error(b, c, "echo does not inflate");
                    return;
                }
            } else {
                conn_check(b, c, p, k);
            }
            p += k;
            n -= k;
            c->r_left -= k;
        }
        if (c->r_left == 0 && c->rh_len == rh_need(c)) {
            /* A frame is complete (zero-length ones too). */
            c->rh_len = 0;
            if (c->r_op >= 0x8) {
                conn_control_done(b, c);
            } else if (c->r_fin) {
                conn_message_done(b, c);
            }
        }
    }
}

static void
conn_read(struct bench *b, struct bench_conn *c)
{
    /* A TLS read returns one record: read on until there is none. */
    int reads = c->ssl != NULL ? BENCH_READS_TLS : 4;
    for (int i = 0; i < reads && c->state != CONN_DONE; i++) {
        ssize_t n = conn_recv(b, c, b->rbuf, BENCH_RBUF_BYTES);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1 && errno == EAGAIN) {
            break;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = 0;
            }
            if (c->server_closed && n == 0 && c->ctl_off == c->ctl_len) {
                b->n_server_clean++; /* a whole close handshake */
            }
            if (b->phase == PHASE_CLOSE || c->server_closed) {
                conn_drop(b, c);
            } else {
                conn_fail(b, c,
                          n == 0 ? "server closed the connection" : "read");
            }
            return;
        }
        conn_feed(b, c, b->rbuf, (size_t)n);
        if (c->ssl == NULL && (size_t)n < BENCH_RBUF_BYTES) {
            break;
        }
    }
    if (c->state == CONN_OPEN || c->state == CONN_CLOSING) {
        conn_write(b, c);
    }
}

/* --tls: drives SSL_connect; once done, the WebSocket request follows. */
static void
conn_tls_step(struct bench *b, struct bench_conn *c)
{
    bool wants_out = false;
    ERR_clear_error();
    errno = 0;
    int r = SSL_connect(c->ssl);
    if (r == 1) {
        c->state = CONN_HANDSHAKE;
        conn_send_request(b, c);
        return;
    }
    if (tls_result(b, c, r, &wants_out) == -1 && errno == EAGAIN) {
        conn_want_out(b, c, wants_out);
        return;
    }
    if (errno == 0) {
        errno = ECONNRESET;
    }
    conn_fail(b, c, "TLS handshake");
}

static void
conn_tls_begin(struct bench *b, struct bench_conn *c)
{
    c->ssl = SSL_new(b->tls);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        die("SSL_new");
    }
    SSL_set_tlsext_host_name(c->ssl, b->o.host);
    c->state = CONN_TLS;
    conn_tls_step(b, c);
}

static void
conn_on_event(struct bench *b, struct bench_conn *c, uint32_t events)
{
    switch (c->state) {
    case CONN_CONNECTING: {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
            err = errno;
        }
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
            errno = err;
            conn_fail(b, c, "connect");
            return;
        }
        if ((events & EPOLLOUT) != 0) {
            if (b->tls != NULL) {
                conn_tls_begin(b, c);
            } else {
                conn_send_request(b, c);
            }
        }
        return;
    }
    case CONN_TLS:
        conn_tls_step(b, c);
        return;
    case CONN_HANDSHAKE:
        if ((events & EPOLLOUT) != 0) {
            conn_send_request(b, c);
        }
        if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 &&
            c->state == CONN_HANDSHAKE) {
            conn_read_handshake(b, c);
        }
        return;
    case CONN_OPEN:
    case CONN_CLOSING:
        if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
            conn_read(b, c);
        } else if ((events & EPOLLOUT) != 0) {
            conn_write(b, c);
        }
        return;
    case CONN_IDLE:
    case CONN_DONE:
        return;
    }
}

/* Starts the traffic of an open connection: its first message, or its
 * first depth of them. */
static void
conn_kick(struct bench *b, struct bench_conn *c)
{
    if (b->o.mode == MODE_IDLE) {
        return;
    }
    while (c->n_out < b->o.depth) {
        conn_queue_message(b, c);
    }
    conn_write(b, c);
}

/* Phases ----------------------------------------------------------------- */

static void
connect_more(struct bench *b)
{
    unsigned allowed = UINT32_MAX;
    if (b->o.rate > 0) {
        double due = (now_s() - b->rate_t0) * b->o.rate + 1.0;
        allowed = due < (double)UINT32_MAX ? (unsigned)due : UINT32_MAX;
    }
    while (b->next_connect < b->connect_target &&
           b->n_connecting < b->o.connect_parallel &&
           b->rate_started < allowed) {
        b->rate_started++;
        conn_start(b, &b->conns[b->next_connect++]);
    }
}

/* The seconds for connect_target - next_connect connections to open. */
static double
connect_timeout(const struct bench *b)
{
    if (b->o.connect_timeout_s > 0) {
        return b->o.connect_timeout_s;
    }
    double n = (double)(b->connect_target - b->next_connect);
    double rate = b->o.rate > 0 ? b->o.rate
                  : b->o.tls    ? BENCH_TLS_RATE
                                : 1000.0;
    return BENCH_CONNECT_TIMEOUT + n / rate;
}

/* Establishment: a sample at each whole second of the storm. */
static void
est_begin(struct bench *b)
{
    b->est_t0 = now_s();
    b->est_n = 0;
    b->est_open0 = b->n_open;
    b->est_cpu0 = server_cpu_ticks(b);
}

static void
est_sample(struct bench *b, double t, bool last)
{
    if (b->est_open == NULL) {
        return;
    }
    while (b->est_n < BENCH_EST_MAX &&
           (last || t >= b->est_t0 + (double)(b->est_n + 1))) {
        b->est_open[b->est_n] = b->n_open;
        b->est_cpu[b->est_n] = server_cpu_ticks(b);
        b->est_n++;
        if (last) {
            b->est_end = t;
            return;
        }
    }
}

static void
phase_set(struct bench *b, enum bench_phase p, double seconds)
{
    b->phase = p;
    b->phase_end = now_s() + seconds;
}

static void
window_open(struct bench *b)
{
    b->msgs = 0;
    memset(&b->hist, 0, sizeof(b->hist));
    b->cpu_ticks_start = server_cpu_ticks(b);
    getrusage(RUSAGE_SELF, &b->ru_start);
    b->t_start = now_s();
}

static void
window_close(struct bench *b)
{
    b->t_end = now_s();
    b->cpu_ticks_end = server_cpu_ticks(b);
    getrusage(RUSAGE_SELF, &b->ru_end);
}

/* Ends the run: close frames on every open connection. */
static void
close_all(struct bench *b)
{
    static const uint8_t normal[2] = {0x03, 0xe8}; /* 1000 */

    b->sending = false;
    phase_set(b, PHASE_CLOSE, BENCH_CLOSE_TIMEOUT);
    for (unsigned i = 0; i < b->n_conns; i++) {
        struct bench_conn *c = &b->conns[i];
        if (c->state == CONN_CONNECTING || c->state == CONN_TLS ||
            c->state == CONN_HANDSHAKE) {
            conn_drop(b, c);
            continue;
        }
        if (c->state != CONN_OPEN) {
            continue;
        }
        /* Messages not begun are never sent; one half written is
         * finished first, as the close must follow a whole frame. */
        c->n_out = c->n_sent + (c->wr_off > 0 ? 1u : 0u);
        c->ctl_len = c->ctl_off = 0;
        conn_queue_control(c, 0x8, normal, sizeof(normal));
        c->state = CONN_CLOSING;
        conn_write(b, c);
    }
}

static void report(const struct bench *b);

/* Moves the run on when the current phase is over. */
static void
step(struct bench *b)
{
    double t = now_s();

    if (bench_stop && b->phase != PHASE_CLOSE) {
        close_all(b);
        return;
    }
    switch (b->phase) {
    case PHASE_CONNECT:
        connect_more(b);
        if (b->o.mode == MODE_IDLE && b->connect_target == b->n_conns) {
            est_sample(b, t, false);
        }
        if (b->next_connect < b->connect_target || b->n_connecting > 0) {
            if (t > b->phase_end) {
                fprintf(stderr, "wsbench: connections did not open in time\n");
                b->n_failed += b->n_connecting;
                close_all(b);
            }
            return;
        }
        if (b->n_open == 0) {
            fprintf(stderr, "wsbench: no connection opened\n");
            close_all(b);
            return;
        }
        if (b->o.mode != MODE_IDLE) {
            b->sending = true;
            phase_set(b, PHASE_WARMUP, b->o.warmup_s);
            for (unsigned i = 0; i < b->n_conns; i++) {
                if (b->conns[i].state == CONN_OPEN) {
                    conn_kick(b, &b->conns[i]);
                }
            }
        } else {
            if (b->connect_target == b->n_conns) {
                est_sample(b, t, true);
            }
            phase_set(b, PHASE_SETTLE, b->o.warmup_s);
        }
        return;
    case PHASE_SETTLE:
        if (t < b->phase_end) {
            return;
        }
        if (b->connect_target == 1) {
            /* The warm connection is open: the worker's one-time
             * allocations are made. The baseline, then the rest. */
            b->mem_base = server_mem(b);
            b->connect_target = b->n_conns;
            phase_set(b, PHASE_CONNECT, connect_timeout(b));
            window_open(b);
            b->rate_t0 = now_s();
            b->rate_started = 0;
            est_begin(b);
        } else {
            b->mem_after = server_mem(b);
            b->mem_conns = b->n_open > 0 ? b->n_open - 1 : 0;
            window_close(b);
            phase_set(b, PHASE_HOLD, b->o.duration_s);
            if (b->o.hold) {
                b->errors_reported =
                    b->mismatches + b->protocol_errors + b->n_failed;
                report(b);
                fflush(stdout);
                b->hold_reported = true;
                b->hold_printed = b->n_open;
                b->hold_print_t = t;
            }
        }
        return;
    case PHASE_WARMUP:
        if (t >= b->phase_end) {
            phase_set(b, PHASE_MEASURE, b->o.duration_s);
            window_open(b);
        }
        return;
    case PHASE_MEASURE:
        if (t >= b->phase_end) {
            window_close(b);
            b->rss_end_kib = server_mem(b).rss_kib;
            close_all(b);
        }
        return;
    case PHASE_HOLD:
        if (b->o.hold && b->n_open != b->hold_printed &&
            (t >= b->hold_print_t + BENCH_HOLD_PRINT_S || b->n_open == 0)) {
            printf("{\"t\": %.3f, \"open\": %u, \"server_clean\": %u}\n",
                   t, b->n_open, b->n_server_clean);
            fflush(stdout);
            b->hold_printed = b->n_open;
            b->hold_print_t = t;
        }
        if (t >= b->phase_end || bench_stop || b->n_open == 0) {
            close_all(b);
        }
        return;
    case PHASE_CLOSE:
        if (b->n_open == 0 || t >= b->phase_end) {
            for (unsigned i = 0; i < b->n_conns; i++) {
                conn_drop(b, &b->conns[i]);
            }
        }
        return;
    }
}

static bool
run_over(const struct bench *b)
{
    return b->phase == PHASE_CLOSE && b->n_open == 0 && b->n_connecting == 0;
}

static void
run(struct bench *b)
{
    struct epoll_event evs[256];

    b->connect_target = b->o.mode == MODE_IDLE ? 1 : b->n_conns;
    b->rate_t0 = now_s();
    phase_set(b, PHASE_CONNECT, connect_timeout(b));
    while (!run_over(b)) {
        step(b);
        if (run_over(b)) {
            break;
        }
        int n = epoll_wait(b->ep, evs, 256, 5);
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            conn_on_event(b, evs[i].data.ptr, evs[i].events);
        }
    }
}

/* Report ----------------------------------------------------------------- */

static double
tv_s(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static const char *
mode_name(enum bench_mode m)
{
    switch (m) {
    case MODE_PINGPONG:
        return "pingpong";
    case MODE_PIPELINE:
        return "pipeline";
    case MODE_IDLE:
        return "idle";
    }
    return "?";
}

/* s with " and \ escaped, for the JSON line. */
static void
json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\') {
            fputc('\\', f);
        }
        if ((unsigned char)*s >= 0x20) {
            fputc(*s, f);
        }
    }
    fputc('"', f);
}

/* The establishment curve, as more keys of the idle JSON object: the
 * handshakes completed in each second of the storm (the last one
 * partial), the server CPU in each, and the server CPU per handshake over
 * the whole storm. */
static void
report_establishment(const struct bench *b, double tick)
{
    unsigned open_prev = b->est_open0;
    uint64_t cpu_prev = b->est_cpu0;
    unsigned n = b->est_n > 0 ? b->est_open[b->est_n - 1] - b->est_open0 : 0;
    uint64_t cpu = b->est_n > 0 ? b->est_cpu[b->est_n - 1] - b->est_cpu0 : 0;
    double secs = b->est_n > 0 ? b->est_end - b->est_t0 : 0;

    printf(", \"source_addresses\": %u, \"rate\": %.0f, \"establish_s\": "
           "%.3f, \"handshakes\": %u, \"handshakes_per_s_mean\": %.0f, "
           "\"server_cpu_us_per_handshake\": %.1f, \"handshakes_per_s\": [",
           b->o.source_addrs, b->o.rate, secs, n,
           secs > 0 ? (double)n / secs : 0.0,
           n > 0 ? (double)cpu / tick * 1e6 / n : 0.0);
    for (unsigned i = 0; i < b->est_n; i++) {
        printf("%s%u", i > 0 ? ", " : "", b->est_open[i] - open_prev);
        open_prev = b->est_open[i];
    }
    printf("], \"server_cpu_ms_per_s\": [");
    for (unsigned i = 0; i < b->est_n; i++) {
        printf("%s%.0f", i > 0 ? ", " : "",
               (double)(b->est_cpu[i] - cpu_prev) * 1e3 / tick);
        cpu_prev = b->est_cpu[i];
    }
    printf("]");
}

static void
report(const struct bench *b)
{
    double secs = b->t_end - b->t_start;
    double tick = (double)sysconf(_SC_CLK_TCK);
    double server_cpu_s =
        (double)(b->cpu_ticks_end - b->cpu_ticks_start) / tick;
    double gen_cpu_s = tv_s(&b->ru_end.ru_utime) + tv_s(&b->ru_end.ru_stime) -
                       tv_s(&b->ru_start.ru_utime) -
                       tv_s(&b->ru_start.ru_stime);
    uint64_t errors = b->mismatches + b->protocol_errors + b->n_failed;
    const char *label = b->o.label != NULL ? b->o.label : "server";
    bool deflated = strstr(b->extensions, "permessage-deflate") != NULL;
    const char *deflate = !b->o.deflate ? "off" : deflated ? "on" : "declined";

    if (secs <= 0) {
        secs = 1e-9;
    }
    if (b->o.mode == MODE_IDLE) {
        unsigned n = b->mem_conns > 0 ? b->mem_conns : 1;
        double rss =
            ((double)b->mem_after.rss_kib - (double)b->mem_base.rss_kib) *
            1024.0 / n;
        double pss =
            ((double)b->mem_after.pss_kib - (double)b->mem_base.pss_kib) *
            1024.0 / n;
        double cpu_us = server_cpu_s * 1e6 / n;
        printf("%s%s: idle, %u connections (deflate %s): %.0f bytes RSS and "
               "%.0f bytes PSS per connection, %.0f us of server CPU per "
               "connection opened; %" PRIu64 " errors\n",
               label, b->o.tls ? " (wss)" : "", b->mem_conns, deflate, rss,
               pss, cpu_us, errors);
        printf("{\"label\": ");
        json_string(stdout, label);
        printf(", \"mode\": \"idle\", \"tls\": %s, \"conns\": %u, "
               "\"deflate\": \"%s\", \"extensions\": ",
               b->o.tls ? "true" : "false", b->mem_conns, deflate);
        json_string(stdout, b->extensions);
        printf(", \"rss_base_kib\": %" PRIu64 ", \"rss_after_kib\": %" PRIu64
               ", \"rss_bytes_per_conn\": %.1f, \"pss_bytes_per_conn\": %.1f, "
               "\"server_cpu_us_per_conn\": %.1f, \"measured_pids\": %u, "
               "\"errors\": %" PRIu64,
               b->mem_base.rss_kib, b->mem_after.rss_kib, rss, pss, cpu_us,
               b->n_measured, errors);
        report_establishment(b, tick);
        printf("}\n");
        return;
    }
    double rate = (double)b->msgs / secs;
    double us_per_msg =
        b->msgs > 0 ? server_cpu_s * 1e6 / (double)b->msgs : -1.0;
    double p50 = hist_quantile_us(&b->hist, 0.50);
    double p99 = hist_quantile_us(&b->hist, 0.99);
    double p999 = hist_quantile_us(&b->hist, 0.999);
    printf("%s%s: %s, %u x %zu B (deflate %s): %.0f msg/s, rtt p50 %.0f us, "
           "p99 %.0f us, p99.9 %.0f us; server %.2f us CPU/msg (%.0f%% of a "
           "core); generator %.0f%% of a core; %" PRIu64 " errors\n",
           label, b->o.tls ? " (wss)" : "", mode_name(b->o.mode), b->o.n_conns,
           b->o.msg_bytes, deflate,
           rate, p50, p99, p999, us_per_msg, 100.0 * server_cpu_s / secs,
           100.0 * gen_cpu_s / secs, errors);
    printf("{\"label\": ");
    json_string(stdout, label);
    printf(", \"mode\": \"%s\", \"tls\": %s, \"conns\": %u, \"size\": %zu, "
           "\"depth\": %u, \"deflate\": \"%s\", \"extensions\": ",
           mode_name(b->o.mode), b->o.tls ? "true" : "false", b->o.n_conns,
           b->o.msg_bytes, b->o.depth, deflate);
    json_string(stdout, b->extensions);
    printf(", \"seconds\": %.3f, \"messages\": %" PRIu64
           ", \"msgs_per_s\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
           "\"p999_us\": %.1f, \"server_cpu_s\": %.3f, "
           "\"server_cpu_us_per_msg\": %.3f, \"server_cpu_pct\": %.1f, "
           "\"generator_cpu_pct\": %.1f, \"server_rss_kib\": %" PRIu64
           ", \"measured_pids\": %u, \"mismatches\": %" PRIu64
           ", \"protocol_errors\": %" PRIu64 ", \"failed_conns\": %u, "
           "\"errors\": %" PRIu64 "}\n",
           secs, b->msgs, rate, p50, p99, p999, server_cpu_s, us_per_msg,
           100.0 * server_cpu_s / secs, 100.0 * gen_cpu_s / secs,
           b->rss_end_kib, b->n_measured, b->mismatches, b->protocol_errors,
           b->n_failed, errors);
}

/* Command line ----------------------------------------------------------- */

static void
usage(FILE *f)
{
    fprintf(
        f,
        "usage: wsbench --port PORT [options]\n"
        "  --host ADDR          IPv4 address of the server (127.0.0.1)\n"
        "  --path PATH          the endpoint's path (/ws)\n"
        "  -c, --connections N  connections (100)\n"
        "  -s, --size BYTES     message payload, k and m suffixes (20)\n"
        "  -m, --mode MODE      pingpong, pipeline or idle (pingpong)\n"
        "  --depth K            pipeline: messages in flight per "
        "connection (16)\n"
        "  -d, --duration S     seconds measured (5)\n"
        "  -w, --warmup S       seconds of traffic before (1); idle: "
        "settling time\n"
        "  --tls                wss: TLS 1.3 (a full handshake per "
        "connection;\n"
        "                       the certificate is not checked)\n"
        "  --deflate            offer permessage-deflate, compress and "
        "inflate\n"
        "  --deflate-level L    zlib level of what is sent (1)\n"
        "  --deflate-offer EXT  the offer (implies --deflate; default\n"
        "                       permessage-deflate; client_max_window_bits)\n"
        "  --text               text messages (binary by default)\n"
        "  --server-pid PID     count this process's CPU and memory "
        "(repeatable)\n"
        "  --server-tree PID    ... with all its descendants "
        "(repeatable)\n"
        "  --label NAME         name of the server in the output\n"
        "  --connect-parallel N connections opening at once (256)\n"
        "  --rate R             connections started per second (0: as fast\n"
        "                       as --connect-parallel allows)\n"
        "  --connect-timeout S  seconds for the connections to open (0: 60\n"
        "                       and their time at --rate or 1,000 a second;\n"
        "                       for several processes sharing one server)\n"
        "  --source-addresses N bind connections round robin to N loopback\n"
        "                       addresses from 127.0.1.1 (0: the kernel's "
        "pick)\n"
        "  --hold               idle: report once the connections are open,\n"
        "                       then hold them (up to -d seconds, until\n"
        "                       SIGTERM or until the server has closed them\n"
        "                       all), printing {\"t\", \"open\",\n"
        "                       \"server_clean\"} on changes (server_clean:\n"
        "                       server closes answered, then its FIN)\n");
}

static bool
parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s) {
        return false;
    }
    if (*end == 'k' || *end == 'K') {
        v *= 1024;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        v *= 1024 * 1024;
        end++;
    }
    if (*end != '\0' || v > (1ull << 30)) {
        return false;
    }
    *out = (size_t)v;
    return true;
}

static unsigned
parse_uint(const char *s, const char *what, unsigned max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max) {
        fprintf(stderr, "wsbench: bad %s: %s\n", what, s);
        exit(2);
    }
    return (unsigned)v;
}

static double
parse_seconds(const char *s, const char *what)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= 0) || v > 86400) {
        fprintf(stderr, "wsbench: bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

static void
parse_args(struct bench_opts *o, int argc, char **argv)
{
    enum {
        OPT_HOST = 256,
        OPT_PORT,
        OPT_PATH,
        OPT_DEPTH,
        OPT_DEFLATE,
        OPT_LEVEL,
        OPT_OFFER,
        OPT_TEXT,
        OPT_PID,
        OPT_TREE,
        OPT_LABEL,
        OPT_PARALLEL,
        OPT_RATE,
        OPT_CONNECT_TIMEOUT,
        OPT_SOURCES,
        OPT_HOLD,
        OPT_TLS,
    };
    static const struct option longopts[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"path", required_argument, NULL, OPT_PATH},
        {"connections", required_argument, NULL, 'c'},
        {"size", required_argument, NULL, 's'},
        {"mode", required_argument, NULL, 'm'},
        {"depth", required_argument, NULL, OPT_DEPTH},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'w'},
        {"deflate", no_argument, NULL, OPT_DEFLATE},
        {"deflate-level", required_argument, NULL, OPT_LEVEL},
        {"deflate-offer", required_argument, NULL, OPT_OFFER},
        {"text", no_argument, NULL, OPT_TEXT},
        {"server-pid", required_argument, NULL, OPT_PID},
        {"server-tree", required_argument, NULL, OPT_TREE},
        {"label", required_argument, NULL, OPT_LABEL},
        {"connect-parallel", required_argument, NULL, OPT_PARALLEL},
        {"rate", required_argument, NULL, OPT_RATE},
        {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
        {"source-addresses", required_argument, NULL, OPT_SOURCES},
        {"hold", no_argument, NULL, OPT_HOLD},
        {"tls", no_argument, NULL, OPT_TLS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool depth_set = false;
    int ch;

    *o = (struct bench_opts){
        .host = "127.0.0.1",
        .path = "/ws",
        .n_conns = 100,
        .msg_bytes = 20,
        .mode = MODE_PINGPONG,
        .depth = 16,
        .duration_s = 5,
        .warmup_s = 1,
        .deflate_level = 1,
        /* What browsers offer: context takeover both ways, and the
         * server may choose our window. */
        .offer = "permessage-deflate; client_max_window_bits",
        .connect_parallel = 256,
    };
    while ((ch = getopt_long(argc, argv, "c:s:m:d:w:h", longopts, NULL)) !=
           -1) {
        switch (ch) {
        case OPT_HOST:
            o->host = optarg;
            break;
        case OPT_PORT:
            o->port = parse_uint(optarg, "port", 65535);
            break;
        case OPT_PATH:
            o->path = optarg;
            break;
        case 'c':
            o->n_conns = parse_uint(optarg, "connections", 1000000);
            break;
        case 's':
            if (!parse_size(optarg, &o->msg_bytes)) {
                fprintf(stderr, "wsbench: bad size: %s\n", optarg);
                exit(2);
            }
            break;
        case 'm':
            if (strcmp(optarg, "pingpong") == 0) {
                o->mode = MODE_PINGPONG;
            } else if (strcmp(optarg, "pipeline") == 0) {
                o->mode = MODE_PIPELINE;
            } else if (strcmp(optarg, "idle") == 0) {
                o->mode = MODE_IDLE;
            } else {
                fprintf(stderr, "wsbench: bad mode: %s\n", optarg);
                exit(2);
            }
            break;
        case OPT_DEPTH:
            o->depth = parse_uint(optarg, "depth", 4096);
            depth_set = true;
            break;
        case 'd':
            o->duration_s = parse_seconds(optarg, "duration");
            break;
        case 'w':
            o->warmup_s = parse_seconds(optarg, "warmup");
            break;
        case OPT_DEFLATE:
            o->deflate = true;
            break;
        case OPT_OFFER:
            o->offer = optarg;
            o->deflate = true;
            break;
        case OPT_LEVEL:
            o->deflate_level = (int)parse_uint(optarg, "deflate level", 9);
            break;
        case OPT_TEXT:
            o->text = true;
            break;
        case OPT_PID:
        case OPT_TREE:
            if (o->n_pids + o->n_trees >= BENCH_MAX_PIDS) {
                fprintf(stderr, "wsbench: too many processes\n");
                exit(2);
            }
            if (ch == OPT_PID) {
                o->pids[o->n_pids++] =
                    (pid_t)parse_uint(optarg, "pid", 1u << 30);
            } else {
                o->trees[o->n_trees++] =
                    (pid_t)parse_uint(optarg, "pid", 1u << 30);
            }
            break;
        case OPT_LABEL:
            o->label = optarg;
            break;
        case OPT_PARALLEL:
            o->connect_parallel = parse_uint(optarg, "connect-parallel", 65536);
            break;
        case OPT_RATE:
            o->rate = (double)parse_uint(optarg, "rate", 10000000);
            break;
        case OPT_CONNECT_TIMEOUT:
            o->connect_timeout_s =
                (double)parse_uint(optarg, "connect-timeout", 86400);
            break;
        case OPT_SOURCES:
            o->source_addrs = parse_uint(optarg, "source-addresses", 60000);
            break;
        case OPT_HOLD:
            o->hold = true;
            break;
        case OPT_TLS:
            o->tls = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind != argc || o->port == 0 || o->n_conns == 0 || o->depth == 0 ||
        o->connect_parallel == 0) {
        usage(stderr);
        exit(2);
    }
    if (o->hold && o->mode != MODE_IDLE) {
        fprintf(stderr, "wsbench: --hold needs --mode idle\n");
        exit(2);
    }
    if (o->mode == MODE_PINGPONG) {
        o->depth = 1;
    } else if (o->mode == MODE_IDLE && !depth_set) {
        o->depth = 1;
    }
}

/* Enough descriptors for 10,000 connections and more. */
static void
raise_fd_limit(unsigned n_conns)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
        return;
    }
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)n_conns + 16) {
        fprintf(stderr,
                "wsbench: only %llu descriptors for %u connections "
                "(raise ulimit -n)\n",
                (unsigned long long)rl.rlim_cur, n_conns);
        exit(2);
    }
}

static void
on_stop(int sig)
{
    (void)sig;
    bench_stop = 1;
}

int
main(int argc, char **argv)
{
    struct bench *b = xcalloc(1, sizeof(*b));

    parse_args(&b->o, argc, argv);
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit(b->o.n_conns + 1);
    b->addr.sin_family = AF_INET;
    b->addr.sin_port = htons((uint16_t)b->o.port);
    if (inet_pton(AF_INET, b->o.host, &b->addr.sin_addr) != 1) {
        fprintf(stderr, "wsbench: not an IPv4 address: %s\n", b->o.host);
        return 2;
    }
    for (unsigned i = 0; i < b->o.n_pids; i++) {
        measured_add(b, b->o.pids[i]);
    }
    for (unsigned i = 0; i < b->o.n_trees; i++) {
        measured_add_tree(b, b->o.trees[i]);
    }
    if (b->o.tls) {
        b->tls = SSL_CTX_new(TLS_client_method());
        if (b->tls == NULL ||
            SSL_CTX_set_min_proto_version(b->tls, TLS1_3_VERSION) != 1) {
            fprintf(stderr, "wsbench: cannot set up TLS 1.3\n");
            return 2;
        }
        SSL_CTX_set_verify(b->tls, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_session_cache_mode(b->tls, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(b->tls, SSL_OP_IGNORE_UNEXPECTED_EOF);
    }
    b->ep = epoll_create1(EPOLL_CLOEXEC);
    if (b->ep == -1) {
        die("epoll_create1");
    }
    /* Idle runs open one connection first, before the memory baseline. */
    b->n_conns = b->o.n_conns + (b->o.mode == MODE_IDLE ? 1u : 0u);
    b->conns = xcalloc(b->n_conns, sizeof(*b->conns));
    for (unsigned i = 0; i < b->n_conns; i++) {
        b->conns[i].fd = -1;
        b->conns[i].slots = xcalloc(b->o.depth, sizeof(struct bench_slot));
    }
    b->rbuf = xcalloc(1, BENCH_RBUF_BYTES);
    b->zout = xcalloc(1, BENCH_ZOUT_BYTES);
    if (b->o.mode == MODE_IDLE) {
        b->est_open = xcalloc(BENCH_EST_MAX, sizeof(*b->est_open));
        b->est_cpu = xcalloc(BENCH_EST_MAX, sizeof(*b->est_cpu));
    }
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    pool_init(b);
    run(b);
    if (b->hold_reported) {
        /* Reported when the connections were open; what the server did
         * to them afterwards is the point of holding them. */
        return b->errors_reported > 0 ? 1 : 0;
    }
    report(b);
    return b->mismatches + b->protocol_errors + b->n_failed > 0 ? 1 : 0;
}
