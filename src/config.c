/* SPDX-License-Identifier: MIT */
/*
 * The directive table and its setter. Defaults are strings run through the
 * same parser as user input, so a default can never be a value the parser
 * would refuse.
 */
#include "autoconf.h"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* log and access_log are handed to log_open and access_log_open, case_log
 * to case_log_open. */
_Static_assert(CONFIG_FILE_MAX <= LOG_FILE_MAX,
               "a file name config accepts fits the log's buffer");

enum config_type {
    CONFIG_ADDR,     /* ADDR:PORT, [IPV6]:PORT */
    CONFIG_PATH,     /* an absolute URL path */
    CONFIG_UINT,     /* a decimal integer within [min, max] */
    CONFIG_BYTES,    /* an integer with an optional k, m or g (KiB...) */
    CONFIG_MS,       /* milliseconds */
    CONFIG_WORKERS,  /* auto, or an integer within [min, max] */
    CONFIG_LEVEL,    /* a log level name */
    CONFIG_BOOL,     /* on or off */
    CONFIG_ADDR_OFF, /* ADDR:PORT, or off */
    CONFIG_STRING,   /* any text without control characters */
    CONFIG_FILE,     /* a file name, made absolute; "" for none */
    CONFIG_LOG,      /* stderr, syslog or a file name, made absolute */
    CONFIG_LOG_OFF,  /* off or a file name, made absolute */
};

struct config_directive {
    const char *name;
    enum config_type type;
    size_t offset;
    uint64_t min, max;
    const char *def;
    const char *help;
};

/* Directive problems are short; a file error adds "path:line: " to one. */
#define CONFIG_PROBLEM_MAX 256

#define OFF(f) offsetof(struct config, f)
#define KiB    1024ULL
#define MiB    (1024ULL * 1024)
#define GiB    (1024ULL * 1024 * 1024)

