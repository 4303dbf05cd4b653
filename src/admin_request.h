/* SPDX-License-Identifier: MIT */
/*
 * What an admin request asks for, parsed from its path, query string and
 * Authorization header: pure (no libevent, no allocation), so that it is
 * unit-tested and fuzzed on its own. HTTP itself is evhttp's (admin.c).
 */
#ifndef WSD_ADMIN_REQUEST_H
#define WSD_ADMIN_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADMIN_CASES_DEFAULT 100  /* cases per /v1/cases page */
#define ADMIN_CASES_MAX     1000 /* the most a page may ask for */

enum admin_route {
    ADMIN_ROUTE_STATS, /* /v1/stats */
    ADMIN_ROUTE_CASES, /* /v1/cases?after=ID&before=ID&limit=N&key=KEY */
    ADMIN_ROUTE_CASE,  /* /v1/cases/ID */
    ADMIN_ROUTE_CASE_AUTOBAHN, /* /v1/cases/ID/autobahn */
    ADMIN_ROUTE_CASE_REPORT,   /* /v1/cases/ID/report (HTML) */
    ADMIN_ROUTE_METRICS,       /* /metrics */
    ADMIN_ROUTE_EVENTS,        /* /v1/events (server-sent events) */
    ADMIN_ROUTE_CONSOLE,       /* / and /console/NAME: the console's files */
};

/* The longest name of a console file (/console/NAME). */
#define ADMIN_ASSET_MAX 32

/* Room for a refusal that quotes the path (ws_handshake_quote_path). */
#define ADMIN_MESSAGE_MAX 256

struct admin_request {
    enum admin_route route;
    uint64_t id;     /* ADMIN_ROUTE_CASE*: from 1 */
    uint64_t after;  /* ADMIN_ROUTE_CASES: list ids above it (0: all) */
    uint64_t before; /* and below it (0: no bound); the newest of them */
    uint64_t limit;  /* ADMIN_ROUTE_CASES: 1 to ADMIN_CASES_MAX */
    char key[32];    /* ADMIN_ROUTE_CASES: only the case with this
                        Sec-WebSocket-Key; "": any */
    char asset[ADMIN_ASSET_MAX];     /* ADMIN_ROUTE_CONSOLE: the file's name,
                                        "index.html" for / */
    char message[ADMIN_MESSAGE_MAX]; /* a refusal's, when it quotes */
};

/*
 * Routes path (NUL-terminated, without the query; NULL when the request
 * target could not be parsed) with query (NULL or "" for none: key=value
 * pairs joined by '&', %HH escapes decoded, the first of a repeated key
 * wins; /v1/cases takes after, before, limit and key, the other routes no key).
 * Returns 0 with *r filled, or the HTTP status to answer (400 for a bad
 * target, id or limit, or a key the route does not take; 404 for an
 * unknown path) with *message a sentence naming the problem: static, or,
 * for a 404, in r->message, quoting the path. A console file's name is
 * only checked for its form (letters, digits, '.', '-', '_'; no leading
 * '.'): whether there is such a file is the caller's to say.
 */
int admin_request_parse(const char *path, const char *query,
                        struct admin_request *r, const char **message);

/*
 * The token of an Authorization header value "Bearer TOKEN" (scheme
 * case-insensitive, RFC 9110 §11.1; one or more spaces after it), or NULL
 * when value is NULL or not of that form. *len is the token's length.
 */
const char *admin_bearer(const char *value, size_t *len);

/*
 * Whether a Host header value (RFC 9110 §7.2: host, then an optional
 * ":port") names this machine's loopback: an IPv4 address in 127/8, the
 * IPv6 [::1] (or ::ffff:127.x.y.z, bracketed), localhost or a name under
 * .localhost (RFC 6761 §6.3), a trailing dot allowed. What no DNS
 * answer can point elsewhere: without a token the endpoint answers only
 * these, so that a web page whose name an attacker re-points to
 * 127.0.0.1 (DNS rebinding) cannot read it.
 */
bool admin_host_is_loopback(const char *value);

#endif
