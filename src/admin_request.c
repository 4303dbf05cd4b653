/* SPDX-License-Identifier: MIT */
/*
 * Routing and argument parsing of admin requests, apart from HTTP.
 */
#include "autoconf.h"

#include "admin_request.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ws_handshake.h"

/* A whole decimal number in [1, max] from p[0..len), or 0. */
static uint64_t
parse_id(const char *p, size_t len, uint64_t max)
{
    uint64_t n = 0;

    if (len == 0 || len > 19) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
        n = n * 10 + (uint64_t)(p[i] - '0');
    }
    return n <= max ? n : 0;
}

/* Whether p[0..len) is all '0' (after=0, after=00: from the start). */
static bool
all_zeros(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != '0') {
            return false;
        }
    }
    return true;
}

static int
hex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/*
 * Decodes p[0..len) (%HH escapes, '+' as a space) into out[0..cap).
 * Returns the decoded length, or -1 for a malformed escape or a result
 * longer than cap (no value of ours is long).
 */
static int
decode(const char *p, size_t len, char *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '%') {
            if (len - i < 3) {
                return -1;
            }
            int h = hex(p[i + 1]);
            int l = hex(p[i + 2]);
            if (h < 0 || l < 0) {
                return -1;
            }
            c = (char)(h * 16 + l);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (n == cap) {
            return -1;
        }
        out[n++] = c;
    }
    return (int)n;
}

/* A Sec-WebSocket-Key from a query value (vlen bytes; -1: none) into
 * key: base64 only, a space taken for the '+' an unescaped URL turned
 * into one. */
static bool
parse_key(const char *value, int vlen, char key[32])
{
    if (vlen <= 0 || vlen >= 32) {
        return false;
    }
    for (int i = 0; i < vlen; i++) {
        char c = value[i] == ' ' ? '+' : value[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=')) {
            return false;
        }
        key[i] = c;
    }
    key[vlen] = '\0';
    return true;
}

/*
 * The query of a request to route r->route: after, before, limit and key
 * for /v1/cases, nothing for the others. Returns 0, or 400 with *message.
 */
static int
parse_query(const char *query, struct admin_request *r, const char **message)
{
    bool takes_cases = r->route == ADMIN_ROUTE_CASES;
    bool seen_after = false;
    bool seen_before = false;
    bool seen_limit = false;

    for (const char *p = query; p != NULL && *p != '\0';) {
        const char *amp = strchr(p, '&');
        size_t plen = amp != NULL ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', plen);
        size_t klen_raw = eq != NULL ? (size_t)(eq - p) : plen;
        char key[8];
        char value[sizeof(r->key)];
        /* A key too long or malformed is none of ours: refused below. */
        int klen = decode(p, klen_raw, key, sizeof(key));
        int vlen = eq != NULL ? decode(eq + 1, plen - klen_raw - 1, value,
                                       sizeof(value))
                              : -1;
        p = amp != NULL ? amp + 1 : p + plen;
        if (plen == 0) {
            continue; /* "a=1&&b=2": nothing between the two */
        }
        /* A parameter given twice is ambiguous: refused, whichever the
         * values. */
        if (takes_cases && klen == 5 && memcmp(key, "after", 5) == 0) {
            if (seen_after) {
                *message = "after is given twice";
                return 400;
            }
            seen_after = true;
            if (vlen > 0 && all_zeros(value, (size_t)vlen)) {
                r->after = 0;
            } else if (vlen <= 0 ||
                       (r->after = parse_id(value, (size_t)vlen,
                                            UINT64_MAX / 2)) == 0) {
                *message = "after must be a case id (a whole number)";
                return 400;
            }
        } else if (takes_cases && klen == 6 && memcmp(key, "before", 6) == 0) {
            if (seen_before) {
                *message = "before is given twice";
                return 400;
            }
            seen_before = true;
            if (vlen <= 0 || (r->before = parse_id(value, (size_t)vlen,
                                                   UINT64_MAX / 2)) == 0) {
                *message = "before must be a case id above 0 (a whole "
                           "number)";
                return 400;
            }
        } else if (takes_cases && klen == 5 && memcmp(key, "limit", 5) == 0) {
            if (seen_limit) {
                *message = "limit is given twice";
                return 400;
            }
            seen_limit = true;
            if (vlen <= 0 || (r->limit = parse_id(value, (size_t)vlen,
                                                  ADMIN_CASES_MAX)) == 0) {
                *message = "limit must be 1 to 1000";
                return 400;
            }
        } else if (takes_cases && klen == 3 && memcmp(key, "key", 3) == 0) {
            if (r->key[0] != '\0') {
                *message = "key is given twice";
                return 400;
            }
            if (!parse_key(value, vlen, r->key)) {
                *message = "key must be a Sec-WebSocket-Key (base64, "
                           "'+' written %2B)";
                return 400;
            }
        } else {
            *message = takes_cases ? "unknown query parameter: /v1/cases "
                                     "takes after, before, limit and key"
                                   : "unknown query parameter: this resource "
                                     "takes none";
            return 400;
        }
    }
    return 0;
}

/* A 404 naming the path (quoted: a client chose it) and the resources. */
static int
not_found(const char *path, struct admin_request *r, const char **message)
{
    char quoted[WS_QUOTED_PATH_MAX + 1];

    ws_handshake_quote_path(quoted, path, strlen(path));
    snprintf(r->message, sizeof(r->message),
             "no such resource: %s; try / (the console), /v1/stats, "
             "/v1/events, /v1/cases, /v1/cases/ID, /v1/cases/ID/autobahn, "
             "/v1/cases/ID/report or /metrics",
             quoted[0] != '\0' ? quoted : "(an empty path)");
    *message = r->message;
    return 404;
}