static const struct config_directive config_directives[] = {
    {"listen", CONFIG_ADDR, OFF(listen), 0, 0, "127.0.0.1:8888",
     "address and port of the WebSocket endpoint"},
    {"path", CONFIG_PATH, OFF(path), 0, 0, "/ws",
     "URL path of the WebSocket endpoint; other paths get 404"},
    {"workers", CONFIG_WORKERS, OFF(workers), 1, CONFIG_WORKERS_MAX, "auto",
     "worker processes; auto is one per online CPU"},
    {"max_connections", CONFIG_UINT, OFF(max_connections), 1, 1000000, "10000",
     "connections per worker; more are refused with 503"},
    {"max_message_bytes", CONFIG_BYTES, OFF(max_message_bytes), 125, 1 * GiB,
     "16m", "largest message (reassembled payload); more fails with 1009"},
    {"max_frame_bytes", CONFIG_BYTES, OFF(max_frame_bytes), 125, 1 * GiB, "16m",
     "largest frame payload; more fails with 1009"},
    {"max_handshake_bytes", CONFIG_BYTES, OFF(max_handshake_bytes), 256,
     64 * KiB, "8k", "largest opening handshake request; more gets 431"},
    {"max_headers", CONFIG_UINT, OFF(max_headers), 8, 1000, "64",
     "most header lines in the handshake request; more gets 431"},
    {"handshake_timeout_ms", CONFIG_MS, OFF(handshake_timeout_ms), 1, 3600000,
     "10000", "time from accept to a complete opening handshake"},
    {"close_timeout_ms", CONFIG_MS, OFF(close_timeout_ms), 1, 3600000, "2000",
     "time to wait for the peer's close frame or its end of stream"},
    {"write_high_water_bytes", CONFIG_BYTES, OFF(write_high_water_bytes),
     4 * KiB, 1 * GiB, "1m",
     "pending output that stops reading from a connection"},
    {"log_level", CONFIG_LEVEL, OFF(log_level), 0, 0, "info",
     "least severe level logged: debug info notice warn error crit alert"},
    {"deflate", CONFIG_BOOL, OFF(deflate), 0, 0, "on",
     "accept permessage-deflate (RFC 7692) when a client offers it"},
    {"deflate_level", CONFIG_UINT, OFF(deflate_level), 0, 9, "1",
     "zlib level for outgoing messages: 1 is the fastest that compresses"},
    {"deflate_mem_level", CONFIG_UINT, OFF(deflate_mem_level), 1, 9, "8",
     "zlib memLevel: compressor memory against speed and ratio"},
    {"deflate_min_bytes", CONFIG_BYTES, OFF(deflate_min_bytes), 0, 1 * GiB,
     "64", "shorter outgoing messages are sent uncompressed"},
    {"deflate_server_max_window_bits", CONFIG_UINT,
     OFF(deflate_server_max_window_bits), 9, 15, "15",
     "largest window wsd compresses with (zlib cannot use 8)"},
    {"deflate_client_max_window_bits", CONFIG_UINT,
     OFF(deflate_client_max_window_bits), 9, 15, "15",
     "largest window asked of clients that let wsd choose"},
    {"deflate_server_no_context_takeover", CONFIG_BOOL,
     OFF(deflate_server_no_context_takeover), 0, 0, "off",
     "compress every message afresh, holding no compressor between"},
    {"deflate_client_no_context_takeover", CONFIG_BOOL,
     OFF(deflate_client_no_context_takeover), 0, 0, "off",
     "ask clients to compress every message afresh"},
    {"stats_cases", CONFIG_UINT, OFF(stats_cases), 0, 1000000, "4096",
     "per-connection statistics records kept, the oldest reused first; "
     "0: none, only the per-worker counters"},
    {"case_request_bytes", CONFIG_BYTES, OFF(case_request_bytes), 0, 64 * KiB,
     "4k", "bytes of each case's opening handshake request kept as read"},
    {"case_wirelog", CONFIG_UINT, OFF(case_wirelog), 0, 65536, "64",
     "wire log entries each case keeps (frames, reads, writes, close "
     "steps); 0: no wire log"},
    {"admin_listen", CONFIG_ADDR_OFF, OFF(admin_listen), 0, 0, "127.0.0.1:8890",
     "address of the admin HTTP endpoint, or off"},
    {"admin_output_bytes", CONFIG_BYTES, OFF(admin_output_bytes), 64 * KiB,
     1 * GiB, "64m",
     "answers the admin endpoint holds for clients that have not read them, "
     "all together; past it, requests for cases get 503"},
    {"admin_token", CONFIG_STRING, OFF(admin_token), 0, CONFIG_TOKEN_MAX, "",
     "bearer token the admin endpoint requires; unset: none"},
    {"admin_token_file", CONFIG_FILE, OFF(admin_token_file), 0, 0, "",
     "file whose first line is the admin token"},
    {"tls_listen", CONFIG_ADDR, OFF(tls_listen), 0, 0, "127.0.0.1:8889",
     "address and port of the wss:// endpoint, once a certificate is set"},
    {"tls_certificate", CONFIG_FILE, OFF(tls_certificate), 0, 0, "",
     "PEM certificate (chain allowed) for wss://; unset: TLS off"},
    {"tls_certificate_key", CONFIG_FILE, OFF(tls_certificate_key), 0, 0, "",
     "PEM private key of tls_certificate"},
    {"idle_timeout_ms", CONFIG_MS, OFF(idle_timeout_ms), 0, 86400000, "0",
     "a peer that sends no message for this long gets close 1001; 0: off"},
    {"ping_interval_ms", CONFIG_MS, OFF(ping_interval_ms), 0, 86400000, "30000",
     "a peer silent for this long gets a ping; 0: off"},
    {"pong_timeout_ms", CONFIG_MS, OFF(pong_timeout_ms), 1, 3600000, "10000",
     "a peer silent this long after our ping gets close 1001"},
    {"shutdown_timeout_ms", CONFIG_MS, OFF(shutdown_timeout_ms), 1, 86400000,
     "30000",
     "SIGQUIT: how long a graceful stop may take; reload: old workers' "
     "grace before their 1001s"},
    {"close_window", CONFIG_UINT, OFF(close_window), 1, 100000000, "4096",
     "close handshakes under way at once in a graceful stop or a reload's "
     "end, all workers together"},
    {"daemon", CONFIG_BOOL, OFF(daemon), 0, 0, "off",
     "detach from the terminal and run in the background"},
    {"pidfile", CONFIG_FILE, OFF(pidfile), 0, 0, "",
     "file holding the master's pid, locked while it runs; unset: no file"},
    {"user", CONFIG_STRING, OFF(user), 0, CONFIG_NAME_MAX, "",
     "user the workers run as (wsd started as root); unset: unchanged"},
    {"group", CONFIG_STRING, OFF(group), 0, CONFIG_NAME_MAX, "",
     "group the workers run as; unset: the user's primary group"},
    {"log", CONFIG_LOG, OFF(log), 0, 0, "stderr",
     "where the log goes: stderr, syslog or a file"},
    {"access_log", CONFIG_LOG_OFF, OFF(access_log), 0, 0, "off",
     "a line per closed connection to this file, or off"},
    {"case_log", CONFIG_LOG_OFF, OFF(case_log), 0, 0, "off",
     "each closed case's full record as a JSON line to this file, or off"},
};

#define N_DIRECTIVES (sizeof(config_directives) / sizeof(config_directives[0]))
_Static_assert(N_DIRECTIVES == CONFIG_N_DIRECTIVES,
               "CONFIG_N_DIRECTIVES counts the table");

