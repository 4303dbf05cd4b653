/* SPDX-License-Identifier: MIT */
/*
 * The server side of the RFC 6455 §4.2 opening handshake: an HTTP/1.1
 * Upgrade request parser working in place over the caller's buffer, the
 * §4.2.1 checks, Sec-WebSocket-Accept (§4.2.2, §1.3), and the writers of the
 * 101 response and of every refusal. It never allocates.
 */
#ifndef WSD_PROTO_WS_HANDSHAKE_H
#define WSD_PROTO_WS_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ws_error.h"
#include "ws_http.h"

/* Sec-WebSocket-Extensions may be repeated; the values are kept in order. */
#define WS_HANDSHAKE_EXTENSIONS_MAX 8

struct evp_md_st;     /* OpenSSL's EVP_MD */
struct evp_md_ctx_st; /* and EVP_MD_CTX */

struct ws_handshake_config {
    const char *path;     /* the endpoint's path; other paths get 404 */
    size_t max_bytes;     /* request line and headers; more gets 431 */
    unsigned max_headers; /* header lines; more gets 431 */
    /* SHA-1 for Sec-WebSocket-Accept, fetched once by the caller
     * (EVP_MD_fetch) and kept beyond the requests parsed with it; NULL:
     * EVP_sha1(), which OpenSSL 3 fetches again at each use, for more
     * instructions than the digest itself. */
    const struct evp_md_st *sha1;
    /* A digest context for it, made and freed by the caller
     * (EVP_MD_CTX_new) and used again for each 101 of the requests parsed
     * with this config, one at a time; NULL: EVP_Digest's own, allocated,
     * cleansed and freed at each use, a quarter of the digest's cost. */
    struct evp_md_ctx_st *sha1_ctx;
};

/* Zero-fill before the first ws_handshake_parse() of a request. */
struct ws_handshake_request {
    struct ws_span method;
    struct ws_span target; /* as sent: path and query */
    struct ws_span path;   /* target up to '?' */
    struct ws_span query;  /* after '?', without it */
    struct ws_span host;
    struct ws_span key; /* Sec-WebSocket-Key, 24 base64 characters */
    struct ws_span user_agent;
    struct ws_span origin;
    struct ws_span extensions[WS_HANDSHAKE_EXTENSIONS_MAX];
    unsigned n_extensions;
    unsigned n_headers;
    /* internal: */
    size_t scanned;               /* bytes known to hold no end of header
                                     section */
    const struct evp_md_st *sha1; /* the config's, for the 101 */
    struct evp_md_ctx_st *sha1_ctx;
};

/*
 * Parses the request in buf[0..len); the spans in *r point into buf and stay
 * valid as long as those bytes do. Call it again with the same bytes and
 * more after each WS_AGAIN (the buffer may move in between): r->scanned lets
 * the search for the end of the header section resume where it stopped, so
 * a client sending one byte at a time costs linear time. The request is
 * parsed once that end is found; a later call parses it afresh.
 * Returns the size of the request (through its empty line) when it is
 * complete and acceptable, so that buf[result..len) is the first WebSocket
 * data. Returns WS_AGAIN when the header section is incomplete and still
 * within cfg->max_bytes. Returns WS_FAIL with err->code the HTTP status and
 * err->reason naming the problem (err is untouched on success):
 *   400 a malformed request line or header (obs-fold, whitespace before the
 *       colon, control characters other than HTAB in a value), a version
 *       other than HTTP/1.1 or a later HTTP/1.x, a target that does not
 *       begin with '/', a missing or repeated Host, a body (Content-Length
 *       other than 0, or Transfer-Encoding), no `upgrade` in Connection, a
 *       missing Sec-WebSocket-Version, a Sec-WebSocket-Key that is not 22
 *       base64 characters and "==" with zero pad bits (16 bytes, canonically
 *       encoded), a repeated key or version;
 *   404 a path (the target up to '?') other than cfg->path, byte for byte;
 *   405 a method other than GET;
 *   426 no `websocket` in Upgrade, or a Sec-WebSocket-Version other than 13;
 *   431 a header section over cfg->max_bytes (reported as soon as more than
 *       cfg->max_bytes bytes hold no end) or cfg->max_headers, or more than
 *       WS_HANDSHAKE_EXTENSIONS_MAX extension headers.
 * Of several problems, the first in this order is reported: the request
 * line and header lines in order (400, or 431 for a count over a limit),
 * then method (405), target (400), path (404), Host, body (400), Upgrade
 * (426), Connection (400), Sec-WebSocket-Version (400, 426) and
 * Sec-WebSocket-Key (400). Header names match case-insensitively; Upgrade
 * and Connection are comma-separated lists, and each of their lines counts.
 * Lines may end in CRLF or a bare LF (RFC 9112 §2.2). cfg->path must not be
 * NULL.
 */
