/* SPDX-License-Identifier: MIT */
/*
 * The WebSocket URI of RFC 6455 §3 as wsc takes it on its command line:
 * "ws" or "wss" (either case), "://", the authority without user
 * information, the path and the query. The host is taken as written
 * (names are not resolved here); a bracketed host must be an IPv6
 * address's characters.
 */
#include "autoconf.h"

#include "wsc_url.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool
is_host_char(char c)
{
    /* RFC 3986 §3.2.2: reg-name's unreserved and sub-delims, and '%'
     * of its escapes; anything else ends or spoils the host. */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-._~!$&'()*+,;=%", c) != NULL);
}

static const char *
parse_port(const char *p, size_t n, uint16_t *port)
{
    unsigned long v = 0;

    if (n == 0 || n > 5) {
        return "the port must be a number from 1 to 65535";
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return "the port must be a number from 1 to 65535";
        }
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v == 0 || v > 65535) {
        return "the port must be a number from 1 to 65535";
    }
    *port = (uint16_t)v;
    return NULL;
}

/* The authority a[0..n): host and port. */
static const char *
parse_authority(struct wsc_url *u, const char *a, size_t n)
{
    const char *port = NULL;
    size_t host_len;
    bool v6 = n > 0 && a[0] == '[';

    if (memchr(a, '@', n) != NULL) {
        return "user information (user@) has no place in a WebSocket URL";
    }
    if (v6) {
        const char *end = memchr(a, ']', n);
        if (end == NULL || end == a + 1) {
            return "an IPv6 address must be written [address]";
        }
        for (const char *p = a + 1; p < end; p++) {
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
                  (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.')) {
                return "an IPv6 address must be written [address]";
            }
        }
        host_len = (size_t)(end - a - 1);
        if (end + 1 < a + n) {
            if (end[1] != ':') {
                return "a port follows the host after ':'";
            }
            port = end + 2;
        }
        if (host_len >= sizeof(u->host)) {
            return "the host is too long";
        }
        memcpy(u->host, a + 1, host_len);
        u->host[host_len] = '\0';
        struct in6_addr addr;
        if (inet_pton(AF_INET6, u->host, &addr) != 1) {
            return "not an IPv6 address between [ and ]";
        }
    } else {
        const char *colon = memchr(a, ':', n);
        if (colon != NULL &&
            memchr(colon + 1, ':', n - (size_t)(colon - a) - 1)) {
            return "an IPv6 address must be written [address]";
        }
        host_len = colon != NULL ? (size_t)(colon - a) : n;
        port = colon != NULL ? colon + 1 : NULL;
        for (size_t i = 0; i < host_len; i++) {
            if (!is_host_char(a[i])) {
                return "the host holds a character a host name cannot";
            }
        }
        if (host_len >= sizeof(u->host)) {
            return "the host is too long";
        }
        memcpy(u->host, a, host_len);
    }
    u->host[host_len] = '\0';
    if (host_len == 0) {
        return "the URL has no host";
    }
    u->port = u->tls ? 443 : 80;
    bool explicit_port = port != NULL;
    if (explicit_port) {
        const char *why = parse_port(port, (size_t)(a + n - port), &u->port);
        if (why != NULL) {
            return why;
        }
    }
    /* §4.1 item 4: the port only when it is not the scheme's. */
    bool default_port = u->port == (u->tls ? 443 : 80);
    snprintf(u->host_header, sizeof(u->host_header), "%s%s%s", v6 ? "[" : "",
             u->host, v6 ? "]" : "");
    if (!default_port) {
        size_t len = strlen(u->host_header);
        snprintf(u->host_header + len, sizeof(u->host_header) - len, ":%u",
                 u->port);
    }
    return NULL;
}

const char *
wsc_url_parse(struct wsc_url *u, const char *url)
{
    memset(u, 0, sizeof(*u));
    for (const char *p = url; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            return "the URL holds a space, a control byte or a byte outside "
                   "ASCII (escape it as %XX)";
        }
    }
    const char *rest;
    if (strncasecmp(url, "ws://", 5) == 0) {
        rest = url + 5;
    } else if (strncasecmp(url, "wss://", 6) == 0) {
        u->tls = true;
        rest = url + 6;
    } else {
        return "the URL must begin with ws:// or wss://";
    }
    if (strchr(rest, '#') != NULL) {
        return "a WebSocket URL has no fragment (#): escape it as %23";
    }
    size_t auth = strcspn(rest, "/?");
    const char *why = parse_authority(u, rest, auth);
    if (why != NULL) {
        return why;
    }
    const char *target = rest + auth;
    int n = snprintf(u->target, sizeof(u->target), "%s%s",
                     target[0] == '/' ? "" : "/", target);
    if (n < 0 || (size_t)n >= sizeof(u->target)) {
        return "the path and query are too long";
    }
    return NULL;
}