static const struct config_directive *
lookup(const char *name)
{
    for (size_t i = 0; i < N_DIRECTIVES; i++) {
        const char *a = config_directives[i].name;
        const char *b = name;
        while (*a != '\0' && (*a == *b || (*a == '_' && *b == '-'))) {
            a++;
            b++;
        }
        if (*a == '\0' && *b == '\0') {
            return &config_directives[i];
        }
    }
    return NULL;
}

/* Notes where directive name, just set, was set: see config.set_item. */
static void
set_origin(struct config *cfg, const char *name, uint32_t item, uint32_t line)
{
    const struct config_directive *d = lookup(name);
    if (d != NULL) {
        cfg->set_item[d - config_directives] = item;
        cfg->set_line[d - config_directives] = line;
    }
}

/* The decimal digits at v: their count, their value in *out (UINT64_MAX
 * when larger, so that the range check names it), or -1 when v does not
 * start with a digit. */
static int
parse_uint(const char *v, uint64_t *out)
{
    char *end;
    if (*v < '0' || *v > '9') {
        return -1;
    }
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    *out = errno == ERANGE ? UINT64_MAX : n;
    return (int)(end - v);
}

static int
parse_addr(struct config_addr *out, const char *v, char *err, const char *name)
{
    struct config_addr parsed;
    struct config_addr *a = &parsed;
    char host[64];
    const char *colon;
    const char *h = v;
    size_t hlen;
    uint64_t port = 0;

    memset(a, 0, sizeof(*a));
    if (*v == '[') {
        const char *close = strchr(v, ']');
        if (close == NULL || close[1] != ':') {
            goto bad;
        }
        h = v + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(v, ':');
        if (colon == NULL) {
            goto bad;
        }
        hlen = (size_t)(colon - v);
    }
    if (hlen == 0 || hlen >= sizeof(host) ||
        parse_uint(colon + 1, &port) != (int)strlen(colon + 1) ||
        port > 65535) {
        goto bad;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    bool bracketed = h != v;
    if (strcmp(host, "*") == 0 && !bracketed) {
        strcpy(host, "0.0.0.0");
    }
    struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
    /* An IPv6 address in brackets only (RFC 3986 §3.2.2): "::1:80"
     * would read as [::1]:80 or as [::1:80] without a port. IPv4 and
     * * go bare. */
    if (!bracketed && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        a->len = sizeof(*sin);
    } else if (bracketed && inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        a->len = sizeof(*sin6);
    } else {
        goto bad;
    }
    if (strlen(v) >= sizeof(a->text)) {
        goto bad;
    }
    strcpy(a->text, v);
    *out = parsed;
    return 0;
bad:
    snprintf(err, CONFIG_PROBLEM_MAX,
             "%s: \"%s\" is not ADDR:PORT (an IPv4 address, [IPv6] or *, "
             "and a port 0-65535)",
             name, v);
    return -1;
}

static int
parse_number(const struct config_directive *d, const char *v, uint64_t *out,
             char *err)
{
    uint64_t n;
    int len = parse_uint(v, &n);
    uint64_t unit = 1;

    if (len < 0) {
        goto bad;
    }
    if (d->type == CONFIG_BYTES && v[len] != '\0' && v[len + 1] == '\0') {
        switch (v[len]) {
        case 'k':
        case 'K':
            unit = KiB;
            break;
        case 'm':
        case 'M':
            unit = MiB;
            break;
        case 'g':
        case 'G':
            unit = GiB;
            break;
        default:
            goto bad;
        }
        len++;
    }
    if (v[len] != '\0') {
        goto bad;
    }
    n = n > UINT64_MAX / unit ? UINT64_MAX : n * unit;
    if (n < d->min || n > d->max) {
        snprintf(err, CONFIG_PROBLEM_MAX,
                 "%s: %s is out of range (%" PRIu64 " to %" PRIu64 ")", d->name,
                 v, d->min, d->max);
        return -1;
    }
    *out = n;
    return 0;
bad:
    snprintf(err, CONFIG_PROBLEM_MAX, "%s: \"%s\" is not %s", d->name, v,
             d->type == CONFIG_BYTES ? "a size (a number, optionally with k, "
                                       "m or g)"
                                     : "a non-negative integer");
    return -1;
}

/*
 * name as an absolute file name in out[0..CONFIG_FILE_MAX): as it is when
 * it starts with '/', else after dir (NULL: the current directory).
 * Returns 0, or -1 with errno set: ENAMETOOLONG, or getcwd's error.
 */
static int
absolute_file(const char *name, const char *dir, char *out)
{
    char cwd[CONFIG_FILE_MAX];

    if (name[0] == '/') {
        dir = "";
    }
    while (name[0] == '.' && name[1] == '/') {
        name += 2 + strspn(name + 2, "/");
    }
    if (dir == NULL) {
        if (getcwd(cwd, sizeof(cwd)) == NULL) {
            return -1;
        }
        dir = cwd;
    }
    size_t dlen = strlen(dir);
    const char *sep = dlen > 0 && dir[dlen - 1] != '/' ? "/" : "";
    int n = snprintf(out, CONFIG_FILE_MAX, "%s%s%s", dir, sep, name);
    if (n < 0 || n >= CONFIG_FILE_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* Sets a file directive, "" for none: see absolute_file. */
static int
set_file(const struct config_directive *d, char *field, const char *value,
         const char *dir, char *err)
{
    char name[CONFIG_FILE_MAX];

    if (value[0] == '\0') {
        field[0] = '\0';
        return 0;
    }
    if (absolute_file(value, dir, name) != 0) {
        if (errno == ENAMETOOLONG) {
            snprintf(err, CONFIG_PROBLEM_MAX,
                     "%s: file name longer than %d bytes%s", d->name,
                     CONFIG_FILE_MAX - 1,
                     value[0] == '/' ? "" : " (made absolute)");
        } else {
            snprintf(err, CONFIG_PROBLEM_MAX,
                     "%s: \"%s\" is relative, and the current directory is "
                     "unknown: %s",
                     d->name, value, strerror(errno));
        }
        return -1;
    }
    strcpy(field, name);
    return 0;
}

/* log, access_log or case_log: stderr, syslog or off as the directive
 * allows, else a file name, made absolute now (a daemon's working
 * directory is /). */
static int
set_log(const struct config_directive *d, char *field, const char *value,
        const char *dir, char *err)
{
    if ((d->type == CONFIG_LOG &&
         (strcmp(value, "stderr") == 0 || strcmp(value, "syslog") == 0)) ||
        (d->type == CONFIG_LOG_OFF && strcmp(value, "off") == 0)) {
        strcpy(field, value);
        return 0;
    }
    /* "on" and "off" are mistakes more often than file names. */
    if (value[0] == '\0' || strcmp(value, "on") == 0 ||
        strcmp(value, "off") == 0) {
        snprintf(err, CONFIG_PROBLEM_MAX, "%s: \"%s\" is not %s%s%s%s", d->name,
                 value,
                 d->type == CONFIG_LOG ? "stderr, syslog or a file name"
                                       : "off or a file name",
                 value[0] != '\0' ? " (./" : "", value,
                 value[0] != '\0' ? " names a file of that name)" : "");
        return -1;
    }
    return set_file(d, field, value, dir, err);
}

/* The endpoint's URL path. */
static int
set_path(const struct config_directive *d, char *field, const char *value,
         char *err)
{
    if (value[0] != '/' || strlen(value) >= CONFIG_PATH_MAX ||
        strpbrk(value, "?# \t\r\n") != NULL) {
        snprintf(err, CONFIG_PROBLEM_MAX,
                 "%s: \"%s\" is not an absolute path without query "
                 "(at most %d bytes)",
                 d->name, value, CONFIG_PATH_MAX - 1);
        return -1;
    }
    strcpy(field, value);
    return 0;
}

/* A string of at most d->max - 1 bytes without control characters. */
static int
set_string(const struct config_directive *d, char *field, const char *value,
           char *err)
{
    size_t len = strlen(value);

    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f) {
            snprintf(err, CONFIG_PROBLEM_MAX,
                     "%s: control characters are not allowed", d->name);
            return -1;
        }
    }
    if (len >= d->max) {
        snprintf(err, CONFIG_PROBLEM_MAX, "%s: longer than %" PRIu64 " bytes",
                 d->name, d->max - 1);
        return -1;
    }
    memcpy(field, value, len + 1);
    return 0;
}

static int
set_level(struct config *cfg, const struct config_directive *d,
          const char *value, char *err)
{
    int level = log_level_from_name(value);

    if (level < 0) {
        snprintf(err, CONFIG_PROBLEM_MAX,
                 "%s: \"%s\" is not one of debug info notice warn error "
                 "crit alert",
                 d->name, value);
        return -1;
    }
    cfg->log_level = level;
    return 0;
}

/*
 * Sets directive name from value; relative file names are taken from dir
 * (NULL: the current directory).
 */
static int
set_directive(struct config *cfg, const char *name, const char *value,
              const char *dir, char *err)
{
    const struct config_directive *d = lookup(name);
    char *field;
    uint64_t n;

    if (d == NULL) {
        snprintf(err, CONFIG_PROBLEM_MAX, "%s: unknown directive", name);
        return -1;
    }
    field = (char *)cfg + d->offset;
    switch (d->type) {
    case CONFIG_ADDR:
        if (parse_addr((struct config_addr *)(void *)field, value, err,
                       d->name) != 0) {
            return -1;
        }
        if (d->offset == OFF(tls_listen)) {
            cfg->tls_listen_given = true;
        }
        return 0;
    case CONFIG_FILE:
        return set_file(d, field, value, dir, err);
    case CONFIG_LOG:
    case CONFIG_LOG_OFF:
        return set_log(d, field, value, dir, err);
    case CONFIG_PATH:
        return set_path(d, field, value, err);
    case CONFIG_WORKERS:
        if (strcmp(value, "auto") == 0) {
            cfg->workers_auto = true;
            cfg->workers = 0;
            return 0;
        }
        if (parse_number(d, value, &n, err) != 0) {
            return -1;
        }
        cfg->workers_auto = false;
        cfg->workers = (unsigned)n;
        return 0;
    case CONFIG_UINT:
    case CONFIG_BYTES:
    case CONFIG_MS:
        if (parse_number(d, value, &n, err) != 0) {
            return -1;
        }
        memcpy(field, &n, sizeof(n));
        return 0;
    case CONFIG_ADDR_OFF:
        if (strcmp(value, "off") == 0) {
            memset(field, 0, sizeof(struct config_addr));
            strcpy(((struct config_addr *)(void *)field)->text, "off");
            return 0;
        }
        return parse_addr((struct config_addr *)(void *)field, value, err,
                          d->name);
    case CONFIG_STRING:
        return set_string(d, field, value, err);
    case CONFIG_BOOL:
        if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0) {
            snprintf(err, CONFIG_PROBLEM_MAX, "%s: \"%s\" is not on or off",
                     d->name, value);
            return -1;
        }
        *(bool *)(void *)field = value[1] == 'n';
        return 0;
    case CONFIG_LEVEL:
        return set_level(cfg, d, value, err);
    }
    snprintf(err, CONFIG_PROBLEM_MAX, "%s: unhandled type", name);
    return -1;
}