/* /v1/cases/ID and what follows the id: nothing, /autobahn or /report. */
static int
parse_case_path(const char *path, const char *rest, struct admin_request *r,
                const char **message)
{
    const char *slash = strchr(rest, '/');
    size_t id_len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);

    if (slash == NULL) {
        r->route = ADMIN_ROUTE_CASE;
    } else if (strcmp(slash, "/autobahn") == 0) {
        r->route = ADMIN_ROUTE_CASE_AUTOBAHN;
    } else if (strcmp(slash, "/report") == 0) {
        r->route = ADMIN_ROUTE_CASE_REPORT;
    } else {
        return not_found(path, r, message);
    }
    r->id = parse_id(rest, id_len, UINT64_MAX / 2);
    if (r->id == 0) {
        *message = "a case id is a whole number from 1";
        return 400;
    }
    return 0;
}

/* /console/NAME: a plain file name, or a 404. */
static int
parse_asset(const char *path, const char *name, struct admin_request *r,
            const char **message)
{
    size_t len = strlen(name);

    if (len == 0 || len >= sizeof(r->asset) || name[0] == '.') {
        return not_found(path, r, message);
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')) {
            return not_found(path, r, message);
        }
    }
    memcpy(r->asset, name, len + 1);
    r->route = ADMIN_ROUTE_CONSOLE;
    return 0;
}

int
admin_request_parse(const char *path, const char *query,
                    struct admin_request *r, const char **message)
{
    static const char cases_prefix[] = "/v1/cases/";
    static const char console_prefix[] = "/console/";

    memset(r, 0, sizeof(*r));
    r->limit = ADMIN_CASES_DEFAULT;
    if (path == NULL) {
        *message = "malformed request target";
        return 400;
    }
    if (strcmp(path, "/v1/stats") == 0) {
        r->route = ADMIN_ROUTE_STATS;
    } else if (strcmp(path, "/v1/events") == 0) {
        r->route = ADMIN_ROUTE_EVENTS;
    } else if (strcmp(path, "/") == 0) {
        r->route = ADMIN_ROUTE_CONSOLE;
        memcpy(r->asset, "index.html", sizeof("index.html"));
    } else if (strncmp(path, console_prefix, sizeof(console_prefix) - 1) == 0) {
        int status =
            parse_asset(path, path + sizeof(console_prefix) - 1, r, message);
        if (status != 0) {
            return status;
        }
    } else if (strcmp(path, "/metrics") == 0) {
        r->route = ADMIN_ROUTE_METRICS;
    } else if (strncmp(path, cases_prefix, sizeof(cases_prefix) - 1) == 0) {
        int status =
            parse_case_path(path, path + sizeof(cases_prefix) - 1, r, message);
        if (status != 0) {
            return status;
        }
    } else if (strcmp(path, "/v1/cases") == 0) {
        r->route = ADMIN_ROUTE_CASES;
    } else {
        return not_found(path, r, message);
    }
    return parse_query(query, r, message);
}

/* The host of a Host value without its ":port" (digits, at least one),
 * into out[0..cap): brackets kept. False when the form is wrong. */
static bool
host_part(const char *value, char *out, size_t cap)
{
    const char *end = value + strlen(value);
    const char *colon =
        value[0] == '[' ? strchr(value, ']') : strrchr(value, ':');

    if (value[0] == '[') {
        if (colon == NULL) {
            return false;
        }
        colon++; /* past the bracket: the port's colon, or the end */
        if (*colon != ':' && *colon != '\0') {
            return false;
        }
    }
    if (colon != NULL && *colon == ':') {
        if (colon[1] == '\0' ||
            strspn(colon + 1, "0123456789") != (size_t)(end - colon - 1)) {
            return false;
        }
        end = colon;
    }
    size_t len = (size_t)(end - value);
    if (len == 0 || len >= cap) {
        return false;
    }
    memcpy(out, value, len);
    out[len] = '\0';
    return true;
}

bool
admin_host_is_loopback(const char *value)
{
    char host[256];
    struct in_addr v4;
    struct in6_addr v6;

    if (value == NULL || !host_part(value, host, sizeof(host))) {
        return false;
    }
    size_t len = strlen(host);
    if (host[0] == '[') {
        if (host[len - 1] != ']') {
            return false;
        }
        host[len - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &v6) != 1) {
            return false;
        }
        if (IN6_IS_ADDR_V4MAPPED(&v6)) {
            return v6.s6_addr[12] == 127;
        }
        return IN6_IS_ADDR_LOOPBACK(&v6);
    }
    if (inet_pton(AF_INET, host, &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    if (host[len - 1] == '.') {
        host[--len] = '\0';
    }
    static const char name[] = "localhost";
    size_t n = sizeof(name) - 1;
    return (len == n && strcasecmp(host, name) == 0) ||
           (len > n + 1 && host[len - n - 1] == '.' &&
            strcasecmp(host + len - n, name) == 0);
}

const char *
admin_bearer(const char *value, size_t *len)
{
    static const char scheme[] = "Bearer";

    if (value == NULL || strncasecmp(value, scheme, sizeof(scheme) - 1) != 0 ||
        value[sizeof(scheme) - 1] != ' ') {
        return NULL;
    }
    value += sizeof(scheme) - 1;
    while (*value == ' ') {
        value++;
    }
    *len = strlen(value);
    return *len > 0 ? value : NULL;
}
