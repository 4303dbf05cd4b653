/* SPDX-License-Identifier: MIT */
/*
 * wsc's reading of a WebSocket URI (RFC 6455 §3): ws:// or wss://, a
 * host (a name, an IPv4 address or a bracketed IPv6 one), an optional
 * port, and the resource name (path and query) the request line asks
 * for. Pure: it owns the parsed copy and nothing else.
 */
#ifndef WSD_WSC_URL_H
#define WSD_WSC_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSC_URL_HOST_MAX   256
#define WSC_URL_TARGET_MAX 2048

struct wsc_url {
    bool tls;                               /* wss:// */
    char host[WSC_URL_HOST_MAX];            /* to connect to: no brackets */
    uint16_t port;                          /* 80 or 443 unless given */
    char host_header[WSC_URL_HOST_MAX + 8]; /* §4.1 item 4: host, [v6],
                                               ":port" unless the default */
    char target[WSC_URL_TARGET_MAX];        /* "/" when the URL has no path */
};

/*
 * Parses url. Returns NULL, or a sentence naming what is wrong: another
 * scheme than ws or wss, no host, user information ("user@"), a port
 * that is not 1-65535, a fragment (§3: "#" has no meaning in a
 * WebSocket URI and must be escaped), a byte outside visible ASCII,
 * or a part over its room.
 */
const char *wsc_url_parse(struct wsc_url *u, const char *url);

#endif