int
config_set(struct config *cfg, const char *name, const char *value, char *err)
{
    char msg[CONFIG_PROBLEM_MAX];
    int rc = set_directive(cfg, name, value, NULL, msg);
    if (rc != 0) {
        snprintf(err, CONFIG_ERROR_MAX, "%s", msg);
    }
    return rc;
}

void
config_init(struct config *cfg)
{
    char err[CONFIG_ERROR_MAX];

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < N_DIRECTIVES; i++) {
        const struct config_directive *d = &config_directives[i];
        if (config_set(cfg, d->name, d->def, err) != 0) {
            /* A default the parser refuses is a bug in the table. */
            log_msg(LOG_LEVEL_ALERT, "bad built-in default: %s", err);
            abort();
        }
    }
    /* Only a tls_listen the user gives counts as asking for TLS. */
    cfg->tls_listen_given = false;
}

/*
 * Splits a line into directive and value in place; NULL, or what is
 * wrong with it. A value may be written in double quotes (no quote
 * inside), so that it can be empty or hold spaces or '#'; a quote
 * elsewhere is refused rather than taken as part of the value.
 */
static const char *
split_line(char *line, char **name, char **value)
{
    char *p = line;
    char *end;

    while (*p == ' ' || *p == '\t') {
        p++;
    }
    *name = p;
    while (*p != '\0' && *p != ' ' && *p != '\t') {
        p++;
    }
    if (*p == '\0') {
        return "missing value";
    }
    *p++ = '\0';
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    *value = p;
    end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        *--end = '\0';
    }
    size_t vlen = strlen(p);
    if (vlen >= 2 && p[0] == '"' && p[vlen - 1] == '"') {
        /* A quoted value, so that an empty one can be written. */
        p[vlen - 1] = '\0';
        *value = p + 1;
    }
    if (strchr(*value, '"') != NULL) {
        return "a double quote may only enclose the whole value";
    }
    return **value != '\0' || *value != p ? NULL : "missing value";
}

