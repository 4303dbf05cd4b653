/* SPDX-License-Identifier: MIT */
/*
 * wsc's reading of a WebSocket URI (RFC 6455 §3): a table of URLs, each
 * either parsed into host, port, Host header and request target, or
 * refused with the sentence that names the problem.
 */
#include "autoconf.h"

#include "wsc_url.h"

#include <string.h>

#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct url_case {
    const char *url;
    const char *why; /* NULL: parsed, as below */
    bool tls;
    const char *host;
    unsigned port;
    const char *host_header;
    const char *target;
};

static const struct url_case cases[] = {
    {"ws://example.com", NULL, false, "example.com", 80, "example.com", "/"},
    {"ws://example.com/", NULL, false, "example.com", 80, "example.com", "/"},
    {"wss://example.com/chat?x=1&y", NULL, true, "example.com", 443,
     "example.com", "/chat?x=1&y"},
    {"WS://Example.COM:8080/a/b", NULL, false, "Example.COM", 8080,
     "Example.COM:8080", "/a/b"},
    {"ws://127.0.0.1:80/ws", NULL, false, "127.0.0.1", 80, "127.0.0.1", "/ws"},
    {"wss://127.0.0.1:80/ws", NULL, true, "127.0.0.1", 80, "127.0.0.1:80",
     "/ws"},
    {"ws://[::1]:9001", NULL, false, "::1", 9001, "[::1]:9001", "/"},
    {"wss://[2001:db8::1]/", NULL, true, "2001:db8::1", 443, "[2001:db8::1]",
     "/"},
    {"ws://h?q", NULL, false, "h", 80, "h", "/?q"},
    {"ws://h/%23%20", NULL, false, "h", 80, "h", "/%23%20"},

    {"http://h/", .why = "the URL must begin with ws:// or wss://"},
    {"ws:/h", .why = "the URL must begin with ws:// or wss://"},
    {"", .why = "the URL must begin with ws:// or wss://"},
    {"ws://", .why = "the URL has no host"},
    {"ws:///x", .why = "the URL has no host"},
    {"ws://:80/", .why = "the URL has no host"},
    {"ws://h:0/", .why = "the port must be a number from 1 to 65535"},
    {"ws://h:65536/", .why = "the port must be a number from 1 to 65535"},
    {"ws://h:/", .why = "the port must be a number from 1 to 65535"},
    {"ws://h:8a/", .why = "the port must be a number from 1 to 65535"},
    {"ws://user@h/", .why =
                         "user information (user@) has no place in a WebSocket "
                         "URL"},
    {"ws://h/#frag",
     .why = "a WebSocket URL has no fragment (#): escape it as %23"},
    {"ws://h/a b",
     .why = "the URL holds a space, a control byte or a byte outside "
            "ASCII (escape it as %XX)"},
    {"ws://h\xc3\xa9/", .why =
                            "the URL holds a space, a control byte or a byte "
                            "outside ASCII (escape it as %XX)"},
    {"ws://[::1/", .why = "an IPv6 address must be written [address]"},
    {"ws://[]/", .why = "an IPv6 address must be written [address]"},
    {"ws://[::g]/", .why = "an IPv6 address must be written [address]"},
    {"ws://[::1]x/", .why = "a port follows the host after ':'"},
    {"ws://::1:9001/", .why = "an IPv6 address must be written [address]"},
    {"ws://::1/", .why = "an IPv6 address must be written [address]"},
    {"ws://fe80::1/", .why = "an IPv6 address must be written [address]"},
    {"ws://[1.2.3.4]:80/", .why = "not an IPv6 address between [ and ]"},
    {"ws://[:::::]:80/", .why = "not an IPv6 address between [ and ]"},
    {"ws://h<x>/", .why = "the host holds a character a host name cannot"},
};

int
main(void)
{
    for (size_t i = 0; i < NELEM(cases); i++) {
        const struct url_case *c = &cases[i];
        struct wsc_url u;
        const char *why = wsc_url_parse(&u, c->url);
        if (c->why != NULL) {
            is_str(why, c->why, "\"%s\": refused", c->url);
            continue;
        }
        ok(why == NULL && u.tls == c->tls && strcmp(u.host, c->host) == 0 &&
               u.port == c->port &&
               strcmp(u.host_header, c->host_header) == 0 &&
               strcmp(u.target, c->target) == 0,
           "\"%s\": %s %s port %u, Host %s, target %s", c->url,
           c->tls ? "wss" : "ws", c->host, c->port, c->host_header, c->target);
        if (why != NULL) {
            tap_diag("refused: %s", why);
        }
    }
    /* A host and a target at their room, and one byte over. */
    char url[WSC_URL_TARGET_MAX + 64];
    struct wsc_url u;
    memcpy(url, "ws://h/", 7);
    memset(url + 7, 'a', WSC_URL_TARGET_MAX - 2);
    url[7 + WSC_URL_TARGET_MAX - 2] = '\0';
    ok(wsc_url_parse(&u, url) == NULL &&
           strlen(u.target) == WSC_URL_TARGET_MAX - 1,
       "a target of %d bytes fits", WSC_URL_TARGET_MAX - 1);
    url[7 + WSC_URL_TARGET_MAX - 2] = 'a';
    url[7 + WSC_URL_TARGET_MAX - 1] = '\0';
    is_str(wsc_url_parse(&u, url), "the path and query are too long",
           "a target one byte longer is refused");
    return tap_done();
}
