/* SPDX-License-Identifier: MIT */
/*
 * The client side of the RFC 6455 §4.1 opening handshake: the key from a
 * nonce the caller draws, the writer of the request, and the parser and
 * checks of the server's response (§4.1, the part after "Once the
 * client's opening handshake has been sent"). It shares the HTTP syntax
 * of the server side (ws_http) and its accept value (ws_handshake). It
 * never allocates and draws no random numbers itself.
 */
#ifndef WSD_PROTO_WS_HANDSHAKE_CLIENT_H
#define WSD_PROTO_WS_HANDSHAKE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ws_error.h"
#include "ws_handshake.h"
#include "ws_http.h"

#define WS_HANDSHAKE_NONCE_LEN 16
#define WS_HANDSHAKE_KEY_LEN   24

/*
 * §4.1 item 7: Sec-WebSocket-Key is the base64 of a 16-byte nonce chosen
 * at random for this connection (the caller draws it). Writes the 24
 * characters and a NUL.
 */
void ws_handshake_client_key(const uint8_t nonce[WS_HANDSHAKE_NONCE_LEN],
                             char out[WS_HANDSHAKE_KEY_LEN + 1]);

/* What the client asks for. Strings are NUL-terminated; NULL: none. */
struct ws_client_request {
    const char *host;           /* Host: the URL's host, with ":port" when the
                                   port is not the scheme's (§4.1 item 4) */
    const char *target;         /* the resource name: path and query, "/"... */
    const char *key;            /* from ws_handshake_client_key */
    const char *origin;         /* Origin (§4.1 item 8) */
    const char *protocols;      /* Sec-WebSocket-Protocol: "chat, superchat" */
    const char *extensions;     /* Sec-WebSocket-Extensions */
    const char *user_agent;     /* User-Agent */
    const char *const *headers; /* more lines, each "Name: value" */
    size_t n_headers;
};

/*
 * Checks one header line the caller wants to add ("Name: value", as a
 * command line gives it): a token, a colon and a value without control
 * bytes (ws_http's rules), and not a field the handshake itself sets
 * (Host, Upgrade, Connection, Sec-WebSocket-Key, -Version, -Accept,
 * -Extensions, -Protocol, Origin and User-Agent, which have options of
 * their own). Returns 0, or WS_FAIL with err->reason naming the problem
 * (err->code 0).
 */
int ws_handshake_client_check_header(const char *line, struct ws_error *err);

/*
 * Writes the GET request (§4.1 items 1-10) into out[0..cap): Host,
 * Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version 13, then
 * the optional fields and the caller's lines. Returns its size, or
 * WS_FAIL with err->reason naming the problem (err->code 0): a target
 * that does not begin with '/' or holds a byte that is not visible
 * ASCII, a key that is not 24 characters, a host or field value with a
 * control byte, a line ws_handshake_client_check_header refuses, or no
 * room in out.
 */
ssize_t ws_handshake_client_request(char *out, size_t cap,
                                    const struct ws_client_request *req,
                                    struct ws_error *err);

/* Zero-fill before the first ws_handshake_response_parse() of a head. */
struct ws_handshake_response {
    unsigned status;         /* the status code, 100-999 */
    struct ws_span phrase;   /* the reason phrase, maybe empty */
    struct ws_span accept;   /* Sec-WebSocket-Accept */
    struct ws_span protocol; /* Sec-WebSocket-Protocol */
    struct ws_span server;   /* Server */
    struct ws_span extensions[WS_HANDSHAKE_EXTENSIONS_MAX];
    unsigned n_extensions;
    uint64_t content_length; /* valid when has_content_length */
    bool has_content_length;
    bool chunked; /* Transfer-Encoding lists chunked: the body's chunks */
    /* internal: what the checks need of the fields */
    uint8_t n_upgrade;       /* Upgrade lines */
    uint8_t n_accept;        /* Sec-WebSocket-Accept lines */
    uint8_t n_protocol;      /* Sec-WebSocket-Protocol lines */
    bool upgrade_websocket;  /* every Upgrade line says websocket alone */
    bool connection_upgrade; /* some Connection line lists upgrade */
    bool has_connection;
    size_t scanned; /* bytes known to hold no end of header section */
};

/*
 * Parses the response head in buf[0..len) as ws_handshake_parse does a
 * request: call again with the same bytes and more after each WS_AGAIN.
 * Returns the size of the head (through its empty line), so that
 * buf[result..len) is the body of a refusal or the first WebSocket data
 * of a 101; WS_AGAIN while it is incomplete and within max_bytes; or
 * WS_FAIL with err->code 0 and err->reason naming what is malformed: the
 * status line (not "HTTP/1.x NNN phrase"), HTTP/1.0 (§4.1: a WebSocket
 * needs 1.1), a header line (ws_http's rules), a repeated or bad
 * Content-Length, more than WS_HANDSHAKE_EXTENSIONS_MAX extension lines,
 * or a head over max_bytes. Whether the head grants the WebSocket is
 * ws_handshake_response_check's to say.
 */
ssize_t ws_handshake_response_parse(struct ws_handshake_response *r,
                                    const char *buf, size_t len,
                                    size_t max_bytes, struct ws_error *err);

/* What the response must match: what the request asked. */
struct ws_handshake_expect {
    const char *key;       /* the Sec-WebSocket-Key sent */
    const char *protocols; /* the Sec-WebSocket-Protocol list sent, or NULL */
    bool extensions;       /* a Sec-WebSocket-Extensions header was sent */
};

/*
 * The §4.1 checks of a parsed response head. Returns 0 when it opens the
 * WebSocket; else WS_FAIL with err->code the response's status and
 * err->reason naming the problem: "handshake refused" for any status but
 * 101 (the body, if any, follows the head), else the first of: a missing
 * or repeated Upgrade, or one that is not "websocket"; a Connection
 * without "upgrade"; a missing or repeated Sec-WebSocket-Accept, or one
 * that is not the value of e->key; Sec-WebSocket-Extensions when none
 * were offered (what an answer to an offer may say is ws_deflate's to
 * judge); a Sec-WebSocket-Protocol repeated, not offered, or not one of
 * those offered.
 */
int ws_handshake_response_check(const struct ws_handshake_response *r,
                                const struct ws_handshake_expect *e,
                                struct ws_error *err);

#endif