/* config_load_file, with relative file names taken from dir; item: see
 * config.set_item. */
static int
load_file(struct config *cfg, const char *path, const char *dir, uint32_t item,
          char *err)
{
    char line[CONFIG_LINE_MAX + 2];
    char msg[CONFIG_PROBLEM_MAX];
    unsigned lineno = 0;
    int rc = 0;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        snprintf(err, CONFIG_ERROR_MAX, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        size_t len = strlen(line);
        char *name;
        char *value;

        lineno++;
        if (len > 0 && line[len - 1] == '\n') {
            line[--len] = '\0';
        } else if (!feof(f)) {
            snprintf(err, CONFIG_ERROR_MAX, "%s:%u: line over %d bytes", path,
                     lineno, CONFIG_LINE_MAX);
            rc = -1;
            break;
        }
        if (len > 0 && line[len - 1] == '\r') {
            line[--len] = '\0';
        }
        /* A comment starts at the first '#' outside double quotes. */
        bool quoted = false;
        for (char *p = line; *p != '\0'; p++) {
            if (*p == '"') {
                quoted = !quoted;
            } else if (*p == '#' && !quoted) {
                *p = '\0';
                break;
            }
        }
        if (strspn(line, " \t") == strlen(line)) {
            continue;
        }
        const char *bad = split_line(line, &name, &value);
        if (quoted) {
            bad = "a double quote is not closed";
        }
        if (bad != NULL) {
            snprintf(err, CONFIG_ERROR_MAX, "%s:%u: %s: %s", path, lineno, name,
                     bad);
            rc = -1;
        } else if (set_directive(cfg, name, value, dir, msg) != 0) {
            snprintf(err, CONFIG_ERROR_MAX, "%s:%u: %s", path, lineno, msg);
            rc = -1;
        } else {
            /* Outside config_build (item 0), nothing to locate. */
            set_origin(cfg, name, item, item != 0 ? lineno : 0);
        }
    }
    if (rc == 0 && ferror(f)) {
        /* A directory opens, and its first read says so (EISDIR). */
        snprintf(err, CONFIG_ERROR_MAX, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    fclose(f);
    return rc;
}

int
config_load_file(struct config *cfg, const char *path, char *err)
{
    return load_file(cfg, path, NULL, 0, err);
}

int
config_file_name(const char *name, const char *dir, char *out, char *err)
{
    if (absolute_file(name, dir, out) == 0) {
        return 0;
    }
    snprintf(err, CONFIG_ERROR_MAX, "%.*s: %s", CONFIG_PROBLEM_MAX, name,
             errno == ENAMETOOLONG
                 ? "file name too long once made absolute"
                 : "relative, and the current directory is unknown");
    return -1;
}

int
config_build(struct config *cfg, const struct config_item *items, size_t n,
             char *err)
{
    char path[CONFIG_FILE_MAX];
    char msg[CONFIG_PROBLEM_MAX];

    config_init(cfg);
    for (size_t i = 0; i < n; i++) {
        const struct config_item *it = &items[i];
        int rc;
        if (it->name == NULL) {
            rc = config_file_name(it->value, it->dir, path, err);
            rc = rc != 0 ? rc
                         : load_file(cfg, path, it->dir, (uint32_t)i + 1, err);
        } else {
            rc = set_directive(cfg, it->name, it->value, it->dir, msg);
            if (rc != 0) {
                snprintf(err, CONFIG_ERROR_MAX, "%s", msg);
            }
            set_origin(cfg, it->name, 0, 0);
        }
        if (rc != 0) {
            return -1;
        }
    }
    if (config_finish(cfg, err) != 0) {
        config_locate(cfg, items, n, err);
        return -1;
    }
    return 0;
}

void
config_locate(const struct config *cfg, const struct config_item *items,
              size_t n, char *err)
{
    char name[CONFIG_NAME_MAX];
    char path[CONFIG_FILE_MAX];
    char msg[CONFIG_ERROR_MAX];
    size_t len = strcspn(err, ": ");

    if (len == 0 || len >= sizeof(name)) {
        return;
    }
    memcpy(name, err, len);
    name[len] = '\0';
    const struct config_directive *d = lookup(name);
    if (d == NULL) {
        return;
    }
    uint32_t item = cfg->set_item[d - config_directives];
    if (item == 0 || item > n || items[item - 1].name != NULL ||
        config_file_name(items[item - 1].value, items[item - 1].dir, path,
                         msg) != 0) {
        return;
    }
    snprintf(msg, sizeof(msg), "%s:%" PRIu32 ": %s", path,
             cfg->set_line[d - config_directives], err);
    memcpy(err, msg, sizeof(msg));
}

int
config_reloadable(const struct config *cur, const struct config *next,
                  char *err)
{
    /* The shared segment is sized for the workers and records, and the
     * process setup is done once: these need a restart. */
    const char *what = cur->workers != next->workers           ? "workers"
                       : cur->stats_cases != next->stats_cases ? "stats_cases"
                       : cur->case_request_bytes != next->case_request_bytes
                           ? "case_request_bytes"
                       : cur->case_wirelog != next->case_wirelog
                           ? "case_wirelog"
                       : cur->daemon != next->daemon              ? "daemon"
                       : strcmp(cur->pidfile, next->pidfile) != 0 ? "pidfile"
                                                                  : NULL;
    if (what != NULL) {
        snprintf(err, CONFIG_ERROR_MAX,
                 "%s: a changed value needs a restart, not a reload", what);
        return -1;
    }
    return 0;
}

bool
config_addr_is_loopback(const struct config_addr *a)
{
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return false;
}

/* The token is the file's first line, without its line end. */
static int
read_token_file(struct config *cfg, char *err)
{
    char line[CONFIG_TOKEN_MAX + 2];
    FILE *f = fopen(cfg->admin_token_file, "r");

    if (f == NULL) {
        snprintf(err, CONFIG_ERROR_MAX, "admin_token_file %.400s: %s",
                 cfg->admin_token_file, strerror(errno));
        return -1;
    }
    if (fgets(line, sizeof(line), f) == NULL) {
        line[0] = '\0';
    }
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '\0' || strlen(line) >= CONFIG_TOKEN_MAX) {
        snprintf(err, CONFIG_ERROR_MAX,
                 "admin_token_file %.400s: the first line must hold a token "
                 "of 1 to %d bytes",
                 cfg->admin_token_file, CONFIG_TOKEN_MAX - 1);
        return -1;
    }
    strcpy(cfg->admin_token, line);
    return 0;
}

bool
config_tls_is_on(const struct config *cfg)
{
    return cfg->tls_certificate[0] != '\0';
}

bool
config_addr_is_wildcard(const struct config_addr *a)
{
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
        return sin->sin_addr.s_addr == htonl(INADDR_ANY);
    }
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
    return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
}