ssize_t ws_handshake_parse(struct ws_handshake_request *r, const char *buf,
                           size_t len, const struct ws_handshake_config *cfg,
                           struct ws_error *err);

/*
 * True when buf[0..len) begins as a TLS record does (RFC 8446 §5.1,
 * RFC 5246 §6.2.1): content type handshake (22), then, as far as len
 * goes, protocol major version 3 and a minor version of at most 4: a
 * ClientHello sent to a port that speaks plain HTTP. No HTTP request
 * begins with byte 22 (a method is a token, RFC 9110 §9.1), so the first
 * byte decides as soon as it arrives; the next two only confirm it. False
 * when len is 0.
 */
bool ws_handshake_is_tls_record(const char *buf, size_t len);

#define WS_HANDSHAKE_ACCEPT_LEN 28

/*
 * Writes base64(SHA-1(key + the §1.3 GUID)) and a NUL into out. Writes the
 * empty string instead when key_len is over 128 or the digest fails.
 */
void ws_handshake_accept_key(const char *key, size_t key_len,
                             char out[WS_HANDSHAKE_ACCEPT_LEN + 1]);

/*
 * Writes the 101 response for r (a request ws_handshake_parse accepted) into
 * out[0..cap): Upgrade, Connection, Sec-WebSocket-Accept, then
 * `Sec-WebSocket-Extensions: <extensions>` when extensions is not NULL, and
 * `Server: <server>` when server is not NULL. Both strings are trusted and
 * must hold no CR or LF. Returns its size, or 0 if cap is too small or the
 * accept value cannot be computed; nothing is written at or past out[cap].
 */
size_t ws_handshake_response_101(char *out, size_t cap,
                                 const struct ws_handshake_request *r,
                                 const char *extensions, const char *server);

/*
 * Writes the refusal for err (an HTTP status and reason from
 * ws_handshake_parse, or one of the caller's) into out[0..cap): a
 * text/plain body holding the reason and a newline (the status text when
 * the reason is NULL), `Connection: close`, `Server: <server>` when server
 * is not NULL, and what the status calls for: `Upgrade: websocket` and
 * `Sec-WebSocket-Version: 13` with 426, `Allow: GET` with 405. A 404 given
 * the request r that ws_handshake_parse refused and its cfg says instead
 * `no WebSocket endpoint at /x; this server's is /ws`, quoting at most 64
 * bytes of the client's path, any byte other than visible ASCII as %XX.
 * r and cfg may be NULL. A status outside 400-599 is sent as 500. Returns
 * its size, or 0 if cap is too small; nothing is written at or past
 * out[cap].
 */
size_t ws_handshake_response_error(char *out, size_t cap,
                                   const struct ws_error *err,
                                   const struct ws_handshake_request *r,
                                   const struct ws_handshake_config *cfg,
                                   const char *server);

/* The longest quoted path, its NUL excluded: 64 bytes and "...". */
#define WS_QUOTED_PATH_MAX 67

/*
 * A path a client sent, fit to quote in a response: visible ASCII as it
 * came, any other byte as %XX (RFC 3986 §2.1), so that no control byte
 * reaches a terminal or a log, at most 64 bytes of it, then "..." when it
 * is cut (never inside an escape). Writes it NUL-terminated to out and
 * returns its length.
 */
size_t ws_handshake_quote_path(char out[WS_QUOTED_PATH_MAX + 1], const char *p,
                               size_t len);

/*
 * The standard reason phrase of an HTTP status wsd sends (101, 400, 404, 405,
 * 426, 431, 500, 503); the empty string, which RFC 9112 §4 allows, for any
 * other.
 */
const char *ws_handshake_status_text(unsigned status);

#endif