bool
config_addr_overlaps(const struct config_addr *a, const struct config_addr *b)
{
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)&a->ss;
    const struct sockaddr_in *b4 = (const struct sockaddr_in *)&b->ss;
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&a->ss;
    const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)&b->ss;

    if (a->ss.ss_family != b->ss.ss_family) {
        return false;
    }
    if (a->ss.ss_family == AF_INET) {
        return a4->sin_port != 0 && a4->sin_port == b4->sin_port &&
               (a4->sin_addr.s_addr == b4->sin_addr.s_addr ||
                config_addr_is_wildcard(a) || config_addr_is_wildcard(b));
    }
    return a6->sin6_port != 0 && a6->sin6_port == b6->sin6_port &&
           (memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) ==
                0 ||
            config_addr_is_wildcard(a) || config_addr_is_wildcard(b));
}

/* user and group by name (or number), into uid and gid. */
static int
resolve_user(struct config *cfg, char *err)
{
    if (cfg->user[0] == '\0') {
        if (cfg->group[0] != '\0') {
            snprintf(err, CONFIG_ERROR_MAX, "group: needs user");
            return -1;
        }
        return 0;
    }
    errno = 0;
    const struct passwd *pw = getpwnam(cfg->user);
    if (pw == NULL) {
        snprintf(err, CONFIG_ERROR_MAX, "user: \"%s\": %s", cfg->user,
                 errno != 0 ? strerror(errno) : "no such user");
        return -1;
    }
    cfg->uid = pw->pw_uid;
    cfg->gid = pw->pw_gid;
    if (cfg->group[0] != '\0') {
        errno = 0;
        const struct group *gr = getgrnam(cfg->group);
        if (gr == NULL) {
            snprintf(err, CONFIG_ERROR_MAX, "group: \"%s\": %s", cfg->group,
                     errno != 0 ? strerror(errno) : "no such group");
            return -1;
        }
        cfg->gid = gr->gr_gid;
    }
    return 0;
}

/*
 * case_log writes each line from the case's record, and shares its file
 * with no other log: their lines would not be JSON, and the case log's,
 * of a whole record each, would swamp the others.
 */
static int
check_case_log(const struct config *cfg, char *err)
{
    if (strcmp(cfg->case_log, "off") == 0) {
        return 0;
    }
    if (cfg->stats_cases == 0) {
        snprintf(err, CONFIG_ERROR_MAX,
                 "case_log: needs stats_cases above 0 (each line is the "
                 "case's record)");
        return -1;
    }
    const char *other = strcmp(cfg->case_log, cfg->log) == 0 ? "log"
                        : strcmp(cfg->case_log, cfg->access_log) == 0
                            ? "access_log"
                            : NULL;
    if (other != NULL) {
        snprintf(err, CONFIG_ERROR_MAX,
                 "case_log: %.400s is the %s file too (each needs its own)",
                 cfg->case_log, other);
        return -1;
    }
    return 0;
}

int
config_finish(struct config *cfg, char *err)
{
    if (cfg->workers_auto) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->workers = n < 1                    ? 1
                       : n > CONFIG_WORKERS_MAX ? CONFIG_WORKERS_MAX
                                                : (unsigned)n;
    }
    if (cfg->admin_token_file[0] != '\0' && read_token_file(cfg, err) != 0) {
        return -1;
    }
    /* A bearer token is one word of visible characters (RFC 6750 §2.1):
     * a space, a tab or a control character could never arrive intact in
     * an Authorization header (its ends are trimmed), and the endpoint
     * would refuse every request. */
    for (const char *t = cfg->admin_token; *t != '\0'; t++) {
        unsigned char ch = (unsigned char)*t;
        if (ch <= 0x20 || ch == 0x7f) {
            snprintf(err, CONFIG_ERROR_MAX,
                     "%s: a token is one word of visible characters, and "
                     "this one holds %s",
                     cfg->admin_token_file[0] != '\0' ? "admin_token_file"
                                                      : "admin_token",
                     ch == ' '    ? "a space"
                     : ch == '\t' ? "a tab"
                                  : "a control character");
            return -1;
        }
    }
    /* Statistics name peers and paths: off loopback they are not for
     * everyone. */
    if (cfg->admin_listen.len != 0 && cfg->admin_token[0] == '\0' &&
        !config_addr_is_loopback(&cfg->admin_listen)) {
        snprintf(err, CONFIG_ERROR_MAX,
                 "admin_listen %s is not a loopback address: set admin_token "
                 "or admin_token_file",
                 cfg->admin_listen.text);
        return -1;
    }
    /* The kernel would refuse the second socket, but the message would
     * blame another process: say which directives collide instead. */
    if (cfg->admin_listen.len != 0 &&
        config_addr_overlaps(&cfg->admin_listen, &cfg->listen)) {
        snprintf(err, CONFIG_ERROR_MAX,
                 "admin_listen: %s takes the port of listen %s",
                 cfg->admin_listen.text, cfg->listen.text);
        return -1;
    }
    if (cfg->admin_listen.len != 0 && config_tls_is_on(cfg) &&
        config_addr_overlaps(&cfg->admin_listen, &cfg->tls_listen)) {
        snprintf(err, CONFIG_ERROR_MAX,
                 "admin_listen: %s takes the port of tls_listen %s",
                 cfg->admin_listen.text, cfg->tls_listen.text);
        return -1;
    }
    if (resolve_user(cfg, err) != 0) {
        return -1;
    }
    if (strcmp(cfg->access_log, "off") != 0 && cfg->stats_cases == 0) {
        snprintf(err, CONFIG_ERROR_MAX,
                 "access_log: needs stats_cases above 0 (each line is "
                 "written from the connection's record)");
        return -1;
    }
    if (check_case_log(cfg, err) != 0) {
        return -1;
    }
    /* A daemon's stderr is /dev/null: syslog is the destination that
     * works without a file to choose. */
    cfg->log_syslog_default = cfg->daemon && strcmp(cfg->log, "stderr") == 0;
    if (cfg->log_syslog_default) {
        strcpy(cfg->log, "syslog");
    }
    if (!config_tls_is_on(cfg)) {
        if (cfg->tls_listen_given) {
            snprintf(err, CONFIG_ERROR_MAX,
                     "tls_listen: TLS is off without tls_certificate");
            return -1;
        }
        if (cfg->tls_certificate_key[0] != '\0') {
            snprintf(err, CONFIG_ERROR_MAX,
                     "tls_certificate_key: TLS is off without "
                     "tls_certificate");
            return -1;
        }
        return 0;
    }
    if (cfg->tls_certificate_key[0] == '\0') {
        snprintf(err, CONFIG_ERROR_MAX,
                 "tls_certificate_key: missing (tls_certificate needs its "
                 "private key)");
        return -1;
    }
    if (config_addr_overlaps(&cfg->listen, &cfg->tls_listen)) {
        snprintf(err, CONFIG_ERROR_MAX,
                 "tls_listen: %s takes the port of listen %s (ws:// and "
                 "wss:// need their own)",
                 cfg->tls_listen.text, cfg->listen.text);
        return -1;
    }
    return 0;
}

void
config_print_files(const struct config *cfg)
{
    for (size_t i = 0; i < N_DIRECTIVES; i++) {
        const struct config_directive *d = &config_directives[i];
        const char *v = (const char *)cfg + d->offset;
        if ((d->type == CONFIG_FILE || d->type == CONFIG_LOG ||
             d->type == CONFIG_LOG_OFF) &&
            v[0] == '/') {
            printf("wsd: %s %s\n", d->name, v);
        }
    }
}

void
config_print_help(void)
{
    printf("Directives (--name value; - and _ are interchangeable):\n");
    for (size_t i = 0; i < N_DIRECTIVES; i++) {
        const struct config_directive *d = &config_directives[i];
        printf("  --%-24s %s (default %s)\n", d->name, d->help,
               d->def[0] != '\0' ? d->def : "unset");
    }
}
